//! The WebSocket routes on DynamoDB Local, with the sample events from
//! `events/`: who may connect (nothing is stored for a refusal), the one
//! channel the server picks, the catch-up a `resume` sends through the real
//! adapter to a fake API Gateway, and `$disconnect`.

mod common;

use common::*;
use order_core::ports::{Connections, Tickets};

#[tokio::test]
async fn a_customer_connects_by_public_id_and_resumes_after_the_last_id_it_had() {
    let world = World::new().await;
    let (order, public_id) = world.place("acme").await;
    world.move_to("acme", &order, "confirmed").await;
    world.move_to("acme", &order, "packing").await;
    let api = FakeApi::start(&[], &[]).await;
    let socket = world.socket(api.push().await);

    let connect = sample(
        "live-connect",
        "c1",
        &[("public_id", &public_id), ("last_event_id", "1")],
    );
    let answer = socket.handle(connect).await;
    assert_eq!(answer.status_code, 200);
    assert_eq!(
        answer.headers["sec-websocket-protocol"], "order-tracking.v1",
        "the subprotocol the browser offered"
    );
    let following = world
        .table
        .following(&format!("customer.{public_id}"), chrono::Utc::now())
        .await
        .unwrap();
    assert_eq!(following, ["c1"]);

    assert_eq!(
        socket
            .handle(sample("live-resume", "c1", &[]))
            .await
            .status_code,
        200
    );
    let news = api.messages("c1");
    assert_eq!(ids(&news), ["2", "3"], "what it missed, in order");
    assert_eq!(news[1]["data"]["status"], "packing");
    for message in &news {
        assert!(!message.to_string().contains(EMAIL));
    }

    // Anything else a client says is ignored.
    let mut chatter = sample("live-resume", "c1", &[]);
    chatter.body = Some("{\"action\":\"subscribe\",\"channel\":\"store.acme\"}".into());
    assert_eq!(socket.handle(chatter).await.status_code, 200);
    assert_eq!(api.messages("c1").len(), 2);

    assert_eq!(
        socket
            .handle(sample("live-disconnect", "c1", &[]))
            .await
            .status_code,
        200
    );
    assert_eq!(world.table.connection("c1").await.unwrap(), None);
    let following = world
        .table
        .following(&format!("customer.{public_id}"), chrono::Utc::now())
        .await
        .unwrap();
    assert!(following.is_empty());
}

#[tokio::test]
async fn staff_connect_with_a_ticket_once_and_follow_their_own_tenant() {
    let world = World::new().await;
    let (order, _) = world.place("acme").await;
    let since = chrono::Utc::now();
    world.move_to("acme", &order, "confirmed").await;
    world.place("globex").await;
    let api = FakeApi::start(&[], &[]).await;
    let socket = world.socket(api.push().await);
    let ticket = world
        .table
        .issue(
            &manager("acme"),
            chrono::Utc::now() + chrono::Duration::seconds(60),
        )
        .await
        .unwrap()
        .ticket;
    let last = format!(
        "{}|{order}",
        since.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
    );

    let query = [
        ("ticket", ticket.as_str()),
        ("last_event_id", last.as_str()),
    ];
    assert_eq!(
        socket
            .handle(sample("live-connect", "s1", &query))
            .await
            .status_code,
        200
    );
    let connection = world.table.connection("s1").await.unwrap().unwrap();
    assert_eq!(connection.channel, "store.acme");

    // The same ticket again is refused, and nothing is stored for it.
    let again = socket.handle(sample("live-connect", "s2", &query)).await;
    assert_eq!(again.status_code, 401);
    assert_eq!(world.table.connection("s2").await.unwrap(), None);

    socket.handle(sample("live-resume", "s1", &[])).await;
    let rows = api.messages("s1");
    assert_eq!(
        rows.len(),
        1,
        "the acme order moved since, not globex's: {rows:?}"
    );
    assert_eq!(rows[0]["data"]["id"], order.as_str());
    assert_eq!(rows[0]["data"]["status"], "confirmed");
}

#[tokio::test]
async fn a_connection_without_a_valid_principal_is_refused_and_stores_nothing() {
    let world = World::new().await;
    let api = FakeApi::start(&[], &[]).await;
    let socket = world.socket(api.push().await);
    let cases = [
        (vec![], 401),
        (vec![("public_id", "trk_unknown")], 404),
        (vec![("ticket", "tkt_forged")], 401),
        // A channel named by the client is no way in.
        (vec![("channel", "store.acme")], 401),
    ];
    for (n, (query, status)) in cases.into_iter().enumerate() {
        let id = format!("x{n}");
        let answer = socket.handle(sample("live-connect", &id, &query)).await;
        assert_eq!(answer.status_code, status, "{query:?}");
        let body = match answer.body {
            Some(aws_lambda_events::encodings::Body::Text(text)) => text,
            other => panic!("a problem body, not {other:?}"),
        };
        let problem: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(problem["status"], status);
        assert_eq!(world.table.connection(&id).await.unwrap(), None);
    }
}
