//! The fan-out: the table's stream of committed events → the WebSocket
//! connections of their channels.
//!
//! Each event goes to its order's customer channel (`customer.<public_id>`,
//! the customer-safe update only, with the order's sequence number as id)
//! and each order that changed to its tenant's store channel
//! (`store.<tenant>`, its summary as it stands, read once per batch and only
//! if some board follows the tenant). Every message is the one the local
//! stack sends on that channel, with the same id.
//!
//! Delivery is at least once and never waits on a stranger: connections are
//! served concurrently (a bounded number at a time), each one's messages in
//! order. A gone connection is forgotten; one that cannot take a message is
//! closed, so its client reconnects with its last id and catches up, rather
//! than silently missing news. A batch is retried only for what the table
//! could not answer (the channels' connections, an order's summary), and a
//! retry's repeats carry ids clients already have.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use aws_lambda_events::dynamodb::{Event as StreamEvent, EventRecord};
use aws_lambda_events::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use futures_util::StreamExt;
use order_core::auth::{Principal, Role};
use order_core::live::{customer_frame, store_frame, ChannelName, Frame};
use order_core::order::Event;
use order_core::ports::{Clock, Connections, Push, PushError};
use order_core::service::OrderService;
use order_core::store::DynamoStore;

/// How many connections are sent to at once.
const IN_FLIGHT: usize = 64;

pub struct Fanout {
    pub service: Arc<OrderService>,
    pub connections: Arc<dyn Connections>,
    pub push: Arc<dyn Push>,
    pub clock: Arc<dyn Clock>,
}

/// What one batch did, for the log and the tests.
#[derive(Debug, Default, PartialEq)]
pub struct Delivered {
    pub sent: usize,
    pub gone: usize,
    pub closed: usize,
}

/// One message bound for a channel, and the record it came from.
struct Message {
    channel: String,
    frame: Frame,
    record: usize,
}

impl Fanout {
    /// Sends the batch's events to their channels; reports the records the
    /// table could not serve, for Lambda to retry.
    pub async fn handle(&self, batch: &StreamEvent) -> (DynamoDbEventResponse, Delivered) {
        let mut failed = Vec::new();
        let events = events(&batch.records, &mut failed);
        let mut followers = Followers::default();
        let mut messages = Vec::new();
        // The customers' news, event by event.
        for (record, event) in &events {
            let channel = ChannelName::customer(&event.public_id).to_string();
            if let Some(frame) = customer_frame(event) {
                messages.push(Message {
                    channel,
                    frame,
                    record: *record,
                });
            }
        }
        // The boards' rows, once per order, where its last event was.
        let mut last_of_order = BTreeMap::new();
        for (record, event) in &events {
            last_of_order.insert(&event.order_id, (*record, event));
        }
        let mut orders: Vec<_> = last_of_order.into_values().collect();
        orders.sort_by_key(|(record, _)| *record);
        for (record, event) in orders {
            // The tenant's boards and the order's store's.
            let mut followed = Vec::new();
            let mut unreadable = false;
            for store in [None, Some(event.store.as_str())] {
                let channel = ChannelName::store(&event.tenant, store).to_string();
                match followers.of(self, &channel).await {
                    Ok(ids) if ids.is_empty() => {}
                    Ok(_) => followed.push(channel),
                    Err(()) => unreadable = true,
                }
            }
            if unreadable {
                failed.push(record);
                continue;
            }
            if followed.is_empty() {
                continue;
            }
            match self.summary(event).await {
                Some(frame) => messages.extend(followed.into_iter().map(|channel| Message {
                    channel,
                    frame: frame.clone(),
                    record,
                })),
                None => failed.push(record),
            }
        }
        // Each connection's messages, in order.
        let mut outbox: HashMap<String, Vec<Frame>> = HashMap::new();
        for message in messages {
            match followers.of(self, &message.channel).await {
                Ok(ids) => {
                    for id in ids.iter() {
                        outbox
                            .entry(id.clone())
                            .or_default()
                            .push(message.frame.clone());
                    }
                }
                Err(()) => failed.push(message.record),
            }
        }
        let delivered = self.deliver(outbox).await;
        let mut response = DynamoDbEventResponse::default();
        failed.sort_unstable();
        failed.dedup();
        for record in failed {
            let mut failure = DynamoDbBatchItemFailure::default();
            failure.item_identifier = batch.records[record].change.sequence_number.clone();
            response.batch_item_failures.push(failure);
        }
        tracing::info!(
            events = events.len(),
            sent = delivered.sent,
            gone = delivered.gone,
            closed = delivered.closed,
            failed = response.batch_item_failures.len(),
            "fan-out done"
        );
        (response, delivered)
    }

