//! The SLA report: how long a tenant's orders take, stage by stage, against
//! the SLAs their lifecycles promise, counts and amounts by status, store
//! acknowledgement and delivery timeliness (README › Stalled orders and
//! reconciliation, `GET /admin/reports/sla`).
//!
//! Everything here is pure and works from heads alone. A head keeps the first
//! time each state was entered, which is all a duration needs, so a report
//! reads one item per order instead of replaying every order's log. The price
//! is that only first entries are known: a state an order loops back into
//! (picking again after substitutions) is measured from its first entry.
//!
//! Durations are judged against the order's own SLAs (the tenant's override
//! captured at checkout, else the lifecycle's), the same numbers the sweep
//! used to flag the order, so a breach here is a breach the staff saw.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::lifecycle::{Catalog, Lifecycle, StateRole};
use crate::order::deadlines;
use crate::order::Head;

mod groups;
mod samples;
pub use groups::{group_heads, GroupBy, Grouped, SpanQuery, SpanReport};
use samples::{percent, round1, Samples};

/// Orders created in `[from, to)`: half-open, so consecutive periods
/// (days, shifts) never count an order twice.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReportPeriod {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

impl ReportPeriod {
    pub fn contains(&self, at: DateTime<Utc>) -> bool {
        self.from <= at && at < self.to
    }
}

/// How far back a report looks when asked without `from`.
pub const DEFAULT_REPORT_DAYS: i64 = 30;

/// A period as asked for, either end left out: `to` defaults to now and
/// `from` to [`DEFAULT_REPORT_DAYS`] days before `to`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PeriodQuery {
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

impl PeriodQuery {
    pub fn resolve(self, now: DateTime<Utc>) -> ReportPeriod {
        let to = self.to.unwrap_or(now);
        let from = self
            .from
            .unwrap_or(to - Duration::days(DEFAULT_REPORT_DAYS));
        ReportPeriod { from, to }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SlaReport {
    pub tenant: String,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// The `now` open orders were judged at; a rerun later may differ.
    pub generated_at: DateTime<Utc>,
    /// The store the report is limited to, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub store: Option<String>,
    /// The whole period's figures.
    #[serde(flatten)]
    pub figures: SlaFigures,
    /// What `groups` splits the orders by, when asked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub by: Option<GroupBy>,
    /// The same figures for each group's orders, in key order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<Grouped<SlaFigures>>,
}

/// What a report says about one set of orders.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SlaFigures {
    /// Orders of the tenant created in the period, on a known lifecycle.
    pub orders: usize,
    /// Only stages some order completed, by lifecycle, then path order.
    pub stages: Vec<StageStats>,
    pub by_status: Vec<StatusTotals>,
    /// One row per lifecycle that has a store acknowledgement step (an
    /// `acknowledged` role).
    pub acknowledgement: Vec<AcknowledgementStats>,
    /// One row per lifecycle with a success ending (a `completed` role):
    /// minutes for a meal and days for a parcel do not average into anything
    /// meaningful.
    pub delivery: Vec<DeliveryStats>,
}

/// Time from entering `from_state` to entering the next state the order
/// reached on its path. A skipped state (a kitchen order collected without
/// `delivering`) makes a stage to the state after it, reported on its own
/// row, because it is a different trip.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StageStats {
    pub lifecycle: String,
    pub from_state: String,
    pub to_state: String,
    pub count: usize,
    pub avg_minutes: f64,
    /// Nearest-rank: always a duration some order actually took.
    pub p50_minutes: f64,
    pub p90_minutes: f64,
    /// The SLA of the most recently placed order counted; each order is
    /// judged against its own, which may predate a policy change.
    pub sla_minutes: Option<u32>,
    /// Orders that took longer than their SLA; exactly on it is in time.
    pub breaches: usize,
}

