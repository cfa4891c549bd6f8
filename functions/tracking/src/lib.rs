//! The customer's tracking view, by unguessable public id only: honest
//! per-state messages, no email, phone or street address, never the
//! internal order id.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use order_core::http::Problem;
use order_core::service::OrderService;
use order_core::views::TrackingView;

pub fn router(service: Arc<OrderService>) -> Router {
    Router::new()
        .route("/track/{public_id}", get(track))
        .with_state(service)
}

async fn track(
    State(service): State<Arc<OrderService>>,
    Path(public_id): Path<String>,
) -> Result<Json<TrackingView>, Problem> {
    Ok(Json(service.track(&public_id).await?))
}
