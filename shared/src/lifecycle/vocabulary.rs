//! The words a lifecycle is written in: who drives a transition, the
//! conditions a transition may carry, and the canonical statuses of a
//! package.
//!
//! These sit at the bottom of the crate so that a definition can speak about
//! packages (a state's `shipment`, a package's role) without reaching up into
//! the order aggregate that stores them.

use serde::{Deserialize, Serialize};

/// Who (or what) drives a transition.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Actor {
    Customer,
    Staff,
    Manager,
    Owner,
    Payment,
    Carrier,
    Delivery,
    System,
}

impl Actor {
    /// Staff powers are inherited upwards: a manager may do what staff may,
    /// an owner what a manager may.
    pub(super) fn covered_by(self, actor: Actor) -> bool {
        match (self, actor) {
            (a, b) if a == b => true,
            (Actor::Staff, Actor::Manager | Actor::Owner) => true,
            (Actor::Manager, Actor::Owner) => true,
            _ => false,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Actor::Customer => "customer",
            Actor::Staff => "staff",
            Actor::Manager => "manager",
            Actor::Owner => "owner",
            Actor::Payment => "payment",
            Actor::Carrier => "carrier",
            Actor::Delivery => "delivery",
            Actor::System => "system",
        }
    }
}

/// A condition the order must meet before a transition is taken.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Guard {
    /// A tracking code is known, or the tenant lets orders ship with the
    /// tracking number pending instead of refusing (a per-tenant policy).
    TrackingCode,
}

/// The canonical shipment statuses every carrier vocabulary maps onto.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
}
