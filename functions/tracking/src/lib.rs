//! The customer's tracking view, by unguessable public id only: honest
//! per-state messages, no email, phone or street address, never the
//! internal order id. Also its live stream (Server-Sent Events) and the
//! tracking page a customer opens.

mod page;

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::routing::{get, post};
use axum::{Json, Router};
use futures_util::Stream;
use order_core::deadline::Deadline;
use order_core::http::{ApiPath, Problem};
use order_core::live::{self, customer_update, Live, HEARTBEAT, POLL_EVERY};
use order_core::order::Head;
use order_core::service::OrderService;
use order_core::views::TrackingView;
use tokio::sync::broadcast::error::RecvError;
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
    order_core::order::limits::id("public id", &public_id)
        .map_err(order_core::service::ServiceError::from)?;
    let head = app
        .service
        .store()
        .find_by_public_id(&public_id)
        .await
        .map_err(order_core::service::ServiceError::from)?
        .ok_or_else(order_core::http::Problem::not_found)?;
    let ends = app.live.ends_at(deadline);
    let (tx, mut rx) = mpsc::channel(64);
    tokio::spawn(produce(app, head, last_event_id(&headers), ends, tx));
    let events = futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx));
    Ok(Sse::new(events).keep_alive(KeepAlive::new().interval(HEARTBEAT)))
}

type Sender = mpsc::Sender<Result<SseEvent, Infallible>>;

/// Sends the events after `after`; returns the last sequence number sent,
/// or `None` once the client has gone.
async fn catch_up(app: &App, head: &Head, after: u64, tx: &Sender) -> Option<u64> {
    let mut sent = after;
    let events = app
        .service
        .store()
        .events(&head.id, after, 1000)
        .await
        .ok()?;
    for event in events {
        sent = event.seq;
        if let Some(update) = customer_update(&event) {
            let message = SseEvent::default()
                .id(event.seq.to_string())
                .event(update.kind)
                .json_data(&update)
                .ok()?;
            tx.send(Ok(message)).await.ok()?;
        }
    }
    Some(sent)
}

async fn produce(app: App, head: Head, last: Option<u64>, ends: Option<Instant>, tx: Sender) {
    // Subscribe first, so nothing committed during the catch-up is missed.
    let mut feed = app.live.subscribe();
    let mut end = std::pin::pin!(live::until(ends));
    // A first visit starts from the beginning of the order's story.
    let Some(mut sent) = catch_up(&app, &head, last.unwrap_or(0), &tx).await else {
        return;
    };
    loop {
        let news = match &mut feed {
            Some(feed) => tokio::select! {
                received = feed.recv() => match received {
                    Ok(event) => event.order_id == head.id && event.seq > sent,
                    // Fell behind the feed: the store has everything.
                    Err(RecvError::Lagged(_)) => true,
                    Err(RecvError::Closed) => return,
                },
                _ = tx.closed() => return,
                _ = &mut end => return,
            },
            None => {
                tokio::select! {
                    _ = tokio::time::sleep(POLL_EVERY) => {}
                    _ = tx.closed() => return,
                    _ = &mut end => return,
                }
                true
            }
        };
        if news {
            match catch_up(&app, &head, sent, &tx).await {
                Some(last) => sent = last,
                None => return,
            }
        }
    }
}
