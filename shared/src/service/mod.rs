//! The application service every function calls: it loads, decides, commits
//! and retries. It owns the rules that are not pure (tenancy, idempotency,
//! concurrency); the decisions themselves are in `order::decide`.
//!
//! - [`requests`]: what callers send, and the checks it passes first;
//! - [`checkout`]: placing an order, idempotently;
//! - [`commands`]: load → decide → conditional commit → bounded retry, the
//!   one loop every command on an existing order runs, and the staff
//!   commands on it;
//! - [`intake`]: facts from outside (webhooks, carrier re-fetches) and the
//!   facts waiting for an order or tracking code to appear;
//! - [`sweep`]: the stall sweep over the due index;
//! - [`reads`]: views, lists, the event feed, the health view and the SLA
//!   report;
//! - [`personal`]: personal data, sealed and opened, and its erasure;
//! - [`merchant`]: merchant webhooks ([`Merchants`]), and [`notify`]: customer
//!   notifications ([`Notifications`]), services of their own beside the
//!   orders';
//! - [`error`]: [`ServiceError`] and refusals.

mod audit;
mod checkout;
mod commands;
mod dispatch;
mod error;
mod fleet;
mod intake;
mod issues;
mod lifecycles;
mod merchant;
mod my_orders;
mod notify;
mod personal;
mod reads;
mod requests;
mod substitutions;
mod sweep;

use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::auth::Principal;
use crate::lifecycle::{Catalog, Lifecycle};
use crate::order::limits;
use crate::pii::Vault;
use crate::ports::{CarrierClient, Clock, Loaded, OrderStore, Partners, StoreError};
use crate::tenants::Tenants;

pub use audit::TenantVerification;
pub use checkout::Placed;
pub use error::{Refusal, ServiceError};
pub use fleet::{AssignDriver, DriverReport};
pub use intake::FactOutcome;
pub use issues::OpenIssue;
pub use lifecycles::{MigrationEntry, MigrationReport};
pub use merchant::Merchants;
pub use my_orders::MyOrder;
pub use notify::Notifications;
pub use personal::{Erasure, ERASURE_NOTE};
pub use reads::{HealthEntry, HealthIssue, StoreEntry, TrackedOrder};
pub use requests::{Checkout, TransitionRequest};
pub use substitutions::{CustomerAnswer, Propose};
pub use sweep::SweepReport;

/// How many times a command re-reads and re-decides after losing a race.
pub const MAX_ATTEMPTS: usize = 5;

pub struct OrderService {
    store: Arc<dyn OrderStore>,
    carrier: Option<Arc<dyn CarrierClient>>,
    partners: Option<Arc<dyn Partners>>,
    catalog: Arc<Catalog>,
    tenants: Arc<Tenants>,
    clock: Arc<dyn Clock>,
    /// Seals and opens personal data; without one (unit tests, benches)
    /// it is kept as given.
    vault: Option<Arc<Vault>>,
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
            partners: None,
            catalog,
            tenants,
            clock,
            vault: None,
        }
    }

    /// Seals personal data at checkout and opens it where it is needed.
    pub fn with_vault(mut self, vault: Arc<Vault>) -> Self {
        self.vault = Some(vault);
        self
    }

    /// Lets managers re-fetch packages' status from the carriers.
    pub fn with_carrier(mut self, carrier: Arc<dyn CarrierClient>) -> Self {
        self.carrier = Some(carrier);
        self
    }

    /// Lets orders ready for a driver ask the tenants' delivery partners.
    pub fn with_partners(mut self, partners: Arc<dyn Partners>) -> Self {
        self.partners = Some(partners);
        self
    }

    /// The tenants' policies.
    pub fn tenants(&self) -> Arc<Tenants> {
        self.tenants.clone()
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

    /// Loads an order the principal's tenant owns; anyone else's is a 404.
    async fn load_owned(
        &self,
        principal: &Principal,
        order_id: &str,
    ) -> Result<Loaded, ServiceError> {
        limits::id("order id", order_id)?;
        match self.store.load(order_id).await? {
            Some(loaded)
                if loaded.head.tenant == principal.tenant
                    && principal.sees_store(&loaded.head.store) =>
            {
                Ok(loaded)
            }
            _ => Err(ServiceError::NotFound),
        }
    }
}
