//! Structured substitutions (seed 004), black box: staff propose per line,
//! the customer answers per line on the tracking page's API, the order is
//! amended (the checkout snapshot untouched), the inventory adjustments
//! reach the event feed, and a proposal nobody answers is answered by the
//! tenant's policy.

use reqwest::Method;
use serde_json::{json, Value};

use crate::common::*;
use order_core::auth::Role;

/// A local delivery order being picked: 2 × Blue mug at 12.50 and
/// 3 × Green tea at 8.99.
async fn picking(server: &Server, staff: &str) -> (String, String) {
    let states = [
        "store_notified",
        "store_acknowledged",
        "picking_in_progress",
    ];
    let order = server.local_delivery(staff, "cus_1", &states).await;
    let id = str_of(&order, "id").to_string();
    (id, str_of(&order, "public_id").to_string())
}

fn proposal() -> Value {
    json!({"lines": [
        {"sku": "MUG-01", "quantity": 1,
         "replacement": {"sku": "MUG-02", "name": "Green mug", "unit_price": 1400, "quantity": 1}},
        {"sku": "TEA-07", "quantity": 3}
    ], "reason": "out of blue mugs and green tea"})
}

async fn propose(server: &Server, staff: &str, id: &str, body: &Value) -> Resp {
    let path = format!("/orders/{id}/substitutions");
    server
        .call(Method::POST, &path, Some(staff), Some(body))
        .await
}

async fn answer(server: &Server, public_id: &str, body: Value) -> Resp {
    let path = format!("/track/{public_id}/substitutions");
    server.call(Method::POST, &path, None, Some(&body)).await
}

#[tokio::test]
async fn the_customer_answers_each_line_and_the_order_is_amended() {
    let server = start();
    let staff = token("acme", Role::Staff);
    let (id, public_id) = picking(&server, &staff).await;

    let proposed = propose(&server, &staff, &id, &proposal()).await;
    let view = proposed.expect(200);
    assert_eq!(view["status"], "substitutions_needed");
    assert_eq!(view["proposal"]["lines"][0]["price_difference"], 150);
    assert_eq!(view["proposal"]["lines"][1]["price_difference"], -3 * 899);
    // What the customer sees: each line, its price difference, the deadline.
    let tracked = server.track(&public_id).await;
    let offer = tracked.expect(200)["substitutions"].clone();
    assert_eq!(offer["lines"][0]["replacement"]["name"], "Green mug");
    assert!(offer["lines"][1].get("replacement").is_none(), "a removal");
    assert_eq!(offer["on_no_answer"], "cancel_line");
    assert!(offer["answer_by"].is_string());

    // A second proposal waits for the first; bad answers change nothing.
    propose(&server, &staff, &id, &proposal())
        .await
        .problem(422);
    answer(&server, &public_id, json!({"answers": ["approve"]}))
        .await
        .problem(400);
    answer(
        &server,
        &public_id,
        json!({"answers": ["maybe", "approve"]}),
    )
    .await
    .problem(400);

    let answered = answer(
        &server,
        &public_id,
        json!({"answers": ["approve", "approve"]}),
    )
    .await;
    let view = answered.expect(200);
    assert_eq!(view["status"], "substitutions_approved");
    let items: Vec<(Value, Value)> = view["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["name"].clone(), i["quantity"].clone()))
        .collect();
    assert_eq!(
        items,
        [
            (json!("Blue mug"), json!(1)),
            (json!("Green mug"), json!(1))
        ]
    );
    assert_eq!(view["total"], 1250 + 1400);
    assert_eq!(view["original_total"], CHECKOUT_TOTAL);
    assert!(view.get("substitutions").is_none());

    // Staff see the same, and the checkout snapshot as it was.
    let order = server.order(&staff, &id).await;
    assert_eq!(order["total"], CHECKOUT_TOTAL);
    assert_eq!(order["items"].as_array().unwrap().len(), 2);
    assert_eq!(order["amended"]["total"], 2650);
    // Answering again is too late.
    answer(
        &server,
        &public_id,
        json!({"answers": ["reject", "reject"]}),
    )
    .await
    .problem(400);

    // An inventory system following the feed learns what the order takes.
    let adjustments = loop {
        let feed = server.get("/events?limit=200", &staff).await;
        let found = feed.expect(200)["events"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["type"] == "InventoryAdjusted")
            .map(|e| e["data"]["adjustments"].clone());
        if let Some(found) = found {
            break found;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    };
    assert_eq!(
        adjustments,
        json!([
            {"sku": "MUG-01", "delta": -1, "reason": "substitution"},
            {"sku": "MUG-02", "delta": 1, "reason": "substitution"},
            {"sku": "TEA-07", "delta": -3, "reason": "short_pick"}
        ])
    );
}

#[tokio::test]
async fn nobody_answers_and_the_tenants_policy_does() {
    let tenants = json!({"tenants": {"acme": {"substitutions": {
        "answer_within_minutes": 0, "on_no_answer": "approve"}}}});
    let server = start_with_tenants(tenants);
    let staff = token("acme", Role::Staff);
    let manager = token("acme", Role::Manager);
    let (id, public_id) = picking(&server, &staff).await;
    propose(&server, &staff, &id, &proposal()).await.expect(200);
    server
        .call(Method::POST, "/admin/sweep", Some(&manager), None)
        .await
        .expect(200);
    let view = server.track(&public_id).await;
    let view = view.expect(200);
    assert_eq!(view["status"], "substitutions_approved");
    assert_eq!(view["total"], 1250 + 1400);
    let answered = server
        .events(&staff, &id)
        .await
        .into_iter()
        .find(|e| e["kind"] == "substitutions_answered")
        .unwrap();
    assert_eq!(answered["data"]["by_policy"], true);
    assert_eq!(answered["source"], "system");
    // The customer's answer after the policy's is too late.
    answer(&server, &public_id, json!({"decision": "reject"}))
        .await
        .problem(400);
}

#[tokio::test]
async fn a_proposal_must_fit_the_order_and_its_lifecycle() {
    let server = start();
    let staff = token("acme", Role::Staff);
    let (id, _) = picking(&server, &staff).await;
    propose(&server, &staff, &id, &json!({"lines": []}))
        .await
        .problem(400);
    for bad in [
        json!({"lines": [{"sku": "NOPE-1"}]}),
        json!({"lines": [{"sku": "MUG-01", "quantity": 3}]}),
    ] {
        propose(&server, &staff, &id, &bad).await.problem(422);
    }
    let bad_replacement = json!({"lines": [{"sku": "MUG-01",
        "replacement": {"sku": "MUG-02", "name": "Green mug", "unit_price": -1, "quantity": 1}}]});
    propose(&server, &staff, &id, &bad_replacement)
        .await
        .problem(400);
    // A pickup order has no substitutions step.
    let pickup = server
        .place(&staff, &checkout_body("cus_2", "pickup"))
        .await;
    propose(&server, &staff, str_of(&pickup, "id"), &proposal())
        .await
        .problem(422);
    let order = server.order(&staff, &id).await;
    assert_eq!(order["status"], "picking_in_progress", "nothing written");
    assert!(order.get("proposal").is_none());
}
