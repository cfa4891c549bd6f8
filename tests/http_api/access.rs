//! Who sees and does what: another tenant's orders are invisible, and staff
//! routes need a valid token and a staff role.

use crate::common::*;
use order_core::auth::{JwtKeys, Role};
use reqwest::Method;
use serde_json::json;

// ---------------------------------------------------------------------------
// Tenant isolation
// ---------------------------------------------------------------------------

#[tokio::test]
async fn another_tenants_order_is_invisible() {
    let server = start();
    let a = token("tenant-a", Role::Owner);
    let b = token("tenant-b", Role::Owner);
    let body = checkout_body("cus_1", "shipping");
    let first = server.checkout(&a, &body, Some("shared-key")).await;
    let order = first.expect(201).clone();
    let id = str_of(&order, "id");

    server.get(&format!("/orders/{id}"), &b).await.problem(404);
    server
        .get(&format!("/orders/{id}/events"), &b)
        .await
        .problem(404);
    let moved = server
        .transition(&b, id, json!({ "to": "confirmed", "reason": "mine now" }))
        .await;
    moved.problem(404);
    assert!(server.list_ids(&b, &[]).await.is_empty());
    assert!(server
        .list_ids(&b, &[("customer_id", "cus_1")])
        .await
        .is_empty());

    // The same Idempotency-Key in another tenant is another order, not a replay.
    let theirs = server.checkout(&b, &body, Some("shared-key")).await;
    let theirs = theirs.expect(201);
    assert_ne!(theirs["id"], order["id"]);
    assert_eq!(theirs["tenant"], "tenant-b");

    let untouched = server.order(&a, id).await;
    assert_eq!(untouched["status"], "pending");
    assert_eq!(untouched["version"], 1);
    assert_eq!(server.list_ids(&a, &[]).await, vec![id.to_string()]);
}

// ---------------------------------------------------------------------------
// Authentication and roles
// ---------------------------------------------------------------------------

#[tokio::test]
async fn staff_routes_need_a_valid_token_and_a_staff_role() {
    let server = start();
    let manager = token("acme", Role::Manager);
    let order = server
        .place(&manager, &checkout_body("cus_1", "shipping"))
        .await;
    let id = str_of(&order, "id");
    let body = checkout_body("cus_1", "shipping");

    // No token.
    server
        .call(Method::GET, "/orders", None, None)
        .await
        .problem(401);
    server
        .call(Method::POST, "/orders", None, Some(&body))
        .await
        .problem(401);
    server
        .call(Method::GET, &format!("/orders/{id}"), None, None)
        .await
        .problem(401);

    // Garbage, wrong scheme, wrong secret, expired, unsigned, tampered.
    server.get("/orders", "not-a-jwt").await.problem(401);
    let basic = server
        .send(
            server
                .http
                .get(server.url("/orders"))
                .header("authorization", format!("Basic {manager}")),
        )
        .await;
    basic.problem(401);
    let foreign = JwtKeys::hs256(b"some-other-secret").mint(
        "acme",
        Role::Owner,
        "x",
        chrono::Duration::hours(1),
    );
    server.get("/orders", &foreign).await.problem(401);
    let expired = JwtKeys::hs256(order_tracking::DEV_JWT_SECRET.as_bytes()).mint(
        "acme",
        Role::Manager,
        "x",
        chrono::Duration::hours(-2),
    );
    server.get("/orders", &expired).await.problem(401);
    let unsigned = format!(
        "{}.{}.",
        base64url(br#"{"alg":"none","typ":"JWT"}"#),
        base64url(claims("acme", "owner").to_string().as_bytes())
    );
    server.get("/orders", &unsigned).await.problem(401);
    let parts: Vec<&str> = manager.split('.').collect();
    let tampered = format!(
        "{}.{}.{}",
        parts[0],
        base64url(claims("acme", "owner").to_string().as_bytes()),
        parts[2]
    );
    server.get("/orders", &tampered).await.problem(401);

    // Nothing was written by the refused checkout.
    assert_eq!(server.list_ids(&manager, &[]).await, vec![id.to_string()]);

    // A customer may check out (as themselves) but not use staff routes.
    let customer = token_for("acme", Role::Customer, "cus_real");
    server
        .get(&format!("/orders/{id}"), &customer)
        .await
        .problem(403);
    server
        .get(&format!("/orders/{id}/events"), &customer)
        .await
        .problem(403);
    server.get("/orders", &customer).await.problem(403);
    server
        .transition(&customer, id, json!({ "to": "confirmed" }))
        .await
        .problem(403);
    assert_eq!(server.order(&manager, id).await["version"], 1);

    let mut someone_else = body.clone();
    someone_else["customer_id"] = json!("cus_victim");
    let placed = server.checkout(&customer, &someone_else, None).await;
    let placed = placed.expect(201);
    assert_eq!(
        placed["customer_id"], "cus_real",
        "a customer orders as themselves"
    );
}
