//! The embedded store: SQLite through rusqlite, one file under the data
//! directory (or `:memory:` in tests).
//!
//! It mirrors the DynamoDB design move for move: the head update is
//! conditioned on the expected version *and* on the status being a legal
//! predecessor of the move, events are inserted under a primary key that
//! refuses duplicates, and dedupe markers and idempotency keys are inserted in
//! the same transaction. Committed events also go to an outbox table that the
//! relay drains, so an event is published at least once even after a crash.

use std::path::Path;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::ts;
use rusqlite::{params, params_from_iter, Connection, ErrorCode, OptionalExtension, Transaction};
use tokio::sync::Notify;

use crate::cursor::Cursor;
use crate::lifecycle::Catalog;
use crate::order::inbound::{Inbound, TrackingLink};
use crate::order::{Event, Head, OrderSummary};
use crate::ports::{
    Commit, IdempotencyRecord, ListQuery, Loaded, OrderStore, Outbox, Page, StoreError,
};

const SCHEMA: &str = "
PRAGMA journal_mode = WAL;
PRAGMA synchronous = NORMAL;
PRAGMA foreign_keys = ON;
CREATE TABLE IF NOT EXISTS heads (
    id TEXT PRIMARY KEY,
    tenant TEXT NOT NULL,
    public_id TEXT NOT NULL UNIQUE,
    status TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    updated_at TEXT NOT NULL,
    due_at TEXT,
    flagged INTEGER NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS heads_by_tenant ON heads (tenant, updated_at, id);
CREATE INDEX IF NOT EXISTS heads_by_status ON heads (tenant, status, updated_at, id);
CREATE INDEX IF NOT EXISTS heads_by_customer ON heads (tenant, customer_id, updated_at, id);
CREATE INDEX IF NOT EXISTS heads_due ON heads (due_at) WHERE due_at IS NOT NULL;
CREATE TABLE IF NOT EXISTS events (
    order_id TEXT NOT NULL REFERENCES heads (id),
    seq INTEGER NOT NULL,
    event_id TEXT NOT NULL UNIQUE,
    body TEXT NOT NULL,
    PRIMARY KEY (order_id, seq)
);
CREATE TABLE IF NOT EXISTS parked (
    order_id TEXT NOT NULL REFERENCES heads (id),
    occurred_at TEXT NOT NULL,
    event_id TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (order_id, occurred_at, event_id)
);
CREATE TABLE IF NOT EXISTS dedupe (
    source TEXT NOT NULL,
    external_id TEXT NOT NULL,
    order_id TEXT NOT NULL,
    recorded_at TEXT NOT NULL,
    PRIMARY KEY (source, external_id)
);
CREATE TABLE IF NOT EXISTS idempotency (
    tenant TEXT NOT NULL,
    key TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (tenant, key)
);
CREATE TABLE IF NOT EXISTS tracking_links (
    tenant TEXT NOT NULL,
    code TEXT NOT NULL,
    order_id TEXT NOT NULL,
    carrier TEXT,
    attached_at TEXT NOT NULL,
    PRIMARY KEY (tenant, code, order_id)
);
CREATE TABLE IF NOT EXISTS unmatched (
    key TEXT NOT NULL,
    event_id TEXT NOT NULL,
    position INTEGER NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (key, event_id)
);
CREATE TABLE IF NOT EXISTS outbox (
    position INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id TEXT NOT NULL UNIQUE REFERENCES events (event_id)
);
";

pub struct SqliteStore {
    conn: Arc<Mutex<Connection>>,
    catalog: Arc<Catalog>,
    /// Notified after every commit, so the relay need not poll.
    outbox_signal: Arc<Notify>,
}

fn unavailable(e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

fn is_constraint(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _) if f.code == ErrorCode::ConstraintViolation)
}

fn parse_ts(text: &str) -> Result<DateTime<Utc>, StoreError> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(unavailable)
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(unavailable)
}

fn from_json<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(unavailable)
}

