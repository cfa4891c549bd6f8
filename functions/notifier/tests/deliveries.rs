//! The notifier's handler on DynamoDB Local and moto's SQS, with the sample
//! batch (`events/notifier.json`, an order event as the EventBridge rule
//! puts it on the queue) and a merchant's receiver on loopback: the first
//! attempt at once, a failure waiting on the queue as a delayed retry, an
//! early retry waiting again, a due one delivered, and the event coming
//! again delivered once.

mod common;

use std::sync::Arc;

use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use common::*;
use notifier::{Notifier, Retry};
use order_core::merchant::{DeliveryState, NewEndpoint, UrlPolicy};
use order_core::ports::{MerchantStore, SystemClock};
use order_core::service::Merchants;
use order_core::testkit::lambda_harness::fresh_table;
use order_core::testkit::receiver::Receiver;
use order_core::webhook_sender::HttpPost;

fn sample() -> SqsEvent {
    let text = std::fs::read_to_string(root().join("events/notifier.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn batch_of(body: String) -> SqsEvent {
    let mut message = SqsMessage::default();
    message.message_id = Some("m-1".into());
    message.body = Some(body);
    let mut batch = SqsEvent::default();
    batch.records = vec![message];
    batch
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivery_is_attempted_at_once_and_retried_through_the_queue() {
    let table = Arc::new(fresh_table().await);
    let merchants = Arc::new(Merchants::new(
        table.clone(),
        Arc::new(HttpPost::new(true)),
        Arc::new(SystemClock),
        UrlPolicy {
            allow_loopback: true,
        },
    ));
    let (sqs, queue) = fresh_queue().await;
    let notifier = Notifier {
        merchants: merchants.clone(),
        ..notifier(table.clone(), &sqs, &queue, Default::default()).await
    };
    let (receiver, url) = Receiver::start(1).await;
    let manager = order_core::testkit::shipping_run::manager();
    let new = NewEndpoint {
        url,
        events: vec!["OrderStatusChanged".into()],
    };
    let endpoint = merchants.register(&manager, new).await.unwrap();

    let response = notifier.handle(sample()).await;
    assert!(response.batch_item_failures.is_empty());
    assert_eq!(receiver.count(), 1, "attempted at once");
    assert_eq!(
        waiting(&sqs, &queue).await,
        (0, 1),
        "the retry waits, delayed"
    );
    let delivery = table
        .deliveries("acme", &endpoint.id, 10)
        .await
        .unwrap()
        .remove(0);
    assert_eq!(delivery.state, DeliveryState::Pending);
    let retry = Retry {
        tenant: "acme".into(),
        endpoint_id: endpoint.id.clone(),
        delivery_id: delivery.id.clone(),
    };
    let retry_body = serde_json::json!({ "retry": retry }).to_string();

    // Received early (a chain of 15-minute delays): it waits again.
    assert!(notifier
        .handle(batch_of(retry_body.clone()))
        .await
        .batch_item_failures
        .is_empty());
    assert_eq!(receiver.count(), 1);
    assert_eq!(waiting(&sqs, &queue).await.1, 2);

    // Due: delivered, and nothing more waits for it.
    let mut due = delivery.clone();
    due.next_at = Some(chrono::Utc::now() - chrono::Duration::seconds(1));
    table.save_delivery(&due).await.unwrap();
    assert!(notifier
        .handle(batch_of(retry_body.clone()))
        .await
        .batch_item_failures
        .is_empty());
    assert_eq!(receiver.count(), 2);
    let delivered = table
        .delivery("acme", &endpoint.id, &delivery.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(delivered.state, DeliveryState::Delivered);
    assert_eq!(delivered.attempts.len(), 2);
    assert_eq!(waiting(&sqs, &queue).await.1, 2, "no new retry");

    // The event again, and the settled retry again: nothing is sent twice.
    notifier.handle(sample()).await;
    notifier.handle(batch_of(retry_body)).await;
    assert_eq!(receiver.count(), 2);

    // A message nobody can read is dropped, not retried forever.
    let garbage = notifier.handle(batch_of("not json".into())).await;
    assert!(garbage.batch_item_failures.is_empty());
}
