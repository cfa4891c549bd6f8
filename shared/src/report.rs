//! The SLA report: how long a tenant's orders take, stage by stage, against
//! the SLAs their lifecycles promise (seed 001's per-tenant SLA analysis,
//! seed 003's counts and amounts by status, seed 004's acknowledgement SLA
//! and delivery timeliness).
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

use crate::lifecycle::{Catalog, Lifecycle};
use crate::order::deadlines;
use crate::order::Head;

/// The state seed 004 measures the store's reaction by.
const ACKNOWLEDGED: &str = "store_acknowledged";

/// Orders created in `[from, to)`: half-open, so consecutive periods
/// (days, shifts) never count an order twice.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
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
pub struct SlaReport {
    pub tenant: String,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// The `now` open orders were judged at; a rerun later may differ.
    pub generated_at: DateTime<Utc>,
    /// Orders of the tenant created in the period, on a known lifecycle.
    pub orders: usize,
    /// Only stages some order completed, by lifecycle, then path order.
    pub stages: Vec<StageStats>,
    pub by_status: Vec<StatusTotals>,
    /// One row per lifecycle that has a store acknowledgement step.
    pub acknowledgement: Vec<AcknowledgementStats>,
    /// One row per lifecycle: minutes for a meal and days for a parcel do not
    /// average into anything meaningful.
    pub delivery: Vec<DeliveryStats>,
}

/// Time from entering `from_state` to entering the next state the order
/// reached on its path. A skipped state (a kitchen order collected without
/// `delivering`) makes a stage to the state after it, reported on its own
/// row, because it is a different trip.
#[derive(Clone, Debug, PartialEq, Serialize)]
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
pub struct StatusTotals {
    pub status: String,
    pub currency: String,
    pub count: usize,
    /// Sum of order totals, in the currency's minor unit.
    pub amount: i64,
    /// Average order value in the minor unit, rounded half away from zero.
    pub avg_amount: i64,
}

/// How fast stores acknowledge orders (seed 004). The promise is the sum of
/// the SLAs of the states before acknowledgement (submitted + store_notified
/// for the preset), since those are the minutes the customer was told to wait.
#[derive(Clone, Debug, PartialEq, Serialize)]
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

