//! The real `checkout` binary, invoked through `cargo lambda` with an API
//! Gateway HTTP API event carrying JWT authorizer claims (`events/checkout.json`),
//! on DynamoDB Local and on the embedded store.

use std::path::{Path, PathBuf};

use order_core::ports::OrderStore;
use order_core::testkit::lambda_harness::{
    fresh_table, http_response, moto_kms_key, LambdaEmulator,
};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[tokio::test]
async fn a_checkout_event_places_an_order_in_dynamodb_once() {
    let store = fresh_table().await;
    let endpoint = std::env::var("DYNAMODB_ENDPOINT").unwrap();
    let (moto, key_id) = moto_kms_key().await;
    let mut lambda = LambdaEmulator::start(&root().join("Cargo.toml"));
    lambda.function(
        "checkout",
        Path::new(env!("CARGO_BIN_EXE_checkout")),
        &[
            ("TABLE_NAME", store.table()),
            ("AWS_ENDPOINT_URL_DYNAMODB", &endpoint),
            ("PII_KMS_KEY_ID", &key_id),
            ("AWS_ENDPOINT_URL_KMS", &moto),
        ],
    );
    let event = root().join("events/checkout.json");
    let (status, order) = http_response(&lambda.invoke("checkout", &event).unwrap());
    assert_eq!(status, 201, "{order}");
    assert_eq!(order["status"], "pending");
    assert_eq!(
        order["tenant"], "acme",
        "tenant from the authorizer's claims"
    );
    let id = order["id"].as_str().unwrap();
    let stored = store.load(id).await.unwrap().expect("written to DynamoDB");
    assert_eq!(stored.head.total, 80_000);
    // Sealed under a data key KMS wrapped; the answer has it opened.
    assert_eq!(order["contact"]["email"], "dana@example.com");
    let email = stored.head.contact.email.unwrap();
    assert!(email.starts_with("enc:v1:"), "{email}");

    // The event carries an Idempotency-Key: a retry is the same order.
    let (status, again) = http_response(&lambda.invoke("checkout", &event).unwrap());
    assert_eq!(status, 200);
    assert_eq!(again["id"], order["id"]);
}

#[tokio::test]
async fn the_binary_runs_on_the_embedded_store_without_aws() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("orders.sqlite3");
    let key = dir.path().join("master.key");
    let mut lambda = LambdaEmulator::start(&root().join("Cargo.toml"));
    lambda.function(
        "checkout",
        Path::new(env!("CARGO_BIN_EXE_checkout")),
        &[
            ("ORDER_TRACKING_SQLITE", file.to_str().unwrap()),
            ("ORDER_TRACKING_KEY_FILE", key.to_str().unwrap()),
        ],
    );
    let (status, order) = http_response(
        &lambda
            .invoke("checkout", &root().join("events/checkout.json"))
            .unwrap(),
    );
    assert_eq!(status, 201, "{order}");
    assert!(order["public_id"].as_str().unwrap().starts_with("trk_"));
    assert_eq!(order["contact"]["email"], "dana@example.com");
    assert!(key.exists(), "the key file is made on first use");
}
