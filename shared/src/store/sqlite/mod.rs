//! The embedded store: SQLite through rusqlite, one file under the data
//! directory (or `:memory:` in tests).
//!
//! It mirrors the DynamoDB design move for move: the head update is
//! conditioned on the expected version *and* on the status being a legal
//! predecessor of the move, events are inserted under a primary key that
//! refuses duplicates, and dedupe markers and idempotency keys are inserted in
//! the same transaction. Committed events also go to an outbox table that the
//! relay drains, so an event is published at least once even after a crash.
//!
//! How it is fast:
//!
//! - [`writer`]: one thread owns the write connection and commits whatever
//!   writes have queued up together, each in its own savepoint (group
//!   commit); callers hand it a commit whose JSON they already wrote;
//! - [`reads`]: reads run on the caller's thread, on read connections of
//!   their own (the file is in WAL mode, so they never wait for the writer);
//! - [`cache`]: the orders the writer committed last, as a command loads
//!   them, kept coherent by the writer alone;
//! - [`outbox`]: committed events handed to the relay in memory, the outbox
//!   table staying the record that survives a crash.

#[cfg(all(test, feature = "testkit"))]
mod batch_tests;
mod cache;
mod commit;
mod data_keys;
mod merchant;
mod outbox;
mod reads;
mod schema;
mod writer;

use std::fs::{File, TryLockError};
use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use rusqlite::{params, Connection};
use tokio::sync::{oneshot, Notify};

use crate::lifecycle::Catalog;
use crate::order::inbound::{Inbound, TrackingLink};
use crate::order::{Event, Head, OrderSummary};
use crate::ports::{
    Commit, IdempotencyRecord, ListQuery, Loaded, OrderStore, Outbox, Page, StoreError,
};
use commit::Prepared;
use writer::{Reply, Writer};

pub struct SqliteStore {
    catalog: Arc<Catalog>,
    writer: Writer,
    /// Read connections to the file; `None` for `:memory:`, read by the writer.
    pool: Option<reads::Pool>,
    heads: Arc<cache::Heads>,
    /// Whether another process may write the file behind the cache's back.
    check_cache: bool,
    mirror: Arc<outbox::Mirror>,
    /// Notified after every commit with events, so the relay need not poll.
    outbox_signal: Arc<Notify>,
    /// Held while the store is open: shared, or exclusive (`open_exclusive`).
    _lock: Option<File>,
}

/// Locks `<path>.lock` (shared or exclusive) for as long as the returned
/// file is open. A file of its own, as closing any descriptor of the
/// database file would drop SQLite's own locks on it.
fn lock(path: &Path, exclusive: bool) -> Result<Option<File>, StoreError> {
    if path == Path::new(":memory:") {
        return Ok(None);
    }
    let mut name = path.as_os_str().to_owned();
    name.push(".lock");
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&name)
        .map_err(|e| unavailable(format!("{}: {e}", Path::new(&name).display())))?;
    let locked = match exclusive {
        true => file.try_lock(),
        false => file.try_lock_shared(),
    };
    match locked {
        Ok(()) => Ok(Some(file)),
        Err(TryLockError::WouldBlock) => Err(unavailable(format!(
            "{} is in use by another process{}",
            path.display(),
            if exclusive {
                ""
            } else {
                " that keeps it to itself"
            }
        ))),
        Err(TryLockError::Error(e)) => Err(unavailable(format!("{}: {e}", path.display()))),
    }
}

fn unavailable(e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

/// A row that does not decode: retrying will not mend it.
fn corrupt(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("{what}: {e}"))
}

fn parse_ts(text: &str) -> Result<DateTime<Utc>, StoreError> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| corrupt("a stored time", e))
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(unavailable)
}

fn from_json<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(|e| corrupt(std::any::type_name::<T>(), e))
}

impl SqliteStore {
    /// Opens (creating if needed) the store at `path`, which other processes
    /// may open too (the Lambda binaries under `cargo lambda watch` share
    /// one file): an order in the cache is checked against the file's
    /// version before it is used. `:memory:` for a private in-memory
    /// database. Fails while a process holds the file exclusively.
    pub fn open(path: &Path, catalog: Arc<Catalog>) -> Result<Self, StoreError> {
        let lock = lock(path, false)?;
        Self::open_with(path, catalog, lock, path != Path::new(":memory:"))
    }

