//! Commands that keep an order's records straight without moving it:
//! tracking codes given or corrected after the fact, the sweep's flags,
//! notes, and staff resolving flags.

use chrono::{DateTime, Utc};

use super::command::{Decision, Origin, Rejection};
use super::draft::Draft;
use super::issues;
use super::substitutions;
use crate::lifecycle::{Actor, Lifecycle, StateRole};
use crate::order::deadlines;
use crate::order::event::{Disposition, EventBody};
use crate::order::flags::{FlagKind, StallReason};
use crate::order::head::Head;
use crate::order::issue::{IssueKind, Severity};
use crate::order::limits::MAX_PACKAGES;
use crate::order::notification::{NotificationRecord, NotifyPrefs};
use crate::order::shipment::TrackingInput;

/// Staff give a tracking code after the fact (shipped with "tracking
/// pending", or a second package). Allowed once the order has shipped.
pub fn add_tracking(
    head: &Head,
    lifecycle: &Lifecycle,
    origin: &Origin,
    tracking: TrackingInput,
    now: DateTime<Utc>,
) -> Result<Decision, Rejection> {
    let shipped = lifecycle
        .role(StateRole::Shipped)
        .and_then(|state| lifecycle.stamps(state).into_iter().next())
        .is_some_and(|stamp| head.timestamps.contains_key(&stamp));
    if !shipped {
        return Err(Rejection::Illegal {
            current: head.status.clone(),
            target: head.status.clone(),
            why: "tracking can be added once the order has shipped".into(),
        });
    }
    let waiting = head.shipments.iter().any(|s| s.tracking_code.is_none());
    if !waiting && head.shipments.len() >= MAX_PACKAGES {
        return Err(Rejection::Illegal {
            current: head.status.clone(),
            target: head.status.clone(),
            why: format!("an order holds at most {MAX_PACKAGES} packages"),
        });
    }
    let mut draft = Draft::new(head, lifecycle, now);
    draft.push(origin, now, EventBody::TrackingAdded(tracking));
    Ok(draft.finish(Disposition::Applied))
}

fn system() -> Origin {
    Origin {
        source: "system".into(),
        actor_kind: Actor::System,
        actor: Some("stall-sweep".into()),
        external_id: None,
    }
}

/// The sweep's decision for one order: a flag for each overdue reason, one
/// level up for a reason still unresolved since its last flag. `None` when
/// nothing is due — which is also what a second, concurrent sweep sees once
/// the first has committed, so flags are never doubled.
pub fn sweep(head: &Head, lifecycle: &Lifecycle, now: DateTime<Utc>) -> Option<Decision> {
    // Asking delivery partners is the service's (it calls them), not a flag.
    let due: Vec<_> = deadlines::overdue(head, lifecycle, now)
        .into_iter()
        .filter(|(d, _)| d.reason != StallReason::DispatchDue)
        .collect();
    if due.is_empty() {
        return None;
    }
    let mut draft = Draft::new(head, lifecycle, now);
    for (deadline, level) in due {
        // Unanswered substitutions are answered as the tenant's policy
        // says, not flagged: the store is waiting to go on.
        // A silent driver is a delivery issue someone must own.
        if let StallReason::NoDriverPosition { .. } = &deadline.reason {
            let waited = (now - deadline.since).num_minutes();
            let body = issues::opened(
                IssueKind::DeliveryException,
                Severity::High,
                deadline.reason.describe(waited),
            );
            draft.push(&system(), now, body);
            continue;
        }
        if let StallReason::SubstitutionsUnanswered { .. } = &deadline.reason {
            if let Some(proposal) = draft.head.proposal.clone() {
                let answers = vec![proposal.on_no_answer; proposal.lines.len()];
                let answered =
                    substitutions::answer(&mut draft, lifecycle, &system(), answers, true, now);
                debug_assert!(
                    answered.is_ok(),
                    "a pending proposal takes the policy's answers"
                );
            }
            continue;
        }
        let waited = (now - deadline.since).num_minutes();
        let body = EventBody::FlagRaised {
            flag: deadline.reason.flag(),
            reason: deadline.reason.describe(waited),
            cause: Some(deadline.reason),
            level,
            escalate_at: Some(now + deadlines::escalation_delay(level)),
        };
        draft.push(&system(), now, body);
    }
    Some(draft.finish(Disposition::Applied))
}

