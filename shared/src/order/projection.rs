//! Folding events into the head. Pure and deterministic: replaying an order's
//! log from the start gives exactly the stored head (checked by the tests).

use chrono::{DateTime, Duration, Utc};

use super::chain;
use super::deadlines;
use super::dispatch;
use super::event::{Disposition, Event, EventBody, StatusFact};
use super::flags::{Flag, FlagKind, StallReason};
use super::head::{DeliveryInfo, Head, ParkedRef, PaymentInfo, MAX_PAYMENT_FAILURES};
use super::inbound::{
    normalise_tracking, DeliveryNews, GeoPoint, PaymentKind, PaymentNews, ShipmentNews,
};
use super::issue::{self, IssueStep};
use super::shipment::{Shipment, TrackingInput};
use super::substitution::{self, Amended};
use crate::lifecycle::{Lifecycle, ShipmentStatus};

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
        store: placed.store,
        customer_id: placed.customer_id,
        lifecycle: placed.lifecycle,
        fulfilment: placed.fulfilment,
        status: placed.status,
        status_since: event.occurred_at,
        status_entered_at: event.recorded_at,
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
        delivery: None,
        flags: Vec::new(),
        parked: Vec::new(),
        sla_due_at: None,
        due_at: None,
        notify: None,
        issues: Vec::new(),
        proposal: None,
        amended: None,
        dispatch: None,
        chain: Some(chain::hash(event)),
    };
    let status = head.status.clone();
    stamp(&mut head, lifecycle, &status, event.occurred_at);
    head.timestamps
        .entry("placed_at".into())
        .or_insert(event.occurred_at);
    head.sla_due_at = sla_deadline(&head, lifecycle, event.recorded_at);
    head.due_at = deadlines::next_due(&head, lifecycle);
    head
}

/// Folds one more event into the head.
pub fn apply(head: &mut Head, event: &Event, lifecycle: &Lifecycle) {
    head.chain = Some(chain::hash(event));
    head.version = event.version;
    head.last_seq = event.seq;
    head.updated_at = event.recorded_at;
    match &event.body {
        EventBody::OrderPlaced(_) => {}
        EventBody::StatusFact(fact) => apply_fact(head, event, fact, lifecycle),
        EventBody::FlagRaised {
            flag,
            reason,
            cause,
            level,
            escalate_at,
        } => {
            let raised = Flag {
                kind: *flag,
                reason: reason.clone(),
                raised_at: event.recorded_at,
                event_id: event.event_id.clone(),
                cause: cause.clone(),
                level: *level,
                escalate_at: *escalate_at,
            };
            raise_flag(head, raised);
        }
        EventBody::FlagsCleared { kinds, .. } => head.flags.retain(|f| !kinds.contains(&f.kind)),
        EventBody::NoteAdded { .. } => {}
        EventBody::ShipmentUpdated(news) => apply_shipment_news(head, news, event),
        EventBody::TrackingAdded(tracking) => add_tracking(head, tracking, event.recorded_at),
        EventBody::TrackingCorrected {
            shipment_id,
            tracking,
        } => correct_tracking(head, shipment_id, tracking, event.recorded_at),
        EventBody::PaymentRecorded(news) => apply_payment(head, news, event),
        EventBody::DeliveryUpdated(news) => apply_delivery(head, news, event),
        EventBody::NotifyPrefsSet(prefs) => head.notify = Some(prefs.clone()),
        EventBody::NotificationRecorded(_) => {}
        EventBody::SubstitutionsProposed(proposal) => head.proposal = Some(proposal.clone()),
        EventBody::SubstitutionsAnswered(answered) => {
            if let Some(proposal) = head.proposal.take() {
                let (lines, _) =
                    substitution::amend(head.current_lines(), &proposal, &answered.answers);
                let total = substitution::total(&lines);
                head.amended = Some(Amended { lines, total });
            }
            clear(head, |c| {
                matches!(c, StallReason::SubstitutionsUnanswered { .. })
            });
        }
        EventBody::Dispatch(step) => {
            head.dispatch = dispatch::advance(
                head.dispatch.as_ref(),
                &head.policy.dispatch,
                step,
                event.recorded_at,
            );
        }
        EventBody::LifecycleMigrated { to, to_state, .. } => {
            head.lifecycle = to.clone();
            if head.status != *to_state {
                head.status = to_state.clone();
                head.status_entered_at = event.recorded_at;
                stamp(head, lifecycle, to_state, event.occurred_at);
            }
            head.sla_due_at = sla_deadline(head, lifecycle, head.status_entered_at);
            // The old version's SLA stall is not the new one's.
            clear(head, |c| matches!(c, StallReason::Sla { .. }));
        }
        EventBody::Issue(news) => {
            issue::apply(&mut head.issues, news, &event.source, event.recorded_at);
            if !matches!(news.step, IssueStep::Opened { .. }) {
                clear(
                    head,
                    |c| matches!(c, StallReason::IssueUnacknowledged { issue_id } if *issue_id == news.issue_id),
                );
            }
        }
    }
    head.due_at = deadlines::next_due(head, lifecycle);
}

