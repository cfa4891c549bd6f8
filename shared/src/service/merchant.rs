//! Merchant webhooks as a service: a tenant's managers register endpoints
//! and read what was delivered; each committed event opens a delivery to
//! every endpoint that wants it, and each attempt POSTs it signed, records
//! what came back and says when to try again. Where deliveries wait between
//! attempts is the deployment's: the embedded store's queue locally, SQS on
//! AWS.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use crate::auth::Principal;
use crate::bus::Envelope;
use crate::merchant::endpoint::MAX_ENDPOINTS;
use crate::merchant::{
    schedule, signature, Attempt, Delivery, DeliveryState, Endpoint, NewEndpoint, UrlPolicy,
};
use crate::metrics::{self, Metric};
use crate::notify::Message;
use crate::order::Channel;
use crate::ports::{Clock, MerchantStore, Outbound, Post};
use crate::tenants::Tenants;

use super::ServiceError;

pub struct Merchants {
    store: Arc<dyn MerchantStore>,
    post: Arc<dyn Post>,
    clock: Arc<dyn Clock>,
    policy: UrlPolicy,
    /// How a store is told its endpoint was disabled, and where: set once,
    /// by whoever sends messages in this deployment.
    telling: OnceLock<(Arc<dyn Outbound>, Arc<Tenants>)>,
}

fn no_endpoint() -> ServiceError {
    ServiceError::Missing("no such webhook endpoint".into())
}

impl Merchants {
    pub fn new(
        store: Arc<dyn MerchantStore>,
        post: Arc<dyn Post>,
        clock: Arc<dyn Clock>,
        policy: UrlPolicy,
    ) -> Self {
        Merchants {
            store,
            post,
            clock,
            policy,
            telling: OnceLock::new(),
        }
    }

    /// Emails a store (its policy's `alerts_email`) when one of its
    /// endpoints is disabled, through `outbound`. The first call counts.
    pub fn tell_through(&self, outbound: Arc<dyn Outbound>, tenants: Arc<Tenants>) {
        let _ = self.telling.set((outbound, tenants));
    }

    /// A new endpoint of the manager's tenant, with its signing secret.
    pub async fn register(
        &self,
        principal: &Principal,
        new: NewEndpoint,
    ) -> Result<Endpoint, ServiceError> {
        principal.require_manager()?;
        principal.require_all_stores()?;
        let endpoint = Endpoint::register(&principal.tenant, new, self.policy, self.clock.now())?;
        if self.store.endpoints(&principal.tenant).await?.len() >= MAX_ENDPOINTS {
            return Err(ServiceError::Invalid(format!(
                "a tenant has at most {MAX_ENDPOINTS} webhook endpoints"
            )));
        }
        self.store.add_endpoint(&endpoint).await?;
        Ok(endpoint)
    }

    pub async fn endpoints(&self, principal: &Principal) -> Result<Vec<Endpoint>, ServiceError> {
        principal.require_manager()?;
        principal.require_all_stores()?;
        Ok(self.store.endpoints(&principal.tenant).await?)
    }

    async fn endpoint(&self, principal: &Principal, id: &str) -> Result<Endpoint, ServiceError> {
        self.endpoints(principal)
            .await?
            .into_iter()
            .find(|e| e.id == id)
            .ok_or_else(no_endpoint)
    }

    pub async fn remove(&self, principal: &Principal, id: &str) -> Result<(), ServiceError> {
        principal.require_manager()?;
        principal.require_all_stores()?;
        match self.store.remove_endpoint(&principal.tenant, id).await? {
            true => Ok(()),
            false => Err(no_endpoint()),
        }
    }

    /// Turns a disabled endpoint back on (the merchant fixed it).
    pub async fn enable(&self, principal: &Principal, id: &str) -> Result<Endpoint, ServiceError> {
        let mut endpoint = self.endpoint(principal, id).await?;
        endpoint.enabled = true;
        endpoint.disabled_reason = None;
        self.store.save_endpoint(&endpoint).await?;
        Ok(endpoint)
    }

