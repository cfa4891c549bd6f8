//! Staff moving orders along their lifecycle: the shipping happy path, the
//! tracking guard (and tenants that ship with tracking pending), illegal
//! moves answered with the way forward, and the owner's audited override.

use crate::common::*;
use order_core::auth::Role;
use serde_json::{json, Value};

// ---------------------------------------------------------------------------
// Shipping happy path
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
// Tracking guard and tracking-pending tenants
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
// Illegal transitions
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
// Owner override
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
