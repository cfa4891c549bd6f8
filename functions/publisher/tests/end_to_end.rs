//! End to end on emulators: commands against DynamoDB Local, the table's
//! stream read back (GetShardIterator/GetRecords) and turned into the Lambda
//! event the stream trigger would deliver, the publisher run on it against
//! moto's EventBridge, a rule routing to an SQS queue, and the messages read
//! back and checked. `scripts/test.sh` starts both emulators.

use std::collections::BTreeMap;
use std::sync::Arc;

mod common;

use common::{bus_to_queue, drain, endpoint, unique};

use order_core::auth::{Principal, Role};
use order_core::ports::{OrderStore, SystemClock};
use order_core::publish::EventBridgePublisher;
use order_core::service::{Checkout, OrderService, TransitionRequest};
use order_core::store::DynamoStore;
use order_core::testkit::{catalog, table_stream};
use serde_json::{json, Value};

/// Places a shipping order and moves it three times: four events.
async fn commands(table: &str) -> Vec<String> {
    let config = order_core::aws::emulator_config(&endpoint("DYNAMODB_ENDPOINT")).await;
    let client = aws_sdk_dynamodb::Client::new(&config);
    DynamoStore::create_table(&client, table).await.unwrap();
    let store: Arc<dyn OrderStore> = Arc::new(DynamoStore::new(client, table, catalog()));
    let service = OrderService::new(
        store.clone(),
        catalog(),
        Arc::default(),
        Arc::new(SystemClock),
    );
    let principal = Principal {
        tenant: "acme".into(),
        role: Role::Manager,
        subject: "m".into(),
        stores: None,
    };
    let checkout: Checkout = serde_json::from_value(json!({
        "customer_id": "cus_1", "currency": "CAD", "fulfilment": "pickup",
        "items": [{ "sku": "A", "name": "Lamp", "unit_price": 100, "quantity": 1 }]
    }))
    .unwrap();
    let placed = service.place(&principal, checkout, None).await.unwrap();
    let id = placed.body["id"].as_str().unwrap().to_string();
    for to in ["accepted", "in_progress", "ready"] {
        let request = TransitionRequest {
            to: to.into(),
            reason: None,
            tracking: None,
            expected_version: None,
        };
        service.transition(&principal, &id, request).await.unwrap();
    }
    store
        .events(&id, 0, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.event_id)
        .collect()
}

#[tokio::test]
async fn every_committed_event_reaches_the_bus_exactly_once() {
    let table = unique("orders");
    let event_ids = commands(&table).await;
    assert_eq!(event_ids.len(), 4);
    let batch: aws_lambda_events::dynamodb::Event =
        serde_json::from_value(table_stream::batch(&table).await).unwrap();
    assert!(
        batch.records.len() >= 4,
        "heads are in the stream too, events must be"
    );

    let bus = unique("bus");
    let (sqs, queue) = bus_to_queue(&bus).await;
    let config = order_core::aws::emulator_config(&endpoint("MOTO_ENDPOINT")).await;
    let publisher = EventBridgePublisher::new(aws_sdk_eventbridge::Client::new(&config), &bus);
    let response = publisher::handle(&publisher, batch).await;
    assert!(response.batch_item_failures.is_empty(), "{response:?}");

    let messages = drain(&sqs, &queue, 4).await;
    let by_id: BTreeMap<String, &Value> = messages
        .iter()
        .map(|m| (m["detail"]["event_id"].as_str().unwrap().to_string(), m))
        .collect();
    assert_eq!(
        messages.len(),
        4,
        "exactly one message per event: {messages:#?}"
    );
    assert_eq!(by_id.keys().cloned().collect::<Vec<_>>(), {
        let mut ids = event_ids.clone();
        ids.sort();
        ids
    });
    let types: Vec<&str> = event_ids
        .iter()
        .map(|id| by_id[id]["detail-type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        [
            "OrderPlaced",
            "OrderStatusChanged",
            "OrderStatusChanged",
            "OrderStatusChanged"
        ]
    );
    let last = &by_id[&event_ids[3]];
    assert_eq!(last["source"], "order-tracking");
    let detail = &last["detail"];
    assert_eq!(
        (detail["from"].as_str(), detail["to"].as_str()),
        (Some("in_progress"), Some("ready"))
    );
    assert_eq!(detail["tenant"], "acme");
    assert_eq!(detail["version"], 4);
    assert!(detail["public_id"].as_str().unwrap().starts_with("trk_"));
    assert!(detail["order_id"].as_str().unwrap().starts_with("ord_"));
}

#[tokio::test]
async fn records_that_could_not_be_published_are_reported_for_retry() {
    let table = unique("orders");
    commands(&table).await;
    let batch: aws_lambda_events::dynamodb::Event =
        serde_json::from_value(table_stream::batch(&table).await).unwrap();
    let event_records: Vec<String> = batch
        .records
        .iter()
        .filter(|r| publisher::event_of(r).is_some())
        .filter_map(|r| r.change.sequence_number.clone())
        .collect();
    let config = order_core::aws::emulator_config(&endpoint("MOTO_ENDPOINT")).await;
    let publisher =
        EventBridgePublisher::new(aws_sdk_eventbridge::Client::new(&config), "no-such-bus");
    let response = publisher::handle(&publisher, batch).await;
    let reported: Vec<String> = response
        .batch_item_failures
        .iter()
        .filter_map(|f| f.item_identifier.clone())
        .collect();
    assert_eq!(
        reported, event_records,
        "every event record is reported, no head record is"
    );
}

/// The real binary, through `cargo lambda`, with `events/publisher.json`.
#[tokio::test]
async fn the_publisher_binary_delivers_the_sample_stream_batch() {
    use order_core::testkit::lambda_harness::LambdaEmulator;
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let bus = unique("bus");
    let (sqs, queue) = bus_to_queue(&bus).await;
    let moto = endpoint("MOTO_ENDPOINT");
    let mut lambda = LambdaEmulator::start(&root.join("Cargo.toml"));
    lambda.function(
        "publisher",
        std::path::Path::new(env!("CARGO_BIN_EXE_publisher")),
        &[
            ("EVENT_BUS_NAME", bus.as_str()),
            ("AWS_ENDPOINT_URL_EVENTBRIDGE", moto.as_str()),
        ],
    );
    let response = lambda
        .invoke("publisher", &root.join("events/publisher.json"))
        .unwrap();
    assert_eq!(response, json!({ "batchItemFailures": [] }));
    let messages = drain(&sqs, &queue, 2).await;
    let mut types: Vec<&str> = messages
        .iter()
        .map(|m| m["detail-type"].as_str().unwrap())
        .collect();
    types.sort();
    assert_eq!(types, ["OrderPlaced", "OrderStatusChanged"]);
}