fn apply_fact(head: &mut Head, event: &Event, fact: &StatusFact, lifecycle: &Lifecycle) {
    if let Some(parked) = &fact.released {
        head.parked.retain(|p| &p.event_id != parked);
        clear(
            head,
            |c| matches!(c, StallReason::ParkedTooLong { event_id } if event_id == parked),
        );
    }
    match fact.disposition {
        Disposition::Applied => {
            head.status = fact.target.clone();
            head.status_since = event.occurred_at;
            head.status_entered_at = event.recorded_at;
            stamp(head, lifecycle, &fact.target, event.occurred_at);
            head.sla_due_at = sla_deadline(head, lifecycle, event.recorded_at);
            record_shipment(head, fact, event.recorded_at);
            if let Some(status) = lifecycle.state(&fact.target).and_then(|s| s.shipment) {
                roll_down(head, status, event.recorded_at);
            }
            // A stall is about the state the order has just left.
            clear(head, |c| matches!(c, StallReason::Sla { .. }));
        }
        // History: it fills in when a skipped state happened, nothing more.
        Disposition::Late => stamp(head, lifecycle, &fact.target, event.occurred_at),
        Disposition::Parked => head.parked.push(ParkedRef {
            event_id: event.event_id.clone(),
            target: fact.target.clone(),
            recorded_at: event.recorded_at,
        }),
        // Staff dropped a parked fact: it only leaves the queue.
        Disposition::Discarded => {}
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

/// The newest scan wins, whatever order the scans arrive in.
fn apply_shipment_news(head: &mut Head, news: &ShipmentNews, event: &Event) {
    let code = normalise_tracking(&news.tracking_code);
    let index = match head
        .shipments
        .iter()
        .position(|s| s.tracking_code.as_deref().map(normalise_tracking) == Some(code.clone()))
    {
        Some(i) => i,
        None => {
            let tracking = TrackingInput {
                carrier: news.carrier.clone().unwrap_or_default(),
                code: news.tracking_code.clone(),
                url: news.tracking_url.clone(),
            };
            let id = format!("shp_{}", head.shipments.len() + 1);
            head.shipments
                .push(Shipment::new(id, Some(&tracking), event.recorded_at));
            head.shipments.len() - 1
        }
    };
    let shipment = &mut head.shipments[index];
    if shipment
        .last_scan_at
        .is_some_and(|last| last > event.occurred_at)
    {
        return;
    }
    shipment.status = news.status;
    shipment.raw_status = Some(news.raw_status.clone());
    shipment.message = news.message.clone();
    shipment.location = news.location.clone().or(shipment.location.take());
    shipment.estimated_delivery = news.estimated_delivery.or(shipment.estimated_delivery);
    shipment.tracking_url = news.tracking_url.clone().or(shipment.tracking_url.take());
    shipment.last_scan_at = Some(event.occurred_at);
    shipment.updated_at = event.recorded_at;
    let id = shipment.shipment_id.clone();
    clear(
        head,
        |c| matches!(c, StallReason::NoScan { shipment_id } if *shipment_id == id),
    );
    if news.status.is_exception() {
        let reason = format!(
            "package {} is {:?}: {}",
            news.tracking_code,
            news.status,
            news.message.as_deref().unwrap_or("no details")
        );
        raise(head, FlagKind::DeliveryException, reason, event);
    }
}

/// Fills the shipment waiting for its code, or adds a package.
fn add_tracking(head: &mut Head, tracking: &TrackingInput, at: DateTime<Utc>) {
    let code = normalise_tracking(&tracking.code);
    if head
        .shipments
        .iter()
        .any(|s| s.tracking_code.as_deref().map(normalise_tracking) == Some(code.clone()))
    {
        return;
    }
    match head
        .shipments
        .iter_mut()
        .find(|s| s.tracking_code.is_none())
    {
        Some(pending) => {
            pending.carrier = Some(tracking.carrier.clone());
            pending.tracking_code = Some(tracking.code.clone());
            pending.tracking_url = tracking.url.clone();
            if pending.status == ShipmentStatus::TrackingPending {
                pending.status = ShipmentStatus::LabelCreated;
            }
            pending.updated_at = at;
            let id = pending.shipment_id.clone();
            clear(
                head,
                |c| matches!(c, StallReason::TrackingPending { shipment_id } if *shipment_id == id),
            );
        }
        None => {
            let id = format!("shp_{}", head.shipments.len() + 1);
            head.shipments.push(Shipment::new(id, Some(tracking), at));
        }
    }
}

/// A corrected code starts the package's carrier history afresh.
fn correct_tracking(
    head: &mut Head,
    shipment_id: &str,
    tracking: &TrackingInput,
    at: DateTime<Utc>,
) {
    if let Some(s) = head
        .shipments
        .iter_mut()
        .find(|s| s.shipment_id == shipment_id)
    {
        s.carrier = Some(tracking.carrier.clone());
        s.tracking_code = Some(tracking.code.clone());
        s.tracking_url = tracking.url.clone();
        s.status = ShipmentStatus::LabelCreated;
        s.raw_status = None;
        s.message = None;
        s.last_scan_at = None;
        s.created_at = at;
        s.updated_at = at;
    }
    clear(
        head,
        |c| matches!(c, StallReason::TrackingPending { shipment_id: id } | StallReason::NoScan { shipment_id: id } if id == shipment_id),
    );
}

fn provider(source: &str) -> String {
    source
        .split_once(':')
        .map_or(source, |(_, p)| p)
        .to_string()
}

/// Folds one payment news into the order's payment, so that any arrival
/// order of the same news gives the same result: counts and extremes
/// (failures, earliest success, largest amounts) commute, and the standing
/// news is the greatest by [`standing`], a total order.
fn apply_payment(head: &mut Head, news: &PaymentNews, event: &Event) {
    let event_id = event
        .external_id
        .clone()
        .unwrap_or_else(|| event.event_id.clone());
    let fresh = PaymentInfo {
        provider: provider(&event.source),
        status: news.kind,
        reference: news.reference.clone(),
        amount: None,
        amount_refunded: None,
        failures: 0,
        message: news.message.clone(),
        occurred_at: event.occurred_at,
        event_id,
        succeeded_at: None,
        failed_at: Vec::new(),
        updated_at: event.recorded_at,
    };
    let mut payment = match head.payment.take() {
        Some(known) if standing(&known) >= standing(&fresh) => known,
        Some(known) => PaymentInfo {
            amount: known.amount,
            amount_refunded: known.amount_refunded,
            failures: known.failures,
            succeeded_at: known.succeeded_at,
            failed_at: known.failed_at,
            updated_at: known.updated_at,
            ..fresh
        },
        None => fresh,
    };
    let at = event.occurred_at;
    match news.kind {
        PaymentKind::Succeeded => {
            payment.amount = payment.amount.max(news.amount);
            payment.succeeded_at = Some(payment.succeeded_at.map_or(at, |s| s.min(at)));
        }
        PaymentKind::Refunded => payment.amount_refunded = payment.amount_refunded.max(news.amount),
        PaymentKind::Failed => {
            payment.failures += 1;
            let slot = payment.failed_at.partition_point(|t| *t <= at);
            payment.failed_at.insert(slot, at);
            payment.failed_at.truncate(MAX_PAYMENT_FAILURES as usize);
        }
        PaymentKind::Canceled => {}
    }
    payment.updated_at = payment.updated_at.max(event.recorded_at);
    head.payment = Some(payment);
}

/// Orders payment news: money that moved (a success or a refund) above
/// money that did not (a failure or a cancellation), then by when it
/// happened; of news in the same instant (Stripe stamps whole seconds), the
/// later step of a payment's life, then the higher provider id.
fn standing(p: &PaymentInfo) -> (bool, DateTime<Utc>, u8, &str) {
    let (moved, step) = match p.status {
        PaymentKind::Failed => (false, 0),
        PaymentKind::Canceled => (false, 1),
        PaymentKind::Succeeded => (true, 0),
        PaymentKind::Refunded => (true, 1),
    };
    (moved, p.occurred_at, step, &p.event_id)
}

/// Keeps the last known driver and the newest position.
fn apply_delivery(head: &mut Head, news: &DeliveryNews, event: &Event) {
    let previous = head.delivery.take();
    let newest = |fresh: Option<GeoPoint>, old: Option<GeoPoint>| match (fresh, old) {
        (Some(f), Some(o)) if o.at > f.at => Some(o),
        (f, o) => f.or(o),
    };
    head.delivery = Some(DeliveryInfo {
        partner: provider(&event.source),
        reference: news.reference.clone(),
        kind: news.kind,
        driver: news
            .driver
            .clone()
            .or(previous.as_ref().and_then(|p| p.driver.clone())),
        location: newest(
            news.location.clone(),
            previous.as_ref().and_then(|p| p.location.clone()),
        ),
        eta: news.eta.or(previous.as_ref().and_then(|p| p.eta)),
        updated_at: event.recorded_at,
    });
}

fn raise(head: &mut Head, kind: FlagKind, reason: String, event: &Event) {
    raise_flag(
        head,
        Flag {
            kind,
            reason,
            raised_at: event.recorded_at,
            event_id: event.event_id.clone(),
            cause: None,
            level: 1,
            escalate_at: None,
        },
    );
}

/// A flag raised again for the same deadline replaces the old one (a higher level).
fn raise_flag(head: &mut Head, flag: Flag) {
    if flag.cause.is_some() {
        head.flags.retain(|f| f.cause != flag.cause);
    }
    head.flags.push(flag);
}

fn clear(head: &mut Head, resolved: impl Fn(&StallReason) -> bool) {
    head.flags
        .retain(|f| !f.cause.as_ref().is_some_and(&resolved));
}

/// Keeps the earliest time each state was reached, whatever order the facts
/// came in — but never before the order was placed: a provider's
/// whole-second clock (or a little skew) can date news of this order before
/// it existed.
fn stamp(head: &mut Head, lifecycle: &Lifecycle, state: &str, at: DateTime<Utc>) {
    let at = at.max(head.created_at);
    for field in lifecycle.stamps(state) {
        let slot = head.timestamps.entry(field).or_insert(at);
        if at < *slot {
            *slot = at;
        }
    }
}

/// When the current state outstays its SLA, for the customer's "expected by".
fn sla_deadline(head: &Head, lifecycle: &Lifecycle, from: DateTime<Utc>) -> Option<DateTime<Utc>> {
    if lifecycle.is_terminal(&head.status) {
        return None;
    }
    deadlines::sla_minutes(head, lifecycle, &head.status)
        .map(|m| from + Duration::minutes(i64::from(m)))
}
