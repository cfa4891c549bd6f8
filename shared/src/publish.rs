//! The EventBridge adapter of `EventPublisher`: `PutEvents` in batches of ten
//! (the API's limit), entries that failed retried with backoff, and what
//! still failed reported by event id so the caller can retry just those.

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_eventbridge::error::DisplayErrorContext;
use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use aws_sdk_eventbridge::Client;

use crate::bus;
use crate::order::Event;
use crate::ports::{EventPublisher, PublishError};

const BATCH: usize = 10;
const ATTEMPTS: u32 = 3;

pub struct EventBridgePublisher {
    client: Client,
    bus_name: String,
}

impl EventBridgePublisher {
    pub fn new(client: Client, bus_name: impl Into<String>) -> Self {
        EventBridgePublisher {
            client,
            bus_name: bus_name.into(),
        }
    }

    fn entry(&self, event: &Event) -> PutEventsRequestEntry {
        let entry = bus::entry(event);
        PutEventsRequestEntry::builder()
            .event_bus_name(&self.bus_name)
            .source(entry.source)
            .detail_type(entry.detail_type)
            .detail(entry.detail.to_string())
            .time(aws_sdk_eventbridge::primitives::DateTime::from_millis(
                event.occurred_at.timestamp_millis(),
            ))
            .resources(format!("order/{}", event.order_id))
            .build()
    }

    /// Sends one batch; returns the events EventBridge did not accept.
    async fn put<'a>(&self, batch: Vec<&'a Event>) -> Vec<&'a Event> {
        let entries = batch.iter().map(|e| self.entry(e)).collect();
        match self.client.put_events().set_entries(Some(entries)).send().await {
            Ok(out) if out.failed_entry_count() == 0 => Vec::new(),
            // Results line up with the entries; a failed one has an error code.
            Ok(out) => batch
                .into_iter()
                .zip(out.entries())
                .filter(|(_, r)| r.error_code().is_some())
                .map(|(e, r)| {
                    tracing::warn!(event_id = %e.event_id, code = ?r.error_code(), "entry not accepted");
                    e
                })
                .collect(),
            Err(err) => {
                tracing::warn!(error = %DisplayErrorContext(&err), "PutEvents failed");
                batch
            }
        }
    }
}

#[async_trait]
impl EventPublisher for EventBridgePublisher {
    async fn publish(&self, events: &[Event]) -> Result<(), PublishError> {
        let mut pending: Vec<&Event> = events.iter().collect();
        for attempt in 0..ATTEMPTS {
            if attempt > 0 {
                tokio::time::sleep(Duration::from_millis(100 << attempt)).await;
            }
            let mut failed = Vec::new();
            for batch in pending.chunks(BATCH) {
                failed.extend(self.put(batch.to_vec()).await);
            }
            if failed.is_empty() {
                return Ok(());
            }
            pending = failed;
        }
        Err(PublishError {
            message: format!("{} events not accepted by EventBridge", pending.len()),
            failed: pending.iter().map(|e| e.event_id.clone()).collect(),
        })
    }
}
