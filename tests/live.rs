//! Live updates, black box: the customer's SSE stream with event ids and
//! `Last-Event-ID` catch-up, and the staff store channel scoped to the
//! subscriber's tenant.

mod common;

use std::time::Duration;

use common::*;
use order_core::auth::Role;
use serde_json::{json, Value};

/// One SSE message.
#[derive(Debug, Clone)]
struct Message {
    id: Option<String>,
    event: Option<String>,
    data: Value,
}

/// An open SSE response, read message by message.
struct Stream {
    response: reqwest::Response,
    buffer: String,
}

impl Stream {
    async fn open(
        server: &Server,
        path: &str,
        token: Option<&str>,
        last_event_id: Option<&str>,
    ) -> Stream {
        let mut request = server
            .http
            .get(server.url(path))
            .header("accept", "text/event-stream");
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(id) = last_event_id {
            request = request.header("last-event-id", id);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 200);
        assert!(response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream"));
        Stream {
            response,
            buffer: String::new(),
        }
    }

    /// The next message with data, or `None` if none comes within `wait`.
    async fn next(&mut self, wait: Duration) -> Option<Message> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            while let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let mut message = Message {
                    id: None,
                    event: None,
                    data: Value::Null,
                };
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("id:") {
                        message.id = Some(v.trim().to_string());
                    } else if let Some(v) = line.strip_prefix("event:") {
                        message.event = Some(v.trim().to_string());
                    } else if let Some(v) = line.strip_prefix("data:") {
                        message.data = serde_json::from_str(v.trim()).unwrap_or(Value::Null);
                    }
                }
                if !message.data.is_null() {
                    return Some(message);
                }
            }
            let chunk = tokio::time::timeout_at(deadline, self.response.chunk())
                .await
                .ok()?
                .ok()??;
            self.buffer.push_str(&String::from_utf8_lossy(&chunk));
        }
    }
}

const WAIT: Duration = Duration::from_secs(5);

#[tokio::test]
async fn the_customer_stream_sends_each_update_with_its_id_and_catches_up_after_a_reconnect() {
    let server = start();
    let manager = token("acme", Role::Manager);
    let order = server
        .place(&manager, &checkout_body("cus_1", "pickup"))
        .await;
    let (id, public) = (
        str_of(&order, "id").to_string(),
        str_of(&order, "public_id").to_string(),
    );
    let path = format!("/track/{public}/events");

    let mut stream = Stream::open(&server, &path, None, None).await;
    let placed = stream.next(WAIT).await.expect("the order's story so far");
    assert_eq!(
        (placed.id.as_deref(), placed.event.as_deref()),
        (Some("1"), Some("placed"))
    );
    server.advance(&manager, &id, "accepted", json!({})).await;
    let accepted = stream.next(WAIT).await.expect("a live update");
    assert_eq!(accepted.id.as_deref(), Some("2"));
    assert_eq!(accepted.data["status"], "accepted");
    let body = serde_json::to_string(&accepted.data).unwrap();
    assert!(!body.contains(&id), "never the internal id");
    drop(stream);

    // Two updates while the customer is away; reconnecting with the last id
    // seen delivers exactly those, in order, then live news.
    server
        .advance(&manager, &id, "in_progress", json!({}))
        .await;
    server.advance(&manager, &id, "ready", json!({})).await;
    let mut again = Stream::open(&server, &path, None, Some("2")).await;
    let missed: Vec<Option<String>> = vec![
        again.next(WAIT).await.unwrap().id,
        again.next(WAIT).await.unwrap().id,
    ];
    assert_eq!(missed, [Some("3".to_string()), Some("4".to_string())]);
    server.advance(&manager, &id, "completed", json!({})).await;
    assert_eq!(again.next(WAIT).await.unwrap().data["status"], "completed");

    let unknown = server
        .http
        .get(server.url("/track/trk_nope/events"))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
}

#[tokio::test]
async fn the_store_channel_only_carries_the_subscribers_tenant() {
    let server = start();
    let acme = token("acme", Role::Manager);
    let globex = token("globex", Role::Manager);
    let unauthenticated = server
        .http
        .get(server.url("/orders/stream"))
        .send()
        .await
        .unwrap();
    assert_eq!(unauthenticated.status(), 401);

    let mut channel = Stream::open(&server, "/orders/stream", Some(&acme), None).await;
    let theirs = server
        .place(&globex, &checkout_body("cus_g", "pickup"))
        .await;
    server
        .advance(&globex, str_of(&theirs, "id"), "accepted", json!({}))
        .await;
    let ours = server.place(&acme, &checkout_body("cus_a", "pickup")).await;
    let message = channel.next(WAIT).await.expect("our order");
    assert_eq!(
        message.data["id"], ours["id"],
        "globex's orders never reach acme"
    );
    assert_eq!(message.data["tenant"], "acme");
    let resume = message.id.clone().expect("an id to resume from");

    // Away while the order moves: the reconnect catches up from the id.
    drop(channel);
    server
        .advance(&acme, str_of(&ours, "id"), "accepted", json!({}))
        .await;
    let mut again = Stream::open(&server, "/orders/stream", Some(&acme), Some(&resume)).await;
    let caught_up = again.next(WAIT).await.expect("the missed change");
    assert_eq!(
        (
            caught_up.data["id"].clone(),
            caught_up.data["status"].clone()
        ),
        (ours["id"].clone(), json!("accepted"))
    );
    assert!(
        again.next(Duration::from_millis(500)).await.is_none(),
        "nothing else: {:?}",
        theirs["id"]
    );
}

