//! What the notifier's tests share: a merchant's receiver on loopback that
//! fails as often as told, a queue on moto's SQS, and the sample batch.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A fresh queue on moto (`MOTO_ENDPOINT`, set by `scripts/test.sh`).
pub async fn fresh_queue() -> (aws_sdk_sqs::Client, String) {
    let endpoint = std::env::var("MOTO_ENDPOINT")
        .expect("MOTO_ENDPOINT is not set: run the tests with scripts/test.sh");
    let config = order_core::aws::emulator_config(&endpoint).await;
    let sqs = aws_sdk_sqs::Client::new(&config);
    let name = format!("deliveries-{}", uuid_like());
    let url = sqs
        .create_queue()
        .queue_name(name)
        .send()
        .await
        .unwrap()
        .queue_url()
        .unwrap()
        .to_string();
    (sqs, url)
}

fn uuid_like() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{nanos:x}")
}

/// Seals and opens personal data on `table` under one KMS key on moto,
/// the same for every test of the binary: what checkout sealed, the
/// notifier opens.
pub async fn vault(table: Arc<order_core::store::DynamoStore>) -> Arc<order_core::pii::Vault> {
    static KEY: tokio::sync::OnceCell<(String, String)> = tokio::sync::OnceCell::const_new();
    let (endpoint, key_id) = KEY
        .get_or_init(order_core::testkit::lambda_harness::moto_kms_key)
        .await
        .clone();
    let config = order_core::aws::emulator_config(&endpoint).await;
    let kms = order_core::pii::Kms::new(aws_sdk_kms::Client::new(&config), key_id);
    Arc::new(order_core::pii::Vault::new(Arc::new(kms), table))
}

/// The notifier over `table` and `queue`, sending to customers through
/// moto's SES and SNS (from a verified address) by `tenants`' policies,
/// and to merchants' endpoints on loopback.
pub async fn notifier(
    table: Arc<order_core::store::DynamoStore>,
    sqs: &aws_sdk_sqs::Client,
    queue: &str,
    tenants: order_core::tenants::Tenants,
) -> notifier::Notifier {
    use order_core::merchant::UrlPolicy;
    use order_core::ports::SystemClock;
    use order_core::service::{Merchants, Notifications, OrderService};
    let config = moto_config().await;
    let ses = aws_sdk_sesv2::Client::new(&config);
    ses.create_email_identity()
        .email_identity(FROM)
        .send()
        .await
        .unwrap();
    let service = Arc::new(
        OrderService::new(
            table.clone(),
            order_core::testkit::catalog(),
            Arc::new(tenants),
            Arc::new(SystemClock),
        )
        .with_vault(vault(table.clone()).await),
    );
    let outbound = notifier::outbound::Aws {
        ses,
        sns: aws_sdk_sns::Client::new(&config),
        from_address: FROM.into(),
    };
    notifier::Notifier {
        merchants: Arc::new(Merchants::new(
            table.clone(),
            Arc::new(order_core::webhook_sender::HttpPost::new(true)),
            Arc::new(SystemClock),
            UrlPolicy {
                allow_loopback: true,
            },
        )),
        notifications: Arc::new(Notifications::new(
            service,
            table,
            Arc::new(outbound),
            "https://track.example",
        )),
        later: Arc::new(notifier::queue::Sqs::new(sqs.clone(), queue)),
    }
}

/// The address emails come from (verified on moto by [`notifier`]).
pub const FROM: &str = "orders@example.com";

pub async fn moto_config() -> aws_config::SdkConfig {
    let endpoint = std::env::var("MOTO_ENDPOINT")
        .expect("MOTO_ENDPOINT is not set: run the tests with scripts/test.sh");
    order_core::aws::emulator_config(&endpoint).await
}

/// What moto's SES and SNS were sent: (emails, texts), each as moto keeps it.
pub async fn sent() -> (Vec<serde_json::Value>, Vec<serde_json::Value>) {
    let endpoint = std::env::var("MOTO_ENDPOINT").unwrap();
    let data: serde_json::Value = reqwest::get(format!("{endpoint}/moto-api/data.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let list = |v: &serde_json::Value| v.as_array().cloned().unwrap_or_default();
    (list(&data["ses"]["Message"]), list(&data["sns"]["SMS"]))
}

/// How many messages wait on the queue, delayed or visible.
pub async fn waiting(sqs: &aws_sdk_sqs::Client, queue: &str) -> (i64, i64) {
    use aws_sdk_sqs::types::QueueAttributeName as A;
    let attrs = sqs
        .get_queue_attributes()
        .queue_url(queue)
        .attribute_names(A::ApproximateNumberOfMessages)
        .attribute_names(A::ApproximateNumberOfMessagesDelayed)
        .send()
        .await
        .unwrap();
    let attrs = attrs.attributes().unwrap();
    let n = |a: A| attrs.get(&a).and_then(|v| v.parse().ok()).unwrap_or(0);
    (
        n(A::ApproximateNumberOfMessages),
        n(A::ApproximateNumberOfMessagesDelayed),
    )
}
