//! Merchant webhooks, end to end: a tenant registers an endpoint on the
//! running local stack and a receiver on this machine gets the events it
//! asked for, signed so it can verify them, each attempt in the delivery
//! log; addresses inside our network are refused. And the retry schedule,
//! driven by a clock the test moves: a receiver that fails several times
//! gets the delivery when it recovers, one that never does gets its
//! endpoint disabled.

mod common;

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use common::*;
use order_core::auth::Role;
use order_core::bus::Envelope;
use order_core::merchant::{DeliveryState, NewEndpoint, UrlPolicy};
use order_core::ports::{Clock, MerchantStore};
use order_core::service::Merchants;
use order_core::store::SqliteStore;
use order_core::testkit::receiver::Receiver;
use order_core::webhook_sender::HttpPost;
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn an_endpoint_gets_the_events_it_asked_for_signed_and_every_attempt_is_logged() {
    let server = start_with(&["--allow-loopback-webhooks"], &[], None);
    let manager = token("acme", Role::Manager);
    let (receiver, url) = Receiver::start(1).await;
    let body = json!({ "url": url, "events": ["OrderStatusChanged"] });
    let registered = server
        .call(
            Method::POST,
            "/webhook-endpoints",
            Some(&manager),
            Some(&body),
        )
        .await;
    let endpoint = registered.expect(201).clone();
    let (id, secret) = (str_of(&endpoint, "id"), str_of(&endpoint, "secret"));
    assert!(secret.starts_with("whsec_"));

    // Another tenant's moves never reach acme's endpoint.
    let globex = token("globex", Role::Manager);
    let theirs = server
        .place(&globex, &checkout_body("cus_g", "pickup"))
        .await;
    server
        .advance(&globex, str_of(&theirs, "id"), "accepted", json!({}))
        .await;
    let order = server
        .place(&manager, &checkout_body("cus_1", "pickup"))
        .await;
    server
        .advance(&manager, str_of(&order, "id"), "accepted", json!({}))
        .await;

    receiver.wait_for(1).await;
    let got = receiver.bodies();
    assert_eq!(got.len(), 1, "only the move, only acme's: {got:?}");
    assert_eq!(got[0]["type"], "OrderStatusChanged");
    assert_eq!(got[0]["data"]["order_id"], order["id"]);
    assert_eq!(got[0]["data"]["seq"], 2);
    assert!(receiver.all_signed_with(secret));
    let event_id = got[0]["id"].as_str().unwrap();
    assert_eq!(receiver.headers()[0]["webhook-id"], event_id);

    // The receiver answered 500: logged, and due again in about a minute.
    let path = format!("/webhook-endpoints/{id}/deliveries");
    let log = server.get(&path, &manager).await;
    let delivery = log.expect(200)["deliveries"][0].clone();
    assert_eq!(delivery["state"], "pending");
    assert_eq!(delivery["attempts"][0]["status"], 500);
    assert!(delivery["next_at"].is_string());

    // Sent again by hand: delivered, two attempts in the log.
    let again = format!("{path}/{}/redeliver", str_of(&delivery, "id"));
    let sent = server
        .call(Method::POST, &again, Some(&manager), None)
        .await;
    assert_eq!(sent.expect(200)["state"], "delivered");
    assert_eq!(sent.json["attempts"].as_array().unwrap().len(), 2);
    assert_eq!(sent.json["attempts"][1]["status"], 200);
    assert!(receiver.all_signed_with(secret));

    // Listed without its secret; staff who are not managers see nothing.
    let listed = server.get("/webhook-endpoints", &manager).await;
    assert_eq!(listed.expect(200)["endpoints"][0]["id"], id);
    assert!(listed.json["endpoints"][0].get("secret").is_none());
    server
        .get("/webhook-endpoints", &token("acme", Role::Staff))
        .await
        .problem(403);
    server.get(&path, &globex).await.problem(404);
}

#[tokio::test]
async fn endpoints_inside_our_network_are_refused() {
    let strict = start();
    let manager = token("acme", Role::Manager);
    for url in [
        "http://127.0.0.1:9/",
        "https://127.0.0.1/",
        "https://10.0.0.8/",
        "https://localhost/",
        "https://169.254.169.254/",
    ] {
        let body = json!({ "url": url, "events": ["*"] });
        let refused = strict
            .call(
                Method::POST,
                "/webhook-endpoints",
                Some(&manager),
                Some(&body),
            )
            .await;
        refused.problem(400);
    }
    assert_eq!(
        strict.get("/webhook-endpoints", &manager).await.expect(200)["endpoints"],
        json!([])
    );

    // The development flag lets loopback in, and nothing else.
    let dev = start_with(&["--allow-loopback-webhooks"], &[], None);
    let body = json!({ "url": "http://10.0.0.8/hooks", "events": ["*"] });
    let refused = dev
        .call(
            Method::POST,
            "/webhook-endpoints",
            Some(&manager),
            Some(&body),
        )
        .await;
    refused.problem(400);
}

