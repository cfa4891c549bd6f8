//! Staff operations on orders: transitions, the order detail, its audit log
//! and the tenant's order list. Every route is scoped to the caller's tenant;
//! another tenant's order is a 404.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use order_core::auth::Principal;
use order_core::http::{ApiJson, ApiQuery, Problem};
use order_core::order::{Event, OrderSummary, TrackingInput};
use order_core::ports::ListQuery;
use order_core::service::{OrderService, TransitionRequest};
use order_core::views::OrderView;
use serde::{Deserialize, Serialize};

const MAX_PAGE: usize = 200;

pub fn router(service: Arc<OrderService>) -> Router {
    Router::new()
        .route("/orders", get(list_orders))
        .route("/orders/{id}", get(get_order))
        .route("/orders/{id}/events", get(order_events))
        .route("/orders/{id}/transitions", post(transition))
        .route("/orders/{id}/shipments", post(add_tracking))
        .with_state(service)
}

async fn transition(
    State(service): State<Arc<OrderService>>,
    principal: Principal,
    Path(id): Path<String>,
    ApiJson(request): ApiJson<TransitionRequest>,
) -> Result<Json<OrderView>, Problem> {
    let view = service.transition(&principal, &id, request).await?;
    tracing::info!(order_id = %id, tenant = %principal.tenant, status = %view.head.status, "transition");
    Ok(Json(view))
}

/// Gives a package its tracking code after the fact ("tracking number
/// pending"), or adds another package.
async fn add_tracking(
    State(service): State<Arc<OrderService>>,
    principal: Principal,
    Path(id): Path<String>,
    ApiJson(tracking): ApiJson<TrackingInput>,
) -> Result<Json<OrderView>, Problem> {
    Ok(Json(service.add_tracking(&principal, &id, tracking).await?))
}

async fn get_order(
    State(service): State<Arc<OrderService>>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<OrderView>, Problem> {
    Ok(Json(service.get(&principal, &id).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EventsQuery {
    #[serde(default)]
    after: u64,
    limit: Option<usize>,
}

#[derive(Serialize)]
struct EventsPage {
    events: Vec<Event>,
    next_after: Option<u64>,
}

async fn order_events(
    State(service): State<Arc<OrderService>>,
    principal: Principal,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<EventsQuery>,
) -> Result<Json<EventsPage>, Problem> {
    let limit = page_size(query.limit)?;
    let events = service.events(&principal, &id, query.after, limit).await?;
    let next_after = (events.len() == limit)
        .then(|| events.last().map(|e| e.seq))
        .flatten();
    Ok(Json(EventsPage { events, next_after }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListParams {
    status: Option<String>,
    customer_id: Option<String>,
    stalled: Option<bool>,
    cursor: Option<String>,
    limit: Option<usize>,
}

#[derive(Serialize)]
struct OrderPage {
    orders: Vec<OrderSummary>,
    next_cursor: Option<String>,
}

async fn list_orders(
    State(service): State<Arc<OrderService>>,
    principal: Principal,
    ApiQuery(params): ApiQuery<ListParams>,
) -> Result<Json<OrderPage>, Problem> {
    let query = ListQuery {
        status: params.status,
        customer_id: params.customer_id,
        stalled: params.stalled,
        after: params.cursor,
        limit: page_size(params.limit)?,
        ..ListQuery::default()
    };
    let page = service.list(&principal, query).await?;
    Ok(Json(OrderPage {
        orders: page.items,
        next_cursor: page.next,
    }))
}

fn page_size(limit: Option<usize>) -> Result<usize, Problem> {
    match limit.unwrap_or(50) {
        n @ 1..=MAX_PAGE => Ok(n),
        _ => Err(Problem::new(
            axum::http::StatusCode::BAD_REQUEST,
            "Malformed query",
            format!("limit must be 1-{MAX_PAGE}"),
        )),
    }
}
