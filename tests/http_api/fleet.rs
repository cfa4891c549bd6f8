//! The tenant's own delivery fleet (seed 004), black box: staff assign a
//! driver, the driver reports positions and progress on their delivery
//! only, the customer sees the driver, and a driver silent for too long
//! while carrying the order gets a delivery issue opened.

use reqwest::Method;
use serde_json::{json, Value};

use crate::common::*;
use order_core::auth::Role;

async fn report(server: &Server, driver: &str, id: &str, body: Value) -> Resp {
    let path = format!("/driver/orders/{id}/reports");
    server
        .call(Method::POST, &path, Some(driver), Some(&body))
        .await
}

/// A local delivery order ready for its driver.
async fn ready(server: &Server, staff: &str) -> (String, String) {
    let states = [
        "store_notified",
        "store_acknowledged",
        "picking_in_progress",
        "ready_for_pickup",
    ];
    let order = server.local_delivery(staff, "cus_1", &states).await;
    (
        str_of(&order, "id").to_string(),
        str_of(&order, "public_id").to_string(),
    )
}

#[tokio::test]
async fn a_fleet_driver_reports_their_delivery_and_only_theirs() {
    let server = start_with_tenants(json!({"tenants": {"acme": {"fleet_position_minutes": 0}}}));
    let staff = token("acme", Role::Staff);
    let manager = token("acme", Role::Manager);
    let robin = token_for("acme", Role::Driver, "drv_robin");
    let sam = token_for("acme", Role::Driver, "drv_sam");
    let (id, public_id) = ready(&server, &staff).await;

    // Nobody is assigned yet: not even a driver of the tenant may report.
    let position = json!({"report": "position", "lat": 43.6452, "lng": -79.3806});
    report(&server, &robin, &id, position.clone())
        .await
        .problem(404);
    let path = format!("/orders/{id}/driver");
    let assign = json!({"driver_id": "drv_robin", "name": "Robin", "vehicle": "Blue Civic"});
    let assigned = server
        .call(Method::POST, &path, Some(&staff), Some(&assign))
        .await;
    assert_eq!(assigned.expect(200)["status"], "driver_assigned");

    // Another driver, staff, or a driver on the staff API: refused.
    report(&server, &sam, &id, position.clone())
        .await
        .problem(404);
    report(&server, &staff, &id, position.clone())
        .await
        .problem(403);
    server
        .get(&format!("/orders/{id}"), &robin)
        .await
        .problem(403);
    let bad = json!({"report": "position", "lat": 123.0, "lng": 0.0});
    report(&server, &robin, &id, bad).await.problem(400);

    let picked = report(&server, &robin, &id, json!({"report": "picked_up"})).await;
    assert_eq!(picked.expect(200)["status"], "driver_pickup_complete");
    report(&server, &robin, &id, position).await.expect(200);
    let view = server.track(&public_id).await;
    let delivery = view.expect(200)["delivery"].clone();
    assert_eq!(delivery["driver_name"], "Robin");
    assert_eq!(delivery["location"]["lat"], 43.6452);

    // The tenant allows no silence at all: the sweep opens a delivery issue,
    // once, and the health view shows it.
    for _ in 0..2 {
        server
            .call(Method::POST, "/admin/sweep", Some(&manager), None)
            .await
            .expect(200);
    }
    let order = server.order(&manager, &id).await;
    let issues: Vec<&Value> = order["issues"].as_array().unwrap().iter().collect();
    assert_eq!(issues.len(), 1, "{issues:?}");
    assert_eq!(issues[0]["kind"], "delivery_exception");
    assert_eq!(issues[0]["severity"], "high");
    assert!(issues[0]["summary"].as_str().unwrap().contains("drv_robin"));
    assert_eq!(issues[0]["opened_by"], "system");

    let delivered = report(&server, &robin, &id, json!({"report": "delivered"})).await;
    assert_eq!(delivered.expect(200)["status"], "delivered");
    let log = server.events(&manager, &id).await;
    assert!(log
        .iter()
        .filter(|e| e["kind"] == "delivery_updated")
        .all(|e| e["source"] == "delivery:fleet"));
}
