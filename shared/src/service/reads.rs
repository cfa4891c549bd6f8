//! What staff and customers read: the order view and its audit log, the
//! tenant's list, the health view, the SLA report, and the customer's view
//! and live stream by public id. Every staff read is scoped to the
//! principal's tenant; the customer's by the unguessable public id alone.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::requests::list_filters;
use super::{OrderService, ServiceError};
use crate::auth::Principal;
use crate::lifecycle::Lifecycle;
use crate::order::deadlines;
use crate::order::limits;
use crate::order::{Event, FlagKind, Head, OrderIssue, OrderSummary, Severity};
use crate::ports::{ListQuery, Page};
use crate::report::{
    self, GroupBy, Grouped, PeriodQuery, ReportPeriod, SlaReport, SpanQuery, SpanReport,
};
use crate::tenants::StoreSettings;
use crate::views::{OrderView, TrackingView};

/// Upper bound on events read to build a view.
pub(super) const MAX_LOG: usize = 10_000;
/// Orders read per page when a read walks the whole list.
const PAGE: usize = 200;

/// One order in the health view.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HealthEntry {
    pub id: String,
    pub public_id: String,
    pub status: String,
    pub customer_id: String,
    /// Minutes since the oldest open flag, missed deadline or open order
    /// issue.
    pub age_minutes: i64,
    /// The most severe open order issue's severity: the view's first key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub severity: Option<Severity>,
    /// Flags and missed deadlines.
    pub issues: Vec<HealthIssue>,
    /// Open order issues, most severe first.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub order_issues: Vec<OrderIssue>,
}

#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
        let mut order_issues: Vec<OrderIssue> = head.open_issues().cloned().collect();
        order_issues.sort_by_key(|i| (std::cmp::Reverse(i.severity), i.opened_at));
        let oldest = issues
            .iter()
            .map(|i| i.raised_at)
            .chain(order_issues.iter().map(|i| i.opened_at))
            .min()
            .unwrap_or(now);
        HealthEntry {
            id: head.id.clone(),
            public_id: head.public_id.clone(),
            status: head.status.clone(),
            customer_id: head.customer_id.clone(),
            age_minutes: (now - oldest).num_minutes(),
            severity: order_issues.first().map(|i| i.severity),
            issues,
            order_issues,
        }
    }
}

/// The order a customer's live stream follows, found by its public id. Only
/// the service makes one, so holding it means the public id was known.
#[derive(Clone, Debug)]
pub struct TrackedOrder {
    order_id: String,
}

impl TrackedOrder {
    /// The internal id, to tell this order's live events from others'; it
    /// never leaves the server.
    pub fn order_id(&self) -> &str {
        &self.order_id
    }
}

/// One of the tenant's stores.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StoreEntry {
    pub id: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub utc_offset: Option<String>,
}

impl StoreEntry {
    fn new(id: &str, settings: Option<&StoreSettings>) -> Self {
        StoreEntry {
            id: id.to_string(),
            name: settings
                .and_then(|s| s.name.clone())
                .unwrap_or_else(|| id.to_string()),
            utc_offset: settings.and_then(|s| s.utc_offset).map(String::from),
        }
    }
}

