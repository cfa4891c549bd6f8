//! Commands in, events out. Pure: given the head, the parked facts, the
//! lifecycle and the time, a command either produces the events to append
//! (and the head they lead to) or a rejection. Nothing here touches a store.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use super::deadlines;
use super::event::{Disposition, Event, EventBody, OrderPlaced, StatusFact};
use super::head::FlagKind;
use super::head::Head;
use super::inbound::{
    normalise_tracking, DeliveryKind, Inbound, InboundFact, PaymentKind, TrackingCode,
};
use super::projection;
use super::shipment::TrackingInput;
use crate::lifecycle::{Actor, Guard, Lifecycle, Placement, Step};

/// How far in the future a source's clock may be before we stop believing it.
pub const MAX_CLOCK_SKEW: Duration = Duration::minutes(2);

/// Who issued a command, and through which channel.
#[derive(Clone, Debug, PartialEq)]
pub struct Origin {
    /// `staff`, `customer`, `system`, `carrier:<provider>`…
    pub source: String,
    pub actor_kind: Actor,
    pub actor: Option<String>,
    pub external_id: Option<String>,
}

/// What a status command asks for.
#[derive(Clone, Debug, PartialEq)]
pub struct StatusClaim {
    /// The requested status, in the lifecycle's or an outside vocabulary.
    pub to: String,
    pub occurred_at: DateTime<Utc>,
    pub reason: Option<String>,
    pub tracking: Option<TrackingInput>,
}

/// Everything a command adds, ready for one conditional write.
#[derive(Clone, Debug)]
pub struct Decision {
    /// The head the write expects to replace.
    pub expected_version: u64,
    pub head: Head,
    pub events: Vec<Event>,
    /// Facts to keep until the states they need have happened.
    pub park: Vec<Event>,
    /// Parked facts this command settled.
    pub unpark: Vec<ParkedKey>,
    /// The first status this command moves to, for the database-side check.
    pub first_move: Option<StatusMove>,
    /// How the command's own fact was placed.
    pub disposition: Disposition,
    /// Tracking codes the order gained, for carriers' facts to find it by.
    pub tracking_codes: Vec<TrackingCode>,
}

/// Identifies a stored parked fact.
#[derive(Clone, Debug, PartialEq)]
pub struct ParkedKey {
    pub event_id: String,
    pub occurred_at: DateTime<Utc>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct StatusMove {
    pub to: String,
    pub overriding: bool,
}

/// A move the caller may make next, for the staff API and board.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct NextAction {
    pub to: String,
    pub label: String,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub requires_tracking: bool,
}

#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum Rejection {
    #[error("the order is at version {current}, not {expected}")]
    VersionConflict { expected: u64, current: u64 },
    #[error("{input} is not a status of the {lifecycle} lifecycle")]
    UnknownStatus { input: String, lifecycle: String },
    #[error("cannot move from {current} to {target}: {why}")]
    Illegal {
        current: String,
        target: String,
        why: String,
    },
    #[error("a tracking code is required to mark the order {target}")]
    TrackingRequired { target: String },
    #[error("an override needs a reason")]
    ReasonRequired,
    #[error("there is no review or exception flag to resolve")]
    NothingToResolve,
    #[error("no parked fact {0}")]
    UnknownParkedFact(String),
    #[error("no shipment {0}")]
    UnknownShipment(String),
}

/// Builds events on top of a head, folding each into it as it goes.
struct Draft<'a> {
    lifecycle: &'a Lifecycle,
    before: &'a Head,
    expected_version: u64,
    head: Head,
    events: Vec<Event>,
    park: Vec<Event>,
    unpark: Vec<ParkedKey>,
    first_move: Option<StatusMove>,
    now: DateTime<Utc>,
}

impl<'a> Draft<'a> {
    fn new(head: &'a Head, lifecycle: &'a Lifecycle, now: DateTime<Utc>) -> Self {
        Draft {
            lifecycle,
            before: head,
            expected_version: head.version,
            head: head.clone(),
            events: Vec::new(),
            park: Vec::new(),
            unpark: Vec::new(),
            first_move: None,
            now,
        }
    }