/// Orders and their value in one status. Keyed by currency too: a sum of
/// cents and pence is not an amount.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StatusTotals {
    pub status: String,
    pub currency: String,
    pub count: usize,
    /// Sum of order totals, in the currency's minor unit.
    pub amount: i64,
    /// Average order value in the minor unit, rounded half away from zero.
    pub avg_amount: i64,
}

/// How fast stores acknowledge orders. The promise is the sum of
/// the SLAs of the states before acknowledgement (submitted + store_notified
/// for the preset), since those are the minutes the customer was told to wait.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AcknowledgementStats {
    pub lifecycle: String,
    /// Orders of this lifecycle in the period.
    pub orders: usize,
    pub acknowledged: usize,
    /// From placement to acknowledgement.
    pub avg_minutes: Option<f64>,
    pub p90_minutes: Option<f64>,
    pub sla_minutes: Option<u32>,
    pub breaches: usize,
    /// Of the acknowledged orders that had a promise.
    pub within_sla_percent: Option<f64>,
    /// Live orders not acknowledged yet: excluded from the figures above,
    /// which would otherwise look best exactly when stores ignore orders.
    pub waiting: usize,
    /// Of those, the ones already past their promise at `generated_at`.
    pub waiting_overdue: usize,
}

/// Whether orders arrive when promised.
///
/// No ETA is stored at checkout, so the promise is derived: placement plus
/// the SLAs of the states on the way to `final_state`. Every state each trip
/// must pass counts, including carrier sub-states a carrier may not report
/// (the parcel was in transit all the same), plus any detour the order did
/// take (substitutions, a kitchen order's delivery leg), because its SLA was
/// granted when the order entered it. A state without an SLA promises
/// nothing, so an order whose path crosses one has no promise and is left out
/// of `on_time_percent`.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeliveryStats {
    pub lifecycle: String,
    /// The success ending: `delivered`, or `completed` for pickup and kitchen.
    pub final_state: String,
    pub delivered: usize,
    /// From placement to `final_state`.
    pub avg_minutes: Option<f64>,
    pub p90_minutes: Option<f64>,
    /// Delivered at or before the promise.
    pub on_time: usize,
    pub late: usize,
    pub on_time_percent: Option<f64>,
    /// Live orders already past their promise at `generated_at`: they will be
    /// late whatever happens, though `on_time_percent` cannot count them yet.
    pub open_overdue: usize,
    /// Delivered orders for which a delivery partner gave an ETA. Only the
    /// last ETA is kept, usually given close to the door, so the error below
    /// flatters the partner; it still shows a partner that is habitually late.
    pub eta_known: usize,
    pub eta_mean_abs_error_minutes: Option<f64>,
    pub eta_met_percent: Option<f64>,
}

/// The report for `tenant`'s orders created in `period`. Heads of other
/// tenants are ignored rather than trusted to be pre-filtered, so a caller's
/// mistake cannot leak one tenant's figures into another's report. Heads on a
/// lifecycle the catalog does not know are skipped: without the definition
/// there is no path to measure along, and counting them only in `by_status`
/// would make the sections disagree about how many orders there were.
/// `now` only judges orders still open (`waiting_overdue`, `open_overdue`).
pub fn sla_report(
    tenant: &str,
    heads: &[Head],
    catalog: &Catalog,
    period: &ReportPeriod,
    now: DateTime<Utc>,
) -> SlaReport {
    SlaReport {
        tenant: tenant.to_string(),
        from: period.from,
        to: period.to,
        generated_at: now,
        store: None,
        figures: sla_figures(tenant, heads, catalog, period, now),
        by: None,
        groups: Vec::new(),
    }
}

impl std::ops::Deref for SlaReport {
    type Target = SlaFigures;
    fn deref(&self) -> &SlaFigures {
        &self.figures
    }
}

