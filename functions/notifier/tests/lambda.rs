//! The real `notifier` binary through `cargo lambda`, with the sample batch
//! (`events/notifier.json`) on DynamoDB Local and moto's SQS: acme's
//! endpoint, a receiver on loopback, gets the event, and the binary reports
//! no failures.

mod common;

use std::path::Path;
use std::sync::Arc;

use common::*;
use order_core::merchant::{NewEndpoint, UrlPolicy};
use order_core::ports::SystemClock;
use order_core::service::Merchants;
use order_core::testkit::lambda_harness::{fresh_table, LambdaEmulator};
use order_core::webhook_sender::HttpPost;

// Two workers: `invoke` blocks one while the receiver answers on the other.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_delivers_the_sample_event() {
    let table = Arc::new(fresh_table().await);
    let merchants = Merchants::new(
        table.clone(),
        Arc::new(HttpPost::new(true)),
        Arc::new(SystemClock),
        UrlPolicy {
            allow_loopback: true,
        },
    );
    let (receiver, url) = Receiver::start(0).await;
    let manager = order_core::testkit::shipping_run::manager();
    let new = NewEndpoint {
        url,
        events: vec!["*".into()],
    };
    merchants.register(&manager, new).await.unwrap();
    let (_, queue) = fresh_queue().await;

    let dynamodb = std::env::var("DYNAMODB_ENDPOINT").unwrap();
    let moto = std::env::var("MOTO_ENDPOINT").unwrap();
    let mut lambda = LambdaEmulator::start(&root().join("Cargo.toml"));
    lambda.function(
        "notifier",
        Path::new(env!("CARGO_BIN_EXE_notifier")),
        &[
            ("TABLE_NAME", table.table()),
            ("AWS_ENDPOINT_URL_DYNAMODB", &dynamodb),
            ("AWS_ENDPOINT_URL_SQS", &moto),
            ("AWS_ENDPOINT_URL_SESV2", &moto),
            ("AWS_ENDPOINT_URL_SNS", &moto),
            ("NOTIFIER_QUEUE_URL", &queue),
            ("NOTIFY_FROM_EMAIL", FROM),
            ("TRACKING_URL", "https://track.example"),
            // The receiver is on this machine: the development flag.
            ("ORDER_TRACKING_ALLOW_LOOPBACK_WEBHOOKS", "true"),
        ],
    );
    let response = lambda
        .invoke("notifier", &root().join("events/notifier.json"))
        .unwrap();
    assert_eq!(response, serde_json::json!({ "batchItemFailures": [] }));
    let got = receiver.got.lock().unwrap().clone();
    assert_eq!(got.len(), 1);
    let body: serde_json::Value = serde_json::from_slice(&got[0]).unwrap();
    assert_eq!(body["type"], "OrderStatusChanged");
    assert_eq!(body["data"]["to"], "confirmed");
}
