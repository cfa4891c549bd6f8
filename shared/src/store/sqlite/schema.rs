//! The embedded store's tables, and the moves that bring an older store file
//! up to date when it is opened.

use rusqlite::Connection;

use super::unavailable;
use crate::ports::StoreError;

/// Creates what is missing; safe on every open.
pub(super) fn prepare(conn: &Connection) -> Result<(), StoreError> {
    conn.execute_batch(SETTINGS).map_err(unavailable)?;
    rebuild_older_log(conn)?;
    conn.execute_batch(TABLES).map_err(unavailable)?;
    conn.execute_batch(super::merchant::TABLES)
        .map_err(unavailable)?;
    conn.execute_batch(super::data_keys::TABLES)
        .map_err(unavailable)?;
    migrate_tracking(conn)?;
    fill_feed(conn)
}

/// Stores made before the tenants' feeds had events but no feed: it is
/// filled from the log once, in one transaction.
fn fill_feed(conn: &Connection) -> Result<(), StoreError> {
    conn.execute_batch(
        "BEGIN IMMEDIATE;
         INSERT INTO feed (tenant, event_id, order_id, seq)
             SELECT h.tenant, e.event_id, e.order_id, e.seq
             FROM events e JOIN heads h ON h.id = e.order_id
             WHERE NOT EXISTS (SELECT 1 FROM feed);
         COMMIT;",
    )
    .map_err(unavailable)
}

/// Stores made before the events table lost its index of event ids had
/// outbox rows that named their event by id: their events and outbox
/// tables are rebuilt as [`TABLES`] makes them, rows and outbox positions
/// kept. Looked at and done in one transaction, so two processes opening
/// such a file at once rebuild it once.
fn rebuild_older_log(conn: &Connection) -> Result<(), StoreError> {
    // Renaming and dropping the old tables must not check the references
    // to them; the setting cannot change inside a transaction.
    conn.execute_batch("PRAGMA foreign_keys = OFF; BEGIN IMMEDIATE;")
        .map_err(unavailable)?;
    let rebuilt = outbox_names_events_by_id(conn).and_then(|older| {
        if !older {
            return Ok(());
        }
        conn.execute_batch(
            "ALTER TABLE outbox RENAME TO outbox_old;
             ALTER TABLE events RENAME TO events_old;",
        )
        .and_then(|()| conn.execute_batch(TABLES))
        .and_then(|()| {
            conn.execute_batch(
                "INSERT INTO events SELECT order_id, seq, event_id, body FROM events_old;
                 INSERT INTO outbox (position, order_id, seq)
                     SELECT o.position, e.order_id, e.seq
                     FROM outbox_old o JOIN events_old e ON e.event_id = o.event_id;
                 DROP TABLE outbox_old;
                 DROP TABLE events_old;",
            )
        })
    });
    let end = match rebuilt {
        Ok(()) => "COMMIT; PRAGMA foreign_keys = ON;",
        Err(_) => "ROLLBACK; PRAGMA foreign_keys = ON;",
    };
    let ended = conn.execute_batch(end);
    rebuilt.and(ended).map_err(unavailable)
}

fn outbox_names_events_by_id(conn: &Connection) -> rusqlite::Result<bool> {
    conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master
         WHERE type = 'table' AND name = 'outbox' AND sql LIKE '%event_id%')",
        [],
        |r| r.get(0),
    )
}

const SETTINGS: &str = "
PRAGMA journal_mode = WAL;
PRAGMA synchronous = NORMAL;
PRAGMA foreign_keys = ON;
-- The writer puts each commit of a batch in a savepoint; their undo pages
-- stay in memory rather than spill to a temporary file per batch.
PRAGMA temp_store = MEMORY;
";

const TABLES: &str = "
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
-- Every command moves an order in the indexes keyed on what it changes, a
-- page written for each; so only the tenant's list (most recently updated
-- first, a status a filter on it) and the sweep's deadlines key on those.
-- A customer has few orders: their index never moves, and a list of them
-- is sorted as it is read. Stores made before this dropped two indexes.
DROP INDEX IF EXISTS heads_by_status;
DROP INDEX IF EXISTS heads_by_customer;
CREATE INDEX IF NOT EXISTS heads_by_tenant ON heads (tenant, updated_at, id);
CREATE INDEX IF NOT EXISTS heads_of_customer ON heads (tenant, customer_id);
CREATE INDEX IF NOT EXISTS heads_due ON heads (due_at) WHERE due_at IS NOT NULL;
-- One B-tree, keyed as it is read: an order's events in sequence. Event
-- ids are made unique where they are made; an index on them would be one
-- more page written per event.
CREATE TABLE IF NOT EXISTS events (
    order_id TEXT NOT NULL REFERENCES heads (id),
    seq INTEGER NOT NULL,
    event_id TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (order_id, seq)
) WITHOUT ROWID;
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
-- Each tenant's events in id (time) order, for its feed: appended, since
-- ids are made in time order.
CREATE TABLE IF NOT EXISTS feed (
    tenant TEXT NOT NULL,
    event_id TEXT NOT NULL,
    order_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    PRIMARY KEY (tenant, event_id)
) WITHOUT ROWID;
-- Rows appended in commit order and deleted once published: the key of
-- each event, not an index of its own.
CREATE TABLE IF NOT EXISTS outbox (
    position INTEGER PRIMARY KEY AUTOINCREMENT,
    order_id TEXT NOT NULL,
    seq INTEGER NOT NULL
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
