//! The application service every function calls: it loads, decides, commits
//! and retries. It owns the rules that are not pure (tenancy, idempotency,
//! concurrency); the decisions themselves are in `order::decide`.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::auth::{Principal, Role};
use crate::lifecycle::{Actor, Catalog, FulfilmentType, Lifecycle};
use crate::order::deadlines;
use crate::order::decide::{self, Decision, NextAction, Origin, Rejection, StatusClaim};
use crate::order::inbound::{
    normalise_tracking, rank_links, Inbound, InboundFact, Subject, TrackingCode, RECYCLED_AFTER,
};
use crate::order::limits;
use crate::order::{
    Contact, Disposition, Event, FlagKind, Head, LineItem, OrderPlaced, OrderSummary,
    ShippingSnapshot, TrackingInput,
};
use crate::ports::{
    CarrierClient, Clock, Commit, IdempotencyRecord, ListQuery, Loaded, OrderStore, Page,
    StoreError,
};
use crate::report::{self, ReportPeriod, SlaReport};
use crate::tenants::Tenants;
use crate::views::{OrderView, TrackingView};
use chrono::{DateTime, Utc};

/// How many times a command re-reads and re-decides after losing a race.
pub const MAX_ATTEMPTS: usize = 5;
/// Upper bound on events read to build a view.
const MAX_LOG: usize = 10_000;

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("order not found")]
    NotFound,
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{}", .0.rejection)]
    Rejected(Box<Refusal>),
    #[error("the order changed while this request was being handled; it is now {status} at version {version}")]
    Conflict { status: String, version: u64 },
    #[error("this Idempotency-Key was already used with a different request")]
    IdempotencyMismatch,
    #[error("{0}")]
    Unavailable(String),
    /// A feature this deployment has not been set up for: a state of its
    /// configuration, not an outage.
    #[error("{0}")]
    NotConfigured(String),
    #[error(transparent)]
    Store(StoreError),
}

/// What one sweep did.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct SweepReport {
    /// Orders the due index returned: the sweep reads nothing else.
    pub read: usize,
    pub orders_flagged: usize,
    pub flags_raised: usize,
    /// Due, but already flagged by someone else in the meantime.
    pub unchanged: usize,
}

/// One order in the health view.
#[derive(Clone, Debug, Serialize)]
pub struct HealthEntry {
    pub id: String,
    pub public_id: String,
    pub status: String,
    pub customer_id: String,
    /// Minutes since the oldest open flag (or the missed deadline).
    pub age_minutes: i64,
    pub issues: Vec<HealthIssue>,
}

#[derive(Clone, Debug, Serialize)]
pub struct HealthIssue {
    pub kind: FlagKind,
    pub reason: String,
    pub level: u32,
    pub raised_at: DateTime<Utc>,
    pub suggested_actions: Vec<&'static str>,
}

impl HealthEntry {
    fn new(head: &Head, lifecycle: &Lifecycle, now: DateTime<Utc>) -> Self {
        let mut issues: Vec<HealthIssue> = head
            .flags
            .iter()
            .map(|f| HealthIssue {
                kind: f.kind,
                reason: f.reason.clone(),
                level: f.level,
                raised_at: f.raised_at,
                suggested_actions: match (&f.cause, f.kind) {
                    (Some(cause), _) => cause.suggested_actions().to_vec(),
                    (None, FlagKind::DeliveryException) => {
                        vec!["refetch_carrier", "note", "resolve"]
                    }
                    (None, _) => vec!["resolve", "advance", "note"],
                },
            })
            .collect();
        // Overdue, but the sweep has not been round yet.
        for (deadline, _) in deadlines::overdue(head, lifecycle, now) {
            if head
                .flags
                .iter()
                .all(|f| f.cause.as_ref() != Some(&deadline.reason))
            {
                issues.push(HealthIssue {
                    kind: deadline.reason.flag(),
                    reason: deadline
                        .reason
                        .describe((now - deadline.since).num_minutes()),
                    level: 0,
                    raised_at: deadline.at,
                    suggested_actions: deadline.reason.suggested_actions().to_vec(),
                });
            }
        }
        let oldest = issues.iter().map(|i| i.raised_at).min().unwrap_or(now);
        HealthEntry {
            id: head.id.clone(),
            public_id: head.public_id.clone(),
            status: head.status.clone(),
            customer_id: head.customer_id.clone(),
            age_minutes: (now - oldest).num_minutes(),
            issues,
        }
    }
}

