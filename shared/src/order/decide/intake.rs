//! News from providers (carriers, payment gateways, delivery partners):
//! recorded as it came, then — when it implies one — a status fact placed
//! like any other, the state named by the role the news plays in the
//! order's lifecycle.

use chrono::{DateTime, Utc};

use super::command::{Decision, Origin};
use super::draft::{clamp, Draft};
use super::issues;
use crate::lifecycle::{Actor, Lifecycle, StateRole};
use crate::order::event::{Disposition, Event, EventBody, StatusFact};
use crate::order::flags::FlagKind;
use crate::order::head::{Head, MAX_PAYMENT_FAILURES};
use crate::order::inbound::{normalise_tracking, DeliveryKind, Inbound, InboundFact, PaymentKind};

/// What the order's payment news, taken together, says about its status
/// (the role of the state it means), and when that happened. Decided from
/// the folded [`PaymentInfo`], never from the news that happened to arrive
/// last:
///
/// - a success means paid, whenever it happened: failures before it were
///   the customer's earlier attempts, failures and cancellations after it
///   are another attempt's, and neither takes the payment back;
/// - with no success known, a cancellation cancels the order, and so does
///   the [`MAX_PAYMENT_FAILURES`]th failure — dated by when that failure
///   happened, so an older failure that turns up later moves the date back
///   (as a late fact);
/// - a refund only records money going back.
///
/// A success that turns up once the order is already cancelled cannot undo
/// a final state; [`record_inbound`] flags it for staff instead.
///
/// [`PaymentInfo`]: crate::order::PaymentInfo
fn payment_claim(
    head: &Head,
    kind: PaymentKind,
    at: DateTime<Utc>,
) -> Option<(StateRole, Option<String>, DateTime<Utc>)> {
    let payment = head.payment.as_ref()?;
    let paid = payment.succeeded_at.is_some();
    match kind {
        PaymentKind::Succeeded => Some((StateRole::Paid, None, at)),
        PaymentKind::Canceled if !paid => Some((
            StateRole::Cancelled,
            Some("the payment was cancelled".to_string()),
            at,
        )),
        PaymentKind::Failed if !paid && payment.failures >= MAX_PAYMENT_FAILURES => Some((
            StateRole::Cancelled,
            Some(format!("payment failed {} times", payment.failures)),
            payment.failed_at.last().copied().unwrap_or(at),
        )),
        PaymentKind::Failed | PaymentKind::Canceled | PaymentKind::Refunded => None,
    }
}

/// Records a provider's fact on a matched order: the provider's news as an
/// event, then — when the news implies one — a status fact placed like any
/// other (applied, late, parked or conflict), releasing parked facts.
pub fn record_inbound(
    head: &Head,
    parked: &[Event],
    lifecycle: &Lifecycle,
    inbound: &Inbound,
    now: DateTime<Utc>,
) -> Decision {
    let (at, clamped_from) = clamp(inbound.occurred_at, now);
    let origin = Origin {
        source: inbound.source.clone(),
        actor_kind: Actor::of_source(&inbound.source),
        actor: None,
        external_id: Some(inbound.event_id.clone()),
    };
    let mut draft = Draft::new(head, lifecycle, now);
    let latest_scan = |h: &Head, code: &str| {
        let code = normalise_tracking(code);
        h.shipments
            .iter()
            .find(|s| s.tracking_code.as_deref().map(normalise_tracking) == Some(code.clone()))
            .and_then(|s| s.last_scan_at)
    };
    // (the role of the state it means, reason, when it happened)
    let claim: Option<(StateRole, Option<String>, DateTime<Utc>)> = match &inbound.fact {
        InboundFact::Shipment(news) => {
            let newest = latest_scan(head, &news.tracking_code).is_none_or(|last| at >= last);
            draft.push(&origin, at, EventBody::ShipmentUpdated(news.clone()));
            // The newest scan speaks for the order through the roll-up of all
            // its packages; an older one is history for its own state.
            let role = if newest {
                rollup(&draft.head, lifecycle)
            } else {
                news.status.role()
            };
            role.map(|r| (r, news.message.clone(), at))
        }
        InboundFact::Payment(news) => {
            draft.push(&origin, at, EventBody::PaymentRecorded(news.clone()));
            payment_claim(&draft.head, news.kind, at)
        }
        InboundFact::Delivery(news) => {
            draft.push(&origin, at, EventBody::DeliveryUpdated(news.clone()));
            let role = match news.kind {
                DeliveryKind::DriverAssigned => Some(StateRole::DriverAssigned),
                DeliveryKind::PickedUp => Some(StateRole::DriverPickedUp),
                DeliveryKind::Delivered => Some(StateRole::DriverDelivered),
                DeliveryKind::Failed => Some(StateRole::DriverFailed),
                DeliveryKind::Location => None,
            };
            if news.kind == DeliveryKind::Failed {
                let reason = news
                    .message
                    .clone()
                    .unwrap_or_else(|| "the delivery partner reports a failure".into());
                draft.push(
                    &origin,
                    at,
                    EventBody::FlagRaised {
                        flag: FlagKind::DeliveryException,
                        reason,
                        cause: None,
                        level: 1,
                        escalate_at: None,
                    },
                );
            }
            role.map(|r| (r, news.message.clone(), at))
        }
    };
    // Bad news (a failed payment, a carrier's exception, a failed drop-off)
    // is also an issue someone must own.
    if let Some(issue) = issues::automatic(head, &inbound.fact) {
        draft.push(&origin, at, issue);
    }
    let Some((role, reason, claim_at)) = claim else {
        return draft.finish(Disposition::Applied);
    };
    // A role no state of the lifecycle plays (a driver for a pickup order, a
    // payment on a lifecycle without a `paid` role) or a state already known
    // to have been reached earlier adds nothing: the news itself is recorded.
    let Some(target) = lifecycle.role(role).map(str::to_string) else {
        return draft.finish(Disposition::Applied);
    };
    let reached = lifecycle
        .stamps(&target)
        .first()
        .and_then(|stamp| draft.head.timestamps.get(stamp))
        .copied();
    // Stamps never precede the placement, so neither does the comparison.
    if reached.is_some_and(|reached| reached <= claim_at.max(draft.head.created_at)) {
        return draft.finish(Disposition::Applied);
    }
    let mut disposition = draft.place_fact(&origin, &target, claim_at, None);
    // Money captured for an order that ended unpaid is not history, however
    // old: the customer has paid for an order that will not go ahead, so
    // staff must refund it or place it again.
    let captured =
        matches!(&inbound.fact, InboundFact::Payment(news) if news.kind == PaymentKind::Succeeded);
    if captured && reached.is_none() && lifecycle.is_terminal(&draft.head.status) {
        disposition = Disposition::Conflict;
    }
    let mut fact = StatusFact::new(target, disposition, origin.actor_kind);
    fact.reason = reason;
    fact.clamped_from = clamped_from.filter(|_| claim_at == at);
    draft.record_placed(&origin, claim_at, fact);
    if disposition == Disposition::Applied {
        draft.release_parked(parked);
    }
    draft.finish(disposition)
}

/// The role of the order state every package has reached: the least
/// advanced of them, among the roles the lifecycle gives a state.
pub fn rollup(head: &Head, lifecycle: &Lifecycle) -> Option<StateRole> {
    head.shipments
        .iter()
        .filter_map(|s| {
            let role = s.status.role()?;
            Some((role, lifecycle.role(role)?))
        })
        .reduce(|least, next| {
            if lifecycle.is_before(next.1, least.1) {
                next
            } else {
                least
            }
        })
        .map(|(role, _)| role)
}
