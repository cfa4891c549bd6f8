//! Property test of a carrier's event sequence for one package arriving in
//! any order, with redeliveries and drops: once the final scan is in, the
//! order is delivered, the package shows the newest scan, and the timeline is
//! exactly what the same scans give when they arrive in order. Which state
//! a package's scans put the order in is the lifecycle's to say, through the
//! roles its states play.

use std::collections::HashSet;
use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use order_core::lifecycle::FulfilmentType;
use order_core::lifecycle::{Actor, Catalog, Lifecycle, LifecycleDef, StateRole};
use order_core::order::decide::{self, Origin, StatusClaim};
use order_core::order::inbound::{Inbound, InboundFact, ShipmentNews, Subject};
use order_core::order::{
    Contact, Event, Head, LineItem, OrderPlaced, OrderPolicy, ShipmentStatus, TrackingInput,
};
use order_core::views::timeline;
use proptest::prelude::*;

fn t(minutes: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 0).unwrap() + Duration::minutes(minutes)
}

const CODE: &str = "1Z999AA10123456784";

fn shipping() -> Arc<Lifecycle> {
    Catalog::presets().get("shipping").unwrap()
}

/// A shipping order, paid and shipped with tracking by minute 3.
fn shipped_order(lifecycle: &Lifecycle) -> (Head, Vec<Event>) {
    let placed = OrderPlaced {
        store: "main".into(),
        lifecycle: lifecycle.name().into(),
        fulfilment: FulfilmentType::Shipping,
        status: "pending".into(),
        customer_id: "c".into(),
        currency: "CAD".into(),
        items: vec![LineItem {
            sku: "A".into(),
            name: "Lamp".into(),
            unit_price: 1,
            quantity: 1,
        }],
        total: 1,
        shipping: None,
        contact: Contact::default(),
        policy: OrderPolicy::default(),
    };
    let staff = Origin {
        source: "staff".into(),
        actor_kind: Actor::Manager,
        actor: None,
        external_id: None,
    };
    let d = decide::place_order(
        ("ord_1".into(), "trk_1".into()),
        "acme",
        placed,
        &staff,
        lifecycle,
        t(0),
    );
    let (mut head, mut log) = (d.head, d.events);
    for (minute, to, tracking) in [
        (1, "confirmed", None),
        (2, "packing", None),
        (3, "shipped", Some(CODE)),
    ] {
        let claim = StatusClaim {
            to: to.into(),
            occurred_at: t(minute),
            reason: None,
            tracking: tracking.map(|code| TrackingInput {
                carrier: "UPS".into(),
                code: code.into(),
                url: None,
            }),
        };
        let d = decide::transition(&head, &[], lifecycle, &staff, claim, None, t(minute)).unwrap();
        head = d.head;
        log.extend(d.events);
    }
    (head, log)
}

/// The carrier's scans, in the order they happened.
fn scans() -> Vec<Inbound> {
    [
        (10, ShipmentStatus::LabelCreated, "pre_transit"),
        (20, ShipmentStatus::InTransit, "in_transit"),
        (30, ShipmentStatus::InTransit, "in_transit"),
        (40, ShipmentStatus::Delayed, "in_transit/weather_delay"),
        (50, ShipmentStatus::OutForDelivery, "out_for_delivery"),
        (60, ShipmentStatus::Delivered, "delivered"),
    ]
    .into_iter()
    .enumerate()
    .map(|(i, (minute, status, raw))| Inbound {
        source: "carrier:easypost".into(),
        event_id: format!("evt_{i}"),
        occurred_at: t(minute),
        subject: Subject::Tracking { code: CODE.into() },
        fact: InboundFact::Shipment(ShipmentNews {
            tracking_code: CODE.into(),
            carrier: Some("UPS".into()),
            status,
            raw_status: raw.into(),
            message: Some(format!("scan {i}")),
            location: None,
            tracking_url: None,
            estimated_delivery: None,
        }),
    })
    .collect()
}

/// Feeds scans as the service would: a redelivered event id is dropped.
fn deliver(arrivals: &[Inbound]) -> (Head, Vec<Event>) {
    deliver_on(&shipping(), arrivals)
}

