//! The parts a state can play that code acts on.
//!
//! Lifecycles are data, so code never names a state: a payment success
//! moves the order to whichever state plays [`StateRole::Paid`] in its
//! lifecycle, a customer answers substitutions only while the order is in
//! the state playing [`StateRole::AwaitingSubstitutions`], and so on. A
//! definition declares its roles beside its states (`"roles": {"paid":
//! "confirmed", …}`); a lifecycle that gives a role to no state simply lacks
//! that behaviour (a payment success on it is recorded and moves nothing).
//!
//! (Not to be confused with `auth::Role`, the part a person plays.)

use std::fmt;

use serde::{Deserialize, Serialize};

use super::vocabulary::ShipmentStatus;

/// A part a state plays, named in a definition's `roles`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum StateRole {
    /// Where a successful payment moves the order.
    Paid,
    /// Where an unpaid order ends when its payment is cancelled or fails for
    /// the last time. Must be terminal.
    Cancelled,
    /// The success ending the SLA report measures delivery by. Must be
    /// terminal.
    Completed,
    /// The store has acknowledged the order; the SLA report measures the
    /// store's reaction by it.
    Acknowledged,
    /// The store proposed substitutions and waits for the customer's answer.
    AwaitingSubstitutions,
    /// Where the customer's approval of the substitutions moves the order.
    SubstitutionsApproved,
    /// Where the customer's rejection sends it (back to picking).
    SubstitutionsRejected,
    /// Packages have left: a package with a label (or waiting for its
    /// tracking code) puts the order here, and staff may add tracking codes
    /// once it has been reached.
    Shipped,
    /// Where a package in transit (or delayed, or with a failed attempt)
    /// puts the order.
    InTransit,
    /// Where a package out for delivery puts the order.
    OutForDelivery,
    /// Where a delivered package puts the order.
    Delivered,
    /// Where a package returned to the sender puts the order.
    Returned,
    /// Ready for a driver: entering it requests one from the tenant's
    /// delivery partners, when it has any.
    AwaitingDriver,
    /// Where a delivery partner's "driver assigned" moves the order.
    DriverAssigned,
    /// Where a delivery partner's "picked up" moves the order.
    DriverPickedUp,
    /// Where a delivery partner's "delivered" moves the order.
    DriverDelivered,
    /// Where a delivery partner's "delivery failed" moves the order.
    DriverFailed,
}

impl StateRole {
    pub const ALL: [StateRole; 17] = [
        StateRole::Paid,
        StateRole::Cancelled,
        StateRole::Completed,
        StateRole::Acknowledged,
        StateRole::AwaitingSubstitutions,
        StateRole::SubstitutionsApproved,
        StateRole::SubstitutionsRejected,
        StateRole::Shipped,
        StateRole::InTransit,
        StateRole::OutForDelivery,
        StateRole::Delivered,
        StateRole::Returned,
        StateRole::AwaitingDriver,
        StateRole::DriverAssigned,
        StateRole::DriverPickedUp,
        StateRole::DriverDelivered,
        StateRole::DriverFailed,
    ];

    /// Roles that end the order: the state playing one must be terminal.
    pub fn needs_terminal(self) -> bool {
        matches!(self, StateRole::Cancelled | StateRole::Completed)
    }

    /// The state name (or alias) decisions looked for before definitions
    /// declared roles: a definition without `roles` plays each role with
    /// the state this resolves to, so older lifecycle files keep working.
    pub fn implied_by(self) -> &'static str {
        match self {
            StateRole::Acknowledged => "store_acknowledged",
            StateRole::AwaitingSubstitutions => "substitutions_needed",
            StateRole::SubstitutionsRejected => "picking_in_progress",
            StateRole::DriverPickedUp => "picked_up",
            StateRole::AwaitingDriver => "ready_for_pickup",
            StateRole::DriverDelivered => "delivered",
            StateRole::DriverFailed => "failed",
            role => role.as_str(),
        }
    }

    /// The name a definition writes, as serde spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            StateRole::Paid => "paid",
            StateRole::Cancelled => "cancelled",
            StateRole::Completed => "completed",
            StateRole::Acknowledged => "acknowledged",
            StateRole::AwaitingSubstitutions => "awaiting_substitutions",
            StateRole::SubstitutionsApproved => "substitutions_approved",
            StateRole::SubstitutionsRejected => "substitutions_rejected",
            StateRole::Shipped => "shipped",
            StateRole::InTransit => "in_transit",
            StateRole::OutForDelivery => "out_for_delivery",
            StateRole::Delivered => "delivered",
            StateRole::Returned => "returned",
            StateRole::AwaitingDriver => "awaiting_driver",
            StateRole::DriverAssigned => "driver_assigned",
            StateRole::DriverPickedUp => "driver_picked_up",
            StateRole::DriverDelivered => "driver_delivered",
            StateRole::DriverFailed => "driver_failed",
        }
    }
}

impl fmt::Display for StateRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl ShipmentStatus {
    /// The role of the order state this package, on its own, has reached.
    /// A package on its way back, lost or abandoned says nothing about where
    /// the order is.
    pub fn role(self) -> Option<StateRole> {
        match self {
            ShipmentStatus::TrackingPending | ShipmentStatus::LabelCreated => {
                Some(StateRole::Shipped)
            }
            ShipmentStatus::InTransit
            | ShipmentStatus::Delayed
            | ShipmentStatus::DeliveryAttempted
            | ShipmentStatus::ReadyForPickup
            | ShipmentStatus::ActionRequired => Some(StateRole::InTransit),
            ShipmentStatus::OutForDelivery => Some(StateRole::OutForDelivery),
            ShipmentStatus::Delivered => Some(StateRole::Delivered),
            ShipmentStatus::Returned => Some(StateRole::Returned),
            ShipmentStatus::Returning
            | ShipmentStatus::Failed
            | ShipmentStatus::Cancelled
            | ShipmentStatus::Stale => None,
        }
    }
}