    fn push(&mut self, origin: &Origin, occurred_at: DateTime<Utc>, body: EventBody) {
        let event = Event {
            event_id: new_id("evt"),
            order_id: self.head.id.clone(),
            tenant: self.head.tenant.clone(),
            public_id: self.head.public_id.clone(),
            seq: self.head.last_seq + 1,
            version: self.expected_version + 1,
            occurred_at,
            recorded_at: self.now,
            source: origin.source.clone(),
            actor: origin.actor.clone(),
            external_id: origin.external_id.clone(),
            body,
        };
        projection::apply(&mut self.head, &event, self.lifecycle);
        if let EventBody::StatusFact(fact) = &event.body {
            if let Some(parked) = &fact.released {
                // A released fact keeps the time it was parked under.
                self.unpark.push(ParkedKey {
                    event_id: parked.clone(),
                    occurred_at: event.occurred_at,
                });
            }
            if fact.disposition == Disposition::Parked {
                self.park.push(event.clone());
            }
        }
        self.events.push(event);
    }

    fn apply_move(&mut self, origin: &Origin, at: DateTime<Utc>, mut fact: StatusFact) {
        if self.first_move.is_none() {
            self.first_move = Some(StatusMove {
                to: fact.target.clone(),
                overriding: fact.overridden,
            });
        }
        fact.from = Some(self.head.status.clone());
        self.push(origin, at, EventBody::StatusFact(fact));
    }

    /// Retries parked facts, earliest first, until none of them can move.
    fn release_parked(&mut self, parked: &[Event]) {
        let mut waiting: Vec<&Event> = parked
            .iter()
            .filter(|p| !self.unpark.iter().any(|u| u.event_id == p.event_id))
            .collect();
        waiting.sort_by(|a, b| (a.occurred_at, &a.event_id).cmp(&(b.occurred_at, &b.event_id)));
        'retry: loop {
            for (i, parked) in waiting.iter().enumerate() {
                let Some(original) = parked.status_fact() else {
                    continue;
                };
                let origin = Origin {
                    source: parked.source.clone(),
                    actor_kind: original.by,
                    actor: parked.actor.clone(),
                    external_id: parked.external_id.clone(),
                };
                let placement = self.place_fact(
                    &origin,
                    &original.target,
                    parked.occurred_at,
                    original.tracking.as_ref(),
                );
                if placement == Disposition::Parked {
                    continue;
                }
                let mut fact = StatusFact::new(original.target.clone(), placement, original.by);
                fact.tracking = original.tracking.clone();
                fact.released = Some(parked.event_id.clone());
                fact.clamped_from = original.clamped_from;
                self.record_placed(&origin, parked.occurred_at, fact);
                waiting.remove(i);
                continue 'retry;
            }
            break;
        }
    }

    /// Where an outside fact lands; a legal move the source may not make, or
    /// whose guard fails, is a conflict for staff to review.
    fn place_fact(
        &self,
        origin: &Origin,
        target: &str,
        at: DateTime<Utc>,
        tracking: Option<&TrackingInput>,
    ) -> Disposition {
        match self
            .lifecycle
            .place(&self.head.status, self.head.status_since, target, at)
        {
            Placement::Apply(step) => {
                let permitted = Lifecycle::permits(&step, origin.actor_kind);
                if permitted && guards_hold(&self.head, &step, tracking) {
                    Disposition::Applied
                } else {
                    Disposition::Conflict
                }
            }
            Placement::Late => Disposition::Late,
            Placement::Ahead => Disposition::Parked,
            Placement::Conflict => Disposition::Conflict,
        }
    }

    fn record_placed(&mut self, origin: &Origin, at: DateTime<Utc>, mut fact: StatusFact) {
        if fact.disposition == Disposition::Applied {
            fact.tracking_pending = needs_pending_shipment(self.lifecycle, &self.head, &fact);
            self.apply_move(origin, at, fact);
        } else {
            self.push(origin, at, EventBody::StatusFact(fact));
        }
    }

    fn finish(self, disposition: Disposition) -> Decision {
        let codes = |h: &Head| -> Vec<TrackingCode> {
            h.shipments
                .iter()
                .filter_map(|s| {
                    Some(TrackingCode {
                        code: normalise_tracking(s.tracking_code.as_deref()?),
                        carrier: s.carrier.clone(),
                    })
                })
                .collect()
        };
        let known = codes(self.before);
        let tracking_codes = codes(&self.head)
            .into_iter()
            .filter(|c| known.iter().all(|k| k.code != c.code))
            .collect();
        Decision {
            tracking_codes,
            expected_version: self.expected_version,
            head: self.head,
            events: self.events,
            park: self.park,
            unpark: self.unpark,
            first_move: self.first_move,
            disposition,
        }
    }
}

impl Actor {
    /// The kind of actor behind an event source such as `carrier:easypost`.
    pub fn of_source(source: &str) -> Actor {
        match source.split(':').next().unwrap_or_default() {
            "payment" => Actor::Payment,
            "carrier" => Actor::Carrier,
            "delivery" => Actor::Delivery,
            "customer" => Actor::Customer,
            "system" => Actor::System,
            _ => Actor::Staff,
        }
    }
}

