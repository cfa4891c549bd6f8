//! What staff must look at: the flags an order carries, and the overdue
//! reasons the sweep raises some of them for.
//!
//! Both the head (which carries flags) and the deadlines (which decide when a
//! reason is overdue) speak this vocabulary, so it lives below both of them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Something staff must look at. Raised by events, so it is audited too.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Flag {
    pub kind: FlagKind,
    pub reason: String,
    pub raised_at: DateTime<Utc>,
    pub event_id: String,
    /// The deadline that raised it, for flags the sweep raises.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause: Option<StallReason>,
    /// How many times it has been raised without being resolved.
    #[serde(default)]
    pub level: u32,
    /// When it is raised again, one level up, if nothing changes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub escalate_at: Option<DateTime<Utc>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum FlagKind {
    /// A fact that cannot fit the order's path.
    NeedsReview,
    /// Sat in a state longer than its SLA.
    Stalled,
    /// A carrier or partner reports a problem: a failed attempt, an
    /// exception, a return.
    DeliveryException,
}

/// Why an order is overdue.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case", tag = "reason")]
pub enum StallReason {
    /// The order has sat in `state` longer than its SLA.
    Sla { state: String },
    /// Shipped, but the package still has no tracking code.
    TrackingPending { shipment_id: String },
    /// No carrier scan for the package in too long.
    NoScan { shipment_id: String },
    /// A fact has waited too long for the states it needs.
    ParkedTooLong { event_id: String },
    /// An order issue has waited too long for someone to acknowledge it.
    IssueUnacknowledged { issue_id: String },
    /// A driver of the tenant's own fleet carrying the order has reported
    /// no position for too long: the sweep opens a delivery issue.
    NoDriverPosition { driver: String },
    /// A delivery partner is to be asked (again) for a driver, or a booked
    /// delivery cancelled: the service does it, nobody is flagged.
    DispatchDue,
    /// Nobody answered the proposed substitutions in time: the sweep
    /// answers as the tenant's policy says rather than flagging.
    SubstitutionsUnanswered { proposal_id: String },
}

impl StallReason {
    /// Parked facts need a person's judgement; the rest are stalls.
    pub fn flag(&self) -> FlagKind {
        match self {
            StallReason::ParkedTooLong { .. } | StallReason::IssueUnacknowledged { .. } => {
                FlagKind::NeedsReview
            }
            _ => FlagKind::Stalled,
        }
    }

    pub fn describe(&self, minutes: i64) -> String {
        let time = human(minutes);
        match self {
            StallReason::Sla { state } => format!("{state} for {time}, past its SLA"),
            StallReason::TrackingPending { shipment_id } => {
                format!("{shipment_id} shipped {time} ago and still has no tracking code")
            }
            StallReason::NoScan { shipment_id } => {
                format!("no carrier scan for {shipment_id} in {time}")
            }
            StallReason::ParkedTooLong { event_id } => {
                format!("fact {event_id} has waited {time} for the states it needs")
            }
            StallReason::IssueUnacknowledged { issue_id } => {
                format!("issue {issue_id} has waited {time} for someone to acknowledge it")
            }
            StallReason::DispatchDue => format!("a driver has been awaited for {time}"),
            StallReason::NoDriverPosition { driver } => {
                format!("no position from driver {driver} in {time}")
            }
            StallReason::SubstitutionsUnanswered { proposal_id } => {
                format!("substitutions {proposal_id} have waited {time} for an answer")
            }
        }
    }

    /// What staff can do about it, for the health view.
    pub fn suggested_actions(&self) -> &'static [&'static str] {
        match self {
            StallReason::Sla { .. } => &["advance", "refetch_carrier", "note"],
            StallReason::TrackingPending { .. } => &["add_tracking", "note"],
            StallReason::NoScan { .. } => &["refetch_carrier", "correct_tracking", "note"],
            StallReason::ParkedTooLong { .. } => &["resolve_parked", "discard_parked", "advance"],
            StallReason::IssueUnacknowledged { .. } => &["acknowledge_issue", "assign_issue"],
            StallReason::SubstitutionsUnanswered { .. } => &["note"],
            StallReason::NoDriverPosition { .. } => &["acknowledge_issue", "note"],
            StallReason::DispatchDue => &["assign_driver", "note"],
        }
    }
}

fn human(minutes: i64) -> String {
    match minutes {
        m if m < 120 => format!("{m} min"),
        m if m < 48 * 60 => format!("{} h", m / 60),
        m => format!("{} days", m / (24 * 60)),
    }
}
