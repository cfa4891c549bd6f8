//! Commands per second through `OrderService` on the embedded store, no HTTP:
//! `BENCH_ORDERS` orders (default 3,000) through the 6-command shipping
//! lifecycle (checkout, paid, packing, shipped with tracking, in transit,
//! delivered — the commands `dynamodb_cost` runs on DynamoDB), one at a time
//! and then with 8 workers on distinct orders, on a SQLite file in a temp
//! directory (durable: WAL, opened as the local stack opens it) and on
//! `:memory:` beside it.
//!
//! `cargo bench -p order-core --bench service` (`BENCH_FILE_ONLY=1` stops
//! after the file store, for a profile of it alone).
//!
//! Besides its report it prints the `@row` / `@num` lines of `inproc` (the
//! file store, 8 workers) for `scripts/bench.py`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use chrono::Utc;
use order_core::auth::{Principal, Role};
use order_core::lifecycle::{Actor, Catalog};
use order_core::order::decide::{Origin, StatusClaim};
use order_core::order::TrackingInput;
use order_core::ports::SystemClock;
use order_core::service::{Checkout, OrderService, TransitionRequest};
use order_core::store::SqliteStore;
use serde_json::json;

const COMMANDS: usize = 6;
const WORKERS: usize = 8;

fn origin(source: &str, actor_kind: Actor) -> Origin {
    Origin {
        source: source.into(),
        actor_kind,
        actor: None,
        external_id: None,
    }
}

fn claim(to: &str) -> StatusClaim {
    StatusClaim {
        to: to.into(),
        occurred_at: Utc::now(),
        reason: None,
        tracking: None,
    }
}

fn staff(to: &str, tracking: Option<TrackingInput>) -> TransitionRequest {
    TransitionRequest {
        to: to.into(),
        reason: None,
        tracking,
        expected_version: None,
    }
}

/// The README's walk-through order: a chandelier shipped to Toronto.
fn checkout() -> Checkout {
    serde_json::from_value(json!({
        "customer_id": "cus_42", "currency": "CAD", "fulfilment": "shipping",
        "items": [{ "sku": "CHN-800", "name": "Crystal chandelier", "unit_price": 80000, "quantity": 1 }],
        "shipping": { "method": "standard", "name": "Dana Doe",
            "address": { "line1": "1 King St W", "city": "Toronto", "postal_code": "M5H 1A1", "country": "CA" } },
        "contact": { "email": "dana@example.com" }
    }))
    .expect("a valid checkout")
}

/// One order through the six commands. Payment and carrier news carry no
/// provider event id, as in `dynamodb_cost`: a webhook's dedupe check is a
/// read of its own.
async fn lifecycle(service: &OrderService, code: &str) {
    let manager = Principal {
        tenant: "acme".into(),
        role: Role::Manager,
        subject: "m".into(),
    };
    let placed = service.place(&manager, checkout(), None).await.unwrap();
    let id = placed.body["id"].as_str().unwrap();
    let payment = origin("payment:stripe", Actor::Payment);
    let carrier = origin("carrier:easypost", Actor::Carrier);
    service
        .record_fact(id, &payment, claim("paid"))
        .await
        .unwrap();
    let packing = staff("packing", None);
    service.transition(&manager, id, packing).await.unwrap();
    let tracking = TrackingInput {
        carrier: "UPS".into(),
        code: code.into(),
        url: None,
    };
    let shipped = staff("shipped", Some(tracking));
    service.transition(&manager, id, shipped).await.unwrap();
    service
        .record_fact(id, &carrier, claim("in_transit"))
        .await
        .unwrap();
    service
        .record_fact(id, &carrier, claim("delivered"))
        .await
        .unwrap();
}

/// Commands per second for `orders` orders, `workers` at a time, each on
/// its own orders.
async fn throughput(service: &Arc<OrderService>, run: &str, orders: usize, workers: usize) -> f64 {
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let tasks: Vec<_> = (0..workers)
        .map(|_| {
            let (service, next, run) = (service.clone(), next.clone(), run.to_string());
            tokio::spawn(async move {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= orders {
                        return;
                    }
                    lifecycle(&service, &format!("1Z{run}{i:08}")).await;
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("worker");
    }
    (orders * COMMANDS) as f64 / started.elapsed().as_secs_f64()
}

/// Sequential and 8-worker figures on one store.
async fn measure(store: SqliteStore, orders: usize) -> (f64, f64) {
    let catalog = Arc::new(Catalog::presets());
    let service = Arc::new(OrderService::new(
        Arc::new(store),
        catalog,
        Arc::default(),
        Arc::new(SystemClock),
    ));
    throughput(&service, "W", orders / 10, WORKERS).await;
    let seq = throughput(&service, "S", orders, 1).await;
    let par = throughput(&service, "P", orders, WORKERS).await;
    (seq, par)
}

#[tokio::main]
async fn main() {
    let orders: usize = std::env::var("BENCH_ORDERS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(3_000);
    let catalog = Arc::new(Catalog::presets());
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("bench.sqlite3");
    let file = SqliteStore::open_exclusive(&path, catalog.clone()).unwrap();
    let memory = SqliteStore::in_memory(catalog).unwrap();

    println!("{orders} orders × {COMMANDS} commands (checkout, paid, packing, shipped, in_transit, delivered)");
    let (file_seq, file_par) = measure(file, orders).await;
    println!(
        "  file (WAL):  sequential {file_seq:>7.0} cmd/s   {WORKERS} workers {file_par:>7.0} cmd/s"
    );
    if std::env::var_os("BENCH_FILE_ONLY").is_some() {
        return; // for a profile of the file store alone
    }
    let (mem_seq, mem_par) = measure(memory, orders).await;
    println!(
        "  :memory:     sequential {mem_seq:>7.0} cmd/s   {WORKERS} workers {mem_par:>7.0} cmd/s"
    );

    println!(
        "@row inproc|{file_par:.0} cmd/s|:memory: {mem_par:.0} cmd/s; sequential {file_seq:.0} cmd/s|OrderService on the SQLite file, {orders} orders × 6 commands, {WORKERS} workers on distinct orders"
    );
    println!("@num inproc {file_par:.1}");
}
