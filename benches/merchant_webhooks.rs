//! Merchant webhooks through the local stack: how many deliveries a second
//! reach merchants' endpoints, and how long after its commit an event's
//! first delivery attempt arrives.
//!
//! `cargo bench --bench merchant_webhooks` — knobs: BENCH_ORDERS (default
//! 1000), BENCH_ENDPOINTS (default 4). The server runs as its own process
//! (the real binary, on a store file, `--allow-loopback-webhooks`); this
//! process is the staff sending commands and the receiver (one axum
//! server, every endpoint a path of it), sharing the machine's 2 cores.
//!
//! 1. Delay: orders placed and moved one command at a time, one endpoint;
//!    each delivery's delay = its arrival − the event's `recorded_at`
//!    (taken when the command was decided, on the same clock).
//! 2. Rate: 8 workers move every order through 4 steps as fast as the API
//!    takes them, each event going to every endpoint; deliveries a second
//!    from the first arrival to the last.
//!
//! Prints the `merchant_delay` and `merchant_rate` rows for `scripts/bench.py`.

#[allow(dead_code)] // the tests use more of it than a benchmark does
#[path = "../tests/common/stack.rs"]
mod stack;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use chrono::{DateTime, Utc};
use order_core::auth::Role;
use serde_json::{json, Value};

const STEPS: [&str; 4] = ["accepted", "in_progress", "ready", "completed"];

/// What the receiver saw: when each delivery arrived, and its delay (ms).
#[derive(Clone, Default)]
struct Seen(Arc<Mutex<Vec<(Instant, f64)>>>);

async fn receive(State(seen): State<Seen>, body: Bytes) -> StatusCode {
    let arrived = (Instant::now(), Utc::now());
    let envelope: Value = serde_json::from_slice(&body).unwrap_or_default();
    let recorded: Option<DateTime<Utc>> = envelope["data"]["recorded_at"]
        .as_str()
        .and_then(|t| t.parse().ok());
    if let Some(recorded) = recorded {
        let delay = (arrived.1 - recorded).num_microseconds().unwrap_or(0) as f64 / 1000.0;
        seen.0.lock().unwrap().push((arrived.0, delay));
    }
    StatusCode::NO_CONTENT
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn knob(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

struct Api {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Api {
    async fn send(&self, path: &str, body: Value) -> Value {
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(
            response.status().is_success(),
            "{path}: {}",
            response.status()
        );
        response.json().await.unwrap()
    }

    async fn place(&self) -> String {
        let body = json!({ "customer_id": "c", "currency": "CAD", "fulfilment": "pickup",
                           "items": [{ "sku": "A", "name": "Lamp", "unit_price": 100, "quantity": 1 }] });
        self.send("/orders", body).await["id"]
            .as_str()
            .unwrap()
            .to_string()
    }

    async fn advance(&self, id: &str, to: &str) {
        self.send(&format!("/orders/{id}/transitions"), json!({ "to": to }))
            .await;
    }
}

/// Waits until `n` deliveries arrived (or a minute passed); how many did.
async fn arrived(seen: &Seen, n: usize) -> usize {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let count = seen.0.lock().unwrap().len();
        if count >= n || Instant::now() > deadline {
            return count;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::main]
async fn main() {
    let orders = knob("BENCH_ORDERS", 1000);
    let endpoints = knob("BENCH_ENDPOINTS", 4);
    let dir = tempfile::tempdir().unwrap();
    let server = stack::Launch::default()
        .data_dir(dir.path())
        .args(&["--sweep-every", "0", "--allow-loopback-webhooks"])
        .env("RUST_LOG", "warn")
        .start();
    let seen = Seen::default();
    let receiver = axum::Router::new()
        .route("/hooks/{n}", post(receive))
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let receiver_at = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, receiver).await });
    let api = Arc::new(Api {
        http: reqwest::Client::new(),
        base: server.base.clone(),
        token: stack::token_for("bench", Role::Manager, "bench"),
    });
    let register = |n: usize| {
        let api = api.clone();
        async move {
            let body = json!({ "url": format!("http://{receiver_at}/hooks/{n}"), "events": ["*"] });
            api.send("/webhook-endpoints", body).await;
        }
    };

    // 1. Delay, one command at a time to one endpoint.
    register(0).await;
    let quiet = 100;
    for _ in 0..quiet / 5 {
        let id = api.place().await;
        for step in STEPS {
            api.advance(&id, step).await;
        }
    }
    let got = arrived(&seen, quiet).await;
    let mut delays: Vec<f64> = seen.0.lock().unwrap().iter().map(|(_, d)| *d).collect();
    delays.sort_by(f64::total_cmp);
    let (p50, p99) = (percentile(&delays, 0.5), percentile(&delays, 0.99));
    eprintln!(
        "delay: {got} of {quiet} deliveries, commit → first attempt p50 {p50:.1} ms, p99 {p99:.1} ms, max {:.1} ms",
        delays.last().unwrap()
    );

    // 2. Rate: every event to every endpoint, commands as fast as they go.
    for n in 1..endpoints {
        register(n).await;
    }
    seen.0.lock().unwrap().clear();
    let expected = orders * (STEPS.len() + 1) * endpoints;
    let started = Instant::now();
    let workers: Vec<_> = (0..8)
        .map(|w| {
            let api = api.clone();
            tokio::spawn(async move {
                for _ in (w..orders).step_by(8) {
                    let id = api.place().await;
                    for step in STEPS {
                        api.advance(&id, step).await;
                    }
                }
            })
        })
        .collect();
    for worker in workers {
        worker.await.unwrap();
    }
    let commands_done = started.elapsed();
    let got = arrived(&seen, expected).await;
    let times: Vec<Instant> = seen.0.lock().unwrap().iter().map(|(t, _)| *t).collect();
    let (first, last) = (times.iter().min().unwrap(), times.iter().max().unwrap());
    let span = last.duration_since(*first).as_secs_f64();
    let rate = got as f64 / span;
    let commands = orders * (STEPS.len() + 1);
    eprintln!(
        "rate: {got} of {expected} deliveries ({commands} events × {endpoints} endpoints) in {span:.2} s: {rate:.0} deliveries/s; commands took {:.2} s ({:.0}/s)",
        commands_done.as_secs_f64(),
        commands as f64 / commands_done.as_secs_f64()
    );
    println!(
        "@row merchant_delay|p50 {p50:.1} ms, p99 {p99:.1} ms|-|real binary on a store file; {quiet} events sent one command at a time to one endpoint on loopback; delay = arrival at the receiver − the event's recorded_at"
    );
    println!(
        "@row merchant_rate|{rate:.0} deliveries/s|commands {:.0}/s meanwhile|{orders} orders × 5 events × {endpoints} endpoints, 8 staff workers as fast as the API takes them, receiver in the bench process on the same 2 cores; first arrival → last",
        commands as f64 / commands_done.as_secs_f64()
    );
    assert_eq!(got, expected, "every delivery arrived");
}