/// Stores made before tracking codes were kept per tenant had one global
/// `tracking (code, order_id)` table; each code moves under its order's tenant.
fn migrate_tracking(conn: &Connection) -> Result<(), StoreError> {
    let old: bool = conn
        .query_row(
            "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'tracking')",
            [],
            |r| r.get(0),
        )
        .map_err(unavailable)?;
    if old {
        conn.execute_batch(
            "BEGIN IMMEDIATE;
             INSERT OR IGNORE INTO tracking_links (tenant, code, order_id, carrier, attached_at)
                 SELECT h.tenant, t.code, t.order_id, NULL, h.updated_at
                 FROM tracking t JOIN heads h ON h.id = t.order_id;
             DROP TABLE tracking;
             COMMIT;",
        )
        .map_err(unavailable)?;
    }
    Ok(())
}

impl SqliteStore {
    /// Opens (creating if needed) the store at `path`; `:memory:` for a private
    /// in-memory database.
    pub fn open(path: &Path, catalog: Arc<Catalog>) -> Result<Self, StoreError> {
        let conn = Connection::open(path).map_err(unavailable)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(unavailable)?;
        conn.execute_batch(SCHEMA).map_err(unavailable)?;
        migrate_tracking(&conn)?;
        Ok(SqliteStore {
            conn: Arc::new(Mutex::new(conn)),
            catalog,
            outbox_signal: Arc::new(Notify::new()),
        })
    }

    /// Notified whenever new events reach the outbox.
    pub fn outbox_signal(&self) -> Arc<Notify> {
        self.outbox_signal.clone()
    }

    pub fn in_memory(catalog: Arc<Catalog>) -> Result<Self, StoreError> {
        Self::open(Path::new(":memory:"), catalog)
    }

