//! Black-box HTTP tests against the real local stack binary.
//!
//! Each test starts its own `order-tracking --addr 127.0.0.1:0 --memory`
//! process, talks to it with reqwest and kills it when done, so tests are
//! independent of each other and of anything on disk.

mod common;

use std::collections::{BTreeSet, HashSet};

use common::*;
use order_core::auth::{JwtKeys, Role};
use reqwest::Method;
use serde_json::{json, Value};

// ---------------------------------------------------------------------------
// 1. Checkout
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
// 2. Idempotency
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

// ---------------------------------------------------------------------------
// 3. Shipping happy path
// ---------------------------------------------------------------------------

#[tokio::test]
async fn shipping_happy_path_stamps_times_and_bumps_versions() {
    let server = start();
    let manager = token("acme", Role::Manager);
    let order = server
        .place(&manager, &checkout_body("cus_1", "shipping"))
        .await;
    let id = str_of(&order, "id");
    assert_eq!(allowed_targets(&order), vec!["confirmed", "cancelled"]);

    let confirmed = server.advance(&manager, id, "confirmed", json!({})).await;
    assert_eq!(confirmed["status"], "confirmed");
    assert_eq!(confirmed["version"], 2);
    assert!(
        confirmed["timestamps"]["confirmed_at"].is_string(),
        "{confirmed}"
    );
    assert!(allowed_targets(&confirmed).contains(&"packing".to_string()));

    let packing = server.advance(&manager, id, "packing", json!({})).await;
    assert_eq!(packing["status"], "packing");
    assert_eq!(packing["version"], 3);

    let shipped = server
        .advance(&manager, id, "shipped", json!({ "tracking": tracking() }))
        .await;
    assert_eq!(shipped["status"], "shipped");
    assert_eq!(shipped["version"], 4);
    let shipments = shipped["shipments"].as_array().expect("shipments");
    assert_eq!(shipments.len(), 1, "{shipped}");
    assert_eq!(shipments[0]["carrier"], "canada_post");
    assert_eq!(shipments[0]["tracking_code"], "CP123456789CA");
    assert_eq!(
        shipments[0]["tracking_url"],
        "https://track.example/CP123456789CA"
    );
    assert!(
        allowed_targets(&shipped).contains(&"delivered".to_string()),
        "{shipped}"
    );

    // Staff may mark it delivered straight from shipped (the carrier states
    // in between are skippable).
    let delivered = server.advance(&manager, id, "delivered", json!({})).await;
    assert_eq!(delivered["status"], "delivered");
    assert_eq!(delivered["version"], 5);
    assert!(
        allowed_targets(&delivered).is_empty(),
        "a delivered order has no next step"
    );

    let fetched = server.order(&manager, id).await;
    let stamps = &fetched["timestamps"];
    for stamp in ["placed_at", "confirmed_at", "delivered_at", "completed_at"] {
        assert!(stamps[stamp].is_string(), "{stamp} missing: {stamps}");
    }
    let time = |k: &str| chrono::DateTime::parse_from_rfc3339(str_of(stamps, k)).expect(k);
    assert!(time("placed_at") <= time("confirmed_at"));
    assert!(time("confirmed_at") <= time("delivered_at"));
    let timeline: Vec<&str> = fetched["timeline"]
        .as_array()
        .expect("timeline")
        .iter()
        .map(|t| str_of(t, "status"))
        .collect();
    assert_eq!(
        timeline,
        vec!["pending", "confirmed", "packing", "shipped", "delivered"]
    );

    let track = server.track(str_of(&order, "public_id")).await;
    let view = track.expect(200);
    assert_eq!(view["status"], "delivered");
    assert_eq!(view["terminal"], true);
    assert_eq!(view["shipments"][0]["tracking_code"], "CP123456789CA");

    let events = server.events(&manager, id).await;
    let versions: Vec<u64> = events
        .iter()
        .map(|e| e["version"].as_u64().unwrap())
        .collect();
    assert_eq!(versions, vec![1, 2, 3, 4, 5]);
}