pub fn new_id(prefix: &str) -> String {
    format!("{prefix}_{}", uuid::Uuid::new_v4().simple())
}

fn guards_hold(head: &Head, step: &Step, tracking: Option<&TrackingInput>) -> bool {
    step.guards.iter().all(|guard| match guard {
        Guard::TrackingCode => {
            tracking.is_some()
                || head.policy.allow_tracking_pending
                || head.shipments.iter().any(|s| s.tracking_code.is_some())
        }
    })
}

/// A move through a tracking-guarded transition with no code at all opens a
/// shipment whose tracking is pending.
fn needs_pending_shipment(lifecycle: &Lifecycle, head: &Head, fact: &StatusFact) -> bool {
    fact.tracking.is_none()
        && head.shipments.is_empty()
        && lifecycle
            .step(&head.status, &fact.target)
            .is_some_and(|s| s.guards.contains(&Guard::TrackingCode))
}

fn clamp(at: DateTime<Utc>, now: DateTime<Utc>) -> (DateTime<Utc>, Option<DateTime<Utc>>) {
    if at > now + MAX_CLOCK_SKEW {
        (now, Some(at))
    } else {
        (at, None)
    }
}

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
        public_id,
        seq: 1,
        version: 1,
        occurred_at: now,
        recorded_at: now,
        source: origin.source.clone(),
        actor: origin.actor.clone(),
        external_id: origin.external_id.clone(),
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

/// Failed payment attempts after which the order is cancelled (seed 003:
/// "payment fails after all retries").
pub const MAX_PAYMENT_FAILURES: u32 = 3;

