//! Telling people, on AWS. An EventBridge rule puts every order event on
//! the notifier's queue; this function takes each and
//!
//! - opens a delivery to every merchant endpoint of the tenant that wants
//!   it and attempts it at once. A failed attempt puts a retry on the same
//!   queue, delayed until the schedule says (SQS delays a message at most
//!   15 minutes, so a longer wait is a chain of them, each checking the
//!   delivery's own `next_at`);
//! - for news to a customer, waits out the tenant's collapse window (a
//!   delayed message again), then decides, sends (SES, SNS) and records
//!   what the customer was told.
//!
//! What could not be handled — the table, the queue or a provider did not
//! answer — is reported as a batch item failure, so SQS hands that message
//! back later; after five tries the dead-letter queue keeps it.

pub mod outbound;
pub mod queue;

use std::sync::Arc;
use std::time::Duration;

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};
use order_core::bus::Envelope;
use order_core::merchant::Delivery;
use order_core::service::{Merchants, Notifications, ServiceError};
use serde::{Deserialize, Serialize};

/// What a message on the deliveries queue asks for.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum Message {
    /// An event as the EventBridge rule delivers it.
    Event {
        #[serde(rename = "detail-type")]
        detail_type: String,
        detail: serde_json::Value,
    },
    /// The next attempt of a delivery, when it is due.
    Retry { retry: Retry },
    /// An event's customer notifications, once its collapse window passed.
    Notify { notify: Notify },
}

/// Which event's customer notifications to decide.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Notify {
    pub order_id: String,
    pub event_id: String,
}

/// Which delivery to try again.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Retry {
    pub tenant: String,
    pub endpoint_id: String,
    pub delivery_id: String,
}

/// Puts a message back on the queue, to be received after `delay`.
#[async_trait::async_trait]
pub trait Later: Send + Sync {
    async fn later(&self, message: serde_json::Value, delay: Duration) -> Result<(), String>;
}

/// The detail-types that may be news to a customer.
const NEWS: [&str; 4] = [
    "OrderPlaced",
    "OrderStatusChanged",
    "LateFactRecorded",
    "ShipmentUpdated",
];

pub struct Notifier {
    pub merchants: Arc<Merchants>,
    pub notifications: Arc<Notifications>,
    pub later: Arc<dyn Later>,
}

/// What went wrong with one message: worth retrying the message.
#[derive(Debug)]
struct Failed(String);

impl From<ServiceError> for Failed {
    fn from(e: ServiceError) -> Self {
        Failed(e.to_string())
    }
}

impl Notifier {
    pub async fn handle(&self, batch: SqsEvent) -> SqsBatchResponse {
        let mut response = SqsBatchResponse::default();
        for message in &batch.records {
            if let Err(Failed(e)) = self.message(message).await {
                tracing::warn!(message_id = ?message.message_id, error = %e, "message not handled; SQS hands it back");
                let mut failure = BatchItemFailure::default();
                failure.item_identifier = message.message_id.clone().unwrap_or_default();
                response.batch_item_failures.push(failure);
            }
        }
        response
    }

    async fn message(&self, message: &SqsMessage) -> Result<(), Failed> {
        let body = message.body.as_deref().unwrap_or_default();
        match serde_json::from_str(body) {
            Ok(Message::Event {
                detail_type,
                detail,
            }) => {
                // Not one of ours: nothing to deliver, nothing to retry.
                let Some(envelope) = Envelope::from_bus(&detail_type, detail) else {
                    tracing::warn!(%detail_type, "an event that is not an order event");
                    return Ok(());
                };
                for delivery in self.merchants.open(&envelope).await? {
                    self.attempt(delivery).await?;
                }
                if NEWS.contains(&detail_type.as_str()) {
                    self.customer(&envelope).await?;
                }
                Ok(())
            }
            Ok(Message::Retry { retry }) => self.retry(&retry).await,
            Ok(Message::Notify { notify }) => self.notify(&notify).await,
            Err(e) => {
                // Retrying will not make it readable; the log keeps it.
                tracing::error!(error = %e, "unreadable message dropped");
                Ok(())
            }
        }
    }

