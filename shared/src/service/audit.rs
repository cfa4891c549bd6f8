//! The tamper-evident audit log, checked (README › Tamper-evident audit
//! log): one order's events against their hash chain and the head, or every
//! order a manager's token sees.

use serde::Serialize;

use super::{OrderService, ServiceError};
use crate::auth::{Principal, Role};
use crate::order::chain::{self, Verification};
use crate::order::{Event, Head};
use crate::ports::ListQuery;

/// Events and orders read per page.
const PAGE: usize = 500;

/// Every order of a tenant (of the token's stores), checked.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TenantVerification {
    pub tenant: String,
    pub intact: bool,
    pub orders: usize,
    pub events: usize,
    /// Events written before the log was chained.
    pub unchained: usize,
    /// The orders whose log or head does not check out.
    pub broken: Vec<Verification>,
}

impl OrderService {
    /// One order's log, checked: staff who may see the order.
    pub async fn verify_order(
        &self,
        principal: &Principal,
        order_id: &str,
    ) -> Result<Verification, ServiceError> {
        principal.require_staff()?;
        let loaded = self.load_owned(principal, order_id).await?;
        self.verify_head(&loaded.head).await
    }

    /// Every order of the tenant the manager's token sees, checked.
    pub async fn verify_tenant(
        &self,
        principal: &Principal,
    ) -> Result<TenantVerification, ServiceError> {
        principal.require_manager()?;
        let mut report = TenantVerification {
            tenant: principal.tenant.clone(),
            intact: true,
            orders: 0,
            events: 0,
            unchained: 0,
            broken: Vec::new(),
        };
        let mut query = ListQuery {
            tenant: principal.tenant.clone(),
            stores: principal.stores.clone(),
            limit: PAGE,
            ..ListQuery::default()
        };
        loop {
            let page = self.store.list(&query).await?;
            for summary in &page.items {
                let Some(loaded) = self.store.load(&summary.id).await? else {
                    continue;
                };
                let outcome = self.verify_head(&loaded.head).await?;
                report.orders += 1;
                report.events += outcome.events;
                report.unchained += outcome.unchained;
                if !outcome.intact {
                    report.intact = false;
                    report.broken.push(outcome);
                }
            }
            match page.next {
                Some(next) => query.after = Some(next),
                None => break,
            }
        }
        Ok(report)
    }

    /// Every order of every tenant, checked: the operators' audit (the
    /// local stack's `verify` command, and `order-audit` on a table), which
    /// acts with direct access to the store rather than any one token.
    pub async fn verify_everything(&self) -> Result<Vec<TenantVerification>, ServiceError> {
        let mut reports = Vec::new();
        for tenant in self.store.tenants().await? {
            let operator = Principal {
                tenant,
                role: Role::Owner,
                subject: "audit".into(),
                stores: None,
            };
            reports.push(self.verify_tenant(&operator).await?);
        }
        Ok(reports)
    }

    /// The log up to the head's last event, checked against it. A command
    /// committed since the head was read appends past it, and is left for
    /// the next check rather than taken for a log longer than its head.
    async fn verify_head(&self, head: &Head) -> Result<Verification, ServiceError> {
        let mut events: Vec<Event> = Vec::new();
        loop {
            let after = events.last().map_or(0, |e| e.seq);
            let page = self.store.events(&head.id, after, PAGE).await?;
            let (read, before) = (page.len(), events.len());
            events.extend(page.into_iter().filter(|e| e.seq <= head.last_seq));
            if read < PAGE || events.len() - before < read {
                break;
            }
        }
        let lifecycle = self.lifecycle(&head.lifecycle)?;
        Ok(chain::verify(head, &events, &lifecycle))
    }
}

impl std::fmt::Display for TenantVerification {
    /// One line per tenant, then one per broken order: what an operator
    /// reads after an audit or a restore.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: {} orders, {} events ({} from before the chain): {}",
            self.tenant,
            self.orders,
            self.events,
            self.unchained,
            if self.intact { "intact" } else { "BROKEN" }
        )?;
        for order in &self.broken {
            write!(
                f,
                "\n  {} at event {}: {}",
                order.order_id,
                order.broken_at_seq.unwrap_or_default(),
                order.problem.as_deref().unwrap_or_default()
            )?;
        }
        Ok(())
    }
}
