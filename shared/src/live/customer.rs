//! The customer's live stream: every event of one order the customer may
//! see, with the order's event sequence number as the message id.

use std::sync::Arc;

use async_trait::async_trait;
use serde::Serialize;

use crate::live::{Channel, ChannelName, Frame, News, Update};
use crate::order::{Disposition, Event, EventBody};
use crate::service::{OrderService, ServiceError, TrackedOrder};

/// How many events one read of a catch-up takes.
const PAGE: usize = 1000;

/// What a customer's stream says about one event: what kind of news, the
/// status it brought, when it happened. No internal id, no personal data.
#[derive(Clone, Debug, Serialize)]
pub struct CustomerUpdate {
    pub seq: u64,
    #[serde(rename = "type")]
    pub kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    pub occurred_at: chrono::DateTime<chrono::Utc>,
}

/// The customer-visible news in an event, if any (staff notes and flags are not).
pub fn customer_update(event: &Event) -> Option<CustomerUpdate> {
    let (kind, status) = match &event.body {
        EventBody::OrderPlaced(p) => ("placed", Some(p.status.clone())),
        EventBody::StatusFact(f) => match f.disposition {
            Disposition::Applied => ("status", Some(f.target.clone())),
            Disposition::Late => ("history", Some(f.target.clone())),
            _ => return None,
        },
        EventBody::ShipmentUpdated(_)
        | EventBody::TrackingAdded(_)
        | EventBody::TrackingCorrected { .. } => ("shipment", None),
        EventBody::DeliveryUpdated(_) => ("delivery", None),
        EventBody::PaymentRecorded(_) => ("payment", None),
        EventBody::FlagRaised { .. }
        | EventBody::FlagsCleared { .. }
        | EventBody::NoteAdded { .. }
        | EventBody::NotificationRecorded(_)
        | EventBody::Issue(_)
        | EventBody::LifecycleMigrated { .. }
        | EventBody::Dispatch(_) => return None,
        EventBody::NotifyPrefsSet(_) => ("preferences", None),
        EventBody::SubstitutionsProposed(_) | EventBody::SubstitutionsAnswered(_) => {
            ("substitutions", None)
        }
    };
    Some(CustomerUpdate {
        seq: event.seq,
        kind,
        status,
        occurred_at: event.occurred_at,
    })
}

/// The customer's message for an event, if it is customer news: the
/// event's sequence number as its id, the kind of news as its name.
pub fn customer_frame(event: &Event) -> Option<Frame> {
    let update = customer_update(event)?;
    Frame::json(&update.seq.to_string(), update.kind, &update)
}

/// One customer's order on the hub (`customer.<public_id>`).
pub struct CustomerChannel {
    service: Arc<OrderService>,
    public_id: String,
    order: TrackedOrder,
    /// The last sequence number the client has (its `Last-Event-ID` at first).
    sent: u64,
}

impl CustomerChannel {
    /// The stream of the order with this public id, for a client that has
    /// seen everything up to `last_event_id` (from the start without one).
    pub async fn open(
        service: Arc<OrderService>,
        public_id: &str,
        last_event_id: Option<u64>,
    ) -> Result<Self, ServiceError> {
        Ok(CustomerChannel {
            order: service.tracked_order(public_id).await?,
            public_id: public_id.to_string(),
            service,
            sent: last_event_id.unwrap_or(0),
        })
    }
}

#[async_trait]
impl Channel for CustomerChannel {
    fn name(&self) -> ChannelName {
        ChannelName::customer(&self.public_id)
    }

    async fn catch_up(&mut self) -> Option<Vec<Frame>> {
        let mut frames = Vec::new();
        loop {
            let events = self
                .service
                .tracked_events(&self.order, self.sent, PAGE)
                .await
                .ok()?;
            let more = events.len() == PAGE;
            for event in &events {
                self.sent = event.seq;
                frames.extend(customer_frame(event));
            }
            if !more {
                return Some(frames);
            }
        }
    }

    /// The channel carries every event of the order in sequence, the ones
    /// without customer news too; anything but the next one means the
    /// catch-up already sent it, or something is missing and the store has it.
    async fn news(&mut self, news: &News) -> Update {
        let seq = news.event().seq;
        if seq <= self.sent {
            return Update::Nothing;
        }
        if seq != self.sent + 1 {
            return Update::CatchUp;
        }
        self.sent = seq;
        match news.frame(|| async { customer_frame(news.event()) }).await {
            Some(frame) => Update::Send(frame.clone()),
            None => Update::Nothing,
        }
    }
}

// Over the embedded store, the one that runs in-process.
#[cfg(all(test, feature = "embedded"))]
mod tests {
    use std::time::Duration;

