//! One event on its way to one endpoint, and every attempt to get it there.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::endpoint::Endpoint;
use super::schedule;
use crate::bus::Envelope;

/// How long a delivery and its attempts are kept (the log's retention).
pub const KEPT_FOR: Duration = Duration::days(35);

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    /// Waiting for its next attempt.
    Pending,
    /// The endpoint answered 2xx.
    Delivered,
    /// Every attempt failed.
    Failed,
}

/// One POST and what came of it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Attempt {
    pub at: DateTime<Utc>,
    /// The endpoint's status code; none if no answer came (refused,
    /// unreachable, timed out).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    pub latency_ms: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Attempt {
    pub fn succeeded(&self) -> bool {
        matches!(self.status, Some(200..=299))
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Delivery {
    /// The same for the same event (among an endpoint's deliveries), so an
    /// event that reaches us twice is delivered once.
    pub id: String,
    pub tenant: String,
    pub endpoint_id: String,
    pub event_id: String,
    pub event_type: String,
    /// The body POSTed, the same bytes every attempt (so is its signature's).
    pub payload: String,
    pub created_at: DateTime<Utc>,
    pub state: DeliveryState,
    /// When the next attempt is due, while pending.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_at: Option<DateTime<Utc>>,
    pub attempts: Vec<Attempt>,
}

impl Delivery {
    /// `envelope` for `endpoint`, due now. Its id is the event's, so it
    /// sorts by time among the endpoint's deliveries.
    pub fn new(endpoint: &Endpoint, envelope: &Envelope, now: DateTime<Utc>) -> Delivery {
        let event = envelope.id.strip_prefix("evt_").unwrap_or(&envelope.id);
        Delivery {
            id: format!("dlv_{event}"),
            tenant: endpoint.tenant.clone(),
            endpoint_id: endpoint.id.clone(),
            event_id: envelope.id.clone(),
            event_type: envelope.detail_type.clone(),
            payload: serde_json::to_string(envelope).unwrap_or_default(),
            created_at: now,
            state: DeliveryState::Pending,
            next_at: Some(now),
            attempts: Vec::new(),
        }
    }

    /// Adds an attempt: delivered on a 2xx; otherwise due again as the
    /// schedule says, or failed once its attempts are spent. A manual
    /// redelivery of a finished delivery is one more attempt, outside the
    /// schedule: it only delivers or stays as it was.
    pub fn record(&mut self, attempt: Attempt, jitter: f64) {
        let at = attempt.at;
        let succeeded = attempt.succeeded();
        self.attempts.push(attempt);
        if succeeded {
            self.state = DeliveryState::Delivered;
            self.next_at = None;
        } else if self.state == DeliveryState::Pending {
            self.next_at = schedule::next_attempt(self.attempts.len(), at, jitter);
            if self.next_at.is_none() {
                self.state = DeliveryState::Failed;
            }
        }
    }

    /// When the log forgets it.
    pub fn expires_at(&self) -> DateTime<Utc> {
        self.created_at + KEPT_FOR
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merchant::endpoint::{NewEndpoint, UrlPolicy};

    fn endpoint() -> Endpoint {
        let new = NewEndpoint {
            url: "https://shop.example.com/".into(),
            events: vec!["*".into()],
        };
        Endpoint::register("acme", new, UrlPolicy::default(), Utc::now()).unwrap()
    }

    fn delivery() -> Delivery {
        let endpoint = endpoint();
        let envelope = Envelope {
            id: "evt_1".into(),
            detail_type: "OrderPlaced".into(),
            data: serde_json::json!({"tenant": "acme", "event_id": "evt_1", "seq": 1}),
        };
        Delivery::new(&endpoint, &envelope, Utc::now())
    }

    fn attempt(status: Option<u16>) -> Attempt {
        Attempt {
            at: Utc::now(),
            status,
            latency_ms: 3,
            error: None,
        }
    }

    #[test]
    fn a_delivery_is_retried_on_schedule_until_delivered_or_spent() {
        let mut d = delivery();
        d.record(attempt(Some(500)), 0.5);
        assert_eq!(d.state, DeliveryState::Pending);
        assert!(d.next_at.unwrap() > Utc::now());
        d.record(attempt(Some(204)), 0.5);
        assert_eq!((d.state, d.next_at), (DeliveryState::Delivered, None));

        let mut spent = delivery();
        for _ in 0..schedule::ATTEMPTS {
            spent.record(attempt(None), 0.5);
        }
        assert_eq!((spent.state, spent.next_at), (DeliveryState::Failed, None));
        // A manual redelivery that fails leaves it failed; one that works delivers it.
        spent.record(attempt(Some(503)), 0.5);
        assert_eq!(spent.state, DeliveryState::Failed);
        spent.record(attempt(Some(200)), 0.5);
        assert_eq!(spent.state, DeliveryState::Delivered);
    }

    #[test]
    fn the_same_event_is_the_same_delivery() {
        let d = delivery();
        let envelope: Envelope = serde_json::from_str(&d.payload).unwrap();
        let same = Endpoint {
            id: d.endpoint_id.clone(),
            ..endpoint()
        };
        assert_eq!(Delivery::new(&same, &envelope, Utc::now()).id, d.id);
        assert_eq!(d.id, "dlv_1");
    }
}