    /// An endpoint's deliveries, newest first, with every attempt.
    pub async fn deliveries(
        &self,
        principal: &Principal,
        endpoint_id: &str,
        limit: usize,
    ) -> Result<Vec<Delivery>, ServiceError> {
        self.endpoint(principal, endpoint_id).await?;
        Ok(self
            .store
            .deliveries(&principal.tenant, endpoint_id, limit)
            .await?)
    }

    /// Sends a delivery again, now, whatever its state; the attempt joins
    /// its log.
    pub async fn redeliver(
        &self,
        principal: &Principal,
        endpoint_id: &str,
        delivery_id: &str,
    ) -> Result<Delivery, ServiceError> {
        let endpoint = self.endpoint(principal, endpoint_id).await?;
        let delivery = self
            .store
            .delivery(&principal.tenant, endpoint_id, delivery_id)
            .await?
            .ok_or_else(|| ServiceError::Missing("no such delivery".into()))?;
        self.send(&endpoint, delivery).await
    }

    /// The deliveries an event brings, to attempt now: one to each
    /// endpoint of its tenant that wants it, opened once however often the
    /// event reaches us. An event that comes again brings back only the
    /// deliveries never attempted (whoever opened them stopped before).
    pub async fn open(&self, envelope: &Envelope) -> Result<Vec<Delivery>, ServiceError> {
        self.open_all(std::slice::from_ref(envelope)).await
    }

    /// [`open`](Self::open) for a batch of events, reading each tenant's
    /// endpoints once.
    pub async fn open_all(&self, envelopes: &[Envelope]) -> Result<Vec<Delivery>, ServiceError> {
        let now = self.clock.now();
        let mut endpoints: HashMap<&str, Vec<Endpoint>> = HashMap::new();
        let mut due = Vec::new();
        for envelope in envelopes {
            let tenant = envelope.tenant();
            if !endpoints.contains_key(tenant) {
                endpoints.insert(tenant, self.store.endpoints(tenant).await?);
            }
            for endpoint in &endpoints[tenant] {
                if !endpoint.wants(&envelope.detail_type) {
                    continue;
                }
                let delivery = Delivery::new(endpoint, envelope, now);
                if self.store.open_delivery(&delivery).await? {
                    due.push(delivery);
                    continue;
                }
                let open = self
                    .store
                    .delivery(&delivery.tenant, &delivery.endpoint_id, &delivery.id)
                    .await?;
                due.extend(
                    open.filter(|d| d.state == DeliveryState::Pending && d.attempts.is_empty()),
                );
            }
        }
        Ok(due)
    }

    /// A pending delivery, as stored; `None` once it is delivered or failed
    /// (or forgotten).
    pub async fn pending(
        &self,
        tenant: &str,
        endpoint_id: &str,
        id: &str,
    ) -> Result<Option<Delivery>, ServiceError> {
        let stored = self.store.delivery(tenant, endpoint_id, id).await?;
        Ok(stored.filter(|d| d.state == DeliveryState::Pending))
    }

