//! Order issues through the service: staff open them and take each step,
//! on their tenant's (and stores') orders only; a step on an issue the
//! order does not have is a 404.

use serde::Deserialize;

use super::requests::staff_text;
use super::{OrderService, ServiceError};
use crate::auth::Principal;
use crate::order::decide::{self, Rejection};
use crate::order::limits;
use crate::order::{IssueKind, IssueStep, Severity};
use crate::views::OrderView;

/// `POST /orders/{id}/issues`.
#[derive(Clone, Debug, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", schema(example = json!({"kind": "damaged", "severity": "high", "summary": "the lamp arrived cracked"})))]
pub struct OpenIssue {
    pub kind: IssueKind,
    pub severity: Severity,
    pub summary: String,
}

impl OrderService {
    pub async fn open_issue(
        &self,
        principal: &Principal,
        order_id: &str,
        request: OpenIssue,
    ) -> Result<OrderView, ServiceError> {
        principal.require_staff()?;
        let summary = staff_text("summary", &request.summary)?;
        let now = self.clock.now();
        self.staff_command(principal, order_id, |loaded, lifecycle, origin| {
            decide::open_issue(
                &loaded.head,
                lifecycle,
                origin,
                request.kind,
                request.severity,
                summary.clone(),
                now,
            )
        })
        .await
    }

    /// Acknowledges, assigns or resolves one of the order's issues.
    pub async fn issue_step(
        &self,
        principal: &Principal,
        order_id: &str,
        issue_id: &str,
        step: IssueStep,
    ) -> Result<OrderView, ServiceError> {
        principal.require_staff()?;
        limits::id("issue id", issue_id)?;
        let step = match step {
            IssueStep::Assigned { assignee } => IssueStep::Assigned {
                assignee: staff_text("assignee", &assignee)?,
            },
            IssueStep::Resolved { resolution } => IssueStep::Resolved {
                resolution: staff_text("resolution", &resolution)?,
            },
            IssueStep::Acknowledged => IssueStep::Acknowledged,
            IssueStep::Opened { .. } => {
                return Err(ServiceError::Invalid(
                    "open an issue with POST /orders/{id}/issues".into(),
                ))
            }
        };
        let now = self.clock.now();
        let answer = self
            .staff_command(principal, order_id, |loaded, lifecycle, origin| {
                decide::issue_step(&loaded.head, lifecycle, origin, issue_id, step.clone(), now)
            })
            .await;
        match answer {
            Err(ServiceError::Rejected(refusal))
                if matches!(refusal.rejection, Rejection::UnknownIssue(_)) =>
            {
                Err(ServiceError::Missing(refusal.rejection.to_string()))
            }
            answer => answer,
        }
    }
}
