//! Personal data at rest (README › Personal data): sealed in the store
//! file, opened for staff, and erased per customer without breaking the
//! order's history.

use order_core::auth::Role;
use reqwest::Method;
use serde_json::{json, Value};

use crate::common::*;

/// Values no other test uses, so finding one in a file can only mean a leak.
const EMAIL: &str = "quentin.zyxwv@pii-probe.example";
const PHONE: &str = "+1-416-555-0147";
const NAME: &str = "Quentin Zyxwvut";
const LINE1: &str = "77 Xylophonic Crescent";
const LINE2: &str = "Apartment Qv";
const POSTAL: &str = "Q9Z 4Z7";

fn distinctive(customer: &str) -> Value {
    let mut body = checkout_body(customer, "shipping");
    body["contact"] = json!({ "email": EMAIL, "phone": PHONE });
    body["shipping"]["name"] = json!(NAME);
    let address = &mut body["shipping"]["address"];
    address["line1"] = json!(LINE1);
    address["line2"] = json!(LINE2);
    address["postal_code"] = json!(POSTAL);
    body
}

/// A staff view (the head's fields at its top) with the data as given.
fn assert_opened(head: &Value) {
    assert_eq!(head["contact"], json!({ "email": EMAIL, "phone": PHONE }));
    let shipping = &head["shipping"];
    assert_eq!(shipping["name"], NAME);
    assert_eq!(shipping["address"]["line1"], LINE1);
    assert_eq!(shipping["address"]["line2"], LINE2);
    assert_eq!(shipping["address"]["postal_code"], POSTAL);
    assert_eq!(shipping["address"]["city"], "Toronto");
}

fn assert_erased(head: &Value) {
    assert_eq!(
        head["contact"],
        json!({ "email": "[erased]", "phone": "[erased]" })
    );
    let shipping = &head["shipping"];
    assert_eq!(shipping["name"], "[erased]");
    assert_eq!(shipping["address"]["line1"], "[erased]");
    assert_eq!(shipping["address"]["postal_code"], "[erased]");
    // What the tracking page shows is not personal, and stays.
    assert_eq!(shipping["address"]["city"], "Toronto");
    assert_eq!(shipping["address"]["country"], "CA");
}

