//! Stage statistics: averages, percentiles, breaches, loops, amounts.

use super::*;

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
