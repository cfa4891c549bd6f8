//! The customer's tracking view, by unguessable public id only: honest
//! per-state messages, no email, phone or street address, never the
//! internal order id. Also its live stream (Server-Sent Events), the
//! tracking page a customer opens, and the customer's own choices: answers
//! to substitutions, cancelling while they still may, and what they are
//! told.

#[cfg(feature = "openapi")]
pub mod openapi;
mod page;

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Json, Router};
use order_core::deadline::Deadline;
use order_core::http::{ApiPath, Problem};
use order_core::live::{self, CustomerChannel, Live};
use order_core::notify::{LinkError, LinkKey};
use order_core::order::substitution::LineDecision;
use order_core::order::NotifyPrefs;
use order_core::service::{CustomerAnswer, MyOrder, OrderService};
use order_core::views::TrackingView;

#[derive(Clone)]
struct App {
    service: Arc<OrderService>,
    live: Live,
    /// Checks "my orders" links; without one, no link opens anything.
    links: Option<LinkKey>,
}

pub fn router(service: Arc<OrderService>, live: Live, links: Option<LinkKey>) -> Router {
    Router::new()
        .route("/my-orders/{link}", get(my_orders))
        .route("/my/{link}", get(page::my_orders_page))
        .route("/my/app.js", get(page::my_orders_script))
        .route("/track/{public_id}", get(track))
        .route("/track/{public_id}/events", get(stream))
        .route(
            "/track/{public_id}/substitutions",
            post(answer_substitutions),
        )
        .route(
            "/track/{public_id}/notifications",
            post(choose_notifications),
        )
        .route("/track/{public_id}/cancel", post(cancel))
        .route("/t/{public_id}", get(page::tracking_page))
        .route("/t/app.js", get(page::script))
        .route("/t/app.css", get(page::stylesheet))
        .with_state(App {
            service,
            live,
            links,
        })
}

#[derive(serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
struct MyOrders {
    orders: Vec<MyOrder>,
}

/// The orders a signed "my orders" link opens: 404 for a link that is not
/// ours, 410 for one past its date.
#[cfg_attr(
    feature = "openapi",
    utoipa::path(
        get,
        path = "/my-orders/{link}",
        tag = "tracking",
        summary = "The customer's orders, for a signed link from their messages",
        params(("link" = String, Path, description = "The signed link")),
        responses(
            (status = 200, description = "Their orders", body = MyOrders),
            (status = 410, description = "The link has expired", body = Problem, content_type = "application/problem+json"),
        ),
    )
)]
async fn my_orders(
    State(app): State<App>,
    ApiPath(link): ApiPath<String>,
) -> Result<Json<MyOrders>, Problem> {
    let not_ours = || {
        Problem::new(
            StatusCode::NOT_FOUND,
            "Not found",
            LinkError::Forged.to_string(),
        )
    };
    let key = app.links.as_ref().ok_or_else(not_ours)?;
    let public_id = key.verify(&link, app.service.now()).map_err(|e| match e {
        LinkError::Forged => not_ours(),
        LinkError::Expired => Problem::new(StatusCode::GONE, "Link expired", e.to_string()),
    })?;
    Ok(Json(MyOrders {
        orders: app.service.my_orders(&public_id).await?,
    }))
}

#[cfg_attr(
    feature = "openapi",
    utoipa::path(
        get,
        path = "/track/{public_id}",
        tag = "tracking",
        summary = "The customer's view: status, honest message, timeline, packages, driver and ETA",
        params(("public_id" = String, Path, description = "The order's public id, from the customer's link")),
        responses((status = 200, description = "The view", body = TrackingView)),
    )
)]
async fn track(
    State(app): State<App>,
    ApiPath(public_id): ApiPath<String>,
) -> Result<Json<TrackingView>, Problem> {
    Ok(Json(app.service.track(&public_id).await?))
}

/// `{"decision": "approve" | "reject"}` for the whole proposal, or
/// `{"answers": ["approve", "reject", "cancel_line", …]}`, one per
/// proposed line in order.
#[derive(serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
struct Answer {
    decision: Option<Decision>,
    answers: Option<Vec<LineDecision>>,
}

#[derive(serde::Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
enum Decision {
    Approve,
    Reject,
}

