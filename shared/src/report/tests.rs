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