/// A note for the audit log.
pub fn add_note(
    head: &Head,
    lifecycle: &Lifecycle,
    origin: &Origin,
    text: String,
    now: DateTime<Utc>,
) -> Decision {
    let mut draft = Draft::new(head, lifecycle, now);
    draft.push(origin, now, EventBody::NoteAdded { text });
    draft.finish(Disposition::Applied)
}

/// A notifier's decision about telling the customer, for the audit log.
pub fn record_notification(
    head: &Head,
    lifecycle: &Lifecycle,
    origin: &Origin,
    record: NotificationRecord,
    now: DateTime<Utc>,
) -> Decision {
    let mut draft = Draft::new(head, lifecycle, now);
    draft.push(origin, now, EventBody::NotificationRecorded(record));
    draft.finish(Disposition::Applied)
}

/// The customer's choices about what they are told.
pub fn set_notify_prefs(
    head: &Head,
    lifecycle: &Lifecycle,
    origin: &Origin,
    prefs: NotifyPrefs,
    now: DateTime<Utc>,
) -> Decision {
    let mut draft = Draft::new(head, lifecycle, now);
    draft.push(origin, now, EventBody::NotifyPrefsSet(prefs));
    draft.finish(Disposition::Applied)
}

/// Staff mark review and exception flags as dealt with. Stalls clear
/// themselves when the order moves on, so they are not cleared by hand.
pub fn resolve_flags(
    head: &Head,
    lifecycle: &Lifecycle,
    origin: &Origin,
    reason: String,
    now: DateTime<Utc>,
) -> Result<Decision, Rejection> {
    let kinds: Vec<FlagKind> = [FlagKind::NeedsReview, FlagKind::DeliveryException]
        .into_iter()
        .filter(|k| head.flags.iter().any(|f| f.kind == *k && f.cause.is_none()))
        .collect();
    if kinds.is_empty() {
        return Err(Rejection::NothingToResolve);
    }
    let mut draft = Draft::new(head, lifecycle, now);
    draft.push(origin, now, EventBody::FlagsCleared { kinds, reason });
    Ok(draft.finish(Disposition::Applied))
}

/// Staff correct a package's tracking code (a typo, a relabelled parcel).
pub fn correct_tracking(
    head: &Head,
    lifecycle: &Lifecycle,
    origin: &Origin,
    shipment_id: &str,
    tracking: TrackingInput,
    now: DateTime<Utc>,
) -> Result<Decision, Rejection> {
    if !head.shipments.iter().any(|s| s.shipment_id == shipment_id) {
        return Err(Rejection::UnknownShipment(shipment_id.to_string()));
    }
    let mut draft = Draft::new(head, lifecycle, now);
    let body = EventBody::TrackingCorrected {
        shipment_id: shipment_id.to_string(),
        tracking,
    };
    draft.push(origin, now, body);
    Ok(draft.finish(Disposition::Applied))
}

/// Moves the order onto `to`, a newer version of its lifecycle: its status
/// kept where `to` has it, else mapped as `to` declares. `None` when `to`
/// has no place for it (the order would be stranded), and nothing changes.
pub fn migrate_lifecycle(
    head: &Head,
    to: &Lifecycle,
    origin: &Origin,
    now: DateTime<Utc>,
) -> Option<Decision> {
    let to_state = to.adopt(&head.status)?.to_string();
    let mut draft = Draft::new(head, to, now);
    let body = EventBody::LifecycleMigrated {
        from: head.lifecycle.clone(),
        to: to.key(),
        from_state: head.status.clone(),
        to_state,
    };
    draft.push(origin, now, body);
    Some(draft.finish(Disposition::Applied))
}
