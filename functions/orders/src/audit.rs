//! The audit log's hash chain, checked: one order's, or every order of the
//! tenant the manager's token sees.

use axum::extract::State;
use axum::Json;
use order_core::auth::Principal;
use order_core::http::{ApiPath, Problem};
use order_core::order::chain::Verification;
use order_core::service::TenantVerification;

use crate::App;

pub async fn verify_order(
    State(App { service, .. }): State<App>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Verification>, Problem> {
    Ok(Json(service.verify_order(&principal, &id).await?))
}

pub async fn verify_tenant(
    State(App { service, .. }): State<App>,
    principal: Principal,
) -> Result<Json<TenantVerification>, Problem> {
    Ok(Json(service.verify_tenant(&principal).await?))
}
