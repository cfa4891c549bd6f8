//! What the embedded store keeps for telling people: merchants' endpoints
//! and deliveries, claims (done once), and the local stack's queues —
//! pending deliveries by when they are due, customer notifications waiting
//! out their collapse window.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::params;

use super::{from_json, to_json, unavailable, SqliteStore};
use crate::merchant::{Delivery, Endpoint};
use crate::ports::{Claims, MerchantStore, StoreError};
use crate::store::ts;

pub(super) const TABLES: &str = "
CREATE TABLE IF NOT EXISTS endpoints (
    tenant TEXT NOT NULL,
    id TEXT NOT NULL,
    created_at TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (tenant, id)
);
CREATE TABLE IF NOT EXISTS deliveries (
    tenant TEXT NOT NULL,
    endpoint_id TEXT NOT NULL,
    id TEXT NOT NULL,
    created_at TEXT NOT NULL,
    next_at TEXT,
    expires_at TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (tenant, endpoint_id, id)
);
CREATE INDEX IF NOT EXISTS deliveries_by_time ON deliveries (tenant, endpoint_id, created_at);
CREATE INDEX IF NOT EXISTS deliveries_due ON deliveries (next_at) WHERE next_at IS NOT NULL;
CREATE TABLE IF NOT EXISTS claims (
    key TEXT PRIMARY KEY,
    expires_at TEXT NOT NULL
);
-- Customer notifications waiting out their collapse window.
CREATE TABLE IF NOT EXISTS notify_queue (
    order_id TEXT NOT NULL,
    event_id TEXT NOT NULL,
    due_at TEXT NOT NULL,
    PRIMARY KEY (order_id, event_id)
);
CREATE INDEX IF NOT EXISTS notify_queue_due ON notify_queue (due_at);
";

impl SqliteStore {
    /// Pending deliveries due by `now`, earliest first: the local queue.
    pub async fn due_deliveries(
        &self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<Delivery>, StoreError> {
        self.read(move |conn| {
            let mut statement = conn
                .prepare_cached(
                    "SELECT body FROM deliveries WHERE next_at IS NOT NULL AND next_at <= ?1
                     ORDER BY next_at LIMIT ?2",
                )
                .map_err(unavailable)?;
            let rows = statement
                .query_map(params![ts(now), limit as i64], |r| r.get::<_, String>(0))
                .map_err(unavailable)?;
            rows.map(|row| from_json(&row.map_err(unavailable)?))
                .collect()
        })
        .await
    }

    /// Queues events' customer notifications, each `(order id, event id,
    /// due at)`, in one write.
    pub async fn queue_notifications(
        &self,
        due: Vec<(String, String, DateTime<Utc>)>,
    ) -> Result<(), StoreError> {
        if due.is_empty() {
            return Ok(());
        }
        self.writer
            .call(move |conn| {
                let mut queue = conn
                    .prepare_cached(
                        "INSERT OR IGNORE INTO notify_queue (order_id, event_id, due_at) VALUES (?1, ?2, ?3)",
                    )
                    .map_err(unavailable)?;
                for (order_id, event_id, at) in &due {
                    queue
                        .execute(params![order_id, event_id, ts(*at)])
                        .map_err(unavailable)?;
                }
                Ok(())
            })
            .await
    }

    /// The (order id, event id) of notifications due by `now`, earliest first.
    pub async fn due_notifications(
        &self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<(String, String)>, StoreError> {
        self.read(move |conn| {
            let mut statement = conn
                .prepare_cached(
                    "SELECT order_id, event_id FROM notify_queue WHERE due_at <= ?1
                     ORDER BY due_at LIMIT ?2",
                )
                .map_err(unavailable)?;
            let rows = statement
                .query_map(params![ts(now), limit as i64], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })
                .map_err(unavailable)?;
            rows.map(|row| row.map_err(unavailable)).collect()
        })
        .await
    }

    /// Takes a notification off the queue once it is handled.
    pub async fn notified(&self, order_id: &str, event_id: &str) -> Result<(), StoreError> {
        let key = (order_id.to_string(), event_id.to_string());
        self.writer
            .call(move |conn| {
                conn.prepare_cached(
                    "DELETE FROM notify_queue WHERE order_id = ?1 AND event_id = ?2",
                )
                .and_then(|mut done| done.execute(params![key.0, key.1]))
                .map(|_| ())
                .map_err(unavailable)
            })
            .await
    }

    /// Forgets deliveries past their retention; how many went.
    pub async fn forget_old_deliveries(&self, now: DateTime<Utc>) -> Result<usize, StoreError> {
        self.writer
            .call(move |conn| {
                let now = ts(now);
                conn.prepare_cached("DELETE FROM claims WHERE expires_at < ?1")
                    .and_then(|mut forget| forget.execute([&now]))
                    .and_then(|_| {
                        conn.prepare_cached("DELETE FROM deliveries WHERE expires_at < ?1")
                    })
                    .and_then(|mut forget| forget.execute([&now]))
                    .map_err(unavailable)
            })
            .await
    }
}

#[async_trait]
impl Claims for SqliteStore {
    async fn claim(&self, key: &str, expires_at: DateTime<Utc>) -> Result<bool, StoreError> {
        let row = (key.to_string(), ts(expires_at));
        self.writer
            .call(move |conn| {
                conn.prepare_cached(
                    "INSERT OR IGNORE INTO claims (key, expires_at) VALUES (?1, ?2)",
                )
                .and_then(|mut claim| claim.execute(params![row.0, row.1]))
                .map(|claimed| claimed == 1)
                .map_err(unavailable)
            })
            .await
    }
}

#[async_trait]
impl MerchantStore for SqliteStore {
    async fn add_endpoint(&self, endpoint: &Endpoint) -> Result<(), StoreError> {
        self.save_endpoint(endpoint).await
    }