/// What the order's payment news, taken together, says about its status,
/// and when that happened. Decided from the folded [`PaymentInfo`], never
/// from the news that happened to arrive last:
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
/// [`PaymentInfo`]: super::head::PaymentInfo
fn payment_claim(
    head: &Head,
    kind: PaymentKind,
    at: DateTime<Utc>,
) -> Option<(String, Option<String>, DateTime<Utc>)> {
    let payment = head.payment.as_ref()?;
    let paid = payment.succeeded_at.is_some();
    match kind {
        PaymentKind::Succeeded => Some(("paid".to_string(), None, at)),
        PaymentKind::Canceled if !paid => Some((
            "cancelled".to_string(),
            Some("the payment was cancelled".to_string()),
            at,
        )),
        PaymentKind::Failed if !paid && payment.failures >= MAX_PAYMENT_FAILURES => Some((
            "cancelled".to_string(),
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
    // (target, reason, when it happened)
    let claim: Option<(String, Option<String>, DateTime<Utc>)> = match &inbound.fact {
        InboundFact::Shipment(news) => {
            let newest = latest_scan(head, &news.tracking_code).is_none_or(|last| at >= last);
            draft.push(&origin, at, EventBody::ShipmentUpdated(news.clone()));
            // The newest scan speaks for the order through the roll-up of all
            // its packages; an older one is history for its own state.
            let target = if newest {
                rollup(&draft.head, lifecycle)
            } else {
                news.status.order_state().map(str::to_string)
            };
            target.map(|t| (t, news.message.clone(), at))
        }
        InboundFact::Payment(news) => {
            draft.push(&origin, at, EventBody::PaymentRecorded(news.clone()));
            payment_claim(&draft.head, news.kind, at)
        }
        InboundFact::Delivery(news) => {
            draft.push(&origin, at, EventBody::DeliveryUpdated(news.clone()));
            let target = match news.kind {
                DeliveryKind::DriverAssigned => Some("driver_assigned"),
                DeliveryKind::PickedUp => Some("picked_up"),
                DeliveryKind::Delivered => Some("delivered"),
                DeliveryKind::Failed => Some("failed"),
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
            target.map(|t| (t.to_string(), news.message.clone(), at))
        }
    };
    let Some((target, reason, claim_at)) = claim else {
        return draft.finish(Disposition::Applied);
    };
    // A state the lifecycle does not have (a driver for a kitchen order) or
    // one already known to have been reached earlier adds nothing.
    let Some(target) = lifecycle.resolve(&target).map(str::to_string) else {
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

/// The order state every package has reached: the least advanced of them.
pub fn rollup(head: &Head, lifecycle: &Lifecycle) -> Option<String> {
    head.shipments
        .iter()
        .filter_map(|s| s.status.order_state())
        .filter(|state| lifecycle.state(state).is_some())
        .reduce(|least, state| {
            if lifecycle.is_before(state, least) {
                state
            } else {
                least
            }
        })
        .map(str::to_string)
}

/// Staff give a tracking code after the fact (shipped with "tracking
/// pending", or a second package). Allowed once the order has shipped.
pub fn add_tracking(
    head: &Head,
    lifecycle: &Lifecycle,
    origin: &Origin,
    tracking: TrackingInput,
    now: DateTime<Utc>,
) -> Result<Decision, Rejection> {
    if !head.timestamps.contains_key("shipped_at") {
        return Err(Rejection::Illegal {
            current: head.status.clone(),
            target: head.status.clone(),
            why: "tracking can be added once the order has shipped".into(),
        });
    }
    let waiting = head.shipments.iter().any(|s| s.tracking_code.is_none());
    if !waiting && head.shipments.len() >= super::limits::MAX_PACKAGES {
        return Err(Rejection::Illegal {
            current: head.status.clone(),
            target: head.status.clone(),
            why: format!(
                "an order holds at most {} packages",
                super::limits::MAX_PACKAGES
            ),
        });
    }
    let mut draft = Draft::new(head, lifecycle, now);
    draft.push(origin, now, EventBody::TrackingAdded(tracking));
    Ok(draft.finish(Disposition::Applied))
}

fn system() -> Origin {
    Origin {
        source: "system".into(),
        actor_kind: Actor::System,
        actor: Some("stall-sweep".into()),
        external_id: None,
    }
}

/// The sweep's decision for one order: a flag for each overdue reason, one
/// level up for a reason still unresolved since its last flag. `None` when
/// nothing is due — which is also what a second, concurrent sweep sees once
/// the first has committed, so flags are never doubled.
pub fn sweep(head: &Head, lifecycle: &Lifecycle, now: DateTime<Utc>) -> Option<Decision> {
    let due = deadlines::overdue(head, lifecycle, now);
    if due.is_empty() {
        return None;
    }
    let mut draft = Draft::new(head, lifecycle, now);
    for (deadline, level) in due {
        let waited = (now - deadline.since).num_minutes();
        let body = EventBody::FlagRaised {
            flag: deadline.reason.flag(),
            reason: deadline.reason.describe(waited),
            cause: Some(deadline.reason),
            level,
            escalate_at: Some(now + deadlines::escalation_delay(level)),
        };
        draft.push(&system(), now, body);
    }
    Some(draft.finish(Disposition::Applied))
}

/// A note for the audit log.
pub fn add_note(
    head: &Head,
    lifecycle: &Lifecycle,
    origin: &Origin,
    text: String,
    now: DateTime<Utc>,
) -> Decision {
    let mut draft = Draft::new(head, lifecycle, now);
    draft.push(origin, now, EventBody::NoteAdded { text });
    draft.finish(Disposition::Applied)
}

/// Staff mark review and exception flags as dealt with. Stalls clear
/// themselves when the order moves on, so they are not cleared by hand.
pub fn resolve_flags(
    head: &Head,
    lifecycle: &Lifecycle,
    origin: &Origin,
    reason: String,
    now: DateTime<Utc>,
) -> Result<Decision, Rejection> {
    let kinds: Vec<FlagKind> = [FlagKind::NeedsReview, FlagKind::DeliveryException]
        .into_iter()
        .filter(|k| head.flags.iter().any(|f| f.kind == *k && f.cause.is_none()))
        .collect();
    if kinds.is_empty() {
        return Err(Rejection::NothingToResolve);
    }
    let mut draft = Draft::new(head, lifecycle, now);
    draft.push(origin, now, EventBody::FlagsCleared { kinds, reason });
    Ok(draft.finish(Disposition::Applied))
}

/// What staff decide about a parked fact.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize)]
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

/// Staff correct a package's tracking code (a typo, a relabelled parcel).
pub fn correct_tracking(
    head: &Head,
    lifecycle: &Lifecycle,
    origin: &Origin,
    shipment_id: &str,
    tracking: TrackingInput,
    now: DateTime<Utc>,
) -> Result<Decision, Rejection> {
    if !head.shipments.iter().any(|s| s.shipment_id == shipment_id) {
        return Err(Rejection::UnknownShipment(shipment_id.to_string()));
    }
    let mut draft = Draft::new(head, lifecycle, now);
    let body = EventBody::TrackingCorrected {
        shipment_id: shipment_id.to_string(),
        tracking,
    };
    draft.push(origin, now, body);
    Ok(draft.finish(Disposition::Applied))
}
