//! The embedded store's tables, and the moves that bring an older store file
//! up to date when it is opened.

use rusqlite::Connection;

use super::unavailable;
use crate::ports::StoreError;

/// Creates what is missing; safe on every open.
pub(super) fn prepare(conn: &Connection) -> Result<(), StoreError> {
    conn.execute_batch(SCHEMA).map_err(unavailable)?;
    migrate_tracking(conn)
}

const SCHEMA: &str = "
PRAGMA journal_mode = WAL;
PRAGMA synchronous = NORMAL;
PRAGMA foreign_keys = ON;
-- The writer puts each commit of a batch in a savepoint; their undo pages
-- stay in memory rather than spill to a temporary file per batch.
PRAGMA temp_store = MEMORY;
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