impl From<StoreError> for ServiceError {
    fn from(e: StoreError) -> Self {
        ServiceError::Store(e)
    }
}

/// A command the rules refused, with what the caller may do instead.
#[derive(Debug)]
pub struct Refusal {
    pub rejection: Rejection,
    pub status: String,
    pub version: u64,
    pub allowed: Vec<NextAction>,
}

/// The checkout request body.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Checkout {
    pub customer_id: String,
    pub currency: String,
    pub fulfilment: FulfilmentType,
    pub items: Vec<LineItem>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipping: Option<ShippingSnapshot>,
    #[serde(default)]
    pub contact: Contact,
}

/// A staff transition request body.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransitionRequest {
    pub to: String,
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub tracking: Option<TrackingInput>,
    #[serde(default)]
    pub expected_version: Option<u64>,
}

/// What became of an outside fact.
#[derive(Clone, Debug, PartialEq, Serialize)]
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

/// The result of a checkout: the order view as JSON, and whether it is a
/// replay of an earlier request with the same key.
pub struct Placed {
    pub body: serde_json::Value,
    pub replayed: bool,
}

pub struct OrderService {
    store: Arc<dyn OrderStore>,
    carrier: Option<Arc<dyn CarrierClient>>,
    catalog: Arc<Catalog>,
    tenants: Arc<Tenants>,
    clock: Arc<dyn Clock>,
}

impl OrderService {
    pub fn new(
        store: Arc<dyn OrderStore>,
        catalog: Arc<Catalog>,
        tenants: Arc<Tenants>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        OrderService {
            store,
            carrier: None,
            catalog,
            tenants,
            clock,
        }
    }

    /// Lets managers re-fetch packages' status from the carriers.
    pub fn with_carrier(mut self, carrier: Arc<dyn CarrierClient>) -> Self {
        self.carrier = Some(carrier);
        self
    }

    pub fn store(&self) -> &Arc<dyn OrderStore> {
        &self.store
    }

    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// The service's time (injected in tests).
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    fn lifecycle(&self, name: &str) -> Result<Arc<Lifecycle>, ServiceError> {
        self.catalog
            .get(name)
            .ok_or_else(|| ServiceError::Store(StoreError::UnknownLifecycle(name.to_string())))
    }

    /// Checkout. With an idempotency key, the same key and body give the same
    /// order (and the same response); the same key with another body is refused.
    pub async fn place(
        &self,
        principal: &Principal,
        mut request: Checkout,
        idempotency_key: Option<String>,
    ) -> Result<Placed, ServiceError> {
        if principal.role == Role::Customer {
            request.customer_id = principal.subject.clone();
        }
        validate_checkout(&request)?;
        let fingerprint = fingerprint(&request);
        if let Some(key) = &idempotency_key {
            if let Some(found) = self.replay(principal, key, &fingerprint).await? {
                return Ok(found);
            }
        }
        let tenant = &principal.tenant;
        let lifecycle = self.lifecycle(&self.tenants.lifecycle_for(tenant, request.fulfilment))?;
        let total = request
            .items
            .iter()
            .try_fold(0i64, |sum, i| {
                i.unit_price
                    .checked_mul(i64::from(i.quantity))?
                    .checked_add(sum)
            })
            .ok_or_else(|| ServiceError::Invalid("order total overflows".into()))?;
        let placed = OrderPlaced {
            lifecycle: lifecycle.name().to_string(),
            fulfilment: request.fulfilment,
            status: lifecycle.initial().to_string(),
            customer_id: request.customer_id,
            currency: request.currency,
            items: request.items,
            total,
            shipping: request.shipping,
            contact: request.contact,
            policy: self.tenants.settings(tenant).policy(),
        };
        let origin = principal.origin();
        let ids = (decide::new_id("ord"), decide::new_id("trk"));
        let decision =
            decide::place_order(ids, tenant, placed, &origin, &lifecycle, self.clock.now());
        let view = OrderView::new(
            decision.head.clone(),
            &[],
            Some(decision.events.as_slice()),
            &lifecycle,
            principal.actor(),
        );
        let body = serde_json::to_value(&view).map_err(|e| ServiceError::Invalid(e.to_string()))?;
        let order_id = decision.head.id.clone();
        let idempotency = idempotency_key.as_ref().map(|key| IdempotencyRecord {
            tenant: tenant.clone(),
            key: key.clone(),
            fingerprint: fingerprint.clone(),
            order_id: decision.head.id.clone(),
            response: body.clone(),
            created_at: decision.head.created_at,
        });
        match self
            .store
            .commit(&Commit {
                idempotency,
                ..Commit::of(decision)
            })
            .await
        {
            Ok(()) => {
                let subject = Subject::Order {
                    order_id: order_id.clone(),
                };
                self.match_stashed(tenant, &subject.key(tenant), &order_id)
                    .await;
                Ok(Placed {
                    body,
                    replayed: false,
                })
            }
            // Lost a race with the same key: answer as the winner did.
            Err(StoreError::IdempotencyKeyTaken) => {
                let key = idempotency_key.unwrap_or_default();
                self.replay(principal, &key, &fingerprint)
                    .await?
                    .ok_or(ServiceError::Store(StoreError::IdempotencyKeyTaken))
            }
            Err(e) => Err(e.into()),
        }
    }

