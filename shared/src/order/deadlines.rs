//! When an order should have moved on, and what to do when it has not.
//!
//! Every live order carries its next deadline (`due_at`) in the sparse due
//! index, so a sweep reads only the overdue orders. A deadline passes for one
//! of a few reasons — a state outstaying its SLA, a package shipped without a
//! tracking code, a package no carrier has scanned for too long, a fact parked
//! past its window. Once flagged, the reason's next deadline is its
//! escalation time, so an unresolved order comes back with a higher level
//! instead of leaving the index; progress clears the flag and the deadline.

use chrono::{DateTime, Duration, Utc};

use super::head::Head;
use crate::lifecycle::{Lifecycle, ShipmentStatus, StateRole};

use super::flags::StallReason;
use super::head::DeliveryInfo;
use super::issue::{IssueKind, IssueState};

/// Defaults when neither the lifecycle nor the tenant says otherwise.
pub const TRACKING_PENDING_MINUTES: u32 = 24 * 60;
pub const STALE_SCAN_MINUTES: u32 = 72 * 60;
pub const PARKED_MINUTES: u32 = 60;
pub const FLEET_POSITION_MINUTES: u32 = 10;

/// A reason and the moment it becomes overdue.
#[derive(Clone, Debug, PartialEq)]
pub struct Deadline {
    pub reason: StallReason,
    /// When the reason's clock started.
    pub since: DateTime<Utc>,
    pub at: DateTime<Utc>,
}

/// How long after a flag it is raised again, one level up.
pub fn escalation_delay(level: u32) -> Duration {
    match level {
        0 | 1 => Duration::hours(1),
        2 => Duration::hours(4),
        _ => Duration::hours(24),
    }
}

/// The SLA of `state` for this order: the tenant's override, else the lifecycle's.
pub fn sla_minutes(head: &Head, lifecycle: &Lifecycle, state: &str) -> Option<u32> {
    head.policy
        .sla_minutes
        .get(state)
        .copied()
        .or_else(|| lifecycle.sla_minutes(state))
}

/// Every deadline the order is under right now.
pub fn deadlines(head: &Head, lifecycle: &Lifecycle) -> Vec<Deadline> {
    let minutes = |m: u32| Duration::minutes(i64::from(m));
    let mut all = Vec::new();
    if !lifecycle.is_terminal(&head.status) {
        if let Some(sla) = sla_minutes(head, lifecycle, &head.status) {
            // The clock runs from when we learned of the status, not from a
            // provider's (possibly old) timestamp.
            let since = head.status_entered_at;
            all.push(Deadline {
                reason: StallReason::Sla {
                    state: head.status.clone(),
                },
                since,
                at: since + minutes(sla),
            });
        }
        for s in &head.shipments {
            let waiting = match s.status {
                ShipmentStatus::TrackingPending => Some((
                    StallReason::TrackingPending {
                        shipment_id: s.shipment_id.clone(),
                    },
                    s.created_at,
                    head.policy
                        .tracking_pending_minutes
                        .unwrap_or(TRACKING_PENDING_MINUTES),
                )),
                ShipmentStatus::LabelCreated
                | ShipmentStatus::InTransit
                | ShipmentStatus::Delayed
                | ShipmentStatus::OutForDelivery
                | ShipmentStatus::DeliveryAttempted
                | ShipmentStatus::ActionRequired
                | ShipmentStatus::Returning
                | ShipmentStatus::Stale => Some((
                    StallReason::NoScan {
                        shipment_id: s.shipment_id.clone(),
                    },
                    s.last_scan_at.unwrap_or(s.created_at),
                    head.policy.stale_scan_minutes.unwrap_or(STALE_SCAN_MINUTES),
                )),
                _ => None,
            };
            if let Some((reason, since, window)) = waiting {
                all.push(Deadline {
                    reason,
                    since,
                    at: since + minutes(window),
                });
            }
        }
    }
    // An issue waits for a person whatever the order's status: a damaged
    // parcel is reported after delivery.
    for issue in head.issues.iter().filter(|i| i.state == IssueState::Open) {
        let window = head
            .policy
            .issue_ack_minutes
            .get(&issue.severity)
            .copied()
            .unwrap_or_else(|| issue.severity.ack_minutes());
        all.push(Deadline {
            reason: StallReason::IssueUnacknowledged {
                issue_id: issue.issue_id.clone(),
            },
            since: issue.opened_at,
            at: issue.opened_at + minutes(window),
        });
    }
    if let Some(driver) = silent_driver(head, lifecycle) {
        let since = driver.location.as_ref().map_or(driver.updated_at, |l| l.at);
        let window = head
            .policy
            .fleet_position_minutes
            .unwrap_or(FLEET_POSITION_MINUTES);
        all.push(Deadline {
            reason: StallReason::NoDriverPosition {
                driver: driver.reference.clone(),
            },
            since,
            at: since + minutes(window),
        });
    }
    if let Some(at) = head.dispatch.as_ref().and_then(|d| d.due_at) {
        all.push(Deadline {
            reason: StallReason::DispatchDue,
            since: at,
            at,
        });
    }
    if let Some(proposal) = &head.proposal {
        all.push(Deadline {
            reason: StallReason::SubstitutionsUnanswered {
                proposal_id: proposal.proposal_id.clone(),
            },
            since: proposal.proposed_at,
            at: proposal.answer_by,
        });
    }
    for p in &head.parked {
        let window = head.policy.parked_minutes.unwrap_or(PARKED_MINUTES);
        all.push(Deadline {
            reason: StallReason::ParkedTooLong {
                event_id: p.event_id.clone(),
            },
            since: p.recorded_at,
            at: p.recorded_at + minutes(window),
        });
    }
    all
}

/// The fleet driver carrying the order, while one is (picked up, not yet
/// delivered) and no delivery issue is already open about it.
fn silent_driver<'h>(head: &'h Head, lifecycle: &Lifecycle) -> Option<&'h DeliveryInfo> {
    let delivery = head.delivery.as_ref().filter(|d| d.partner == "fleet")?;
    let picked_up = lifecycle.role(StateRole::DriverPickedUp)?;
    let carrying = (head.status == picked_up || lifecycle.is_before(picked_up, &head.status))
        && !lifecycle.is_terminal(&head.status);
    let reported = head
        .open_issues()
        .any(|i| i.kind == IssueKind::DeliveryException);
    (carrying && !reported).then_some(delivery)
}

/// When the sweep should next look at the order: the earliest deadline, or
/// for a reason already flagged, its escalation time.
pub fn next_due(head: &Head, lifecycle: &Lifecycle) -> Option<DateTime<Utc>> {
    deadlines(head, lifecycle)
        .into_iter()
        .map(|d| {
            head.flags
                .iter()
                .find(|f| f.cause.as_ref() == Some(&d.reason))
                .and_then(|f| f.escalate_at)
                .unwrap_or(d.at)
        })
        .min()
}

/// The reasons due now, each with the level it should be flagged at: 1 for
/// a fresh one, one more than last time for an unresolved one.
pub fn overdue(head: &Head, lifecycle: &Lifecycle, now: DateTime<Utc>) -> Vec<(Deadline, u32)> {
    deadlines(head, lifecycle)
        .into_iter()
        .filter_map(|d| {
            let flagged = head
                .flags
                .iter()
                .find(|f| f.cause.as_ref() == Some(&d.reason));
            match flagged {
                Some(f) if f.escalate_at.is_some_and(|at| at > now) => None,
                Some(f) => Some((d, f.level + 1)),
                None if d.at <= now => Some((d, 1)),
                None => None,
            }
        })
        .collect()
}
