//! Facts from outside: payment, carrier and delivery-partner news from the
//! webhooks, and what a carrier answers when asked again. Every look-up a
//! fact makes is scoped to the tenant whose connection it came in on, a
//! redelivery is acknowledged and changes nothing, and a fact for an order
//! or tracking code the tenant does not have yet waits for it.
//!
//! The hand-over between a waiting fact and the command that makes its
//! tracking code known is race-free: the fact is stashed, then looked for
//! again; the command commits, then reads the waiting facts. Whichever runs
//! second sees the other, and the dedupe marker lets only one apply it. An
//! order id is made at checkout and known to no one before its commit, so
//! no fact can be waiting for a new order: checkout looks for none, and a
//! fact naming an order id the tenant does not have waits until it expires.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::commands::{Attempt, OnRace, Target};
use super::{OrderService, ServiceError};
use crate::auth::Principal;
use crate::lifecycle::Lifecycle;
use crate::order::decide::{self, Decision, Origin, StatusClaim};
use crate::order::inbound::{
    normalise_tracking, rank_links, Inbound, InboundFact, Subject, TrackingCode, RECYCLED_AFTER,
};
use crate::order::{Disposition, Head};
use crate::ports::{Commit, Loaded, StoreError};
use crate::views::OrderView;

/// What became of an outside fact.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case", tag = "outcome")]
pub enum FactOutcome {
    Recorded {
        disposition: Disposition,
        status: String,
        version: u64,
    },
    Duplicate,
    /// No order (or tracking code) matches yet; kept until one does.
    Unmatched,
}

impl OrderService {
    /// Takes in a verified provider fact that arrived on `tenant`'s
    /// connection (its webhook endpoint). Every look-up it makes — dedupe
    /// marker, order, tracking code, waiting facts — is scoped to that
    /// tenant, so no fact can reach another tenant's order. A redelivery is
    /// acknowledged and changes nothing; a fact for an order or tracking code
    /// the tenant does not have yet is kept and applied as soon as it appears.
    pub async fn intake(
        &self,
        tenant: &str,
        inbound: &Inbound,
    ) -> Result<FactOutcome, ServiceError> {
        // A redelivery of a fact that is recorded is refused by the commit
        // that would record it again (its dedupe marker), so no look-up of
        // the marker goes first: one request less for every new fact.
        match self.deliver(tenant, inbound).await {
            Err(ServiceError::NotFound) => {}
            other => return other,
        }
        // None of the tenant's orders takes it now; it may still be a fact
        // recorded on one that no longer does (its code corrected since).
        let (source, external_id) = inbound_dedupe(tenant, inbound);
        if self.store.seen(&source, &external_id).await?.is_some() {
            return Ok(FactOutcome::Duplicate);
        }
        let key = inbound.subject.key(tenant);
        if !self.store.stash(&key, inbound, self.clock.now()).await? {
            return Ok(FactOutcome::Duplicate);
        }
        // The order or the code may have appeared between the look-up and
        // the stash, its own check for waiting facts already done: look
        // again. Either this second look sees the order, or the order's check
        // runs after the stash and sees the fact; if both do, the dedupe
        // marker lets exactly one of them apply it.
        match self.deliver(tenant, inbound).await {
            Err(ServiceError::NotFound) => {
                tracing::info!(%key, event_id = %inbound.event_id, "kept until its order is known");
                Ok(FactOutcome::Unmatched)
            }
            Ok(outcome) => {
                self.unstash(&key, &inbound.event_id).await;
                Ok(outcome)
            }
            Err(e) => Err(e),
        }
    }

    /// Records an outside fact (payment, carrier, delivery partner, system).
    /// A redelivery of the same `(source, external_id)` is acknowledged and
    /// changes nothing.
    pub async fn record_fact(
        &self,
        order_id: &str,
        origin: &Origin,
        claim: StatusClaim,
    ) -> Result<FactOutcome, ServiceError> {
        // A redelivery is refused by the commit's dedupe marker.
        let dedupe = origin
            .external_id
            .clone()
            .map(|id| (origin.source.clone(), id));
        self.record(
            order_id,
            dedupe,
            |_, _| true,
            |loaded, lifecycle, now| {
                decide::record_fact(
                    &loaded.head,
                    &loaded.parked,
                    lifecycle,
                    origin,
                    claim.clone(),
                    now,
                )
            },
        )
        .await
    }

