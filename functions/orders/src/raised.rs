//! What staff raise on an order besides moving it: issues (opened, then
//! acknowledged, assigned and resolved) and substitutions proposed to the
//! customer, each answered with the order.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use order_core::auth::Principal;
use order_core::http::{ApiJson, ApiPath, Problem};
use order_core::order::IssueStep;
use order_core::service::{OpenIssue, Propose};
use order_core::views::OrderView;

use crate::App;

/// `{kind, severity, summary}` → 201 with the order, the issue among its
/// `issues`.
#[cfg_attr(
    feature = "openapi",
    utoipa::path(
        post,
        path = "/orders/{id}/issues",
        tag = "orders",
        summary = "Open an issue on the order",
        params(("id" = String, Path, description = "The order id")),
        request_body = OpenIssue,
        responses((status = 201, description = "The order", body = OrderView),
        ),
        security(("bearer" = [])),
    )
)]
pub async fn open_issue(
    State(App { service, .. }): State<App>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
    ApiJson(request): ApiJson<OpenIssue>,
) -> Result<(StatusCode, Json<OrderView>), Problem> {
    let view = service.open_issue(&principal, &id, request).await?;
    Ok((StatusCode::CREATED, Json(view)))
}

/// `{lines: [{sku, quantity?, replacement?: {sku, name, unit_price,
/// quantity}}], reason?}`: a replacement or, without one, a removal per line.
#[cfg_attr(
    feature = "openapi",
    utoipa::path(
        post,
        path = "/orders/{id}/substitutions",
        tag = "orders",
        summary = "Propose substitutions, line by line",
        params(("id" = String, Path, description = "The order id")),
        request_body = Propose,
        responses((status = 200, description = "The order", body = OrderView),
        ),
        security(("bearer" = [])),
    )
)]
pub async fn propose_substitutions(
    State(App { service, .. }): State<App>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
    ApiJson(request): ApiJson<Propose>,
) -> Result<Json<OrderView>, Problem> {
    Ok(Json(
        service
            .propose_substitutions(&principal, &id, request)
            .await?,
    ))
}

/// `{"step": "acknowledged"}`, `{"step": "assigned", "assignee"}` or
/// `{"step": "resolved", "resolution"}`.
#[cfg_attr(
    feature = "openapi",
    utoipa::path(
        post,
        path = "/orders/{id}/issues/{issue_id}",
        tag = "orders",
        summary = "Acknowledge, assign or resolve an issue",
        params(("id" = String, Path, description = "The order id"), ("issue_id" = String, Path, description = "The issue")),
        request_body = IssueStep,
        responses((status = 200, description = "The order", body = OrderView),
        ),
        security(("bearer" = [])),
    )
)]
pub async fn issue_step(
    State(App { service, .. }): State<App>,
    principal: Principal,
    ApiPath((id, issue_id)): ApiPath<(String, String)>,
    ApiJson(step): ApiJson<IssueStep>,
) -> Result<Json<OrderView>, Problem> {
    Ok(Json(
        service.issue_step(&principal, &id, &issue_id, step).await?,
    ))
}
