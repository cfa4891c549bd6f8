//! What the table's layout promises a command costs, counted through the
//! store's `Usage`: checkout writes its snapshot once and nothing reads it
//! again but the head's own `Query`; a command is one read and one write;
//! the loser of a race decides again on what its refused write returned;
//! and orders written before heads were kept in parts still load, list and
//! take commands.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, SecondsFormat, Utc};
use order_core::lifecycle::Actor;
use order_core::order::decide::{self, Origin, StatusClaim};
use order_core::order::inbound::{Inbound, TrackingLink};
use order_core::order::{Event, Head, OrderSummary};
use order_core::ports::{
    Commit, IdempotencyRecord, ListQuery, Loaded, OrderStore, Page, StoreError, SystemClock,
};
use order_core::service::{FactOutcome, OrderService};
use order_core::store::DynamoStore;
use order_core::testkit::shipping_run::{checkout, claim, manager, origin, staff};
use order_core::testkit::{catalog, placed};
use serde_json::json;

use super::{fresh, raw_client};

fn service(store: Arc<dyn OrderStore>) -> OrderService {
    OrderService::new(store, catalog(), Arc::default(), Arc::new(SystemClock))
}

/// Requests the store has sent so far.
fn requests(store: &DynamoStore) -> u64 {
    store.usage().totals().0
}

/// A stored item's attributes, read raw.
async fn raw(store: &DynamoStore, pk: &str, sk: &str) -> Option<super::Item> {
    raw_client()
        .await
        .get_item()
        .table_name(store.table())
        .key("pk", AttributeValue::S(pk.into()))
        .key("sk", AttributeValue::S(sk.into()))
        .consistent_read(true)
        .send()
        .await
        .unwrap()
        .item
}

/// Checkout is its write alone (plus the key's look-up when it has one):
/// nothing can be waiting for an order id made at checkout. Its snapshot
/// is an item of its own that no later command rewrites, and the head's
/// `Query` brings it back.
#[tokio::test]
async fn checkout_writes_its_snapshot_once_and_every_load_returns_it() {
    let store = Arc::new(fresh().await);
    let service = service(store.clone());
    let before = requests(&store);
    let placed = service.place(&manager(), checkout(), None).await.unwrap();
    assert_eq!(requests(&store) - before, 1, "checkout is one write");
    let before = requests(&store);
    service
        .place(&manager(), checkout(), Some("cart-1".into()))
        .await
        .unwrap();
    assert_eq!(requests(&store) - before, 2, "and the key's look-up");

    let id = placed.body["id"].as_str().unwrap().to_string();
    let pk = format!("ORDER#{id}");
    // A mark on the stored snapshot, which a rewrite of the item would erase.
    raw_client()
        .await
        .update_item()
        .table_name(store.table())
        .key("pk", AttributeValue::S(pk.clone()))
        .key("sk", AttributeValue::S("SNAPSHOT".into()))
        .update_expression("SET probe = :mark")
        .expression_attribute_values(":mark", AttributeValue::S("untouched".into()))
        .send()
        .await
        .unwrap();
    service
        .transition(&manager(), &id, staff("confirmed", None))
        .await
        .unwrap();
    service
        .add_note(&manager(), &id, "Gift wrap, please".into())
        .await
        .unwrap();

    let snapshot = raw(&store, &pk, "SNAPSHOT").await.expect("a snapshot item");
    assert_eq!(snapshot["probe"].as_s().unwrap(), "untouched");
    let head = raw(&store, &pk, "HEAD").await.unwrap();
    let hot = head["head"].as_s().unwrap();
    for frozen in ["items", "shipping", "contact", "customer_id"] {
        assert!(!hot.contains(&format!("\"{frozen}\"")), "{frozen} in {hot}");
    }
    let loaded = store.load(&id).await.unwrap().unwrap().head;
    assert_eq!(loaded.version, 3);
    assert_eq!(loaded.items[0].name, "Crystal chandelier");
    assert_eq!(loaded.shipping.unwrap().address.city, "Toronto");
    assert_eq!(loaded.contact.email.as_deref(), Some("dana@example.com"));
    let public = placed.body["public_id"].as_str().unwrap();
    let found = store.find_by_public_id(public).await.unwrap().unwrap();
    assert_eq!(found.items, loaded.items);
}

/// A move and a note each read the order once and write once: the answer
/// is the head the command wrote, not a second read.
#[tokio::test]
async fn a_move_and_a_note_are_one_read_and_one_write_each() {
    let store = Arc::new(fresh().await);
    let service = service(store.clone());
    let placed = service.place(&manager(), checkout(), None).await.unwrap();
    let id = placed.body["id"].as_str().unwrap();
    let before = requests(&store);
    let moved = service
        .transition(&manager(), id, staff("confirmed", None))
        .await
        .unwrap();
    assert_eq!(requests(&store) - before, 2);
    let before = requests(&store);
    let noted = service
        .add_note(&manager(), id, "Fragile".into())
        .await
        .unwrap();
    assert_eq!(requests(&store) - before, 2);
    let [moved, noted] = [moved, noted].map(|view| serde_json::to_value(view).unwrap());
    assert_eq!(
        (moved["version"].clone(), noted["version"].clone()),
        (json!(2), json!(3))
    );
    assert_eq!(noted["status"], "confirmed");
}

