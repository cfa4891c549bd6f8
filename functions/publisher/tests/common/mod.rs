//! What the publisher's emulator tests share: a bus routed to a queue on
//! moto, and the queue read back.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

pub fn endpoint(name: &str) -> String {
    std::env::var(name)
        .unwrap_or_else(|_| panic!("{name} is not set: run the tests with scripts/test.sh"))
}

/// A bus with a rule routing our events to a fresh queue; returns the queue URL.
pub async fn bus_to_queue(bus: &str) -> (aws_sdk_sqs::Client, String) {
    let config = order_core::aws::emulator_config(&endpoint("MOTO_ENDPOINT")).await;
    let events = aws_sdk_eventbridge::Client::new(&config);
    let sqs = aws_sdk_sqs::Client::new(&config);
    let queue = sqs
        .create_queue()
        .queue_name(bus)
        .send()
        .await
        .unwrap()
        .queue_url()
        .unwrap()
        .to_string();
    let attrs = sqs
        .get_queue_attributes()
        .queue_url(&queue)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap();
    let queue_arn =
        attrs.attributes().unwrap()[&aws_sdk_sqs::types::QueueAttributeName::QueueArn].clone();
    events.create_event_bus().name(bus).send().await.unwrap();
    events
        .put_rule()
        .name("all-order-events")
        .event_bus_name(bus)
        .event_pattern(json!({ "source": ["order-tracking"] }).to_string())
        .send()
        .await
        .unwrap();
    events
        .put_targets()
        .rule("all-order-events")
        .event_bus_name(bus)
        .targets(
            aws_sdk_eventbridge::types::Target::builder()
                .id("queue")
                .arn(queue_arn)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    (sqs, queue)
}

pub async fn drain(sqs: &aws_sdk_sqs::Client, queue: &str, expected: usize) -> Vec<Value> {
    let mut messages = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        let out = sqs
            .receive_message()
            .queue_url(queue)
            .max_number_of_messages(10)
            .send()
            .await
            .unwrap();
        for m in out.messages() {
            messages.push(serde_json::from_str(m.body().unwrap()).unwrap());
            sqs.delete_message()
                .queue_url(queue)
                .receipt_handle(m.receipt_handle().unwrap())
                .send()
                .await
                .unwrap();
        }
        if out.messages().is_empty() && messages.len() >= expected {
            break;
        }
    }
    messages
}

pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4().simple())
}
