//! Lifecycle versions (README › Lifecycle versions): a tenant's orders in
//! flight keep the version they were placed under; an owner moves them
//! onto the newest version only when every one of them has a place in it —
//! its status exists there, or the new version declares where it goes —
//! and otherwise nothing moves and the report names the orders that would
//! be stranded.

use serde::Serialize;

use super::commands::{Attempt, OnRace, Target};
use super::{OrderService, ServiceError};
use crate::auth::{Principal, Role};
use crate::lifecycle::Lifecycle;
use crate::order::decide;
use crate::order::limits;
use crate::ports::{Commit, ListQuery};

/// Orders read per page while walking the tenant's orders.
const PAGE: usize = 200;

#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MigrationReport {
    pub lifecycle: String,
    /// The newest version: where the orders would go.
    pub to: String,
    /// The tenant's live orders on earlier versions of this lifecycle.
    pub orders: Vec<MigrationEntry>,
    /// How many of them have no place in the newest version.
    pub stranded: usize,
    /// How many were moved (applying only).
    pub migrated: usize,
}

#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MigrationEntry {
    pub order_id: String,
    pub from: String,
    pub status: String,
    /// Its status under the newest version; none: stranded.
    pub becomes: Option<String>,
}

impl OrderService {
    /// Which of the tenant's orders in flight on earlier versions of
    /// `name` the newest version can take, and — when `apply` and every
    /// one of them can — moves them onto it. Owners only.
    pub async fn migrate_lifecycle(
        &self,
        principal: &Principal,
        name: &str,
        apply: bool,
    ) -> Result<MigrationReport, ServiceError> {
        if principal.role != Role::Owner {
            return Err(ServiceError::Forbidden(
                "moving orders between lifecycle versions is for owners".into(),
            ));
        }
        principal.require_all_stores()?;
        limits::id("lifecycle", name)?;
        let latest = self
            .catalog
            .latest(name)
            .ok_or_else(|| ServiceError::Missing(format!("no lifecycle {name}")))?;
        let mut report = MigrationReport {
            lifecycle: name.to_string(),
            to: latest.key(),
            orders: Vec::new(),
            stranded: 0,
            migrated: 0,
        };
        for head in self.behind(principal, &latest).await? {
            let becomes = latest.adopt(&head.status).map(str::to_string);
            report.stranded += usize::from(becomes.is_none());
            report.orders.push(MigrationEntry {
                order_id: head.id,
                from: head.lifecycle,
                status: head.status,
                becomes,
            });
        }
        if !apply {
            return Ok(report);
        }
        if report.stranded > 0 {
            let names: Vec<String> = report
                .orders
                .iter()
                .filter(|o| o.becomes.is_none())
                .map(|o| format!("{} ({} under {})", o.order_id, o.status, o.from))
                .collect();
            return Err(ServiceError::Invalid(format!(
                "{} has no place for {} order(s) in flight: {}; declare where they go in its migrate_from",
                report.to,
                report.stranded,
                names.join(", ")
            )));
        }
        let origin = principal.origin();
        let now = self.clock.now();
        for entry in &report.orders {
            self.run(
                Target::Any(&entry.order_id),
                OnRace::Retry,
                |loaded, _, _| {
                    // Moved meanwhile (another owner, a concurrent run): nothing to do.
                    if loaded.head.lifecycle == latest.key() {
                        return Ok(Attempt::Nothing(()));
                    }
                    match decide::migrate_lifecycle(&loaded.head, &latest, &origin, now) {
                        Some(decision) => Ok(Attempt::Commit(Box::new(Commit::of(decision)), ())),
                        None => Err(ServiceError::Conflict {
                            status: loaded.head.status.clone(),
                            version: loaded.head.version,
                        }),
                    }
                },
            )
            .await?;
            report.migrated += 1;
        }
        Ok(report)
    }

    /// The tenant's live orders on an earlier version of `latest`'s name.
    async fn behind(
        &self,
        principal: &Principal,
        latest: &Lifecycle,
    ) -> Result<Vec<crate::order::Head>, ServiceError> {
        let mut query = ListQuery {
            tenant: principal.tenant.clone(),
            limit: PAGE,
            ..ListQuery::default()
        };
        let mut behind = Vec::new();
        loop {
            let page = self.store.list(&query).await?;
            for summary in &page.items {
                let Some(loaded) = self.store.load(&summary.id).await? else {
                    continue;
                };
                let head = loaded.head;
                let name = head.lifecycle.split('@').next().unwrap_or_default();
                if name != latest.name() || head.lifecycle == latest.key() {
                    continue;
                }
                let own = self.lifecycle(&head.lifecycle)?;
                if !own.is_terminal(&head.status) {
                    behind.push(head);
                }
            }
            match page.next {
                Some(next) => query.after = Some(next),
                None => break,
            }
        }
        Ok(behind)
    }
}
