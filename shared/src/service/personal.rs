//! Personal data (README › Personal data): sealed at checkout, opened for
//! the staff view, the notifier and delivery partners, and erased per
//! customer by forgetting their key.

use serde::Serialize;

use super::{OrderService, ServiceError};
use crate::auth::Principal;
use crate::lifecycle::{Actor, Lifecycle};
use crate::order::{limits, Contact, Event, Head, OrderPlaced};
use crate::pii::{VaultError, ERASED};
use crate::ports::{KeyError, ListQuery, StoreError};
use crate::views::OrderView;

impl From<VaultError> for ServiceError {
    fn from(e: VaultError) -> Self {
        match e {
            VaultError::Store(e) => ServiceError::Store(e),
            VaultError::Key(KeyError::Unavailable(why)) => {
                ServiceError::Store(StoreError::Unavailable(why))
            }
            // A key or a field that does not open will not open on retry.
            e => ServiceError::Store(StoreError::Corrupt(e.to_string())),
        }
    }
}

/// The note an erasure leaves on each of the customer's orders.
pub const ERASURE_NOTE: &str = "Personal data erased at the customer's request";

/// What an erasure did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Erasure {
    pub customer_id: String,
    /// False when the customer had no key: nothing of theirs was sealed
    /// since the last erasure.
    pub key_erased: bool,
    /// The customer's orders, whose personal data now reads `[erased]`.
    pub orders: usize,
}

impl OrderService {
    /// Seals the checkout's personal data, when this deployment has a vault.
    pub(super) async fn seal(
        &self,
        tenant: &str,
        placed: &mut OrderPlaced,
    ) -> Result<(), ServiceError> {
        if let Some(vault) = &self.vault {
            vault.seal_placed(tenant, placed).await?;
        }
        Ok(())
    }

    /// The head with its personal data opened (erased fields read `[erased]`).
    pub(super) async fn opened(&self, mut head: Head) -> Result<Head, ServiceError> {
        if let Some(vault) = &self.vault {
            vault.open_head(&mut head).await?;
        }
        Ok(head)
    }

    /// A stored staff view (checkout's response, kept for replays: the
    /// head's fields and the view's) with its personal data opened.
    pub(super) async fn opened_body(
        &self,
        mut body: serde_json::Value,
    ) -> Result<serde_json::Value, ServiceError> {
        if self.vault.is_none() {
            return Ok(body);
        }
        let unreadable = |e: serde_json::Error| StoreError::Corrupt(e.to_string());
        let head: Head = serde_json::from_value(body.clone()).map_err(unreadable)?;
        let head = self.opened(head).await?;
        body["contact"] = serde_json::to_value(&head.contact).map_err(unreadable)?;
        if head.shipping.is_some() {
            body["shipping"] = serde_json::to_value(&head.shipping).map_err(unreadable)?;
        }
        Ok(body)
    }

    /// The staff view of an order, its personal data opened.
    pub(super) async fn staff_view(
        &self,
        head: Head,
        parked: &[Event],
        events: Option<&[Event]>,
        lifecycle: &Lifecycle,
        actor: Actor,
    ) -> Result<OrderView, ServiceError> {
        let head = self.opened(head).await?;
        Ok(OrderView::new(head, parked, events, lifecycle, actor))
    }

    /// Erases a customer's personal data at the caller's tenant (Shopify's
    /// "customer redact"): their key is forgotten, so every field sealed
    /// under it — in heads, the log, stored responses, on either store —
    /// reads `[erased]` from now on, while orders, lists and reports are
    /// untouched but for a note on each saying so. Managers and owners who
    /// see every store only; a retry after a failure erases nothing more
    /// and notes the orders again.
    pub async fn erase_customer(
        &self,
        principal: &Principal,
        customer_id: &str,
    ) -> Result<Erasure, ServiceError> {
        principal.require_manager()?;
        principal.require_all_stores()?;
        limits::id("customer_id", customer_id)?;
        let Some(vault) = &self.vault else {
            return Err(ServiceError::NotConfigured(
                "personal data is not encrypted in this deployment".into(),
            ));
        };
        let key_erased = vault.erase(&principal.tenant, customer_id).await?;
        let mut query = ListQuery {
            tenant: principal.tenant.clone(),
            customer_id: Some(customer_id.to_string()),
            limit: 200,
            ..ListQuery::default()
        };
        let mut orders = Vec::new();
        loop {
            let page = self.store.list(&query).await?;
            orders.extend(page.items.into_iter().map(|o| o.id));
            match page.next {
                Some(next) => query.after = Some(next),
                None => break,
            }
        }
        // Each order's audit log says when and by whom, in words that name
        // no one.
        for order_id in &orders {
            self.add_note(principal, order_id, ERASURE_NOTE.into())
                .await?;
        }
        let orders = orders.len();
        // The audit trail of the erasure itself; names no personal data.
        tracing::info!(
            tenant = %principal.tenant,
            customer_id,
            by = %principal.subject,
            key_erased,
            orders,
            "personal data erased"
        );
        Ok(Erasure {
            customer_id: customer_id.to_string(),
            key_erased,
            orders,
        })
    }
}

/// The contact details a message can go to: none that were erased.
pub(super) fn reachable(contact: &mut Contact) {
    for field in [&mut contact.email, &mut contact.phone] {
        if field.as_deref() == Some(ERASED) {
            *field = None;
        }
    }
}