    /// Runs blocking SQLite work off the async runtime.
    async fn with<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = conn.lock().unwrap_or_else(|p| p.into_inner());
            f(&mut conn)
        })
        .await
        .map_err(unavailable)?
    }

    fn write_head(
        tx: &Transaction,
        commit: &Commit,
        predecessors: Option<Vec<String>>,
    ) -> Result<(), StoreError> {
        let head = &commit.head;
        let body = to_json(head)?;
        let due = head.due_at.map(ts);
        let flagged = !head.flags.is_empty();
        if commit.expected_version == 0 {
            return tx
                .execute(
                    "INSERT INTO heads (id, tenant, public_id, status, customer_id, version, updated_at, due_at, flagged, body)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                    params![head.id, head.tenant, head.public_id, head.status, head.customer_id,
                            head.version, ts(head.updated_at), due, flagged, body],
                )
                .map(drop)
                .map_err(|e| if is_constraint(&e) { StoreError::AlreadyExists } else { unavailable(e) });
        }
        let mut sql = String::from(
            "UPDATE heads SET status = ?1, version = ?2, updated_at = ?3, due_at = ?4, flagged = ?5, body = ?6
             WHERE id = ?7 AND version = ?8",
        );
        let mut args: Vec<rusqlite::types::Value> = vec![
            head.status.clone().into(),
            (head.version as i64).into(),
            ts(head.updated_at).into(),
            due.map_or(rusqlite::types::Value::Null, Into::into),
            i64::from(flagged).into(),
            body.into(),
            head.id.clone().into(),
            (commit.expected_version as i64).into(),
        ];
        if let Some(legal) = predecessors {
            let marks: Vec<String> = (0..legal.len()).map(|i| format!("?{}", i + 9)).collect();
            sql.push_str(&format!(" AND status IN ({})", marks.join(", ")));
            args.extend(legal.into_iter().map(Into::into));
        }
        let changed = tx
            .execute(&sql, params_from_iter(args))
            .map_err(unavailable)?;
        if changed == 1 {
            return Ok(());
        }
        let (version, status): (i64, String) = tx
            .query_row(
                "SELECT version, status FROM heads WHERE id = ?1",
                [&head.id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .map_err(unavailable)?;
        let version = version as u64;
        Err(if version != commit.expected_version {
            StoreError::VersionConflict {
                current: version,
                status,
            }
        } else {
            StoreError::IllegalTransition {
                current: status,
                version,
            }
        })
    }

    fn write_commit(
        tx: &Transaction,
        commit: &Commit,
        predecessors: Option<Vec<String>>,
    ) -> Result<(), StoreError> {
        Self::write_head(tx, commit, predecessors)?;
        let conflict = |e: rusqlite::Error| {
            if is_constraint(&e) {
                StoreError::VersionConflict {
                    current: commit.expected_version,
                    status: commit.head.status.clone(),
                }
            } else {
                unavailable(e)
            }
        };
        for event in &commit.events {
            tx.execute(
                "INSERT INTO events (order_id, seq, event_id, body) VALUES (?1, ?2, ?3, ?4)",
                params![event.order_id, event.seq, event.event_id, to_json(event)?],
            )
            .map_err(conflict)?;
            tx.execute(
                "INSERT INTO outbox (event_id) VALUES (?1)",
                [&event.event_id],
            )
            .map_err(conflict)?;
        }
        for fact in &commit.park {
            tx.execute(
                "INSERT INTO parked (order_id, occurred_at, event_id, body) VALUES (?1, ?2, ?3, ?4)",
                params![fact.order_id, ts(fact.occurred_at), fact.event_id, to_json(fact)?],
            )
            .map_err(conflict)?;
        }
        for parked in &commit.unpark {
            tx.execute(
                "DELETE FROM parked WHERE order_id = ?1 AND event_id = ?2",
                params![commit.head.id, parked.event_id],
            )
            .map_err(unavailable)?;
        }
        for link in &commit.tracking_codes {
            tx.execute(
                "INSERT OR REPLACE INTO tracking_links (tenant, code, order_id, carrier, attached_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    commit.head.tenant,
                    link.code,
                    commit.head.id,
                    link.carrier,
                    ts(commit.head.updated_at)
                ],
            )
            .map_err(unavailable)?;
        }
        if let Some((source, external_id)) = &commit.dedupe {
            tx.execute(
                "INSERT INTO dedupe (source, external_id, order_id, recorded_at) VALUES (?1, ?2, ?3, ?4)",
                params![source, external_id, commit.head.id, ts(commit.head.updated_at)],
            )
            .map_err(|e| if is_constraint(&e) { StoreError::Duplicate } else { unavailable(e) })?;
        }
        if let Some(record) = &commit.idempotency {
            tx.execute(
                "INSERT INTO idempotency (tenant, key, body) VALUES (?1, ?2, ?3)",
                params![record.tenant, record.key, to_json(record)?],
            )
            .map_err(|e| {
                if is_constraint(&e) {
                    StoreError::IdempotencyKeyTaken
                } else {
                    unavailable(e)
                }
            })?;
        }
        Ok(())
    }
}

#[async_trait]
impl OrderStore for SqliteStore {
    async fn load(&self, order_id: &str) -> Result<Option<Loaded>, StoreError> {
        let id = order_id.to_string();
        self.with(move |conn| {
            let Some(body) = conn
                .query_row("SELECT body FROM heads WHERE id = ?1", [&id], |r| {
                    r.get::<_, String>(0)
                })
                .optional()
                .map_err(unavailable)?
            else {
                return Ok(None);
            };
            let mut stmt = conn
                .prepare_cached(
                    "SELECT body FROM parked WHERE order_id = ?1 ORDER BY occurred_at, event_id",
                )
                .map_err(unavailable)?;
            let parked = stmt
                .query_map([&id], |r| r.get::<_, String>(0))
                .map_err(unavailable)?
                .map(|row| from_json(&row.map_err(unavailable)?))
                .collect::<Result<Vec<Event>, _>>()?;
            Ok(Some(Loaded {
                head: from_json(&body)?,
                parked,
            }))
        })
        .await
    }

    async fn commit(&self, commit: &Commit) -> Result<(), StoreError> {
        let predecessors = super::legal_predecessors(&self.catalog, commit)?;
        let commit = commit.clone();
        self.with(move |conn| {
            let tx = conn
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                .map_err(unavailable)?;
            Self::write_commit(&tx, &commit, predecessors)?;
            tx.commit().map_err(unavailable)
        })
        .await?;
        self.outbox_signal.notify_one();
        Ok(())
    }

