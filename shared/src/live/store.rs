//! The board's store channel (`store.<tenant>`): every order of a tenant
//! that changed, as the summary a board row shows, with
//! `<updated_at>|<order id>` as the message id. Locally it follows the hub;
//! on AWS the fan-out renders the same frames ([`store_frame`]) and a
//! WebSocket's catch-up is this channel's.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::auth::Principal;
use crate::live::{Channel, ChannelName, Frame, News, Update};
use crate::order::OrderSummary;
use crate::ports::ListQuery;
use crate::service::OrderService;

/// An order's message on its store channel. Message ids are
/// `<updated_at>|<order id>`: a reconnecting board gets every order updated
/// since, then live changes.
pub fn store_frame(summary: &OrderSummary) -> Option<Frame> {
    let updated_at = summary
        .updated_at
        .to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    Frame::json(&format!("{updated_at}|{}", summary.id), "order", summary)
}

/// When the order a message id names was updated, and the order's id.
fn position(id: &str) -> Option<(DateTime<Utc>, &str)> {
    let (updated_at, order_id) = id.split_once('|').unwrap_or((id, ""));
    let updated_at = DateTime::parse_from_rfc3339(updated_at).ok()?;
    Some((updated_at.with_timezone(&Utc), order_id))
}

/// The principal's tenant's store channel, for a board that has seen every
/// change up to `last_event_id` (a message id it was sent), whichever
/// transport carries it: one store's when the principal sees one only
/// ([`Principal::viewing`] makes it so). The caller checks the principal is
/// staff.
pub fn store_channel(
    service: Arc<OrderService>,
    principal: Principal,
    last_event_id: Option<&str>,
) -> impl Channel {
    StoreChannel {
        service,
        principal,
        seen: last_event_id
            .and_then(position)
            .map(|(updated_at, _)| updated_at),
        sent: Sent::default(),
    }
}

/// What a connection has sent: each order's update time. A catch-up and the
/// relay can both carry the same change (the relay delivers a commit made
/// just before the catch-up read it), and one commit can relay several
/// events; a summary the board already has is not sent again.
#[derive(Default)]
struct Sent(HashMap<String, DateTime<Utc>>);

impl Sent {
    /// Whether the board lacks the summary of `order_id` as updated at
    /// `updated_at`; notes it as sent.
    fn fresh(&mut self, order_id: &str, updated_at: DateTime<Utc>) -> bool {
        if self.0.get(order_id).is_some_and(|sent| *sent >= updated_at) {
            return false;
        }
        // Repeats only come close together (a catch-up's overlap, one
        // commit's several events): long-settled orders need not be kept.
        if self.0.len() >= 4096 {
            let recent = updated_at - chrono::Duration::minutes(1);
            self.0.retain(|_, sent| *sent >= recent);
        }
        self.0.insert(order_id.to_string(), updated_at);
        true
    }
}

/// The tenant's store channel: the orders that changed, as summaries.
struct StoreChannel {
    service: Arc<OrderService>,
    principal: Principal,
    /// The newest update sent (the client's `Last-Event-ID` at first);
    /// `None` until the first catch-up of a board that has just loaded its
    /// orders, which has nothing to send.
    seen: Option<DateTime<Utc>>,
    sent: Sent,
}

#[async_trait]
impl Channel for StoreChannel {
    fn name(&self) -> ChannelName {
        ChannelName::store(&self.principal.tenant, self.principal.only_store())
    }

    /// The tenant's orders updated after `seen`, oldest first.
    async fn catch_up(&mut self) -> Option<Vec<Frame>> {
        let Some(seen) = self.seen else {
            self.seen = Some(Utc::now());
            return Some(Vec::new());
        };
        let mut query = ListQuery {
            tenant: self.principal.tenant.clone(),
            limit: 200,
            ..ListQuery::default()
        };
        let mut changed = Vec::new();
        'pages: loop {
            let page = self
                .service
                .list(&self.principal, query.clone())
                .await
                .ok()?;
            for summary in page.items {
                if summary.updated_at <= seen {
                    break 'pages;
                }
                changed.push(summary);
            }
            match page.next {
                Some(next) => query.after = Some(next),
                None => break,
            }
        }
        let mut frames = Vec::new();
        for summary in changed.iter().rev() {
            self.seen = self.seen.max(Some(summary.updated_at));
            if self.sent.fresh(&summary.id, summary.updated_at) {
                frames.extend(store_frame(summary));
            }
        }
        Some(frames)
    }

    /// The order's summary as it stands, read and serialized once for every
    /// board of the tenant.
    async fn news(&mut self, news: &News) -> Update {
        let (service, principal) = (&self.service, &self.principal);
        let render = || async move {
            let summary = service
                .summary(principal, &news.event().order_id)
                .await
                .ok()?;
            store_frame(&summary)
        };
        let Some(frame) = news.frame(render).await else {
            return Update::Nothing;
        };
        let Some((updated_at, order_id)) = position(frame.id()) else {
            return Update::Nothing;
        };
        self.seen = self.seen.max(Some(updated_at));
        if self.sent.fresh(order_id, updated_at) {
            Update::Send(frame.clone())
        } else {
            Update::Nothing
        }
    }
}
