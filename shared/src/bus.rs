//! How a committed event looks on the event bus. Pure, so the EventBridge
//! publisher and the local relay describe every event identically.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::order::{Disposition, Event, EventBody, FlagKind, IssueStep};

/// The `source` of every entry we put on the bus.
pub const SOURCE: &str = "order-tracking";

/// Every detail-type [`entry`] gives an event.
pub const DETAIL_TYPES: [&str; 24] = [
    "OrderPlaced",
    "OrderStatusChanged",
    "LateFactRecorded",
    "FactParked",
    "OrderNeedsReview",
    "ParkedFactDiscarded",
    "OrderStalled",
    "DeliveryException",
    "FlagsResolved",
    "NoteAdded",
    "ShipmentUpdated",
    "PaymentUpdated",
    "DeliveryUpdated",
    "NotifyPrefsSet",
    "NotificationRecorded",
    "OrderIssueOpened",
    "OrderIssueAcknowledged",
    "OrderIssueAssigned",
    "OrderIssueResolved",
    "SubstitutionsProposed",
    "SubstitutionsAnswered",
    "InventoryAdjusted",
    "LifecycleMigrated",
    "DispatchUpdated",
];

/// One bus entry (the fields of an EventBridge `PutEventsRequestEntry`).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "PascalCase")]
pub struct BusEntry {
    pub source: String,
    pub detail_type: String,
    pub detail: Value,
}

/// An event as a merchant gets it, from the feed or pushed to an
/// endpoint: its id (for deduplication), its detail-type and the detail the
/// bus carries, with the order's sequence number (for ordering).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Envelope {
    pub id: String,
    #[serde(rename = "type")]
    pub detail_type: String,
    pub data: Value,
}

impl Envelope {
    pub fn of(event: &Event) -> Envelope {
        let entry = entry(event);
        Envelope {
            id: event.event_id.clone(),
            detail_type: entry.detail_type,
            data: entry.detail,
        }
    }

    /// The envelope of an event as the bus delivered it; `None` if the
    /// detail is not one of ours.
    pub fn from_bus(detail_type: &str, detail: Value) -> Option<Envelope> {
        let id = detail["event_id"].as_str()?.to_string();
        detail["tenant"].as_str()?;
        Some(Envelope {
            id,
            detail_type: detail_type.to_string(),
            data: detail,
        })
    }

    pub fn tenant(&self) -> &str {
        self.data["tenant"].as_str().unwrap_or_default()
    }
}

/// Maps an event to its bus entry. Every detail carries the event id (for
/// consumers' dedupe), order id, public id, tenant, store, version and the
/// hash chain's link.
pub fn entry(event: &Event) -> BusEntry {
    let mut detail = json!({
        "event_id": event.event_id,
        "order_id": event.order_id,
        "public_id": event.public_id,
        "tenant": event.tenant,
        "store": event.store,
        "version": event.version,
        "seq": event.seq,
        "occurred_at": event.occurred_at,
        "recorded_at": event.recorded_at,
        "source": event.source,
        // The link to the order's event before it: a copy of the chain
        // outside the table (README › Tamper-evident audit log).
        "prev_hash": event.prev_hash,
    });
    let (detail_type, extra) = match &event.body {
        EventBody::OrderPlaced(p) => (
            "OrderPlaced",
            json!({ "to": p.status, "lifecycle": p.lifecycle, "fulfilment": p.fulfilment,
                    "currency": p.currency, "total": p.total }),
        ),
        EventBody::StatusFact(f) => {
            let kind = match f.disposition {
                Disposition::Applied => "OrderStatusChanged",
                Disposition::Late => "LateFactRecorded",
                Disposition::Parked => "FactParked",
                Disposition::Conflict => "OrderNeedsReview",
                Disposition::Discarded => "ParkedFactDiscarded",
            };
            (
                kind,
                json!({ "from": f.from, "to": f.target, "disposition": f.disposition,
                        "overridden": f.overridden, "reason": f.reason }),
            )
        }
        EventBody::FlagRaised {
            flag,
            reason,
            cause,
            level,
            escalate_at,
        } => (
            match flag {
                FlagKind::Stalled => "OrderStalled",
                FlagKind::NeedsReview => "OrderNeedsReview",
                FlagKind::DeliveryException => "DeliveryException",
            },
            json!({ "flag": flag, "reason": reason, "cause": cause, "level": level,
                    "escalate_at": escalate_at }),
        ),
        EventBody::FlagsCleared { kinds, reason } => {
            ("FlagsResolved", json!({ "flags": kinds, "reason": reason }))
        }
        EventBody::NoteAdded { text } => ("NoteAdded", json!({ "text": text })),
        EventBody::ShipmentUpdated(news) => ("ShipmentUpdated", json!({ "shipment": news })),
        EventBody::TrackingAdded(tracking) => ("ShipmentUpdated", json!({ "tracking": tracking })),
        EventBody::TrackingCorrected {
            shipment_id,
            tracking,
        } => (
            "ShipmentUpdated",
            json!({ "shipment_id": shipment_id, "tracking": tracking }),
        ),
        EventBody::PaymentRecorded(news) => ("PaymentUpdated", json!({ "payment": news })),
        EventBody::NotifyPrefsSet(prefs) => ("NotifyPrefsSet", json!({ "prefs": prefs })),
        EventBody::NotificationRecorded(record) => {
            ("NotificationRecorded", json!({ "notification": record }))
        }
        EventBody::SubstitutionsProposed(proposal) => {
            ("SubstitutionsProposed", json!({ "proposal": proposal }))
        }
        // What an inventory system follows: the units the order takes of
        // each item, changed. Answers that change nothing are only news.
        EventBody::SubstitutionsAnswered(answered) => (
            if answered.adjustments.is_empty() {
                "SubstitutionsAnswered"
            } else {
                "InventoryAdjusted"
            },
            json!({ "proposal_id": answered.proposal_id, "answers": answered.answers,
                    "by_policy": answered.by_policy, "adjustments": answered.adjustments }),
        ),
        EventBody::Dispatch(step) => ("DispatchUpdated", json!({ "dispatch": step })),
        EventBody::LifecycleMigrated {
            from,
            to,
            from_state,
            to_state,
        } => (
            "LifecycleMigrated",
            json!({ "from_lifecycle": from, "to_lifecycle": to, "from": from_state, "to": to_state }),
        ),
        EventBody::Issue(news) => (
            match news.step {
                IssueStep::Opened { .. } => "OrderIssueOpened",
                IssueStep::Acknowledged => "OrderIssueAcknowledged",
                IssueStep::Assigned { .. } => "OrderIssueAssigned",
                IssueStep::Resolved { .. } => "OrderIssueResolved",
            },
            json!({ "issue": news }),
        ),
        EventBody::DeliveryUpdated(news) => {
            // The driver's phone number stays with us.
            let mut news = news.clone();
            if let Some(driver) = &mut news.driver {
                driver.phone = None;
            }
            ("DeliveryUpdated", json!({ "delivery": news }))
        }
    };
    if let (Value::Object(d), Value::Object(e)) = (&mut detail, extra) {
        d.extend(e);
    }
    BusEntry {
        source: SOURCE.to_string(),
        detail_type: detail_type.to_string(),
        detail,
    }
}
