//! The local stack's notifier: the bus every committed event passes on its
//! way out opens its merchant deliveries and queues its customer
//! notifications first (in the embedded store, so none is lost to a crash),
//! and a worker sends each when it is due — a delivery's first attempt at
//! once and its retries as the schedule says, a notification once its
//! collapse window has passed. On AWS, SQS holds both between their turns.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures_util::StreamExt;
use order_core::bus::Envelope;
use order_core::order::Event;
use order_core::ports::{Clock, EventPublisher, PublishError};
use order_core::relay::InProcessPublisher;
use order_core::service::{Merchants, Notifications};
use order_core::store::SqliteStore;
use tokio::sync::{watch, Notify};

/// How many deliveries or notifications are sent at once.
const IN_FLIGHT: usize = 16;
/// How many due ones one look takes.
const BATCH: usize = 64;
/// How often the worker looks when nothing wakes it (retries and collapse
/// windows fall due).
const LOOK_EVERY: Duration = Duration::from_millis(500);

/// The in-process bus, behind what each event brings merchants and customers.
pub struct LocalBus {
    pub in_process: Arc<InProcessPublisher>,
    pub merchants: Arc<Merchants>,
    pub notifications: Arc<Notifications>,
    pub store: Arc<SqliteStore>,
    /// Wakes the worker when something was opened or queued.
    pub wake: Arc<Notify>,
}

#[async_trait]
impl EventPublisher for LocalBus {
    /// Deliveries are opened and notifications queued before the event
    /// counts as published, so the relay tries again if they could not be.
    async fn publish(&self, events: &[Event]) -> Result<(), PublishError> {
        let failed = |e: &dyn std::fmt::Display| PublishError::all(events, e.to_string());
        // One read of each tenant's endpoints and one write of the
        // notifications for the whole batch: the relay must keep up with
        // the commits.
        let envelopes: Vec<Envelope> = events.iter().map(Envelope::of).collect();
        let opened = self.merchants.open_all(&envelopes).await;
        let opened = opened.map_err(|e| failed(&e))?.len();
        let due: Vec<_> = events
            .iter()
            .filter_map(|e| {
                let at = self.notifications.due(e)?;
                Some((e.order_id.clone(), e.event_id.clone(), at))
            })
            .collect();
        let queued = due.len();
        self.store
            .queue_notifications(due)
            .await
            .map_err(|e| failed(&e))?;
        if opened + queued > 0 {
            self.wake.notify_one();
        }
        self.in_process.publish(events).await
    }
}

/// Sends due deliveries and notifications until `stop` changes.
pub async fn work(bus: Arc<LocalBus>, clock: Arc<dyn Clock>, mut stop: watch::Receiver<bool>) {
    let mut forgot_at = clock.now();
    loop {
        let (deliveries, notifications) =
            tokio::join!(deliver(&bus, &*clock), notify(&bus, &*clock));
        if deliveries || notifications {
            continue;
        }
        // The log keeps 35 days; what is older goes, once an hour.
        if clock.now() - forgot_at > chrono::Duration::hours(1) {
            forgot_at = clock.now();
            let _ = bus.store.forget_old_deliveries(forgot_at).await;
        }
        tokio::select! {
            _ = bus.wake.notified() => {}
            _ = tokio::time::sleep(LOOK_EVERY) => {}
            _ = stop.changed() => return,
        }
    }
}

/// One batch of due deliveries; whether more may be due.
async fn deliver(bus: &LocalBus, clock: &dyn Clock) -> bool {
    let due = match bus.store.due_deliveries(clock.now(), BATCH).await {
        Ok(due) => due,
        Err(e) => {
            tracing::warn!(error = %e, "due deliveries unreadable; will look again");
            return false;
        }
    };
    let full = due.len() == BATCH;
    futures_util::stream::iter(due)
        .for_each_concurrent(IN_FLIGHT, |delivery| async move {
            let id = delivery.id.clone();
            if let Err(e) = bus.merchants.attempt(delivery).await {
                tracing::warn!(delivery_id = %id, error = %e, "delivery attempt not recorded");
            }
        })
        .await;
    full
}

/// One batch of due notifications; whether more may be due.
async fn notify(bus: &LocalBus, clock: &dyn Clock) -> bool {
    let due = match bus.store.due_notifications(clock.now(), BATCH).await {
        Ok(due) => due,
        Err(e) => {
            tracing::warn!(error = %e, "due notifications unreadable; will look again");
            return false;
        }
    };
    let full = due.len() == BATCH;
    futures_util::stream::iter(due)
        .for_each_concurrent(IN_FLIGHT, |(order_id, event_id)| async move {
            match bus.notifications.notify(&order_id, &event_id).await {
                Ok(_) => {
                    let _ = bus.store.notified(&order_id, &event_id).await;
                }
                Err(e) => tracing::warn!(%order_id, %event_id, error = %e, "notification not sent; will try again"),
            }
        })
        .await;
    full
}
