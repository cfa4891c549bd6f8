//! Checkout: the one command that creates an order rather than changing
//! one, so it has no race to re-decide. Its retry story is the
//! `Idempotency-Key` instead: the same key and body give the same order and
//! the same response, the same key with another body is refused.

use sha2::{Digest, Sha256};

use super::{Checkout, OrderService, ServiceError};
use crate::auth::{Principal, Role};
use crate::hex;
use crate::order::decide;
use crate::order::OrderPlaced;
use crate::ports::{Commit, IdempotencyRecord, StoreError};
use crate::views::OrderView;

/// The result of a checkout: the order view as JSON, and whether it is a
/// replay of an earlier request with the same key.
pub struct Placed {
    pub body: serde_json::Value,
    pub replayed: bool,
}

impl OrderService {
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
        let request = request.validated().map_err(|problems| {
            let named: Vec<String> = problems.iter().map(ToString::to_string).collect();
            ServiceError::Invalid(named.join("; "))
        })?;
        // Before a replay, so a token limited to other stores learns nothing.
        let named = request.store.as_deref().or(principal.only_store());
        let store = self
            .tenants
            .settings(&principal.tenant)
            .store_for(named)
            .map_err(ServiceError::Invalid)?;
        principal.require_store(&store)?;
        let fingerprint = fingerprint(&request);
        if let Some(key) = &idempotency_key {
            if let Some(found) = self.replay(principal, key, &fingerprint).await? {
                return Ok(found);
            }
        }
        let tenant = &principal.tenant;
        // New orders take the newest version of their lifecycle.
        let name = self.tenants.lifecycle_for(tenant, request.fulfilment);
        let lifecycle = self
            .catalog
            .latest(&name)
            .ok_or(ServiceError::Store(StoreError::UnknownLifecycle(name)))?;
        let total = request
            .items
            .iter()
            .try_fold(0i64, |sum, i| {
                i.unit_price
                    .checked_mul(i64::from(i.quantity))?
                    .checked_add(sum)
            })
            .ok_or_else(|| ServiceError::Invalid("order total overflows".into()))?;
        let mut placed = OrderPlaced {
            store,
            lifecycle: lifecycle.key(),
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
        // Sealed before anything is decided: the log, the head and the
        // stored response hold only the sealed form.
        self.seal(tenant, &mut placed).await?;
        let origin = principal.origin();
        let ids = (decide::new_id("ord"), decide::new_secret_id("trk"));
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
            // Nothing can be waiting for this order: its id was made here
            // and nobody has seen it yet (see `intake`).
            Ok(()) => Ok(Placed {
                body: self.opened_body(body).await?,
                replayed: false,
            }),
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
                body: self.opened_body(found.response).await?,
                replayed: true,
            })),
            Some(_) => Err(ServiceError::IdempotencyMismatch),
            None => Ok(None),
        }
    }
}

fn fingerprint(request: &Checkout) -> String {
    let canonical = serde_json::to_vec(request).unwrap_or_default();
    hex::encode(&Sha256::digest(&canonical))
}
