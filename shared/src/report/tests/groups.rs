//! Reports split by store, local day, local hour and shift, and the
//! confirmed → ready span as its own figure per group.

use super::*;
use crate::report::{group_heads, GroupBy, SpanQuery, SpanReport};
use crate::tenants::TenantSettings;

fn settings() -> TenantSettings {
    serde_json::from_value(serde_json::json!({
        "stores": {
            "soho": {"name": "SoHo", "utc_offset": "-05:00"},
            "tribeca": {"utc_offset": "+01:00"}
        },
        "shifts": [
            {"name": "breakfast", "from": "06:00", "to": "11:00"},
            {"name": "lunch", "from": "11:00", "to": "15:00"}
        ]
    }))
    .unwrap()
}

fn at(store: &str, placed: DateTime<Utc>, ready_after: f64) -> Head {
    let mut head = kitchen(
        placed,
        &[
            ("confirmed", 1.0),
            ("preparing", 2.0),
            ("ready", ready_after),
        ],
    );
    head.store = store.into();
    head
}

/// t0 is 09:00 UTC: 04:00 in SoHo (no shift), 10:00 in Tribeca (breakfast).
fn heads() -> Vec<Head> {
    vec![
        at("soho", t0(), 11.0),
        at("soho", t0() + Duration::hours(8), 21.0),
        at("tribeca", t0(), 31.0),
        at("tribeca", t0() + Duration::days(1), 41.0),
    ]
}

fn keys(by: GroupBy) -> Vec<(String, usize)> {
    group_heads(&heads(), by, &settings())
        .into_iter()
        .map(|(key, heads)| (key, heads.len()))
        .collect()
}

#[test]
fn groups_are_the_stores_local_days_hours_and_shifts() {
    let owned = |v: &[(&str, usize)]| {
        v.iter()
            .map(|(k, n)| (k.to_string(), *n))
            .collect::<Vec<_>>()
    };
    assert_eq!(keys(GroupBy::Store), owned(&[("soho", 2), ("tribeca", 2)]));
    // 04:00 and 12:00 in SoHo on the 2nd; 10:00 in Tribeca on the 2nd and 3rd.
    assert_eq!(
        keys(GroupBy::Day),
        owned(&[("2026-03-02", 3), ("2026-03-03", 1)])
    );
    assert_eq!(
        keys(GroupBy::Hour),
        owned(&[("04", 1), ("10", 2), ("12", 1)])
    );
    assert_eq!(
        keys(GroupBy::Shift),
        owned(&[("breakfast", 2), ("lunch", 1), ("other", 1)])
    );
}

/// The kitchen's span from `from_state` to `to_state` over [`heads`].
fn span(from_state: &str, to_state: &str, by: GroupBy) -> SpanReport {
    let query = SpanQuery {
        lifecycle: "kitchen".into(),
        from_state: from_state.into(),
        to_state: to_state.into(),
        by: Some(by),
        ..SpanQuery::default()
    };
    let catalog = Catalog::presets();
    SpanReport::new("acme", &heads(), &catalog, &settings(), &march(), &query)
}

#[test]
fn confirmed_to_ready_is_its_own_figure_overall_and_per_store() {
    let span = span("accepted", "ready", GroupBy::Store);
    let overall = span.overall.unwrap();
    assert_eq!((overall.count, overall.p50_minutes), (4, 20.0));
    let per_store: Vec<_> = span
        .groups
        .iter()
        .map(|g| (g.key.as_str(), g.figures.count, g.figures.p90_minutes))
        .collect();
    assert_eq!(per_store, [("soho", 2, 20.0), ("tribeca", 2, 40.0)]);
}

#[test]
fn an_unknown_span_reports_nothing_rather_than_zeros() {
    let span = span("ready", "confirmed", GroupBy::Day);
    assert_eq!(span.overall, None);
    assert!(span.groups.is_empty());
}
