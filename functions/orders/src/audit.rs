//! The audit log's hash chain, checked: one order's, or every order of the
//! tenant the manager's token sees.

use axum::extract::State;
use axum::Json;
use order_core::auth::Principal;
use order_core::http::{ApiPath, Problem};
use order_core::order::chain::Verification;
use order_core::service::TenantVerification;

use crate::App;

#[cfg_attr(
    feature = "openapi",
    utoipa::path(
        get,
        path = "/orders/{id}/events/verify",
        tag = "orders",
        summary = "The order's log checked against its hash chain and its head",
        params(("id" = String, Path, description = "The order id")),
        responses(
            (status = 200, description = "The check: `intact`, or where the log stops fitting", body = Verification),
        ),
        security(("bearer" = [])),
    )
)]
pub async fn verify_order(
    State(App { service, .. }): State<App>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Verification>, Problem> {
    Ok(Json(service.verify_order(&principal, &id).await?))
}

#[cfg_attr(
    feature = "openapi",
    utoipa::path(
        get,
        path = "/admin/audit/verify",
        tag = "admin",
        summary = "Every order of the tenant (of the token's stores) checked (managers)",
        responses(
            (status = 200, description = "The check, with every broken order", body = TenantVerification),
        ),
        security(("bearer" = [])),
    )
)]
pub async fn verify_tenant(
    State(App { service, .. }): State<App>,
    principal: Principal,
) -> Result<Json<TenantVerification>, Problem> {
    Ok(Json(service.verify_tenant(&principal).await?))
}