/// Once staff mark an order delivered, the customer should not see its one
/// package still described as "Label created; waiting for the carrier's first
/// scan" next to "Delivered.".
#[tokio::test]
async fn delivered_order_does_not_show_its_package_as_waiting_for_a_first_scan() {
    let server = start();
    let manager = token("acme", Role::Manager);
    let order = server
        .place(&manager, &checkout_body("cus_1", "shipping"))
        .await;
    let id = str_of(&order, "id");
    server.advance(&manager, id, "confirmed", json!({})).await;
    server
        .advance(&manager, id, "shipped", json!({ "tracking": tracking() }))
        .await;
    server.advance(&manager, id, "delivered", json!({})).await;

    let track = server.track(str_of(&order, "public_id")).await;
    let view = track.expect(200);
    assert_eq!(view["message"], "Delivered.");
    let shipment = &view["shipments"][0];
    assert_ne!(
        shipment["status"], "label_created",
        "customer view contradicts itself: order delivered, package still 'label created': {view}"
    );
}

// ---------------------------------------------------------------------------
// 4. Tracking guard and tracking-pending tenants
// ---------------------------------------------------------------------------

#[tokio::test]
async fn shipping_without_tracking_is_refused_unless_the_tenant_allows_it() {
    let server =
        start_with_tenants(json!({ "tenants": { "relaxed": { "allow_tracking_pending": true } } }));

    // A default tenant: a tracking code is required.
    let strict = token("acme", Role::Manager);
    let order = server
        .place(&strict, &checkout_body("cus_1", "shipping"))
        .await;
    let id = str_of(&order, "id");
    server.advance(&strict, id, "confirmed", json!({})).await;
    server.advance(&strict, id, "packing", json!({})).await;
    let refused = server
        .transition(&strict, id, json!({ "to": "shipped" }))
        .await;
    let problem = assert_illegal(&refused, "packing");
    let actions = problem["allowed_actions"].as_array().unwrap();
    let ship = actions
        .iter()
        .find(|a| a["to"] == "shipped")
        .unwrap_or_else(|| panic!("shipped should be offered: {problem}"));
    assert_eq!(ship["requires_tracking"], true, "{problem}");
    let unchanged = server.order(&strict, id).await;
    assert_eq!(unchanged["status"], "packing");
    assert_eq!(unchanged["version"], 3);
    assert_eq!(unchanged["shipments"], json!([]));

    // A tenant that ships with the tracking number pending.
    let relaxed = token("relaxed", Role::Manager);
    let order = server
        .place(&relaxed, &checkout_body("cus_2", "shipping"))
        .await;
    let id = str_of(&order, "id");
    server.advance(&relaxed, id, "confirmed", json!({})).await;
    server.advance(&relaxed, id, "packing", json!({})).await;
    let shipped = server.advance(&relaxed, id, "shipped", json!({})).await;
    assert_eq!(shipped["status"], "shipped");
    assert_eq!(
        shipped["shipments"][0]["status"], "tracking_pending",
        "{shipped}"
    );

    let track = server.track(str_of(&order, "public_id")).await;
    let view = track.expect(200);
    assert!(
        str_of(view, "message").contains("tracking number pending"),
        "honest message expected: {view}"
    );
    assert_eq!(view["shipments"][0]["status"], "tracking_pending");
    assert_eq!(view["shipments"][0]["tracking_code"], Value::Null);
}

// ---------------------------------------------------------------------------
// 5. Illegal transitions
// ---------------------------------------------------------------------------