    /// Asks the carrier again for every package with a tracking code, and
    /// records what it says as a carrier fact (deduplicated like a webhook).
    pub async fn refetch(
        &self,
        principal: &Principal,
        order_id: &str,
    ) -> Result<(OrderView, Vec<FactOutcome>), ServiceError> {
        principal.require_manager()?;
        // Ownership first: another tenant's order is a 404 whatever the setup.
        let loaded = self.load_owned(principal, order_id).await?;
        let carrier = self.carrier.clone().ok_or_else(|| {
            ServiceError::NotConfigured("no carrier tracking API is configured here".into())
        })?;
        let mut outcomes = Vec::new();
        for shipment in &loaded.head.shipments {
            let (Some(name), Some(code)) = (&shipment.carrier, &shipment.tracking_code) else {
                continue;
            };
            let Some(found) = carrier
                .track(name, code)
                .await
                .map_err(ServiceError::Unavailable)?
            else {
                continue;
            };
            let inbound = Inbound {
                source: "carrier:refetch".into(),
                event_id: found.event_id,
                occurred_at: found.occurred_at,
                // Asked about this order's own package: no code look-up.
                subject: Subject::Order {
                    order_id: order_id.to_string(),
                },
                fact: InboundFact::Shipment(found.news),
            };
            outcomes.push(
                self.record_inbound(&principal.tenant, order_id, &inbound)
                    .await?,
            );
        }
        let view = self.get(principal, order_id).await?;
        Ok((view, outcomes))
    }

    /// Records a provider fact on the tenant's order it is about: the order
    /// it names, or the orders its tracking code leads to, best candidate
    /// first. `NotFound` when none of the tenant's orders takes it (yet).
    pub(super) async fn deliver(
        &self,
        tenant: &str,
        inbound: &Inbound,
    ) -> Result<FactOutcome, ServiceError> {
        let candidates = match &inbound.subject {
            Subject::Order { order_id } => vec![order_id.clone()],
            Subject::Tracking { code } => {
                let links = self
                    .store
                    .find_by_tracking(tenant, &normalise_tracking(code))
                    .await?;
                let carrier = match &inbound.fact {
                    InboundFact::Shipment(news) => news.carrier.as_deref(),
                    _ => None,
                };
                rank_links(links, carrier)
                    .into_iter()
                    .map(|link| link.order_id)
                    .collect()
            }
        };
        for order_id in candidates {
            match self.record_inbound(tenant, &order_id, inbound).await {
                Err(ServiceError::NotFound) => continue,
                other => return other,
            }
        }
        Err(ServiceError::NotFound)
    }

    /// Records a provider fact on one order, if it is `tenant`'s and — for a
    /// fact found by tracking code — the code is not a recycled one.
    async fn record_inbound(
        &self,
        tenant: &str,
        order_id: &str,
        inbound: &Inbound,
    ) -> Result<FactOutcome, ServiceError> {
        // Found by code: the order must still carry the code (a corrected
        // code leaves its old link behind), and a finished order takes no news
        // dated long after it finished (carriers recycle codes).
        let code = match &inbound.subject {
            Subject::Tracking { code } => Some(normalise_tracking(code)),
            Subject::Order { .. } => None,
        };
        // News cannot have happened later than now, whatever it claims.
        let happened = inbound.occurred_at.min(self.clock.now());
        let fits = |head: &Head, lifecycle: &Lifecycle| {
            let Some(code) = &code else {
                return head.tenant == tenant;
            };
            let carries = head
                .shipments
                .iter()
                .any(|s| s.tracking_code.as_deref().map(normalise_tracking).as_ref() == Some(code));
            let recycled = lifecycle.is_terminal(&head.status)
                && happened > head.status_since + RECYCLED_AFTER;
            head.tenant == tenant && carries && !recycled
        };
        let dedupe = Some(inbound_dedupe(tenant, inbound));
        self.record(order_id, dedupe, fits, |loaded, lifecycle, now| {
            decide::record_inbound(&loaded.head, &loaded.parked, lifecycle, inbound, now)
        })
        .await
    }