    async fn endpoints(&self, tenant: &str) -> Result<Vec<Endpoint>, StoreError> {
        let tenant = tenant.to_string();
        self.read(move |conn| {
            let mut statement = conn
                .prepare_cached(
                    "SELECT body FROM endpoints WHERE tenant = ?1 ORDER BY created_at, id",
                )
                .map_err(unavailable)?;
            let rows = statement
                .query_map([tenant], |r| r.get::<_, String>(0))
                .map_err(unavailable)?;
            rows.map(|row| from_json(&row.map_err(unavailable)?))
                .collect()
        })
        .await
    }

    async fn save_endpoint(&self, endpoint: &Endpoint) -> Result<(), StoreError> {
        let body = to_json(endpoint)?;
        let (tenant, id, created_at) = (
            endpoint.tenant.clone(),
            endpoint.id.clone(),
            ts(endpoint.created_at),
        );
        self.writer
            .call(move |conn| {
                conn.prepare_cached(
                    "INSERT OR REPLACE INTO endpoints (tenant, id, created_at, body)
                     VALUES (?1, ?2, ?3, ?4)",
                )
                .and_then(|mut save| save.execute(params![tenant, id, created_at, body]))
                .map(|_| ())
                .map_err(unavailable)
            })
            .await
    }

    async fn remove_endpoint(&self, tenant: &str, id: &str) -> Result<bool, StoreError> {
        let (tenant, id) = (tenant.to_string(), id.to_string());
        self.writer
            .call(move |conn| {
                conn.prepare_cached("DELETE FROM endpoints WHERE tenant = ?1 AND id = ?2")
                    .and_then(|mut remove| remove.execute(params![tenant, id]))
                    .map(|removed| removed == 1)
                    .map_err(unavailable)
            })
            .await
    }

    async fn open_delivery(&self, delivery: &Delivery) -> Result<bool, StoreError> {
        self.put_delivery(delivery, "INSERT OR IGNORE").await
    }

    async fn save_delivery(&self, delivery: &Delivery) -> Result<(), StoreError> {
        self.put_delivery(delivery, "INSERT OR REPLACE")
            .await
            .map(|_| ())
    }

    async fn delivery(
        &self,
        tenant: &str,
        endpoint_id: &str,
        id: &str,
    ) -> Result<Option<Delivery>, StoreError> {
        let key = (tenant.to_string(), endpoint_id.to_string(), id.to_string());
        self.read(move |conn| {
            let body: Option<String> = conn
                .query_row(
                    "SELECT body FROM deliveries WHERE tenant = ?1 AND endpoint_id = ?2 AND id = ?3",
                    params![key.0, key.1, key.2],
                    |r| r.get(0),
                )
                .map(Some)
                .or_else(|e| match e {
                    rusqlite::Error::QueryReturnedNoRows => Ok(None),
                    e => Err(unavailable(e)),
                })?;
            body.map(|b| from_json(&b)).transpose()
        })
        .await
    }

    async fn deliveries(
        &self,
        tenant: &str,
        endpoint_id: &str,
        limit: usize,
    ) -> Result<Vec<Delivery>, StoreError> {
        let (tenant, endpoint_id) = (tenant.to_string(), endpoint_id.to_string());
        self.read(move |conn| {
            let mut statement = conn
                .prepare_cached(
                    "SELECT body FROM deliveries WHERE tenant = ?1 AND endpoint_id = ?2
                     ORDER BY created_at DESC, id DESC LIMIT ?3",
                )
                .map_err(unavailable)?;
            let rows = statement
                .query_map(params![tenant, endpoint_id, limit as i64], |r| {
                    r.get::<_, String>(0)
                })
                .map_err(unavailable)?;
            rows.map(|row| from_json(&row.map_err(unavailable)?))
                .collect()
        })
        .await
    }
}

impl SqliteStore {
    /// Writes a delivery with `verb` (`INSERT OR IGNORE` / `OR REPLACE`);
    /// whether a row was written.
    async fn put_delivery(&self, d: &Delivery, verb: &'static str) -> Result<bool, StoreError> {
        let body = to_json(d)?;
        let row = (
            d.tenant.clone(),
            d.endpoint_id.clone(),
            d.id.clone(),
            ts(d.created_at),
            d.next_at.map(ts),
            ts(d.expires_at()),
        );
        self.writer
            .call(move |conn| {
                let sql = format!(
                    "{verb} INTO deliveries (tenant, endpoint_id, id, created_at, next_at, expires_at, body)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
                );
                conn.prepare_cached(&sql)
                    .and_then(|mut put| {
                        put.execute(params![row.0, row.1, row.2, row.3, row.4, row.5, body])
                    })
                    .map(|written| written == 1)
                    .map_err(unavailable)
            })
            .await
    }
}