#[tokio::test]
async fn illegal_transitions_are_422_problems_with_the_way_forward() {
    let server = start();
    let manager = token("acme", Role::Manager);

    // Backwards.
    let order = server
        .place(&manager, &checkout_body("cus_1", "shipping"))
        .await;
    let id = str_of(&order, "id");
    server.advance(&manager, id, "confirmed", json!({})).await;
    let back = server
        .transition(&manager, id, json!({ "to": "pending" }))
        .await;
    let problem = assert_illegal(&back, "confirmed");
    assert_eq!(problem["current_version"], 2);
    assert!(
        allowed_targets(&problem).contains(&"packing".to_string()),
        "{problem}"
    );

    // Unknown status string.
    let unknown = server
        .transition(&manager, id, json!({ "to": "teleported" }))
        .await;
    assert_illegal(&unknown, "confirmed");

    // Same status again: a second click on the same button is a conflict
    // (someone got there first), not an illegal request.
    let same = server
        .transition(&manager, id, json!({ "to": "confirmed" }))
        .await;
    let problem = same.problem(409);
    assert_eq!(problem["current_status"], "confirmed", "{problem}");
    assert_eq!(problem["current_version"], 2, "{problem}");
    assert_eq!(
        server.order(&manager, id).await["version"],
        2,
        "refusals write nothing"
    );

    // Terminal.
    server
        .advance(&manager, id, "shipped", json!({ "tracking": tracking() }))
        .await;
    server.advance(&manager, id, "delivered", json!({})).await;
    for to in ["cancelled", "returned", "shipped", "pending", "teleported"] {
        let after_end = server.transition(&manager, id, json!({ "to": to })).await;
        let problem = assert_illegal(&after_end, "delivered");
        assert_eq!(problem["allowed_actions"], json!([]), "{problem}");
    }
    let again = server
        .transition(&manager, id, json!({ "to": "delivered" }))
        .await;
    assert_eq!(again.problem(409)["current_status"], "delivered");
    assert_eq!(server.order(&manager, id).await["version"], 4);

    // A pickup order has no packing step.
    let pickup = server
        .place(&manager, &checkout_body("cus_2", "pickup"))
        .await;
    let pickup_id = str_of(&pickup, "id");
    assert_eq!(pickup["lifecycle"], "pickup");
    let packing = server
        .transition(&manager, pickup_id, json!({ "to": "packing" }))
        .await;
    let problem = assert_illegal(&packing, "pending");
    assert!(
        allowed_targets(&problem).contains(&"accepted".to_string()),
        "{problem}"
    );
    assert_eq!(server.order(&manager, pickup_id).await["version"], 1);

    // Unknown order.
    let missing = server
        .transition(&manager, "ord_nope", json!({ "to": "confirmed" }))
        .await;
    missing.problem(404);
}

// ---------------------------------------------------------------------------
// 6. Owner override
// ---------------------------------------------------------------------------

#[tokio::test]
async fn only_an_owner_may_override_and_only_with_a_reason() {
    let server = start();
    let owner = token("acme", Role::Owner);
    let staff = token("acme", Role::Staff);
    let order = server
        .place(&owner, &checkout_body("cus_1", "shipping"))
        .await;
    let id = str_of(&order, "id");

    let no_reason = server
        .transition(&owner, id, json!({ "to": "packing" }))
        .await;
    assert_illegal(&no_reason, "pending");
    let blank = server
        .transition(&owner, id, json!({ "to": "packing", "reason": "   " }))
        .await;
    assert_illegal(&blank, "pending");
    assert_eq!(server.order(&owner, id).await["version"], 1);

    let reason = "paid by bank transfer, confirmed by phone";
    let moved = server
        .advance(&owner, id, "packing", json!({ "reason": reason }))
        .await;
    assert_eq!(moved["status"], "packing");
    assert_eq!(moved["version"], 2);

    let events = server.events(&owner, id).await;
    let fact = events
        .iter()
        .find(|e| e["kind"] == "status_fact")
        .unwrap_or_else(|| panic!("no status fact: {events:?}"));
    assert_eq!(fact["data"]["target"], "packing");
    assert_eq!(fact["data"]["from"], "pending");
    assert_eq!(fact["data"]["overridden"], true, "{fact}");
    assert_eq!(fact["data"]["reason"], reason);
    assert!(str_of(fact, "actor").contains("owner"), "{fact}");

    // Even an owner cannot move an order backwards.
    let back = server
        .transition(&owner, id, json!({ "to": "pending", "reason": "oops" }))
        .await;
    assert_illegal(&back, "packing");

    // Staff cannot override, reason or not.
    let other = server
        .place(&staff, &checkout_body("cus_2", "shipping"))
        .await;
    let other_id = str_of(&other, "id");
    let refused = server
        .transition(
            &staff,
            other_id,
            json!({ "to": "packing", "reason": reason }),
        )
        .await;
    assert_illegal(&refused, "pending");
    let unchanged = server.order(&staff, other_id).await;
    assert_eq!(unchanged["status"], "pending");
    assert_eq!(unchanged["version"], 1);
}

// ---------------------------------------------------------------------------
// 7. Optimistic concurrency
// ---------------------------------------------------------------------------

