//! `GET /events`: the tenant's events for merchants who pull, in the order
//! they were recorded, as their webhook deliveries carry them, page after
//! page from the last id — and nobody else's.

use std::time::Duration;

use order_core::auth::Role;
use reqwest::Method;
use serde_json::{json, Value};

use crate::common::*;

/// The feed after `after` once it holds at least `count` events (each
/// joins a moment after it is recorded).
async fn feed(server: &Server, token: &str, query: &str, count: usize) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let page = server.get(&format!("/events?{query}"), token).await;
        let body = page.expect(200).clone();
        if body["events"].as_array().unwrap().len() >= count
            || tokio::time::Instant::now() > deadline
        {
            return body;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn the_feed_is_the_tenants_events_in_order_from_the_last_id() {
    let server = start();
    let acme = token("acme", Role::Manager);
    let globex = token("globex", Role::Manager);
    let first = server.place(&acme, &checkout_body("cus_1", "pickup")).await;
    server
        .place(&globex, &checkout_body("cus_9", "pickup"))
        .await;
    let id = str_of(&first, "id");
    server.advance(&acme, id, "accepted", json!({})).await;

    let page = feed(&server, &acme, "limit=1", 1).await;
    let events = page["events"].as_array().unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["type"], "OrderPlaced");
    assert_eq!(events[0]["data"]["order_id"], id);
    assert_eq!(events[0]["data"]["seq"], 1);
    assert_eq!(page["next_cursor"], events[0]["id"]);

    let cursor = page["next_cursor"].as_str().unwrap().to_string();
    let rest = feed(&server, &acme, &format!("after={cursor}"), 1).await;
    let rest = rest["events"].as_array().unwrap().clone();
    assert_eq!(rest.len(), 1, "globex's order is not acme's: {rest:?}");
    assert_eq!(rest[0]["type"], "OrderStatusChanged");
    assert_eq!(rest[0]["data"]["to"], "accepted");
    assert_eq!(rest[0]["data"]["seq"], 2);
    assert_eq!(
        rest[0]["id"],
        server.events(&acme, id).await[1]["event_id"],
        "the log's own ids"
    );

    // Caught up: nothing newer, and the cursor stays where it was.
    let last = rest[0]["id"].as_str().unwrap();
    let idle = server.get(&format!("/events?after={last}"), &acme).await;
    assert_eq!(idle.expect(200)["events"], json!([]));
    assert_eq!(idle.json["next_cursor"], last);
}

#[tokio::test]
async fn the_feed_is_for_staff_and_refuses_a_bad_cursor_or_limit() {
    let server = start();
    let customer = token("acme", Role::Customer);
    server.get("/events", &customer).await.problem(403);
    server
        .call(Method::GET, "/events", None, None)
        .await
        .problem(401);
    let staff = token("acme", Role::Staff);
    let long = "e".repeat(300);
    server
        .get(&format!("/events?after={long}"), &staff)
        .await
        .problem(400);
    server.get("/events?limit=0", &staff).await.problem(400);
    server.get("/events?since=1", &staff).await.problem(400);
}