    /// A customer's news waits out its tenant's collapse window on the
    /// queue, then is decided.
    async fn customer(&self, envelope: &Envelope) -> Result<(), Failed> {
        let (Some(order_id), Some(recorded_at)) = (
            envelope.data["order_id"].as_str(),
            envelope.data["recorded_at"]
                .as_str()
                .and_then(|t| t.parse().ok()),
        ) else {
            return Ok(());
        };
        let notify = Notify {
            order_id: order_id.to_string(),
            event_id: envelope.id.clone(),
        };
        let due = self.notifications.due_at(envelope.tenant(), recorded_at);
        if due > self.notifications.now() {
            let delay = (due - self.notifications.now())
                .to_std()
                .unwrap_or_default();
            let message = serde_json::json!({ "notify": notify });
            return self.later.later(message, delay).await.map_err(Failed);
        }
        self.notify(&notify).await
    }

    async fn notify(&self, notify: &Notify) -> Result<(), Failed> {
        self.notifications
            .notify(&notify.order_id, &notify.event_id)
            .await?;
        Ok(())
    }

    /// A retry that is due is attempted; one that is early waits on the
    /// queue again; one whose delivery is settled is done.
    async fn retry(&self, retry: &Retry) -> Result<(), Failed> {
        let Some(delivery) = self
            .merchants
            .pending(&retry.tenant, &retry.endpoint_id, &retry.delivery_id)
            .await?
        else {
            return Ok(());
        };
        match delivery.next_at {
            Some(at) if at > self.merchants.now() => self.wait(retry, at).await,
            _ => self.attempt(delivery).await,
        }
    }

    async fn attempt(&self, delivery: Delivery) -> Result<(), Failed> {
        let delivery = self.merchants.attempt(delivery).await?;
        match delivery.next_at {
            Some(at) => {
                let retry = Retry {
                    tenant: delivery.tenant,
                    endpoint_id: delivery.endpoint_id,
                    delivery_id: delivery.id,
                };
                self.wait(&retry, at).await
            }
            None => Ok(()),
        }
    }

    async fn wait(
        &self,
        retry: &Retry,
        until: chrono::DateTime<chrono::Utc>,
    ) -> Result<(), Failed> {
        let delay = (until - self.merchants.now()).to_std().unwrap_or_default();
        let message = serde_json::json!({ "retry": retry });
        self.later.later(message, delay).await.map_err(Failed)
    }
}

/// The notifier the environment describes: the table (`TABLE_NAME`, through
/// the staff API's backends), its queue (`NOTIFIER_QUEUE_URL`), the address
/// emails come from (`NOTIFY_FROM_EMAIL`) and the tracking page's base URL
/// (`TRACKING_URL`).
pub async fn from_env() -> Result<Notifier, order_core::lambda::Error> {
    let var = |name: &'static str| std::env::var(name).map_err(|_| format!("{name} is not set"));
    let queue_url = var("NOTIFIER_QUEUE_URL")?;
    let backends = order_core::lambda::backends_from_env().await?;
    let config = match backends.sdk {
        Some(config) => config,
        None => order_core::aws::sdk_config().await,
    };
    let outbound = Arc::new(outbound::Aws {
        ses: aws_sdk_sesv2::Client::new(&config),
        sns: aws_sdk_sns::Client::new(&config),
        from_address: var("NOTIFY_FROM_EMAIL")?,
    });
    backends
        .merchants
        .tell_through(outbound.clone(), backends.service.tenants());
    let mut notifications = Notifications::new(
        backends.service,
        backends.claims,
        outbound,
        var("TRACKING_URL")?,
    );
    if let Some(links) = order_core::lambda::links_from_env() {
        notifications = notifications.with_links(links);
    }
    Ok(Notifier {
        merchants: backends.merchants,
        notifications: Arc::new(notifications),
        later: Arc::new(queue::Sqs::new(
            aws_sdk_sqs::Client::new(&config),
            queue_url,
        )),
    })
}
