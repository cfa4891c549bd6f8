//! Reports split by store, by day, by hour of day or by shift (seed 001's
//! "time from confirmed to ready by restaurant, by shift, by day"), and the
//! one span a tenant cares about as its own figure.
//!
//! Days, hours and shifts are the store's local ones (its `utc_offset` in
//! the tenant's settings), taken at the moment the customer placed the
//! order: a 23:30 order counts in the day and the shift the kitchen saw it
//! in, not in UTC's.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{placed_at, span_stats, ReportPeriod, StageStats};
use crate::lifecycle::Catalog;
use crate::order::Head;
use crate::tenants::TenantSettings;

/// What a report's groups split the orders by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum GroupBy {
    Store,
    /// The local date, `2026-03-01`.
    Day,
    /// The local hour of day, `00`–`23`, whatever the date.
    Hour,
    /// The tenant's named shifts; orders placed outside every shift are
    /// `other`.
    Shift,
}

/// One group's figures, under the key its orders share.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Grouped<T> {
    pub key: String,
    #[serde(flatten)]
    pub figures: T,
}

/// `heads` by the key of `by`, keys in order.
pub fn group_heads(
    heads: &[Head],
    by: GroupBy,
    settings: &TenantSettings,
) -> BTreeMap<String, Vec<Head>> {
    let mut groups: BTreeMap<String, Vec<Head>> = BTreeMap::new();
    for head in heads {
        groups
            .entry(key_of(head, by, settings))
            .or_default()
            .push(head.clone());
    }
    groups
}

fn key_of(head: &Head, by: GroupBy, settings: &TenantSettings) -> String {
    let placed = placed_at(head);
    let local = || placed.with_timezone(&settings.offset_of(&head.store));
    match by {
        GroupBy::Store => head.store.clone(),
        GroupBy::Day => local().format("%Y-%m-%d").to_string(),
        GroupBy::Hour => local().format("%H").to_string(),
        GroupBy::Shift => settings
            .shift_at(&head.store, placed)
            .unwrap_or("other")
            .to_string(),
    }
}

/// `GET /admin/reports/span`: the time from one state to another on one
/// lifecycle (`confirmed` → `ready` on `kitchen`), however many states lie
/// between.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams), into_params(parameter_in = Query))]
#[serde(deny_unknown_fields)]
pub struct SpanQuery {
    pub lifecycle: String,
    pub from_state: String,
    pub to_state: String,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub store: Option<String>,
    pub by: Option<GroupBy>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SpanReport {
    pub tenant: String,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub store: Option<String>,
    /// Every order that made the trip; `None` when none did.
    pub overall: Option<StageStats>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub by: Option<GroupBy>,
    /// Only groups with an order that made the trip.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<Grouped<StageStats>>,
}

impl SpanReport {
    /// The span over `heads`, and per group when `by` is given.
    pub fn new(
        tenant: &str,
        heads: &[Head],
        catalog: &Catalog,
        settings: &TenantSettings,
        period: &ReportPeriod,
        query: &SpanQuery,
    ) -> SpanReport {
        let span = |heads: &[Head]| {
            span_stats(
                tenant,
                heads,
                catalog,
                period,
                &query.lifecycle,
                &query.from_state,
                &query.to_state,
            )
        };
        let groups = query.by.map_or_else(Vec::new, |by| {
            group_heads(heads, by, settings)
                .into_iter()
                .filter_map(|(key, heads)| {
                    Some(Grouped {
                        key,
                        figures: span(&heads)?,
                    })
                })
                .collect()
        });
        SpanReport {
            tenant: tenant.to_string(),
            from: period.from,
            to: period.to,
            store: query.store.clone(),
            overall: span(heads),
            by: query.by,
            groups,
        }
    }
}
