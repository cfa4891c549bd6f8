//! Packages of an order. Tracking codes are not unique across time (carriers
//! recycle them), so a shipment is identified by its own id, never by its code.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The canonical shipment statuses every carrier vocabulary maps onto.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ShipmentStatus {
    TrackingPending,
    LabelCreated,
    InTransit,
    Delayed,
    OutForDelivery,
    DeliveryAttempted,
    ReadyForPickup,
    ActionRequired,
    Delivered,
    Returning,
    Returned,
    Failed,
    Cancelled,
    Stale,
}

/// The tracking details staff (or a carrier) give when a package leaves.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrackingInput {
    pub carrier: String,
    pub code: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shipment {
    pub shipment_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub carrier: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracking_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracking_url: Option<String>,
    pub status: ShipmentStatus,
    /// The carrier's own status code, kept verbatim.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw_status: Option<String>,
    /// The carrier's own words for the latest scan.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub estimated_delivery: Option<DateTime<Utc>>,
    /// When the package was first recorded.
    pub created_at: DateTime<Utc>,
    /// When the carrier last scanned it (per the carrier); none before the first scan.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_scan_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
}

impl ShipmentStatus {
    /// Problems staff should hear about.
    pub fn is_exception(self) -> bool {
        matches!(
            self,
            ShipmentStatus::DeliveryAttempted
                | ShipmentStatus::ActionRequired
                | ShipmentStatus::Failed
                | ShipmentStatus::Returning
                | ShipmentStatus::Returned
        )
    }

    /// The order state this package, on its own, has reached.
    pub fn order_state(self) -> Option<&'static str> {
        match self {
            ShipmentStatus::TrackingPending | ShipmentStatus::LabelCreated => Some("shipped"),
            ShipmentStatus::InTransit
            | ShipmentStatus::Delayed
            | ShipmentStatus::DeliveryAttempted
            | ShipmentStatus::ReadyForPickup
            | ShipmentStatus::ActionRequired => Some("in_transit"),
            ShipmentStatus::OutForDelivery => Some("out_for_delivery"),
            ShipmentStatus::Delivered => Some("delivered"),
            ShipmentStatus::Returned => Some("returned"),
            ShipmentStatus::Returning
            | ShipmentStatus::Failed
            | ShipmentStatus::Cancelled
            | ShipmentStatus::Stale => None,
        }
    }
}

impl Shipment {
    pub fn new(id: String, tracking: Option<&TrackingInput>, at: DateTime<Utc>) -> Self {
        Shipment {
            shipment_id: id,
            carrier: tracking.map(|t| t.carrier.clone()),
            tracking_code: tracking.map(|t| t.code.clone()),
            tracking_url: tracking.and_then(|t| t.url.clone()),
            status: if tracking.is_some() {
                ShipmentStatus::LabelCreated
            } else {
                ShipmentStatus::TrackingPending
            },
            raw_status: None,
            message: None,
            location: None,
            estimated_delivery: None,
            last_scan_at: None,
            created_at: at,
            updated_at: at,
        }
    }
}
