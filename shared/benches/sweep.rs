//! Items read and time per stall sweep over many orders of which a few are
//! overdue, on the embedded store and (with `DYNAMODB_ENDPOINT`) on DynamoDB
//! Local: the sweep's cost follows the overdue orders, not the table.
//!
//! `scripts/with-emulators.sh cargo bench -p order-core --features aws,testkit --bench sweep`
//! — knobs: BENCH_ORDERS (default 100000), BENCH_OVERDUE_PERCENT (default 1).

use std::sync::Arc;
use std::time::Instant;

use chrono::{Duration, Utc};
use order_core::lifecycle::Actor;
use order_core::order::decide::{place_order, Origin};
use order_core::order::EventBody;
use order_core::ports::{Commit, OrderStore, SystemClock};
use order_core::service::OrderService;
use order_core::store::SqliteStore;
use order_core::testkit::{catalog, placed};

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Places `orders` orders, `overdue` of them an hour ago (past the 15-minute
/// payment SLA), the rest just now.
async fn seed(store: Arc<dyn OrderStore>, orders: usize, overdue: usize) {
    let shipping = catalog().get("shipping").unwrap();
    let EventBody::OrderPlaced(snapshot) = placed("bench", "c", 0).events[0].body.clone() else {
        unreachable!()
    };
    let origin = Origin {
        source: "staff".into(),
        actor_kind: Actor::Manager,
        actor: None,
        external_id: None,
    };
    let now = Utc::now();
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..orders {
        let at = if i % (orders / overdue.max(1)) == 0 {
            now - Duration::hours(1)
        } else {
            now
        };
        let d = place_order(
            (format!("ord_{i:07}"), format!("trk_{i:07}")),
            "bench",
            (*snapshot).clone(),
            &origin,
            &shipping,
            at,
        );
        let store = store.clone();
        tasks.spawn(async move { store.commit(&Commit::of(d)).await.unwrap() });
        if tasks.len() >= 64 {
            tasks.join_next().await;
        }
        if (i + 1) % 20_000 == 0 {
            eprintln!(
                "  {} orders placed ({:.0}s)",
                i + 1,
                started.elapsed().as_secs_f64()
            );
        }
    }
    while tasks.join_next().await.is_some() {}
}

async fn measure(
    name: &str,
    store: Arc<dyn OrderStore>,
    orders: usize,
    overdue: usize,
    reads: impl Fn() -> f64,
) {
    eprintln!("{name}: placing {orders} orders, {overdue} overdue…");
    seed(store.clone(), orders, overdue).await;
    let service = OrderService::new(store, catalog(), Arc::default(), Arc::new(SystemClock));
    let before = reads();
    let started = Instant::now();
    let report = service.sweep(orders).await.unwrap();
    let elapsed = started.elapsed();
    let units = reads() - before;
    println!(
        "sweep on {name}: {orders} orders, {overdue} overdue → read {} orders, flagged {}, {:.1} ms{}",
        report.read,
        report.orders_flagged,
        elapsed.as_secs_f64() * 1e3,
        if units > 0.0 { format!(", {units:.1} RCU") } else { String::new() }
    );
}

#[tokio::main]
async fn main() {
    let orders = env("BENCH_ORDERS", 100_000);
    let overdue = orders * env("BENCH_OVERDUE_PERCENT", 1) / 100;
    let dir = tempfile::tempdir().unwrap();
    let sqlite: Arc<dyn OrderStore> =
        Arc::new(SqliteStore::open(&dir.path().join("orders.sqlite3"), catalog()).unwrap());
    measure("the embedded store", sqlite, orders, overdue, || 0.0).await;
    if std::env::var("DYNAMODB_ENDPOINT").is_ok() {
        let dynamo = Arc::new(order_core::testkit::lambda_harness::fresh_table().await);
        let usage = dynamo.usage();
        measure("DynamoDB Local", dynamo, orders, overdue, move || {
            usage.totals().1
        })
        .await;
    } else {
        eprintln!("DYNAMODB_ENDPOINT not set: run under scripts/with-emulators.sh to measure DynamoDB Local too");
    }
}
