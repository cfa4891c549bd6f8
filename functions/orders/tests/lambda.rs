//! The real `orders` binary through `cargo lambda`: a transition and a read,
//! from `events/transition.json` and `events/get-order.json`, on DynamoDB Local.

use std::path::{Path, PathBuf};

use order_core::lambda_harness::{fresh_table, http_response, LambdaEmulator};
use order_core::lifecycle::FulfilmentType;
use order_core::lifecycle::{Actor, Catalog};
use order_core::order::decide::{place_order, Origin};
use order_core::order::{Contact, LineItem, OrderPlaced, OrderPolicy};
use order_core::ports::{Commit, OrderStore};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The order the sample events name.
const ORDER_ID: &str = "ord_0123456789abcdef0123456789abcdef";

#[tokio::test]
async fn transition_and_read_events_move_and_show_the_order() {
    let store = fresh_table().await;
    let shipping = Catalog::presets().get("shipping").unwrap();
    let placed = OrderPlaced {
        lifecycle: "shipping".into(),
        fulfilment: FulfilmentType::Shipping,
        status: "pending".into(),
        customer_id: "cus_42".into(),
        currency: "CAD".into(),
        items: vec![LineItem {
            sku: "CHN-800".into(),
            name: "Chandelier".into(),
            unit_price: 80_000,
            quantity: 1,
        }],
        total: 80_000,
        shipping: None,
        contact: Contact::default(),
        policy: OrderPolicy::default(),
    };
    let origin = Origin {
        source: "staff".into(),
        actor_kind: Actor::Manager,
        actor: None,
        external_id: None,
    };
    let ids = (ORDER_ID.to_string(), "trk_sample".to_string());
    let decision = place_order(ids, "acme", placed, &origin, &shipping, chrono::Utc::now());
    store.commit(&Commit::of(decision)).await.unwrap();

    let endpoint = std::env::var("DYNAMODB_ENDPOINT").unwrap();
    let mut lambda = LambdaEmulator::start(&root().join("Cargo.toml"));
    lambda.function(
        "orders",
        Path::new(env!("CARGO_BIN_EXE_orders")),
        &[
            ("TABLE_NAME", store.table()),
            ("AWS_ENDPOINT_URL_DYNAMODB", &endpoint),
        ],
    );
    let (status, moved) = http_response(
        &lambda
            .invoke("orders", &root().join("events/transition.json"))
            .unwrap(),
    );
    assert_eq!(status, 200, "{moved}");
    assert_eq!(moved["status"], "confirmed");
    assert_eq!(moved["version"], 2);

    // The same move again is a lost race by now: a 409 problem.
    let (status, problem) = http_response(
        &lambda
            .invoke("orders", &root().join("events/transition.json"))
            .unwrap(),
    );
    assert_eq!(status, 409, "{problem}");
    assert_eq!(problem["current_status"], "confirmed");

    let (status, order) = http_response(
        &lambda
            .invoke("orders", &root().join("events/get-order.json"))
            .unwrap(),
    );
    assert_eq!(status, 200);
    assert_eq!(order["timeline"].as_array().unwrap().len(), 2);
    assert!(order["allowed_actions"]
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a["to"] == "packing"));
    assert_eq!(
        store.load(ORDER_ID).await.unwrap().unwrap().head.status,
        "confirmed"
    );
}
