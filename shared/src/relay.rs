//! Moving committed events from the outbox to a publisher, at least once.
//!
//! An event leaves the outbox only after the publisher accepted it, so a crash
//! between the two republishes it; consumers dedupe on the event id.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::{watch, Notify};

use crate::bus;
use crate::live::{Hub, Live};
use crate::order::Event;
use crate::ports::{EventPublisher, Outbox, PublishError};

const BATCH: usize = 100;

/// Drains everything pending once; returns how many events were published.
pub async fn drain(
    outbox: &dyn Outbox,
    publisher: &dyn EventPublisher,
) -> Result<usize, PublishError> {
    let mut total = 0;
    loop {
        let batch = outbox
            .pending(BATCH)
            .await
            .map_err(|e| PublishError::all(&[], e.to_string()))?;
        if batch.is_empty() {
            return Ok(total);
        }
        publisher.publish(&batch).await?;
        let ids: Vec<String> = batch.iter().map(|e| e.event_id.clone()).collect();
        outbox
            .acknowledge(&ids)
            .await
            .map_err(|e| PublishError::all(&batch, e.to_string()))?;
        total += batch.len();
    }
}

/// Relays until `stop` changes (or its sender is dropped): woken by `wake`
/// after each commit, and every `interval` regardless, so nothing waits for
/// long if a wake is missed.
pub async fn run(
    outbox: Arc<dyn Outbox>,
    publisher: Arc<dyn EventPublisher>,
    wake: Arc<Notify>,
    interval: Duration,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        if let Err(e) = drain(outbox.as_ref(), publisher.as_ref()).await {
            tracing::warn!(error = %e, "publishing failed; will retry");
        }
        tokio::select! {
            _ = wake.notified() => {}
            _ = tokio::time::sleep(interval) => {}
            _ = stop.changed() => {
                let _ = drain(outbox.as_ref(), publisher.as_ref()).await;
                return;
            }
        }
    }
}

/// The local stack's publisher: logs each event as the EventBridge entry it
/// would be, and hands it to the live channels' hub (the customer's and the
/// tenant's streams).
pub struct InProcessPublisher {
    hub: Arc<Hub>,
    published: AtomicU64,
    print: bool,
}

impl InProcessPublisher {
    pub fn new(print: bool) -> Self {
        InProcessPublisher {
            hub: Arc::default(),
            published: AtomicU64::new(0),
            print,
        }
    }

    /// How many events it has published since it started.
    pub fn published(&self) -> u64 {
        self.published.load(Ordering::Relaxed)
    }

    /// The feed live streams subscribe to.
    pub fn live(&self) -> Live {
        Live::in_process(self.hub.clone())
    }
}

#[async_trait]
impl EventPublisher for InProcessPublisher {
    async fn publish(&self, events: &[Event]) -> Result<(), PublishError> {
        for event in events {
            // The entry is built only for a log that will show it.
            if self.print && tracing::enabled!(target: "eventbridge", tracing::Level::INFO) {
                let entry = bus::entry(event);
                tracing::info!(
                    target: "eventbridge",
                    detail_type = %entry.detail_type,
                    order_id = %event.order_id,
                    event_id = %event.event_id,
                    entry = %serde_json::to_string(&entry).unwrap_or_default(),
                    "published"
                );
            }
            self.hub.publish(event);
        }
        self.published
            .fetch_add(events.len() as u64, Ordering::Relaxed);
        Ok(())
    }
}
