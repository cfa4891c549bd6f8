//! The local stack's merchant webhooks: the bus every committed event
//! passes on its way out opens its deliveries first (in the embedded store,
//! so none is lost to a crash), and a worker sends each delivery when it is
//! due — the first attempt at once, retries as the schedule says — a few
//! at a time. On AWS, SQS holds the deliveries between attempts instead.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures_util::StreamExt;
use order_core::bus::Envelope;
use order_core::order::Event;
use order_core::ports::{Clock, EventPublisher, PublishError};
use order_core::relay::InProcessPublisher;
use order_core::service::Merchants;
use order_core::store::SqliteStore;
use tokio::sync::{watch, Notify};

/// How many deliveries are sent at once.
const IN_FLIGHT: usize = 16;
/// How many due deliveries one look takes.
const BATCH: usize = 64;
/// How often the worker looks when nothing wakes it (retries fall due).
const LOOK_EVERY: Duration = Duration::from_secs(1);

/// The in-process bus, behind the deliveries each event opens.
pub struct LocalBus {
    pub in_process: Arc<InProcessPublisher>,
    pub merchants: Arc<Merchants>,
    /// Wakes the worker when deliveries were opened.
    pub opened: Arc<Notify>,
}

#[async_trait]
impl EventPublisher for LocalBus {
    /// Deliveries are opened before the event counts as published, so the
    /// relay tries again if they could not be.
    async fn publish(&self, events: &[Event]) -> Result<(), PublishError> {
        let mut opened = 0;
        for event in events {
            let envelope = Envelope::of(event);
            match self.merchants.open(&envelope).await {
                Ok(deliveries) => opened += deliveries.len(),
                Err(e) => return Err(PublishError::all(events, e.to_string())),
            }
        }
        if opened > 0 {
            self.opened.notify_one();
        }
        self.in_process.publish(events).await
    }
}

/// Sends due deliveries until `stop` changes.
pub async fn deliver(
    store: Arc<SqliteStore>,
    merchants: Arc<Merchants>,
    clock: Arc<dyn Clock>,
    opened: Arc<Notify>,
    mut stop: watch::Receiver<bool>,
) {
    let mut forgot_at = clock.now();
    loop {
        match store.due_deliveries(clock.now(), BATCH).await {
            Ok(due) => {
                let full = due.len() == BATCH;
                futures_util::stream::iter(due)
                    .for_each_concurrent(IN_FLIGHT, |delivery| {
                        let merchants = &merchants;
                        async move {
                            let id = delivery.id.clone();
                            if let Err(e) = merchants.attempt(delivery).await {
                                tracing::warn!(delivery_id = %id, error = %e, "delivery attempt not recorded");
                            }
                        }
                    })
                    .await;
                if full {
                    continue;
                }
            }
            Err(e) => tracing::warn!(error = %e, "due deliveries unreadable; will look again"),
        }
        // The log keeps 35 days; what is older goes, once an hour.
        if clock.now() - forgot_at > chrono::Duration::hours(1) {
            forgot_at = clock.now();
            let _ = store.forget_old_deliveries(forgot_at).await;
        }
        tokio::select! {
            _ = opened.notified() => {}
            _ = tokio::time::sleep(LOOK_EVERY) => {}
            _ = stop.changed() => return,
        }
    }
}