impl OrderService {
    pub async fn get(
        &self,
        principal: &Principal,
        order_id: &str,
    ) -> Result<OrderView, ServiceError> {
        principal.require_staff()?;
        let loaded = self.load_owned(principal, order_id).await?;
        let lifecycle = self.lifecycle(&loaded.head.lifecycle)?;
        let events = self.store.events(order_id, 0, MAX_LOG).await?;
        let actor = principal.actor();
        self.staff_view(
            loaded.head,
            &loaded.parked,
            Some(&events),
            &lifecycle,
            actor,
        )
        .await
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

    /// One of the tenant's orders as the board lists it.
    pub async fn summary(
        &self,
        principal: &Principal,
        order_id: &str,
    ) -> Result<OrderSummary, ServiceError> {
        principal.require_staff()?;
        Ok(self.load_owned(principal, order_id).await?.head.summary())
    }

    pub async fn list(
        &self,
        principal: &Principal,
        query: ListQuery,
    ) -> Result<Page<OrderSummary>, ServiceError> {
        principal.require_staff()?;
        let mut query = list_filters(query)?;
        query.stores = store_scope(principal, query.stores.take())?;
        query.tenant = principal.tenant.clone();
        query.now = Some(self.clock.now());
        Ok(self.store.list(&query).await?)
    }

    /// The tenant's events after the one with id `after` (from the first
    /// without one), in the order they were recorded, at most `limit`. An
    /// event joins the feed once the store's settle time has passed since
    /// it was recorded, so a commit that lands late is never skipped by a
    /// reader already past it.
    pub async fn feed(
        &self,
        principal: &Principal,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Event>, ServiceError> {
        principal.require_staff()?;
        principal.require_all_stores()?;
        if let Some(after) = after {
            limits::id("after", after)?;
        }
        let settle = chrono::Duration::from_std(self.store.feed_settle()).unwrap_or_default();
        let until = self.clock.now() - settle;
        Ok(self
            .store
            .feed(&principal.tenant, after, until, limit)
            .await?)
    }

    /// The customer's view, by public id only.
    pub async fn track(&self, public_id: &str) -> Result<TrackingView, ServiceError> {
        let head = self.find_public(public_id).await?;
        let lifecycle = self.lifecycle(&head.lifecycle)?;
        let events = self.store.events(&head.id, 0, MAX_LOG).await?;
        let policy = &self.tenants.settings(&head.tenant).notifications;
        let mut view = TrackingView::new(&head, &events, &lifecycle);
        view.notifications = Some(crate::notify::settings(&head, &lifecycle, policy));
        Ok(view)
    }

    /// The order a customer's live stream follows, by public id only.
    pub async fn tracked_order(&self, public_id: &str) -> Result<TrackedOrder, ServiceError> {
        let head = self.find_public(public_id).await?;
        Ok(TrackedOrder { order_id: head.id })
    }

    /// The followed order's events after sequence number `after`, oldest
    /// first: what its live stream has not sent yet.
    pub async fn tracked_events(
        &self,
        order: &TrackedOrder,
        after: u64,
        limit: usize,
    ) -> Result<Vec<Event>, ServiceError> {
        Ok(self.store.events(&order.order_id, after, limit).await?)
    }

    /// An order by its public id; the customer's capability, so nothing
    /// but the id's shape is checked.
    pub(super) async fn find_public(&self, public_id: &str) -> Result<Head, ServiceError> {
        limits::id("public id", public_id)?;
        self.store
            .find_by_public_id(public_id)
            .await?
            .ok_or(ServiceError::NotFound)
    }

    /// The health view: stalled and needs-review orders with why, how long,
    /// and what staff can do.
    pub async fn health(&self, principal: &Principal) -> Result<Vec<HealthEntry>, ServiceError> {
        principal.require_manager()?;
        let now = self.clock.now();
        let mut query = ListQuery {
            tenant: principal.tenant.clone(),
            stores: principal.stores.clone(),
            stalled: Some(true),
            now: Some(now),
            limit: PAGE,
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
        // The most severe open issue first, then the longest waiting.
        entries.sort_by_key(|e| std::cmp::Reverse((e.severity, e.age_minutes)));
        Ok(entries)
    }

    /// The tenant's stores this caller sees: those the tenant lists, or,
    /// when it lists none, those the caller is limited to.
    pub fn stores(&self, principal: &Principal) -> Result<Vec<StoreEntry>, ServiceError> {
        principal.require_staff()?;
        let listed = &self.tenants.settings(&principal.tenant).stores;
        let entries = match (listed.is_empty(), &principal.stores) {
            (true, Some(mine)) => mine.iter().map(|id| StoreEntry::new(id, None)).collect(),
            (true, None) => Vec::new(),
            (false, _) => listed
                .iter()
                .filter(|(id, _)| principal.sees_store(id))
                .map(|(id, settings)| StoreEntry::new(id, Some(settings)))
                .collect(),
        };
        Ok(entries)
    }

    /// The SLA report over the tenant's orders placed in the period (of one
    /// store, and split into groups, when asked).
    pub async fn report(
        &self,
        principal: &Principal,
        period: ReportPeriod,
        store: Option<String>,
        by: Option<GroupBy>,
    ) -> Result<SlaReport, ServiceError> {
        let heads = self.placed_in(principal, &period, store.clone()).await?;
        let (tenant, now) = (&principal.tenant, self.clock.now());
        let mut report = report::sla_report(tenant, &heads, &self.catalog, &period, now);
        report.store = store;
        if let Some(by) = by {
            let settings = self.tenants.settings(tenant);
            report.by = Some(by);
            report.groups = report::group_heads(&heads, by, settings)
                .into_iter()
                .map(|(key, heads)| Grouped {
                    key,
                    figures: report::sla_figures(tenant, &heads, &self.catalog, &period, now),
                })
                .collect();
        }
        Ok(report)
    }

    /// The time from one state to another (say confirmed → ready) as its
    /// own figure, overall and per group.
    pub async fn span(
        &self,
        principal: &Principal,
        query: SpanQuery,
    ) -> Result<SpanReport, ServiceError> {
        let period = PeriodQuery {
            from: query.from,
            to: query.to,
        }
        .resolve(self.clock.now());
        let heads = self
            .placed_in(principal, &period, query.store.clone())
            .await?;
        let tenant = &principal.tenant;
        Ok(SpanReport::new(
            tenant,
            &heads,
            &self.catalog,
            self.tenants.settings(tenant),
            &period,
            &query,
        ))
    }

    /// The tenant's orders placed in the period that the manager may see,
    /// of `store` when named. It reads each of them: fine for a store's day
    /// or month; a bigger history would aggregate from the event bus
    /// instead.
    async fn placed_in(
        &self,
        principal: &Principal,
        period: &ReportPeriod,
        store: Option<String>,
    ) -> Result<Vec<Head>, ServiceError> {
        principal.require_manager()?;
        if period.from >= period.to {
            return Err(ServiceError::Invalid("from must be before to".into()));
        }
        let mut query = ListQuery {
            tenant: principal.tenant.clone(),
            stores: store_scope(principal, store.map(|s| vec![s]))?,
            limit: PAGE,
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
        Ok(heads)
    }
}

/// The stores a read covers: those asked for, each of which the caller must
/// see, or all the caller sees.
pub(super) fn store_scope(
    principal: &Principal,
    asked: Option<Vec<String>>,
) -> Result<Option<Vec<String>>, ServiceError> {
    match asked {
        Some(stores) => {
            for store in &stores {
                limits::id("store", store)?;
                principal.require_store(store)?;
            }
            Ok(Some(stores))
        }
        None => Ok(principal.stores.clone()),
    }
}