    /// Decides and commits an outside fact; a dedupe hit at commit time (a
    /// redelivery, or its twin racing it) is a duplicate, acknowledged. An
    /// order that does not exist or does not `fit` the fact is `NotFound`.
    async fn record(
        &self,
        order_id: &str,
        dedupe: Option<(String, String)>,
        fits: impl Fn(&Head, &Lifecycle) -> bool,
        decide: impl Fn(&Loaded, &Lifecycle, DateTime<Utc>) -> Decision,
    ) -> Result<FactOutcome, ServiceError> {
        let recorded = self
            .run(
                Target::Any(order_id),
                OnRace::Retry,
                |loaded, lifecycle, _| {
                    if !fits(&loaded.head, lifecycle) {
                        return Err(ServiceError::NotFound);
                    }
                    let decision = decide(loaded, lifecycle, self.clock.now());
                    let outcome = FactOutcome::Recorded {
                        disposition: decision.disposition,
                        status: decision.head.status.clone(),
                        version: decision.head.version,
                    };
                    let commit = Commit {
                        dedupe: dedupe.clone(),
                        ..Commit::of(decision)
                    };
                    Ok(Attempt::Commit(Box::new(commit), outcome))
                },
            )
            .await;
        match recorded {
            Err(ServiceError::Store(StoreError::Duplicate)) => Ok(FactOutcome::Duplicate),
            other => other,
        }
    }

    /// Applies the tenant's facts that were waiting for these tracking
    /// codes; true if any was recorded on the order.
    pub(super) async fn match_tracking(
        &self,
        codes: &[TrackingCode],
        tenant: &str,
        order_id: &str,
    ) -> bool {
        let mut recorded = false;
        for code in codes {
            let subject = Subject::Tracking {
                code: code.code.clone(),
            };
            recorded |= self
                .match_stashed(tenant, &subject.key(tenant), order_id)
                .await;
        }
        recorded
    }

    /// Best effort: a fact that fails to apply stays stashed for the next
    /// try. Runs after the commit that made the code known, so a fact
    /// stashed before it started is seen here (see `intake`). True if any
    /// fact was recorded on the order.
    async fn match_stashed(&self, tenant: &str, key: &str, order_id: &str) -> bool {
        let waiting = match self.store.stashed(key).await {
            Ok(waiting) => waiting,
            Err(e) => {
                tracing::warn!(error = %e, key, "could not read waiting facts");
                return false;
            }
        };
        let mut waiting = waiting;
        waiting.sort_by(|a, b| (a.occurred_at, &a.event_id).cmp(&(b.occurred_at, &b.event_id)));
        let mut recorded = false;
        for inbound in waiting {
            match Box::pin(self.record_inbound(tenant, order_id, &inbound)).await {
                Ok(outcome) => {
                    recorded |= matches!(outcome, FactOutcome::Recorded { .. });
                    self.unstash(key, &inbound.event_id).await;
                }
                Err(e) => tracing::warn!(error = %e, key, "a waiting fact did not apply"),
            }
        }
        recorded
    }

    /// Clears a waiting fact that has been recorded; if that fails it is
    /// offered again later and acknowledged as a duplicate.
    async fn unstash(&self, key: &str, event_id: &str) {
        if let Err(e) = self.store.unstash(key, event_id).await {
            tracing::warn!(error = %e, key, "could not clear a matched fact");
        }
    }
}

/// The dedupe marker of a provider fact: per tenant, so no tenant's event
/// ids can shadow another's.
fn inbound_dedupe(tenant: &str, inbound: &Inbound) -> (String, String) {
    (
        format!("{tenant}/{}", inbound.source),
        inbound.event_id.clone(),
    )
}
