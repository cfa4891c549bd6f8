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

fn at(value: &serde_json::Value) -> chrono::DateTime<chrono::Utc> {
    value.as_str().unwrap().parse().unwrap()
}

/// Each package on the tracking page carries the carrier's estimate while
/// it is on its way, and where and when it was last scanned.
#[tokio::test]
async fn the_customer_sees_each_packages_estimate_and_last_scan() {
    let secrets = json!({ "acme": { "easypost": "ep-secret" } }).to_string();
    let server = start_with(&[], &[("WEBHOOK_SECRETS", &secrets)], None);
    let manager = token("acme", Role::Manager);
    let order = server
        .place(&manager, &checkout_body("cus_1", "shipping"))
        .await;
    let (id, public_id) = (str_of(&order, "id"), str_of(&order, "public_id"));
    server.advance(&manager, id, "confirmed", json!({})).await;
    server.advance(&manager, id, "packing", json!({})).await;
    server
        .advance(
            &manager,
            id,
            "shipped",
            json!({"tracking": {"carrier": "UPS", "code": "1Z999AA10123456784"}}),
        )
        .await;
    let scan = |event: &str, status: &str, at: &str| {
        json!({
            "id": event, "object": "Event", "description": "tracker.updated",
            "result": {
                "object": "Tracker", "id": "trk_1", "tracking_code": "1Z999AA10123456784",
                "carrier": "UPS", "status": status, "est_delivery_date": "2026-12-03T17:00:00Z",
                "tracking_details": [{"object": "TrackingDetail", "datetime": at, "status": status,
                    "message": "Departed facility",
                    "tracking_location": {"city": "Mississauga", "state": "ON", "country": "CA"}}]
            }
        })
        .to_string()
    };
    let path = "/webhooks/acme/carrier/easypost";
    let hours_ago = |h| rfc3339(chrono::Utc::now() - chrono::Duration::hours(h));
    let (first, second) = (hours_ago(5), hours_ago(1));
    server
        .signed_webhook(path, "ep-secret", &scan("evt_1", "in_transit", &first))
        .await
        .expect(200);
    let view = server.track(public_id).await;
    let package = &view.expect(200)["shipments"][0];
    assert_eq!(package["estimated_delivery"], "2026-12-03T17:00:00Z");
    assert_eq!(at(&package["last_scan_at"]), at(&json!(first)));
    assert!(package["last_location"]
        .as_str()
        .unwrap()
        .starts_with("Mississauga"));

    // Delivered, an estimate means nothing any more; the last scan stays.
    server
        .signed_webhook(path, "ep-secret", &scan("evt_2", "delivered", &second))
        .await
        .expect(200);
    let view = server.track(public_id).await;
    let package = &view.expect(200)["shipments"][0];
    assert!(package.get("estimated_delivery").is_none(), "{package}");
    assert_eq!(at(&package["last_scan_at"]), at(&json!(second)));
}
