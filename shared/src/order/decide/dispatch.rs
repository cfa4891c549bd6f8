//! Recording what a delivery partner answered when asked for a driver (or
//! to cancel one). When the last partner declines, nobody is coming: the
//! order gets a delivery issue for staff to own.

use chrono::{DateTime, Utc};

use super::command::{Decision, Origin};
use super::draft::Draft;
use super::issues;
use crate::lifecycle::{Actor, Lifecycle};
use crate::order::dispatch::{DispatchState, DispatchStep};
use crate::order::event::{Disposition, EventBody};
use crate::order::head::Head;
use crate::order::issue::{IssueKind, Severity};

pub fn record_dispatch(
    head: &Head,
    lifecycle: &Lifecycle,
    step: DispatchStep,
    now: DateTime<Utc>,
) -> Decision {
    let origin = Origin {
        source: "system".into(),
        actor_kind: Actor::System,
        actor: Some("dispatch".into()),
        external_id: None,
    };
    let mut draft = Draft::new(head, lifecycle, now);
    draft.push(&origin, now, EventBody::Dispatch(step));
    let unassigned = draft
        .head
        .dispatch
        .as_ref()
        .is_some_and(|d| d.state == DispatchState::Unassigned);
    if unassigned {
        let partners = head.policy.dispatch.partners.join(", ");
        let summary = format!("no delivery partner took the order ({partners}): assign a driver");
        draft.push(
            &origin,
            now,
            issues::opened(IssueKind::DeliveryException, Severity::High, summary),
        );
    }
    draft.finish(Disposition::Applied)
}
