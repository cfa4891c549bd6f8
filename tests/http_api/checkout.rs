//! Checkout: the order it creates with its frozen snapshot, and the
//! Idempotency-Key that replays it.

use crate::common::*;
use order_core::auth::Role;
use serde_json::{json, Value};

// ---------------------------------------------------------------------------
// Checkout
// ---------------------------------------------------------------------------

#[tokio::test]
async fn checkout_creates_a_pending_order_with_a_frozen_snapshot() {
    let server = start();
    let manager = token("acme", Role::Manager);
    let body = checkout_body("cus_1", "shipping");

    let created = server.checkout(&manager, &body, None).await;
    let order = created.expect(201).clone();
    let id = str_of(&order, "id").to_string();
    assert!(id.starts_with("ord_"), "{id}");
    assert!(str_of(&order, "public_id").starts_with("trk_"));
    assert_ne!(order["public_id"], order["id"]);
    assert_eq!(order["status"], "pending");
    assert_eq!(order["version"], 1);
    assert_eq!(order["tenant"], "acme");
    assert_eq!(
        created.header("location"),
        Some(format!("/orders/{id}").as_str())
    );
    assert!(created.content_type().starts_with("application/json"));

    let fetched = server.order(&manager, &id).await;
    assert_eq!(fetched["items"], body["items"]);
    assert_eq!(fetched["total"], json!(CHECKOUT_TOTAL));
    assert_eq!(fetched["currency"], "CAD");
    assert_eq!(fetched["customer_id"], "cus_1");
    assert_eq!(fetched["shipping"], body["shipping"]);
    assert_eq!(fetched["contact"], body["contact"]);
    assert_eq!(fetched["status"], "pending");
    assert_eq!(fetched["version"], 1);
    let snapshot = |v: &Value| {
        json!([
            v["items"],
            v["total"],
            v["currency"],
            v["shipping"],
            v["contact"],
            v["customer_id"]
        ])
    };
    let before = snapshot(&fetched);

    server.advance(&manager, &id, "confirmed", json!({})).await;
    server
        .advance(&manager, &id, "shipped", json!({ "tracking": tracking() }))
        .await;
    server.advance(&manager, &id, "delivered", json!({})).await;
    let after = server.order(&manager, &id).await;
    assert_eq!(after["status"], "delivered");
    assert_eq!(
        snapshot(&after),
        before,
        "the checkout snapshot must never change"
    );
}

// ---------------------------------------------------------------------------
// Idempotency
// ---------------------------------------------------------------------------

#[tokio::test]
async fn idempotency_key_replays_the_same_order_and_refuses_a_different_body() {
    let server = start();
    let manager = token("acme", Role::Manager);
    let body = checkout_body("cus_1", "shipping");

    let first = server.checkout(&manager, &body, Some("key-123")).await;
    let order = first.expect(201).clone();
    assert_eq!(first.header("idempotent-replayed"), None);

    let again = server.checkout(&manager, &body, Some("key-123")).await;
    let replayed = again.expect(200).clone();
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(replayed["id"], order["id"]);
    assert_eq!(replayed["public_id"], order["public_id"]);
    assert_eq!(
        again.header("location"),
        Some(format!("/orders/{}", str_of(&order, "id")).as_str())
    );

    let mut other = body.clone();
    other["items"][0]["quantity"] = json!(5);
    let refused = server.checkout(&manager, &other, Some("key-123")).await;
    refused.problem(422);

    let blank = server.checkout(&manager, &body, Some("   ")).await;
    blank.problem(400);

    let listed = server.list_ids(&manager, &[]).await;
    assert_eq!(
        listed,
        vec![str_of(&order, "id").to_string()],
        "exactly one order was created"
    );

    // A new key is a new order.
    server
        .checkout(&manager, &body, Some("key-456"))
        .await
        .expect(201);
    assert_eq!(server.list_ids(&manager, &[]).await.len(), 2);
}
