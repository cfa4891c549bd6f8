//! The SLA report's tests: fixtures here, stage statistics in `stages`,
//! promises (acknowledgement, delivery, spans, the presets' paths) in
//! `promises`.

mod groups;
mod promises;
mod stages;

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
        store: "main".into(),
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
