//! Conformance cases for provider facts as the service takes them in: a
//! fact reaches only the orders of the tenant whose connection it came in
//! on, and a fact racing the tracking code it needs is applied exactly once.

use std::sync::Arc;

use chrono::Duration;

use super::fixtures::{advance, create, manager, recorded, scan, service_at, ship_request, t};
use crate::order::inbound::Subject;
use crate::order::ShipmentStatus;
use crate::order::TrackingInput;
use crate::ports::OrderStore;
use crate::service::FactOutcome;

/// Two tenants ship with the same code (one in another case): each tenant's
/// carrier news reaches its own order only, and an order id named on the
/// wrong tenant's connection is never touched.
pub async fn a_fact_reaches_only_its_own_tenants_orders(store: Arc<dyn OrderStore>) {
    let service = service_at(&store, t(60));
    let ours = create(&store, "acme", "cus_1", 0).await;
    let theirs = create(&store, "globex", "cus_2", 0).await;
    for (head, tenant, code) in [(&ours, "acme", "1ZAAA111"), (&theirs, "globex", "1zaaa111")] {
        advance(&store, &head.id, "confirmed", 1).await;
        service
            .transition(&manager(tenant), &head.id, ship_request(code))
            .await
            .expect("shipped");
    }
    let delivered = scan("evt_1", "1ZAAA111", ShipmentStatus::Delivered, t(30));
    let outcome = service.intake("acme", &delivered).await.unwrap();
    assert!(
        matches!(outcome, FactOutcome::Recorded { .. }),
        "{outcome:?}"
    );
    let status = |id: String| {
        let store = store.clone();
        async move { store.load(&id).await.unwrap().unwrap().head.status }
    };
    assert_eq!(status(ours.id.clone()).await, "delivered");
    assert_eq!(status(theirs.id.clone()).await, "shipped");
    assert_eq!(recorded(&store, &theirs.id, "evt_1").await, 0);

    // The same provider event id on globex's connection is globex's own fact.
    let outcome = service.intake("globex", &delivered).await.unwrap();
    assert!(
        matches!(outcome, FactOutcome::Recorded { .. }),
        "{outcome:?}"
    );
    assert_eq!(status(theirs.id.clone()).await, "delivered");

    // Acme's order id, named on globex's connection: kept for globex, never
    // applied to acme's order.
    let mut by_id = scan("evt_2", "1ZAAA111", ShipmentStatus::Returned, t(31));
    by_id.subject = Subject::Order {
        order_id: ours.id.clone(),
    };
    let before = store.load(&ours.id).await.unwrap().unwrap().head.version;
    let outcome = service.intake("globex", &by_id).await.unwrap();
    assert_eq!(outcome, FactOutcome::Unmatched);
    let after = store.load(&ours.id).await.unwrap().unwrap().head.version;
    assert_eq!(before, after, "another tenant's fact changes nothing");
}

/// A carrier scan and the staff move that attaches its code, sent at the
/// same instant, hundreds of times: every scan is applied exactly once,
/// whichever side wins, and nothing is left waiting.
pub async fn a_fact_racing_its_tracking_code_is_applied_once(store: Arc<dyn OrderStore>) {
    const PAIRS: usize = 200;
    const AT_ONCE: usize = 16;
    let service = service_at(&store, t(60));
    let mut orders = Vec::new();
    for i in 0..PAIRS {
        let head = create(&store, "acme", &format!("cus_{i}"), 0).await;
        advance(&store, &head.id, "confirmed", 1).await;
        orders.push(head.id);
    }
    for wave in orders.chunks(AT_ONCE) {
        let mut tasks = Vec::new();
        for id in wave {
            let code = format!("1ZRACE{}", &id[id.len() - 10..]);
            let news = scan(
                &format!("evt_{id}"),
                &code,
                ShipmentStatus::InTransit,
                t(30),
            );
            let webhook = tokio::spawn({
                let service = service.clone();
                async move { service.intake("acme", &news).await }
            });
            let staff = tokio::spawn({
                let (service, id) = (service.clone(), id.clone());
                async move {
                    service
                        .transition(&manager("acme"), &id, ship_request(&code))
                        .await
                }
            });
            tasks.push((webhook, staff));
        }
        for (webhook, staff) in tasks {
            webhook
                .await
                .expect("task")
                .expect("the webhook is acknowledged");
            staff.await.expect("task").expect("the move is made");
        }
    }
    let mut lost = Vec::new();
    for id in &orders {
        let code = format!("1ZRACE{}", &id[id.len() - 10..]);
        let times = recorded(&store, id, &format!("evt_{id}")).await;
        let head = store.load(id).await.unwrap().unwrap().head;
        let waiting = store
            .stashed(&Subject::Tracking { code }.key("acme"))
            .await
            .unwrap();
        if times != 1 || head.status != "in_transit" || !waiting.is_empty() {
            lost.push((id.clone(), times, head.status, waiting.len()));
        }
    }
    assert!(
        lost.is_empty(),
        "{} of {PAIRS} scans not applied exactly once (order, times, status, waiting): {lost:?}",
        lost.len()
    );
}

