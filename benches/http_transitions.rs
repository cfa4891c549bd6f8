//! Transitions per second, with p50/p99 latency, through the local HTTP API on
//! the embedded store (a real SQLite file in WAL mode).
//!
//! `cargo bench --bench http_transitions` — knobs: BENCH_ORDERS (default 500),
//! BENCH_CONCURRENCY (default 16). The server runs as its own process (the
//! real binary) on the same machine as the clients, so both share its cores:
//! the figure is a floor.

#[allow(dead_code)] // the tests use more of it than a benchmark does
#[path = "../tests/common/stack.rs"]
mod stack;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use order_core::auth::Role;
use serde_json::{json, Value};

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

const STEPS: [&str; 4] = ["confirmed", "packing", "shipped", "delivered"];

#[tokio::main]
async fn main() {
    let orders = env("BENCH_ORDERS", 500);
    let concurrency = env("BENCH_CONCURRENCY", 16);
    let dir = tempfile::tempdir().expect("temp dir");
    // At warn, relayed events are not logged: the figure is the commands'.
    let server = stack::Launch::default()
        .data_dir(dir.path())
        .args(&["--sweep-every", "0"])
        .env("RUST_LOG", "warn")
        .start();
    let base = server.base.clone();
    let token = stack::token_for("bench", Role::Manager, "bench");
    let http = server.http.clone();

    eprintln!("placing {orders} orders…");
    let body = json!({
        "customer_id": "cus_bench", "currency": "CAD", "fulfilment": "shipping",
        "items": [{ "sku": "CHN-800", "name": "Chandelier", "unit_price": 80000, "quantity": 1 }],
        "shipping": { "method": "standard", "name": "Bench",
            "address": { "line1": "1 King St W", "city": "Toronto", "postal_code": "M5H 1A1", "country": "CA" } }
    });
    let mut ids = Vec::with_capacity(orders);
    for _ in 0..orders {
        let order: Value = http
            .post(format!("{base}/orders"))
            .bearer_auth(&token)
            .json(&body)
            .send()
            .await
            .expect("checkout")
            .json()
            .await
            .expect("order json");
        ids.push(order["id"].as_str().expect("id").to_string());
    }

    eprintln!(
        "driving {} transitions with {concurrency} concurrent clients…",
        orders * STEPS.len()
    );
    let ids = Arc::new(ids);
    let next = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let workers: Vec<_> = (0..concurrency)
        .map(|_| {
            let (http, ids, next, done, token, base) = (
                http.clone(),
                ids.clone(),
                next.clone(),
                done.clone(),
                token.clone(),
                base.clone(),
            );
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(id) = ids.get(i) else { break };
                    for to in STEPS {
                        let mut request = json!({ "to": to });
                        if to == "shipped" {
                            request["tracking"] =
                                json!({ "carrier": "UPS", "code": format!("1Z{i:08}") });
                        }
                        let t = Instant::now();
                        let response = http
                            .post(format!("{base}/orders/{id}/transitions"))
                            .bearer_auth(&token)
                            .json(&request)
                            .send()
                            .await
                            .expect("transition");
                        assert!(
                            response.status().is_success(),
                            "{to}: {}",
                            response.status()
                        );
                        response.bytes().await.expect("body");
                        latencies.push(t.elapsed());
                    }
                    let n = done.fetch_add(1, Ordering::Relaxed) + 1;
                    if n % 100 == 0 {
                        eprintln!("  {n}/{} orders delivered", ids.len());
                    }
                }
                latencies
            })
        })
        .collect();
    let mut latencies = Vec::new();
    for w in workers {
        latencies.extend(w.await.expect("worker"));
    }
    let elapsed = started.elapsed();
    drop(server);

    latencies.sort();
    println!(
        "http_transitions: {} transitions in {:.2}s = {:.0} transitions/s; p50 {:.2} ms, p99 {:.2} ms ({} orders, {} clients, embedded store)",
        latencies.len(),
        elapsed.as_secs_f64(),
        latencies.len() as f64 / elapsed.as_secs_f64(),
        percentile(&latencies, 0.50).as_secs_f64() * 1e3,
        percentile(&latencies, 0.99).as_secs_f64() * 1e3,
        orders,
        concurrency,
    );
}
