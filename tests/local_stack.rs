//! The local stack as a process: it keeps its data across restarts, relays
//! committed events (logging each as its EventBridge entry), stops cleanly on
//! Ctrl-C, and its demo drives every preset to the end.

mod common;

use std::path::Path;
use std::process::Command;

use common::*;
use order_core::auth::Role;
use serde_json::{json, Value};

/// A stack on `data_dir` whose logs (at info, where relayed events are
/// logged) are kept for `Server::interrupt`.
fn start_on(data_dir: &Path) -> Server {
    Launch::default()
        .data_dir(data_dir)
        .env("RUST_LOG", "info")
        .keep_logs()
        .start()
}

#[tokio::test]
async fn orders_survive_a_restart_and_every_event_is_relayed_as_a_bus_entry() {
    let dir = tempfile::tempdir().unwrap();
    let http = reqwest::Client::new();
    let manager = token("acme", Role::Manager);
    let first = start_on(dir.path());
    let order: Value = http
        .post(format!("{}/orders", first.base))
        .bearer_auth(&manager)
        .json(&json!({ "customer_id": "cus_1", "currency": "CAD", "fulfilment": "pickup",
                       "items": [{ "sku": "A", "name": "Lamp", "unit_price": 100, "quantity": 1 }] }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = order["id"].as_str().unwrap().to_string();
    let moved = http
        .post(format!("{}/orders/{id}/transitions", first.base))
        .bearer_auth(&manager)
        .json(&json!({ "to": "accepted" }))
        .send()
        .await
        .unwrap();
    assert_eq!(moved.status(), 200);
    let (clean, logs) = first.interrupt();
    assert!(clean, "Ctrl-C is a clean exit");
    for detail_type in ["OrderPlaced", "OrderStatusChanged"] {
        let entry = format!("\"DetailType\":\"{detail_type}\"");
        assert!(logs.contains(&entry), "{detail_type} was relayed:\n{logs}");
    }
    assert!(logs.contains("\"Source\":\"order-tracking\""));

    let second = start_on(dir.path());
    let again: Value = http
        .get(format!("{}/orders/{id}", second.base))
        .bearer_auth(&manager)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(again["status"], "accepted");
    assert_eq!(again["version"], 2);
    let (_, logs) = second.interrupt();
    assert!(
        !logs.contains("OrderPlaced"),
        "events relayed before the restart are not relayed again"
    );
}

#[test]
fn the_demo_drives_every_preset_to_its_end() {
    let output = Command::new(env!("CARGO_BIN_EXE_order-tracking"))
        .args(["demo", "--pace-ms", "0"])
        .output()
        .expect("run the demo");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "demo failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    for preset in ["shipping", "pickup", "kitchen", "local_delivery"] {
        assert!(stdout.contains(&format!("== {preset}:")), "{preset} ran");
    }
    assert!(
        stdout.contains("(parked)"),
        "the demo shows a parked fact:\n{stdout}"
    );
    assert!(stdout.contains("(late)"), "the demo shows a late fact");
    assert!(stdout.contains("demo finished: 4 orders"));
    let finals: Vec<&str> = stdout
        .lines()
        .filter(|l| l.contains('│') && !l.contains("timeline"))
        .collect();
    assert!(finals.iter().any(|l| l.contains("Delivered.")));
    assert!(finals.iter().any(|l| l.contains("Collected")));
}
