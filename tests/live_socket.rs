//! The live channels over the local stack's WebSocket (`GET /live`), black
//! box with a real WebSocket client: the same messages and ids as the SSE
//! streams, catch-up from `last_event_id`, staff admitted by a single-use
//! ticket (as on AWS) or a token offered as a subprotocol, and a channel
//! chosen by who connects — never another tenant's orders, never another
//! order's news or a customer's contact.

mod common;

use std::time::Duration;

use common::*;
use futures_util::{SinkExt, StreamExt};
use order_core::auth::Role;
use reqwest::Method;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::{Error, Message};

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

const WAIT: Duration = Duration::from_secs(5);

/// Opens `/live?query`, offering `protocols` (comma-separated) if any.
async fn connect(server: &Server, query: &str, protocols: Option<&str>) -> Result<Socket, Error> {
    let url = server
        .url(&format!("/live?{query}"))
        .replace("http://", "ws://");
    let mut request = url.into_client_request().unwrap();
    if let Some(protocols) = protocols {
        request.headers_mut().insert(
            "sec-websocket-protocol",
            HeaderValue::from_str(protocols).unwrap(),
        );
    }
    tokio_tungstenite::connect_async(request)
        .await
        .map(|(socket, _)| socket)
}

/// The next message's JSON (`id`, `event`, `data`), or `None` if none comes
/// within `wait`. Pings are answered by the client itself.
async fn next(socket: &mut Socket, wait: Duration) -> Option<Value> {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let message = tokio::time::timeout_at(deadline, socket.next())
            .await
            .ok()??
            .unwrap();
        if let Message::Text(text) = message {
            return Some(serde_json::from_str(&text).unwrap());
        }
    }
}

fn staff_protocols(token: &str) -> String {
    format!("order-tracking.v1, bearer.{token}")
}

#[tokio::test]
async fn a_customer_socket_carries_its_orders_news_and_catches_up_from_an_id() {
    let server = start();
    let manager = token("acme", Role::Manager);
    let order = server
        .place(&manager, &checkout_body("cus_1", "pickup"))
        .await;
    let other = server
        .place(&manager, &checkout_body("cus_2", "pickup"))
        .await;
    let (id, public) = (str_of(&order, "id"), str_of(&order, "public_id"));

    let mut socket = connect(&server, &format!("public_id={public}"), None)
        .await
        .unwrap();
    let placed = next(&mut socket, WAIT).await.expect("the story so far");
    assert_eq!(
        (placed["id"].clone(), placed["event"].clone()),
        (json!("1"), json!("placed"))
    );
    server
        .advance(&manager, str_of(&other, "id"), "accepted", json!({}))
        .await;
    server.advance(&manager, id, "accepted", json!({})).await;
    let accepted = next(&mut socket, WAIT).await.expect("a live update");
    assert_eq!(accepted["id"], "2", "its own order's news, nobody else's");
    assert_eq!(accepted["data"]["status"], "accepted");
    let text = accepted.to_string();
    assert!(!text.contains(id), "never the internal id");
    assert!(!text.contains("@example.com"), "never the contact");
    socket.close(None).await.unwrap();

    // Two moves while away; reconnecting after id 2 delivers exactly those,
    // in order, then live news — the ids the SSE stream uses.
    server.advance(&manager, id, "in_progress", json!({})).await;
    server.advance(&manager, id, "ready", json!({})).await;
    let mut again = connect(
        &server,
        &format!("public_id={public}&last_event_id=2"),
        None,
    )
    .await
    .unwrap();
    let missed = [
        next(&mut again, WAIT).await.unwrap()["id"].clone(),
        next(&mut again, WAIT).await.unwrap()["id"].clone(),
    ];
    assert_eq!(missed, [json!("3"), json!("4")]);
    server.advance(&manager, id, "completed", json!({})).await;
    let completed = next(&mut again, WAIT).await.unwrap();
    assert_eq!(completed["data"]["status"], "completed");

    // An unknown order is refused before any socket opens.
    match connect(&server, "public_id=trk_nope", None).await {
        Err(Error::Http(response)) => assert_eq!(response.status(), 404),
        other => panic!("expected a 404, got {other:?}"),
    }
}

