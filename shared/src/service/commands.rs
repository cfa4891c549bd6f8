//! Commands on an existing order, all of one shape ([`OrderService::run`]):
//! load the head and its parked facts, decide, commit conditionally on the
//! version read, and after a lost race decide again at most
//! [`MAX_ATTEMPTS`] times, on the order the refused write returned where
//! the store gives it. What differs between commands is how they find
//! their order ([`Target`]), what they decide, and what a lost race means
//! to them ([`OnRace`]); the staff and customer commands are here, facts
//! from outside in [`intake`](super::intake), the sweep in
//! [`sweep`](super::sweep).

use std::sync::Arc;

use super::error::rejected;
use super::requests::staff_text;
use super::{OrderService, ServiceError, TransitionRequest, MAX_ATTEMPTS};
use crate::auth::{Principal, Role};
use crate::lifecycle::Lifecycle;
use crate::order::decide::{self, Decision, Origin, ParkedAction, Rejection, StatusClaim};
use crate::order::limits;
use crate::order::{Event, Head, NotifyPrefs, TrackingInput};
use crate::ports::{Commit, Loaded, StoreError};
use crate::views::{OrderView, TrackingView};

/// How a command finds its order.
pub(super) enum Target<'a> {
    /// One of the principal's tenant's orders; anyone else's is not found.
    Owned(&'a Principal, &'a str),
    /// Any order by id: the command judges for itself whether it may touch it.
    Any(&'a str),
    /// A head already read (by the due index, which holds no parked facts):
    /// decided on as it is, read again only after a lost race.
    Read(&'a Head),
}

/// What a lost race means to a command.
#[derive(Clone, Copy, PartialEq)]
pub(super) enum OnRace {
    /// Read the order again and decide anew.
    Retry,
    /// The caller decided on a version it named: the conflict is its answer.
    Fail,
}

/// What one attempt makes of the order as read.
pub(super) enum Attempt<T> {
    /// Write this; `T` is the command's answer once it is written.
    Commit(Box<Commit>, T),
    /// Nothing to write: `T` is the answer as it stands.
    Nothing(T),
}

impl OrderService {
    /// Runs a command on an existing order: load → decide → conditional
    /// commit, re-decided after a lost race. `decide` judges the order as
    /// read, told whether an earlier attempt lost a race. A commit that
    /// attaches tracking codes then applies the facts waiting for them.
    /// Losing every attempt is a conflict naming the order's status now.
    pub(super) async fn run<T>(
        &self,
        target: Target<'_>,
        on_race: OnRace,
        decide: impl FnMut(&Loaded, &Arc<Lifecycle>, bool) -> Result<Attempt<T>, ServiceError>,
    ) -> Result<T, ServiceError> {
        Ok(self.run_then(target, on_race, decide).await?.0)
    }

    /// [`run`](Self::run), also telling whether facts waiting for the
    /// tracking codes the commit attached were applied after it: the answer,
    /// decided before them, is then behind the order.
    ///
    /// The loser of a race decides again on the order as the refused write
    /// found it, when the store returned it, and reads again only when facts
    /// are parked beside the head (they are not part of what is returned).
    pub(super) async fn run_then<T>(
        &self,
        target: Target<'_>,
        on_race: OnRace,
        mut decide: impl FnMut(&Loaded, &Arc<Lifecycle>, bool) -> Result<Attempt<T>, ServiceError>,
    ) -> Result<(T, bool), ServiceError> {
        let mut next = match target {
            Target::Read(head) => Some(Loaded {
                head: head.clone(),
                parked: Vec::new(),
            }),
            _ => None,
        };
        let mut raced = false;
        for _ in 0..MAX_ATTEMPTS {
            let loaded = match next.take() {
                Some(loaded) => loaded,
                None => self.read(&target).await?,
            };
            let lifecycle = self.lifecycle(&loaded.head.lifecycle)?;
            let (commit, answer) = match decide(&loaded, &lifecycle, raced)? {
                Attempt::Commit(commit, answer) => (commit, answer),
                Attempt::Nothing(answer) => return Ok((answer, false)),
            };
            match self.store.commit(&commit).await {
                Ok(()) => {
                    let head = &commit.head;
                    let applied = self
                        .match_tracking(&commit.tracking_codes, &head.tenant, &head.id)
                        .await;
                    // Ready for a driver (or ended with one booked): the
                    // partner is called now; what fails is the sweep's.
                    if self.partners.is_some() && super::dispatch::due(head, self.clock.now()) {
                        if let Err(e) = self.dispatch(&head.id).await {
                            tracing::warn!(order_id = %head.id, error = %e, "dispatch left to the sweep");
                        }
                    }
                    return Ok((answer, applied));
                }
                Err(StoreError::VersionConflict {
                    current,
                    status,
                    head,
                }) => {
                    if on_race == OnRace::Fail {
                        return Err(ServiceError::Conflict {
                            status,
                            version: current,
                        });
                    }
                    raced = true;
                    next = head.filter(|h| h.parked.is_empty()).map(|head| Loaded {
                        head: *head,
                        parked: Vec::new(),
                    });
                }
                Err(e) => return Err(e.into()),
            }
        }
        // Name the order as it stands now: a refused insert (rather than a
        // refused head) knows only the status it tried to write.
        let head = self.read(&target).await?.head;
        Err(ServiceError::Conflict {
            status: head.status,
            version: head.version,
        })
    }

    async fn read(&self, target: &Target<'_>) -> Result<Loaded, ServiceError> {
        let order_id = match *target {
            Target::Owned(principal, order_id) => {
                return self.load_owned(principal, order_id).await
            }
            Target::Any(order_id) => order_id,
            Target::Read(head) => &head.id,
        };
        self.store
            .load(order_id)
            .await?
            .ok_or(ServiceError::NotFound)
    }

    /// A staff move. With `expected_version` a stale view gets a 409; without
    /// it, a lost race is re-read and re-decided a bounded number of times,
    /// and a move the race made impossible is a 409 too.
    pub async fn transition(
        &self,
        principal: &Principal,
        order_id: &str,
        request: TransitionRequest,
    ) -> Result<OrderView, ServiceError> {
        principal.require_staff()?;
        let request = request.validated()?;
        self.transition_as(principal, order_id, request).await
    }

    async fn transition_as(
        &self,
        principal: &Principal,
        order_id: &str,
        request: TransitionRequest,
    ) -> Result<OrderView, ServiceError> {
        let origin = principal.origin();
        let on_race = match request.expected_version {
            Some(_) => OnRace::Fail,
            None => OnRace::Retry,
        };
        let target = Target::Owned(principal, order_id);
        let (head, parked, lifecycle) = self
            .run(target, on_race, |loaded, lifecycle, raced| {
                let claim = StatusClaim {
                    to: request.to.clone(),
                    occurred_at: self.clock.now(),
                    reason: request.reason.clone(),
                    tracking: request.tracking.clone(),
                };
                let decided = decide::transition(
                    &loaded.head,
                    &loaded.parked,
                    lifecycle,
                    &origin,
                    claim,
                    request.expected_version,
                    self.clock.now(),
                );
                let decision = match decided {
                    Ok(d) => d,
                    Err(rejection) if raced || lost_race(&rejection, &loaded.head) => {
                        return Err(ServiceError::Conflict {
                            status: loaded.head.status.clone(),
                            version: loaded.head.version,
                        })
                    }
                    Err(rejection) => {
                        let actor = principal.actor();
                        return Err(rejected(rejection, &loaded.head, lifecycle, actor));
                    }
                };
                let parked = parked_after(&loaded.parked, &decision);
                let head = decision.head.clone();
                let answer = (head, parked, lifecycle.clone());
                Ok(Attempt::Commit(Box::new(Commit::of(decision)), answer))
            })
            .await?;
        let actor = principal.actor();
        self.staff_view(head, &parked, None, &lifecycle, actor)
            .await
    }

    /// The customer cancels their order, by its public id, while its
    /// lifecycle lets the customer do so; the move is checked again by the
    /// database like any other.
    pub async fn cancel_as_customer(
        &self,
        public_id: &str,
        reason: Option<String>,
    ) -> Result<TrackingView, ServiceError> {
        let head = self.find_public(public_id).await?;
        let lifecycle = self.lifecycle(&head.lifecycle)?;
        let Some(to) = decide::customer_cancellation(&head, &lifecycle) else {
            return Err(ServiceError::Invalid(
                "this order can no longer be cancelled here; please contact the store".into(),
            ));
        };
        let reason = reason
            .filter(|r| !r.trim().is_empty())
            .unwrap_or_else(|| "cancelled by the customer".into());
        self.customer_move(&head, to, reason).await
    }

    /// Moves `head`'s order to `to` as its customer, for `reason`; the
    /// customer's view of it after.
    pub(super) async fn customer_move(
        &self,
        head: &Head,
        to: &str,
        reason: String,
    ) -> Result<TrackingView, ServiceError> {
        let request = TransitionRequest {
            to: to.to_string(),
            reason: Some(reason),
            tracking: None,
            expected_version: None,
        };
        self.transition_as(&customer_of(head), &head.id, request)
            .await?;
        self.track(&head.public_id).await
    }

    /// The customer's choices about what they are told of this order:
    /// nothing at all, or which news by which channel (kinds the order can
    /// bring, or `*`).
    pub async fn set_notify_prefs(
        &self,
        public_id: &str,
        prefs: NotifyPrefs,
    ) -> Result<TrackingView, ServiceError> {
        let head = self.find_public(public_id).await?;
        let lifecycle = self.lifecycle(&head.lifecycle)?;
        let policy = &self.tenants.settings(&head.tenant).notifications;
        let known = crate::notify::settings(&head, &lifecycle, policy).news;
        for (field, kinds) in [("email", &prefs.email), ("sms", &prefs.sms)] {
            let kinds = kinds.as_deref().unwrap_or_default();
            if kinds.len() > known.len() + 1 || kinds.iter().any(|k| k != "*" && !known.contains(k))
            {
                return Err(ServiceError::Invalid(format!(
                    "{field} must list kinds of news among *, {}",
                    known.join(", ")
                )));
            }
        }
        let origin = customer_of(&head).origin();
        let now = self.clock.now();
        self.run(
            Target::Any(&head.id),
            OnRace::Retry,
            |loaded, lifecycle, _| {
                let decision =
                    decide::set_notify_prefs(&loaded.head, lifecycle, &origin, prefs.clone(), now);
                Ok(Attempt::Commit(Box::new(Commit::of(decision)), ()))
            },
        )
        .await?;
        self.track(public_id).await
    }

    /// Runs a staff command that is not a transition (tracking, notes,
    /// flags, parked facts). The view shows the order as the command left
    /// it, or, when facts waiting for a tracking code it attached applied
    /// after it, as they left it (read again only then).
    pub(super) async fn staff_command(
        &self,
        principal: &Principal,
        order_id: &str,
        decide: impl Fn(&Loaded, &Lifecycle, &Origin) -> Result<Decision, Rejection>,
    ) -> Result<OrderView, ServiceError> {
        let target = Target::Owned(principal, order_id);
        let ((head, parked, lifecycle), applied) = self
            .run_then(target, OnRace::Retry, |loaded, lifecycle, raced| {
                let decision = decide(loaded, lifecycle, &principal.origin()).map_err(|r| {
                    // Refused only because someone else got there first
                    // (acknowledged the issue, resolved the flags): the
                    // race's loser is told so.
                    if raced {
                        return ServiceError::Conflict {
                            status: loaded.head.status.clone(),
                            version: loaded.head.version,
                        };
                    }
                    rejected(r, &loaded.head, lifecycle, principal.actor())
                })?;
                let answer = (
                    decision.head.clone(),
                    parked_after(&loaded.parked, &decision),
                    lifecycle.clone(),
                );
                Ok(Attempt::Commit(Box::new(Commit::of(decision)), answer))
            })
            .await?;
        let (head, parked) = match applied {
            true => {
                let loaded = self.load_owned(principal, order_id).await?;
                (loaded.head, loaded.parked)
            }
            false => (head, parked),
        };
        self.staff_view(head, &parked, None, &lifecycle, principal.actor())
            .await
    }

    /// Staff add (or give late) a package's tracking code.
    pub async fn add_tracking(
        &self,
        principal: &Principal,
        order_id: &str,
        tracking: TrackingInput,
    ) -> Result<OrderView, ServiceError> {
        principal.require_staff()?;
        let tracking = tracking.validated()?;
        let now = self.clock.now();
        self.staff_command(principal, order_id, |loaded, lifecycle, origin| {
            decide::add_tracking(&loaded.head, lifecycle, origin, tracking.clone(), now)
        })
        .await
    }

    /// Managers correct a package's tracking code.
    pub async fn correct_tracking(
        &self,
        principal: &Principal,
        order_id: &str,
        shipment_id: &str,
        tracking: TrackingInput,
    ) -> Result<OrderView, ServiceError> {
        principal.require_manager()?;
        limits::id("shipment id", shipment_id)?;
        let tracking = tracking.validated()?;
        let now = self.clock.now();
        self.staff_command(principal, order_id, |loaded, lifecycle, origin| {
            decide::correct_tracking(
                &loaded.head,
                lifecycle,
                origin,
                shipment_id,
                tracking.clone(),
                now,
            )
        })
        .await
    }

    pub async fn add_note(
        &self,
        principal: &Principal,
        order_id: &str,
        text: String,
    ) -> Result<OrderView, ServiceError> {
        principal.require_staff()?;
        let text = staff_text("text", &text)?;
        let now = self.clock.now();
        self.staff_command(principal, order_id, |loaded, lifecycle, origin| {
            Ok(decide::add_note(
                &loaded.head,
                lifecycle,
                origin,
                text.clone(),
                now,
            ))
        })
        .await
    }

    pub async fn resolve_flags(
        &self,
        principal: &Principal,
        order_id: &str,
        reason: String,
    ) -> Result<OrderView, ServiceError> {
        principal.require_manager()?;
        let reason = staff_text("reason", &reason)?;
        let now = self.clock.now();
        self.staff_command(principal, order_id, |loaded, lifecycle, origin| {
            decide::resolve_flags(&loaded.head, lifecycle, origin, reason.clone(), now)
        })
        .await
    }

    /// Managers apply or discard a parked fact.
    pub async fn settle_parked(
        &self,
        principal: &Principal,
        order_id: &str,
        event_id: &str,
        action: ParkedAction,
        reason: String,
    ) -> Result<OrderView, ServiceError> {
        principal.require_manager()?;
        limits::id("event id", event_id)?;
        let reason = staff_text("reason", &reason)?;
        let now = self.clock.now();
        self.staff_command(principal, order_id, |loaded, lifecycle, origin| {
            decide::settle_parked(
                &loaded.head,
                &loaded.parked,
                lifecycle,
                origin,
                decide::Settlement {
                    event_id: event_id.to_string(),
                    action,
                    reason: reason.clone(),
                },
                now,
            )
        })
        .await
    }
}

/// The facts left parked once `decision` is committed: what the view shows.
fn parked_after(parked: &[Event], decision: &Decision) -> Vec<Event> {
    let mut left: Vec<Event> = parked
        .iter()
        .filter(|p| !decision.unpark.iter().any(|u| u.event_id == p.event_id))
        .cloned()
        .collect();
    left.extend(decision.park.iter().cloned());
    left
}

/// A stale version, or a move to where the order already is (a second click
/// on the same button), means someone else got there first: a conflict, not
/// an illegal request.
fn lost_race(rejection: &Rejection, head: &Head) -> bool {
    match rejection {
        Rejection::VersionConflict { .. } => true,
        Rejection::Illegal { target, .. } => *target == head.status,
        _ => false,
    }
}

/// The order's customer, as whoever holds its public id acts.
pub(super) fn customer_of(head: &Head) -> Principal {
    Principal {
        tenant: head.tenant.clone(),
        role: Role::Customer,
        subject: head.customer_id.clone(),
        stores: None,
    }
}
