//! Order issues' decisions: opening one, and each later step, checked
//! against where the issue stands; and the issues the system opens itself
//! from providers' bad news.

use chrono::{DateTime, Utc};

use super::command::{new_id, Decision, Origin, Rejection};
use super::draft::Draft;
use crate::lifecycle::{Lifecycle, ShipmentStatus};
use crate::order::event::{Disposition, EventBody};
use crate::order::head::Head;
use crate::order::inbound::{DeliveryKind, InboundFact, PaymentKind};
use crate::order::issue::{IssueKind, IssueNews, IssueState, IssueStep, Severity};

/// Issues one order may have had, open and resolved: the head carries
/// them all, and it must stay small.
pub const MAX_ISSUES: usize = 50;

/// Opens an issue on the order.
pub fn open_issue(
    head: &Head,
    lifecycle: &Lifecycle,
    origin: &Origin,
    kind: IssueKind,
    severity: Severity,
    summary: String,
    now: DateTime<Utc>,
) -> Result<Decision, Rejection> {
    if head.issues.len() >= MAX_ISSUES {
        return Err(Rejection::Illegal {
            current: head.status.clone(),
            target: head.status.clone(),
            why: format!("an order holds at most {MAX_ISSUES} issues"),
        });
    }
    let mut draft = Draft::new(head, lifecycle, now);
    draft.push(origin, now, opened(kind, severity, summary));
    Ok(draft.finish(Disposition::Applied))
}

/// Acknowledges, assigns or resolves an issue. A resolved issue takes no
/// more steps, and an acknowledged one is not acknowledged again, so of
/// two people clicking at once one wins and the other is told.
pub fn issue_step(
    head: &Head,
    lifecycle: &Lifecycle,
    origin: &Origin,
    issue_id: &str,
    step: IssueStep,
    now: DateTime<Utc>,
) -> Result<Decision, Rejection> {
    let issue = head
        .issues
        .iter()
        .find(|i| i.issue_id == issue_id)
        .ok_or_else(|| Rejection::UnknownIssue(issue_id.to_string()))?;
    let refused = |why: &str| Rejection::IssueClosed {
        issue_id: issue_id.to_string(),
        why: why.to_string(),
    };
    match (&step, issue.state) {
        (IssueStep::Opened { .. }, _) => return Err(refused("it is open already")),
        (_, IssueState::Resolved) => return Err(refused("it is resolved")),
        (IssueStep::Acknowledged, IssueState::Acknowledged) => {
            return Err(refused("it was acknowledged already"))
        }
        (IssueStep::Assigned { assignee }, _) if issue.assignee.as_ref() == Some(assignee) => {
            return Err(refused("it is assigned to them already"))
        }
        _ => {}
    }
    let mut draft = Draft::new(head, lifecycle, now);
    let news = IssueNews {
        issue_id: issue_id.to_string(),
        step,
    };
    draft.push(origin, now, EventBody::Issue(news));
    Ok(draft.finish(Disposition::Applied))
}

pub(super) fn opened(kind: IssueKind, severity: Severity, summary: String) -> EventBody {
    EventBody::Issue(IssueNews {
        issue_id: new_id("iss"),
        step: IssueStep::Opened {
            kind,
            severity,
            summary,
        },
    })
}

/// The issue a provider's news opens by itself, if any: a failed payment,
/// a carrier's exception, a driver who could not deliver. None while an
/// issue of the same kind is still open, so a provider retrying its bad
/// news does not open one per retry.
pub(super) fn automatic(head: &Head, fact: &InboundFact) -> Option<EventBody> {
    let (kind, severity, summary) = match fact {
        InboundFact::Payment(news) if news.kind == PaymentKind::Failed => (
            IssueKind::PaymentProblem,
            Severity::High,
            news.message
                .clone()
                .unwrap_or_else(|| "the payment failed".into()),
        ),
        InboundFact::Shipment(news)
            if matches!(
                news.status,
                ShipmentStatus::ActionRequired | ShipmentStatus::Failed | ShipmentStatus::Returning
            ) =>
        {
            let status = serde_json::to_value(news.status)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default();
            (
                IssueKind::DeliveryException,
                Severity::Medium,
                news.message
                    .clone()
                    .unwrap_or_else(|| format!("the carrier reports {}", status.replace('_', " "))),
            )
        }
        InboundFact::Delivery(news) if news.kind == DeliveryKind::Failed => (
            IssueKind::DeliveryException,
            Severity::High,
            news.message
                .clone()
                .unwrap_or_else(|| "the delivery partner could not deliver".into()),
        ),
        _ => return None,
    };
    let open = head.open_issues().any(|i| i.kind == kind);
    (!open && head.issues.len() < MAX_ISSUES).then(|| opened(kind, severity, summary))
}