    use futures_util::StreamExt;
    use serde_json::json;

    use super::*;
    use crate::auth::{Principal, Role};
    use crate::lifecycle::Catalog;
    use crate::live::{respond, Live};
    use crate::ports::SystemClock;
    use crate::relay::{self, InProcessPublisher};
    use crate::service::TransitionRequest;
    use crate::store::SqliteStore;
    use crate::tenants::Tenants;

    /// The ids of the messages in `body` until none comes for `wait`, or
    /// the stream ends.
    async fn ids(body: &mut axum::body::BodyDataStream, wait: Duration) -> Vec<String> {
        let mut ids = Vec::new();
        while let Ok(Some(Ok(chunk))) = tokio::time::timeout(wait, body.next()).await {
            let text = String::from_utf8(chunk.to_vec()).unwrap();
            ids.extend(
                text.lines()
                    .filter_map(|l| l.strip_prefix("id: ").map(String::from)),
            );
        }
        ids
    }

    /// A pickup order on an in-memory store, and a manager to move it.
    struct Order {
        service: Arc<OrderService>,
        store: Arc<SqliteStore>,
        staff: Principal,
        id: String,
        public_id: String,
    }

    impl Order {
        async fn place() -> Order {
            let catalog = Arc::new(Catalog::presets());
            let store = Arc::new(SqliteStore::in_memory(catalog.clone()).unwrap());
            let service = Arc::new(OrderService::new(
                store.clone(),
                catalog,
                Arc::new(Tenants::default()),
                Arc::new(SystemClock),
            ));
            let staff = Principal {
                tenant: "acme".into(),
                role: Role::Manager,
                subject: "m".into(),
                stores: None,
            };
            let checkout = serde_json::from_value(json!({
                "customer_id": "c", "currency": "CAD", "fulfilment": "pickup",
                "items": [{ "sku": "A", "name": "Lamp", "unit_price": 100, "quantity": 1 }]
            }))
            .unwrap();
            let placed = service.place(&staff, checkout, None).await.unwrap().body;
            Order {
                id: placed["id"].as_str().unwrap().to_string(),
                public_id: placed["public_id"].as_str().unwrap().to_string(),
                service,
                store,
                staff,
            }
        }

        async fn move_to(&self, to: &str) {
            let request = TransitionRequest {
                to: to.into(),
                reason: None,
                tracking: None,
                expected_version: None,
            };
            self.service
                .transition(&self.staff, &self.id, request)
                .await
                .unwrap();
        }

        async fn note(&self, text: String) {
            self.service
                .add_note(&self.staff, &self.id, text)
                .await
                .unwrap();
        }

        /// Its live stream from the start, as a body to read.
        async fn stream(&self, live: &Live) -> axum::body::BodyDataStream {
            let channel = CustomerChannel::open(self.service.clone(), &self.public_id, None)
                .await
                .unwrap();
            respond(live, live.ends_at(None), channel)
                .into_body()
                .into_data_stream()
        }
    }

    #[tokio::test]
    async fn a_subscriber_that_falls_behind_its_channel_catches_up_from_the_store_and_loses_nothing(
    ) {
        let order = Order::place().await;
        let publisher = InProcessPublisher::new(false);
        let relay = || relay::drain(order.store.as_ref(), &publisher);
        let mut body = order.stream(&publisher.live()).await;
        let wait = Duration::from_millis(300);
        assert_eq!(ids(&mut body, wait).await, ["1"], "the story so far");

        // The client reads nothing while a move and then far more than the
        // channel's backlog (staff notes: no customer news) are published.
        order.move_to("accepted").await;
        for n in 0..40 {
            order.note(format!("note {n}")).await;
            relay().await.unwrap();
        }
        assert_eq!(
            ids(&mut body, wait).await,
            ["2"],
            "the move, from the store"
        );

        // And it follows the hub again from there.
        order.move_to("in_progress").await;
        relay().await.unwrap();
        assert_eq!(ids(&mut body, wait).await, ["43"]);
    }

    // The Lambda variant (README › Live updates): no shared feed.
    #[tokio::test]
    async fn without_a_hub_a_stream_polls_the_store_and_ends_with_its_budget() {
        let order = Order::place().await;
        let mut body = order
            .stream(&Live::polling(Duration::from_millis(2500)))
            .await;
        order.move_to("accepted").await;
        // Longer than the budget: only the stream's end stops the reading.
        let seen = ids(&mut body, Duration::from_secs(10)).await;
        assert_eq!(seen, ["1", "2"], "the story so far, then the move");
        let end = tokio::time::timeout(Duration::from_millis(100), body.next()).await;
        assert!(matches!(end, Ok(None)), "it ended");
    }
}
