//! Delay from commit to receipt on the customers' live streams, with 1,000
//! and 10,000 concurrent subscribers on the local stack, over SSE and then
//! over the WebSocket, and the memory the server used for them.
//!
//! `cargo bench --bench sse` — knobs: BENCH_SUBSCRIBERS (default
//! "1000,10000"), BENCH_ORDERS (default 100). The server runs as its own
//! process (the real binary); this process is the subscribers. The delay is
//! measured against the event's own timestamp, taken when the command was
//! decided, on the same clock. Both processes share the machine's cores, so
//! the report says how much CPU each used while the orders moved.
//!
//! Besides its report it prints the `sse` and `ws` rows of the performance
//! table (the largest runs) for `scripts/bench.py`: `@row sse|…`,
//! `@num sse <p99 ms>`, and the same for `ws`.

#[allow(dead_code)] // the tests use more of it than a benchmark does
#[path = "../tests/common/stack.rs"]
mod stack;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use order_core::auth::Role;
use order_core::testkit::process;
use serde_json::{json, Value};
use tokio::net::TcpStream;

const STEPS: [&str; 4] = ["accepted", "in_progress", "ready", "completed"];

fn rss_kib(pid: u32) -> u64 {
    process::rss_kib(&pid.to_string()).unwrap_or(0)
}

fn cpu_seconds(pid: u32) -> f64 {
    process::cpu_seconds(&pid.to_string()).unwrap_or(0.0)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// The fields of a customer update the benchmark reads.
#[derive(serde::Deserialize)]
struct Update {
    #[serde(rename = "type")]
    kind: String,
    occurred_at: DateTime<Utc>,
}

/// One subscriber on a bare TCP connection, so that the 10,000 of them cost
/// this process (which shares the cores with the server) as little as
/// possible: one task, one socket, no HTTP client. Returns the delays (ms)
/// of the status updates it received.
async fn subscribe(addr: SocketAddr, path: String, ready: Arc<AtomicUsize>) -> Vec<f64> {
    let request =
        format!("GET {path} HTTP/1.1\r\nhost: bench\r\naccept: text/event-stream\r\n\r\n");
    let stream = TcpStream::connect(addr).await.expect("connect");
    write_all(&stream, request.as_bytes())
        .await
        .expect("send the request");
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    let mut delays = Vec::new();
    let mut counted = false;
    let mut first = true;
    while delays.len() < STEPS.len() {
        let n = match tokio::time::timeout(Duration::from_secs(60), read(&stream, &mut chunk)).await
        {
            Ok(Ok(n)) if n > 0 => n,
            _ => break,
        };
        let received = Utc::now();
        if std::mem::take(&mut first) {
            let head = String::from_utf8_lossy(&chunk[..n]);
            assert!(head.starts_with("HTTP/1.1 200"), "{path}: {head}");
        }
        buffer.extend_from_slice(&chunk[..n]);
        // Whole lines only. The body is chunked, and every SSE message is
        // one chunk, so a chunk's size is a line of its own, never inside
        // a `data:` line.
        let Some(end) = buffer.iter().rposition(|b| *b == b'\n') else {
            continue;
        };
        for line in buffer[..end].split(|b| *b == b'\n') {
            let Some(data) = line.strip_prefix(b"data: ") else {
                continue;
            };
            let Ok(update) = serde_json::from_slice::<Update>(data) else {
                continue;
            };
            if !counted {
                counted = true;
                ready.fetch_add(1, Ordering::SeqCst);
            }
            if update.kind == "status" {
                let delay = received - update.occurred_at;
                delays.push(delay.num_microseconds().unwrap_or(0) as f64 / 1000.0);
            }
        }
        buffer.drain(..=end);
    }
    delays
}

/// The same subscriber on the WebSocket (`/live?public_id=`): a client that
/// parses the frames, as any WebSocket client must.
async fn subscribe_socket(url: String, ready: Arc<AtomicUsize>) -> Vec<f64> {
    #[derive(serde::Deserialize)]
    struct Message {
        data: Update,
    }
    let (mut socket, _) = tokio_tungstenite::connect_async(url.as_str())
        .await
        .expect("connect");
    let mut delays = Vec::new();
    let mut counted = false;
    while delays.len() < STEPS.len() {
        let message = match tokio::time::timeout(Duration::from_secs(60), socket.next()).await {
            Ok(Some(Ok(message))) => message,
            _ => break,
        };
        let received = Utc::now();
        let tokio_tungstenite::tungstenite::Message::Text(text) = message else {
            continue;
        };
        let Ok(message) = serde_json::from_str::<Message>(&text) else {
            continue;
        };
        if !counted {
            counted = true;
            ready.fetch_add(1, Ordering::SeqCst);
        }
        if message.data.kind == "status" {
            let delay = received - message.data.occurred_at;
            delays.push(delay.num_microseconds().unwrap_or(0) as f64 / 1000.0);
        }
    }
    delays
}

/// How the subscribers follow their orders.
#[derive(Clone, Copy, PartialEq)]
enum Transport {
    Sse,
    WebSocket,
}

impl Transport {
    fn key(self) -> &'static str {
        match self {
            Transport::Sse => "sse",
            Transport::WebSocket => "ws",
        }
    }

    fn clients(self) -> &'static str {
        match self {
            Transport::Sse => "SSE subscribers, each a bare TCP reader (one task, no HTTP client)",
            Transport::WebSocket => "WebSocket subscribers, each a tokio-tungstenite client",
        }
    }
}

