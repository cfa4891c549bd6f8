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