/// A clock the test moves.
struct TestClock(Mutex<DateTime<Utc>>);

impl Clock for TestClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap()
    }
}

#[tokio::test]
async fn a_failing_endpoint_is_retried_on_schedule_and_disabled_when_it_never_recovers() {
    let store = Arc::new(SqliteStore::in_memory(order_core::testkit::catalog()).unwrap());
    let clock = Arc::new(TestClock(Mutex::new(Utc::now())));
    let merchants = Merchants::new(
        store.clone(),
        Arc::new(HttpPost::new(true)),
        clock.clone(),
        UrlPolicy {
            allow_loopback: true,
        },
    );
    let told = Arc::new(Told::default());
    let tenants: order_core::tenants::Tenants =
        serde_json::from_value(json!({ "tenants": { "acme": {
        "notifications": { "sender": "Acme", "alerts_email": "ops@acme.example" } } } }))
        .unwrap();
    merchants.tell_through(told.clone(), Arc::new(tenants));
    let manager = order_core::testkit::shipping_run::manager();
    let envelope = |n: u32| Envelope {
        id: format!("evt_{n:032}"),
        detail_type: "OrderPlaced".into(),
        data: json!({ "event_id": format!("evt_{n:032}"), "tenant": "acme", "seq": 1 }),
    };
    // Due deliveries, sent as the local worker sends them, with the clock
    // moved to each one's next attempt; how many attempts it took.
    let run = |n: u32| {
        let (store, clock, merchants) = (store.clone(), clock.clone(), &merchants);
        async move {
            let opened = merchants.open(&envelope(n)).await.unwrap();
            assert_eq!(opened.len(), 1);
            let again = merchants.open(&envelope(n)).await.unwrap();
            assert_eq!(again, opened, "not attempted yet: still to attempt");
            loop {
                let due = store.due_deliveries(clock.now(), 10).await.unwrap();
                assert_eq!(due.len(), 1, "due when the schedule says");
                let delivery = merchants
                    .attempt(due.into_iter().next().unwrap())
                    .await
                    .unwrap();
                match delivery.next_at {
                    Some(next) => {
                        let early = next - chrono::Duration::seconds(1);
                        *clock.0.lock().unwrap() = early;
                        assert!(
                            store.due_deliveries(early, 10).await.unwrap().is_empty(),
                            "not before"
                        );
                        *clock.0.lock().unwrap() = next;
                    }
                    None => {
                        let again = merchants.open(&envelope(n)).await.unwrap();
                        assert!(again.is_empty(), "attempted: opened once");
                        return delivery;
                    }
                }
            }
        }
    };

    let (recovering, url) = Receiver::start(3).await;
    let new = NewEndpoint {
        url,
        events: vec!["*".into()],
    };
    let endpoint = merchants.register(&manager, new).await.unwrap();
    let delivered = run(1).await;
    assert_eq!(delivered.state, DeliveryState::Delivered);
    let statuses: Vec<_> = delivered.attempts.iter().map(|a| a.status).collect();
    assert_eq!(statuses, [Some(500), Some(500), Some(500), Some(200)]);
    assert_eq!(recovering.bodies().len(), 4);
    assert!(recovering.all_signed_with(&endpoint.secret));

    // Down for good: every attempt over three days, then the endpoint is off.
    recovering.failures.store(usize::MAX, Ordering::SeqCst);
    let started = clock.now();
    let failed = run(2).await;
    assert_eq!(failed.state, DeliveryState::Failed);
    assert_eq!(
        failed.attempts.len(),
        order_core::merchant::schedule::ATTEMPTS
    );
    assert!(clock.now() - started >= chrono::Duration::days(3));
    let endpoints = store.endpoints("acme").await.unwrap();
    assert!(!endpoints[0].enabled);
    assert!(endpoints[0]
        .disabled_reason
        .as_deref()
        .unwrap()
        .contains("HTTP 500"));
    // A disabled endpoint is sent nothing more, and the store was told.
    assert!(merchants.open(&envelope(3)).await.unwrap().is_empty());
    let told = told.0.lock().unwrap();
    assert_eq!(told.len(), 1);
    assert_eq!(told[0].to, "ops@acme.example");
    assert!(told[0].subject.as_deref().unwrap().contains("disabled"));
}

/// Keeps what the store is told.
#[derive(Default)]
struct Told(Mutex<Vec<order_core::notify::Message>>);

#[async_trait::async_trait]
impl order_core::ports::Outbound for Told {
    async fn send(
        &self,
        _tenant: &str,
        message: &order_core::notify::Message,
    ) -> Result<String, String> {
        self.0.lock().unwrap().push(message.clone());
        Ok("told".into())
    }
}