    /// The order's row on its tenant's boards, as it stands now.
    async fn summary(&self, event: &Event) -> Option<Frame> {
        let reader = Principal {
            tenant: event.tenant.clone(),
            role: Role::Staff,
            subject: "live-fanout".into(),
            stores: None,
        };
        match self.service.summary(&reader, &event.order_id).await {
            Ok(summary) => store_frame(&summary),
            Err(e) => {
                tracing::warn!(order_id = %event.order_id, error = %e, "no summary");
                None
            }
        }
    }

    async fn deliver(&self, outbox: HashMap<String, Vec<Frame>>) -> Delivered {
        let outcomes: Vec<_> = futures_util::stream::iter(outbox)
            .map(|(id, frames)| async move { self.send_all(&id, &frames).await })
            .buffer_unordered(IN_FLIGHT)
            .collect()
            .await;
        let mut delivered = Delivered::default();
        for (sent, end) in outcomes {
            delivered.sent += sent;
            match end {
                Some(PushError::Gone) => delivered.gone += 1,
                Some(PushError::Failed(_)) => delivered.closed += 1,
                None => {}
            }
        }
        delivered
    }

    /// Sends one connection its messages in order; how many went, and why
    /// it stopped early.
    async fn send_all(&self, id: &str, frames: &[Frame]) -> (usize, Option<PushError>) {
        for (n, frame) in frames.iter().enumerate() {
            match self.push.send(id, frame.text()).await {
                Ok(()) => {}
                Err(PushError::Gone) => {
                    self.forget(id).await;
                    return (n, Some(PushError::Gone));
                }
                Err(PushError::Failed(e)) => {
                    tracing::warn!(connection_id = %id, error = %e, "closing a connection that missed a message");
                    // Gone or not, it is closed: its client comes back and catches up.
                    let _ = self.push.disconnect(id).await;
                    self.forget(id).await;
                    return (n, Some(PushError::Failed(e)));
                }
            }
        }
        (frames.len(), None)
    }

    async fn forget(&self, id: &str) {
        if let Err(e) = self.connections.close(id).await {
            // Its entry expires anyway; until then each send finds it gone.
            tracing::warn!(connection_id = %id, error = %e, "could not forget a connection");
        }
    }
}

/// The batch's order events, by record index; an event item that does not
/// decode is a failure (it never will decode, but the DLQ keeps it).
fn events(records: &[EventRecord], failed: &mut Vec<usize>) -> Vec<(usize, Event)> {
    let mut events = Vec::new();
    for (n, record) in records.iter().enumerate() {
        let Ok(image) = serde_json::to_value(&record.change.new_image) else {
            continue;
        };
        match DynamoStore::streamed_event(&record.event_name, &image) {
            None => {}
            Some(Ok(event)) => events.push((n, event)),
            Some(Err(e)) => {
                tracing::error!(error = %e, "unreadable event item");
                failed.push(n);
            }
        }
    }
    events
}

/// Each channel's connections, read once per batch.
#[derive(Default)]
struct Followers(HashMap<String, Option<Arc<Vec<String>>>>);

impl Followers {
    async fn of(&mut self, fanout: &Fanout, channel: &str) -> Result<Arc<Vec<String>>, ()> {
        if let Some(known) = self.0.get(channel) {
            return known.clone().ok_or(());
        }
        let found = match fanout
            .connections
            .following(channel, fanout.clock.now())
            .await
        {
            Ok(ids) => Some(Arc::new(ids)),
            Err(e) => {
                tracing::warn!(%channel, error = %e, "connections unreadable");
                None
            }
        };
        self.0.insert(channel.to_string(), found.clone());
        found.ok_or(())
    }
}