/// A provider's fact is one read and one write too: its dedupe marker goes
/// in the write, not in a look-up first. Its redelivery is refused by that
/// marker and acknowledged, changing nothing.
#[tokio::test]
async fn a_provider_fact_is_one_read_and_one_write_and_its_redelivery_changes_nothing() {
    let store = Arc::new(fresh().await);
    let service = service(store.clone());
    let placed = service.place(&manager(), checkout(), None).await.unwrap();
    let id = placed.body["id"].as_str().unwrap();
    let payment = origin("payment:stripe", Actor::Payment, Some("evt_paid_1"));
    let before = requests(&store);
    let first = service
        .record_fact(id, &payment, claim("paid"))
        .await
        .unwrap();
    assert!(matches!(first, FactOutcome::Recorded { .. }), "{first:?}");
    assert_eq!(requests(&store) - before, 2);
    let again = service
        .record_fact(id, &payment, claim("paid"))
        .await
        .unwrap();
    assert_eq!(again, FactOutcome::Duplicate);
    let head = store.load(id).await.unwrap().unwrap().head;
    assert_eq!((head.status.as_str(), head.version), ("confirmed", 2));
}

/// The DynamoDB store, with another command's commit slipped in just
/// before the next commit it is asked for: a race lost on cue.
struct Interloper {
    store: Arc<DynamoStore>,
    first: Mutex<Option<Commit>>,
}

#[async_trait]
impl OrderStore for Interloper {
    async fn load(&self, order_id: &str) -> Result<Option<Loaded>, StoreError> {
        self.store.load(order_id).await
    }
    async fn commit(&self, commit: &Commit) -> Result<(), StoreError> {
        let first = self.first.lock().unwrap().take();
        if let Some(first) = first {
            self.store
                .commit(&first)
                .await
                .expect("the interloper wins");
        }
        self.store.commit(commit).await
    }
    async fn events(&self, id: &str, after: u64, limit: usize) -> Result<Vec<Event>, StoreError> {
        self.store.events(id, after, limit).await
    }
    async fn find_by_public_id(&self, public_id: &str) -> Result<Option<Head>, StoreError> {
        self.store.find_by_public_id(public_id).await
    }
    async fn list(&self, query: &ListQuery) -> Result<Page<OrderSummary>, StoreError> {
        self.store.list(query).await
    }
    async fn due(&self, now: DateTime<Utc>, limit: usize) -> Result<Vec<Head>, StoreError> {
        self.store.due(now, limit).await
    }
    async fn tenants(&self) -> Result<Vec<String>, StoreError> {
        self.store.tenants().await
    }
    async fn idempotency(
        &self,
        tenant: &str,
        key: &str,
    ) -> Result<Option<IdempotencyRecord>, StoreError> {
        self.store.idempotency(tenant, key).await
    }
    async fn seen(&self, source: &str, external_id: &str) -> Result<Option<String>, StoreError> {
        self.store.seen(source, external_id).await
    }
    async fn find_by_tracking(
        &self,
        tenant: &str,
        code: &str,
    ) -> Result<Vec<TrackingLink>, StoreError> {
        self.store.find_by_tracking(tenant, code).await
    }
    async fn stash(
        &self,
        key: &str,
        inbound: &Inbound,
        kept_at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.store.stash(key, inbound, kept_at).await
    }
    async fn stashed(&self, key: &str) -> Result<Vec<Inbound>, StoreError> {
        self.store.stashed(key).await
    }
    async fn unstash(&self, key: &str, event_id: &str) -> Result<(), StoreError> {
        self.store.unstash(key, event_id).await
    }
    async fn feed(
        &self,
        tenant: &str,
        after: Option<&str>,
        until: chrono::DateTime<chrono::Utc>,
        limit: usize,
    ) -> Result<Vec<Event>, StoreError> {
        self.store.feed(tenant, after, until, limit).await
    }
    fn feed_settle(&self) -> std::time::Duration {
        self.store.feed_settle()
    }
}

/// Places a confirmed shipping order, with a delivery parked on it when
/// `parked`; returns its id and the note another command will slip in.
async fn contested(store: &Arc<DynamoStore>, parked: bool) -> (String, Commit) {
    let service = service(store.clone());
    let placed = service.place(&manager(), checkout(), None).await.unwrap();
    let id = placed.body["id"].as_str().unwrap().to_string();
    service
        .transition(&manager(), &id, staff("confirmed", None))
        .await
        .unwrap();
    if parked {
        let carrier = Origin {
            source: "carrier:ups".into(),
            actor_kind: Actor::Carrier,
            actor: None,
            external_id: None,
        };
        let delivered = StatusClaim {
            to: "delivered".into(),
            occurred_at: Utc::now(),
            reason: None,
            tracking: None,
        };
        service.record_fact(&id, &carrier, delivered).await.unwrap();
    }
    let loaded = store.load(&id).await.unwrap().unwrap();
    assert_eq!(loaded.parked.len(), usize::from(parked));
    let lifecycle = catalog().get("shipping").unwrap();
    let staff = Origin {
        source: "staff".into(),
        actor_kind: Actor::Manager,
        actor: Some("bob".into()),
        external_id: None,
    };
    let note = decide::add_note(
        &loaded.head,
        &lifecycle,
        &staff,
        "Call first".into(),
        Utc::now(),
    );
    (id, Commit::of(note))
}