/// Carriers recycle codes: news dated long after the order that used a code
/// was delivered waits for the code's next shipment instead.
pub async fn a_recycled_code_never_reaches_last_years_order(store: Arc<dyn OrderStore>) {
    let code = "9400111899223344556677";
    let old = create(&store, "acme", "cus_1", 0).await;
    advance(&store, &old.id, "confirmed", 1).await;
    let early = service_at(&store, t(60));
    early
        .transition(&manager("acme"), &old.id, ship_request(code))
        .await
        .unwrap();
    early
        .intake(
            "acme",
            &scan("evt_1", code, ShipmentStatus::Delivered, t(30)),
        )
        .await
        .unwrap();
    let delivered = store.load(&old.id).await.unwrap().unwrap().head;
    assert_eq!(delivered.status, "delivered");

    let later = t(60) + Duration::days(300);
    let service = service_at(&store, later);
    let news = scan("evt_2", code, ShipmentStatus::InTransit, later);
    assert_eq!(
        service.intake("acme", &news).await.unwrap(),
        FactOutcome::Unmatched
    );
    let untouched = store.load(&old.id).await.unwrap().unwrap().head;
    assert_eq!(untouched.version, delivered.version);

    let new = create(&store, "acme", "cus_2", 0).await;
    advance(&store, &new.id, "confirmed", 1).await;
    service
        .transition(&manager("acme"), &new.id, ship_request(code))
        .await
        .unwrap();
    assert_eq!(recorded(&store, &new.id, "evt_2").await, 1);
    let head = store.load(&new.id).await.unwrap().unwrap().head;
    assert_eq!(head.status, "in_transit");
}

/// A carrier redelivers a scan after staff corrected the code it came by:
/// no order carries that code any more, yet the scan is the one already
/// recorded — a duplicate, acknowledged, not a fact kept waiting for an
/// order with the old code.
pub async fn a_redelivery_after_its_code_was_corrected_is_a_duplicate(store: Arc<dyn OrderStore>) {
    let service = service_at(&store, t(60));
    let order = create(&store, "acme", "cus_1", 0).await;
    advance(&store, &order.id, "confirmed", 1).await;
    service
        .transition(&manager("acme"), &order.id, ship_request("1ZWRONG1"))
        .await
        .unwrap();
    let news = scan("evt_1", "1ZWRONG1", ShipmentStatus::InTransit, t(30));
    let first = service.intake("acme", &news).await.unwrap();
    assert!(matches!(first, FactOutcome::Recorded { .. }), "{first:?}");
    let loaded = store.load(&order.id).await.unwrap().unwrap();
    let shipment = loaded.head.shipments[0].shipment_id.clone();
    let right = TrackingInput {
        carrier: "UPS".into(),
        code: "1ZRIGHT2".into(),
        url: None,
    };
    service
        .correct_tracking(&manager("acme"), &order.id, &shipment, right)
        .await
        .unwrap();
    let before = store.load(&order.id).await.unwrap().unwrap().head.version;

    assert_eq!(
        service.intake("acme", &news).await.unwrap(),
        FactOutcome::Duplicate
    );
    assert_eq!(recorded(&store, &order.id, "evt_1").await, 1);
    let key = news.subject.key("acme");
    assert!(
        store.stashed(&key).await.unwrap().is_empty(),
        "nothing kept waiting"
    );
    let after = store.load(&order.id).await.unwrap().unwrap().head.version;
    assert_eq!(before, after);
}
