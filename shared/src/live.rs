//! Live updates for Server-Sent Events streams.
//!
//! Locally, committed events reach subscribers from the in-process relay the
//! moment they are published. On Lambda there is no shared process, so a
//! stream catches up from the table and then polls the order's head until
//! its time budget runs out, ending before the function's timeout so the
//! browser reconnects with `Last-Event-ID` and loses nothing.

use std::time::Duration;

use serde::Serialize;
use tokio::sync::broadcast;

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

    pub fn budget(&self) -> Option<Duration> {
        self.budget
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