#[tokio::test]
async fn stale_expected_version_is_a_409_with_the_current_version() {
    let server = start();
    let manager = token("acme", Role::Manager);
    let order = server
        .place(&manager, &checkout_body("cus_1", "shipping"))
        .await;
    let id = str_of(&order, "id");
    server
        .advance(&manager, id, "confirmed", json!({ "expected_version": 1 }))
        .await;

    let stale = server
        .transition(
            &manager,
            id,
            json!({ "to": "packing", "expected_version": 1 }),
        )
        .await;
    let problem = stale.problem(409);
    assert_eq!(problem["current_version"], 2, "{problem}");
    assert_eq!(
        server.order(&manager, id).await["version"],
        2,
        "a 409 writes nothing"
    );

    let ok = server
        .advance(&manager, id, "packing", json!({ "expected_version": 2 }))
        .await;
    assert_eq!(ok["version"], 3);
    assert_eq!(ok["status"], "packing");
}

// ---------------------------------------------------------------------------
// 8. Concurrency
// ---------------------------------------------------------------------------

/// Fires `n` identical transitions at once and returns each status and body;
/// every refusal must be a problem document.
async fn race(server: &Server, token: &str, id: &str, body: Value, n: usize) -> Vec<(u16, Value)> {
    let tasks: Vec<_> = (0..n)
        .map(|_| {
            let request = server
                .http
                .post(server.url(&format!("/orders/{id}/transitions")))
                .bearer_auth(token)
                .json(&body);
            tokio::spawn(async move {
                let response = request.send().await.expect("request reaches the stack");
                let status = response.status().as_u16();
                let content_type = response
                    .headers()
                    .get("content-type")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_string();
                let body: Value = response.json().await.expect("JSON body");
                if status != 200 {
                    assert_eq!(
                        content_type, "application/problem+json",
                        "status {status}: {body}"
                    );
                }
                (status, body)
            })
        })
        .collect();
    let mut results = Vec::new();
    for task in tasks {
        results.push(task.await.expect("task"));
    }
    results
}

fn statuses(results: &[(u16, Value)]) -> Vec<u16> {
    results.iter().map(|(s, _)| *s).collect()
}

/// The log is legal: seq and version go 1, 2, 3… and the only status change
/// is pending → confirmed.
async fn assert_single_confirmation(server: &Server, token: &str, id: &str) {
    let events = server.events(token, id).await;
    let seqs: Vec<u64> = events.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    let versions: Vec<u64> = events
        .iter()
        .map(|e| e["version"].as_u64().unwrap())
        .collect();
    let expected: Vec<u64> = (1..=events.len() as u64).collect();
    assert_eq!(seqs, expected);
    assert_eq!(versions, expected);
    let moves: Vec<(&Value, &Value)> = events
        .iter()
        .filter(|e| e["kind"] == "status_fact")
        .map(|e| (&e["data"]["from"], &e["data"]["target"]))
        .collect();
    assert_eq!(
        moves,
        vec![(&json!("pending"), &json!("confirmed"))],
        "{events:?}"
    );
    let order = server.order(token, id).await;
    assert_eq!(order["status"], "confirmed");
    assert_eq!(order["version"], 2);
}

#[tokio::test]
async fn concurrent_transitions_with_expected_version_have_one_winner() {
    let server = start();
    let manager = token("acme", Role::Manager);
    let order = server
        .place(&manager, &checkout_body("cus_1", "shipping"))
        .await;
    let id = str_of(&order, "id");

    let results = race(
        &server,
        &manager,
        id,
        json!({ "to": "confirmed", "expected_version": 1 }),
        20,
    )
    .await;
    let statuses = statuses(&results);
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| matches!(s, 200 | 409)),
        "{statuses:?}"
    );
    for (_, problem) in results.iter().filter(|(s, _)| *s == 409) {
        assert_eq!(problem["current_version"], 2, "{problem}");
    }
    assert_single_confirmation(&server, &manager, id).await;
}

