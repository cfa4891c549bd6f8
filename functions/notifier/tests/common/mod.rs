//! What the notifier's tests share: a merchant's receiver on loopback that
//! fails as often as told, a queue on moto's SQS, and the sample batch.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Answers 500 to the first `failures` POSTs, then 200; keeps the bodies.
#[derive(Clone, Default)]
pub struct Receiver {
    pub failures: Arc<AtomicUsize>,
    pub got: Arc<Mutex<Vec<Bytes>>>,
}

async fn receive(State(r): State<Receiver>, body: Bytes) -> StatusCode {
    r.got.lock().unwrap().push(body);
    match r
        .failures
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
    {
        Ok(_) => StatusCode::INTERNAL_SERVER_ERROR,
        Err(_) => StatusCode::OK,
    }
}

impl Receiver {
    pub async fn start(failures: usize) -> (Receiver, String) {
        let receiver = Receiver {
            failures: Arc::new(AtomicUsize::new(failures)),
            ..Receiver::default()
        };
        let app = axum::Router::new()
            .route("/hooks", post(receive))
            .with_state(receiver.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hooks", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        (receiver, url)
    }

    pub fn count(&self) -> usize {
        self.got.lock().unwrap().len()
    }
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