#[tokio::test]
async fn a_staff_socket_follows_its_own_tenant_only_and_needs_a_valid_token() {
    let server = start();
    let acme = token("acme", Role::Manager);
    let globex = token("globex", Role::Manager);
    for protocols in [
        None,
        Some("order-tracking.v1".to_string()),
        Some(staff_protocols("not.a.token")),
    ] {
        match connect(&server, "", protocols.as_deref()).await {
            Err(Error::Http(response)) => assert_eq!(response.status(), 401, "{protocols:?}"),
            other => panic!("expected a 401 for {protocols:?}, got {other:?}"),
        }
    }

    let mut socket = connect(&server, "", Some(&staff_protocols(&acme)))
        .await
        .unwrap();
    let theirs = server
        .place(&globex, &checkout_body("cus_g", "pickup"))
        .await;
    server
        .advance(&globex, str_of(&theirs, "id"), "accepted", json!({}))
        .await;
    let ours = server.place(&acme, &checkout_body("cus_a", "pickup")).await;
    let message = next(&mut socket, WAIT).await.expect("our order");
    assert_eq!(message["event"], "order");
    assert_eq!(
        message["data"]["id"], ours["id"],
        "globex's orders never reach acme"
    );
    assert_eq!(message["data"]["tenant"], "acme");
    let resume = message["id"]
        .as_str()
        .expect("an id to resume from")
        .to_string();
    socket.close(None).await.unwrap();

    // Away while the order moves: the reconnect catches up from the id.
    server
        .advance(&acme, str_of(&ours, "id"), "accepted", json!({}))
        .await;
    let query = format!("last_event_id={}", urlencode(&resume));
    let mut again = connect(&server, &query, Some(&staff_protocols(&acme)))
        .await
        .unwrap();
    let caught_up = next(&mut again, WAIT).await.expect("the missed change");
    assert_eq!(
        (
            caught_up["data"]["id"].clone(),
            caught_up["data"]["status"].clone()
        ),
        (ours["id"].clone(), json!("accepted"))
    );
    assert!(
        next(&mut again, Duration::from_millis(500)).await.is_none(),
        "nothing else"
    );
    again.send(Message::Close(None)).await.unwrap();
}

#[tokio::test]
async fn staff_connect_once_per_ticket_and_a_resume_message_repeats_nothing() {
    let server = start();
    let acme = token("acme", Role::Staff);
    let customer = token("acme", Role::Customer);
    let ticket = |token: String| {
        let server = &server;
        async move {
            server
                .call(Method::POST, "/live/tickets", Some(&token), None)
                .await
        }
    };
    ticket(customer).await.problem(403);
    let refused = server.call(Method::POST, "/live/tickets", None, None).await;
    refused.problem(401);
    let issued = ticket(acme.clone()).await;
    let pass = str_of(issued.expect(201), "ticket").to_string();
    assert!(issued.json["expires_at"].is_string());

    let query = format!("ticket={pass}");
    let mut socket = connect(&server, &query, Some("order-tracking.v1"))
        .await
        .unwrap();
    // What a client sends for AWS's sake: here the catch-up was already
    // sent, and nothing is sent again.
    socket
        .send(Message::text(r#"{"action":"resume"}"#))
        .await
        .unwrap();
    let ours = server.place(&acme, &checkout_body("cus_a", "pickup")).await;
    let message = next(&mut socket, WAIT).await.expect("our order");
    assert_eq!(message["data"]["id"], ours["id"]);
    assert!(next(&mut socket, Duration::from_millis(500))
        .await
        .is_none());

    // The ticket is spent.
    match connect(&server, &query, Some("order-tracking.v1")).await {
        Err(Error::Http(response)) => assert_eq!(response.status(), 401),
        other => panic!("expected a 401 for a spent ticket, got {other:?}"),
    }
}

/// Enough of percent-encoding for a message id (`<time>|<order id>`).
fn urlencode(text: &str) -> String {
    text.replace('+', "%2B")
        .replace('|', "%7C")
        .replace(':', "%3A")
}
