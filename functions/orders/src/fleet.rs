//! The tenant's own fleet: staff assign a driver, the driver reports
//! positions and progress on the deliveries assigned to them.

use axum::extract::State;
use axum::Json;
use order_core::auth::Principal;
use order_core::http::{ApiJson, ApiPath, Problem};
use order_core::service::{AssignDriver, DriverReport, FactOutcome};
use order_core::views::OrderView;

use crate::App;

/// `{driver_id, name, vehicle?}` → the order, its driver assigned.
pub async fn assign(
    State(App { service, .. }): State<App>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
    ApiJson(request): ApiJson<AssignDriver>,
) -> Result<Json<OrderView>, Problem> {
    Ok(Json(service.assign_driver(&principal, &id, request).await?))
}

/// `{"report": "position", lat, lng, accuracy_m?, at?}`,
/// `{"report": "picked_up"}`, `{"report": "delivered"}` or
/// `{"report": "failed", message?}` → what became of it, as a provider's
/// news is told.
pub async fn report(
    State(App { service, .. }): State<App>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
    ApiJson(report): ApiJson<DriverReport>,
) -> Result<Json<FactOutcome>, Problem> {
    Ok(Json(service.driver_report(&principal, &id, report).await?))
}
