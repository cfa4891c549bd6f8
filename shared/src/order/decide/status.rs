//! Commands that move an order along its path: placing it, staff and
//! customer transitions, facts that name a status, and staff settling a
//! parked fact.

use chrono::{DateTime, Utc};

use super::command::{new_id, Decision, NextAction, Origin, Rejection, StatusClaim};
use super::draft::{clamp, guards_hold, Draft};
use crate::lifecycle::{Actor, Lifecycle, StateRole};
use crate::order::event::{Disposition, Event, EventBody, OrderPlaced, StatusFact};
use crate::order::head::Head;
use crate::order::{chain, projection};

/// The first event of an order.
pub fn place_order(
    ids: (String, String),
    tenant: &str,
    placed: OrderPlaced,
    origin: &Origin,
    lifecycle: &Lifecycle,
    now: DateTime<Utc>,
) -> Decision {
    let (order_id, public_id) = ids;
    let event = Event {
        event_id: new_id("evt"),
        order_id,
        tenant: tenant.to_string(),
        store: placed.store.clone(),
        public_id,
        seq: 1,
        version: 1,
        occurred_at: now,
        recorded_at: now,
        source: origin.source.clone(),
        actor: origin.actor.clone(),
        external_id: origin.external_id.clone(),
        prev_hash: Some(chain::GENESIS.to_string()),
        body: EventBody::OrderPlaced(Box::new(placed)),
    };
    let head = projection::start(&event, lifecycle);
    Decision {
        tracking_codes: Vec::new(),
        expected_version: 0,
        head,
        events: vec![event],
        park: Vec::new(),
        unpark: Vec::new(),
        first_move: None,
        disposition: Disposition::Applied,
    }
}

/// A staff (or customer) command: it must be a legal move now, or an owner's
/// override with a reason. Such commands are never parked.
pub fn transition(
    head: &Head,
    parked: &[Event],
    lifecycle: &Lifecycle,
    origin: &Origin,
    claim: StatusClaim,
    expected_version: Option<u64>,
    now: DateTime<Utc>,
) -> Result<Decision, Rejection> {
    if let Some(expected) = expected_version {
        if expected != head.version {
            return Err(Rejection::VersionConflict {
                expected,
                current: head.version,
            });
        }
    }
    let target = resolve(lifecycle, &claim.to)?;
    let reason = claim
        .reason
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map(str::to_string);
    let illegal = |why: &str| Rejection::Illegal {
        current: head.status.clone(),
        target: target.clone(),
        why: why.to_string(),
    };
    let step = lifecycle.step(&head.status, &target);
    let legal = step
        .as_ref()
        .filter(|s| Lifecycle::permits(s, origin.actor_kind));
    let overriding = match legal {
        Some(step) if guards_hold(head, step, claim.tracking.as_ref()) => false,
        Some(_) if origin.actor_kind != Actor::Owner => {
            return Err(Rejection::TrackingRequired { target });
        }
        None if lifecycle.is_terminal(&head.status) => {
            return Err(illegal(&format!("{} is final", head.status)));
        }
        None if origin.actor_kind != Actor::Owner => {
            let why = if target == head.status || lifecycle.is_before(&target, &head.status) {
                "orders never move backwards"
            } else if step.is_some() {
                "your role may not make this move"
            } else {
                "it is not a next step of this order"
            };
            return Err(illegal(why));
        }
        None if !lifecycle.reachable(&head.status, &target) => {
            return Err(illegal("not even an override may move an order backwards"));
        }
        _ => true,
    };
    if overriding && reason.is_none() {
        return Err(Rejection::ReasonRequired);
    }
    let mut draft = Draft::new(head, lifecycle, now);
    let mut fact = StatusFact::new(target, Disposition::Applied, origin.actor_kind);
    fact.reason = reason;
    fact.overridden = overriding;
    fact.tracking = claim.tracking;
    draft.record_placed(origin, claim.occurred_at.min(now), fact);
    draft.release_parked(parked);
    Ok(draft.finish(Disposition::Applied))
}

/// A fact from outside (payment, carrier, delivery partner, system): placed on
/// the order's path as applied, late, parked or conflict. Never rejected:
/// every fact is kept.
pub fn record_fact(
    head: &Head,
    parked: &[Event],
    lifecycle: &Lifecycle,
    origin: &Origin,
    claim: StatusClaim,
    now: DateTime<Utc>,
) -> Decision {
    let (at, clamped_from) = clamp(claim.occurred_at, now);
    let mut draft = Draft::new(head, lifecycle, now);
    let (target, disposition) = match lifecycle.resolve(&claim.to) {
        Some(target) => {
            let d = draft.place_fact(origin, target, at, claim.tracking.as_ref());
            (target.to_string(), d)
        }
        None => (claim.to.clone(), Disposition::Conflict),
    };
    let mut fact = StatusFact::new(target, disposition, origin.actor_kind);
    fact.reason = claim.reason;
    fact.tracking = claim.tracking;
    fact.clamped_from = clamped_from;
    draft.record_placed(origin, at, fact);
    if disposition == Disposition::Applied {
        draft.release_parked(parked);
    }
    draft.finish(disposition)
}

