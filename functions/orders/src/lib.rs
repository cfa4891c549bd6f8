//! Staff operations on orders: transitions, the order detail, its audit log,
//! the tenant's order list and event feed; for managers, reconciliation, the
//! health view, a stall sweep on demand, the SLA report, the merchant
//! webhook endpoints and erasing a customer's personal data. Every route is scoped to the caller's tenant; another
//! tenant's order is a 404.

use std::sync::Arc;

use axum::extract::State;
use axum::routing::{delete, get, post, put};
use axum::{Json, Router};
use order_core::auth::Principal;
use order_core::cursor::{Cursor, InvalidCursor};
use order_core::deadline::Deadline;
use order_core::http::{ApiJson, ApiPath, ApiQuery, Problem};
use order_core::live::Live;
use order_core::order::decide::ParkedAction;
use order_core::order::{Event, OrderSummary, TrackingInput};
use order_core::ports::{ListQuery, PaymentFilter, Tickets};
use order_core::service::{
    Erasure, FactOutcome, HealthEntry, Merchants, OrderService, SweepReport, TransitionRequest,
};
use order_core::views::OrderView;
use serde::{Deserialize, Serialize};

const MAX_PAGE: usize = 200;

mod board;
mod endpoints;
mod fleet;
mod lifecycles;
mod raised;
mod reports;

/// The service and where live updates come from.
#[derive(Clone)]
pub struct App {
    service: Arc<OrderService>,
    live: Live,
    tickets: Arc<dyn Tickets>,
    merchants: Arc<Merchants>,
}

/// What the staff routes stand on besides the order service.
pub struct Parts {
    pub live: Live,
    /// Where staff WebSocket tickets wait.
    pub tickets: Arc<dyn Tickets>,
    /// Merchant webhooks: endpoints, deliveries, redelivery.
    pub merchants: Arc<Merchants>,
}

pub fn router(service: Arc<OrderService>, parts: Parts) -> Router {
    Router::new()
        .route("/orders/stream", get(board::stream))
        .route("/live/tickets", post(board::ticket))
        .route("/orders", get(list_orders))
        .route("/orders/{id}", get(get_order))
        .route("/orders/{id}/events", get(order_events))
        .route("/events", get(feed))
        .route("/orders/{id}/transitions", post(transition))
        .route("/orders/{id}/shipments", post(add_tracking))
        .route(
            "/orders/{id}/shipments/{shipment_id}",
            put(correct_tracking),
        )
        .route("/orders/{id}/notes", post(add_note))
        .route("/orders/{id}/issues", post(raised::open_issue))
        .route("/orders/{id}/issues/{issue_id}", post(raised::issue_step))
        .route("/orders/{id}/driver", post(fleet::assign))
        .route("/driver/orders/{id}/reports", post(fleet::report))
        .route(
            "/orders/{id}/substitutions",
            post(raised::propose_substitutions),
        )
        .route("/orders/{id}/flags/resolve", post(resolve_flags))
        .route("/orders/{id}/parked/{event_id}", post(settle_parked))
        .route("/orders/{id}/refetch", post(refetch))
        .route("/admin/health", get(health))
        .route("/admin/sweep", post(sweep))
        .route(
            "/admin/customers/{customer_id}/erasure",
            post(erase_customer),
        )
        .route("/admin/reports/sla", get(reports::sla))
        .route("/admin/reports/span", get(reports::span))
        .route("/stores", get(reports::stores))
        .route(
            "/admin/lifecycles/{name}/migration",
            get(lifecycles::check).post(lifecycles::migrate),
        )
        .route(
            "/webhook-endpoints",
            get(endpoints::list).post(endpoints::register),
        )
        .route("/webhook-endpoints/{id}", delete(endpoints::remove))
        .route("/webhook-endpoints/{id}/enable", post(endpoints::enable))
        .route(
            "/webhook-endpoints/{id}/deliveries",
            get(endpoints::deliveries),
        )
        .route(
            "/webhook-endpoints/{id}/deliveries/{delivery_id}/redeliver",
            post(endpoints::redeliver),
        )
        .with_state(App {
            service,
            live: parts.live,
            tickets: parts.tickets,
            merchants: parts.merchants,
        })
}

/// The board page (and its script and stylesheet) needs no token; its data
/// does. `live` says where its WebSocket is, if anywhere.
pub fn pages(live: Live) -> Router {
    Router::new()
        .route("/board", get(board::page))
        .route("/board/app.js", get(board::script))
        .route("/board/analytics.js", get(board::analytics))
        .route("/board/app.css", get(board::stylesheet))
        .with_state(live)
}

async fn transition(
    State(App { service, .. }): State<App>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
    ApiJson(request): ApiJson<TransitionRequest>,
) -> Result<Json<OrderView>, Problem> {
    let view = service.transition(&principal, &id, request).await?;
    tracing::info!(order_id = %id, tenant = %principal.tenant, status = %view.head.status, "transition");
    Ok(Json(view))
}

