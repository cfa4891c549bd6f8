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
#[cfg_attr(
    feature = "openapi",
    utoipa::path(
        post,
        path = "/orders/{id}/driver",
        tag = "drivers",
        summary = "One of the store's own drivers takes the delivery",
        params(("id" = String, Path, description = "The order id")),
        request_body = AssignDriver,
        responses((status = 200, description = "The order", body = OrderView),
        ),
        security(("bearer" = [])),
    )
)]
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
#[cfg_attr(
    feature = "openapi",
    utoipa::path(
        post,
        path = "/driver/orders/{id}/reports",
        tag = "drivers",
        summary = "A driver reports on a delivery assigned to them",
        params(("id" = String, Path, description = "The order id")),
        request_body = DriverReport,
        responses((status = 200, description = "What became of the report", body = FactOutcome),
        ),
        security(("bearer" = [])),
    )
)]
pub async fn report(
    State(App { service, .. }): State<App>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
    ApiJson(report): ApiJson<DriverReport>,
) -> Result<Json<FactOutcome>, Problem> {
    Ok(Json(service.driver_report(&principal, &id, report).await?))
}