/// Whether orders arrive when promised (seed 004's delivery timeliness).
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
        if let Some(ack) = shape.index(ACKNOWLEDGED) {
            let tally = acks.entry(lifecycle).or_default();
            tally.orders += 1;
            let promise = shape.promise(head, 0, ack);
            match shape.entered(head, ack) {
                Some(at) => {
                    if let Some(minutes) = minutes_between(placed, at) {
                        tally.samples.add(minutes, promise, head.created_at);
                    }
                }
                None if live && !shape.lifecycle.is_before(ACKNOWLEDGED, &head.status) => {
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

    SlaReport {
        tenant: tenant.to_string(),
        from: period.from,
        to: period.to,
        generated_at: now,
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
/// however many states lie between: seed 001's "average time from confirmed
/// to ready", which the consecutive stages of [`sla_report`] cannot add up
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

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

fn percent(part: usize, whole: usize) -> Option<f64> {
    (whole > 0).then(|| round1(100.0 * part as f64 / whole as f64))
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

/// The success ending. The presets map `completed` onto it (DESIGN §3); a
/// definition without that alias lists its success ending first among the
/// terminal states, since states are written in happy-path order.
fn final_state(lifecycle: &Lifecycle) -> Option<String> {
    lifecycle
        .resolve("completed")
        .filter(|s| lifecycle.is_terminal(s))
        .map(str::to_string)
        .or_else(|| {
            let def = lifecycle.definition();
            def.states
                .iter()
                .find(|s| s.terminal)
                .map(|s| s.name.clone())
        })
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

/// Durations of one measure, and how they fared against each order's SLA.
#[derive(Default)]
struct Samples {
    minutes: Vec<f64>,
    /// Samples that had an SLA to be judged against.
    judged: usize,
    breaches: usize,
    /// The SLA of the latest order placed, with its placement.
    latest_sla: Option<(DateTime<Utc>, Option<u32>)>,
}

impl Samples {
    fn add(&mut self, minutes: f64, sla: Option<u32>, created_at: DateTime<Utc>) {
        self.minutes.push(minutes);
        if let Some(sla) = sla {
            self.judged += 1;
            if minutes > f64::from(sla) {
                self.breaches += 1;
            }
        }
        if self.latest_sla.is_none_or(|(at, _)| created_at > at) {
            self.latest_sla = Some((created_at, sla));
        }
    }

    fn count(&self) -> usize {
        self.minutes.len()
    }

    fn avg(&self) -> Option<f64> {
        (self.count() > 0).then(|| round1(self.minutes.iter().sum::<f64>() / self.count() as f64))
    }

    /// Nearest-rank percentile: the smallest duration at least `p`% of the
    /// samples do not exceed.
    fn percentile(&self, p: usize) -> Option<f64> {
        let mut sorted = self.minutes.clone();
        sorted.sort_by(f64::total_cmp);
        let rank = (p * sorted.len()).div_ceil(100).max(1);
        sorted.get(rank - 1).copied().map(round1)
    }

    fn sla(&self) -> Option<u32> {
        self.latest_sla.and_then(|(_, sla)| sla)
    }

    fn within_percent(&self) -> Option<f64> {
        percent(self.judged - self.breaches, self.judged)
    }

    /// Only called with at least one sample.
    fn stage(&self, lifecycle: &str, from_state: &str, to_state: &str) -> StageStats {
        StageStats {
            lifecycle: lifecycle.to_string(),
            from_state: from_state.to_string(),
            to_state: to_state.to_string(),
            count: self.count(),
            avg_minutes: self.avg().unwrap_or_default(),
            p50_minutes: self.percentile(50).unwrap_or_default(),
            p90_minutes: self.percentile(90).unwrap_or_default(),
            sla_minutes: self.sla(),
            breaches: self.breaches,
        }
    }
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
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::lifecycle::{Actor, FulfilmentType};
    use crate::order::decide::{self, Origin, StatusClaim};
    use crate::order::inbound::DeliveryKind;
    use crate::order::{Contact, DeliveryInfo, LineItem, OrderPlaced, OrderPolicy};

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap()
    }

    fn mins(m: f64) -> Duration {
        Duration::milliseconds((m * 60_000.0).round() as i64)
    }

    fn march() -> ReportPeriod {
        ReportPeriod {
            from: Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap(),
            to: Utc.with_ymd_and_hms(2026, 4, 1, 0, 0, 0).unwrap(),
        }
    }

    fn now() -> DateTime<Utc> {
        t0() + Duration::days(2)
    }

    /// An order placed at `placed` and moved through `steps` (state, minutes
    /// after placement) by the real decisions, so its stamps are exactly the
    /// ones the projection writes. The owner drives every move, overriding
    /// (with a reason) the moves only a carrier or driver may make.
    fn order(lifecycle: &str, tenant: &str, placed: DateTime<Utc>, steps: &[(&str, f64)]) -> Head {
        let lc = Catalog::presets().get(lifecycle).unwrap();
        let fulfilment = FulfilmentType::ALL
            .into_iter()
            .find(|f| f.preset() == lifecycle)
            .unwrap();
        let body = OrderPlaced {
            lifecycle: lifecycle.to_string(),
            fulfilment,
            status: lc.initial().to_string(),
            customer_id: "cus_1".into(),
            currency: "CAD".into(),
            items: vec![LineItem {
                sku: "A".into(),
                name: "Lamp".into(),
                unit_price: 1000,
                quantity: 1,
            }],
            total: 1000,
            shipping: None,
            contact: Contact::default(),
            policy: OrderPolicy::default(),
        };
        let owner = Origin {
            source: "staff".into(),
            actor_kind: Actor::Owner,
            actor: None,
            external_id: None,
        };
        let ids = ("ord_1".to_string(), "trk_1".to_string());
        let mut head = decide::place_order(ids, tenant, body, &owner, &lc, placed).head;
        for &(to, m) in steps {
            let at = placed + mins(m);
            let claim = StatusClaim {
                to: to.to_string(),
                occurred_at: at,
                reason: Some("report test".into()),
                tracking: None,
            };
            head = decide::transition(&head, &[], &lc, &owner, claim, None, at)
                .unwrap_or_else(|e| panic!("{to}: {e}"))
                .head;
        }
        head
    }

    fn kitchen(placed: DateTime<Utc>, steps: &[(&str, f64)]) -> Head {
        order("kitchen", "acme", placed, steps)
    }

    fn local(placed: DateTime<Utc>, steps: &[(&str, f64)]) -> Head {
        order("local_delivery", "acme", placed, steps)
    }

    fn report(heads: &[Head]) -> SlaReport {
        sla_report("acme", heads, &Catalog::presets(), &march(), now())
    }

    fn stage<'a>(r: &'a SlaReport, from: &str, to: &str) -> &'a StageStats {
        r.stages
            .iter()
            .find(|s| s.from_state == from && s.to_state == to)
            .unwrap_or_else(|| panic!("no stage {from} -> {to} in {:#?}", r.stages))
    }

    fn hours(h: i64) -> DateTime<Utc> {
        t0() + Duration::hours(h)
    }

    #[test]
    fn empty_input_gives_an_empty_report() {
        let r = report(&[]);
        assert_eq!(r.tenant, "acme");
        assert_eq!((r.from, r.to), (march().from, march().to));
        assert_eq!(r.generated_at, now());
        assert_eq!(r.orders, 0);
        assert!(r.stages.is_empty());
        assert!(r.by_status.is_empty());
        assert!(r.acknowledgement.is_empty());
        assert!(r.delivery.is_empty());
    }

    #[test]
    fn stages_average_and_take_nearest_rank_percentiles() {
        // confirmed -> preparing takes 1, 2, …, 10 minutes.
        let heads: Vec<Head> = (1..=10)
            .map(|i| {
                kitchen(
                    hours(i),
                    &[("confirmed", 1.0), ("preparing", 1.0 + i as f64)],
                )
            })
            .collect();
        let r = report(&heads);
        assert_eq!(r.orders, 10);
        let s = stage(&r, "confirmed", "preparing");
        assert_eq!(s.lifecycle, "kitchen");
        assert_eq!(s.count, 10);
        assert_eq!(s.avg_minutes, 5.5);
        assert_eq!(s.p50_minutes, 5.0);
        assert_eq!(s.p90_minutes, 9.0);
        assert_eq!(s.sla_minutes, Some(10));
        assert_eq!(s.breaches, 0, "exactly on the SLA is in time");
        let first = stage(&r, "pending", "confirmed");
        assert_eq!((first.count, first.avg_minutes), (10, 1.0));
    }

    #[test]
    fn nearest_rank_percentiles_are_durations_some_order_took() {
        let samples = |values: &[f64]| {
            let mut s = Samples::default();
            for &v in values {
                s.add(v, None, t0());
            }
            s
        };
        assert_eq!(samples(&[]).percentile(90), None);
        assert_eq!(samples(&[4.0]).percentile(50), Some(4.0));
        assert_eq!(samples(&[4.0]).percentile(90), Some(4.0));
        let three = samples(&[3.0, 1.0, 2.0]);
        assert_eq!(three.percentile(50), Some(2.0));
        assert_eq!(three.percentile(90), Some(3.0));
        let twenty: Vec<f64> = (1..=20).rev().map(f64::from).collect();
        assert_eq!(samples(&twenty).percentile(90), Some(18.0));
        assert_eq!(samples(&twenty).percentile(50), Some(10.0));
    }

    #[test]
    fn breaches_count_only_time_over_the_sla() {
        // pending has a 5 minute SLA.
        let heads: Vec<Head> = [4.0, 5.0, 5.5, 12.0]
            .iter()
            .enumerate()
            .map(|(i, &m)| kitchen(hours(i as i64), &[("confirmed", m)]))
            .collect();
        let s = stage(&report(&heads), "pending", "confirmed").clone();
        assert_eq!(s.count, 4);
        assert_eq!(s.sla_minutes, Some(5));
        assert_eq!(s.breaches, 2);
        assert_eq!(s.avg_minutes, 6.6); // 6.625
        assert_eq!(s.p50_minutes, 5.0);
        assert_eq!(s.p90_minutes, 12.0);
    }

    #[test]
    fn minutes_are_rounded_to_a_tenth() {
        let heads = [kitchen(t0(), &[("confirmed", 80.0 / 60.0)])];
        let s = stage(&report(&heads), "pending", "confirmed").clone();
        assert_eq!(
            (s.avg_minutes, s.p50_minutes, s.p90_minutes),
            (1.3, 1.3, 1.3)
        );
    }

    #[test]
    fn a_skipped_state_makes_its_own_stage_and_open_orders_are_not_counted() {
        let collected = kitchen(
            hours(1),
            &[
                ("confirmed", 2.0),
                ("preparing", 5.0),
                ("ready", 30.0),
                ("completed", 40.0),
            ],
        );
        let delivered = kitchen(
            hours(2),
            &[
                ("confirmed", 2.0),
                ("preparing", 5.0),
                ("ready", 30.0),
                ("delivering", 35.0),
                ("completed", 60.0),
            ],
        );
        let cooking = kitchen(hours(3), &[("confirmed", 2.0), ("preparing", 5.0)]);
        let r = report(&[collected, delivered, cooking]);
        let rows: Vec<(&str, &str, usize)> = r
            .stages
            .iter()
            .map(|s| (s.from_state.as_str(), s.to_state.as_str(), s.count))
            .collect();
        assert_eq!(
            rows,
            [
                ("pending", "confirmed", 3),
                ("confirmed", "preparing", 3),
                ("preparing", "ready", 2),
                ("ready", "delivering", 1),
                ("ready", "completed", 1),
                ("delivering", "completed", 1),
            ]
        );
        assert_eq!(stage(&r, "ready", "completed").avg_minutes, 10.0);
        assert_eq!(stage(&r, "ready", "completed").sla_minutes, Some(20));
        assert_eq!(stage(&r, "delivering", "completed").avg_minutes, 25.0);
    }

    #[test]
    fn a_loop_is_measured_from_first_entries() {
        let head = local(
            t0(),
            &[
                ("store_notified", 1.0),
                ("store_acknowledged", 4.0),
                ("picking_in_progress", 10.0),
                ("substitutions_needed", 30.0),
                ("picking_in_progress", 40.0),
                ("ready_for_pickup", 55.0),
            ],
        );
        let r = report(&[head]);
        assert_eq!(
            stage(&r, "picking_in_progress", "substitutions_needed").avg_minutes,
            20.0
        );
        assert_eq!(
            stage(&r, "substitutions_needed", "ready_for_pickup").avg_minutes,
            25.0
        );
        assert!(r
            .stages
            .iter()
            .all(|s| s.from_state != "picking_in_progress" || s.to_state != "ready_for_pickup"));
    }

    #[test]
    fn clock_disagreement_is_not_a_measurement() {
        let mut head = kitchen(t0(), &[("confirmed", 5.0), ("preparing", 10.0)]);
        head.timestamps
            .insert("preparing_at".into(), t0() + mins(1.0));
        let r = report(&[head]);
        let rows: Vec<(&str, &str)> = r
            .stages
            .iter()
            .map(|s| (s.from_state.as_str(), s.to_state.as_str()))
            .collect();
        assert_eq!(rows, [("pending", "confirmed")]);
    }

    #[test]
    fn a_tenant_override_of_the_sla_judges_its_orders() {
        let old = kitchen(hours(1), &[("confirmed", 4.0)]);
        let mut strict = kitchen(hours(2), &[("confirmed", 4.0)]);
        strict.policy.sla_minutes.insert("pending".into(), 3);
        let s = stage(&report(&[old, strict]), "pending", "confirmed").clone();
        assert_eq!(s.breaches, 1, "4 minutes is over 3 but within 5");
        assert_eq!(s.sla_minutes, Some(3), "the latest order's SLA");
    }

    #[test]
    fn amounts_by_status_never_mix_currencies() {
        let priced = |mut head: Head, total: i64, currency: &str| {
            head.total = total;
            head.currency = currency.to_string();
            head
        };
        let heads = [
            priced(kitchen(hours(1), &[]), 1000, "CAD"),
            priced(kitchen(hours(2), &[]), 2501, "CAD"),
            priced(kitchen(hours(3), &[]), 700, "USD"),
            priced(kitchen(hours(4), &[("confirmed", 1.0)]), 333, "CAD"),
        ];
        let r = report(&heads);
        let rows: Vec<(&str, &str, usize, i64, i64)> = r
            .by_status
            .iter()
            .map(|s| {
                (
                    s.status.as_str(),
                    s.currency.as_str(),
                    s.count,
                    s.amount,
                    s.avg_amount,
                )
            })
            .collect();
        assert_eq!(
            rows,
            [
                ("confirmed", "CAD", 1, 333, 333),
                ("pending", "CAD", 2, 3501, 1751),
                ("pending", "USD", 1, 700, 700),
            ]
        );
    }

    #[test]
    fn acknowledgement_is_judged_against_the_states_before_it() {
        // submitted (2) + store_notified (5): the store has 7 minutes.
        let heads = [
            local(
                hours(1),
                &[("store_notified", 1.0), ("store_acknowledged", 6.0)],
            ),
            local(
                hours(2),
                &[("store_notified", 1.0), ("store_acknowledged", 7.0)],
            ),
            local(
                hours(3),
                &[("store_notified", 3.0), ("store_acknowledged", 9.0)],
            ),
            // store_notified skipped: its SLA was still part of the promise.
            local(hours(4), &[("store_acknowledged", 6.5)]),
            // Still waiting, long past the promise.
            local(hours(5), &[("store_notified", 1.0)]),
            // Waiting, but only for three minutes.
            local(now() - mins(3.0), &[]),
            // Cancelled before anyone acknowledged it.
            local(hours(6), &[("cancelled", 1.0)]),
            // Kitchens have no acknowledgement step.
            kitchen(hours(7), &[("confirmed", 1.0)]),
        ];
        let r = report(&heads);
        assert_eq!(r.acknowledgement.len(), 1);
        let a = &r.acknowledgement[0];
        assert_eq!(a.lifecycle, "local_delivery");
        assert_eq!(a.orders, 7);
        assert_eq!(a.acknowledged, 4);
        assert_eq!(a.avg_minutes, Some(7.1)); // 7.125
        assert_eq!(a.p90_minutes, Some(9.0));
        assert_eq!(a.sla_minutes, Some(7));
        assert_eq!(a.breaches, 1);
        assert_eq!(a.within_sla_percent, Some(75.0));
        assert_eq!(a.waiting, 2);
        assert_eq!(a.waiting_overdue, 1);
    }

    #[test]
    fn delivery_is_on_time_against_the_promise_of_the_path_taken() {
        // pending 5 + confirmed 10 + preparing 45 + ready 20 = 80 minutes to
        // collect; 140 with the 60 minute delivery leg.
        let cooked = [("confirmed", 2.0), ("preparing", 5.0), ("ready", 50.0)];
        let with = |tail: &[(&'static str, f64)]| -> Vec<(&'static str, f64)> {
            cooked.iter().chain(tail).copied().collect()
        };
        let heads = [
            kitchen(hours(1), &with(&[("completed", 70.0)])),
            kitchen(hours(2), &with(&[("completed", 90.0)])),
            kitchen(hours(3), &with(&[("completed", 80.0)])),
            kitchen(
                hours(4),
                &with(&[("delivering", 60.0), ("completed", 130.0)]),
            ),
            // Open and far past any promise.
            kitchen(hours(5), &[("confirmed", 2.0)]),
            // Open, just placed.
            kitchen(now() - mins(10.0), &[]),
            kitchen(hours(6), &[("cancelled", 1.0)]),
        ];
        let r = report(&heads);
        assert_eq!(r.delivery.len(), 1);
        let d = &r.delivery[0];
        assert_eq!(d.lifecycle, "kitchen");
        assert_eq!(d.final_state, "completed");
        assert_eq!(d.delivered, 4);
        assert_eq!(d.avg_minutes, Some(92.5));
        assert_eq!(d.p90_minutes, Some(130.0));
        assert_eq!((d.on_time, d.late), (3, 1));
        assert_eq!(d.on_time_percent, Some(75.0));
        assert_eq!(d.open_overdue, 1);
        assert_eq!(d.eta_known, 0);
        assert_eq!(d.eta_mean_abs_error_minutes, None);
        assert_eq!(d.eta_met_percent, None);
    }

    #[test]
    fn a_carrier_sub_state_nobody_reported_still_counts_towards_the_promise() {
        // 15 + 2880 + 1440 + 4320 + 4320 + 1440 = 14415 minutes, in_transit
        // (4320) included although the carrier never reported it.
        let head = order(
            "shipping",
            "acme",
            t0(),
            &[
                ("confirmed", 10.0),
                ("packing", 600.0),
                ("shipped", 2000.0),
                ("out_for_delivery", 9000.0),
                ("delivered", 14000.0),
            ],
        );
        assert!(!head.timestamps.contains_key("in_transit_at"));
        let d = &report(&[head]).delivery[0];
        assert_eq!(
            (d.final_state.as_str(), d.on_time, d.late),
            ("delivered", 1, 0)
        );
    }

    #[test]
    fn partner_etas_and_detours_on_local_delivery() {
        let to_door: Vec<(&str, f64)> = vec![
            ("store_notified", 1.0),
            ("store_acknowledged", 5.0),
            ("picking_in_progress", 10.0),
            ("ready_for_pickup", 40.0),
            ("driver_assigned", 45.0),
            ("driver_pickup_complete", 60.0),
            ("in_transit", 65.0),
            ("delivered", 100.0),
        ];
        let eta = |mut head: Head, eta_minutes: f64| {
            head.delivery = Some(DeliveryInfo {
                partner: "doordash".into(),
                reference: "dd_1".into(),
                kind: DeliveryKind::Delivered,
                driver: None,
                location: None,
                eta: Some(t0() + mins(eta_minutes)),
                updated_at: t0(),
            });
            head
        };
        // 2 + 5 + 15 + 45 + 20 + 30 + 60 + 60 = 237 minutes without
        // substitutions, 277 with them (20 + 20).
        let substituted = local(
            hours(3),
            &[
                ("store_notified", 1.0),
                ("store_acknowledged", 5.0),
                ("picking_in_progress", 10.0),
                ("substitutions_needed", 30.0),
                ("substitutions_approved", 50.0),
                ("ready_for_pickup", 100.0),
                ("driver_assigned", 110.0),
                ("driver_pickup_complete", 150.0),
                ("in_transit", 160.0),
                ("delivered", 250.0),
            ],
        );
        let late = local(hours(4), &[("store_notified", 1.0), ("delivered", 240.0)]);
        let heads = [
            eta(local(t0(), &to_door), 90.0),
            eta(local(t0(), &to_door), 104.0),
            substituted,
            late,
        ];
        let r = report(&heads);
        let d = r
            .delivery
            .iter()
            .find(|d| d.lifecycle == "local_delivery")
            .unwrap();
        assert_eq!(d.final_state, "delivered");
        assert_eq!(d.delivered, 4);
        assert_eq!((d.on_time, d.late), (3, 1));
        assert_eq!(d.eta_known, 2);
        assert_eq!(d.eta_mean_abs_error_minutes, Some(7.0));
        assert_eq!(d.eta_met_percent, Some(50.0));
    }

    #[test]
    fn only_the_tenants_orders_created_in_the_period_count() {
        let period = ReportPeriod {
            from: t0(),
            to: t0() + Duration::days(1),
        };
        let heads = [
            kitchen(t0(), &[("confirmed", 1.0)]),
            kitchen(t0() + Duration::days(1), &[("confirmed", 1.0)]),
            kitchen(t0() - Duration::seconds(1), &[("confirmed", 1.0)]),
            order("kitchen", "globex", hours(1), &[("confirmed", 1.0)]),
        ];
        let r = sla_report("acme", &heads, &Catalog::presets(), &period, now());
        assert_eq!(r.orders, 1);
        assert_eq!(r.by_status.iter().map(|s| s.count).sum::<usize>(), 1);
        assert_eq!(stage(&r, "pending", "confirmed").count, 1);
        assert_eq!(r.delivery[0].delivered, 0);
        let theirs = sla_report("globex", &heads, &Catalog::presets(), &period, now());
        assert_eq!(theirs.orders, 1);
    }

    #[test]
    fn orders_on_unknown_lifecycles_are_skipped() {
        let mut head = kitchen(t0(), &[("confirmed", 1.0)]);
        head.lifecycle = "mystery".into();
        let r = report(&[head, kitchen(t0(), &[])]);
        assert_eq!(r.orders, 1);
        assert_eq!(r.by_status.len(), 1);
        assert!(r.stages.is_empty());
    }

    #[test]
    fn a_span_answers_confirmed_to_ready() {
        let heads = [
            kitchen(
                hours(1),
                &[("confirmed", 2.0), ("preparing", 5.0), ("ready", 40.0)],
            ),
            kitchen(
                hours(2),
                &[("confirmed", 2.0), ("preparing", 5.0), ("ready", 70.0)],
            ),
            kitchen(hours(3), &[("confirmed", 2.0), ("preparing", 5.0)]),
        ];
        let span = |from: &str, to: &str| {
            span_stats(
                "acme",
                &heads,
                &Catalog::presets(),
                &march(),
                "kitchen",
                from,
                to,
            )
        };
        // "accepted" is the kitchen's alias for confirmed.
        let s = span("accepted", "ready").unwrap();
        assert_eq!(
            (s.from_state.as_str(), s.to_state.as_str()),
            ("confirmed", "ready")
        );
        assert_eq!(s.count, 2);
        assert_eq!(s.avg_minutes, 53.0);
        assert_eq!(s.sla_minutes, Some(55), "confirmed 10 + preparing 45");
        assert_eq!(s.breaches, 1);
        assert_eq!(span("ready", "confirmed"), None);
        assert_eq!(span("confirmed", "teleported"), None);
        assert_eq!(span("ready", "completed"), None, "no order made the trip");
        assert_eq!(
            span_stats(
                "acme",
                &heads,
                &Catalog::presets(),
                &march(),
                "mystery",
                "a",
                "b"
            ),
            None
        );
    }

    #[test]
    fn happy_paths_endings_and_detours_of_the_presets() {
        let catalog = Catalog::presets();
        let shape = |name: &str| Shape::new(catalog.get(name).unwrap());
        let optional = |s: &Shape| -> Vec<String> {
            s.path
                .iter()
                .zip(&s.optional)
                .filter(|(_, &o)| o)
                .map(|(p, _)| p.clone())
                .collect()
        };
        let kitchen = shape("kitchen");
        assert_eq!(
            kitchen.path,
            [
                "pending",
                "confirmed",
                "preparing",
                "ready",
                "delivering",
                "completed"
            ]
        );
        assert_eq!(optional(&kitchen), ["delivering"]);
        let local = shape("local_delivery");
        assert_eq!(local.path.last().map(String::as_str), Some("delivered"));
        assert_eq!(
            optional(&local),
            ["substitutions_needed", "substitutions_approved"]
        );
        let shipping = shape("shipping");
        assert_eq!(shipping.path.last().map(String::as_str), Some("delivered"));
        assert!(optional(&shipping).is_empty());
        let pickup = shape("pickup");
        assert_eq!(pickup.path.last().map(String::as_str), Some("completed"));
        assert!(optional(&pickup).is_empty());
    }

    #[test]
    fn the_report_serialises_with_stable_field_names() {
        let heads = [kitchen(t0(), &[("confirmed", 3.0)])];
        let v = serde_json::to_value(report(&heads)).unwrap();
        assert_eq!(v["tenant"], "acme");
        assert_eq!(v["orders"], 1);
        assert_eq!(v["stages"][0]["from_state"], "pending");
        assert_eq!(v["stages"][0]["p90_minutes"], 3.0);
        assert_eq!(v["stages"][0]["sla_minutes"], 5);
        assert_eq!(v["by_status"][0]["amount"], 1000);
        assert_eq!(v["delivery"][0]["final_state"], "completed");
        assert!(v["delivery"][0]["on_time_percent"].is_null());
        assert!(v["acknowledgement"].as_array().unwrap().is_empty());
        let period: ReportPeriod =
            serde_json::from_value(serde_json::json!({"from": v["from"], "to": v["to"]})).unwrap();
        assert_eq!(period, march());
    }
}
