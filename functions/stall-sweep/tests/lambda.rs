//! The real `stall-sweep` binary through `cargo lambda`, with the scheduled
//! event of `events/stall-sweep.json`, on DynamoDB Local: it flags the
//! overdue order and leaves the healthy one alone.

use std::path::{Path, PathBuf};

use chrono::{Duration, Utc};
use order_core::lifecycle::{Actor, Catalog};
use order_core::order::decide::{place_order, Origin};
use order_core::order::FlagKind;
use order_core::ports::{Commit, OrderStore};
use order_core::testkit::lambda_harness::{fresh_table, LambdaEmulator};
use order_core::testkit::placed;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[tokio::test]
async fn a_scheduled_event_flags_the_overdue_orders() {
    let store = fresh_table().await;
    let shipping = Catalog::presets().get("shipping").unwrap();
    let template = placed("acme", "c", 0);
    let snapshot = match &template.events[0].body {
        order_core::order::EventBody::OrderPlaced(p) => p.as_ref().clone(),
        _ => unreachable!(),
    };
    let origin = Origin {
        source: "staff".into(),
        actor_kind: Actor::Manager,
        actor: None,
        external_id: None,
    };
    for (id, placed_at) in [
        ("ord_late", Utc::now() - Duration::hours(1)),
        ("ord_fresh", Utc::now()),
    ] {
        let d = place_order(
            (id.into(), format!("trk_{id}")),
            "acme",
            snapshot.clone(),
            &origin,
            &shipping,
            placed_at,
        );
        store.commit(&Commit::of(d)).await.unwrap();
    }

    let endpoint = std::env::var("DYNAMODB_ENDPOINT").unwrap();
    let mut lambda = LambdaEmulator::start(&root().join("Cargo.toml"));
    lambda.function(
        "stall-sweep",
        Path::new(env!("CARGO_BIN_EXE_stall-sweep")),
        &[
            ("TABLE_NAME", store.table()),
            ("AWS_ENDPOINT_URL_DYNAMODB", &endpoint),
        ],
    );
    let report = lambda
        .invoke("stall-sweep", &root().join("events/stall-sweep.json"))
        .unwrap();
    assert_eq!(
        report["read"], 1,
        "only the overdue order was read: {report}"
    );
    assert_eq!(report["orders_flagged"], 1);
    let late = store.load("ord_late").await.unwrap().unwrap().head;
    assert_eq!(late.flags[0].kind, FlagKind::Stalled);
    assert!(store
        .load("ord_fresh")
        .await
        .unwrap()
        .unwrap()
        .head
        .flags
        .is_empty());

    let again = lambda
        .invoke("stall-sweep", &root().join("events/stall-sweep.json"))
        .unwrap();
    assert_eq!(
        again["orders_flagged"], 0,
        "the next run does not flag it twice"
    );
}