    /// The service's time.
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.clock.now()
    }

    /// The attempt a pending delivery is due: POSTed, recorded, its next
    /// attempt scheduled. A delivery whose endpoint is gone or disabled is
    /// not sent (and not tried again).
    pub async fn attempt(&self, delivery: Delivery) -> Result<Delivery, ServiceError> {
        let endpoint = self
            .store
            .endpoints(&delivery.tenant)
            .await?
            .into_iter()
            .find(|e| e.id == delivery.endpoint_id);
        match endpoint {
            Some(endpoint) if endpoint.enabled => self.send(&endpoint, delivery).await,
            _ => {
                let mut dropped = delivery;
                dropped.next_at = None;
                dropped.state = DeliveryState::Failed;
                self.store.save_delivery(&dropped).await?;
                Ok(dropped)
            }
        }
    }

    /// One POST of `delivery` to `endpoint`, recorded; an endpoint whose
    /// delivery has failed for good is disabled, and whoever watches the
    /// metrics told.
    async fn send(
        &self,
        endpoint: &Endpoint,
        mut delivery: Delivery,
    ) -> Result<Delivery, ServiceError> {
        let at = self.clock.now();
        let signed = signature::sign(
            endpoint.secret.as_bytes(),
            at.timestamp(),
            delivery.payload.as_bytes(),
        );
        let headers = [
            (signature::HEADER, signed),
            ("webhook-id", delivery.event_id.clone()),
        ];
        let started = Instant::now();
        let posted = self
            .post
            .post(&endpoint.url, &headers, delivery.payload.as_bytes())
            .await;
        let attempt = Attempt {
            at,
            status: posted.as_ref().ok().copied(),
            latency_ms: started.elapsed().as_millis() as u64,
            error: posted.err(),
        };
        let outcome = match attempt.status {
            Some(200..=299) => "delivered",
            Some(_) => "refused",
            None => "unreachable",
        };
        metrics::count(Metric::MerchantDeliveries, outcome, 1);
        let was = delivery.state;
        delivery.record(attempt, schedule::jitter());
        self.store.save_delivery(&delivery).await?;
        if was == DeliveryState::Pending && delivery.state == DeliveryState::Failed {
            self.disable(endpoint, &delivery).await?;
        }
        Ok(delivery)
    }

    async fn disable(&self, endpoint: &Endpoint, failed: &Delivery) -> Result<(), ServiceError> {
        let mut endpoint = endpoint.clone();
        let last = failed.attempts.last();
        let why = match (
            last.and_then(|a| a.status),
            last.and_then(|a| a.error.as_deref()),
        ) {
            (Some(status), _) => format!("HTTP {status}"),
            (None, Some(error)) => error.to_string(),
            (None, None) => "no answer".to_string(),
        };
        endpoint.enabled = false;
        endpoint.disabled_reason = Some(format!(
            "every attempt to deliver {} over {} failed (last: {why})",
            failed.event_id,
            schedule::ATTEMPTS
        ));
        self.store.save_endpoint(&endpoint).await?;
        metrics::count(Metric::MerchantDeliveries, "endpoint_disabled", 1);
        tracing::warn!(tenant = %endpoint.tenant, endpoint_id = %endpoint.id, reason = ?endpoint.disabled_reason, "webhook endpoint disabled");
        self.tell(&endpoint).await;
        Ok(())
    }

    /// The store hears of it at its alerts address, if it gave one; a
    /// failure to tell is logged, the endpoint stays disabled either way.
    async fn tell(&self, endpoint: &Endpoint) {
        let Some((outbound, tenants)) = self.telling.get() else {
            return;
        };
        let policy = &tenants.settings(&endpoint.tenant).notifications;
        let Some(to) = policy.alerts_email.clone() else {
            return;
        };
        let sender = policy
            .sender
            .clone()
            .unwrap_or_else(|| endpoint.tenant.clone());
        let message = Message {
            channel: Channel::Email,
            to,
            from: sender,
            subject: Some(format!("Webhook endpoint disabled: {}", endpoint.url)),
            text: format!(
                "We stopped sending events to {} ({}).\n\n{}\n\nFix the endpoint, then turn it back on with POST /webhook-endpoints/{}/enable; the events it missed are in GET /events.\n",
                endpoint.url,
                endpoint.id,
                endpoint.disabled_reason.as_deref().unwrap_or_default(),
                endpoint.id
            ),
        };
        if let Err(e) = outbound.send(&endpoint.tenant, &message).await {
            tracing::warn!(tenant = %endpoint.tenant, error = %e, "could not tell the store its endpoint was disabled");
        }
    }
}