/// The figures of [`sla_report`] for `heads`.
pub fn sla_figures(
    tenant: &str,
    heads: &[Head],
    catalog: &Catalog,
    period: &ReportPeriod,
    now: DateTime<Utc>,
) -> SlaFigures {
    let mut shapes: BTreeMap<&str, Option<Shape>> = BTreeMap::new();
    let mut orders = 0;
    let mut stages: BTreeMap<(&str, usize, usize), Samples> = BTreeMap::new();
    let mut by_status: BTreeMap<(&str, &str), (usize, i64)> = BTreeMap::new();
    let mut acks: BTreeMap<&str, AckTally> = BTreeMap::new();
    let mut deliveries: BTreeMap<&str, DeliveryTally> = BTreeMap::new();

    for head in counted(tenant, heads, period) {
        let shape = shapes
            .entry(head.lifecycle.as_str())
            .or_insert_with(|| catalog.get(&head.lifecycle).map(Shape::new));
        let Some(shape) = shape.as_ref() else {
            continue;
        };
        orders += 1;
        let lifecycle = head.lifecycle.as_str();
        let placed = placed_at(head);

        let reached: Vec<(usize, DateTime<Utc>)> = (0..shape.path.len())
            .filter_map(|i| shape.entered(head, i).map(|at| (i, at)))
            .collect();
        for pair in reached.windows(2) {
            let ((a, entered_a), (b, entered_b)) = (pair[0], pair[1]);
            if let Some(minutes) = minutes_between(entered_a, entered_b) {
                let sla = shape.sla(head, a);
                stages
                    .entry((lifecycle, a, b))
                    .or_default()
                    .add(minutes, sla, head.created_at);
            }
        }

        let totals = by_status
            .entry((head.status.as_str(), head.currency.as_str()))
            .or_default();
        totals.0 += 1;
        totals.1 = totals.1.saturating_add(head.total);

        let live = !shape.lifecycle.is_terminal(&head.status);
        // The store's reaction is measured to the state playing
        // `acknowledged`, on the lifecycles that have one.
        let acknowledgement = shape
            .lifecycle
            .role(StateRole::Acknowledged)
            .and_then(|state| Some((state, shape.index(state)?)));
        if let Some((acknowledged, ack)) = acknowledgement {
            let tally = acks.entry(lifecycle).or_default();
            tally.orders += 1;
            let promise = shape.promise(head, 0, ack);
            match shape.entered(head, ack) {
                Some(at) => {
                    if let Some(minutes) = minutes_between(placed, at) {
                        tally.samples.add(minutes, promise, head.created_at);
                    }
                }
                None if live && !shape.lifecycle.is_before(acknowledged, &head.status) => {
                    tally.waiting += 1;
                    if overdue(placed, promise, now) {
                        tally.waiting_overdue += 1;
                    }
                }
                None => {}
            }
        }

        if let Some(last) = shape.final_index() {
            let tally = deliveries
                .entry(lifecycle)
                .or_insert_with(|| DeliveryTally {
                    final_state: shape.path[last].clone(),
                    ..DeliveryTally::default()
                });
            let promise = shape.promise(head, 0, last);
            match shape.entered(head, last) {
                Some(at) => {
                    if let Some(minutes) = minutes_between(placed, at) {
                        tally.samples.add(minutes, promise, head.created_at);
                        if let Some(eta) = head.delivery.as_ref().and_then(|d| d.eta) {
                            tally.eta_known += 1;
                            tally.eta_abs_error += signed_minutes(eta, at).abs();
                            if at <= eta {
                                tally.eta_met += 1;
                            }
                        }
                    }
                }
                None if live && overdue(placed, promise, now) => tally.open_overdue += 1,
                None => {}
            }
        }
    }

    SlaFigures {
        orders,
        stages: stages
            .into_iter()
            .map(|((lifecycle, a, b), samples)| {
                let path = &shapes[lifecycle].as_ref().expect("counted").path;
                samples.stage(lifecycle, &path[a], &path[b])
            })
            .collect(),
        by_status: by_status
            .into_iter()
            .map(|((status, currency), (count, amount))| StatusTotals {
                status: status.to_string(),
                currency: currency.to_string(),
                count,
                amount,
                avg_amount: (amount as f64 / count as f64).round() as i64,
            })
            .collect(),
        acknowledgement: acks
            .into_iter()
            .map(|(lifecycle, t)| AcknowledgementStats {
                lifecycle: lifecycle.to_string(),
                orders: t.orders,
                acknowledged: t.samples.count(),
                avg_minutes: t.samples.avg(),
                p90_minutes: t.samples.percentile(90),
                sla_minutes: t.samples.sla(),
                breaches: t.samples.breaches,
                within_sla_percent: t.samples.within_percent(),
                waiting: t.waiting,
                waiting_overdue: t.waiting_overdue,
            })
            .collect(),
        delivery: deliveries
            .into_iter()
            .map(|(lifecycle, t)| DeliveryStats {
                lifecycle: lifecycle.to_string(),
                final_state: t.final_state,
                delivered: t.samples.count(),
                avg_minutes: t.samples.avg(),
                p90_minutes: t.samples.percentile(90),
                on_time: t.samples.judged - t.samples.breaches,
                late: t.samples.breaches,
                on_time_percent: t.samples.within_percent(),
                open_overdue: t.open_overdue,
                eta_known: t.eta_known,
                eta_mean_abs_error_minutes: (t.eta_known > 0)
                    .then(|| round1(t.eta_abs_error / t.eta_known as f64)),
                eta_met_percent: percent(t.eta_met, t.eta_known),
            })
            .collect(),
    }
}