    async fn replay(
        &self,
        principal: &Principal,
        key: &str,
        fingerprint: &str,
    ) -> Result<Option<Placed>, ServiceError> {
        match self.store.idempotency(&principal.tenant, key).await? {
            Some(found) if found.fingerprint == fingerprint => Ok(Some(Placed {
                body: found.response,
                replayed: true,
            })),
            Some(_) => Err(ServiceError::IdempotencyMismatch),
            None => Ok(None),
        }
    }

    /// Loads an order the principal's tenant owns; anyone else's is a 404.
    async fn load_owned(
        &self,
        principal: &Principal,
        order_id: &str,
    ) -> Result<Loaded, ServiceError> {
        limits::id("order id", order_id)?;
        match self.store.load(order_id).await? {
            Some(loaded) if loaded.head.tenant == principal.tenant => Ok(loaded),
            _ => Err(ServiceError::NotFound),
        }
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
        let mut raced = false;
        for _ in 0..MAX_ATTEMPTS {
            let loaded = self.load_owned(principal, order_id).await?;
            let lifecycle = self.lifecycle(&loaded.head.lifecycle)?;
            let claim = StatusClaim {
                to: request.to.clone(),
                occurred_at: self.clock.now(),
                reason: request.reason.clone(),
                tracking: request.tracking.clone(),
            };
            let decided = decide::transition(
                &loaded.head,
                &loaded.parked,
                &lifecycle,
                &origin,
                claim,
                request.expected_version,
                self.clock.now(),
            );
            let decision = match decided {
                Ok(d) => d,
                Err(rejection) if raced || lost_race(&rejection, &loaded.head) => {
                    return Err(ServiceError::Conflict {
                        status: loaded.head.status,
                        version: loaded.head.version,
                    })
                }
                Err(rejection) => {
                    return Err(rejected(
                        rejection,
                        &loaded.head,
                        &lifecycle,
                        principal.actor(),
                    ))
                }
            };
            let mut parked = loaded.parked;
            parked.retain(|p| !decision.unpark.iter().any(|u| u.event_id == p.event_id));
            parked.extend(decision.park.iter().cloned());
            let head = decision.head.clone();
            let codes = decision.tracking_codes.clone();
            match self.store.commit(&Commit::of(decision)).await {
                Ok(()) => {
                    self.match_tracking(&codes, &head.tenant, &head.id).await;
                    let actor = principal.actor();
                    return Ok(OrderView::new(head, &parked, None, &lifecycle, actor));
                }
                Err(StoreError::VersionConflict { current, status }) => {
                    if request.expected_version.is_some() {
                        return Err(ServiceError::Conflict {
                            status,
                            version: current,
                        });
                    }
                    raced = true;
                }
                Err(e) => return Err(e.into()),
            }
        }
        let head = self.load_owned(principal, order_id).await?.head;
        Err(ServiceError::Conflict {
            status: head.status,
            version: head.version,
        })
    }

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
        let (source, external_id) = inbound_dedupe(tenant, inbound);
        if self.store.seen(&source, &external_id).await?.is_some() {
            return Ok(FactOutcome::Duplicate);
        }
        match self.deliver(tenant, inbound).await {
            Err(ServiceError::NotFound) => {}
            other => return other,
        }
        let key = inbound.subject.key(tenant);
        if !self.store.stash(&key, inbound).await? {
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

    /// Records a provider fact on the tenant's order it is about: the order
    /// it names, or the orders its tracking code leads to, best candidate
    /// first. `NotFound` when none of the tenant's orders takes it (yet).
    async fn deliver(&self, tenant: &str, inbound: &Inbound) -> Result<FactOutcome, ServiceError> {
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

    /// Decides and commits an outside fact, re-deciding after a lost race; a
    /// dedupe hit at commit time is a duplicate, acknowledged. An order that
    /// does not exist or does not `fit` the fact is `NotFound`.
    async fn record(
        &self,
        order_id: &str,
        dedupe: Option<(String, String)>,
        fits: impl Fn(&Head, &Lifecycle) -> bool,
        decide: impl Fn(&Loaded, &Lifecycle, DateTime<Utc>) -> Decision,
    ) -> Result<FactOutcome, ServiceError> {
        let mut current = None;
        for _ in 0..MAX_ATTEMPTS {
            let loaded = self
                .store
                .load(order_id)
                .await?
                .ok_or(ServiceError::NotFound)?;
            let lifecycle = self.lifecycle(&loaded.head.lifecycle)?;
            if !fits(&loaded.head, &lifecycle) {
                return Err(ServiceError::NotFound);
            }
            let decision = decide(&loaded, &lifecycle, self.clock.now());
            let outcome = FactOutcome::Recorded {
                disposition: decision.disposition,
                status: decision.head.status.clone(),
                version: decision.head.version,
            };
            let codes = decision.tracking_codes.clone();
            let tenant = decision.head.tenant.clone();
            let commit = Commit {
                dedupe: dedupe.clone(),
                ..Commit::of(decision)
            };
            match self.store.commit(&commit).await {
                Ok(()) => {
                    self.match_tracking(&codes, &tenant, order_id).await;
                    return Ok(outcome);
                }
                Err(StoreError::Duplicate) => return Ok(FactOutcome::Duplicate),
                Err(StoreError::VersionConflict { current: v, status }) => {
                    current = Some((status, v));
                }
                Err(e) => return Err(e.into()),
            }
        }
        let (status, version) = current.unwrap_or_default();
        Err(ServiceError::Conflict { status, version })
    }

    /// Applies the tenant's facts that were waiting for these tracking codes.
    async fn match_tracking(&self, codes: &[TrackingCode], tenant: &str, order_id: &str) {
        for code in codes {
            let subject = Subject::Tracking {
                code: code.code.clone(),
            };
            self.match_stashed(tenant, &subject.key(tenant), order_id)
                .await;
        }
    }

    /// Best effort: a fact that fails to apply stays stashed for the next
    /// try. Runs after the commit that made the order or code known, so a
    /// fact stashed before it started is seen here (see `intake`).
    async fn match_stashed(&self, tenant: &str, key: &str, order_id: &str) {
        let waiting = match self.store.stashed(key).await {
            Ok(waiting) => waiting,
            Err(e) => {
                tracing::warn!(error = %e, key, "could not read waiting facts");
                return;
            }
        };
        let mut waiting = waiting;
        waiting.sort_by(|a, b| (a.occurred_at, &a.event_id).cmp(&(b.occurred_at, &b.event_id)));
        for inbound in waiting {
            match Box::pin(self.record_inbound(tenant, order_id, &inbound)).await {
                Ok(_) => self.unstash(key, &inbound.event_id).await,
                Err(e) => tracing::warn!(error = %e, key, "a waiting fact did not apply"),
            }
        }
    }

    /// Clears a waiting fact that has been recorded; if that fails it is
    /// offered again later and acknowledged as a duplicate.
    async fn unstash(&self, key: &str, event_id: &str) {
        if let Err(e) = self.store.unstash(key, event_id).await {
            tracing::warn!(error = %e, key, "could not clear a matched fact");
        }
    }

    /// Runs a staff command that is not a transition (tracking, notes,
    /// flags, parked facts): decided on the order as read, committed
    /// conditionally, re-decided after a lost race. The view returned is read
    /// after any facts the command let through have applied.
    async fn staff_command(
        &self,
        principal: &Principal,
        order_id: &str,
        decide: impl Fn(&Loaded, &Lifecycle, &Origin) -> Result<Decision, Rejection>,
    ) -> Result<OrderView, ServiceError> {
        for _ in 0..MAX_ATTEMPTS {
            let loaded = self.load_owned(principal, order_id).await?;
            let lifecycle = self.lifecycle(&loaded.head.lifecycle)?;
            let decision = decide(&loaded, &lifecycle, &principal.origin())
                .map_err(|r| rejected(r, &loaded.head, &lifecycle, principal.actor()))?;
            let codes = decision.tracking_codes.clone();
            match self.store.commit(&Commit::of(decision)).await {
                Ok(()) => {
                    self.match_tracking(&codes, &principal.tenant, order_id)
                        .await;
                    let loaded = self.load_owned(principal, order_id).await?;
                    let actor = principal.actor();
                    return Ok(OrderView::new(
                        loaded.head,
                        &loaded.parked,
                        None,
                        &lifecycle,
                        actor,
                    ));
                }
                Err(StoreError::VersionConflict { .. }) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        let head = self.load_owned(principal, order_id).await?.head;
        Err(ServiceError::Conflict {
            status: head.status,
            version: head.version,
        })
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
        let text = required_text(&text, "text")?;
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
        let reason = required_text(&reason, "reason")?;
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
        action: decide::ParkedAction,
        reason: String,
    ) -> Result<OrderView, ServiceError> {
        principal.require_manager()?;
        limits::id("event id", event_id)?;
        let reason = required_text(&reason, "reason")?;
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

    /// One sweep over the overdue orders: each gets a flag per overdue reason.
    /// Reads only what the due index returns; safe to run concurrently.
    pub async fn sweep(&self, limit: usize) -> Result<SweepReport, ServiceError> {
        let now = self.clock.now();
        let due = self.store.due(now, limit).await?;
        let mut report = SweepReport {
            read: due.len(),
            ..SweepReport::default()
        };
        for head in due {
            let mut current = Some(head);
            for _ in 0..MAX_ATTEMPTS {
                let Some(head) = current.take() else { break };
                let lifecycle = self.lifecycle(&head.lifecycle)?;
                let Some(decision) = decide::sweep(&head, &lifecycle, now) else {
                    report.unchanged += 1;
                    break;
                };
                let raised = decision.events.len();
                match self.store.commit(&Commit::of(decision)).await {
                    Ok(()) => {
                        report.flags_raised += raised;
                        report.orders_flagged += 1;
                    }
                    // Another sweep or command got there first: look again.
                    Err(StoreError::VersionConflict { .. }) => {
                        current = self.store.load(&head.id).await?.map(|l| l.head);
                    }
                    Err(e) => return Err(e.into()),
                }
            }
        }
        Ok(report)
    }

    /// The SLA report over the tenant's orders placed in the period. It reads
    /// each of them: fine for a store's day or month; a bigger history would
    /// aggregate from the event bus instead.
    pub async fn report(
        &self,
        principal: &Principal,
        period: ReportPeriod,
    ) -> Result<SlaReport, ServiceError> {
        principal.require_manager()?;
        if period.from >= period.to {
            return Err(ServiceError::Invalid("from must be before to".into()));
        }
        let mut query = ListQuery {
            tenant: principal.tenant.clone(),
            limit: 200,
            ..ListQuery::default()
        };
        let mut heads = Vec::new();
        loop {
            let page = self.store.list(&query).await?;
            for summary in page.items.iter().filter(|s| period.contains(s.created_at)) {
                if let Some(loaded) = self.store.load(&summary.id).await? {
                    heads.push(loaded.head);
                }
            }
            // Newest first: once a page is entirely older than the period, stop.
            let done = page.items.iter().all(|s| s.updated_at < period.from);
            match page.next {
                Some(next) if !done => query.after = Some(next),
                _ => break,
            }
        }
        Ok(report::sla_report(
            &principal.tenant,
            &heads,
            &self.catalog,
            &period,
            self.clock.now(),
        ))
    }

    /// The health view: stalled and needs-review orders with why, how long,
    /// and what staff can do.
    pub async fn health(&self, principal: &Principal) -> Result<Vec<HealthEntry>, ServiceError> {
        principal.require_manager()?;
        let now = self.clock.now();
        let mut query = ListQuery {
            tenant: principal.tenant.clone(),
            stalled: Some(true),
            now: Some(now),
            limit: 200,
            ..ListQuery::default()
        };
        let mut entries = Vec::new();
        loop {
            let page = self.store.list(&query).await?;
            for summary in page.items {
                let Some(loaded) = self.store.load(&summary.id).await? else {
                    continue;
                };
                let lifecycle = self.lifecycle(&loaded.head.lifecycle)?;
                entries.push(HealthEntry::new(&loaded.head, &lifecycle, now));
            }
            match page.next {
                Some(next) => query.after = Some(next),
                None => break,
            }
        }
        entries.sort_by_key(|e| std::cmp::Reverse(e.age_minutes));
        Ok(entries)
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
        let dedupe = origin
            .external_id
            .clone()
            .map(|id| (origin.source.clone(), id));
        if let Some((source, id)) = &dedupe {
            if self.store.seen(source, id).await?.is_some() {
                return Ok(FactOutcome::Duplicate);
            }
        }
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

    pub async fn get(
        &self,
        principal: &Principal,
        order_id: &str,
    ) -> Result<OrderView, ServiceError> {
        principal.require_staff()?;
        let loaded = self.load_owned(principal, order_id).await?;
        let lifecycle = self.lifecycle(&loaded.head.lifecycle)?;
        let events = self.store.events(order_id, 0, MAX_LOG).await?;
        Ok(OrderView::new(
            loaded.head,
            &loaded.parked,
            Some(&events),
            &lifecycle,
            principal.actor(),
        ))
    }

    /// The audit log, oldest first, paged by sequence number.
    pub async fn events(
        &self,
        principal: &Principal,
        order_id: &str,
        after: u64,
        limit: usize,
    ) -> Result<Vec<Event>, ServiceError> {
        principal.require_staff()?;
        self.load_owned(principal, order_id).await?;
        Ok(self.store.events(order_id, after, limit).await?)
    }

    pub async fn list(
        &self,
        principal: &Principal,
        mut query: ListQuery,
    ) -> Result<Page<OrderSummary>, ServiceError> {
        principal.require_staff()?;
        crate::input::list_filters(&query)?;
        query.tenant = principal.tenant.clone();
        query.now = Some(self.clock.now());
        Ok(self.store.list(&query).await?)
    }

    /// The customer answers the store's proposed substitutions (seed 004):
    /// approved moves on, rejected sends the order back to picking. The
    /// unguessable public id is the customer's capability.
    pub async fn answer_substitutions(
        &self,
        public_id: &str,
        approve: bool,
    ) -> Result<TrackingView, ServiceError> {
        limits::id("public id", public_id)?;
        let head = self
            .store
            .find_by_public_id(public_id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        let customer = Principal {
            tenant: head.tenant.clone(),
            role: Role::Customer,
            subject: head.customer_id.clone(),
        };
        let request = TransitionRequest {
            to: if approve {
                "substitutions_approved"
            } else {
                "picking_in_progress"
            }
            .into(),
            reason: Some(
                if approve {
                    "customer approved"
                } else {
                    "customer rejected"
                }
                .into(),
            ),
            tracking: None,
            expected_version: None,
        };
        if head.status != "substitutions_needed" {
            return Err(ServiceError::Invalid(
                "there are no substitutions waiting for an answer".into(),
            ));
        }
        self.transition_as(&customer, &head.id, request).await?;
        self.track(public_id).await
    }

    /// The customer's view, by public id only.
    pub async fn track(&self, public_id: &str) -> Result<TrackingView, ServiceError> {
        limits::id("public id", public_id)?;
        let head = self
            .store
            .find_by_public_id(public_id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        let lifecycle = self.lifecycle(&head.lifecycle)?;
        let events = self.store.events(&head.id, 0, MAX_LOG).await?;
        Ok(TrackingView::new(&head, &events, &lifecycle))
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

fn rejected(
    rejection: Rejection,
    head: &Head,
    lifecycle: &Lifecycle,
    actor: Actor,
) -> ServiceError {
    ServiceError::Rejected(Box::new(Refusal {
        rejection,
        status: head.status.clone(),
        version: head.version,
        allowed: decide::next_actions(head, lifecycle, actor),
    }))
}

fn fingerprint(request: &Checkout) -> String {
    let canonical = serde_json::to_vec(request).unwrap_or_default();
    let digest = Sha256::digest(&canonical);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

fn required_text(text: &str, field: &str) -> Result<String, ServiceError> {
    Ok(limits::required_text(field, text, limits::MAX_REASON)?)
}

fn validate_checkout(request: &Checkout) -> Result<(), ServiceError> {
    let mut problems = Vec::new();
    let text_ok = |s: &str, max: usize| !s.trim().is_empty() && s.len() <= max;
    if !text_ok(&request.customer_id, 128) {
        problems.push("customer_id must be 1-128 characters".to_string());
    }
    if request.currency.len() != 3 || !request.currency.bytes().all(|b| b.is_ascii_uppercase()) {
        problems.push("currency must be an ISO 4217 code such as CAD".to_string());
    }
    if request.items.is_empty() || request.items.len() > 200 {
        problems.push("items must hold 1-200 lines".to_string());
    }
    for (i, item) in request.items.iter().enumerate() {
        if !text_ok(&item.sku, 128) || !text_ok(&item.name, 300) {
            problems.push(format!("items[{i}]: sku and name are required"));
        }
        if item.unit_price < 0 {
            problems.push(format!("items[{i}]: unit_price cannot be negative"));
        }
        if item.quantity == 0 || item.quantity > 10_000 {
            problems.push(format!("items[{i}]: quantity must be 1-10000"));
        }
    }
    let needs_address = matches!(
        request.fulfilment,
        FulfilmentType::Shipping | FulfilmentType::LocalDelivery
    );
    match &request.shipping {
        None if needs_address => problems
            .push("shipping (method, name, address) is required for this fulfilment type".into()),
        Some(s) => {
            let a = &s.address;
            if !text_ok(&s.method, 100) || !text_ok(&s.name, 200) {
                problems.push("shipping.method and shipping.name are required".into());
            }
            if !text_ok(&a.line1, 300) || !text_ok(&a.city, 100) || !text_ok(&a.postal_code, 20) {
                problems.push("shipping.address needs line1, city and postal_code".into());
            }
            if a.country.len() != 2 || !a.country.bytes().all(|b| b.is_ascii_uppercase()) {
                problems.push("shipping.address.country must be an ISO 3166 alpha-2 code".into());
            }
            if a.line2.as_ref().is_some_and(|l| l.len() > 300) {
                problems.push("shipping.address.line2 must be at most 300 characters".into());
            }
            if a.region.as_ref().is_some_and(|r| r.len() > 100) {
                problems.push("shipping.address.region must be at most 100 characters".into());
            }
        }
        None => {}
    }
    // RFC 5321 caps an address at 254; E.164 numbers are 15 digits, written
    // with a few separators.
    if request
        .contact
        .email
        .as_ref()
        .is_some_and(|e| e.len() > 254)
    {
        problems.push("contact.email must be at most 254 characters".into());
    }
    if request.contact.phone.as_ref().is_some_and(|p| p.len() > 40) {
        problems.push("contact.phone must be at most 40 characters".into());
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(ServiceError::Invalid(problems.join("; ")))
    }
}
