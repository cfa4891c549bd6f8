//! Stall sweeps with an injected clock: each reason fires once at the right
//! moment, escalates while unresolved, and clears when the order moves on.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use order_core::auth::{Principal, Role};
use order_core::lifecycle::Actor;
use order_core::order::decide::{Origin, StatusClaim};
use order_core::order::StallReason;
use order_core::order::{EventBody, Flag, FlagKind, Head, TrackingInput};
use order_core::ports::{Clock, OrderStore};
use order_core::service::{Checkout, OrderService, TransitionRequest};
use order_core::store::SqliteStore;
use order_core::tenants::{TenantSettings, Tenants};
use order_core::testkit::catalog;
use serde_json::json;

/// A clock tests move by hand.
struct ManualClock(AtomicI64);

impl ManualClock {
    fn start() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 0).unwrap()
    }
    fn advance(&self, minutes: i64) {
        self.0.fetch_add(minutes, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        Self::start() + Duration::minutes(self.0.load(Ordering::SeqCst))
    }
}

struct World {
    clock: Arc<ManualClock>,
    store: Arc<SqliteStore>,
    service: OrderService,
    manager: Principal,
}

impl World {
    fn new() -> Self {
        let clock = Arc::new(ManualClock(AtomicI64::new(0)));
        let store = Arc::new(SqliteStore::in_memory(catalog()).unwrap());
        let mut tenants = Tenants::default();
        tenants.tenants.insert(
            "acme".into(),
            TenantSettings {
                allow_tracking_pending: true,
                ..TenantSettings::default()
            },
        );
        let service = OrderService::new(store.clone(), catalog(), Arc::new(tenants), clock.clone());
        let manager = Principal {
            tenant: "acme".into(),
            role: Role::Manager,
            subject: "m".into(),
            stores: None,
        };
        World {
            clock,
            store,
            service,
            manager,
        }
    }

    async fn order(&self, fulfilment: &str) -> String {
        let mut body = json!({ "customer_id": "c", "currency": "CAD", "fulfilment": fulfilment,
                               "items": [{ "sku": "A", "name": "Lamp", "unit_price": 100, "quantity": 1 }] });
        if fulfilment != "pickup" {
            body["shipping"] = json!({ "method": "std", "name": "D",
                "address": { "line1": "1 King", "city": "Toronto", "postal_code": "M5H", "country": "CA" } });
        }
        let checkout: Checkout = serde_json::from_value(body).unwrap();
        let placed = self
            .service
            .place(&self.manager, checkout, None)
            .await
            .unwrap();
        placed.body["id"].as_str().unwrap().to_string()
    }

    async fn staff(&self, id: &str, to: &str, tracking: Option<&str>) {
        let request = TransitionRequest {
            to: to.into(),
            reason: None,
            tracking: tracking.map(|code| TrackingInput {
                carrier: "UPS".into(),
                code: code.into(),
                url: None,
            }),
            expected_version: None,
        };
        self.service
            .transition(&self.manager, id, request)
            .await
            .unwrap();
    }

    async fn head(&self, id: &str) -> Head {
        self.store.load(id).await.unwrap().unwrap().head
    }

    /// Sweeps and returns the order's flags raised by the sweep.
    async fn sweep(&self, id: &str) -> Vec<Flag> {
        self.service.sweep(100).await.unwrap();
        self.head(id)
            .await
            .flags
            .into_iter()
            .filter(|f| f.cause.is_some())
            .collect()
    }
}

#[tokio::test]
async fn payment_pending_too_long_fires_once_escalates_and_clears_on_payment() {
    let w = World::new();
    let id = w.order("shipping").await;
    w.clock.advance(14);
    assert!(
        w.sweep(&id).await.is_empty(),
        "not before the 15-minute SLA"
    );
    w.clock.advance(2);
    let flags = w.sweep(&id).await;
    assert_eq!(flags.len(), 1);
    assert_eq!(
        flags[0].cause,
        Some(StallReason::Sla {
            state: "pending".into()
        })
    );
    assert_eq!((flags[0].kind, flags[0].level), (FlagKind::Stalled, 1));
    w.clock.advance(30);
    assert_eq!(
        w.sweep(&id).await[0].level,
        1,
        "no second flag before the escalation time"
    );
    w.clock.advance(31);
    let escalated = w.sweep(&id).await;
    assert_eq!(
        (escalated.len(), escalated[0].level),
        (1, 2),
        "one flag, one level up"
    );

    let origin = Origin {
        source: "payment:stripe".into(),
        actor_kind: Actor::Payment,
        actor: None,
        external_id: Some("pi_1".into()),
    };
    let claim = StatusClaim {
        to: "paid".into(),
        occurred_at: w.clock.now(),
        reason: None,
        tracking: None,
    };
    w.service.record_fact(&id, &origin, claim).await.unwrap();
    let head = w.head(&id).await;
    assert!(
        head.flags.is_empty(),
        "the stall cleared when the order moved on"
    );
    assert_eq!(
        head.due_at,
        Some(w.clock.now() + Duration::minutes(2880)),
        "next: the confirmed SLA"
    );

    // The flags went out as OrderStalled events.
    let events = w.store.events(&id, 0, 100).await.unwrap();
    let stalls = events
        .iter()
        .filter(|e| order_core::bus::entry(e).detail_type == "OrderStalled")
        .count();
    assert_eq!(stalls, 2);
}

