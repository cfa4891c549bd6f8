//! Customer notifications through the notifier's handler, on DynamoDB
//! Local and moto's SQS, SES and SNS: an order's news reaches its
//! customer by email and SMS (read back from moto), each decision recorded
//! on the order with the provider's message id, once however often the
//! event arrives; a tenant's collapse window holds the news on the queue.

mod common;

use std::sync::Arc;

use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use common::*;
use order_core::bus;
use order_core::order::EventBody;
use order_core::ports::OrderStore;
use order_core::service::OrderService;
use order_core::tenants::Tenants;
use order_core::testkit::lambda_harness::fresh_table;
use serde_json::json;

fn tenants(collapse: u32) -> Tenants {
    serde_json::from_value(json!({ "tenants": { "acme": { "notifications": {
        "sender": "Acme Lighting", "sms": ["*"], "collapse_seconds": collapse } } } }))
    .unwrap()
}

/// The order's first event as the EventBridge rule puts it on the queue.
fn on_the_queue(event: &order_core::order::Event) -> SqsEvent {
    let entry = bus::entry(event);
    let body = json!({ "version": "0", "id": "x", "source": entry.source,
        "detail-type": entry.detail_type, "detail": entry.detail });
    let mut message = SqsMessage::default();
    message.message_id = Some("m-1".into());
    message.body = Some(body.to_string());
    let mut batch = SqsEvent::default();
    batch.records = vec![message];
    batch
}

async fn place(table: &Arc<order_core::store::DynamoStore>, tenants: Tenants) -> String {
    let service = OrderService::new(
        table.clone(),
        order_core::testkit::catalog(),
        Arc::new(tenants),
        Arc::new(order_core::ports::SystemClock),
    )
    .with_vault(vault(table.clone()).await);
    let mut checkout = order_core::testkit::shipping_run::checkout();
    checkout.contact.phone = Some("+14165550199".into());
    let placed = service
        .place(
            &order_core::testkit::shipping_run::manager(),
            checkout,
            None,
        )
        .await
        .unwrap();
    placed.body["id"].as_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_orders_news_reaches_its_customer_once_by_email_and_sms() {
    let table = Arc::new(fresh_table().await);
    let (sqs, queue) = fresh_queue().await;
    let notifier = notifier(table.clone(), &sqs, &queue, tenants(0)).await;
    let id = place(&table, tenants(0)).await;
    let placed = table.events(&id, 0, 10).await.unwrap().remove(0);

    let response = notifier.handle(on_the_queue(&placed)).await;
    assert!(response.batch_item_failures.is_empty());
    let records: Vec<_> = table
        .events(&id, 0, 10)
        .await
        .unwrap()
        .into_iter()
        .filter_map(|e| match e.body {
            EventBody::NotificationRecorded(r) => Some(r),
            _ => None,
        })
        .collect();
    assert_eq!(records.len(), 2, "{records:?}");
    let (emails, texts) = sent().await;
    let email_id = records
        .iter()
        .find(|r| r.channel.as_str() == "email")
        .unwrap()
        .message_id
        .clone()
        .unwrap();
    let email = emails
        .iter()
        .find(|m| m["id"] == email_id.as_str())
        .expect("SES got it");
    // Sealed on the table, opened for the message.
    let stored = table.load(&id).await.unwrap().unwrap().head.contact;
    assert!(stored.email.unwrap().starts_with("enc:v1:"));
    assert_eq!(
        email["destinations"]["ToAddresses"],
        json!(["dana@example.com"])
    );
    assert_eq!(email["source"], format!("\"Acme Lighting\" <{FROM}>"));
    assert!(email["subject"]
        .as_str()
        .unwrap()
        .starts_with("Acme Lighting: "));
    let public_id = table.load(&id).await.unwrap().unwrap().head.public_id;
    assert!(email["body"]
        .as_str()
        .unwrap()
        .contains(&format!("https://track.example/t/{public_id}")));
    let sms_id = records
        .iter()
        .find(|r| r.channel.as_str() == "sms")
        .unwrap()
        .message_id
        .clone()
        .unwrap();
    let text = texts
        .iter()
        .find(|m| m["message_id"] == sms_id.as_str())
        .expect("SNS got it");
    assert_eq!(text["phone_number"], "+14165550199");

    // The same event again: nothing more is sent or recorded.
    notifier.handle(on_the_queue(&placed)).await;
    let (emails_after, texts_after) = sent().await;
    assert_eq!(
        (emails_after.len(), texts_after.len()),
        (emails.len(), texts.len())
    );
    assert_eq!(table.events(&id, 0, 10).await.unwrap().len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn news_waits_out_the_collapse_window_on_the_queue() {
    let table = Arc::new(fresh_table().await);
    let (sqs, queue) = fresh_queue().await;
    let notifier = notifier(table.clone(), &sqs, &queue, tenants(60)).await;
    let id = place(&table, tenants(60)).await;
    let placed = table.events(&id, 0, 10).await.unwrap().remove(0);
    assert!(notifier
        .handle(on_the_queue(&placed))
        .await
        .batch_item_failures
        .is_empty());
    assert_eq!(
        table.events(&id, 0, 10).await.unwrap().len(),
        1,
        "nothing decided yet"
    );
    assert_eq!(waiting(&sqs, &queue).await.1, 1, "it waits, delayed");
}
