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

use std::sync::Arc;

use order_core::lifecycle::Catalog;
use order_core::ports::SystemClock;
use order_core::service::OrderService;
use order_core::store::SqliteStore;
use order_core::testkit::process::written;
use order_core::testkit::shipping_run::{throughput, LIFECYCLE};

const WORKERS: usize = 8;

/// Figures of one store: cmd/s sequential and with 8 workers, and the
/// bytes written per command over both.
struct Figures {
    seq: f64,
    par: f64,
    written: Option<f64>,
}

async fn measure(store: SqliteStore, orders: usize) -> Figures {
    let catalog = Arc::new(Catalog::presets());
    let service = Arc::new(OrderService::new(
        Arc::new(store),
        catalog,
        Arc::default(),
        Arc::new(SystemClock),
    ));
    throughput(&service, "W", orders / 10, WORKERS).await;
    let before = written();
    let seq = throughput(&service, "S", orders, 1).await;
    let par = throughput(&service, "P", orders, WORKERS).await;
    let commands = (2 * orders * LIFECYCLE.len()) as f64;
    let written = before
        .zip(written())
        .map(|(b, a)| (a - b) as f64 / commands);
    Figures { seq, par, written }
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

    println!(
        "{orders} orders × {} commands ({})",
        LIFECYCLE.len(),
        LIFECYCLE.join(", ")
    );
    let file = measure(file, orders).await;
    let kib = |written: Option<f64>| {
        written.map_or(String::new(), |w| {
            format!("   {:.1} KiB written/cmd", w / 1024.0)
        })
    };
    println!(
        "  file (WAL):  sequential {:>7.0} cmd/s   {WORKERS} workers {:>7.0} cmd/s{}",
        file.seq,
        file.par,
        kib(file.written)
    );
    if std::env::var_os("BENCH_FILE_ONLY").is_some() {
        return; // for a profile of the file store alone
    }
    let memory = measure(memory, orders).await;
    println!(
        "  :memory:     sequential {:>7.0} cmd/s   {WORKERS} workers {:>7.0} cmd/s",
        memory.seq, memory.par
    );

    println!(
        "@row inproc|{:.0} cmd/s|:memory: {:.0} cmd/s; sequential {:.0} cmd/s{}|OrderService on the SQLite file, {orders} orders × 6 commands, {WORKERS} workers on distinct orders",
        file.par,
        memory.par,
        file.seq,
        kib(file.written).replace("   ", "; ")
    );
    println!("@num inproc {:.1}", file.par);
}