#[tokio::test]
async fn shipped_without_tracking_is_flagged_after_a_day_and_cleared_by_the_code() {
    let w = World::new();
    let id = w.order("shipping").await;
    w.staff(&id, "confirmed", None).await;
    w.staff(&id, "shipped", None).await;
    w.clock.advance(23 * 60);
    assert!(w
        .sweep(&id)
        .await
        .iter()
        .all(|f| !matches!(f.cause, Some(StallReason::TrackingPending { .. }))));
    w.clock.advance(61);
    let flags = w.sweep(&id).await;
    assert!(
        flags
            .iter()
            .any(|f| matches!(f.cause, Some(StallReason::TrackingPending { .. }))),
        "{flags:?}"
    );
    let code = TrackingInput {
        carrier: "UPS".into(),
        code: "1ZLATE".into(),
        url: None,
    };
    w.service.add_tracking(&w.manager, &id, code).await.unwrap();
    let head = w.head(&id).await;
    assert!(!head
        .flags
        .iter()
        .any(|f| matches!(f.cause, Some(StallReason::TrackingPending { .. }))));
}

#[tokio::test]
async fn a_package_without_a_scan_for_three_days_is_flagged_until_the_next_scan() {
    let w = World::new();
    let id = w.order("shipping").await;
    w.staff(&id, "confirmed", None).await;
    w.staff(&id, "shipped", Some("1ZQUIET")).await;
    w.clock.advance(71 * 60);
    assert!(
        w.sweep(&id).await.is_empty()
            || w.head(&id)
                .await
                .flags
                .iter()
                .all(|f| !matches!(f.cause, Some(StallReason::NoScan { .. })))
    );
    w.clock.advance(2 * 60);
    let flags = w.sweep(&id).await;
    assert!(
        flags
            .iter()
            .any(|f| matches!(f.cause, Some(StallReason::NoScan { .. }))),
        "{flags:?}"
    );

    let scan = order_core::order::inbound::Inbound {
        source: "carrier:easypost".into(),
        event_id: "evt_scan".into(),
        occurred_at: w.clock.now(),
        subject: order_core::order::inbound::Subject::Tracking {
            code: "1ZQUIET".into(),
        },
        fact: order_core::order::inbound::InboundFact::Shipment(
            order_core::order::inbound::ShipmentNews {
                tracking_code: "1ZQUIET".into(),
                carrier: Some("UPS".into()),
                status: order_core::order::ShipmentStatus::InTransit,
                raw_status: "in_transit".into(),
                message: None,
                location: None,
                tracking_url: None,
                estimated_delivery: None,
            },
        ),
    };
    w.service.intake("acme", &scan).await.unwrap();
    let head = w.head(&id).await;
    assert!(!head
        .flags
        .iter()
        .any(|f| matches!(f.cause, Some(StallReason::NoScan { .. }))));
}

#[tokio::test]
async fn a_fact_parked_past_its_window_needs_review_until_it_is_released() {
    let w = World::new();
    let id = w.order("shipping").await;
    w.staff(&id, "confirmed", None).await;
    let origin = Origin {
        source: "carrier:ups".into(),
        actor_kind: Actor::Carrier,
        actor: None,
        external_id: Some("early".into()),
    };
    let claim = StatusClaim {
        to: "in_transit".into(),
        occurred_at: w.clock.now(),
        reason: None,
        tracking: None,
    };
    w.service.record_fact(&id, &origin, claim).await.unwrap();
    w.clock.advance(61);
    let flags = w.sweep(&id).await;
    let review = flags
        .iter()
        .find(|f| matches!(f.cause, Some(StallReason::ParkedTooLong { .. })))
        .expect("flagged");
    assert_eq!(review.kind, FlagKind::NeedsReview);
    let events = w.store.events(&id, 0, 100).await.unwrap();
    assert!(events.iter().any(|e| matches!(
        &e.body,
        EventBody::FlagRaised {
            flag: FlagKind::NeedsReview,
            ..
        }
    ) && order_core::bus::entry(e).detail_type
        == "OrderNeedsReview"));

    w.staff(&id, "shipped", Some("1ZP")).await;
    let head = w.head(&id).await;
    assert_eq!(head.status, "in_transit", "released");
    assert!(!head
        .flags
        .iter()
        .any(|f| matches!(f.cause, Some(StallReason::ParkedTooLong { .. }))));
}

#[tokio::test]
async fn a_store_not_acknowledging_is_flagged_and_tenants_may_set_their_own_slas() {
    let w = World::new();
    let id = w.order("local_delivery").await;
    w.staff(&id, "store_notified", None).await;
    w.clock.advance(6);
    let flags = w.sweep(&id).await;
    assert_eq!(
        flags[0].cause,
        Some(StallReason::Sla {
            state: "store_notified".into()
        })
    );

    // A tenant with a slower store: 30 minutes to acknowledge.
    let clock = Arc::new(ManualClock(AtomicI64::new(0)));
    let store = Arc::new(SqliteStore::in_memory(catalog()).unwrap());
    let mut tenants = Tenants::default();
    let mut relaxed = TenantSettings::default();
    relaxed.sla_minutes.insert("store_notified".into(), 30);
    tenants.tenants.insert("acme".into(), relaxed);
    let service = OrderService::new(store.clone(), catalog(), Arc::new(tenants), clock.clone());
    let w2 = World {
        clock,
        store,
        service,
        manager: w.manager.clone(),
    };
    let id = w2.order("local_delivery").await;
    w2.staff(&id, "store_notified", None).await;
    w2.clock.advance(6);
    assert!(w2.sweep(&id).await.is_empty(), "the tenant's SLA applies");
    w2.clock.advance(25);
    assert_eq!(w2.sweep(&id).await.len(), 1);
}
