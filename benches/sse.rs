//! Delay from commit to receipt on the customers' live streams, with 1,000
//! and 10,000 concurrent SSE subscribers on the local stack, and the memory
//! the server used for them.
//!
//! `cargo bench --bench sse` — knobs: BENCH_SUBSCRIBERS (default
//! "1000,10000"), BENCH_ORDERS (default 100). The server runs as its own
//! process (the real binary); this process is the subscribers. The delay is
//! measured against the event's own timestamp, taken when the command was
//! decided, on the same clock.

#[allow(dead_code)] // the tests use more of it than a benchmark does
#[path = "../tests/common/stack.rs"]
mod stack;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use order_core::auth::Role;
use serde_json::{json, Value};

const STEPS: [&str; 4] = ["accepted", "in_progress", "ready", "completed"];

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// Reads SSE messages from a response; returns the delays (ms) of the status updates.
async fn subscribe(http: reqwest::Client, url: String, ready: Arc<AtomicUsize>) -> Vec<f64> {
    let mut response = match http.get(&url).send().await {
        Ok(r) => r,
        Err(_) => return Vec::new(),
    };
    let mut buffer = String::new();
    let mut delays = Vec::new();
    let mut counted = false;
    while delays.len() < STEPS.len() {
        let chunk = match tokio::time::timeout(Duration::from_secs(60), response.chunk()).await {
            Ok(Ok(Some(chunk))) => chunk,
            _ => break,
        };
        let received = Utc::now();
        buffer.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = buffer.find("\n\n") {
            let block: String = buffer.drain(..end + 2).collect();
            let Some(data) = block.lines().find_map(|l| l.strip_prefix("data:")) else {
                continue;
            };
            let Ok(update) = serde_json::from_str::<Value>(data.trim()) else {
                continue;
            };
            if !counted {
                counted = true;
                ready.fetch_add(1, Ordering::SeqCst);
            }
            if update["type"] == "status" {
                let at: DateTime<Utc> = update["occurred_at"].as_str().unwrap().parse().unwrap();
                delays.push((received - at).num_microseconds().unwrap_or(0) as f64 / 1000.0);
            }
        }
    }
    delays
}

async fn run(subscribers: usize, orders: usize) {
    let server = stack::Launch::default()
        .args(&["--sweep-every", "0"])
        .env("RUST_LOG", "warn")
        .start();
    let base = server.base.clone();
    let token = stack::token_for("bench", Role::Manager, "bench");
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let api = reqwest::Client::new();

    let mut placed = Vec::new();
    for _ in 0..orders {
        let order: Value = api
            .post(format!("{base}/orders"))
            .bearer_auth(&token)
            .json(&json!({ "customer_id": "c", "currency": "CAD", "fulfilment": "pickup",
                           "items": [{ "sku": "A", "name": "Lamp", "unit_price": 100, "quantity": 1 }] }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        placed.push((
            order["id"].as_str().unwrap().to_string(),
            order["public_id"].as_str().unwrap().to_string(),
        ));
    }
    let idle = rss_kib(server.pid());
    eprintln!("{subscribers} subscribers: connecting…");
    let ready = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = (0..subscribers)
        .map(|i| {
            let url = format!("{base}/track/{}/events", placed[i % orders].1);
            tokio::spawn(subscribe(http.clone(), url, ready.clone()))
        })
        .collect();
    while ready.load(Ordering::SeqCst) < subscribers {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let connected = rss_kib(server.pid());
    eprintln!(
        "{subscribers} subscribers: all connected; moving {orders} orders through {} steps…",
        STEPS.len()
    );
    for step in STEPS {
        for (id, _) in &placed {
            let r = api
                .post(format!("{base}/orders/{id}/transitions"))
                .bearer_auth(&token)
                .json(&json!({ "to": step }))
                .send()
                .await
                .unwrap();
            assert!(r.status().is_success());
        }
    }
    let mut delays = Vec::new();
    for t in tasks {
        delays.extend(t.await.unwrap());
    }
    drop(server);
    delays.sort_by(|a, b| a.partial_cmp(b).unwrap());
    println!(
        "sse: {subscribers} subscribers over {orders} orders, {} updates received (of {}): commit→receipt p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms; server memory {:.1} MiB idle → {:.1} MiB with subscribers ({:.1} KiB each)",
        delays.len(),
        subscribers * STEPS.len(),
        percentile(&delays, 0.5),
        percentile(&delays, 0.99),
        delays.last().copied().unwrap_or(0.0),
        idle as f64 / 1024.0,
        connected as f64 / 1024.0,
        (connected.saturating_sub(idle)) as f64 / subscribers as f64,
    );
}

#[tokio::main]
async fn main() {
    let counts = std::env::var("BENCH_SUBSCRIBERS").unwrap_or_else(|_| "1000,10000".into());
    let orders = std::env::var("BENCH_ORDERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100);
    for n in counts.split(',').filter_map(|n| n.trim().parse().ok()) {
        run(n, orders).await;
    }
}
