//! The store conformance suite on the embedded SQLite adapter, plus the
//! outbox, which only the embedded store has (DynamoDB streams play its part
//! on AWS).

use std::sync::Arc;

use order_core::ports::{Commit, OrderStore, Outbox};
use order_core::store::SqliteStore;
use order_core::testkit::{catalog, placed};

order_core::store_conformance_suite!(async {
    Arc::new(SqliteStore::in_memory(catalog()).unwrap())
});

/// A fresh store file's path. The directory is kept, as the store outlives
/// the case: under the target directory, where `cargo clean` removes it.
fn fresh_file() -> std::path::PathBuf {
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    dir.keep().join("orders.sqlite3")
}

/// The same cases on a store file, which reads on connections of its own
/// beside the writer's (`:memory:` has only the writer's) and checks what it
/// cached against the file, which other processes may write.
mod shared_file {
    use super::*;

    order_core::store_conformance_suite!(async {
        Arc::new(SqliteStore::open(&fresh_file(), catalog()).unwrap())
    });
}

/// And on a file kept exclusively, as the local stack keeps it, whose
/// cache is the truth.
mod exclusive_file {
    use super::*;

    order_core::store_conformance_suite!(async {
        Arc::new(SqliteStore::open_exclusive(&fresh_file(), catalog()).unwrap())
    });
}

#[tokio::test]
async fn committed_events_wait_in_the_outbox_until_acknowledged() {
    let store = SqliteStore::in_memory(catalog()).unwrap();
    let d = placed("acme", "cus_1", 0);
    let event_id = d.events[0].event_id.clone();
    store.commit(&Commit::of(d.clone())).await.unwrap();
    // A refused commit leaves nothing in the outbox.
    assert!(store.commit(&Commit::of(d)).await.is_err());
    let pending = store.pending(10).await.unwrap();
    assert_eq!(
        pending.iter().map(|e| &e.event_id).collect::<Vec<_>>(),
        [&event_id]
    );
    // Unacknowledged events are handed out again (at least once).
    assert_eq!(store.pending(10).await.unwrap().len(), 1);
    store.acknowledge(&[event_id]).await.unwrap();
    assert!(store.pending(10).await.unwrap().is_empty());
}

/// The relay may acknowledge events this store never handed out itself (a
/// store just opened does not know what the outbox holds; another process
/// may have relayed them): they leave the outbox by their ids all the same,
/// and the rest stay.
#[tokio::test]
async fn events_acknowledged_by_id_alone_leave_the_outbox() {
    let store = SqliteStore::open(&fresh_file(), catalog()).unwrap();
    let (first, second) = (placed("acme", "cus_1", 0), placed("acme", "cus_2", 0));
    let first_id = first.events[0].event_id.clone();
    let second_id = second.events[0].event_id.clone();
    store.commit(&Commit::of(first)).await.unwrap();
    store.commit(&Commit::of(second)).await.unwrap();
    store.acknowledge(&[first_id]).await.unwrap();
    let left: Vec<_> = store
        .pending(10)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.event_id)
        .collect();
    assert_eq!(left, [second_id]);
}

#[tokio::test]
async fn the_store_file_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("orders.sqlite3");
    let d = placed("acme", "cus_1", 0);
    let head = d.head.clone();
    {
        let store = SqliteStore::open(&path, catalog()).unwrap();
        store.commit(&Commit::of(d)).await.unwrap();
    }
    let reopened = SqliteStore::open(&path, catalog()).unwrap();
    assert_eq!(reopened.load(&head.id).await.unwrap().unwrap().head, head);
    assert_eq!(
        reopened.pending(10).await.unwrap().len(),
        1,
        "unpublished events survive too"
    );
}

/// A store file from before tracking codes were kept per tenant had one
/// global `tracking (code, order_id)` table: opening it moves each code under
/// its order's tenant, so shipments in flight keep receiving their scans.
#[tokio::test]
async fn an_older_store_file_keeps_its_tracking_codes_under_their_tenants() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("orders.sqlite3");
    let d = placed("acme", "cus_1", 0);
    let id = d.head.id.clone();
    SqliteStore::open(&path, catalog())
        .unwrap()
        .commit(&Commit::of(d))
        .await
        .unwrap();
    {
        let old = rusqlite::Connection::open(&path).unwrap();
        old.execute_batch(&format!(
            "CREATE TABLE tracking (code TEXT PRIMARY KEY, order_id TEXT NOT NULL);
             INSERT INTO tracking VALUES ('1ZOLD', '{id}');"
        ))
        .unwrap();
    }
    let reopened = SqliteStore::open(&path, catalog()).unwrap();
    let links = reopened.find_by_tracking("acme", "1ZOLD").await.unwrap();
    assert_eq!(
        links
            .iter()
            .map(|l| l.order_id.as_str())
            .collect::<Vec<_>>(),
        [id.as_str()]
    );
    assert!(reopened
        .find_by_tracking("globex", "1ZOLD")
        .await
        .unwrap()
        .is_empty());
    // Opening it again finds nothing left to move.
    drop(reopened);
    let again = SqliteStore::open(&path, catalog()).unwrap();
    assert_eq!(
        again.find_by_tracking("acme", "1ZOLD").await.unwrap().len(),
        1
    );
}