#[cfg_attr(
    feature = "openapi",
    utoipa::path(
        post,
        path = "/track/{public_id}/substitutions",
        tag = "tracking",
        summary = "The customer's answer to proposed substitutions",
        params(("public_id" = String, Path, description = "The order's public id, from the customer's link")),
        request_body(content = Answer, example = json!({"decision": "approve"})),
        responses(
        (status = 200, description = "The customer's view after the command", body = TrackingView),
        (status = 409, description = "Lost a race with another command", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Too late for that", body = Problem, content_type = "application/problem+json"),
        ),
    )
)]
async fn answer_substitutions(
    State(app): State<App>,
    ApiPath(public_id): ApiPath<String>,
    order_core::http::ApiJson(answer): order_core::http::ApiJson<Answer>,
) -> Result<Json<TrackingView>, Problem> {
    let answer = match (answer.decision, answer.answers) {
        (Some(decision), None) => CustomerAnswer::All {
            approve: decision == Decision::Approve,
        },
        (None, Some(answers)) => CustomerAnswer::Lines(answers),
        _ => {
            return Err(Problem::new(
                StatusCode::BAD_REQUEST,
                "Malformed body",
                "answer with either decision or answers",
            ))
        }
    };
    Ok(Json(
        app.service.answer_substitutions(&public_id, answer).await?,
    ))
}

/// Why the customer cancels, if they say.
#[derive(serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
struct Cancellation {
    reason: Option<String>,
}

/// The customer cancels the order themselves, while its lifecycle lets
/// them (the view says so: `can_cancel`).
#[cfg_attr(
    feature = "openapi",
    utoipa::path(
        post,
        path = "/track/{public_id}/cancel",
        tag = "tracking",
        summary = "The customer cancels while they still may",
        params(("public_id" = String, Path, description = "The order's public id, from the customer's link")),
        request_body(content = Cancellation, example = json!({"reason": "ordered twice"})),
        responses(
        (status = 200, description = "The customer's view after the command", body = TrackingView),
        (status = 409, description = "Lost a race with another command", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Too late for that", body = Problem, content_type = "application/problem+json"),
        ),
    )
)]
async fn cancel(
    State(app): State<App>,
    ApiPath(public_id): ApiPath<String>,
    order_core::http::ApiJson(cancellation): order_core::http::ApiJson<Cancellation>,
) -> Result<Json<TrackingView>, Problem> {
    Ok(Json(
        app.service
            .cancel_as_customer(&public_id, cancellation.reason)
            .await?,
    ))
}

/// What the customer is told of this order, all of it at once: nothing
/// (`opted_out`), or which news by email and by SMS (none: the store's).
#[derive(serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
struct Choices {
    #[serde(default)]
    opted_out: bool,
    email: Option<Vec<String>>,
    sms: Option<Vec<String>>,
}

#[cfg_attr(
    feature = "openapi",
    utoipa::path(
        post,
        path = "/track/{public_id}/notifications",
        tag = "tracking",
        summary = "What the customer is told, and how",
        params(("public_id" = String, Path, description = "The order's public id, from the customer's link")),
        request_body(content = Choices, example = json!({"opted_out": false, "email": ["shipped", "delivered"]})),
        responses(
        (status = 200, description = "The customer's view after the command", body = TrackingView),
        (status = 409, description = "Lost a race with another command", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Too late for that", body = Problem, content_type = "application/problem+json"),
        ),
    )
)]
async fn choose_notifications(
    State(app): State<App>,
    ApiPath(public_id): ApiPath<String>,
    order_core::http::ApiJson(choices): order_core::http::ApiJson<Choices>,
) -> Result<Json<TrackingView>, Problem> {
    let prefs = NotifyPrefs {
        opted_out: choices.opted_out,
        email: choices.email,
        sms: choices.sms,
    };
    Ok(Json(app.service.set_notify_prefs(&public_id, prefs).await?))
}

/// `Last-Event-ID` as the sequence number of the last event the client saw.
fn last_event_id(headers: &HeaderMap) -> Option<u64> {
    headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
}

/// The order's live stream. Every message carries the order's event
/// sequence number as its id; a client reconnecting with `Last-Event-ID`
/// first gets what it missed, then live news. On Lambda it ends in time to
/// answer before the invocation's deadline, and the browser reconnects.
#[cfg_attr(
    feature = "openapi",
    utoipa::path(
        get,
        path = "/track/{public_id}/events",
        tag = "live",
        summary = "The customer's live stream (server-sent events)",
        params(("public_id" = String, Path, description = "The order's public id, from the customer's link"), ("Last-Event-ID" = Option<String>, Header, description = "Catch up from this event")),
        responses((status = 200, description = "An event stream", content_type = "text/event-stream", body = String)),
    )
)]
async fn stream(
    State(app): State<App>,
    ApiPath(public_id): ApiPath<String>,
    deadline: Option<Deadline>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    let channel =
        CustomerChannel::open(app.service.clone(), &public_id, last_event_id(&headers)).await?;
    Ok(live::respond(
        &app.live,
        app.live.ends_at(deadline),
        channel,
    ))
}