#[tokio::test]
async fn concurrent_transitions_without_expected_version_have_one_winner() {
    let server = start();
    let manager = token("acme", Role::Manager);
    let order = server
        .place(&manager, &checkout_body("cus_1", "shipping"))
        .await;
    let id = str_of(&order, "id");

    let results = race(&server, &manager, id, json!({ "to": "confirmed" }), 20).await;
    let statuses = statuses(&results);
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| matches!(s, 200 | 409)),
        "every loser of the race should get a 409: {statuses:?}"
    );
    for (_, problem) in results.iter().filter(|(s, _)| *s == 409) {
        assert_eq!(problem["current_status"], "confirmed", "{problem}");
        assert_eq!(problem["current_version"], 2, "{problem}");
    }
    assert_single_confirmation(&server, &manager, id).await;
}

// ---------------------------------------------------------------------------
// 9. Tenant isolation
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
// 10. Authentication and roles
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

// ---------------------------------------------------------------------------
// 11. Bad input
// ---------------------------------------------------------------------------

#[tokio::test]
async fn bad_input_is_a_400_problem_and_writes_nothing() {
    let server = start();
    let manager = token("acme", Role::Manager);
    let valid = checkout_body("cus_1", "shipping");

    let malformed = server
        .post_raw("/orders", &manager, r#"{"customer_id": "cus_1", "#)
        .await;
    malformed.problem(400);
    let not_json = server.post_raw("/orders", &manager, "hello").await;
    not_json.problem(400);

    let mut unknown_field = valid.clone();
    unknown_field["discount"] = json!(100);
    let mut missing_items = valid.clone();
    missing_items.as_object_mut().unwrap().remove("items");
    let mut empty_items = valid.clone();
    empty_items["items"] = json!([]);
    let mut negative_price = valid.clone();
    negative_price["items"][0]["unit_price"] = json!(-1);
    let mut zero_quantity = valid.clone();
    zero_quantity["items"][0]["quantity"] = json!(0);
    let mut negative_quantity = valid.clone();
    negative_quantity["items"][0]["quantity"] = json!(-2);
    let mut lowercase_currency = valid.clone();
    lowercase_currency["currency"] = json!("cad");
    let mut no_address = valid.clone();
    no_address.as_object_mut().unwrap().remove("shipping");
    let mut bad_fulfilment = valid.clone();
    bad_fulfilment["fulfilment"] = json!("teleport");
    let mut blank_customer = valid.clone();
    blank_customer["customer_id"] = json!("  ");
    let mut bad_country = valid.clone();
    bad_country["shipping"]["address"]["country"] = json!("Canada");
    let mut no_sku = valid.clone();
    no_sku["items"][0]["sku"] = json!("");
    let mut overflow = valid.clone();
    overflow["items"][0]["unit_price"] = json!(i64::MAX);

    let cases = [
        ("unknown field", unknown_field),
        ("missing items", missing_items),
        ("empty items", empty_items),
        ("negative price", negative_price),
        ("zero quantity", zero_quantity),
        ("negative quantity", negative_quantity),
        ("lowercase currency", lowercase_currency),
        ("shipping without address", no_address),
        ("unknown fulfilment", bad_fulfilment),
        ("blank customer", blank_customer),
        ("country name", bad_country),
        ("empty sku", no_sku),
        ("total overflow", overflow),
    ];
    for (what, body) in &cases {
        let resp = server
            .checkout(&manager, body, Some(&format!("key-{what}")))
            .await;
        assert_eq!(resp.status, 400, "{what}: {}", resp.text);
        resp.problem(400);
    }

    // Not JSON at all.
    let text = server
        .send(
            server
                .http
                .post(server.url("/orders"))
                .bearer_auth(&manager)
                .header("content-type", "text/plain")
                .body(valid.to_string()),
        )
        .await;
    assert!(text.status == 400 || text.status == 415, "{}", text.text);
    text.problem(text.status);

    assert!(
        server.list_ids(&manager, &[]).await.is_empty(),
        "bad input must not create orders"
    );

    // Bad transition bodies and queries on a real order.
    let order = server.place(&manager, &valid).await;
    let id = str_of(&order, "id");
    let path = format!("/orders/{id}/transitions");
    server.post_raw(&path, &manager, "{").await.problem(400);
    server
        .post_raw(&path, &manager, r#"{"status": "confirmed"}"#)
        .await
        .problem(400);
    server
        .post_raw(&path, &manager, r#"{"to": "confirmed", "force": true}"#)
        .await
        .problem(400);
    server
        .post_raw(
            &path,
            &manager,
            r#"{"to": "confirmed", "expected_version": "one"}"#,
        )
        .await
        .problem(400);
    server
        .post_raw(
            &path,
            &manager,
            r#"{"to": "shipped", "tracking": {"carrier": "ups"}}"#,
        )
        .await
        .problem(400);
    assert_eq!(
        server.order(&manager, id).await["version"],
        1,
        "bad input changes nothing"
    );

    server.list(&manager, &[("limit", "0")]).await.problem(400);
    server
        .list(&manager, &[("limit", "100000")])
        .await
        .problem(400);
    server
        .list(&manager, &[("limit", "two")])
        .await
        .problem(400);
    server.list(&manager, &[("sort", "id")]).await.problem(400);
    server
        .get(&format!("/orders/{id}/events?limit=0"), &manager)
        .await
        .problem(400);

    // Unknown things.
    server
        .get("/orders/ord_missing", &manager)
        .await
        .problem(404);
    server.get("/nowhere", &manager).await.problem(404);
    server
        .call(Method::GET, "/nowhere", None, None)
        .await
        .problem(404);
    assert_eq!(server.list_ids(&manager, &[]).await, vec![id.to_string()]);
}

#[tokio::test]
async fn wrong_method_on_a_known_route_is_a_problem_document() {
    let server = start();
    let manager = token("acme", Role::Manager);
    let order = server
        .place(&manager, &checkout_body("cus_1", "shipping"))
        .await;
    let id = str_of(&order, "id");

    let delete = server
        .call(
            Method::DELETE,
            &format!("/orders/{id}"),
            Some(&manager),
            None,
        )
        .await;
    delete.problem(405);
    let put = server
        .call(Method::PUT, "/orders", Some(&manager), Some(&json!({})))
        .await;
    put.problem(405);
    let post_track = server
        .call(
            Method::POST,
            &format!("/track/{}", str_of(&order, "public_id")),
            None,
            None,
        )
        .await;
    post_track.problem(405);
    assert_eq!(server.order(&manager, id).await["version"], 1);
}

// ---------------------------------------------------------------------------
// 12. The customer's tracking view
// ---------------------------------------------------------------------------

#[tokio::test]
async fn tracking_view_is_honest_and_leaks_nothing_personal() {
    let server = start();
    let manager = token("acme", Role::Manager);
    let order = server
        .place(&manager, &checkout_body("cus_1", "shipping"))
        .await;
    let id = str_of(&order, "id");
    let public_id = str_of(&order, "public_id");

    let assert_private = |resp: &Resp| {
        let body = &resp.text;
        for secret in [
            "ord_",
            id,
            "dana@example.com",
            "555-0199",
            "1 King St W",
            "Suite 900",
            "M5H 1A1",
            "Dana Doe",
            "acme",
            "user-1",
        ] {
            assert!(
                !body.contains(secret),
                "tracking view leaks {secret:?}: {body}"
            );
        }
    };

    let pending = server.track(public_id).await;
    let view = pending.expect(200).clone();
    assert!(pending.content_type().starts_with("application/json"));
    assert_private(&pending);
    assert_eq!(view["public_id"], public_id);
    assert_eq!(view["status"], "pending");
    assert!(
        str_of(&view, "message").contains("Processing payment"),
        "{view}"
    );
    assert_eq!(
        view["ship_to"],
        json!({ "city": "Toronto", "country": "CA" })
    );
    assert_eq!(
        view["items"],
        json!([{ "name": "Blue mug", "quantity": 2 }, { "name": "Green tea", "quantity": 3 }])
    );
    assert_eq!(view["terminal"], false);

    server.advance(&manager, id, "confirmed", json!({})).await;
    let confirmed = server.track(public_id).await;
    let view = confirmed.expect(200).clone();
    assert_private(&confirmed);
    assert_eq!(view["status"], "confirmed");
    assert!(
        str_of(&view, "message").contains("tracking will appear once dispatched"),
        "{view}"
    );
    let steps: Vec<&str> = view["timeline"]
        .as_array()
        .expect("timeline")
        .iter()
        .map(|s| str_of(s, "status"))
        .collect();
    assert_eq!(steps, vec!["pending", "confirmed"]);

    server
        .advance(&manager, id, "shipped", json!({ "tracking": tracking() }))
        .await;
    let shipped = server.track(public_id).await;
    let view = shipped.expect(200).clone();
    assert_private(&shipped);
    assert_eq!(view["message"], "Your order has shipped!");
    assert_eq!(view["shipments"][0]["tracking_code"], "CP123456789CA");

    // The view is reachable by public id only.
    server.track("trk_doesnotexist").await.problem(404);
    server.track(id).await.problem(404);
}

// ---------------------------------------------------------------------------
// 13. Listing
// ---------------------------------------------------------------------------

#[tokio::test]
async fn list_filters_by_status_and_customer_and_pages_without_duplicates() {
    let server = start();
    let manager = token("acme", Role::Manager);
    let mut all = Vec::new();
    for i in 0..7 {
        let customer = if i % 3 == 0 { "cus_a" } else { "cus_b" };
        let fulfilment = if i % 2 == 0 { "shipping" } else { "pickup" };
        let order = server
            .place(&manager, &checkout_body(customer, fulfilment))
            .await;
        all.push(str_of(&order, "id").to_string());
    }
    // Another tenant's orders never show up.
    let other = token("globex", Role::Manager);
    server
        .place(&other, &checkout_body("cus_a", "shipping"))
        .await;

    let shipping_ids = [&all[0], &all[2]];
    for id in shipping_ids {
        server.advance(&manager, id, "confirmed", json!({})).await;
    }
    let confirmed: BTreeSet<String> = server
        .list_ids(&manager, &[("status", "confirmed")])
        .await
        .into_iter()
        .collect();
    let expected: BTreeSet<String> = shipping_ids.iter().map(|s| s.to_string()).collect();
    assert_eq!(confirmed, expected);
    let page = server.list(&manager, &[("status", "confirmed")]).await;
    for order in page.expect(200)["orders"].as_array().unwrap() {
        assert_eq!(order["status"], "confirmed");
    }
    assert_eq!(
        server
            .list_ids(&manager, &[("status", "pending")])
            .await
            .len(),
        5
    );
    assert!(server
        .list_ids(&manager, &[("status", "delivered")])
        .await
        .is_empty());

    let for_a: BTreeSet<String> = server
        .list_ids(&manager, &[("customer_id", "cus_a")])
        .await
        .into_iter()
        .collect();
    let expected_a: BTreeSet<String> = [&all[0], &all[3], &all[6]]
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(for_a, expected_a);
    let both = server
        .list_ids(
            &manager,
            &[("customer_id", "cus_a"), ("status", "confirmed")],
        )
        .await;
    assert_eq!(both, vec![all[0].clone()]);

    // Walk every page of two.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..10 {
        let mut params = vec![("limit", "2")];
        if let Some(c) = &cursor {
            params.push(("cursor", c.as_str()));
        }
        let page = server.list(&manager, &params).await;
        let page = page.expect(200);
        let batch = ids(&page["orders"]);
        assert!(batch.len() <= 2);
        seen.extend(batch);
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_string()),
            None => break,
        }
    }
    let unique: HashSet<&String> = seen.iter().collect();
    assert_eq!(
        unique.len(),
        seen.len(),
        "duplicates across pages: {seen:?}"
    );
    let walked: BTreeSet<String> = seen.into_iter().collect();
    let everything: BTreeSet<String> = all.iter().cloned().collect();
    assert_eq!(walked, everything);
}