    async fn events(
        &self,
        order_id: &str,
        after_seq: u64,
        limit: usize,
    ) -> Result<Vec<Event>, StoreError> {
        let id = order_id.to_string();
        self.with(move |conn| {
            let mut stmt = conn
                .prepare_cached("SELECT body FROM events WHERE order_id = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3")
                .map_err(unavailable)?;
            let rows = stmt
                .query_map(params![id, after_seq as i64, limit as i64], |r| r.get::<_, String>(0))
                .map_err(unavailable)?;
            rows.map(|row| from_json(&row.map_err(unavailable)?)).collect()
        })
        .await
    }

    async fn find_by_public_id(&self, public_id: &str) -> Result<Option<Head>, StoreError> {
        let id = public_id.to_string();
        self.with(move |conn| {
            conn.query_row("SELECT body FROM heads WHERE public_id = ?1", [&id], |r| {
                r.get::<_, String>(0)
            })
            .optional()
            .map_err(unavailable)?
            .map(|body| from_json(&body))
            .transpose()
        })
        .await
    }

    async fn list(&self, query: &ListQuery) -> Result<Page<OrderSummary>, StoreError> {
        let query = query.clone();
        self.with(move |conn| {
            let mut sql = String::from("SELECT body, updated_at, id FROM heads WHERE tenant = ?");
            let mut args: Vec<rusqlite::types::Value> = vec![query.tenant.clone().into()];
            if let Some(status) = &query.status {
                sql.push_str(" AND status = ?");
                args.push(status.clone().into());
            }
            if let Some(customer) = &query.customer_id {
                sql.push_str(" AND customer_id = ?");
                args.push(customer.clone().into());
            }
            if let Some(stalled) = query.stalled {
                let now = ts(query.now.unwrap_or_else(Utc::now));
                let test = "(flagged = 1 OR (due_at IS NOT NULL AND due_at <= ?))";
                sql.push_str(&if stalled {
                    format!(" AND {test}")
                } else {
                    format!(" AND NOT {test}")
                });
                args.push(now.into());
            }
            if let Some(after) = &query.after {
                sql.push_str(" AND (updated_at, id) < (?, ?)");
                args.push(ts(after.updated_at()).into());
                args.push(after.order_id().to_string().into());
            }
            sql.push_str(" ORDER BY updated_at DESC, id DESC LIMIT ?");
            args.push((query.limit as i64 + 1).into());
            let mut stmt = conn.prepare(&sql).map_err(unavailable)?;
            let rows = stmt
                .query_map(params_from_iter(args), |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                    ))
                })
                .map_err(unavailable)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(unavailable)?;
            let more = rows.len() > query.limit;
            let rows = &rows[..rows.len().min(query.limit)];
            let items: Vec<OrderSummary> = rows
                .iter()
                .map(|(body, _, _)| from_json::<Head>(body).map(|h| h.summary()))
                .collect::<Result<_, _>>()?;
            let next = more.then(|| items.last().map(Cursor::after)).flatten();
            Ok(Page { items, next })
        })
        .await
    }

    async fn due(&self, now: DateTime<Utc>, limit: usize) -> Result<Vec<Head>, StoreError> {
        self.with(move |conn| {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT body FROM heads WHERE due_at IS NOT NULL AND due_at <= ?1 ORDER BY due_at LIMIT ?2",
                )
                .map_err(unavailable)?;
            let rows = stmt
                .query_map(params![ts(now), limit as i64], |r| r.get::<_, String>(0))
                .map_err(unavailable)?;
            rows.map(|row| from_json(&row.map_err(unavailable)?)).collect()
        })
        .await
    }

    async fn idempotency(
        &self,
        tenant: &str,
        key: &str,
    ) -> Result<Option<IdempotencyRecord>, StoreError> {
        let (tenant, key) = (tenant.to_string(), key.to_string());
        self.with(move |conn| {
            conn.query_row(
                "SELECT body FROM idempotency WHERE tenant = ?1 AND key = ?2",
                [&tenant, &key],
                |r| r.get::<_, String>(0),
            )
            .optional()
            .map_err(unavailable)?
            .map(|body| from_json(&body))
            .transpose()
        })
        .await
    }

    async fn seen(&self, source: &str, external_id: &str) -> Result<Option<String>, StoreError> {
        let (source, external_id) = (source.to_string(), external_id.to_string());
        self.with(move |conn| {
            conn.query_row(
                "SELECT order_id FROM dedupe WHERE source = ?1 AND external_id = ?2",
                [&source, &external_id],
                |r| r.get(0),
            )
            .optional()
            .map_err(unavailable)
        })
        .await
    }

    async fn find_by_tracking(
        &self,
        tenant: &str,
        code: &str,
    ) -> Result<Vec<TrackingLink>, StoreError> {
        let (tenant, code) = (tenant.to_string(), code.to_string());
        self.with(move |conn| {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT order_id, carrier, attached_at FROM tracking_links
                     WHERE tenant = ?1 AND code = ?2",
                )
                .map_err(unavailable)?;
            let rows = stmt
                .query_map([&tenant, &code], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, Option<String>>(1)?,
                        r.get::<_, String>(2)?,
                    ))
                })
                .map_err(unavailable)?;
            rows.map(|row| {
                let (order_id, carrier, attached_at) = row.map_err(unavailable)?;
                Ok(TrackingLink {
                    order_id,
                    carrier,
                    attached_at: parse_ts(&attached_at)?,
                })
            })
            .collect()
        })
        .await
    }

    async fn stash(&self, key: &str, inbound: &Inbound) -> Result<bool, StoreError> {
        let (key, body) = (key.to_string(), to_json(inbound)?);
        let event_id = inbound.event_id.clone();
        self.with(move |conn| {
            let added = conn
                .execute(
                    "INSERT OR IGNORE INTO unmatched (key, event_id, position, body)
                     VALUES (?1, ?2, (SELECT COALESCE(MAX(position), 0) + 1 FROM unmatched), ?3)",
                    params![key, event_id, body],
                )
                .map_err(unavailable)?;
            Ok(added == 1)
        })
        .await
    }

    async fn stashed(&self, key: &str) -> Result<Vec<Inbound>, StoreError> {
        let key = key.to_string();
        self.with(move |conn| {
            let mut stmt = conn
                .prepare_cached("SELECT body FROM unmatched WHERE key = ?1 ORDER BY position")
                .map_err(unavailable)?;
            let rows = stmt
                .query_map([&key], |r| r.get::<_, String>(0))
                .map_err(unavailable)?;
            rows.map(|row| from_json(&row.map_err(unavailable)?))
                .collect()
        })
        .await
    }

    async fn unstash(&self, key: &str, event_id: &str) -> Result<(), StoreError> {
        let (key, event_id) = (key.to_string(), event_id.to_string());
        self.with(move |conn| {
            conn.execute(
                "DELETE FROM unmatched WHERE key = ?1 AND event_id = ?2",
                params![key, event_id],
            )
            .map(drop)
            .map_err(unavailable)
        })
        .await
    }
}

#[async_trait]
impl Outbox for SqliteStore {
    async fn pending(&self, limit: usize) -> Result<Vec<Event>, StoreError> {
        self.with(move |conn| {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT e.body FROM outbox o JOIN events e ON e.event_id = o.event_id
                     ORDER BY o.position LIMIT ?1",
                )
                .map_err(unavailable)?;
            let rows = stmt
                .query_map([limit as i64], |r| r.get::<_, String>(0))
                .map_err(unavailable)?;
            rows.map(|row| from_json(&row.map_err(unavailable)?))
                .collect()
        })
        .await
    }

    async fn acknowledge(&self, event_ids: &[String]) -> Result<(), StoreError> {
        let ids = event_ids.to_vec();
        self.with(move |conn| {
            let tx = conn.transaction().map_err(unavailable)?;
            for id in &ids {
                tx.execute("DELETE FROM outbox WHERE event_id = ?1", [id])
                    .map_err(unavailable)?;
            }
            tx.commit().map_err(unavailable)
        })
        .await
    }
}