    /// Opens the store at `path` for this store alone, as the local stack
    /// does: no other store, in this process or another, may open the file
    /// while it is open, so nobody else writes it, and an order in the cache
    /// is used as it is.
    pub fn open_exclusive(path: &Path, catalog: Arc<Catalog>) -> Result<Self, StoreError> {
        let lock = lock(path, true)?;
        Self::open_with(path, catalog, lock, false)
    }

    fn open_with(
        path: &Path,
        catalog: Arc<Catalog>,
        lock: Option<File>,
        check_cache: bool,
    ) -> Result<Self, StoreError> {
        let in_memory = path == Path::new(":memory:");
        let conn = match in_memory {
            // SQLite's `memdb` file system rather than `:memory:`, whose pages
            // all live in the page cache, which SQLite then scans whole at the
            // end of every transaction once it is large.
            true => Connection::open_with_flags(
                format!("file:/orders-{}?vfs=memdb", uuid::Uuid::new_v4().simple()),
                rusqlite::OpenFlags::default() | rusqlite::OpenFlags::SQLITE_OPEN_URI,
            ),
            false => Connection::open(path),
        }
        .map_err(unavailable)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(unavailable)?;
        conn.set_prepared_statement_cache_capacity(64);
        schema::prepare(&conn)?;
        let checkpoints = match in_memory {
            true => None,
            false => {
                // Every 4,000 pages (16 MB), where SQLite's default is 1,000:
                // see `Writer::start`.
                conn.pragma_update(None, "wal_autocheckpoint", 4_000)
                    .map_err(unavailable)?;
                let checkpoints = Connection::open(path).map_err(unavailable)?;
                checkpoints
                    .busy_timeout(std::time::Duration::from_secs(5))
                    .map_err(unavailable)?;
                Some(checkpoints)
            }
        };
        Ok(SqliteStore {
            catalog,
            writer: Writer::start(conn, checkpoints)?,
            pool: (!in_memory).then(|| reads::Pool::new(path.to_path_buf())),
            heads: Arc::default(),
            check_cache,
            mirror: Arc::default(),
            outbox_signal: Arc::new(Notify::new()),
            _lock: lock,
        })
    }

    /// Notified whenever new events reach the outbox.
    /// Every lifecycle (by the key orders record) some stored order is on.
    pub async fn lifecycles_in_use(&self) -> Result<Vec<String>, StoreError> {
        self.read(|conn| {
            let mut statement = conn
                .prepare("SELECT DISTINCT json_extract(body, '$.lifecycle') FROM heads")
                .map_err(unavailable)?;
            let rows = statement
                .query_map([], |r| r.get::<_, String>(0))
                .map_err(unavailable)?;
            rows.map(|r| r.map_err(unavailable)).collect()
        })
        .await
    }

    pub fn outbox_signal(&self) -> Arc<Notify> {
        self.outbox_signal.clone()
    }

    pub fn in_memory(catalog: Arc<Catalog>) -> Result<Self, StoreError> {
        Self::open(Path::new(":memory:"), catalog)
    }

    /// Runs a read: inline on a read connection of the file, or on the
    /// writer's connection in memory.
    async fn read<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        match &self.pool {
            Some(pool) => pool.read(f),
            None => self.writer.read(f).await,
        }
    }

    /// The job that writes a commit and, once its batch has committed, puts
    /// the order in the cache and its events in the outbox mirror.
    fn commit_job(
        &self,
        prepared: Prepared,
        done: oneshot::Sender<Result<(), StoreError>>,
    ) -> writer::Job {
        let (heads, mirror, signal) = (
            self.heads.clone(),
            self.mirror.clone(),
            self.outbox_signal.clone(),
        );
        Box::new(move |conn| {
            let id = prepared.commit.head.id.clone();
            if let Err(refused) = commit::check(conn, &prepared) {
                // The file disagrees with what the command read: if that
                // came from the cache, another process wrote.
                if matches!(refused, StoreError::VersionConflict { .. }) {
                    heads.forget(&id);
                }
                let reply: Reply = Box::new(move |_| {
                    let _ = done.send(Err(refused));
                });
                return Ok(reply);
            }
            let positions = match commit::write(conn, &prepared) {
                Ok(positions) => positions,
                Err(e) => {
                    heads.forget(&id);
                    let broke = e.clone();
                    let reply: Reply = Box::new(move |_| {
                        let _ = done.send(Err(e));
                    });
                    return Err((reply, broke));
                }
            };
            let after = commit::loaded_after(conn, &prepared, heads.get(&id));
            Ok(Box::new(move |batch| {
                if let Err(e) = batch {
                    heads.forget(&id);
                    let _ = done.send(Err(e));
                    return;
                }
                match after {
                    Some(after) => heads.put(Arc::new(after)),
                    None => heads.forget(&id),
                }
                let events = prepared.commit.events;
                if !events.is_empty() {
                    mirror.committed(positions.into_iter().zip(events).collect());
                    signal.notify_one();
                }
                let _ = done.send(Ok(()));
            }))
        })
    }
}