/// Time from entering `from_state` to entering `to_state` on one lifecycle,
/// however many states lie between (say, the average time from confirmed
/// to ready), which the consecutive stages of [`sla_report`] cannot add up
/// to (percentiles do not add). States may be given in outside vocabulary
/// (`accepted` for a kitchen's `confirmed`). The SLA is the promise for the
/// span, built like [`DeliveryStats`]'s.
///
/// `None` when there is nothing to report: an unknown lifecycle or state,
/// `to_state` not after `from_state` on the path, or no order made the trip.
pub fn span_stats(
    tenant: &str,
    heads: &[Head],
    catalog: &Catalog,
    period: &ReportPeriod,
    lifecycle: &str,
    from_state: &str,
    to_state: &str,
) -> Option<StageStats> {
    let shape = Shape::new(catalog.get(lifecycle)?);
    let a = shape.index(shape.lifecycle.resolve(from_state)?)?;
    let b = shape.index(shape.lifecycle.resolve(to_state)?)?;
    if a >= b {
        return None;
    }
    let mut samples = Samples::default();
    for head in counted(tenant, heads, period).filter(|h| h.lifecycle == lifecycle) {
        let (Some(entered_a), Some(entered_b)) = (shape.entered(head, a), shape.entered(head, b))
        else {
            continue;
        };
        if let Some(minutes) = minutes_between(entered_a, entered_b) {
            samples.add(minutes, shape.promise(head, a, b), head.created_at);
        }
    }
    (samples.count() > 0).then(|| samples.stage(lifecycle, &shape.path[a], &shape.path[b]))
}

fn counted<'a>(
    tenant: &'a str,
    heads: &'a [Head],
    period: &'a ReportPeriod,
) -> impl Iterator<Item = &'a Head> {
    heads
        .iter()
        .filter(move |h| h.tenant == tenant && period.contains(h.created_at))
}

/// When the customer's clock started: the source's placement time, which
/// the SLAs were promised from.
fn placed_at(head: &Head) -> DateTime<Utc> {
    head.timestamps
        .get("placed_at")
        .copied()
        .unwrap_or(head.created_at)
}

/// `None` when `to` is before `from`: two sources' clocks disagreed, and a
/// negative time in a state is not a measurement, whereas clamping it to
/// zero would pass for a very fast store.
fn minutes_between(from: DateTime<Utc>, to: DateTime<Utc>) -> Option<f64> {
    (to >= from).then(|| signed_minutes(from, to))
}

fn signed_minutes(from: DateTime<Utc>, to: DateTime<Utc>) -> f64 {
    (to - from).num_milliseconds() as f64 / 60_000.0
}

