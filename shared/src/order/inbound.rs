//! Facts from outside providers (carriers, payment gateways, delivery
//! partners), already verified and translated into our vocabulary by the
//! webhook adapters. The service turns each into events on an order.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::lifecycle::ShipmentStatus;

/// One provider event, in our terms.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case", tag = "by")]
pub enum Subject {
    Order { order_id: String },
    Tracking { code: String },
}

impl Subject {
    /// The key under which a fact for an unknown order waits to be matched:
    /// scoped to the tenant whose provider account sent it, so a fact can only
    /// ever be matched to that tenant's orders.
    pub fn key(&self, tenant: &str) -> String {
        match self {
            Subject::Order { order_id } => format!("{tenant}|order:{order_id}"),
            Subject::Tracking { code } => {
                format!("{tenant}|tracking:{}", normalise_tracking(code))
            }
        }
    }
}

/// A tracking code a command attaches to one of the order's packages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrackingCode {
    /// Normalised ([`normalise_tracking`]).
    pub code: String,
    pub carrier: Option<String>,
}

/// Where a tenant's tracking code leads: one entry per order that used it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrackingLink {
    pub order_id: String,
    pub carrier: Option<String>,
    /// When the code was attached to the order.
    pub attached_at: DateTime<Utc>,
}

/// Carriers recycle tracking codes: news dated this long after an order that
/// used the code was finished belongs to a newer shipment, never to it.
pub const RECYCLED_AFTER: chrono::Duration = chrono::Duration::days(30);

/// The order a carrier fact about a code should go to first: a link whose
/// carrier agrees with the fact's (or is unknown) before one that names
/// another carrier, then the most recently attached — a recycled code's
/// newest shipment is the live one.
pub fn rank_links(mut links: Vec<TrackingLink>, carrier: Option<&str>) -> Vec<TrackingLink> {
    let carrier = carrier.map(carrier_key);
    links.sort_by_key(|link| {
        let disagrees = match (&carrier, &link.carrier) {
            (Some(fact), Some(linked)) => *fact != carrier_key(linked),
            _ => false,
        };
        (disagrees, std::cmp::Reverse(link.attached_at))
    });
    links
}

/// "UPS", "ups" and "U.P.S." name the same carrier.
fn carrier_key(name: &str) -> String {
    name.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// Tracking codes are compared without spaces, hyphens and case: carriers
/// print `AB-123 456-GB` and send `ab123456gb`.
pub fn normalise_tracking(code: &str) -> String {
    code.chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .flat_map(char::to_uppercase)
        .collect()
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case", tag = "type")]
pub enum InboundFact {
    /// A carrier's news about one package.
    Shipment(ShipmentNews),
    Payment(PaymentNews),
    Delivery(DeliveryNews),
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum PaymentKind {
    Succeeded,
    Failed,
    /// The provider gave up on the payment (no more retries).
    Canceled,
    Refunded,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GeoPoint {
    pub lat: f64,
    pub lng: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accuracy_m: Option<f64>,
    pub at: DateTime<Utc>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn link(order_id: &str, carrier: Option<&str>, day: u32) -> TrackingLink {
        TrackingLink {
            order_id: order_id.into(),
            carrier: carrier.map(Into::into),
            attached_at: Utc.with_ymd_and_hms(2026, 3, day, 12, 0, 0).unwrap(),
        }
    }

    fn ids(links: Vec<TrackingLink>) -> Vec<String> {
        links.into_iter().map(|l| l.order_id).collect()
    }

    #[test]
    fn the_newest_shipment_of_a_recycled_code_comes_first() {
        let links = vec![link("old", Some("UPS"), 1), link("new", Some("UPS"), 9)];
        assert_eq!(ids(rank_links(links, Some("UPS"))), ["new", "old"]);
    }

    #[test]
    fn a_shipment_of_the_facts_carrier_comes_before_another_carriers() {
        let links = vec![
            link("usps", Some("USPS"), 9),
            link("ups", Some("U.P.S."), 1),
            link("unknown", None, 5),
        ];
        assert_eq!(
            ids(rank_links(links.clone(), Some("ups"))),
            ["unknown", "ups", "usps"]
        );
        // A fact that names no carrier goes by recency alone.
        assert_eq!(ids(rank_links(links, None)), ["usps", "unknown", "ups"]);
    }

    #[test]
    fn waiting_facts_are_kept_per_tenant() {
        let subject = Subject::Tracking {
            code: "1z 99-9".into(),
        };
        assert_eq!(subject.key("acme"), "acme|tracking:1Z999");
        assert_ne!(subject.key("acme"), subject.key("globex"));
    }
}