fn deliver_on(lifecycle: &Lifecycle, arrivals: &[Inbound]) -> (Head, Vec<Event>) {
    let (mut head, mut log) = shipped_order(lifecycle);
    let mut parked: Vec<Event> = Vec::new();
    let mut seen = HashSet::new();
    for inbound in arrivals {
        if !seen.insert(inbound.event_id.clone()) {
            continue;
        }
        let d = decide::record_inbound(&head, &parked, lifecycle, inbound, t(120));
        parked.retain(|p| !d.unpark.iter().any(|u| u.event_id == p.event_id));
        parked.extend(d.park);
        head = d.head;
        log.extend(d.events);
    }
    (head, log)
}

fn statuses(log: &[Event]) -> Vec<(String, DateTime<Utc>)> {
    timeline(log, &shipping())
        .into_iter()
        .map(|e| (e.status, e.occurred_at))
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn any_arrival_order_with_redeliveries_and_drops_converges(
        kept in prop::collection::vec(any::<bool>(), 5),
        order in Just((0..6usize).collect::<Vec<_>>()).prop_shuffle(),
        redeliveries in prop::collection::vec(0..6usize, 0..6),
    ) {
        let all = scans();
        // Any scan but the last may be dropped.
        let subset: Vec<usize> = (0..5).filter(|&i| kept[i]).chain([5]).collect();
        let in_order: Vec<Inbound> = subset.iter().map(|&i| all[i].clone()).collect();
        let mut arrivals: Vec<Inbound> = order.iter().filter(|i| subset.contains(i)).map(|&i| all[i].clone()).collect();
        for r in redeliveries {
            if subset.contains(&r) {
                arrivals.push(all[r].clone());
            }
        }
        let (expected_head, expected_log) = deliver(&in_order);
        let (head, log) = deliver(&arrivals);
        prop_assert_eq!(&head.status, "delivered");
        prop_assert_eq!(&head.status, &expected_head.status);
        prop_assert_eq!(head.shipments.len(), 1);
        prop_assert_eq!(head.shipments[0].status, ShipmentStatus::Delivered, "the newest scan wins");
        prop_assert_eq!(head.shipments[0].last_scan_at, Some(t(60)));
        prop_assert_eq!(statuses(&log), statuses(&expected_log));
        prop_assert_eq!(&head.timestamps, &expected_head.timestamps);
    }
}

/// The shipping preset as a tenant might rewrite it in its own file.
fn custom_shipping(edit: impl FnOnce(&mut LifecycleDef)) -> Arc<Lifecycle> {
    let mut def = shipping().definition().clone();
    def.name = "custom".into();
    edit(&mut def);
    Arc::new(Lifecycle::from_definition(def).unwrap())
}

fn rename_delivered(state: &mut String) {
    if state == "delivered" {
        *state = "handed_over".into();
    }
}

#[test]
fn scans_move_the_order_to_the_states_playing_their_roles() {
    // The tenant calls the ending `handed_over`; it still plays `delivered`.
    let lifecycle = custom_shipping(|def| {
        def.states
            .iter_mut()
            .for_each(|s| rename_delivered(&mut s.name));
        for t in &mut def.transitions {
            t.from.iter_mut().for_each(rename_delivered);
            rename_delivered(&mut t.to);
        }
        def.aliases.values_mut().for_each(rename_delivered);
        def.roles.values_mut().for_each(rename_delivered);
    });
    let (head, _) = deliver_on(&lifecycle, &scans());
    assert_eq!(head.status, "handed_over");
    assert_eq!(head.timestamps["delivered_at"], t(60));
}

#[test]
fn without_package_roles_scans_update_the_package_only() {
    let lifecycle = custom_shipping(|def| {
        for role in [
            StateRole::InTransit,
            StateRole::OutForDelivery,
            StateRole::Delivered,
            StateRole::Returned,
        ] {
            def.roles.remove(&role);
        }
    });
    let (head, _) = deliver_on(&lifecycle, &scans());
    assert_eq!(head.status, "shipped", "staff move the order themselves");
    assert_eq!(head.shipments[0].status, ShipmentStatus::Delivered);
    assert!(head.flags.is_empty());
}
