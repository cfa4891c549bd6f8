//! The real `live` and `live-fanout` binaries through `cargo lambda`, with
//! the sample events: `$connect`, `resume` and `$disconnect` from
//! `events/live-*.json`, and the table stream's sample batch
//! (`events/publisher.json`, which both stream readers take), on DynamoDB
//! Local, sending to a fake Management API on loopback.

mod common;

use std::path::Path;

use common::*;
use order_core::lifecycle::{Actor, Catalog};
use order_core::live::ChannelName;
use order_core::order::decide::{place_order, Origin};
use order_core::ports::{Commit, Connection, Connections, OrderStore, Viewer};
use order_core::testkit::lambda_harness::{fresh_table, LambdaEmulator};
use order_core::testkit::shipping_snapshot;

/// The order and connection the sample events name.
const ORDER_ID: &str = "ord_0123456789abcdef0123456789abcdef";
const PUBLIC_ID: &str = "trk_0123456789abcdef0123456789abcdef";
const CONNECTION: &str = "L0SM9cOFvHcCIhw=";

// Two workers: `invoke` blocks one while the fake API answers on the other.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binaries_connect_resume_fan_out_and_disconnect() {
    let table = fresh_table().await;
    let origin = Origin {
        source: "staff".into(),
        actor_kind: Actor::Manager,
        actor: None,
        external_id: None,
    };
    let shipping = Catalog::presets().get("shipping").unwrap();
    let keys = (ORDER_ID.to_string(), PUBLIC_ID.to_string());
    let placed = place_order(
        keys,
        "acme",
        shipping_snapshot("cus_42"),
        &origin,
        &shipping,
        chrono::Utc::now(),
    );
    table.commit(&Commit::of(placed)).await.unwrap();
    let board = Viewer::Staff(manager("acme"));
    table
        .open(&Connection {
            id: "board".into(),
            channel: ChannelName::of(&board).to_string(),
            viewer: board,
            last_event_id: None,
            expires_at: chrono::Utc::now() + chrono::Duration::hours(2),
        })
        .await
        .unwrap();

    let api = FakeApi::start(&[], &[]).await;
    let dynamodb = std::env::var("DYNAMODB_ENDPOINT").unwrap();
    let env = [
        ("TABLE_NAME", table.table()),
        ("AWS_ENDPOINT_URL_DYNAMODB", dynamodb.as_str()),
        ("LIVE_ENDPOINT", api.url.as_str()),
    ];
    let mut lambda = LambdaEmulator::start(&root().join("Cargo.toml"));
    lambda.function("live", Path::new(env!("CARGO_BIN_EXE_live")), &env);
    lambda.function(
        "live-fanout",
        Path::new(env!("CARGO_BIN_EXE_live-fanout")),
        &env,
    );
    let event = |name: &str| root().join(format!("events/{name}.json"));

    let connected = lambda.invoke("live", &event("live-connect")).unwrap();
    assert_eq!(connected["statusCode"], 200, "{connected}");
    assert_eq!(
        connected["headers"]["sec-websocket-protocol"],
        "order-tracking.v1"
    );
    let stored = table.connection(CONNECTION).await.unwrap().unwrap();
    assert_eq!(stored.channel, format!("customer.{PUBLIC_ID}"));

    let resumed = lambda.invoke("live", &event("live-resume")).unwrap();
    assert_eq!(resumed["statusCode"], 200, "{resumed}");
    assert_eq!(ids(&api.messages(CONNECTION)), ["1"], "the story so far");

    let fanned = lambda.invoke("live-fanout", &event("publisher")).unwrap();
    assert_eq!(fanned, serde_json::json!({ "batchItemFailures": [] }));
    let news = api.messages(CONNECTION);
    assert_eq!(
        ids(&news),
        ["1", "1", "2"],
        "again at least once, then the move"
    );
    assert_eq!(news[2]["data"]["status"], "confirmed");
    let rows = api.messages("board");
    assert_eq!(rows.len(), 1, "one row for the order's two events");
    assert_eq!(rows[0]["data"]["id"], ORDER_ID);

    let gone = lambda.invoke("live", &event("live-disconnect")).unwrap();
    assert_eq!(gone["statusCode"], 200, "{gone}");
    assert_eq!(table.connection(CONNECTION).await.unwrap(), None);
}
