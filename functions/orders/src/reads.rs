//! The staff reads: an order, its audit log, the tenant's order list and
//! event feed.

use axum::extract::State;
use axum::Json;
use order_core::auth::Principal;
use order_core::cursor::{Cursor, InvalidCursor};
use order_core::http::{ApiPath, ApiQuery, Problem};
use order_core::order::{Event, OrderSummary};
use order_core::ports::{ListQuery, PaymentFilter};
use order_core::views::OrderView;
use serde::{Deserialize, Serialize};

use crate::{page_size, App};

#[cfg_attr(
    feature = "openapi",
    utoipa::path(
        get,
        path = "/orders/{id}",
        tag = "orders",
        summary = "The order: head, timeline, parked facts, flags, payment, shipments, allowed actions",
        params(("id" = String, Path, description = "The order id")),
        responses((status = 200, description = "The order", body = OrderView)),
        security(("bearer" = [])),
    )
)]
pub async fn get_order(
    State(App { service, .. }): State<App>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<OrderView>, Problem> {
    Ok(Json(service.get(&principal, &id).await?))
}

#[derive(Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams), into_params(parameter_in = Query))]
#[serde(deny_unknown_fields)]
pub struct EventsQuery {
    #[serde(default)]
    after: u64,
    #[cfg_attr(feature = "openapi", param(minimum = 1, maximum = 200))]
    limit: Option<usize>,
}

#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EventsPage {
    events: Vec<Event>,
    next_after: Option<u64>,
}

#[cfg_attr(
    feature = "openapi",
    utoipa::path(
        get,
        path = "/orders/{id}/events",
        tag = "orders",
        summary = "The order's audit log, oldest first",
        params(("id" = String, Path, description = "The order id"), EventsQuery),
        responses((status = 200, description = "A page of events", body = EventsPage)),
        security(("bearer" = [])),
    )
)]
pub async fn order_events(
    State(App { service, .. }): State<App>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
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
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams), into_params(parameter_in = Query))]
#[serde(deny_unknown_fields)]
pub struct FeedQuery {
    after: Option<String>,
    #[cfg_attr(feature = "openapi", param(minimum = 1, maximum = 200))]
    limit: Option<usize>,
}

#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FeedPage {
    events: Vec<order_core::bus::Envelope>,
    /// What to pass as `after` next: the last event's id, or the `after`
    /// given when nothing newer has settled yet.
    next_cursor: Option<String>,
}

/// The tenant's events in the order they were recorded, for merchants who
/// pull (or catch up after their endpoint was down): each as its webhook
/// delivery carries it.
#[cfg_attr(
    feature = "openapi",
    utoipa::path(
        get,
        path = "/events",
        tag = "orders",
        summary = "The tenant's events in the order they were recorded",
        params(FeedQuery),
        responses((status = 200, description = "A page of the feed", body = FeedPage)),
        security(("bearer" = [])),
    )
)]
pub async fn feed(
    State(App { service, .. }): State<App>,
    principal: Principal,
    ApiQuery(query): ApiQuery<FeedQuery>,
) -> Result<Json<FeedPage>, Problem> {
    let limit = page_size(query.limit)?;
    let after = query.after.filter(|a| !a.is_empty());
    let events = service.feed(&principal, after.as_deref(), limit).await?;
    let next_cursor = events.last().map(|e| e.event_id.clone()).or(after);
    Ok(Json(FeedPage {
        events: events.iter().map(order_core::bus::Envelope::of).collect(),
        next_cursor,
    }))
}

#[derive(Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams), into_params(parameter_in = Query))]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    status: Option<String>,
    store: Option<String>,
    payment: Option<PaymentFilter>,
    customer_id: Option<String>,
    stalled: Option<bool>,
    cursor: Option<String>,
    #[cfg_attr(feature = "openapi", param(minimum = 1, maximum = 200))]
    limit: Option<usize>,
}

#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrderPage {
    orders: Vec<OrderSummary>,
    next_cursor: Option<String>,
}

#[cfg_attr(
    feature = "openapi",
    utoipa::path(
        get,
        path = "/orders",
        tag = "orders",
        summary = "The tenant's orders, most recently updated first",
        params(ListParams),
        responses((status = 200, description = "A page of orders", body = OrderPage)),
        security(("bearer" = [])),
    )
)]
pub async fn list_orders(
    State(App { service, .. }): State<App>,
    principal: Principal,
    ApiQuery(params): ApiQuery<ListParams>,
) -> Result<Json<OrderPage>, Problem> {
    let query = ListQuery {
        status: params.status,
        customer_id: params.customer_id,
        stores: params.store.filter(|s| !s.is_empty()).map(|s| vec![s]),
        payment: params.payment,
        stalled: params.stalled,
        after: cursor(params.cursor.as_deref())?,
        limit: page_size(params.limit)?,
        ..ListQuery::default()
    };
    let page = service.list(&principal, query).await?;
    Ok(Json(OrderPage {
        orders: page.items,
        next_cursor: page.next.as_ref().map(Cursor::to_string),
    }))
}

/// A `next_cursor` handed back; an empty one (`cursor=`) is the first page,
/// like none at all.
fn cursor(token: Option<&str>) -> Result<Option<Cursor>, Problem> {
    match token {
        None | Some("") => Ok(None),
        Some(token) => token.parse().map(Some).map_err(|e: InvalidCursor| {
            Problem::new(
                axum::http::StatusCode::BAD_REQUEST,
                "Malformed query",
                e.to_string(),
            )
        }),
    }
}
