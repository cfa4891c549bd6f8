//! The real `orders` binary through `cargo lambda`: a transition and a read,
//! from `events/transition.json` and `events/get-order.json`, on DynamoDB
//! Local; the board's stream under a short function timeout and a manager's
//! sweep, on the embedded store.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use order_core::lifecycle::{Actor, Catalog};
use order_core::order::decide::{place_order, Origin};
use order_core::order::FlagKind;
use order_core::ports::{Commit, OrderStore};
use order_core::store::SqliteStore;
use order_core::testkit::lambda_harness::{fresh_table, http_response, LambdaEmulator};
use order_core::testkit::{catalog, placed, shipping_snapshot};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The order the sample events name.
const ORDER_ID: &str = "ord_0123456789abcdef0123456789abcdef";

#[tokio::test]
async fn transition_and_read_events_move_and_show_the_order() {
    let store = fresh_table().await;
    let shipping = Catalog::presets().get("shipping").unwrap();
    let placed = shipping_snapshot("cus_42");
    let origin = Origin {
        source: "staff".into(),
        actor_kind: Actor::Manager,
        actor: None,
        external_id: None,
    };
    let ids = (ORDER_ID.to_string(), "trk_sample".to_string());
    let decision = place_order(ids, "acme", placed, &origin, &shipping, chrono::Utc::now());
    store.commit(&Commit::of(decision)).await.unwrap();

    let endpoint = std::env::var("DYNAMODB_ENDPOINT").unwrap();
    let mut lambda = LambdaEmulator::start(&root().join("Cargo.toml"));
    lambda.function(
        "orders",
        Path::new(env!("CARGO_BIN_EXE_orders")),
        &[
            ("TABLE_NAME", store.table()),
            ("AWS_ENDPOINT_URL_DYNAMODB", &endpoint),
        ],
    );
    let (status, moved) = http_response(
        &lambda
            .invoke("orders", &root().join("events/transition.json"))
            .unwrap(),
    );
    assert_eq!(status, 200, "{moved}");
    assert_eq!(moved["status"], "confirmed");
    assert_eq!(moved["version"], 2);

    // The same move again is a lost race by now: a 409 problem.
    let (status, problem) = http_response(
        &lambda
            .invoke("orders", &root().join("events/transition.json"))
            .unwrap(),
    );
    assert_eq!(status, 409, "{problem}");
    assert_eq!(problem["current_status"], "confirmed");

    let (status, order) = http_response(
        &lambda
            .invoke("orders", &root().join("events/get-order.json"))
            .unwrap(),
    );
    assert_eq!(status, 200);
    assert_eq!(order["timeline"].as_array().unwrap().len(), 2);
    assert!(order["allowed_actions"]
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a["to"] == "packing"));
    assert_eq!(
        store.load(ORDER_ID).await.unwrap().unwrap().head.status,
        "confirmed"
    );
}

/// Far shorter than the board stream's own budget (20 s), as a function
/// configured with a short timeout would be.
const SHORT_TIMEOUT: Duration = Duration::from_secs(5);

/// The orders binary on the embedded store in `dir`, its invocations
/// limited to `timeout`.
fn orders_on_embedded_store(dir: &Path, timeout: Duration) -> LambdaEmulator {
    let file = dir.join("orders.sqlite3");
    let mut lambda = LambdaEmulator::with_timeout(&root().join("Cargo.toml"), timeout);
    lambda.function(
        "orders",
        Path::new(env!("CARGO_BIN_EXE_orders")),
        &[("ORDER_TRACKING_SQLITE", file.to_str().unwrap())],
    );
    lambda
}

#[test]
fn a_quiet_board_stream_ends_cleanly_before_the_function_times_out() {
    let dir = tempfile::tempdir().unwrap();
    let lambda = orders_on_embedded_store(dir.path(), SHORT_TIMEOUT);
    let started = Instant::now();
    let response = lambda.invoke("orders", &root().join("events/board-stream.json"));
    let took = started.elapsed();
    let response = response
        .unwrap_or_else(|e| panic!("the stream outlived the function's timeout ({took:?}): {e}"));
    assert_eq!(response["statusCode"], 200, "{response}");
    assert_eq!(
        response["headers"]["content-type"], "text/event-stream",
        "{response}"
    );
    // No wall-clock assertion here: the emulator itself fails an invocation
    // that outlives the function's timeout, as Lambda does.
}

/// `POST /admin/sweep` reaches the orders function on AWS, with the
/// manager's principal from the JWT authorizer's claims.
#[tokio::test]
async fn a_manager_runs_a_sweep_through_the_staff_api() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("orders.sqlite3"), catalog()).unwrap();
    // Placed long ago and never paid: overdue.
    let overdue = placed("acme", "cus_1", 0);
    let id = overdue.head.id.clone();
    store.commit(&Commit::of(overdue)).await.unwrap();

    let lambda = orders_on_embedded_store(dir.path(), Duration::from_secs(30));
    let response = lambda
        .invoke("orders", &root().join("events/admin-sweep.json"))
        .unwrap();
    let (status, report) = http_response(&response);
    assert_eq!(status, 200, "{response}");
    assert_eq!(report["orders_flagged"], 1, "{report}");
    let head = store.load(&id).await.unwrap().unwrap().head;
    assert_eq!(head.flags[0].kind, FlagKind::Stalled);
}
