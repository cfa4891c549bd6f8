//! The staff board: orders by status for the signed-in tenant, live, with
//! the order detail, its allowed next actions as buttons, and the health
//! view with the reconciliation actions. One HTML page with its script and
//! stylesheet, served under the pages' Content-Security-Policy
//! ([`order_core::pages`]); its data comes from the authenticated API, and
//! its live feed from `GET /orders/stream`.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;

use async_trait::async_trait;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::Response;
use chrono::{DateTime, Utc};
use futures_util::Stream;
use order_core::auth::Principal;
use order_core::deadline::Deadline;
use order_core::http::Problem;
use order_core::live::{self, Channel, Sender, HEARTBEAT};
use order_core::order::{Event, OrderSummary};
use order_core::pages;
use order_core::ports::ListQuery;
use order_core::service::OrderService;
use tokio::sync::mpsc;

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
fn message(summary: &OrderSummary) -> Option<SseEvent> {
    let id = format!(
        "{}|{}",
        summary
            .updated_at
            .to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        summary.id
    );
    SseEvent::default()
        .id(id)
        .event("order")
        .json_data(summary)
        .ok()
}

/// The store channel, scoped to the principal's tenant when it subscribes:
/// events of other tenants never reach it. On Lambda it ends in time to
/// answer before the invocation's deadline.
pub async fn stream(
    State(app): State<App>,
    principal: Principal,
    deadline: Option<Deadline>,
    headers: HeaderMap,
) -> Result<Sse<impl Stream<Item = Result<SseEvent, Infallible>>>, Problem> {
    principal.require_staff()?;
    let since = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split('|').next())
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&Utc));
    let channel = StoreChannel {
        service: app.service.clone(),
        principal,
        seen: since,
        sent: Sent::default(),
    };
    let ends = app.live.ends_at(deadline);
    let (tx, mut rx) = mpsc::channel(256);
    tokio::spawn(live::produce(app.live, ends, channel, tx));
    let events = futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx));
    Ok(Sse::new(events).keep_alive(KeepAlive::new().interval(HEARTBEAT)))
}

/// What a connection has sent: each order's update time. A catch-up and the
/// relay can both carry the same change (the relay delivers a commit made
/// just before the catch-up read it), and one commit can relay several
/// events; a summary the board already has is not sent again.
#[derive(Default)]
struct Sent(HashMap<String, DateTime<Utc>>);

impl Sent {
    /// Sends `summary` unless this version was sent before; `None` once the
    /// client has gone.
    async fn send(&mut self, summary: &OrderSummary, tx: &Sender) -> Option<()> {
        if self
            .0
            .get(&summary.id)
            .is_some_and(|sent| *sent >= summary.updated_at)
        {
            return Some(());
        }
        // Repeats only come close together (a catch-up's overlap, one
        // commit's several events): long-settled orders need not be kept.
        if self.0.len() >= 4096 {
            let recent = summary.updated_at - chrono::Duration::minutes(1);
            self.0.retain(|_, sent| *sent >= recent);
        }
        self.0.insert(summary.id.clone(), summary.updated_at);
        match message(summary) {
            Some(message) => tx.send(Ok(message)).await.ok(),
            None => Some(()),
        }
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
    /// Sends the tenant's orders updated after `seen`, oldest first.
    async fn catch_up(&mut self, tx: &Sender) -> Option<()> {
        let Some(seen) = self.seen else {
            self.seen = Some(Utc::now());
            return Some(());
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
        for summary in changed.iter().rev() {
            self.seen = self.seen.max(Some(summary.updated_at));
            self.sent.send(summary, tx).await?;
        }
        Some(())
    }

    fn concerns(&self, event: &Event) -> bool {
        event.tenant == self.principal.tenant
    }

    async fn news(&mut self, event: &Event, tx: &Sender) -> Option<()> {
        let Ok(summary) = self.service.summary(&self.principal, &event.order_id).await else {
            return Some(());
        };
        self.seen = self.seen.max(Some(summary.updated_at));
        self.sent.send(&summary, tx).await
    }
}
