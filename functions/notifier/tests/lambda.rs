//! The real `notifier` binary through `cargo lambda`, with the sample batch
//! (`events/notifier.json`: acme's order confirmed) on DynamoDB Local and
//! moto's SQS, SES and SNS: acme's endpoint, a receiver on loopback, gets
//! the event, the order's customer gets an email, and the binary reports no
//! failures.

mod common;

use std::path::Path;
use std::sync::Arc;

use common::*;
use order_core::lifecycle::{Actor, Catalog};
use order_core::merchant::{NewEndpoint, UrlPolicy};
use order_core::order::decide::{place_order, transition, Origin, StatusClaim};
use order_core::order::EventBody;
use order_core::ports::SystemClock;
use order_core::ports::{Commit, OrderStore};
use order_core::service::Merchants;
use order_core::testkit::lambda_harness::{fresh_table, LambdaEmulator};
use order_core::testkit::receiver::Receiver;
use order_core::testkit::shipping_snapshot;
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
    // The order the sample names, confirmed, its customer with an address;
    // the email comes from an address SES knows.
    let shipping = Catalog::presets().get("shipping").unwrap();
    let mut snapshot = shipping_snapshot("cus_42");
    snapshot.contact.email = Some("dana@example.com".into());
    let origin = Origin {
        source: "staff".into(),
        actor_kind: Actor::Manager,
        actor: None,
        external_id: None,
    };
    let at = chrono::Utc::now() - chrono::Duration::minutes(5);
    let keys = (
        ORDER_ID.to_string(),
        "trk_0123456789abcdef0123456789abcdef".to_string(),
    );
    let placed = place_order(keys, "acme", snapshot, &origin, &shipping, at);
    let claim = StatusClaim {
        to: "confirmed".into(),
        occurred_at: at,
        reason: None,
        tracking: None,
    };
    let confirmed = transition(&placed.head, &[], &shipping, &origin, claim, None, at).unwrap();
    table.commit(&Commit::of(placed)).await.unwrap();
    table.commit(&Commit::of(confirmed.clone())).await.unwrap();
    // The sample is that move as the bus carries it.
    let mut sample: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("events/notifier.json")).unwrap(),
    )
    .unwrap();
    let mut body: serde_json::Value =
        serde_json::from_str(sample["Records"][0]["body"].as_str().unwrap()).unwrap();
    body["detail"] = order_core::bus::entry(&confirmed.events[0]).detail;
    sample["Records"][0]["body"] = body.to_string().into();
    let event_file = std::env::temp_dir().join(format!("notifier-{}.json", std::process::id()));
    std::fs::write(&event_file, sample.to_string()).unwrap();
    aws_sdk_sesv2::Client::new(&moto_config().await)
        .create_email_identity()
        .email_identity(FROM)
        .send()
        .await
        .unwrap();

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
            ("TENANTS_JSON", r#"{"tenants": {"acme": {"notifications": {"sender": "Acme", "collapse_seconds": 0}}}}"#),
            // The receiver is on this machine: the development flag.
            ("ORDER_TRACKING_ALLOW_LOOPBACK_WEBHOOKS", "true"),
        ],
    );
    let response = lambda.invoke("notifier", &event_file).unwrap();
    assert_eq!(response, serde_json::json!({ "batchItemFailures": [] }));
    let got = receiver.bodies();
    assert_eq!(got.len(), 1);
    let body = &got[0];
    assert_eq!(body["type"], "OrderStatusChanged");
    assert_eq!(body["data"]["to"], "confirmed");

    let record = table
        .events(ORDER_ID, 2, 10)
        .await
        .unwrap()
        .into_iter()
        .find_map(|e| match e.body {
            EventBody::NotificationRecorded(r) => Some(r),
            _ => None,
        })
        .expect("the decision is on the order");
    let id = record.message_id.expect("sent");
    let (emails, _) = sent().await;
    let email = emails
        .iter()
        .find(|m| m["id"] == id.as_str())
        .expect("SES got it");
    assert_eq!(
        email["destinations"]["ToAddresses"],
        serde_json::json!(["dana@example.com"])
    );
    assert!(email["subject"].as_str().unwrap().starts_with("Acme: "));
}

/// The order the sample event names.
const ORDER_ID: &str = "ord_0123456789abcdef0123456789abcdef";
