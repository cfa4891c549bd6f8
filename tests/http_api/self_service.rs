//! The customer's own commands on the tracking page (seed 004): cancelling
//! while the lifecycle lets the customer, and not after.

use reqwest::Method;
use serde_json::json;

use crate::common::*;
use order_core::auth::Role;

#[tokio::test]
async fn a_customer_cancels_while_the_lifecycle_lets_them_and_not_after() {
    let server = start();
    let manager = token("acme", Role::Manager);
    let order = server
        .place(&manager, &checkout_body("cus_1", "pickup"))
        .await;
    let (id, public_id) = (str_of(&order, "id"), str_of(&order, "public_id"));
    let view = server.track(public_id).await;
    assert_eq!(view.expect(200)["can_cancel"], true);

    let path = format!("/track/{public_id}/cancel");
    let body = json!({ "reason": "ordered twice" });
    let cancelled = server.call(Method::POST, &path, None, Some(&body)).await;
    let view = cancelled.expect(200);
    assert_eq!(view["status"], "cancelled");
    assert!(view.get("can_cancel").is_none());
    let events = server.events(&manager, id).await;
    let last = events.last().unwrap();
    assert_eq!(last["source"], "customer");
    assert_eq!(last["data"]["reason"], "ordered twice");

    // Once the store has accepted an order, the customer cannot cancel it.
    let accepted = server
        .place(&manager, &checkout_body("cus_2", "pickup"))
        .await;
    server
        .advance(&manager, str_of(&accepted, "id"), "accepted", json!({}))
        .await;
    let accepted_public = str_of(&accepted, "public_id");
    assert!(server
        .track(accepted_public)
        .await
        .expect(200)
        .get("can_cancel")
        .is_none());
    let refused = server
        .call(
            Method::POST,
            &format!("/track/{accepted_public}/cancel"),
            None,
            Some(&json!({})),
        )
        .await;
    refused.problem(400);
    assert_eq!(
        server.track(accepted_public).await.expect(200)["status"],
        "accepted"
    );
    // Twice is no more than once; an unknown order is not found.
    server
        .call(Method::POST, &path, None, Some(&json!({})))
        .await
        .problem(400);
    let unknown = server
        .call(
            Method::POST,
            "/track/trk_nope/cancel",
            None,
            Some(&json!({})),
        )
        .await;
    unknown.problem(404);
}
