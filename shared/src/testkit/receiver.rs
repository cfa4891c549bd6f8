//! A merchant's webhook receiver on loopback, for the tests of deliveries:
//! answers 500 to the first `failures` POSTs and 200 after, keeps what it
//! was sent, and checks signatures the way a merchant would (with its own
//! HMAC, not the sender's code).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;

#[derive(Clone, Default)]
pub struct Receiver {
    /// How many more POSTs fail; `usize::MAX` to fail for good.
    pub failures: Arc<AtomicUsize>,
    got: Arc<Mutex<Vec<(HeaderMap, Bytes)>>>,
}

async fn receive(State(r): State<Receiver>, headers: HeaderMap, body: Bytes) -> StatusCode {
    r.got.lock().unwrap().push((headers, body));
    match r
        .failures
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
    {
        Ok(_) => StatusCode::INTERNAL_SERVER_ERROR,
        Err(_) => StatusCode::OK,
    }
}

impl Receiver {
    /// Listens on a free loopback port; the receiver and its URL.
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

    /// Each POST's headers.
    pub fn headers(&self) -> Vec<HeaderMap> {
        self.got
            .lock()
            .unwrap()
            .iter()
            .map(|(h, _)| h.clone())
            .collect()
    }

    /// Each POST's body, as JSON.
    pub fn bodies(&self) -> Vec<Value> {
        let got = self.got.lock().unwrap();
        got.iter()
            .map(|(_, b)| serde_json::from_slice(b).unwrap_or(Value::Null))
            .collect()
    }

    /// Waits until `n` POSTs came (or gives up after ten seconds).
    pub async fn wait_for(&self, n: usize) {
        for _ in 0..100 {
            if self.count() >= n {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Whether every POST verifies as Stripe-style code would verify it:
    /// `t=…,v1=…` over "<t>.<body>" with the endpoint's secret.
    pub fn all_signed_with(&self, secret: &str) -> bool {
        let got = self.got.lock().unwrap();
        got.iter().all(|(headers, body)| {
            let Some(header) = headers
                .get("webhook-signature")
                .and_then(|v| v.to_str().ok())
            else {
                return false;
            };
            let Some((t, v1)) = header.split_once(",v1=") else {
                return false;
            };
            // Computed here, not with the sender's own code.
            let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
            mac.update(t.strip_prefix("t=").unwrap_or_default().as_bytes());
            mac.update(b".");
            mac.update(body);
            crate::hex::decode(v1).is_some_and(|tag| mac.verify_slice(&tag).is_ok())
        })
    }
}