#[tokio::test]
async fn the_pages_are_served() {
    let server = start();
    let manager = token("acme", Role::Manager);
    let order = server
        .place(&manager, &checkout_body("cus_1", "pickup"))
        .await;
    let page = server
        .http
        .get(server.url(&format!("/t/{}", str_of(&order, "public_id"))))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains(str_of(&order, "public_id")) && html.contains("/t/app.js"));
    assert!(
        !html.contains(str_of(&order, "id")),
        "the page knows only the public id"
    );
    let board = server.http.get(server.url("/board")).send().await.unwrap();
    assert_eq!(board.status(), 200);
    assert!(board.text().await.unwrap().contains("/board/app.js"));
    // The scripts, served apart so the pages' policy forbids inline script.
    for (script, uses) in [
        ("/t/app.js", "EventSource"),
        ("/board/app.js", "/orders/stream"),
    ] {
        let js = server.http.get(server.url(script)).send().await.unwrap();
        assert_eq!(js.status(), 200);
        assert!(js.text().await.unwrap().contains(uses), "{script}");
    }
}

// The store proposes substitutions, the customer answers on the tracking
// page; rejected goes back to picking (README › Live updates and the pages).
#[tokio::test]
async fn the_customer_answers_proposed_substitutions() {
    let server = start();
    let staff = token("acme", Role::Staff);
    let mut answers = Vec::new();
    for decision in ["approve", "reject"] {
        let order = server
            .place(&staff, &checkout_body("cus_1", "local_delivery"))
            .await;
        let (id, public) = (
            str_of(&order, "id").to_string(),
            str_of(&order, "public_id").to_string(),
        );
        let path = format!("/track/{public}/substitutions");
        let early = server
            .http
            .post(server.url(&path))
            .json(&json!({ "decision": decision }))
            .send()
            .await
            .unwrap();
        assert_eq!(early.status(), 400, "nothing to answer yet");
        for to in [
            "store_notified",
            "store_acknowledged",
            "picking_in_progress",
        ] {
            server.advance(&staff, &id, to, json!({})).await;
        }
        server
            .advance(
                &staff,
                &id,
                "substitutions_needed",
                json!({ "reason": "Milk 2L is out: 2 × Milk 1L instead" }),
            )
            .await;
        let view = server.track(&public).await.expect(200).clone();
        assert_eq!(view["proposal"], "Milk 2L is out: 2 × Milk 1L instead");
        let answered = server
            .http
            .post(server.url(&path))
            .json(&json!({ "decision": decision }))
            .send()
            .await
            .unwrap();
        assert_eq!(answered.status(), 200);
        let body: Value = answered.json().await.unwrap();
        answers.push(body["status"].as_str().unwrap().to_string());
        let log = server.events(&staff, &id).await;
        assert_eq!(
            log.last().unwrap()["source"],
            "customer",
            "the customer's answer is audited as theirs"
        );
    }
    assert_eq!(answers, ["substitutions_approved", "picking_in_progress"]);
}

#[tokio::test]
async fn a_board_follows_one_store_and_a_store_token_only_its_own() {
    let server = start_with_tenants(json!({"tenants": {"acme": {"stores": {
        "soho": {}, "tribeca": {}, "midtown": {}
    }}}}));
    let manager = token("acme", Role::Manager);
    let soho_staff = store_token("acme", Role::Staff, &["soho"]);
    let two_stores = store_token("acme", Role::Staff, &["soho", "tribeca"]);
    let place = |store: &str| {
        let mut body = checkout_body("cus_1", "pickup");
        body["store"] = json!(store);
        body
    };

    let mut filtered = Stream::open(
        &server,
        "/orders/stream?store=tribeca",
        Some(&manager),
        None,
    )
    .await;
    let mut limited = Stream::open(&server, "/orders/stream", Some(&soho_staff), None).await;
    let mut chosen = Stream::open(
        &server,
        "/orders/stream?store=tribeca",
        Some(&two_stores),
        None,
    )
    .await;
    let soho = server.place(&manager, &place("soho")).await;
    let tribeca = server.place(&manager, &place("tribeca")).await;
    let ids = |id: &Value| id.as_str().unwrap().to_string();
    assert_eq!(
        ids(&filtered.next(WAIT).await.unwrap().data["id"]),
        ids(&tribeca["id"])
    );
    assert_eq!(
        ids(&limited.next(WAIT).await.unwrap().data["id"]),
        ids(&soho["id"])
    );
    assert_eq!(
        ids(&chosen.next(WAIT).await.unwrap().data["id"]),
        ids(&tribeca["id"])
    );
    let quiet = Duration::from_millis(300);
    assert!(filtered.next(quiet).await.is_none());
    assert!(limited.next(quiet).await.is_none());

    // A token of several stores follows one at a time, and none of others.
    let refused = |path: &str, token: &str| {
        server
            .http
            .get(server.url(path))
            .bearer_auth(token.to_string())
            .send()
    };
    assert_eq!(
        refused("/orders/stream", &two_stores)
            .await
            .unwrap()
            .status(),
        403
    );
    assert_eq!(
        refused("/orders/stream?store=midtown", &soho_staff)
            .await
            .unwrap()
            .status(),
        403
    );
}
