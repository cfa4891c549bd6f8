//! Live updates for Server-Sent Events streams.
//!
//! Locally, committed events reach subscribers from the in-process relay the
//! moment they are published. On Lambda there is no shared process, so a
//! stream catches up from the table and then polls the order's head until
//! its time budget runs out, ending before the invocation's deadline (the
//! function's timeout) so the browser reconnects with `Last-Event-ID` and
//! loses nothing.

use std::convert::Infallible;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use axum::response::sse::Event as SseEvent;
use serde::Serialize;
use tokio::sync::{broadcast, mpsc};

use crate::deadline::Deadline;
use crate::order::{Disposition, Event, EventBody};

/// How often a polling stream looks for news.
pub const POLL_EVERY: Duration = Duration::from_millis(1000);
/// How often an idle stream sends a comment so proxies keep it open.
pub const HEARTBEAT: Duration = Duration::from_secs(15);

#[derive(Clone, Default)]
pub struct Live {
    sender: Option<broadcast::Sender<Event>>,
    /// How long one stream may last (Lambda); `None` for as long as the client stays.
    budget: Option<Duration>,
}

impl Live {
    /// Fed by the in-process relay.
    pub fn in_process(sender: broadcast::Sender<Event>) -> Self {
        Live {
            sender: Some(sender),
            budget: None,
        }
    }

    /// No shared feed: streams poll the store and end after `budget`.
    pub fn polling(budget: Duration) -> Self {
        Live {
            sender: None,
            budget: Some(budget),
        }
    }

    pub fn subscribe(&self) -> Option<broadcast::Receiver<Event>> {
        self.sender.as_ref().map(broadcast::Sender::subscribe)
    }

    /// When a stream starting now ends: once its budget is spent, and in any
    /// case in time to answer before the request's deadline; `None` while
    /// the client stays (the local stack).
    pub fn ends_at(&self, deadline: Option<Deadline>) -> Option<Instant> {
        let by_budget = self.budget.map(|budget| Instant::now() + budget);
        let by_deadline = deadline.map(Deadline::wrap_up_by);
        by_budget.into_iter().chain(by_deadline).min()
    }
}

/// Resolves at `end`, or never.
pub async fn until(end: Option<Instant>) {
    match end {
        Some(end) => tokio::time::sleep_until(end.into()).await,
        None => std::future::pending().await,
    }
}

/// Where a stream's messages go; closed once the client has gone.
pub type Sender = mpsc::Sender<Result<SseEvent, Infallible>>;

/// What one live channel sends: the board's store channel or a customer's
/// order. The loop that drives it ([`produce`]) is the same for both.
#[async_trait]
pub trait Channel: Send + 'static {
    /// Sends what the client has not seen yet (everything since its
    /// `Last-Event-ID` on the first call, since the last message after);
    /// `None` once the client has gone.
    async fn catch_up(&mut self, tx: &Sender) -> Option<()>;
    /// Whether a committed event is news for this channel at all.
    fn concerns(&self, event: &Event) -> bool;
    /// Sends the news one committed event brings.
    async fn news(&mut self, _event: &Event, tx: &Sender) -> Option<()> {
        self.catch_up(tx).await
    }
}

/// Drives a channel until the client goes or the stream's time is up:
/// catch up first, then follow the in-process feed (locally) or poll the
/// store (Lambda). The feed is subscribed before the catch-up, so nothing
/// committed meanwhile is missed; a subscriber that falls behind the feed
/// catches up from the store.
pub async fn produce(live: Live, ends: Option<Instant>, mut channel: impl Channel, tx: Sender) {
    let mut feed = live.subscribe();
    let mut end = std::pin::pin!(until(ends));
    if channel.catch_up(&tx).await.is_none() {
        return;
    }
    loop {
        let sent = match &mut feed {
            Some(feed) => {
                let received = tokio::select! {
                    received = feed.recv() => received,
                    _ = tx.closed() => return,
                    _ = &mut end => return,
                };
                match received {
                    Ok(event) if channel.concerns(&event) => channel.news(&event, &tx).await,
                    Ok(_) => Some(()),
                    Err(broadcast::error::RecvError::Lagged(_)) => channel.catch_up(&tx).await,
                    Err(broadcast::error::RecvError::Closed) => return,
                }
            }
            None => {
                tokio::select! {
                    _ = tokio::time::sleep(POLL_EVERY) => {}
                    _ = tx.closed() => return,
                    _ = &mut end => return,
                }
                channel.catch_up(&tx).await
            }
        };
        if sent.is_none() {
            return;
        }
    }
}

/// What a customer's stream says about one event: what kind of news, the
/// status it brought, when it happened. No internal id, no personal data.
#[derive(Clone, Debug, Serialize)]
pub struct CustomerUpdate {
    pub seq: u64,
    #[serde(rename = "type")]
    pub kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    pub occurred_at: chrono::DateTime<chrono::Utc>,
}

/// The customer-visible news in an event, if any (staff notes and flags are not).
pub fn customer_update(event: &Event) -> Option<CustomerUpdate> {
    let (kind, status) = match &event.body {
        EventBody::OrderPlaced(p) => ("placed", Some(p.status.clone())),
        EventBody::StatusFact(f) => match f.disposition {
            Disposition::Applied => ("status", Some(f.target.clone())),
            Disposition::Late => ("history", Some(f.target.clone())),
            _ => return None,
        },
        EventBody::ShipmentUpdated(_)
        | EventBody::TrackingAdded(_)
        | EventBody::TrackingCorrected { .. } => ("shipment", None),
        EventBody::DeliveryUpdated(_) => ("delivery", None),
        EventBody::PaymentRecorded(_) => ("payment", None),
        EventBody::FlagRaised { .. }
        | EventBody::FlagsCleared { .. }
        | EventBody::NoteAdded { .. } => return None,
    };
    Some(CustomerUpdate {
        seq: event.seq,
        kind,
        status,
        occurred_at: event.occurred_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deadline::MARGIN;

    #[test]
    fn a_polling_stream_ends_with_its_budget_or_before_the_deadline_whichever_is_first() {
        let live = Live::polling(Duration::from_secs(20));
        let now = Instant::now();

        let without_deadline = live.ends_at(None).unwrap();
        assert!(without_deadline >= now + Duration::from_secs(20));

        let long = Deadline::at(now + Duration::from_secs(60));
        let by_budget = live.ends_at(Some(long)).unwrap();
        assert!(
            by_budget < now + Duration::from_secs(21),
            "the budget caps it"
        );

        let short = Deadline::at(now + Duration::from_secs(5));
        let by_deadline = live.ends_at(Some(short)).unwrap();
        assert!(by_deadline <= now + Duration::from_secs(5) - MARGIN);
        assert!(by_deadline >= now + Duration::from_secs(2));
    }

    #[test]
    fn an_in_process_stream_lasts_as_long_as_the_client_unless_a_deadline_says_otherwise() {
        let live = Live::in_process(broadcast::channel(1).0);
        assert_eq!(live.ends_at(None), None);
        let deadline = Deadline::at(Instant::now() + Duration::from_secs(5));
        let end = live
            .ends_at(Some(deadline))
            .expect("the deadline bounds it");
        assert!(end <= deadline.instant() - MARGIN);
    }
}
