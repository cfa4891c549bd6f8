//! Promises: acknowledgement, delivery on time, spans, the presets' paths.

use super::*;

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
