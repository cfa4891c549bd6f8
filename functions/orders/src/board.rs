//! The staff board: orders by status for the signed-in tenant, live, with
//! the order detail, its allowed next actions as buttons, and the health
//! view with the reconciliation actions. One HTML page; its data comes from
//! the authenticated API, and its live feed from `GET /orders/stream`.

use std::convert::Infallible;
use std::time::Instant;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::Html;
use futures_util::Stream;
use order_core::auth::Principal;
use order_core::http::Problem;
use order_core::live::{HEARTBEAT, POLL_EVERY};
use order_core::order::OrderSummary;
use order_core::ports::ListQuery;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::mpsc;

use crate::App;

pub async fn page() -> Html<&'static str> {
    Html(include_str!("board.html"))
}

type Sender = mpsc::Sender<Result<SseEvent, Infallible>>;

/// Message ids are `<updated_at>|<order id>`: a reconnecting board gets every
/// order updated since, then live changes.
fn message(summary: &OrderSummary) -> Option<SseEvent> {
    let id = format!(
        "{}|{}",
        summary
            .updated_at
            .to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        summary.id
    );
    SseEvent::default()
        .id(id)
        .event("order")
        .json_data(summary)
        .ok()
}

/// The store channel, scoped to the principal's tenant when it subscribes:
/// events of other tenants never reach it.
pub async fn stream(
    State(app): State<App>,
    principal: Principal,
    headers: HeaderMap,
) -> Result<Sse<impl Stream<Item = Result<SseEvent, Infallible>>>, Problem> {
    principal.require_staff()?;
    let since = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split('|').next())
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&chrono::Utc));
    let (tx, mut rx) = mpsc::channel(256);
    tokio::spawn(produce(app, principal, since, tx));
    let events = futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx));
    Ok(Sse::new(events).keep_alive(KeepAlive::new().interval(HEARTBEAT)))
}

/// Sends the tenant's orders updated after `since` (oldest first); returns
/// the newest update time sent, or `None` once the client has gone.
async fn catch_up(
    app: &App,
    principal: &Principal,
    since: chrono::DateTime<chrono::Utc>,
    tx: &Sender,
) -> Option<chrono::DateTime<chrono::Utc>> {
    let mut query = ListQuery {
        tenant: principal.tenant.clone(),
        limit: 200,
        ..ListQuery::default()
    };
    let mut changed = Vec::new();
    'pages: loop {
        let page = app.service.list(principal, query.clone()).await.ok()?;
        for summary in page.items {
            if summary.updated_at <= since {
                break 'pages;
            }
            changed.push(summary);
        }
        match page.next {
            Some(next) => query.after = Some(next),
            None => break,
        }
    }
    let newest = changed.first().map_or(since, |s| s.updated_at);
    for summary in changed.iter().rev() {
        tx.send(Ok(message(summary)?)).await.ok()?;
    }
    Some(newest)
}

async fn produce(
    app: App,
    principal: Principal,
    since: Option<chrono::DateTime<chrono::Utc>>,
    tx: Sender,
) {
    let mut feed = app.live.subscribe();
    let deadline = app.live.budget().map(|b| Instant::now() + b);
    let mut seen = match since {
        Some(since) => match catch_up(&app, &principal, since, &tx).await {
            Some(newest) => newest,
            None => return,
        },
        None => chrono::Utc::now(),
    };
    loop {
        match &mut feed {
            Some(feed) => {
                let event = tokio::select! {
                    received = feed.recv() => received,
                    _ = tx.closed() => return,
                };
                match event {
                    Ok(event) if event.tenant == principal.tenant => {
                        let Ok(Some(loaded)) = app.service.store().load(&event.order_id).await
                        else {
                            continue;
                        };
                        let summary = loaded.head.summary();
                        seen = seen.max(summary.updated_at);
                        let Some(message) = message(&summary) else {
                            continue;
                        };
                        if tx.send(Ok(message)).await.is_err() {
                            return;
                        }
                    }
                    Ok(_) => {}
                    Err(RecvError::Lagged(_)) => {
                        match catch_up(&app, &principal, seen, &tx).await {
                            Some(newest) => seen = newest,
                            None => return,
                        }
                    }
                    Err(RecvError::Closed) => return,
                }
            }
            None => {
                if deadline.is_some_and(|d| Instant::now() >= d) {
                    return;
                }
                tokio::select! {
                    _ = tokio::time::sleep(POLL_EVERY) => {}
                    _ = tx.closed() => return,
                }
                match catch_up(&app, &principal, seen, &tx).await {
                    Some(newest) => seen = newest,
                    None => return,
                }
            }
        }
    }
}