/// Every byte of the store: the database file and its write-ahead log.
fn store_bytes(dir: &std::path::Path) -> Vec<u8> {
    let mut bytes = Vec::new();
    for name in ["orders.sqlite3", "orders.sqlite3-wal"] {
        if let Ok(mut file) = std::fs::read(dir.join(name)) {
            bytes.append(&mut file);
        }
    }
    assert!(!bytes.is_empty(), "the store file is there");
    bytes
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

#[tokio::test]
async fn no_personal_data_lands_in_the_store_file_and_staff_still_read_it() {
    let dir = tempfile::tempdir().unwrap();
    let server = Launch::default().data_dir(dir.path()).keep_logs().start();
    let manager = token("acme", Role::Manager);
    let placed = server
        .checkout(&manager, &distinctive("cus_pii"), Some("pii-key-1"))
        .await
        .expect(201)
        .clone();
    assert_opened(&placed);
    let id = str_of(&placed, "id").to_string();
    server
        .advance_through(&manager, &id, &["confirmed", "packing"])
        .await;
    assert_opened(&server.order(&manager, &id).await);
    // The stored response a replay answers with is sealed too.
    let replay = server
        .checkout(&manager, &distinctive("cus_pii"), Some("pii-key-1"))
        .await;
    assert_opened(replay.expect(200));

    let bytes = store_bytes(dir.path());
    assert!(contains(&bytes, "enc:v1:"), "sealed fields are stored");
    for plain in [
        EMAIL,
        PHONE,
        NAME,
        LINE1,
        LINE2,
        POSTAL,
        "Xylophonic",
        "zyxwv@",
    ] {
        assert!(!contains(&bytes, plain), "{plain:?} is in the store file");
    }
    // The log carries only the sealed form.
    let events = server.events(&manager, &id).await;
    let placed_event = events.iter().find(|e| e["kind"] == "order_placed").unwrap();
    let text = placed_event.to_string();
    assert!(!text.contains(EMAIL) && !text.contains(LINE1), "{text}");

    // A restart reads the same key file: the order still opens.
    let (stopped, logs) = server.interrupt();
    assert!(stopped);
    for plain in [EMAIL, PHONE, NAME, LINE1, POSTAL] {
        assert!(!logs.contains(plain), "{plain:?} is in the logs");
    }
    assert!(dir.path().join("master.key").exists());
    let server = Launch::default().data_dir(dir.path()).start();
    assert_opened(&server.order(&manager, &id).await);
}

#[tokio::test]
async fn an_erasure_forgets_one_customers_personal_data_and_keeps_their_orders() {
    let server = start();
    let manager = token("acme", Role::Manager);
    let first = server.place(&manager, &distinctive("cus_gone")).await;
    let second = server.place(&manager, &distinctive("cus_gone")).await;
    let other = server.place(&manager, &distinctive("cus_kept")).await;
    let globex = token("globex", Role::Manager);
    let theirs = server.place(&globex, &distinctive("cus_gone")).await;
    let id = str_of(&first, "id").to_string();
    let erasure = "/admin/customers/cus_gone/erasure";

    let staff = token("acme", Role::Staff);
    let refused = server.call(Method::POST, erasure, Some(&staff), None).await;
    refused.problem(403);
    let limited = store_token("acme", Role::Manager, &["main"]);
    let refused = server
        .call(Method::POST, erasure, Some(&limited), None)
        .await;
    refused.problem(403);
    let too_long = format!("/admin/customers/{}/erasure", "c".repeat(129));
    let refused = server
        .call(Method::POST, &too_long, Some(&manager), None)
        .await;
    assert!(refused.problem(400)["detail"]
        .as_str()
        .unwrap()
        .contains("customer_id"));
    let nobody = "/admin/customers/cus_unknown/erasure";
    let nothing = server
        .call(Method::POST, nobody, Some(&manager), None)
        .await;
    assert_eq!(
        nothing.expect(200),
        &json!({ "customer_id": "cus_unknown", "key_erased": false, "orders": 0 })
    );
    assert_opened(&server.order(&manager, &id).await);

    let erased = server
        .call(Method::POST, erasure, Some(&manager), None)
        .await;
    assert_eq!(
        erased.expect(200),
        &json!({ "customer_id": "cus_gone", "key_erased": true, "orders": 2 })
    );
    for order in [&first, &second] {
        assert_erased(&server.order(&manager, str_of(order, "id")).await);
    }
    assert_opened(&server.order(&manager, str_of(&other, "id")).await);
    assert_opened(&server.order(&globex, str_of(&theirs, "id")).await);

    // The history stays whole: the order lists, moves, tracks and logs.
    let listed = server
        .list_ids(&manager, &[("customer_id", "cus_gone")])
        .await;
    assert_eq!(listed.len(), 2);
    let moved = server.advance(&manager, &id, "confirmed", json!({})).await;
    assert_erased(&moved);
    server.track(str_of(&first, "public_id")).await.expect(200);
    let notes: Vec<Value> = server
        .events(&manager, &id)
        .await
        .into_iter()
        .filter(|e| e["kind"] == "note_added")
        .collect();
    assert_eq!(notes.len(), 1, "the erasure is on the order's log");
    assert_eq!(
        notes[0]["data"]["text"],
        "Personal data erased at the customer's request"
    );
    assert!(notes[0]["actor"].as_str().unwrap().contains("user-1"));

    // Erasing again finds no key; a later order is sealed under a new one.
    let again = server
        .call(Method::POST, erasure, Some(&manager), None)
        .await;
    assert_eq!(again.expect(200)["key_erased"], false);
    let later = server.place(&manager, &distinctive("cus_gone")).await;
    assert_opened(&later);
    assert_erased(&server.order(&manager, &id).await);
}

#[tokio::test]
async fn an_erased_customer_is_sent_nothing_more() {
    let policy = json!({ "tenants": { "acme": { "notifications": {
        "sender": "Acme", "collapse_seconds": 0 } } } });
    let server = start_with(&[], &[], Some(policy));
    let manager = token("acme", Role::Manager);
    let order = server.place(&manager, &distinctive("cus_quiet")).await;
    let id = str_of(&order, "id").to_string();
    let sent_to = |messages: &Value| -> Vec<String> {
        messages["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["to"].as_str().unwrap().to_string())
            .collect()
    };
    let mut before = Vec::new();
    for _ in 0..100 {
        before = sent_to(server.get("/admin/mailbox", &manager).await.expect(200));
        if !before.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(before, [EMAIL], "the notifier opened the address");

    let erasure = "/admin/customers/cus_quiet/erasure";
    server
        .call(Method::POST, erasure, Some(&manager), None)
        .await
        .expect(200);
    server.advance(&manager, &id, "confirmed", json!({})).await;
    let mut recorded = Vec::new();
    for _ in 0..100 {
        recorded = server
            .events(&manager, &id)
            .await
            .into_iter()
            .filter(|e| e["kind"] == "notification_recorded")
            .collect();
        if recorded.len() >= 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(recorded.len(), 2, "{recorded:?}");
    assert!(recorded[1]["data"]["message_id"].is_null(), "{recorded:?}");
    let after = sent_to(server.get("/admin/mailbox", &manager).await.expect(200));
    assert_eq!(after, before);
}
