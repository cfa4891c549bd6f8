//! The fan-out on DynamoDB Local's real stream, sending through the real
//! Management API adapter to a fake API Gateway on loopback: each channel
//! gets its own news only, a customer never sees personal data, a gone
//! connection is forgotten, and a stuck one is closed without holding up
//! the rest. `scripts/test.sh` starts DynamoDB Local.

mod common;

use std::collections::HashSet;

use common::*;
use order_core::live::ChannelName;
use order_core::ports::{Connection, Connections, Viewer};
use order_core::testkit::table_stream;

async fn open(world: &World, id: &str, viewer: Viewer) {
    let connection = Connection {
        id: id.into(),
        channel: ChannelName::of(&viewer).to_string(),
        viewer,
        last_event_id: None,
        expires_at: chrono::Utc::now() + chrono::Duration::hours(2),
    };
    world.table.open(&connection).await.unwrap();
}

fn customer(public_id: &str) -> Viewer {
    Viewer::Customer {
        public_id: public_id.into(),
    }
}

#[tokio::test]
async fn each_connection_gets_its_channels_news_and_a_dead_or_stuck_one_holds_up_nobody() {
    let world = World::new().await;
    let (mine, mine_public) = world.place("acme").await;
    let (other, other_public) = world.place("acme").await;
    let (theirs, _) = world.place("globex").await;
    world.move_to("acme", &mine, "confirmed").await;
    world.move_to("globex", &theirs, "confirmed").await;

    open(&world, "board-acme", Viewer::Staff(manager("acme"))).await;
    open(&world, "board-globex", Viewer::Staff(manager("globex"))).await;
    open(&world, "customer-mine", customer(&mine_public)).await;
    open(&world, "customer-other", customer(&other_public)).await;
    let store = |name: &str| Viewer::Staff(manager("acme").narrowed_to(name).unwrap());
    open(&world, "board-main", store("main")).await;
    open(&world, "board-soho", store("soho")).await;
    open(&world, "board-gone", Viewer::Staff(manager("acme"))).await;
    open(&world, "board-stuck", Viewer::Staff(manager("acme"))).await;
    let api = FakeApi::start(&["board-gone"], &["board-stuck"]).await;

    let batch = serde_json::from_value(table_stream::batch(world.table.table()).await).unwrap();
    let fanout = world.fanout(api.push().await);
    let (response, delivered) = fanout.handle(&batch).await;
    assert!(response.batch_item_failures.is_empty());

    // The acme board: one row per acme order, as it stands; nothing of globex.
    let rows = api.messages("board-acme");
    let orders: HashSet<&str> = rows
        .iter()
        .map(|m| m["data"]["id"].as_str().unwrap())
        .collect();
    assert_eq!(orders, HashSet::from([mine.as_str(), other.as_str()]));
    assert!(rows.iter().all(|m| m["event"] == "order"));
    let row = rows
        .iter()
        .find(|m| m["data"]["id"] == mine.as_str())
        .unwrap();
    assert_eq!(row["data"]["status"], "confirmed");
    assert!(row["id"].as_str().unwrap().ends_with(&format!("|{mine}")));
    // A board of one store: that store's rows (orders naming no store are
    // the default one's), and nothing of the tenant's other stores.
    assert_eq!(api.messages("board-main"), rows);
    assert!(api.messages("board-soho").is_empty());
    let globex: Vec<_> = api.messages("board-globex");
    assert_eq!(globex.len(), 1);
    assert_eq!(globex[0]["data"]["id"], theirs.as_str());

    // A customer: their order's news, by sequence number, and nothing personal.
    let news = api.messages("customer-mine");
    assert_eq!(ids(&news), ["1", "2"]);
    assert_eq!(news[1]["event"], "status");
    assert_eq!(news[1]["data"]["status"], "confirmed");
    assert_eq!(ids(&api.messages("customer-other")), ["1"]);
    for message in api.messages("customer-mine") {
        let text = message.to_string();
        for private in [EMAIL, PHONE, STREET, mine.as_str(), "acme"] {
            assert!(!text.contains(private), "{private} in {text}");
        }
    }

    // The gone connection is forgotten; the stuck one closed and forgotten.
    assert_eq!(api.closed(), ["board-stuck"]);
    for id in ["board-gone", "board-stuck"] {
        assert_eq!(world.table.connection(id).await.unwrap(), None);
    }
    let acme = world
        .table
        .following("store.acme", chrono::Utc::now())
        .await
        .unwrap();
    assert_eq!(acme, ["board-acme"]);
    assert_eq!((delivered.gone, delivered.closed), (1, 1));
    assert_eq!(delivered.sent, 2 + 2 + 1 + 2 + 1);
}

#[tokio::test]
async fn a_channel_without_connections_costs_no_read_of_the_order() {
    let world = World::new().await;
    let (order, _) = world.place("acme").await;
    world.move_to("acme", &order, "confirmed").await;
    let api = FakeApi::start(&[], &[]).await;
    let batch = serde_json::from_value(table_stream::batch(world.table.table()).await).unwrap();
    let (requests_before, _, _) = world.table.usage().totals();
    let (response, delivered) = world.fanout(api.push().await).handle(&batch).await;
    assert!(response.batch_item_failures.is_empty());
    assert_eq!(delivered.sent, 0);
    // Who follows the order's customer channel, its tenant's and its
    // store's channels, once each for both events; the order itself is
    // not read.
    let (requests_after, _, _) = world.table.usage().totals();
    assert_eq!(requests_after - requests_before, 3);
}

#[tokio::test]
async fn an_expired_connection_is_not_followed() {
    let world = World::new().await;
    let viewer = Viewer::Staff(manager("acme"));
    let connection = Connection {
        id: "old".into(),
        channel: ChannelName::of(&viewer).to_string(),
        viewer,
        last_event_id: Some("x".into()),
        // The table keeps whole seconds.
        expires_at: chrono::DateTime::from_timestamp(chrono::Utc::now().timestamp() - 1, 0)
            .unwrap(),
    };
    world.table.open(&connection).await.unwrap();
    assert_eq!(
        world.table.connection("old").await.unwrap(),
        Some(connection.clone())
    );
    let now = chrono::Utc::now();
    assert!(world
        .table
        .following("store.acme", now)
        .await
        .unwrap()
        .is_empty());
}