fn overdue(placed: DateTime<Utc>, promise: Option<u32>, now: DateTime<Utc>) -> bool {
    promise.is_some_and(|m| now > placed + Duration::minutes(i64::from(m)))
}

/// A lifecycle's happy path, worked out once per report.
struct Shape {
    lifecycle: Arc<Lifecycle>,
    /// The non-terminal states in declaration order (which is happy-path
    /// order), then the success ending if there is one.
    path: Vec<String>,
    has_final: bool,
    /// States some route from the first state to the ending avoids: detours
    /// (substitutions) and branches (a kitchen's delivery leg). A state that
    /// is merely skippable by a fact is not optional: the order was there
    /// even when nobody said so.
    optional: Vec<bool>,
}

impl Shape {
    fn new(lifecycle: Arc<Lifecycle>) -> Self {
        let def = lifecycle.definition();
        let ending = final_state(&lifecycle);
        let mut path: Vec<String> = def
            .states
            .iter()
            .filter(|s| !s.terminal)
            .map(|s| s.name.clone())
            .collect();
        path.extend(ending.clone());
        let optional = path
            .iter()
            .map(|s| {
                ending.as_deref().is_some_and(|end| {
                    s != lifecycle.initial() && s != end && avoidable(&lifecycle, s, end)
                })
            })
            .collect();
        Shape {
            has_final: ending.is_some(),
            lifecycle,
            path,
            optional,
        }
    }

    fn index(&self, state: &str) -> Option<usize> {
        self.path.iter().position(|s| s == state)
    }

    fn final_index(&self) -> Option<usize> {
        self.has_final.then(|| self.path.len() - 1)
    }

    fn entered(&self, head: &Head, i: usize) -> Option<DateTime<Utc>> {
        let stamp = self.lifecycle.stamps(&self.path[i]).into_iter().next()?;
        head.timestamps.get(&stamp).copied()
    }

    fn sla(&self, head: &Head, i: usize) -> Option<u32> {
        deadlines::sla_minutes(head, &self.lifecycle, &self.path[i])
    }

    /// Minutes this order was promised from entering `path[from]` to entering
    /// `path[to]`: the SLAs of the states between, see [`DeliveryStats`].
    fn promise(&self, head: &Head, from: usize, to: usize) -> Option<u32> {
        (from..to)
            .filter(|&i| !self.optional[i] || self.entered(head, i).is_some())
            .try_fold(0u32, |sum, i| Some(sum.saturating_add(self.sla(head, i)?)))
    }
}

/// The success ending: the state playing `completed`, if any (validation
/// made sure it is terminal).
fn final_state(lifecycle: &Lifecycle) -> Option<String> {
    lifecycle.role(StateRole::Completed).map(str::to_string)
}

/// Whether `end` can be reached from the first state without passing `state`,
/// along forward transitions (a declared loop leads nowhere new).
fn avoidable(lifecycle: &Lifecycle, state: &str, end: &str) -> bool {
    let def = lifecycle.definition();
    let mut seen = vec![lifecycle.initial().to_string()];
    let mut queue = VecDeque::from([lifecycle.initial().to_string()]);
    while let Some(at) = queue.pop_front() {
        if at == end {
            return true;
        }
        for t in def
            .transitions
            .iter()
            .filter(|t| !t.back && t.from.contains(&at))
        {
            if t.to != state && !seen.contains(&t.to) {
                seen.push(t.to.clone());
                queue.push_back(t.to.clone());
            }
        }
    }
    false
}

#[derive(Default)]
struct AckTally {
    orders: usize,
    samples: Samples,
    waiting: usize,
    waiting_overdue: usize,
}

#[derive(Default)]
struct DeliveryTally {
    final_state: String,
    samples: Samples,
    open_overdue: usize,
    eta_known: usize,
    eta_abs_error: f64,
    eta_met: usize,
}

#[cfg(test)]
mod tests;
