//! The customer's tracking view, by unguessable public id only: honest
//! per-state messages, no email, phone or street address, never the
//! internal order id. Also its live stream (Server-Sent Events) and the
//! tracking page a customer opens.

mod page;

use std::convert::Infallible;
use std::sync::Arc;

use async_trait::async_trait;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::routing::{get, post};
use axum::{Json, Router};
use futures_util::Stream;
use order_core::deadline::Deadline;
use order_core::http::{ApiPath, Problem};
use order_core::live::{self, customer_update, Channel, Live, Sender, HEARTBEAT};
use order_core::order::Event;
use order_core::service::{OrderService, TrackedOrder};
use order_core::views::TrackingView;
use tokio::sync::mpsc;

#[derive(Clone)]
struct App {
    service: Arc<OrderService>,
    live: Live,
}

pub fn router(service: Arc<OrderService>, live: Live) -> Router {
    Router::new()
        .route("/track/{public_id}", get(track))
        .route("/track/{public_id}/events", get(stream))
        .route(
            "/track/{public_id}/substitutions",
            post(answer_substitutions),
        )
        .route("/t/{public_id}", get(page::tracking_page))
        .route("/t/app.js", get(page::script))
        .route("/t/app.css", get(page::stylesheet))
        .with_state(App { service, live })
}

async fn track(
    State(app): State<App>,
    ApiPath(public_id): ApiPath<String>,
) -> Result<Json<TrackingView>, Problem> {
    Ok(Json(app.service.track(&public_id).await?))
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Answer {
    decision: Decision,
}

#[derive(serde::Deserialize, PartialEq)]
#[serde(rename_all = "snake_case")]
enum Decision {
    Approve,
    Reject,
}

async fn answer_substitutions(
    State(app): State<App>,
    ApiPath(public_id): ApiPath<String>,
    order_core::http::ApiJson(answer): order_core::http::ApiJson<Answer>,
) -> Result<Json<TrackingView>, Problem> {
    let approve = answer.decision == Decision::Approve;
    Ok(Json(
        app.service
            .answer_substitutions(&public_id, approve)
            .await?,
    ))
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
async fn stream(
    State(app): State<App>,
    ApiPath(public_id): ApiPath<String>,
    deadline: Option<Deadline>,
    headers: HeaderMap,
) -> Result<Sse<impl Stream<Item = Result<SseEvent, Infallible>>>, Problem> {
    let channel = OrderChannel {
        order: app.service.tracked_order(&public_id).await?,
        service: app.service.clone(),
        // A first visit starts from the beginning of the order's story.
        sent: last_event_id(&headers).unwrap_or(0),
    };
    let ends = app.live.ends_at(deadline);
    let (tx, mut rx) = mpsc::channel(64);
    tokio::spawn(live::produce(app.live, ends, channel, tx));
    let events = futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx));
    Ok(Sse::new(events).keep_alive(KeepAlive::new().interval(HEARTBEAT)))
}

/// One customer's order: every event the customer may see, by sequence number.
struct OrderChannel {
    service: Arc<OrderService>,
    order: TrackedOrder,
    /// The last sequence number sent (the client's `Last-Event-ID` at first).
    sent: u64,
}

#[async_trait]
impl Channel for OrderChannel {
    async fn catch_up(&mut self, tx: &Sender) -> Option<()> {
        let events = self
            .service
            .tracked_events(&self.order, self.sent, 1000)
            .await
            .ok()?;
        for event in events {
            self.sent = event.seq;
            if let Some(update) = customer_update(&event) {
                let message = SseEvent::default()
                    .id(event.seq.to_string())
                    .event(update.kind)
                    .json_data(&update)
                    .ok()?;
                tx.send(Ok(message)).await.ok()?;
            }
        }
        Some(())
    }

    fn concerns(&self, event: &Event) -> bool {
        event.order_id == self.order.order_id() && event.seq > self.sent
    }
}
