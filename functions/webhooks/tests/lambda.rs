//! The real `webhooks` binary through `cargo lambda`, with a function URL
//! request (`events/webhooks.json`: the EasyPost sample on acme's endpoint,
//! signed with the example secret) on DynamoDB Local; and the metric lines
//! (CloudWatch Embedded Metric Format) it writes for what it took in and
//! what it refused.

use std::path::{Path, PathBuf};

use order_core::testkit::lambda_harness::{fresh_table, http_response, LambdaEmulator};
use serde_json::Value;

/// The metric lines a function wrote: `(metric, its kind)` for each.
fn metrics(stdout: &str, metric: &str, dimension: &str) -> Vec<(u64, String)> {
    stdout
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|line| line["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "OrderTracking/test")
        .filter_map(|line| {
            Some((
                line[metric].as_u64()?,
                line[dimension].as_str()?.to_string(),
            ))
        })
        .collect()
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[tokio::test]
async fn a_signed_function_url_request_is_recorded_once() {
    let store = fresh_table().await;
    let endpoint = std::env::var("DYNAMODB_ENDPOINT").unwrap();
    let mut lambda = LambdaEmulator::start(&root().join("Cargo.toml"));
    lambda.function(
        "webhooks",
        Path::new(env!("CARGO_BIN_EXE_webhooks")),
        &[
            ("TABLE_NAME", store.table()),
            ("AWS_ENDPOINT_URL_DYNAMODB", &endpoint),
            (
                "WEBHOOK_SECRETS",
                r#"{"acme": {"easypost": "example-easypost-secret"}}"#,
            ),
            ("METRICS_NAMESPACE", "OrderTracking/test"),
        ],
    );
    let event = root().join("events/webhooks.json");
    let (status, receipt) = http_response(&lambda.invoke("webhooks", &event).unwrap());
    assert_eq!(status, 200, "{receipt}");
    // No order has this tracking code yet: the fact is kept for when one does.
    assert_eq!(receipt["outcomes"][0]["outcome"], "unmatched");
    let (status, again) = http_response(&lambda.invoke("webhooks", &event).unwrap());
    assert_eq!(status, 200);
    assert_eq!(again["outcomes"][0]["outcome"], "duplicate");
    let facts = metrics(&lambda.stdout("webhooks"), "Facts", "Placement");
    assert_eq!(facts, [(1, "waiting".into()), (1, "duplicate".into())]);
}

#[tokio::test]
async fn a_request_signed_with_another_secret_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut lambda = LambdaEmulator::start(&root().join("Cargo.toml"));
    lambda.function(
        "webhooks",
        Path::new(env!("CARGO_BIN_EXE_webhooks")),
        &[
            (
                "ORDER_TRACKING_SQLITE",
                dir.path().join("o.sqlite3").to_str().unwrap(),
            ),
            // Globex's secret never verifies acme's endpoint.
            (
                "WEBHOOK_SECRETS",
                r#"{"acme": {"easypost": "a-different-secret"}, "globex": {"easypost": "example-easypost-secret"}}"#,
            ),
            ("METRICS_NAMESPACE", "OrderTracking/test"),
        ],
    );
    let (status, problem) = http_response(
        &lambda
            .invoke("webhooks", &root().join("events/webhooks.json"))
            .unwrap(),
    );
    assert_eq!(status, 401, "{problem}");
    assert_eq!(problem["title"], "Bad signature");
    let refused = metrics(&lambda.stdout("webhooks"), "WebhookRejections", "Reason");
    assert_eq!(refused, [(1, "bad_signature".to_string())]);
}
