//! The publisher: DynamoDB stream records of new event items → EventBridge.
//!
//! The stream is the durable outbox on AWS: every committed event item shows
//! up as an INSERT with its new image. Each is sent once per delivery
//! (at least once overall; consumers dedupe on `event_id`). Records that could
//! not be published are reported as batch item failures, so Lambda retries
//! from the first of them rather than the whole batch; after the retries a
//! DLQ keeps them.

use aws_lambda_events::dynamodb::{Event as StreamEvent, EventRecord};
use aws_lambda_events::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use order_core::metrics::{self, Metric};
use order_core::order::Event;
use order_core::ports::EventPublisher;
use order_core::store::DynamoStore;

/// The order event an INSERT record carries, if it is an event item.
pub fn event_of(record: &EventRecord) -> Option<Result<Event, String>> {
    let image = serde_json::to_value(&record.change.new_image).ok()?;
    DynamoStore::streamed_event(&record.event_name, &image)
}

fn failure(record: &EventRecord) -> DynamoDbBatchItemFailure {
    let mut failure = DynamoDbBatchItemFailure::default();
    failure.item_identifier = record.change.sequence_number.clone();
    failure
}

/// Publishes the batch's events; reports the records that failed.
pub async fn handle(publisher: &dyn EventPublisher, batch: StreamEvent) -> DynamoDbEventResponse {
    let mut events = Vec::new();
    let mut sources = Vec::new();
    let mut response = DynamoDbEventResponse::default();
    for record in &batch.records {
        match event_of(record) {
            None => {}
            Some(Ok(event)) => {
                sources.push((event.event_id.clone(), record));
                events.push(event);
            }
            Some(Err(e)) => {
                tracing::error!(error = %e, sequence = ?record.change.sequence_number, "unreadable event item");
                response.batch_item_failures.push(failure(record));
            }
        }
    }
    if let Err(e) = publisher.publish(&events).await {
        tracing::error!(error = %e, failed = e.failed.len(), "publishing failed");
        for (event_id, record) in &sources {
            if e.failed.contains(event_id) {
                response.batch_item_failures.push(failure(record));
            }
        }
    }
    metrics::count(
        Metric::PublishFailures,
        "publisher",
        response.batch_item_failures.len(),
    );
    tracing::info!(
        published = events.len() - response.batch_item_failures.len().min(events.len()),
        failed = response.batch_item_failures.len(),
        "batch done"
    );
    response
}
