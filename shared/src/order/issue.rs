//! Order issues (seed 004): something wrong with an order that a person must
//! own until it is dealt with — a missing item, a damaged parcel, a payment
//! that failed. Staff or the system open one; it is acknowledged, assigned
//! and resolved, each step an event on the order's log. Its severity sets
//! how long it may wait for acknowledgement before the sweep flags the
//! order, and where the order stands in the health view.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum IssueKind {
    MissingItem,
    Damaged,
    Late,
    WrongAddress,
    PaymentProblem,
    DeliveryException,
    Other,
}

/// Lowest first, so `max` is the most severe.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    /// Minutes an open issue may wait for someone to acknowledge it, unless
    /// the tenant says otherwise.
    pub fn ack_minutes(self) -> u32 {
        match self {
            Severity::Critical => 15,
            Severity::High => 60,
            Severity::Medium => 4 * 60,
            Severity::Low => 24 * 60,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum IssueState {
    Open,
    Acknowledged,
    Resolved,
}

/// An issue as the head keeps it: where it stands, folded from its events.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrderIssue {
    pub issue_id: String,
    pub kind: IssueKind,
    pub severity: Severity,
    pub summary: String,
    pub state: IssueState,
    pub opened_at: DateTime<Utc>,
    /// `staff`, `system`, `payment:<provider>`…: who opened it.
    pub opened_by: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acknowledged_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assignee: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolved_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolution: Option<String>,
}

impl OrderIssue {
    pub fn is_open(&self) -> bool {
        self.state != IssueState::Resolved
    }
}

/// One step in an issue's life, as its event records it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum IssueStep {
    Opened {
        kind: IssueKind,
        severity: Severity,
        summary: String,
    },
    /// Someone took note; the acknowledgement deadline no longer runs.
    Acknowledged,
    /// Someone owns it (which acknowledges it too).
    Assigned {
        assignee: String,
    },
    Resolved {
        resolution: String,
    },
}

/// An issue's event: which issue, and what happened to it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IssueNews {
    pub issue_id: String,
    #[serde(flatten)]
    pub step: IssueStep,
}

/// Tenant overrides of [`Severity::ack_minutes`], captured at checkout.
pub type AckMinutes = BTreeMap<Severity, u32>;

/// Folds an issue's step into the order's issues.
pub(crate) fn apply(
    issues: &mut Vec<OrderIssue>,
    news: &IssueNews,
    source: &str,
    at: DateTime<Utc>,
) {
    if let IssueStep::Opened {
        kind,
        severity,
        summary,
    } = &news.step
    {
        if !issues.iter().any(|i| i.issue_id == news.issue_id) {
            issues.push(OrderIssue {
                issue_id: news.issue_id.clone(),
                kind: *kind,
                severity: *severity,
                summary: summary.clone(),
                state: IssueState::Open,
                opened_at: at,
                opened_by: source.to_string(),
                acknowledged_at: None,
                assignee: None,
                resolved_at: None,
                resolution: None,
            });
        }
        return;
    }
    let Some(issue) = issues.iter_mut().find(|i| i.issue_id == news.issue_id) else {
        return;
    };
    let acknowledge = |issue: &mut OrderIssue| {
        if issue.state == IssueState::Open {
            issue.state = IssueState::Acknowledged;
            issue.acknowledged_at = Some(at);
        }
    };
    match &news.step {
        IssueStep::Opened { .. } => {}
        IssueStep::Acknowledged => acknowledge(issue),
        IssueStep::Assigned { assignee } => {
            acknowledge(issue);
            issue.assignee = Some(assignee.clone());
        }
        IssueStep::Resolved { resolution } => {
            issue.state = IssueState::Resolved;
            issue.resolved_at = Some(at);
            issue.resolution = Some(resolution.clone());
        }
    }
}
