//! Erasing a customer's personal data (README › Personal data): their data
//! key is forgotten, so every copy of their fields reads `[erased]`, and
//! each of their orders keeps a note that it happened.

use axum::extract::State;
use axum::Json;
use order_core::auth::Principal;
use order_core::http::{ApiPath, Problem};
use order_core::service::Erasure;

use crate::App;

#[cfg_attr(
    feature = "openapi",
    utoipa::path(
        post,
        path = "/admin/customers/{customer_id}/erasure",
        tag = "admin",
        summary = "Erase a customer's personal data: their key is forgotten (managers of every store)",
        params(("customer_id" = String, Path, description = "The customer")),
        responses((status = 200, description = "What was erased", body = Erasure)),
        security(("bearer" = [])),
    )
)]
pub async fn erase_customer(
    State(App { service, .. }): State<App>,
    principal: Principal,
    ApiPath(customer_id): ApiPath<String>,
) -> Result<Json<Erasure>, Problem> {
    Ok(Json(
        service.erase_customer(&principal, &customer_id).await?,
    ))
}
