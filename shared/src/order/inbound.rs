//! Facts from outside providers (carriers, payment gateways, delivery
//! partners), already verified and translated into our vocabulary by the
//! webhook adapters. The service turns each into events on an order.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::shipment::ShipmentStatus;

/// One provider event, in our terms.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Inbound {
    /// `carrier:easypost`, `payment:stripe`, `delivery:doordash`…
    pub source: String,
    /// The provider's own event id; a redelivery carries the same one.
    pub event_id: String,
    /// When it happened, per the provider.
    pub occurred_at: DateTime<Utc>,
    /// How to find the order it is about.
    pub subject: Subject,
    pub fact: InboundFact,
}

/// How a provider names the order: by our id (payments and delivery partners
/// carry it in metadata) or by a tracking code (carriers know nothing else).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "by")]
pub enum Subject {
    Order { order_id: String },
    Tracking { code: String },
}

impl Subject {
    /// The key under which a fact for an unknown order waits to be matched.
    pub fn key(&self) -> String {
        match self {
            Subject::Order { order_id } => format!("order:{order_id}"),
            Subject::Tracking { code } => format!("tracking:{}", normalise_tracking(code)),
        }
    }
}

/// Tracking codes are compared without spaces and case.
pub fn normalise_tracking(code: &str) -> String {
    code.chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_uppercase)
        .collect()
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type")]
pub enum InboundFact {
    /// A carrier's news about one package.
    Shipment(ShipmentNews),
    Payment(PaymentNews),
    Delivery(DeliveryNews),
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ShipmentNews {
    pub tracking_code: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub carrier: Option<String>,
    pub status: ShipmentStatus,
    /// The provider's own status code, verbatim (e.g. `InTransit_001`).
    pub raw_status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracking_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub estimated_delivery: Option<DateTime<Utc>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentKind {
    Succeeded,
    Failed,
    /// The provider gave up on the payment (no more retries).
    Canceled,
    Refunded,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PaymentNews {
    pub kind: PaymentKind,
    /// The provider's payment reference (a payment intent id).
    pub reference: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryKind {
    DriverAssigned,
    /// Only a position (and perhaps an ETA) changed.
    Location,
    PickedUp,
    Delivered,
    Failed,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Driver {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vehicle: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub photo_url: Option<String>,
    /// Kept for staff; never shown to the customer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GeoPoint {
    pub lat: f64,
    pub lng: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accuracy_m: Option<f64>,
    pub at: DateTime<Utc>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeliveryNews {
    pub kind: DeliveryKind,
    /// The partner's delivery id.
    pub reference: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub driver: Option<Driver>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<GeoPoint>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eta: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}