async fn read(stream: &TcpStream, buf: &mut [u8]) -> std::io::Result<usize> {
    loop {
        stream.readable().await?;
        match stream.try_read(buf) {
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
            read => return read,
        }
    }
}

async fn write_all(stream: &TcpStream, mut bytes: &[u8]) -> std::io::Result<()> {
    while !bytes.is_empty() {
        stream.writable().await?;
        match stream.try_write(bytes) {
            Ok(n) => bytes = &bytes[n..],
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// What one run measured.
struct Run {
    subscribers: usize,
    p50: f64,
    p99: f64,
    connected_mib: f64,
}

async fn run(transport: Transport, subscribers: usize, orders: usize) -> Run {
    let server = stack::Launch::default()
        .args(&["--sweep-every", "0"])
        .env("RUST_LOG", "warn")
        .start();
    let base = server.base.clone();
    let token = stack::token_for("bench", Role::Manager, "bench");
    let addr: SocketAddr = base.trim_start_matches("http://").parse().unwrap();
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
    let key = transport.key();
    eprintln!("{key}: {subscribers} subscribers: connecting…");
    let ready = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = (0..subscribers)
        .map(|i| {
            let public_id = &placed[i % orders].1;
            match transport {
                Transport::Sse => tokio::spawn(subscribe(
                    addr,
                    format!("/track/{public_id}/events"),
                    ready.clone(),
                )),
                Transport::WebSocket => tokio::spawn(subscribe_socket(
                    format!("ws://{addr}/live?public_id={public_id}"),
                    ready.clone(),
                )),
            }
        })
        .collect();
    let connecting = std::time::Instant::now();
    while ready.load(Ordering::SeqCst) < subscribers {
        assert!(
            connecting.elapsed() < Duration::from_secs(120),
            "only {} of {subscribers} subscribers got their first message",
            ready.load(Ordering::SeqCst)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let connected = rss_kib(server.pid());
    eprintln!(
        "{key}: {subscribers} subscribers: all connected; moving {orders} orders through {} steps…",
        STEPS.len()
    );
    let cpu_before = (cpu_seconds(server.pid()), cpu_seconds(std::process::id()));
    let moving = std::time::Instant::now();
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
    let cpu = (
        cpu_seconds(server.pid()) - cpu_before.0,
        cpu_seconds(std::process::id()) - cpu_before.1,
    );
    let moved = moving.elapsed().as_secs_f64();
    drop(server);
    delays.sort_by(|a, b| a.partial_cmp(b).unwrap());
    println!(
        "{key}: {subscribers} subscribers over {orders} orders, {} updates received (of {}): commit→receipt p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms; server memory {:.1} MiB idle → {:.1} MiB with subscribers ({:.1} KiB each)",
        delays.len(),
        subscribers * STEPS.len(),
        percentile(&delays, 0.5),
        percentile(&delays, 0.99),
        delays.last().copied().unwrap_or(0.0),
        idle as f64 / 1024.0,
        connected as f64 / 1024.0,
        (connected.saturating_sub(idle)) as f64 / subscribers as f64,
    );
    println!(
        "{key}: {subscribers} subscribers: {:.1} s to move the orders; CPU meanwhile: server {:.2} s, subscribers (this process) {:.2} s",
        moved, cpu.0, cpu.1,
    );
    Run {
        subscribers,
        p50: percentile(&delays, 0.5),
        p99: percentile(&delays, 0.99),
        connected_mib: connected as f64 / 1024.0,
    }
}

#[tokio::main]
async fn main() {
    let counts = std::env::var("BENCH_SUBSCRIBERS").unwrap_or_else(|_| "1000,10000".into());
    let orders = std::env::var("BENCH_ORDERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100);
    let counts: Vec<usize> = counts
        .split(',')
        .filter_map(|n| n.trim().parse().ok())
        .collect();
    for transport in [Transport::Sse, Transport::WebSocket] {
        let mut largest: Option<Run> = None;
        for &n in &counts {
            let run = run(transport, n, orders).await;
            if largest
                .as_ref()
                .is_none_or(|l| run.subscribers >= l.subscribers)
            {
                largest = Some(run);
            }
        }
        if let Some(run) = largest {
            println!(
                "@row {}|p99 {:.1} ms, p50 {:.1} ms, {:.0} MiB at {} subscribers|-|real binary, in-memory store; {} {} over {orders} orders in the bench process on the same 2 cores; 4 transitions per order sent one at a time; delay = receipt − the event's occurred_at; server RSS with all connected",
                transport.key(),
                run.p99,
                run.p50,
                run.connected_mib,
                thousands(run.subscribers),
                thousands(run.subscribers),
                transport.clients(),
            );
            println!("@num {} {:.1}", transport.key(), run.p99);
        }
    }
}

/// 10000 as "10,000".
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}
