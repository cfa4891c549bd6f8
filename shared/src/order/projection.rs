//! Folding events into the head. Pure and deterministic: replaying an order's
//! log from the start gives exactly the stored head (checked by the tests).

use chrono::{DateTime, Duration, Utc};

use super::event::{Disposition, Event, EventBody, StatusFact};
use super::head::{Flag, FlagKind, Head, ParkedRef};
use super::shipment::{Shipment, ShipmentStatus};
use crate::lifecycle::Lifecycle;

/// How long a parked fact may wait for the states it needs before the order
/// is due for review.
pub const PARKED_WINDOW: Duration = Duration::minutes(60);

/// Builds the head from an order's first event.
///
/// # Panics
/// If `event` is not `OrderPlaced`; a log always starts with one.
pub fn start(event: &Event, lifecycle: &Lifecycle) -> Head {
    let EventBody::OrderPlaced(placed) = &event.body else {
        panic!("an order's log starts with order_placed");
    };
    let placed = placed.as_ref().clone();
    let mut head = Head {
        id: event.order_id.clone(),
        public_id: event.public_id.clone(),
        tenant: event.tenant.clone(),
        customer_id: placed.customer_id,
        lifecycle: placed.lifecycle,
        fulfilment: placed.fulfilment,
        status: placed.status,
        status_since: event.occurred_at,
        version: event.version,
        last_seq: event.seq,
        created_at: event.recorded_at,
        updated_at: event.recorded_at,
        currency: placed.currency,
        items: placed.items,
        total: placed.total,
        shipping: placed.shipping,
        contact: placed.contact,
        policy: placed.policy,
        timestamps: Default::default(),
        payment: None,
        shipments: Vec::new(),
        flags: Vec::new(),
        parked: Vec::new(),
        sla_due_at: None,
        due_at: None,
    };
    let status = head.status.clone();
    stamp(&mut head, lifecycle, &status, event.occurred_at);
    head.timestamps
        .entry("placed_at".into())
        .or_insert(event.occurred_at);
    head.sla_due_at = sla_deadline(lifecycle, &head.status, event.recorded_at);
    head.due_at = next_due(&head);
    head
}

/// Folds one more event into the head.
pub fn apply(head: &mut Head, event: &Event, lifecycle: &Lifecycle) {
    head.version = event.version;
    head.last_seq = event.seq;
    head.updated_at = event.recorded_at;
    match &event.body {
        EventBody::OrderPlaced(_) => {}
        EventBody::StatusFact(fact) => apply_fact(head, event, fact, lifecycle),
        EventBody::FlagRaised { flag, reason } => raise(head, *flag, reason.clone(), event),
    }
    head.due_at = next_due(head);
}

fn apply_fact(head: &mut Head, event: &Event, fact: &StatusFact, lifecycle: &Lifecycle) {
    if let Some(parked) = &fact.released {
        head.parked.retain(|p| &p.event_id != parked);
    }
    match fact.disposition {
        Disposition::Applied => {
            head.status = fact.target.clone();
            head.status_since = event.occurred_at;
            stamp(head, lifecycle, &fact.target, event.occurred_at);
            head.sla_due_at = sla_deadline(lifecycle, &fact.target, event.recorded_at);
            record_shipment(head, fact, event.recorded_at);
            if let Some(status) = lifecycle.state(&fact.target).and_then(|s| s.shipment) {
                roll_down(head, status, event.recorded_at);
            }
            // A stall is about the state the order has just left.
            head.flags.retain(|f| f.kind != FlagKind::Stalled);
        }
        // History: it fills in when a skipped state happened, nothing more.
        Disposition::Late => stamp(head, lifecycle, &fact.target, event.occurred_at),
        Disposition::Parked => head.parked.push(ParkedRef {
            event_id: event.event_id.clone(),
            target: fact.target.clone(),
            recorded_at: event.recorded_at,
        }),
        Disposition::Conflict => {
            let reason = format!(
                "{} reported {} while the order was {}",
                event.source, fact.target, head.status
            );
            raise(head, FlagKind::NeedsReview, reason, event);
        }
    }
}

fn record_shipment(head: &mut Head, fact: &StatusFact, at: DateTime<Utc>) {
    let next_id = || format!("shp_{}", head.shipments.len() + 1);
    if let Some(tracking) = &fact.tracking {
        let known = head
            .shipments
            .iter()
            .any(|s| s.tracking_code.as_deref() == Some(tracking.code.as_str()));
        if !known {
            let shipment = Shipment::new(next_id(), Some(tracking), at);
            head.shipments.push(shipment);
        }
    } else if fact.tracking_pending && head.shipments.is_empty() {
        let shipment = Shipment::new(next_id(), None, at);
        head.shipments.push(shipment);
    }
}

/// The order's status speaks for packages no carrier has reported on
/// individually; a package with its own news keeps it.
fn roll_down(head: &mut Head, status: ShipmentStatus, at: DateTime<Utc>) {
    for shipment in &mut head.shipments {
        if matches!(
            shipment.status,
            ShipmentStatus::TrackingPending
                | ShipmentStatus::LabelCreated
                | ShipmentStatus::InTransit
                | ShipmentStatus::OutForDelivery
        ) {
            shipment.status = status;
            shipment.updated_at = at;
        }
    }
}

fn raise(head: &mut Head, kind: FlagKind, reason: String, event: &Event) {
    head.flags.push(Flag {
        kind,
        reason,
        raised_at: event.recorded_at,
        event_id: event.event_id.clone(),
    });
}

/// Keeps the earliest time each state was reached, whatever order the facts came in.
fn stamp(head: &mut Head, lifecycle: &Lifecycle, state: &str, at: DateTime<Utc>) {
    for field in lifecycle.stamps(state) {
        let slot = head.timestamps.entry(field).or_insert(at);
        if at < *slot {
            *slot = at;
        }
    }
}

fn sla_deadline(lifecycle: &Lifecycle, state: &str, from: DateTime<Utc>) -> Option<DateTime<Utc>> {
    if lifecycle.is_terminal(state) {
        return None;
    }
    lifecycle
        .sla_minutes(state)
        .map(|m| from + Duration::minutes(i64::from(m)))
}

fn next_due(head: &Head) -> Option<DateTime<Utc>> {
    let parked = head
        .parked
        .iter()
        .map(|p| p.recorded_at + PARKED_WINDOW)
        .min();
    match (head.sla_due_at, parked) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}
