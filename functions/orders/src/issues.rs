//! Order issues: staff open one on an order, then acknowledge, assign and
//! resolve it, each step answered with the order.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use order_core::auth::Principal;
use order_core::http::{ApiJson, ApiPath, Problem};
use order_core::order::IssueStep;
use order_core::service::OpenIssue;
use order_core::views::OrderView;

use crate::App;

/// `{kind, severity, summary}` → 201 with the order, the issue among its
/// `issues`.
pub async fn open(
    State(App { service, .. }): State<App>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
    ApiJson(request): ApiJson<OpenIssue>,
) -> Result<(StatusCode, Json<OrderView>), Problem> {
    let view = service.open_issue(&principal, &id, request).await?;
    Ok((StatusCode::CREATED, Json(view)))
}

/// `{"step": "acknowledged"}`, `{"step": "assigned", "assignee"}` or
/// `{"step": "resolved", "resolution"}`.
pub async fn step(
    State(App { service, .. }): State<App>,
    principal: Principal,
    ApiPath((id, issue_id)): ApiPath<(String, String)>,
    ApiJson(step): ApiJson<IssueStep>,
) -> Result<Json<OrderView>, Problem> {
    Ok(Json(
        service.issue_step(&principal, &id, &issue_id, step).await?,
    ))
}