/// Gives a package its tracking code after the fact ("tracking number
/// pending"), or adds another package.
async fn add_tracking(
    State(App { service, .. }): State<App>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
    ApiJson(tracking): ApiJson<TrackingInput>,
) -> Result<Json<OrderView>, Problem> {
    Ok(Json(service.add_tracking(&principal, &id, tracking).await?))
}

/// Replaces a package's tracking code (a typo, a relabelled parcel).
async fn correct_tracking(
    State(App { service, .. }): State<App>,
    principal: Principal,
    ApiPath((id, shipment_id)): ApiPath<(String, String)>,
    ApiJson(tracking): ApiJson<TrackingInput>,
) -> Result<Json<OrderView>, Problem> {
    Ok(Json(
        service
            .correct_tracking(&principal, &id, &shipment_id, tracking)
            .await?,
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Note {
    text: String,
}

async fn add_note(
    State(App { service, .. }): State<App>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
    ApiJson(note): ApiJson<Note>,
) -> Result<Json<OrderView>, Problem> {
    Ok(Json(service.add_note(&principal, &id, note.text).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Resolution {
    reason: String,
}

/// Marks review and exception flags as dealt with.
async fn resolve_flags(
    State(App { service, .. }): State<App>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
    ApiJson(resolution): ApiJson<Resolution>,
) -> Result<Json<OrderView>, Problem> {
    Ok(Json(
        service
            .resolve_flags(&principal, &id, resolution.reason)
            .await?,
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Settlement {
    action: ParkedAction,
    reason: String,
}

/// Applies (`apply`) or drops (`discard`) a parked fact.
async fn settle_parked(
    State(App { service, .. }): State<App>,
    principal: Principal,
    ApiPath((id, event_id)): ApiPath<(String, String)>,
    ApiJson(settlement): ApiJson<Settlement>,
) -> Result<Json<OrderView>, Problem> {
    let view = service
        .settle_parked(
            &principal,
            &id,
            &event_id,
            settlement.action,
            settlement.reason,
        )
        .await?;
    Ok(Json(view))
}

#[derive(Serialize)]
struct Refetched {
    order: OrderView,
    outcomes: Vec<FactOutcome>,
}

/// Asks the carriers again for the order's packages.
async fn refetch(
    State(App { service, .. }): State<App>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Refetched>, Problem> {
    let (order, outcomes) = service.refetch(&principal, &id).await?;
    Ok(Json(Refetched { order, outcomes }))
}

#[derive(Serialize)]
struct Health {
    orders: Vec<HealthEntry>,
}

/// Stalled and needs-review orders, oldest problem first, with what to do.
async fn health(
    State(App { service, .. }): State<App>,
    principal: Principal,
) -> Result<Json<Health>, Problem> {
    Ok(Json(Health {
        orders: service.health(&principal).await?,
    }))
}

/// A stall sweep now, for managers. It starts no batch in the last moments
/// before the request's deadline (on Lambda); the next run picks up the rest.
async fn sweep(
    State(App { service, .. }): State<App>,
    principal: Principal,
    deadline: Option<Deadline>,
) -> Result<Json<SweepReport>, Problem> {
    principal.require_manager()?;
    let until = deadline.map(Deadline::wrap_up_by);
    Ok(Json(service.sweep_until(until).await?))
}

/// Erases a customer's personal data (README › Personal data).
async fn erase_customer(
    State(App { service, .. }): State<App>,
    principal: Principal,
    ApiPath(customer_id): ApiPath<String>,
) -> Result<Json<Erasure>, Problem> {
    Ok(Json(
        service.erase_customer(&principal, &customer_id).await?,
    ))
}

async fn get_order(
    State(App { service, .. }): State<App>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
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
#[serde(deny_unknown_fields)]
struct FeedQuery {
    after: Option<String>,
    limit: Option<usize>,
}

#[derive(Serialize)]
struct FeedPage {
    events: Vec<order_core::bus::Envelope>,
    /// What to pass as `after` next: the last event's id, or the `after`
    /// given when nothing newer has settled yet.
    next_cursor: Option<String>,
}

/// The tenant's events in the order they were recorded, for merchants who
/// pull (or catch up after their endpoint was down): each as its webhook
/// delivery carries it.
async fn feed(
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
#[serde(deny_unknown_fields)]
struct ListParams {
    status: Option<String>,
    store: Option<String>,
    payment: Option<PaymentFilter>,
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

pub(crate) fn page_size(limit: Option<usize>) -> Result<usize, Problem> {
    match limit.unwrap_or(50) {
        n @ 1..=MAX_PAGE => Ok(n),
        _ => Err(Problem::new(
            axum::http::StatusCode::BAD_REQUEST,
            "Malformed query",
            format!("limit must be 1-{MAX_PAGE}"),
        )),
    }
}
