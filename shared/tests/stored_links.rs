//! Links stored before links were checked: an order whose log already holds
//! a `javascript:` tracking link or a `data:` driver photo (written straight
//! through the domain and the store, as the service did before it refused
//! them) never hands one to a page, in the staff view or the customer's.

use std::sync::Arc;

use order_core::auth::{Principal, Role};
use order_core::lifecycle::Catalog;
use order_core::order::decide::{self, StatusClaim};
use order_core::order::inbound::{DeliveryKind, Driver};
use order_core::order::{DeliveryInfo, TrackingInput};
use order_core::ports::{Commit, OrderStore, SystemClock};
use order_core::service::{Checkout, OrderService, TransitionRequest};
use order_core::store::SqliteStore;
use order_core::tenants::Tenants;
use order_core::testkit::catalog;
use order_core::views::{OrderView, TrackingView};
use serde_json::{json, Value};

use order_core::order::link::HOSTILE_LINKS;

struct World {
    store: Arc<SqliteStore>,
    catalog: Arc<Catalog>,
    service: OrderService,
    manager: Principal,
}

fn world() -> World {
    let store = Arc::new(SqliteStore::in_memory(catalog()).unwrap());
    let service = OrderService::new(
        store.clone(),
        catalog(),
        Arc::new(Tenants::default()),
        Arc::new(SystemClock),
    );
    World {
        store,
        catalog: catalog(),
        service,
        manager: Principal {
            tenant: "acme".into(),
            role: Role::Manager,
            subject: "m".into(),
            stores: None,
        },
    }
}

impl World {
    async fn order(&self, fulfilment: &str) -> (String, String) {
        let body = json!({ "customer_id": "c", "currency": "CAD", "fulfilment": fulfilment,
            "items": [{ "sku": "A", "name": "Lamp", "unit_price": 100, "quantity": 1 }],
            "shipping": { "method": "std", "name": "D",
                "address": { "line1": "1 King", "city": "Toronto", "postal_code": "M5H", "country": "CA" } } });
        let checkout: Checkout = serde_json::from_value(body).unwrap();
        let placed = self
            .service
            .place(&self.manager, checkout, None)
            .await
            .unwrap();
        let id = placed.body["id"].as_str().unwrap().to_string();
        let public = placed.body["public_id"].as_str().unwrap().to_string();
        (id, public)
    }
}

fn links(view: &Value, key: &str) -> Vec<Value> {
    view["shipments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s[key].clone())
        .collect()
}

#[tokio::test]
async fn a_tracking_link_stored_before_links_were_checked_never_reaches_a_view() {
    for url in HOSTILE_LINKS {
        let w = world();
        let (id, public) = w.order("shipping").await;
        let confirm = TransitionRequest {
            to: "confirmed".into(),
            reason: None,
            tracking: None,
            expected_version: None,
        };
        w.service
            .transition(&w.manager, &id, confirm)
            .await
            .unwrap();
        // Shipped as the service did before it checked links.
        let loaded = w.store.load(&id).await.unwrap().unwrap();
        let lifecycle = w.catalog.get(&loaded.head.lifecycle).unwrap();
        let claim = StatusClaim {
            to: "shipped".into(),
            occurred_at: chrono::Utc::now(),
            reason: None,
            tracking: Some(TrackingInput {
                carrier: "UPS".into(),
                code: "1Z999AA10123456784".into(),
                url: Some(url.into()),
            }),
        };
        let now = chrono::Utc::now();
        let decision = decide::transition(
            &loaded.head,
            &loaded.parked,
            &lifecycle,
            &w.manager.origin(),
            claim,
            None,
            now,
        )
        .unwrap();
        w.store.commit(&Commit::of(decision)).await.unwrap();
        let stored = w.store.load(&id).await.unwrap().unwrap().head;
        assert_eq!(stored.shipments[0].tracking_url.as_deref(), Some(url));

        let staff = serde_json::to_value(w.service.get(&w.manager, &id).await.unwrap()).unwrap();
        let customer = serde_json::to_value(w.service.track(&public).await.unwrap()).unwrap();
        for (who, view) in [("staff", &staff), ("customer", &customer)] {
            assert_eq!(links(view, "tracking_url"), [Value::Null], "{who}: {url:?}");
            assert_eq!(links(view, "tracking_code"), [json!("1Z999AA10123456784")]);
            let text = view.to_string().to_lowercase();
            assert!(
                !text.contains("script:"),
                "{who} view leaks {url:?}: {text}"
            );
            assert!(
                !text.contains("data:text"),
                "{who} view leaks {url:?}: {text}"
            );
        }
    }
}

#[tokio::test]
async fn a_driver_photo_that_is_not_a_web_link_never_reaches_a_view() {
    let w = world();
    let (id, _) = w.order("local_delivery").await;
    let mut head = w.store.load(&id).await.unwrap().unwrap().head;
    let lifecycle = w.catalog.get(&head.lifecycle).unwrap();
    for (photo, shown) in HOSTILE_LINKS.iter().map(|u| (*u, Value::Null)).chain([(
        "https://cdn.example/robin.jpg",
        json!("https://cdn.example/robin.jpg"),
    )]) {
        head.delivery = Some(DeliveryInfo {
            partner: "delivery:doordash".into(),
            reference: "dd_1".into(),
            kind: DeliveryKind::DriverAssigned,
            driver: Some(Driver {
                name: "Robin".into(),
                vehicle: None,
                photo_url: Some(photo.into()),
                phone: None,
            }),
            location: None,
            eta: None,
            updated_at: chrono::Utc::now(),
        });
        let customer = serde_json::to_value(TrackingView::new(&head, &[], &lifecycle)).unwrap();
        assert_eq!(customer["delivery"]["photo_url"], shown, "{photo:?}");
        assert_eq!(customer["delivery"]["driver_name"], json!("Robin"));
        let staff = serde_json::to_value(OrderView::new(
            head.clone(),
            &[],
            None,
            &lifecycle,
            w.manager.actor(),
        ))
        .unwrap();
        assert_eq!(staff["delivery"]["driver"]["photo_url"], shown, "{photo:?}");
    }
}
