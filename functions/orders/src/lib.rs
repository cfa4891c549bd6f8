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
use order_core::deadline::Deadline;
use order_core::http::{ApiJson, ApiPath, Problem};
use order_core::live::Live;
use order_core::order::decide::ParkedAction;
use order_core::order::TrackingInput;
use order_core::ports::Tickets;
use order_core::service::{
    FactOutcome, HealthEntry, Merchants, OrderService, SweepReport, TransitionRequest,
};
use order_core::views::OrderView;
use serde::{Deserialize, Serialize};

const MAX_PAGE: usize = 200;

mod audit;
mod board;
mod endpoints;
mod erasure;
mod fleet;
mod lifecycles;
#[cfg(feature = "openapi")]
pub mod openapi;
mod raised;
mod reads;
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
        .route("/orders", get(reads::list_orders))
        .route("/orders/{id}", get(reads::get_order))
        .route("/orders/{id}/events", get(reads::order_events))
        .route("/orders/{id}/events/verify", get(audit::verify_order))
        .route("/admin/audit/verify", get(audit::verify_tenant))
        .route("/events", get(reads::feed))
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
            post(erasure::erase_customer),
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

#[cfg_attr(
    feature = "openapi",
    utoipa::path(
        post,
        path = "/orders/{id}/transitions",
        tag = "orders",
        summary = "Move the order to another state",
        params(("id" = String, Path, description = "The order id")),
        request_body = TransitionRequest,
        responses(
        (status = 200, description = "The order after the command", body = OrderView),
        ),
        security(("bearer" = [])),
    )
)]
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
#[cfg_attr(
    feature = "openapi",
    utoipa::path(
        post,
        path = "/orders/{id}/shipments",
        tag = "orders",
        summary = "Add a tracking code or another package",
        params(("id" = String, Path, description = "The order id")),
        request_body = TrackingInput,
        responses(
        (status = 200, description = "The order after the command", body = OrderView),
        ),
        security(("bearer" = [])),
    )
)]
async fn add_tracking(
    State(App { service, .. }): State<App>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
    ApiJson(tracking): ApiJson<TrackingInput>,
) -> Result<Json<OrderView>, Problem> {
    Ok(Json(service.add_tracking(&principal, &id, tracking).await?))
}

/// Replaces a package's tracking code (a typo, a relabelled parcel).
#[cfg_attr(
    feature = "openapi",
    utoipa::path(
        put,
        path = "/orders/{id}/shipments/{shipment_id}",
        tag = "orders",
        summary = "Replace a package's tracking code",
        params(("id" = String, Path, description = "The order id"), ("shipment_id" = String, Path, description = "The package")),
        request_body = TrackingInput,
        responses(
        (status = 200, description = "The order after the command", body = OrderView),
        ),
        security(("bearer" = [])),
    )
)]
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
struct Note {
    #[cfg_attr(feature = "openapi", schema(max_length = 2000))]
    text: String,
}

#[cfg_attr(
    feature = "openapi",
    utoipa::path(
        post,
        path = "/orders/{id}/notes",
        tag = "orders",
        summary = "Add a staff note",
        params(("id" = String, Path, description = "The order id")),
        request_body = Note,
        responses(
        (status = 200, description = "The order after the command", body = OrderView),
        ),
        security(("bearer" = [])),
    )
)]
async fn add_note(
    State(App { service, .. }): State<App>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
    ApiJson(note): ApiJson<Note>,
) -> Result<Json<OrderView>, Problem> {
    Ok(Json(service.add_note(&principal, &id, note.text).await?))
}

#[derive(Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
struct Resolution {
    #[cfg_attr(feature = "openapi", schema(max_length = 2000))]
    reason: String,
}

/// Marks review and exception flags as dealt with.
#[cfg_attr(
    feature = "openapi",
    utoipa::path(
        post,
        path = "/orders/{id}/flags/resolve",
        tag = "orders",
        summary = "Mark review and exception flags as dealt with",
        params(("id" = String, Path, description = "The order id")),
        request_body = Resolution,
        responses(
        (status = 200, description = "The order after the command", body = OrderView),
        ),
        security(("bearer" = [])),
    )
)]
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
struct Settlement {
    action: ParkedAction,
    #[cfg_attr(feature = "openapi", schema(max_length = 2000))]
    reason: String,
}

/// Applies (`apply`) or drops (`discard`) a parked fact.
#[cfg_attr(
    feature = "openapi",
    utoipa::path(
        post,
        path = "/orders/{id}/parked/{event_id}",
        tag = "orders",
        summary = "Apply or discard a parked fact",
        params(("id" = String, Path, description = "The order id"), ("event_id" = String, Path, description = "The parked fact")),
        request_body = Settlement,
        responses(
        (status = 200, description = "The order after the command", body = OrderView),
        ),
        security(("bearer" = [])),
    )
)]
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
struct Refetched {
    order: OrderView,
    outcomes: Vec<FactOutcome>,
}

/// Asks the carriers again for the order's packages.
#[cfg_attr(
    feature = "openapi",
    utoipa::path(
        post,
        path = "/orders/{id}/refetch",
        tag = "orders",
        summary = "Ask the carriers again for the order's packages",
        params(("id" = String, Path, description = "The order id")),
        responses(
            (status = 200, description = "The order and what became of each carrier fact", body = Refetched),
            (status = 422, description = "No carrier client is configured", body = Problem, content_type = "application/problem+json"),
            (status = 503, description = "A carrier could not be reached", body = Problem, content_type = "application/problem+json"),
        ),
        security(("bearer" = [])),
    )
)]
async fn refetch(
    State(App { service, .. }): State<App>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Refetched>, Problem> {
    let (order, outcomes) = service.refetch(&principal, &id).await?;
    Ok(Json(Refetched { order, outcomes }))
}

#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
struct Health {
    orders: Vec<HealthEntry>,
}

/// Stalled and needs-review orders, oldest problem first, with what to do.
#[cfg_attr(
    feature = "openapi",
    utoipa::path(
        get,
        path = "/admin/health",
        tag = "admin",
        summary = "Stalled and needs-review orders, oldest problem first",
        responses((status = 200, description = "The orders that need someone", body = Health)),
        security(("bearer" = [])),
    )
)]
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
#[cfg_attr(
    feature = "openapi",
    utoipa::path(
        post,
        path = "/admin/sweep",
        tag = "admin",
        summary = "Run a stall sweep now (managers)",
        responses((status = 200, description = "What the sweep flagged", body = SweepReport)),
        security(("bearer" = [])),
    )
)]
async fn sweep(
    State(App { service, .. }): State<App>,
    principal: Principal,
    deadline: Option<Deadline>,
) -> Result<Json<SweepReport>, Problem> {
    principal.require_manager()?;
    let until = deadline.map(Deadline::wrap_up_by);
    Ok(Json(service.sweep_until(until).await?))
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
