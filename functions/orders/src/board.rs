//! The staff board: orders by status for the signed-in tenant, live, with
//! the order detail, its allowed next actions as buttons, and the health
//! view with the reconciliation actions. One HTML page with its script and
//! stylesheet, served under the pages' Content-Security-Policy
//! ([`order_core::pages`]); its data comes from the authenticated API, and
//! its live feed from `GET /orders/stream`.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use chrono::{DateTime, Utc};
use order_core::auth::Principal;
use order_core::deadline::Deadline;
use order_core::http::Problem;
use order_core::live::{self, Channel, ChannelName, Frame, News, Update};
use order_core::order::OrderSummary;
use order_core::pages;
use order_core::ports::ListQuery;
use order_core::service::OrderService;

use crate::App;

pub async fn page() -> Response {
    pages::html(include_str!("board.html"))
}

pub async fn script() -> Response {
    pages::script(include_str!("board.js"))
}

pub async fn stylesheet() -> Response {
    pages::stylesheet(include_str!("board.css"))
}

/// Message ids are `<updated_at>|<order id>`: a reconnecting board gets every
/// order updated since, then live changes.
fn frame(summary: &OrderSummary) -> Option<Frame> {
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

/// The store channel, scoped to the principal's tenant when it subscribes:
/// events of other tenants never reach it. On Lambda it ends in time to
/// answer before the invocation's deadline.
pub async fn stream(
    State(app): State<App>,
    principal: Principal,
    deadline: Option<Deadline>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    principal.require_staff()?;
    let last_event_id = headers.get("last-event-id").and_then(|v| v.to_str().ok());
    let channel = store_channel(app.service.clone(), principal, last_event_id);
    Ok(live::respond(
        &app.live,
        app.live.ends_at(deadline),
        channel,
    ))
}

/// The principal's tenant's store channel, for a board that has seen every
/// change up to `last_event_id` (a message id it was sent), whichever
/// transport carries it. The caller checks the principal is staff.
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
        ChannelName::store(&self.principal.tenant)
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
                frames.extend(frame(summary));
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
            frame(&summary)
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
