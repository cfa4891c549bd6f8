//! What goes into a decision and what comes out: who asks, what they ask
//! for, the events and head a decision yields, and why one is refused.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::lifecycle::Actor;
use crate::order::event::{Disposition, Event};
use crate::order::head::Head;
use crate::order::inbound::TrackingCode;
use crate::order::shipment::TrackingInput;

/// Who issued a command, and through which channel.
#[derive(Clone, Debug, PartialEq)]
pub struct Origin {
    /// `staff`, `customer`, `system`, `carrier:<provider>`…
    pub source: String,
    pub actor_kind: Actor,
    pub actor: Option<String>,
    pub external_id: Option<String>,
}

/// What a status command asks for.
#[derive(Clone, Debug, PartialEq)]
pub struct StatusClaim {
    /// The requested status, in the lifecycle's or an outside vocabulary.
    pub to: String,
    pub occurred_at: DateTime<Utc>,
    pub reason: Option<String>,
    pub tracking: Option<TrackingInput>,
}

/// Everything a command adds, ready for one conditional write.
#[derive(Clone, Debug)]
pub struct Decision {
    /// The head the write expects to replace.
    pub expected_version: u64,
    pub head: Head,
    pub events: Vec<Event>,
    /// Facts to keep until the states they need have happened.
    pub park: Vec<Event>,
    /// Parked facts this command settled.
    pub unpark: Vec<ParkedKey>,
    /// The first status this command moves to, for the database-side check.
    pub first_move: Option<StatusMove>,
    /// How the command's own fact was placed.
    pub disposition: Disposition,
    /// Tracking codes the order gained, for carriers' facts to find it by.
    pub tracking_codes: Vec<TrackingCode>,
}

/// Identifies a stored parked fact.
#[derive(Clone, Debug, PartialEq)]
pub struct ParkedKey {
    pub event_id: String,
    pub occurred_at: DateTime<Utc>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct StatusMove {
    pub to: String,
    pub overriding: bool,
}

/// A move the caller may make next, for the staff API and board.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NextAction {
    pub to: String,
    pub label: String,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub requires_tracking: bool,
}

#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum Rejection {
    #[error("the order is at version {current}, not {expected}")]
    VersionConflict { expected: u64, current: u64 },
    #[error("{input} is not a status of the {lifecycle} lifecycle")]
    UnknownStatus { input: String, lifecycle: String },
    #[error("cannot move from {current} to {target}: {why}")]
    Illegal {
        current: String,
        target: String,
        why: String,
    },
    #[error("a tracking code is required to mark the order {target}")]
    TrackingRequired { target: String },
    #[error("an override needs a reason")]
    ReasonRequired,
    #[error("there is no review or exception flag to resolve")]
    NothingToResolve,
    #[error("no parked fact {0}")]
    UnknownParkedFact(String),
    #[error("no shipment {0}")]
    UnknownShipment(String),
    #[error("no issue {0}")]
    UnknownIssue(String),
    #[error("{0}")]
    BadProposal(String),
    #[error("issue {issue_id} cannot take that step: {why}")]
    IssueClosed { issue_id: String, why: String },
}

impl Actor {
    /// The kind of actor behind an event source such as `carrier:easypost`.
    pub fn of_source(source: &str) -> Actor {
        match source.split(':').next().unwrap_or_default() {
            "payment" => Actor::Payment,
            "carrier" => Actor::Carrier,
            "delivery" => Actor::Delivery,
            "customer" => Actor::Customer,
            "system" => Actor::System,
            _ => Actor::Staff,
        }
    }
}

/// An id that sorts by when it was made (a UUID v7: 48 bits of time, 74
/// random): a store keeps what was made together together, so the orders
/// and events of one busy minute share pages rather than each land on a
/// page of its own.
pub fn new_id(prefix: &str) -> String {
    format!("{prefix}_{}", uuid::Uuid::now_v7().simple())
}

/// An id that is a secret too, such as the public id that opens an order's
/// tracking page: all 122 bits random, nothing to learn from it.
pub fn new_secret_id(prefix: &str) -> String {
    format!("{prefix}_{}", uuid::Uuid::new_v4().simple())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uuid_of(id: &str) -> uuid::Uuid {
        let (_, hex) = id.split_once('_').expect("a prefix");
        uuid::Uuid::parse_str(hex).expect("a UUID")
    }

    /// Order and event ids made later sort later (the embedded store keeps
    /// them together on disk); the public id that opens a tracking page
    /// carries no time, only randomness.
    #[test]
    fn ids_sort_by_time_and_public_ids_are_random() {
        let first = new_id("ord");
        std::thread::sleep(std::time::Duration::from_millis(2));
        let second = new_id("ord");
        assert!(first < second, "{first} then {second}");
        assert_eq!(uuid_of(&first).get_version_num(), 7);
        let secret = new_secret_id("trk");
        assert!(secret.starts_with("trk_"));
        assert_eq!(uuid_of(&secret).get_version_num(), 4);
        assert_ne!(new_secret_id("trk"), secret);
    }
}