fn resolve(lifecycle: &Lifecycle, input: &str) -> Result<String, Rejection> {
    lifecycle
        .resolve(input)
        .map(str::to_string)
        .ok_or_else(|| Rejection::UnknownStatus {
            input: input.to_string(),
            lifecycle: lifecycle.name().to_string(),
        })
}

/// The legal moves `actor` may make from the order's current status.
pub fn next_actions(head: &Head, lifecycle: &Lifecycle, actor: Actor) -> Vec<NextAction> {
    lifecycle
        .steps_from(&head.status)
        .into_iter()
        .filter(|s| Lifecycle::permits(s, actor))
        .map(|s| NextAction {
            label: lifecycle
                .state(&s.target)
                .map(|d| d.label.clone())
                .unwrap_or_default(),
            requires_tracking: !guards_hold(head, &s, None),
            to: s.target,
        })
        .collect()
}

/// Where a customer's answer to the store's proposed substitutions moves
/// the order (README › Live updates and the pages people use): the states playing `substitutions_approved` or
/// `substitutions_rejected`. `None` unless the order is waiting for an
/// answer (in the state playing `awaiting_substitutions`) and its lifecycle
/// says where the answer leads.
pub fn substitution_answer<'l>(
    head: &Head,
    lifecycle: &'l Lifecycle,
    approve: bool,
) -> Option<&'l str> {
    if !lifecycle.plays(&head.status, StateRole::AwaitingSubstitutions) {
        return None;
    }
    lifecycle.role(if approve {
        StateRole::SubstitutionsApproved
    } else {
        StateRole::SubstitutionsRejected
    })
}

/// Where a customer's own cancellation moves the order: the state playing
/// `cancelled`, while the lifecycle lets the customer take that step from
/// where the order is (seeds 000, 004: early states only). `None` once it
/// does not.
pub fn customer_cancellation<'l>(head: &Head, lifecycle: &'l Lifecycle) -> Option<&'l str> {
    let cancelled = lifecycle.role(StateRole::Cancelled)?;
    next_actions(head, lifecycle, Actor::Customer)
        .iter()
        .any(|a| a.to == cancelled)
        .then_some(cancelled)
}

/// What staff decide about a parked fact.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ParkedAction {
    /// Apply it now: a legal move, or an owner's override with a reason.
    Apply,
    /// Drop it: it was wrong (a misrouted scan, a test event).
    Discard,
}

/// Staff's decision about one parked fact.
#[derive(Clone, Debug)]
pub struct Settlement {
    pub event_id: String,
    pub action: ParkedAction,
    pub reason: String,
}

pub fn settle_parked(
    head: &Head,
    parked: &[Event],
    lifecycle: &Lifecycle,
    origin: &Origin,
    settlement: Settlement,
    now: DateTime<Utc>,
) -> Result<Decision, Rejection> {
    let Settlement {
        event_id,
        action,
        reason,
    } = settlement;
    let fact = parked
        .iter()
        .find(|p| p.event_id == event_id)
        .and_then(|p| p.status_fact().map(|f| (p, f)));
    let Some((parked_event, original)) = fact else {
        return Err(Rejection::UnknownParkedFact(event_id.to_string()));
    };
    let mut draft = Draft::new(head, lifecycle, now);
    let mut fact = StatusFact::new(
        original.target.clone(),
        Disposition::Discarded,
        origin.actor_kind,
    );
    fact.released = Some(parked_event.event_id.clone());
    fact.reason = Some(reason);
    fact.tracking = original.tracking.clone();
    if action == ParkedAction::Apply {
        let step = lifecycle
            .step(&head.status, &original.target)
            .filter(|s| Lifecycle::permits(s, origin.actor_kind));
        let overriding = match step {
            Some(_) => false,
            None if origin.actor_kind == Actor::Owner
                && lifecycle.reachable(&head.status, &original.target) =>
            {
                true
            }
            None => {
                return Err(Rejection::Illegal {
                    current: head.status.clone(),
                    target: original.target.clone(),
                    why: "not a legal move yet; an owner may override it with a reason".into(),
                })
            }
        };
        fact.disposition = Disposition::Applied;
        fact.overridden = overriding;
        draft.record_placed(origin, now, fact);
        draft.release_parked(parked);
    } else {
        draft.push(origin, now, EventBody::StatusFact(fact));
    }
    Ok(draft.finish(Disposition::Applied))
}
