//! The embedded store: SQLite through rusqlite, one file under the data
//! directory (or `:memory:` in tests).
//!
//! It mirrors the DynamoDB design move for move: the head update is
//! conditioned on the expected version *and* on the status being a legal
//! predecessor of the move, events are inserted under a primary key that
//! refuses duplicates, and dedupe markers and idempotency keys are inserted in
//! the same transaction. Committed events also go to an outbox table that the
//! relay drains, so an event is published at least once even after a crash.

mod commit;
mod schema;

use std::path::Path;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use rusqlite::{params, params_from_iter, Connection, ErrorCode, OptionalExtension};
use tokio::sync::Notify;

use super::ts;

use crate::cursor::Cursor;
use crate::lifecycle::Catalog;
use crate::order::inbound::{Inbound, TrackingLink};
use crate::order::{Event, Head, OrderSummary};
use crate::ports::{
    Commit, IdempotencyRecord, ListQuery, Loaded, OrderStore, Outbox, Page, StoreError,
};

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
    /// Opens (creating if needed) the store at `path`; `:memory:` for a private
    /// in-memory database.
    pub fn open(path: &Path, catalog: Arc<Catalog>) -> Result<Self, StoreError> {
        let conn = Connection::open(path).map_err(unavailable)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(unavailable)?;
        schema::prepare(&conn)?;
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
            commit::write_commit(&tx, &commit, predecessors)?;
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A row that does not decode is corrupt, not an outage: retrying would
    /// fail the same way, so it must not be answered with "please retry".
    #[tokio::test]
    async fn a_row_that_does_not_decode_is_corrupt() {
        let store = SqliteStore::in_memory(Arc::new(Catalog::presets())).unwrap();
        store
            .with(|conn| {
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
