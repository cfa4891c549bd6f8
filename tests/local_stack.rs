//! The local stack as a process: it keeps its data across restarts, relays
//! committed events (logging each as its EventBridge entry), stops cleanly on
//! Ctrl-C, and its demo drives every preset to the end.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use order_core::auth::{JwtKeys, Role};
use serde_json::{json, Value};

struct Running {
    child: Child,
    base: String,
}

fn start(data_dir: &Path) -> Running {
    let mut child = Command::new(env!("CARGO_BIN_EXE_order-tracking"))
        .args(["--addr", "127.0.0.1:0", "--data-dir"])
        .arg(data_dir)
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the stack");
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    let base = line
        .trim()
        .strip_prefix("listening on ")
        .expect("address line")
        .to_string();
    std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
    Running { child, base }
}

/// Sends Ctrl-C and returns (exit success, everything logged).
fn interrupt(mut running: Running) -> (bool, String) {
    let pid = running.child.id().to_string();
    Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .expect("kill -INT");
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = running.child.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "the stack did not stop on Ctrl-C"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut logs = String::new();
    running
        .child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut logs)
        .unwrap();
    (status.success(), logs)
}

fn token() -> String {
    JwtKeys::hs256(order_tracking::DEV_JWT_SECRET.as_bytes()).mint(
        "acme",
        Role::Manager,
        "m",
        chrono::Duration::hours(1),
    )
}

#[tokio::test]
async fn orders_survive_a_restart_and_every_event_is_relayed_as_a_bus_entry() {
    let dir = tempfile::tempdir().unwrap();
    let http = reqwest::Client::new();
    let first = start(dir.path());
    let order: Value = http
        .post(format!("{}/orders", first.base))
        .bearer_auth(token())
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
        .bearer_auth(token())
        .json(&json!({ "to": "accepted" }))
        .send()
        .await
        .unwrap();
    assert_eq!(moved.status(), 200);
    let (clean, logs) = interrupt(first);
    assert!(clean, "Ctrl-C is a clean exit");
    for detail_type in ["OrderPlaced", "OrderStatusChanged"] {
        let entry = format!("\"DetailType\":\"{detail_type}\"");
        assert!(logs.contains(&entry), "{detail_type} was relayed:\n{logs}");
    }
    assert!(logs.contains("\"Source\":\"order-tracking\""));

    let second = start(dir.path());
    let again: Value = http
        .get(format!("{}/orders/{id}", second.base))
        .bearer_auth(token())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(again["status"], "accepted");
    assert_eq!(again["version"], 2);
    let (_, logs) = interrupt(second);
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