#[async_trait]
impl OrderStore for SqliteStore {
    async fn load(&self, order_id: &str) -> Result<Option<Loaded>, StoreError> {
        if let Some(hit) = self.heads.get(order_id) {
            // Another process may write a shared file: the cache is trusted
            // only when the file has the same version.
            let current = match &self.pool {
                Some(pool) if self.check_cache => {
                    pool.read(|conn| reads::version(conn, order_id))?
                }
                _ => Some(hit.head.version),
            };
            if current == Some(hit.head.version) {
                return Ok(Some(Loaded::clone(&hit)));
            }
        }
        let id = order_id.to_string();
        let stored = self.read(move |conn| reads::load(conn, &id)).await?;
        stored.map(reads::parse).transpose()
    }

    async fn commit(&self, commit: &Commit) -> Result<(), StoreError> {
        let predecessors = super::legal_predecessors(&self.catalog, commit)?;
        let prepared = Prepared::new(commit, predecessors)?;
        let (done, answer) = oneshot::channel();
        self.writer.submit(self.commit_job(prepared, done))?;
        answer
            .await
            .map_err(|_| unavailable("the write did not run; see the log"))?
    }

    async fn events(
        &self,
        order_id: &str,
        after_seq: u64,
        limit: usize,
    ) -> Result<Vec<Event>, StoreError> {
        let id = order_id.to_string();
        self.read(move |conn| reads::events(conn, &id, after_seq, limit))
            .await
    }

    async fn tenants(&self) -> Result<Vec<String>, StoreError> {
        self.read(|conn| {
            let mut statement = conn
                .prepare_cached("SELECT DISTINCT tenant FROM heads ORDER BY tenant")
                .map_err(unavailable)?;
            let rows = statement
                .query_map([], |r| r.get::<_, String>(0))
                .map_err(unavailable)?;
            rows.map(|row| row.map_err(unavailable)).collect()
        })
        .await
    }