/// Losing a race costs the refused write, not another read: DynamoDB
/// returns the head as it found it, and the command decides again on it.
/// Only facts parked beside the head (not part of it) make it read again.
#[tokio::test]
async fn the_loser_of_a_race_decides_again_on_what_its_refused_write_returned() {
    for (parked, reads) in [(false, 1), (true, 2)] {
        let store = Arc::new(fresh().await);
        let (id, note) = contested(&store, parked).await;
        let racing = Arc::new(Interloper {
            store: store.clone(),
            first: Mutex::new(Some(note)),
        });
        let before = requests(&store);
        let view = service(racing)
            .transition(&manager(), &id, staff("packing", None))
            .await
            .unwrap();
        let writes = 2; // refused, then made
        assert_eq!(
            requests(&store) - before,
            1 + reads + writes,
            "the interloper's write, then {reads} read(s) and {writes} writes (parked: {parked})"
        );
        let view = serde_json::to_value(view).unwrap();
        assert_eq!(
            (view["status"].clone(), view["version"].clone()),
            (json!("packing"), json!(4 + u64::from(parked)))
        );
        let kinds: Vec<String> = store
            .events(&id, 0, 100)
            .await
            .unwrap()
            .iter()
            .map(|e| e.body.kind().to_string())
            .collect();
        assert!(
            kinds.ends_with(&["note_added".into(), "status_fact".into()]),
            "{kinds:?}"
        );
    }
}

/// A head written before heads were kept in parts: the whole head in
/// `body`, its list summary in `summary`, no snapshot item. It loads, is
/// found and listed as it is, takes a command, and keeps its checkout
/// snapshot (from `body`) through it.
#[tokio::test]
async fn an_order_written_before_heads_were_kept_in_parts_still_loads_lists_and_moves() {
    let store = Arc::new(fresh().await);
    let decision = placed("acme", "cus_old", 0);
    let (head, event) = (decision.head.clone(), decision.events[0].clone());
    let s = |v: &str| AttributeValue::S(v.to_string());
    let ts = |t: DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::Micros, true);
    let pk = format!("ORDER#{}", head.id);
    let client = raw_client().await;
    client
        .put_item()
        .table_name(store.table())
        .item("pk", s(&pk))
        .item("sk", s("HEAD"))
        .item("body", s(&serde_json::to_string(&head).unwrap()))
        .item(
            "summary",
            s(&serde_json::to_string(&head.summary()).unwrap()),
        )
        .item("version", AttributeValue::N("1".into()))
        .item("status", s(&head.status))
        .item("flagged", AttributeValue::Bool(false))
        .item("public_id", s(&head.public_id))
        .item("tenant_key", s("TENANT#acme"))
        .item("status_key", s("TENANT#acme#STATUS#pending"))
        .item("customer_key", s("TENANT#acme#CUSTOMER#cus_old"))
        .item(
            "updated",
            s(&format!("{}#{}", ts(head.updated_at), head.id)),
        )
        .send()
        .await
        .unwrap();
    client
        .put_item()
        .table_name(store.table())
        .item("pk", s(&pk))
        .item("sk", s("EVENT#00000000000000000001"))
        .item("event_id", s(&event.event_id))
        .item("body", s(&serde_json::to_string(&event).unwrap()))
        .send()
        .await
        .unwrap();

    assert_eq!(store.load(&head.id).await.unwrap().unwrap().head, head);
    let found = store.find_by_public_id(&head.public_id).await.unwrap();
    assert_eq!(found.as_ref(), Some(&head));
    let list = |customer: Option<&str>| ListQuery {
        tenant: "acme".into(),
        customer_id: customer.map(str::to_string),
        limit: 10,
        ..ListQuery::default()
    };
    for query in [list(None), list(Some("cus_old"))] {
        let page = store.list(&query).await.unwrap();
        assert_eq!(page.items, [head.summary()], "{query:?}");
    }

    // Two commands: the first leaves a deadline, the last (a final state)
    // none, which the stale `body` and `summary` still hold.
    for to in ["confirmed", "cancelled"] {
        service(store.clone())
            .transition(&manager(), &head.id, staff(to, None))
            .await
            .unwrap();
    }
    let moved = store.load(&head.id).await.unwrap().unwrap().head;
    assert_eq!((moved.status.as_str(), moved.version), ("cancelled", 3));
    assert_eq!((moved.due_at, moved.sla_due_at), (None, None));
    assert_eq!((&moved.items, &moved.contact), (&head.items, &head.contact));
    assert_eq!(moved.public_id, head.public_id);
    for query in [list(None), list(Some("cus_old"))] {
        let page = store.list(&query).await.unwrap();
        assert_eq!(page.items, [moved.summary()], "{query:?}");
    }
}
