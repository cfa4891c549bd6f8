//! Faults on the AWS path, from a command to the bus: a proxy between the
//! SDK and DynamoDB Local loses a transaction's answer after it committed,
//! holds one back past the attempt timeout, and answers throttling in the
//! table's place; another does the same to EventBridge (moto). No command
//! may be told 409 for a write that went through, no event may be stored
//! twice or lost, and every event must reach the bus.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

mod common;

use common::{bus_to_queue, drain, endpoint, unique};

use order_core::auth::{Principal, Role};
use order_core::aws::{emulator_config, emulator_config_within, SdkBudget};
use order_core::ports::{OrderStore, SystemClock};
use order_core::publish::EventBridgePublisher;
use order_core::service::{Checkout, OrderService, TransitionRequest};
use order_core::store::DynamoStore;
use order_core::testkit::fault_proxy::{Fault, FaultProxy};
use order_core::testkit::{catalog, table_stream};
use serde_json::json;

/// Short enough that a held-back answer times the attempt out.
const QUICK: SdkBudget = SdkBudget {
    connect: Duration::from_secs(2),
    attempt: Duration::from_millis(700),
    operation: Duration::from_secs(20),
    attempts: 6,
};

fn manager() -> Principal {
    Principal {
        tenant: "acme".into(),
        role: Role::Manager,
        subject: "m".into(),
        stores: None,
    }
}

/// A move as the board sends it: from the version on screen, so any
/// conflict is reported rather than decided again.
fn to(status: &str, version: u64) -> TransitionRequest {
    TransitionRequest {
        to: status.into(),
        reason: None,
        tracking: None,
        expected_version: Some(version),
    }
}

/// A fresh table, and a store that reaches it through a proxy faulting
/// `operation`.
async fn behind_a_proxy(operation: &str) -> (String, FaultProxy, DynamoStore) {
    let table = unique("orders");
    let direct =
        aws_sdk_dynamodb::Client::new(&emulator_config(&endpoint("DYNAMODB_ENDPOINT")).await);
    DynamoStore::create_table(&direct, &table).await.unwrap();
    let proxy = FaultProxy::start(&endpoint("DYNAMODB_ENDPOINT"), operation).await;
    let config = emulator_config_within(&proxy.endpoint, QUICK).await;
    let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(&config), &table, catalog());
    (table, proxy, store)
}

#[tokio::test]
async fn lost_late_and_throttled_commits_succeed_once_and_reach_the_bus() {
    let (table, proxy, store) = behind_a_proxy("TransactWriteItems").await;
    let store = Arc::new(store);
    let service = OrderService::new(
        store.clone(),
        catalog(),
        Arc::default(),
        Arc::new(SystemClock),
    );

    proxy.inject([Fault::DropResponse]);
    let checkout: Checkout = serde_json::from_value(json!({
        "customer_id": "cus_1", "currency": "CAD", "fulfilment": "pickup",
        "items": [{ "sku": "A", "name": "Lamp", "unit_price": 100, "quantity": 1 }]
    }))
    .unwrap();
    let placed = service
        .place(&manager(), checkout, None)
        .await
        .expect("placed, though the first answer was lost");
    let id = placed.body["id"].as_str().unwrap().to_string();
    let faults = [
        ("accepted", Fault::Delay(Duration::from_millis(1500))),
        ("in_progress", Fault::Throttle),
        ("ready", Fault::DropResponse),
    ];
    for (version, (status, fault)) in (1..).zip(faults) {
        proxy.inject([fault]);
        let view = service
            .transition(&manager(), &id, to(status, version))
            .await
            .unwrap_or_else(|e| panic!("{fault:?} on the move to {status}: {e:?}"));
        assert_eq!(view.head.status, status);
        assert_eq!(proxy.pending(), 0, "{fault:?} was used");
    }
    assert!(
        proxy.seen() >= 8,
        "every faulted transaction was retried: {} sent",
        proxy.seen()
    );

    let events = store.events(&id, 0, 100).await.unwrap();
    let seqs: Vec<u64> = events.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, [1, 2, 3, 4], "one event per command, none lost");
    let head = store.load(&id).await.unwrap().unwrap().head;
    assert_eq!((head.version, head.status.as_str()), (4, "ready"));

    // The stream, the publisher's input, holds each event once.
    let batch: aws_lambda_events::dynamodb::Event =
        serde_json::from_value(table_stream::batch(&table).await).unwrap();
    let streamed: Vec<String> = batch
        .records
        .iter()
        .filter_map(publisher::event_of)
        .map(|e| e.unwrap().event_id)
        .collect();
    let stored: Vec<String> = events.iter().map(|e| e.event_id.clone()).collect();
    assert_eq!(streamed, stored);

    // Throttled, then its answer lost: published all the same.
    let bus = unique("bus");
    let (sqs, queue) = bus_to_queue(&bus).await;
    let bus_proxy = FaultProxy::start(&endpoint("MOTO_ENDPOINT"), "PutEvents").await;
    let bus_config = emulator_config_within(&bus_proxy.endpoint, QUICK).await;
    let publisher = EventBridgePublisher::new(aws_sdk_eventbridge::Client::new(&bus_config), &bus);
    bus_proxy.inject([Fault::Throttle, Fault::DropResponse]);
    let response = publisher::handle(&publisher, batch).await;
    assert!(response.batch_item_failures.is_empty(), "{response:?}");
    assert_eq!(bus_proxy.pending(), 0);

    let messages = drain(&sqs, &queue, 8).await;
    let mut copies: BTreeMap<String, usize> = BTreeMap::new();
    for m in &messages {
        *copies
            .entry(m["detail"]["event_id"].as_str().unwrap().to_string())
            .or_default() += 1;
    }
    let mut expected = stored.clone();
    expected.sort();
    assert_eq!(
        copies.keys().cloned().collect::<Vec<_>>(),
        expected,
        "every event reached the bus"
    );
    // EventBridge has no request token: a batch whose answer was lost is
    // sent again, and consumers drop the copy by its `event_id`.
    assert!(copies.values().all(|n| *n <= 2), "{copies:?}");
}

/// A notification is sent by whoever claims its key first; a claim whose
/// answer was lost must still be its sender's, or nobody sends it.
#[tokio::test]
async fn a_claim_whose_answer_was_lost_is_still_the_claimants() {
    use order_core::ports::Claims;
    let (_, proxy, store) = behind_a_proxy("PutItem").await;
    let expires = chrono::Utc::now() + chrono::Duration::days(1);

    proxy.inject([Fault::DropResponse]);
    assert!(store.claim("evt_1/email", expires).await.unwrap());
    assert_eq!((proxy.pending(), proxy.seen()), (0, 2), "retried once");
    assert!(
        !store.claim("evt_1/email", expires).await.unwrap(),
        "a second claimant still loses"
    );
}
