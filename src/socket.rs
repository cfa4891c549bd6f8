//! The live channels over a WebSocket, at `GET /live`: the same channels,
//! messages, ids and catch-up as the Server-Sent Events streams, one text
//! message per SSE message (`{"id":…,"event":…,"data":…}`).
//!
//! Who connects decides the channel, never a channel named by the client:
//! a customer names an order's public id (`?public_id=`) and follows that
//! order's customer channel; staff follow their tenant's store channel,
//! with a single-use ticket from `POST /live/tickets` (`?ticket=`, as on
//! AWS) or their JWT offered as a WebSocket subprotocol (`bearer.<token>`,
//! beside `order-tracking.v1`; this stack only) — browsers cannot set an
//! `Authorization` header on a WebSocket, and a token in the URL would end
//! up in logs. Both are checked before the upgrade: a refusal is an HTTP
//! problem, and no socket is opened. `?last_event_id=` resumes after a
//! message the client has, as `Last-Event-ID` does; the catch-up is sent
//! at once, so the `{"action":"resume"}` a client sends for AWS's sake
//! changes nothing here.

use std::sync::Arc;

use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use futures_util::{Stream, StreamExt};
use order_core::auth::{AuthError, JwtKeys};
use order_core::http::{unauthorized, ApiQuery, Problem};
use order_core::live::{self, CustomerChannel, Live, Out};
use order_core::ports::Tickets;
use order_core::service::{OrderService, ServiceError};
use serde::Deserialize;

/// The subprotocol the server speaks, echoed to a client that offers it.
const PROTOCOL: &str = "order-tracking.v1";
/// How a staff token is offered among the subprotocols.
const BEARER: &str = "bearer.";

#[derive(Clone)]
pub struct Socket {
    pub service: Arc<OrderService>,
    pub live: Live,
    pub keys: JwtKeys,
    pub tickets: Arc<dyn Tickets>,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct Connect {
    public_id: Option<String>,
    ticket: Option<String>,
    /// One of the tenant's stores, for a board that follows only it.
    store: Option<String>,
    last_event_id: Option<String>,
}

pub fn router(socket: Socket) -> Router {
    Router::new()
        .route("/live", get(connect))
        .with_state(socket)
}

#[utoipa::path(
        get,
        path = "/live",
        tag = "live",
        summary = "The live channels over a WebSocket",
        description = "A customer's channel with `public_id`; a staff channel with a `ticket` from `POST /live/tickets`, or a token offered as the `bearer.<jwt>` subprotocol. Frames carry event ids; `last_event_id` catches up.",
        params(Connect),
        responses(
            (status = 101, description = "Switched to the WebSocket protocol"),
            (status = 400, description = "Not a WebSocket upgrade, or a malformed query", body = Problem, content_type = "application/problem+json"),
            (status = 401, description = "No ticket or token, or a bad one", body = Problem, content_type = "application/problem+json"),
            (status = 403, description = "Not staff, or not one of the token's stores", body = Problem, content_type = "application/problem+json"),
            (status = 404, description = "No such order", body = Problem, content_type = "application/problem+json"),
            (status = 426, description = "The connection cannot be upgraded", body = Problem, content_type = "application/problem+json"),
        ),
)]
async fn connect(
    State(socket): State<Socket>,
    ApiQuery(connect): ApiQuery<Connect>,
    headers: HeaderMap,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response, Problem> {
    // axum's own refusal is plain text; every error here is a problem.
    let upgrade =
        upgrade.map_err(|e| Problem::new(e.status(), "Not a WebSocket upgrade", e.body_text()))?;
    let offered: Vec<&str> = headers
        .get_all(header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    let last_event_id = connect.last_event_id.as_deref();
    let upgrade = match offered.contains(&PROTOCOL) {
        true => upgrade.protocols([PROTOCOL]),
        false => upgrade,
    };
    if let Some(public_id) = &connect.public_id {
        // A customer's ids are sequence numbers; anything else starts over.
        let after = last_event_id.and_then(|id| id.parse().ok());
        let channel = CustomerChannel::open(socket.service.clone(), public_id, after).await?;
        return Ok(serve(upgrade, live::follow(&socket.live, None, channel)));
    }
    let principal = if let Some(ticket) = &connect.ticket {
        socket
            .tickets
            .redeem(ticket, chrono::Utc::now())
            .await
            .map_err(ServiceError::from)?
            .ok_or_else(|| {
                Problem::new(
                    StatusCode::UNAUTHORIZED,
                    "Unauthorized",
                    "the ticket is unknown, used or expired: get a new one from POST /live/tickets",
                )
            })?
    } else {
        let token = offered.iter().find_map(|p| p.strip_prefix(BEARER));
        match token.map(|t| socket.keys.verify(t)) {
            Some(verified) => verified.map_err(|e| unauthorized(&e))?,
            None => return Err(unauthorized(&AuthError::Missing)),
        }
    };
    principal.require_staff()?;
    let principal = principal.viewing(connect.store.as_deref())?;
    let channel = live::store_channel(socket.service.clone(), principal, last_event_id);
    Ok(serve(upgrade, live::follow(&socket.live, None, channel)))
}

/// Sends what the channel follows until either side goes: each frame's
/// text as a message (shared, never serialized again here), a ping for a
/// heartbeat. A client that reads slowly holds up only its own socket; the
/// hub then drops it into a catch-up from the store, as it does a slow SSE
/// client.
fn serve(upgrade: WebSocketUpgrade, updates: impl Stream<Item = Out> + Send + 'static) -> Response {
    // A client sends nothing but pongs and goodbye, and every message out is
    // sent as it comes: small buffers (the defaults, 128 KiB each way, made
    // a connection cost 141 KiB, against 19 KiB for an SSE stream), and a
    // small cap on what a client may send.
    let upgrade = upgrade
        .read_buffer_size(4 * 1024)
        .write_buffer_size(0)
        .max_message_size(16 * 1024)
        .max_frame_size(16 * 1024);
    upgrade.on_upgrade(move |mut ws: WebSocket| async move {
        let mut updates = std::pin::pin!(updates);
        loop {
            tokio::select! {
                out = updates.next() => {
                    let message = match out {
                        Some(Out::Frame(frame)) => match Utf8Bytes::try_from(frame.text().clone()) {
                            Ok(text) => Message::Text(text),
                            Err(_) => continue,
                        },
                        Some(Out::Heartbeat) => Message::Ping(Default::default()),
                        None => break,
                    };
                    if ws.send(message).await.is_err() {
                        return;
                    }
                }
                incoming = ws.recv() => match incoming {
                    // The client says nothing the server acts on but goodbye.
                    Some(Ok(Message::Close(_))) | Some(Err(_)) | None => return,
                    Some(Ok(_)) => {}
                },
            }
        }
        let _ = ws.send(Message::Close(None)).await;
    })
}