/// A store file from before events lost their index of event ids, its
/// outbox naming events by id: opening it rebuilds both tables, so the
/// order's log reads as before and the events not yet published still are
/// handed out, in their order, and leave once acknowledged.
#[tokio::test]
async fn an_older_store_file_keeps_its_log_and_unpublished_events() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("orders.sqlite3");
    let (first, second) = (placed("acme", "cus_1", 0), placed("acme", "cus_2", 0));
    {
        let old = rusqlite::Connection::open(&path).unwrap();
        old.execute_batch(
            "CREATE TABLE heads (id TEXT PRIMARY KEY, tenant TEXT NOT NULL,
                 public_id TEXT NOT NULL UNIQUE, status TEXT NOT NULL, customer_id TEXT NOT NULL,
                 version INTEGER NOT NULL, updated_at TEXT NOT NULL, due_at TEXT,
                 flagged INTEGER NOT NULL, body TEXT NOT NULL);
             CREATE INDEX heads_by_status ON heads (tenant, status, updated_at, id);
             CREATE TABLE events (order_id TEXT NOT NULL REFERENCES heads (id),
                 seq INTEGER NOT NULL, event_id TEXT NOT NULL UNIQUE, body TEXT NOT NULL,
                 PRIMARY KEY (order_id, seq));
             CREATE TABLE outbox (position INTEGER PRIMARY KEY AUTOINCREMENT,
                 event_id TEXT NOT NULL UNIQUE REFERENCES events (event_id));",
        )
        .unwrap();
        // The second order's event was committed first, so it is older in
        // the outbox.
        for (position, d) in [(7, &second), (9, &first)] {
            let head = &d.head;
            let event = &d.events[0];
            old.execute(
                "INSERT INTO heads VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, NULL, 0, ?8)",
                rusqlite::params![
                    head.id,
                    head.tenant,
                    head.public_id,
                    head.status,
                    head.customer_id,
                    head.version,
                    head.updated_at.to_rfc3339(),
                    serde_json::to_string(head).unwrap()
                ],
            )
            .unwrap();
            old.execute(
                "INSERT INTO events VALUES (?1, ?2, ?3, ?4)",
                rusqlite::params![
                    event.order_id,
                    event.seq,
                    event.event_id,
                    serde_json::to_string(event).unwrap()
                ],
            )
            .unwrap();
            old.execute(
                "INSERT INTO outbox VALUES (?1, ?2)",
                rusqlite::params![position, event.event_id],
            )
            .unwrap();
        }
    }
    let reopened = SqliteStore::open(&path, catalog()).unwrap();
    let log = reopened.events(&first.head.id, 0, 10).await.unwrap();
    assert_eq!(log, first.events);
    let ids = |events: Vec<order_core::order::Event>| {
        events.into_iter().map(|e| e.event_id).collect::<Vec<_>>()
    };
    let older = second.events[0].event_id.clone();
    let newer = first.events[0].event_id.clone();
    assert_eq!(
        ids(reopened.pending(10).await.unwrap()),
        [older.as_str(), newer.as_str()]
    );
    reopened
        .acknowledge(std::slice::from_ref(&older))
        .await
        .unwrap();
    assert_eq!(ids(reopened.pending(10).await.unwrap()), [newer.as_str()]);
    // New commits queue behind what was left.
    let third = placed("acme", "cus_3", 0);
    reopened.commit(&Commit::of(third.clone())).await.unwrap();
    let third_id = &third.events[0].event_id;
    assert_eq!(
        ids(reopened.pending(10).await.unwrap()),
        [newer.as_str(), third_id.as_str()]
    );
    // Opening it again finds nothing left to rebuild.
    drop(reopened);
    let again = SqliteStore::open(&path, catalog()).unwrap();
    assert_eq!(again.pending(10).await.unwrap().len(), 2);
}

/// The local stack keeps its file to itself and trusts what it cached: no
/// other store may open the file meanwhile, and it may not open a file
/// others have open; once it is closed, the file opens again.
#[tokio::test]
async fn a_file_kept_exclusively_is_not_opened_by_another_store() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("orders.sqlite3");
    let owner = SqliteStore::open_exclusive(&path, catalog()).unwrap();
    assert!(SqliteStore::open(&path, catalog()).is_err());
    assert!(SqliteStore::open_exclusive(&path, catalog()).is_err());
    drop(owner);
    let shared = SqliteStore::open(&path, catalog()).unwrap();
    assert!(
        SqliteStore::open(&path, catalog()).is_ok(),
        "shared with others"
    );
    assert!(SqliteStore::open_exclusive(&path, catalog()).is_err());
    drop(shared);
}

/// The merchant store's cases, on a file (reads on their own connections).
mod merchant {
    use super::*;
    use order_core::testkit::merchant_cases;

    #[tokio::test]
    async fn endpoints_are_kept_per_tenant() {
        let store = SqliteStore::open(&fresh_file(), catalog()).unwrap();
        merchant_cases::endpoints_are_kept_per_tenant(Arc::new(store)).await;
    }

    #[tokio::test]
    async fn a_claim_is_won_once() {
        let store = SqliteStore::open(&fresh_file(), catalog()).unwrap();
        order_core::testkit::claim_cases::a_claim_is_won_once(Arc::new(store)).await;
    }

    #[tokio::test]
    async fn a_data_key_is_kept_once_per_customer_and_forgotten() {
        let store = SqliteStore::open(&fresh_file(), catalog()).unwrap();
        order_core::testkit::data_key_cases::a_data_key_is_kept_once_per_customer_and_forgotten(
            Arc::new(store),
        )
        .await;
    }

    #[tokio::test]
    async fn a_delivery_opens_once_and_the_log_is_newest_first() {
        let store = SqliteStore::open(&fresh_file(), catalog()).unwrap();
        merchant_cases::a_delivery_opens_once_and_the_log_is_newest_first(Arc::new(store)).await;
    }
}
