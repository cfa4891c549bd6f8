//! Customer notifications on the running local stack: what a customer
//! would receive at each state lands in the development mailbox
//! (`GET /admin/mailbox`), in the store's name and with the tracking link;
//! moves within the collapse window are told once; the customer's own
//! choices from the tracking page hold; and every decision — sent or not,
//! and why — is on the order's log.

mod common;

use std::time::Duration;

use common::*;
use order_core::auth::Role;
use reqwest::Method;
use serde_json::{json, Value};

/// acme sends email for everything and SMS when an order is ready; no
/// collapse window unless `collapse` says.
fn policy(collapse: u32) -> Value {
    json!({ "tenants": { "acme": { "notifications": {
        "sender": "Acme Coffee", "sms": ["ready"], "collapse_seconds": collapse } } } })
}

/// The mailbox once it holds `n` messages (or after a while).
async fn mailbox(server: &Server, token: &str, n: usize) -> Vec<Value> {
    for _ in 0..100 {
        let listed = server.get("/admin/mailbox", token).await;
        let messages = listed.expect(200)["messages"].as_array().unwrap().clone();
        if messages.len() >= n {
            return messages;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    server.get("/admin/mailbox", token).await.json["messages"]
        .as_array()
        .unwrap()
        .clone()
}

/// The notifier's records on the order's log.
async fn records(server: &Server, token: &str, id: &str) -> Vec<Value> {
    server
        .events(token, id)
        .await
        .into_iter()
        .filter(|e| e["kind"] == "notification_recorded")
        .map(|e| e["data"].clone())
        .collect()
}

#[tokio::test]
async fn the_customer_is_told_each_state_by_the_channels_the_store_chose() {
    let server = start_with(&[], &[], Some(policy(0)));
    let manager = token("acme", Role::Manager);
    let order = server
        .place(&manager, &checkout_body("cus_1", "pickup"))
        .await;
    let (id, public_id) = (str_of(&order, "id"), str_of(&order, "public_id"));
    for to in ["accepted", "in_progress", "ready"] {
        server.advance(&manager, id, to, json!({})).await;
    }
    let messages = mailbox(&server, &manager, 5).await;
    let subjects: Vec<&str> = messages
        .iter()
        .filter_map(|m| m["subject"].as_str())
        .collect();
    assert_eq!(subjects.len(), 4, "an email per state: {messages:?}");
    assert!(subjects.iter().all(|s| s.starts_with("Acme Coffee: ")));
    let sms: Vec<&Value> = messages.iter().filter(|m| m["channel"] == "sms").collect();
    assert_eq!(sms.len(), 1, "SMS only when ready");
    assert_eq!(sms[0]["to"], "+1-416-555-0199");
    let link = format!("http://localhost:3000/t/{public_id}");
    for message in &messages {
        let text = message["text"].as_str().unwrap();
        assert!(text.contains(&link), "{text}");
        assert!(!text.contains(id), "never the internal id");
    }
    let placed = messages
        .iter()
        .find(|m| m["text"].as_str().unwrap().contains("Follow your order"))
        .unwrap();
    assert_eq!(placed["to"], "dana@example.com");

    // Every decision is on the log, with the provider's message id.
    let log = records(&server, &manager, id).await;
    assert_eq!(log.len(), 5);
    assert!(log.iter().all(|r| r["message_id"].is_string()));

    // Another tenant's managers see none of it.
    let globex = token("globex", Role::Manager);
    assert_eq!(
        server.get("/admin/mailbox", &globex).await.expect(200)["messages"],
        json!([])
    );
    server
        .get("/admin/mailbox", &token("acme", Role::Staff))
        .await
        .problem(403);
}

#[tokio::test]
async fn moves_in_quick_succession_are_told_once_and_the_customer_can_stop_them() {
    let server = start_with(&[], &[], Some(policy(1)));
    let manager = token("acme", Role::Manager);
    let order = server
        .place(&manager, &checkout_body("cus_1", "pickup"))
        .await;
    let (id, public_id) = (str_of(&order, "id"), str_of(&order, "public_id"));
    // Placed, then accepted and in progress within the second: one email.
    server.advance(&manager, id, "accepted", json!({})).await;
    server.advance(&manager, id, "in_progress", json!({})).await;
    let messages = mailbox(&server, &manager, 1).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let messages = mailbox(&server, &manager, messages.len()).await;
    assert_eq!(messages.len(), 1, "{messages:?}");
    let log = records(&server, &manager, id).await;
    let collapsed = log
        .iter()
        .filter(|r| r["suppressed"] == "collapsed")
        .count();
    assert_eq!(
        collapsed, 2,
        "placed and accepted collapsed into in progress: {log:?}"
    );

    // The customer turns updates off from the tracking page.
    let path = format!("/track/{public_id}/notifications");
    let off = server
        .call(
            Method::POST,
            &path,
            None,
            Some(&json!({ "opted_out": true })),
        )
        .await;
    let view = off.expect(200);
    assert_eq!(view["notifications"]["opted_out"], true);
    assert_eq!(view["notifications"]["can_email"], true);
    assert!(view["notifications"].get("email_address").is_none());
    server.advance(&manager, id, "ready", json!({})).await;
    tokio::time::sleep(Duration::from_millis(2000)).await;
    assert_eq!(mailbox(&server, &manager, 1).await.len(), 1, "nothing more");
    let log = records(&server, &manager, id).await;
    let opted_out: Vec<_> = log
        .iter()
        .filter(|r| r["suppressed"] == "opted_out")
        .map(|r| r["channel"].clone())
        .collect();
    assert_eq!(opted_out, [json!("email"), json!("sms")]);

    // Bad choices change nothing.
    let bad = json!({ "email": ["not_a_state"] });
    server
        .call(Method::POST, &path, None, Some(&bad))
        .await
        .problem(400);
    let unknown = server
        .call(
            Method::POST,
            "/track/trk_nope/notifications",
            None,
            Some(&json!({})),
        )
        .await;
    unknown.problem(404);
}

#[tokio::test]
async fn a_customer_chooses_sms_for_one_state_and_email_for_nothing() {
    let server = start_with(&[], &[], Some(policy(0)));
    let manager = token("acme", Role::Manager);
    let order = server
        .place(&manager, &checkout_body("cus_1", "pickup"))
        .await;
    let (id, public_id) = (str_of(&order, "id"), str_of(&order, "public_id"));
    mailbox(&server, &manager, 1).await;
    let path = format!("/track/{public_id}/notifications");
    let choice = json!({ "email": [], "sms": ["completed"] });
    let chosen = server.call(Method::POST, &path, None, Some(&choice)).await;
    assert_eq!(
        chosen.expect(200)["notifications"]["sms"],
        json!(["completed"])
    );
    for to in ["accepted", "in_progress", "ready", "completed"] {
        server.advance(&manager, id, to, json!({})).await;
    }
    let messages = mailbox(&server, &manager, 2).await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    let messages = mailbox(&server, &manager, messages.len()).await;
    assert_eq!(
        messages.len(),
        2,
        "the placed email, then one SMS: {messages:?}"
    );
    assert_eq!(messages[0]["channel"], "sms");
    assert!(messages[0]["text"]
        .as_str()
        .unwrap()
        .starts_with("Acme Coffee: "));
}

/// The "my orders" link in an email: the customer's orders at this store,
/// as they may see them, until it expires; a link we did not sign, or one
/// past its date, opens nothing.
#[tokio::test]
async fn an_email_carries_a_signed_link_to_all_the_customers_orders() {
    let server = start_with(&[], &[], Some(policy(0)));
    let manager = token("acme", Role::Manager);
    let first = server
        .place(&manager, &checkout_body("cus_1", "pickup"))
        .await;
    let second = server
        .place(&manager, &checkout_body("cus_1", "shipping"))
        .await;
    let someone_else = server
        .place(&manager, &checkout_body("cus_2", "pickup"))
        .await;
    let messages = mailbox(&server, &manager, 3).await;
    let text = messages
        .iter()
        .map(|m| m["text"].as_str().unwrap())
        .find(|t| t.contains(str_of(&first, "public_id")))
        .unwrap();
    let link = text
        .lines()
        .find_map(|l| l.strip_prefix("All your orders with us: "))
        .expect("the link");
    let token = link
        .strip_prefix("http://localhost:3000/my/")
        .expect("on the tracking site");
    assert!(
        !token.contains("cus_1") && !token.contains('@'),
        "no PII: {token}"
    );

    let listed = server
        .call(Method::GET, &format!("/my-orders/{token}"), None, None)
        .await;
    let orders = listed.expect(200)["orders"].as_array().unwrap().clone();
    let mut ids: Vec<&str> = orders
        .iter()
        .map(|o| o["public_id"].as_str().unwrap())
        .collect();
    ids.sort();
    let mut expected = vec![str_of(&first, "public_id"), str_of(&second, "public_id")];
    expected.sort();
    assert_eq!(
        ids, expected,
        "{:?} is not theirs",
        someone_else["public_id"]
    );
    let shown = serde_json::to_string(&orders).unwrap();
    for private in [
        "dana@example.com",
        "1 King St",
        "cus_1",
        str_of(&first, "id"),
    ] {
        assert!(!shown.contains(private), "{private} in {shown}");
    }
    assert!(orders.iter().all(|o| o["label"].is_string()));

    // The page the link opens, under the pages' policy.
    let page = server
        .http
        .get(server.url(&format!("/my/{token}")))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .contains("script-src 'self'"));

    // Tampered with, or signed with another key, or expired: nothing.
    let public_id = str_of(&someone_else, "public_id");
    let forged = token.replacen(str_of(&first, "public_id"), public_id, 1);
    for bad in [forged.as_str(), "trk_x.1.00", "nonsense"] {
        let refused = server
            .call(Method::GET, &format!("/my-orders/{bad}"), None, None)
            .await;
        refused.problem(404);
    }
    let key = order_core::notify::LinkKey::new(order_tracking::DEV_LINK_SECRET.as_bytes());
    let expired = key.sign(public_id, chrono::Utc::now() - chrono::Duration::minutes(1));
    let gone = server
        .call(Method::GET, &format!("/my-orders/{expired}"), None, None)
        .await;
    gone.problem(410);
}
