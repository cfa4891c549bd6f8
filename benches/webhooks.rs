//! Webhooks per second verified, deduplicated and stored through the local
//! stack: signed EasyPost tracker events (one in five a redelivery) for
//! shipped orders, sent concurrently over HTTP to the embedded store.
//!
//! `cargo bench --bench webhooks` — knobs: BENCH_ORDERS (default 500),
//! BENCH_WEBHOOKS (default 4000), BENCH_CONCURRENCY (default 16). The server
//! runs as its own process (the real binary).

#[allow(dead_code)] // the tests use more of it than a benchmark does
#[path = "../tests/common/stack.rs"]
mod stack;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{SecondsFormat, Utc};
use hmac::{Hmac, Mac};
use order_core::auth::Role;
use order_core::hex;
use serde_json::{json, Value};
use sha2::Sha256;

const SECRET: &str = "bench-easypost-secret";

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn sign(body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(body.as_bytes());
    let digest = mac.finalize().into_bytes();
    format!("hmac-sha256-hex={}", hex::encode(&digest))
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

#[tokio::main]
async fn main() {
    let orders = env("BENCH_ORDERS", 500);
    let webhooks = env("BENCH_WEBHOOKS", 4000);
    let concurrency = env("BENCH_CONCURRENCY", 16);
    let dir = tempfile::tempdir().unwrap();
    let secrets = json!({ "bench": { "easypost": SECRET } }).to_string();
    // At warn, relayed events are not logged: the figure is the intake's.
    let server = stack::Launch::default()
        .data_dir(dir.path())
        .args(&["--sweep-every", "0"])
        .env("WEBHOOK_SECRETS", &secrets)
        .env("RUST_LOG", "warn")
        .start();
    let base = server.base.clone();
    let token = stack::token_for("bench", Role::Manager, "bench");
    let http = server.http.clone();

    eprintln!("shipping {orders} orders…");
    let checkout = json!({
        "customer_id": "cus_bench", "currency": "CAD", "fulfilment": "shipping",
        "items": [{ "sku": "CHN-800", "name": "Chandelier", "unit_price": 80000, "quantity": 1 }],
        "shipping": { "method": "standard", "name": "Bench",
            "address": { "line1": "1 King St W", "city": "Toronto", "postal_code": "M5H 1A1", "country": "CA" } }
    });
    for i in 0..orders {
        let order: Value = http
            .post(format!("{base}/orders"))
            .bearer_auth(&token)
            .json(&checkout)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let id = order["id"].as_str().unwrap();
        for step in [
            json!({ "to": "confirmed" }),
            json!({ "to": "shipped", "tracking": { "carrier": "UPS", "code": format!("1ZB{i:08}") } }),
        ] {
            let r = http
                .post(format!("{base}/orders/{id}/transitions"))
                .bearer_auth(&token)
                .json(&step)
                .send()
                .await
                .unwrap();
            assert!(r.status().is_success());
        }
    }

    // Each package gets scans a minute apart; every fifth webhook repeats the previous event id.
    let statuses = ["in_transit", "in_transit", "out_for_delivery", "delivered"];
    let bodies: Vec<String> = (0..webhooks)
        .map(|n| {
            let order = n % orders;
            let scan = (n / orders) % statuses.len();
            let event = if n % 5 == 4 { n - 1 } else { n };
            let at = (Utc::now() - chrono::Duration::minutes(60) + chrono::Duration::minutes(scan as i64))
                .to_rfc3339_opts(SecondsFormat::Secs, true);
            json!({
                "id": format!("evt_{event}"), "object": "Event", "description": "tracker.updated",
                "result": { "object": "Tracker", "tracking_code": format!("1ZB{order:08}"), "carrier": "UPS",
                            "status": statuses[scan], "updated_at": at,
                            "tracking_details": [{ "datetime": at, "status": statuses[scan], "message": "scan" }] }
            })
            .to_string()
        })
        .collect();
    let bodies = Arc::new(bodies);
    eprintln!("sending {webhooks} signed webhooks with {concurrency} concurrent senders…");
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let senders: Vec<_> = (0..concurrency)
        .map(|_| {
            let (http, bodies, next, base) =
                (http.clone(), bodies.clone(), next.clone(), base.clone());
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut duplicates = 0;
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(body) = bodies.get(i) else { break };
                    let t = Instant::now();
                    let response = http
                        .post(format!("{base}/webhooks/bench/carrier/easypost"))
                        .header("content-type", "application/json")
                        .header("x-hmac-signature", sign(body))
                        .body(body.clone())
                        .send()
                        .await
                        .unwrap();
                    assert_eq!(response.status(), 200);
                    let receipt: Value = response.json().await.unwrap();
                    latencies.push(t.elapsed());
                    duplicates += usize::from(receipt["outcomes"][0]["outcome"] == "duplicate");
                }
                (latencies, duplicates)
            })
        })
        .collect();
    let mut latencies = Vec::new();
    let mut duplicates = 0;
    for s in senders {
        let (l, d) = s.await.unwrap();
        latencies.extend(l);
        duplicates += d;
    }
    let elapsed = started.elapsed();
    drop(server);
    latencies.sort();
    println!(
        "webhooks: {} signed webhooks in {:.2}s = {:.0} webhooks/s verified, deduplicated and stored ({} duplicates acknowledged); p50 {:.2} ms, p99 {:.2} ms ({} orders, {} senders, embedded store)",
        latencies.len(),
        elapsed.as_secs_f64(),
        latencies.len() as f64 / elapsed.as_secs_f64(),
        duplicates,
        percentile(&latencies, 0.5).as_secs_f64() * 1e3,
        percentile(&latencies, 0.99).as_secs_f64() * 1e3,
        orders,
        concurrency
    );
}