    async fn feed(
        &self,
        tenant: &str,
        after: Option<&str>,
        until: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<Event>, StoreError> {
        let (tenant, after) = (tenant.to_string(), after.map(String::from));
        self.read(move |conn| reads::feed(conn, &tenant, after.as_deref(), until, limit))
            .await
    }

    /// One writer commits in milliseconds; a second covers a busy queue.
    fn feed_settle(&self) -> std::time::Duration {
        std::time::Duration::from_secs(1)
    }

    async fn find_by_public_id(&self, public_id: &str) -> Result<Option<Head>, StoreError> {
        let id = public_id.to_string();
        self.read(move |conn| reads::by_public_id(conn, &id)).await
    }

    async fn list(&self, query: &ListQuery) -> Result<Page<OrderSummary>, StoreError> {
        let query = query.clone();
        self.read(move |conn| reads::list(conn, &query)).await
    }

    async fn due(&self, now: DateTime<Utc>, limit: usize) -> Result<Vec<Head>, StoreError> {
        self.read(move |conn| reads::due(conn, now, limit)).await
    }

    async fn idempotency(
        &self,
        tenant: &str,
        key: &str,
    ) -> Result<Option<IdempotencyRecord>, StoreError> {
        let (tenant, key) = (tenant.to_string(), key.to_string());
        self.read(move |conn| reads::idempotency(conn, &tenant, &key))
            .await
    }

    async fn seen(&self, source: &str, external_id: &str) -> Result<Option<String>, StoreError> {
        let (source, external_id) = (source.to_string(), external_id.to_string());
        self.read(move |conn| reads::seen(conn, &source, &external_id))
            .await
    }

    async fn find_by_tracking(
        &self,
        tenant: &str,
        code: &str,
    ) -> Result<Vec<TrackingLink>, StoreError> {
        let (tenant, code) = (tenant.to_string(), code.to_string());
        self.read(move |conn| reads::tracking(conn, &tenant, &code))
            .await
    }

    /// Waiting facts stay here until they are matched: the embedded store
    /// expires nothing, so when they were kept does not matter.
    async fn stash(
        &self,
        key: &str,
        inbound: &Inbound,
        _kept_at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let (key, body) = (key.to_string(), to_json(inbound)?);
        let event_id = inbound.event_id.clone();
        self.writer
            .call(move |conn| {
                let added = conn
                    .prepare_cached(
                        "INSERT OR IGNORE INTO unmatched (key, event_id, position, body)
                         VALUES (?1, ?2, (SELECT COALESCE(MAX(position), 0) + 1 FROM unmatched), ?3)",
                    )
                    .and_then(|mut stash| stash.execute(params![key, event_id, body]))
                    .map_err(unavailable)?;
                Ok(added == 1)
            })
            .await
    }

    async fn stashed(&self, key: &str) -> Result<Vec<Inbound>, StoreError> {
        let key = key.to_string();
        self.read(move |conn| reads::stashed(conn, &key)).await
    }

    async fn unstash(&self, key: &str, event_id: &str) -> Result<(), StoreError> {
        let (key, event_id) = (key.to_string(), event_id.to_string());
        self.writer
            .call(move |conn| {
                conn.prepare_cached("DELETE FROM unmatched WHERE key = ?1 AND event_id = ?2")
                    .and_then(|mut unstash| unstash.execute(params![key, event_id]))
                    .map(drop)
                    .map_err(unavailable)
            })
            .await
    }
}

#[async_trait]
impl Outbox for SqliteStore {
    async fn pending(&self, limit: usize) -> Result<Vec<Event>, StoreError> {
        if let Some(events) = self.mirror.oldest(limit) {
            return Ok(events);
        }
        let (answer, answered) = oneshot::channel();
        self.writer
            .submit(self.mirror.clone().refill(limit, answer))?;
        answered
            .await
            .map_err(|_| unavailable("the read did not run; see the log"))?
    }

    async fn acknowledge(&self, event_ids: &[String]) -> Result<(), StoreError> {
        let (positions, others) = self.mirror.acknowledged(event_ids);
        let deleted = self
            .writer
            .call(move |conn| outbox::delete(conn, &positions, &others))
            .await;
        if deleted.is_err() {
            // Their rows are still in the table: read them from there.
            self.mirror.distrust();
        }
        deleted
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A row that does not decode is corrupt, not an outage: retrying would
    /// fail the same way, so it must not be answered with "please retry".
    #[tokio::test]
    async fn a_row_that_does_not_decode_is_corrupt() {
        let store = SqliteStore::in_memory(Arc::new(Catalog::presets())).unwrap();
        store
            .writer
            .call(|conn| {
                conn.execute_batch(
                    "INSERT INTO heads (id, tenant, public_id, status, customer_id, version,
                                        updated_at, due_at, flagged, body)
                     VALUES ('ord_1', 'acme', 'pub_1', 'pending', 'c', 1,
                             '2026-03-01T09:00:00.000000Z', NULL, 0, '{not json');
                     INSERT INTO tracking_links (tenant, code, order_id, carrier, attached_at)
                     VALUES ('acme', '1Z9', 'ord_1', NULL, 'yesterday');",
                )
                .map_err(unavailable)
            })
            .await
            .unwrap();
        assert!(matches!(
            store.load("ord_1").await,
            Err(StoreError::Corrupt(_))
        ));
        assert!(matches!(
            store.find_by_public_id("pub_1").await,
            Err(StoreError::Corrupt(_))
        ));
        assert!(matches!(
            store.find_by_tracking("acme", "1Z9").await,
            Err(StoreError::Corrupt(_))
        ));
    }
}
