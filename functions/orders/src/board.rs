//! The staff board: orders by status for the signed-in tenant, live, with
//! the order detail, its allowed next actions as buttons, and the health
//! view with the reconciliation actions. One HTML page with its script and
//! stylesheet, served under the pages' Content-Security-Policy
//! ([`order_core::pages`]); its data comes from the authenticated API, and
//! its live feed from `GET /orders/stream` or, pushed, the WebSocket a
//! ticket from `POST /live/tickets` opens.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Json;
use order_core::auth::Principal;
use order_core::deadline::Deadline;
use order_core::http::{ApiQuery, Problem};
use order_core::live::{self, store_channel, Live};
use order_core::pages;
use order_core::ports::Ticket;
use serde::Deserialize;

use crate::App;

/// The board follows its store channel over the WebSocket where there is
/// one, and over `GET /orders/stream` otherwise.
#[cfg_attr(
    feature = "openapi",
    utoipa::path(
        get,
        path = "/board",
        tag = "pages",
        summary = "The staff board (HTML; its data needs a token)",
        responses((status = 200, description = "The page", content_type = "text/html", body = String)),
    )
)]
pub async fn page(State(live): State<Live>) -> Response {
    pages::live_page(include_str!("board.html"), live.socket())
}

#[cfg_attr(
    feature = "openapi",
    utoipa::path(
        get,
        path = "/board/app.js",
        tag = "pages",
        summary = "The board's script",
        responses((status = 200, description = "JavaScript", content_type = "text/javascript", body = String)),
    )
)]
pub async fn script() -> Response {
    pages::script(include_str!("board.js"))
}

/// The Analytics tab's charts.
#[cfg_attr(
    feature = "openapi",
    utoipa::path(
        get,
        path = "/board/analytics.js",
        tag = "pages",
        summary = "The board's analytics script",
        responses((status = 200, description = "JavaScript", content_type = "text/javascript", body = String)),
    )
)]
pub async fn analytics() -> Response {
    pages::script(include_str!("analytics.js"))
}

#[cfg_attr(
    feature = "openapi",
    utoipa::path(
        get,
        path = "/board/app.css",
        tag = "pages",
        summary = "The board's stylesheet",
        responses((status = 200, description = "CSS", content_type = "text/css", body = String)),
    )
)]
pub async fn stylesheet() -> Response {
    pages::stylesheet(include_str!("board.css"))
}

/// Which of the tenant's stores a board follows: all of them (or the one
/// its token is limited to) unless it names one.
#[derive(Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams), into_params(parameter_in = Query))]
#[serde(deny_unknown_fields)]
pub struct Follow {
    store: Option<String>,
}

/// The store channel, scoped to the principal's tenant when it subscribes:
/// events of other tenants never reach it. On Lambda it ends in time to
/// answer before the invocation's deadline.
#[cfg_attr(
    feature = "openapi",
    utoipa::path(
        get,
        path = "/orders/stream",
        tag = "live",
        summary = "The tenant's store channel, or one store's, as server-sent events",
        params(Follow, ("Last-Event-ID" = Option<String>, Header, description = "Catch up from this event")),
        responses((status = 200, description = "An event stream", content_type = "text/event-stream", body = String)),
        security(("bearer" = [])),
    )
)]
pub async fn stream(
    State(app): State<App>,
    principal: Principal,
    deadline: Option<Deadline>,
    headers: HeaderMap,
    ApiQuery(follow): ApiQuery<Follow>,
) -> Result<Response, Problem> {
    principal.require_staff()?;
    let principal = principal.viewing(follow.store.as_deref())?;
    let last_event_id = headers.get("last-event-id").and_then(|v| v.to_str().ok());
    let channel = store_channel(app.service.clone(), principal, last_event_id);
    Ok(live::respond(
        &app.live,
        app.live.ends_at(deadline),
        channel,
    ))
}

/// How long a ticket waits to be redeemed: a browser connects right after.
const TICKET_LIFETIME: chrono::Duration = chrono::Duration::seconds(60);

/// A single-use ticket for the staff WebSocket (`GET /live?ticket=…`):
/// browsers cannot set an `Authorization` header on a WebSocket, and a
/// bearer token in a URL would end up in logs; a ticket there is worth one
/// connection within a minute.
#[cfg_attr(
    feature = "openapi",
    utoipa::path(
        post,
        path = "/live/tickets",
        tag = "live",
        summary = "A single-use ticket for one staff WebSocket connection within a minute",
        params(Follow),
        responses((status = 201, description = "The ticket", body = Ticket)),
        security(("bearer" = [])),
    )
)]
pub async fn ticket(
    State(app): State<App>,
    principal: Principal,
    ApiQuery(follow): ApiQuery<Follow>,
) -> Result<(StatusCode, Json<Ticket>), Problem> {
    principal.require_staff()?;
    // The ticket holds the channel: the connection cannot widen it.
    let principal = principal.viewing(follow.store.as_deref())?;
    let expires_at = chrono::Utc::now() + TICKET_LIFETIME;
    let ticket = app
        .tickets
        .issue(&principal, expires_at)
        .await
        .map_err(order_core::service::ServiceError::from)?;
    Ok((StatusCode::CREATED, Json(ticket)))
}