// ---------------------------------------------------------------------------
// 14. Malformed requests at the edge
// ---------------------------------------------------------------------------

/// `%ff` decodes to a byte that is not UTF-8, so no id can contain it: every
/// id route of every router answers a 400 problem, as do the other
/// extractors' refusals (content type, body, query), and nothing changes.
#[tokio::test]
async fn ids_that_are_not_utf8_and_every_other_refusal_at_the_edge_are_problems() {
    let server = start();
    let manager = token("acme", Role::Manager);
    let order = server
        .place(&manager, &checkout_body("cus_1", "shipping"))
        .await;
    let id = str_of(&order, "id");
    let to_confirmed = json!({ "to": "confirmed" });
    let parked = json!({ "action": "discard", "reason": "test" });
    let approve = json!({ "decision": "approve" });
    let scan = json!({ "id": "evt_1", "status": "in_transit" });
    let shipment = tracking();
    let cases = [
        (Method::GET, "/orders/%ff".to_string(), None),
        (Method::GET, "/orders/%ff/events".to_string(), None),
        (
            Method::POST,
            "/orders/%ff/transitions".to_string(),
            Some(&to_confirmed),
        ),
        (
            Method::POST,
            "/orders/%ff/shipments".to_string(),
            Some(&shipment),
        ),
        (
            Method::PUT,
            format!("/orders/{id}/shipments/%ff"),
            Some(&shipment),
        ),
        (
            Method::POST,
            format!("/orders/{id}/parked/%ff"),
            Some(&parked),
        ),
        (Method::POST, "/orders/%ff/refetch".to_string(), None),
        (Method::GET, "/track/%ff".to_string(), None),
        (Method::GET, "/track/%ff/events".to_string(), None),
        (
            Method::POST,
            "/track/%ff/substitutions".to_string(),
            Some(&approve),
        ),
        (Method::GET, "/t/%ff".to_string(), None),
        (
            Method::POST,
            "/webhooks/%ff/carrier/easypost".to_string(),
            Some(&scan),
        ),
        (
            Method::POST,
            "/webhooks/acme/carrier/%ff".to_string(),
            Some(&scan),
        ),
        (
            Method::POST,
            "/webhooks/carrier/%ff".to_string(),
            Some(&scan),
        ),
    ];
    for (method, path, body) in cases {
        let resp = server
            .call(method.clone(), &path, Some(&manager), body)
            .await;
        assert_eq!(resp.status, 400, "{method} {path}: {}", resp.text);
        resp.problem(400);
    }

    let transitions = format!("/orders/{id}/transitions");
    let no_content_type = server
        .http
        .post(server.url(&transitions))
        .bearer_auth(&manager)
        .body(r#"{"to": "confirmed"}"#);
    server.send(no_content_type).await.problem(415);
    let form = server
        .http
        .post(server.url(&transitions))
        .bearer_auth(&manager)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("to=confirmed");
    server.send(form).await.problem(415);
    server
        .post_raw(&transitions, &manager, r#"{"to": 7}"#)
        .await
        .problem(400);
    server
        .get(&format!("/orders/{id}/events?after=first"), &manager)
        .await
        .problem(400);
    server
        .get("/orders?stalled=maybe", &manager)
        .await
        .problem(400);

    assert_eq!(
        server.order(&manager, id).await["version"],
        1,
        "bad input changes nothing"
    );
}

/// A cursor is opaque: one that is not ours is a 400, never "every order"
/// or "none"; an empty one is the first page.
#[tokio::test]
async fn a_cursor_that_does_not_decode_is_a_400_and_an_empty_one_is_the_first_page() {
    let server = start();
    let manager = token("acme", Role::Manager);
    for n in 0..3 {
        server
            .place(&manager, &checkout_body(&format!("cus_{n}"), "pickup"))
            .await;
    }
    let all = server.list_ids(&manager, &[]).await;
    assert_eq!(all.len(), 3);

    let no_position = base64url(b"no position here");
    let bad_time = base64url(format!("yesterday|{}", all[0]).as_bytes());
    let no_id = base64url(b"2026-01-01T00:00:00Z|");
    let plain = format!("2026-01-01T00:00:00.000000Z|{}", all[0]);
    for cursor in [
        "garbage",
        "%%%",
        "!!",
        &no_position,
        &bad_time,
        &no_id,
        &plain,
    ] {
        let resp = server.list(&manager, &[("cursor", cursor)]).await;
        assert_eq!(resp.status, 400, "cursor {cursor:?}: {}", resp.text);
        resp.problem(400);
    }

    assert_eq!(
        server.list_ids(&manager, &[("cursor", "")]).await,
        all,
        "an empty cursor is the first page"
    );

    let first = server.list(&manager, &[("limit", "1")]).await;
    let next = first.expect(200)["next_cursor"]
        .as_str()
        .expect("a next cursor")
        .to_string();
    assert!(
        !next.contains(&all[0]) && !next.contains('|'),
        "cursors are opaque: {next}"
    );
    let second = server
        .list_ids(&manager, &[("limit", "1"), ("cursor", &next)])
        .await;
    assert_eq!(second, vec![all[1].clone()]);
}
