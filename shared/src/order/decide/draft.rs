//! The scratchpad every decision writes on: events built on top of a head,
//! each folded into it as it goes, and the placement rules they share.

use chrono::{DateTime, Duration, Utc};

use super::command::{new_id, Decision, Origin, ParkedKey, StatusMove};
use crate::lifecycle::{Guard, Lifecycle, Placement, StateRole, Step};
use crate::order::dispatch::{DispatchState, DispatchStep};
use crate::order::event::{Disposition, Event, EventBody, StatusFact};
use crate::order::head::Head;
use crate::order::inbound::{normalise_tracking, TrackingCode};
use crate::order::shipment::TrackingInput;
use crate::order::{chain, projection};

/// How far in the future a source's clock may be before we stop believing it.
pub const MAX_CLOCK_SKEW: Duration = Duration::minutes(2);

/// Builds events on top of a head, folding each into it as it goes.
pub(super) struct Draft<'a> {
    lifecycle: &'a Lifecycle,
    before: &'a Head,
    expected_version: u64,
    pub(super) head: Head,
    events: Vec<Event>,
    park: Vec<Event>,
    unpark: Vec<ParkedKey>,
    first_move: Option<StatusMove>,
    now: DateTime<Utc>,
}

impl<'a> Draft<'a> {
    pub(super) fn new(head: &'a Head, lifecycle: &'a Lifecycle, now: DateTime<Utc>) -> Self {
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

    pub(super) fn push(&mut self, origin: &Origin, occurred_at: DateTime<Utc>, body: EventBody) {
        let event = Event {
            event_id: new_id("evt"),
            order_id: self.head.id.clone(),
            tenant: self.head.tenant.clone(),
            store: self.head.store.clone(),
            public_id: self.head.public_id.clone(),
            seq: self.head.last_seq + 1,
            version: self.expected_version + 1,
            occurred_at,
            recorded_at: self.now,
            source: origin.source.clone(),
            actor: origin.actor.clone(),
            external_id: origin.external_id.clone(),
            prev_hash: Some(chain::next_link(&self.head)),
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
        self.dispatch_after_move(origin);
    }

    /// Ready for a driver, the tenant's delivery partners are to be asked;
    /// ended with a delivery booked (or still being asked for), it is
    /// called off.
    fn dispatch_after_move(&mut self, origin: &Origin) {
        let (head, lifecycle, now) = (&self.head, self.lifecycle, self.now);
        let policy = &head.policy.dispatch;
        let step = match head.dispatch.as_ref().map(|d| (d.state, d.partner)) {
            None if !policy.is_empty()
                && lifecycle.plays(&head.status, StateRole::AwaitingDriver) =>
            {
                DispatchStep::Started
            }
            Some((DispatchState::Booked, _))
                if lifecycle.is_terminal(&head.status)
                    && !lifecycle.plays(&head.status, StateRole::DriverDelivered) =>
            {
                DispatchStep::CancelRequested
            }
            Some((DispatchState::Requesting, partner)) if lifecycle.is_terminal(&head.status) => {
                DispatchStep::Cancelled {
                    partner: policy.partners.get(partner).cloned().unwrap_or_default(),
                }
            }
            _ => return,
        };
        self.push(origin, now, EventBody::Dispatch(step));
    }

    /// Retries parked facts, earliest first, until none of them can move.
    pub(super) fn release_parked(&mut self, parked: &[Event]) {
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
    pub(super) fn place_fact(
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

    pub(super) fn record_placed(
        &mut self,
        origin: &Origin,
        at: DateTime<Utc>,
        mut fact: StatusFact,
    ) {
        if fact.disposition == Disposition::Applied {
            fact.tracking_pending = needs_pending_shipment(self.lifecycle, &self.head, &fact);
            self.apply_move(origin, at, fact);
        } else {
            self.push(origin, at, EventBody::StatusFact(fact));
        }
    }

    pub(super) fn finish(self, disposition: Disposition) -> Decision {
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

pub(super) fn guards_hold(head: &Head, step: &Step, tracking: Option<&TrackingInput>) -> bool {
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

pub(super) fn clamp(
    at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> (DateTime<Utc>, Option<DateTime<Utc>>) {
    if at > now + MAX_CLOCK_SKEW {
        (now, Some(at))
    } else {
        (at, None)
    }
}
