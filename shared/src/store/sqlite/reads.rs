//! Reads: the queries, and the read connections they run on.
//!
//! A store file in WAL mode lets readers run beside the writer, each on a
//! snapshot, so reads do not queue behind writes: they run right on the
//! caller's thread, each in its own read transaction (one snapshot for all
//! its statements), on a connection taken from a small pool. A `:memory:`
//! store has one connection, the writer's, and its reads go to the writer.

use std::path::PathBuf;
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use rusqlite::{params, params_from_iter, Connection, OpenFlags, OptionalExtension};

use super::{from_json, parse_ts, unavailable};
use crate::cursor::Cursor;
use crate::order::inbound::{Inbound, TrackingLink};
use crate::order::{Event, Head, OrderSummary, DEFAULT_STORE};
use crate::ports::{IdempotencyRecord, ListQuery, Loaded, Page, StoreError};
use crate::store::ts;

/// Read connections to one store file, opened as needed and kept for reuse:
/// as many as threads have read at once.
pub(super) struct Pool {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
}

impl Pool {
    pub(super) fn new(path: PathBuf) -> Pool {
        Pool {
            path,
            idle: Mutex::default(),
        }
    }

    fn open(&self) -> Result<Connection, StoreError> {
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
            | OpenFlags::SQLITE_OPEN_URI;
        let conn = Connection::open_with_flags(&self.path, flags).map_err(unavailable)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(unavailable)?;
        conn.set_prepared_statement_cache_capacity(32);
        Ok(conn)
    }

    /// Runs `f` on a read connection, in one read transaction.
    pub(super) fn read<T>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let idle = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let conn = match idle {
            Some(conn) => conn,
            None => self.open()?,
        };
        let result = conn
            .prepare_cached("BEGIN")
            .and_then(|mut begin| begin.execute([]))
            .map_err(unavailable)
            .and_then(|_| f(&conn));
        // A read transaction only ends: nothing to keep or undo.
        let ended = conn
            .prepare_cached("COMMIT")
            .and_then(|mut end| end.execute([]));
        if ended.is_ok() {
            self.idle
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(conn);
        }
        result
    }
}

fn one<T>(
    conn: &Connection,
    sql: &str,
    args: impl rusqlite::Params,
    row: impl FnOnce(&rusqlite::Row) -> rusqlite::Result<T>,
) -> Result<Option<T>, StoreError> {
    conn.prepare_cached(sql)
        .and_then(|mut statement| statement.query_row(args, row).optional())
        .map_err(unavailable)
}

fn bodies<T: serde::de::DeserializeOwned>(
    conn: &Connection,
    sql: &str,
    args: impl rusqlite::Params,
) -> Result<Vec<T>, StoreError> {
    let mut statement = conn.prepare_cached(sql).map_err(unavailable)?;
    let rows = statement
        .query_map(args, |r| r.get::<_, String>(0))
        .map_err(unavailable)?;
    rows.map(|row| from_json(&row.map_err(unavailable)?))
        .collect()
}

/// An order's head and parked facts as stored, for [`parse`] to read: on
/// `:memory:` this runs on the writer, and the parsing need not.
pub(super) fn load(
    conn: &Connection,
    order_id: &str,
) -> Result<Option<(String, Vec<String>)>, StoreError> {
    let Some(head) = one(
        conn,
        "SELECT body FROM heads WHERE id = ?1",
        [order_id],
        |r| r.get::<_, String>(0),
    )?
    else {
        return Ok(None);
    };
    let mut statement = conn
        .prepare_cached(
            "SELECT body FROM parked WHERE order_id = ?1 ORDER BY occurred_at, event_id",
        )
        .map_err(unavailable)?;
    let parked = statement
        .query_map([order_id], |r| r.get::<_, String>(0))
        .map_err(unavailable)?
        .collect::<Result<_, _>>()
        .map_err(unavailable)?;
    Ok(Some((head, parked)))
}

pub(super) fn parse((head, parked): (String, Vec<String>)) -> Result<Loaded, StoreError> {
    Ok(Loaded {
        head: from_json(&head)?,
        parked: parked
            .iter()
            .map(|p| from_json(p))
            .collect::<Result<_, _>>()?,
    })
}

/// The version of an order's head as the file has it.
pub(super) fn version(conn: &Connection, order_id: &str) -> Result<Option<u64>, StoreError> {
    one(
        conn,
        "SELECT version FROM heads WHERE id = ?1",
        [order_id],
        |r| r.get::<_, i64>(0),
    )
    .map(|v| v.map(|v| v as u64))
}

pub(super) fn events(
    conn: &Connection,
    order_id: &str,
    after_seq: u64,
    limit: usize,
) -> Result<Vec<Event>, StoreError> {
    bodies(
        conn,
        "SELECT body FROM events WHERE order_id = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3",
        params![order_id, after_seq as i64, limit as i64],
    )
}

pub(super) fn feed(
    conn: &Connection,
    tenant: &str,
    after: Option<&str>,
    until: DateTime<Utc>,
    limit: usize,
) -> Result<Vec<Event>, StoreError> {
    let events: Vec<Event> = bodies(
        conn,
        "SELECT e.body FROM feed f JOIN events e ON e.order_id = f.order_id AND e.seq = f.seq
         WHERE f.tenant = ?1 AND f.event_id > ?2 ORDER BY f.event_id LIMIT ?3",
        params![tenant, after.unwrap_or(""), limit as i64],
    )?;
    // Up to the first one recorded after `until`, none after it.
    Ok(events
        .into_iter()
        .take_while(|event| event.recorded_at <= until)
        .collect())
}

pub(super) fn by_public_id(conn: &Connection, public_id: &str) -> Result<Option<Head>, StoreError> {
    one(
        conn,
        "SELECT body FROM heads WHERE public_id = ?1",
        [public_id],
        |r| r.get::<_, String>(0),
    )?
    .map(|body| from_json(&body))
    .transpose()
}

pub(super) fn list(conn: &Connection, query: &ListQuery) -> Result<Page<OrderSummary>, StoreError> {
    let mut sql = String::from("SELECT body FROM heads WHERE tenant = ?");
    let mut args: Vec<rusqlite::types::Value> = vec![query.tenant.clone().into()];
    if let Some(status) = &query.status {
        sql.push_str(" AND status = ?");
        args.push(status.clone().into());
    }
    if let Some(customer) = &query.customer_id {
        sql.push_str(" AND customer_id = ?");
        args.push(customer.clone().into());
    }
    if let Some(stores) = &query.stores {
        // Heads written before orders had stores belong to the default one.
        let marks = vec!["?"; stores.len()].join(", ");
        sql.push_str(&format!(
            " AND coalesce(json_extract(body, '$.store'), '{DEFAULT_STORE}') IN ({marks})"
        ));
        args.extend(stores.iter().map(|s| s.clone().into()));
    }
    if let Some(payment) = query.payment {
        match payment.standing() {
            None => sql.push_str(" AND json_extract(body, '$.payment') IS NULL"),
            Some(kind) => {
                sql.push_str(" AND json_extract(body, '$.payment.status') = ?");
                args.push(
                    serde_json::to_value(kind)
                        .ok()
                        .and_then(|v| v.as_str().map(String::from))
                        .unwrap_or_default()
                        .into(),
                );
            }
        }
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
    let heads: Vec<Head> = bodies(conn, &sql, params_from_iter(args))?;
    let more = heads.len() > query.limit;
    let items: Vec<OrderSummary> = heads.iter().take(query.limit).map(Head::summary).collect();
    let next = more.then(|| items.last().map(Cursor::after)).flatten();
    Ok(Page { items, next })
}

pub(super) fn due(
    conn: &Connection,
    now: DateTime<Utc>,
    limit: usize,
) -> Result<Vec<Head>, StoreError> {
    bodies(
        conn,
        "SELECT body FROM heads WHERE due_at IS NOT NULL AND due_at <= ?1 ORDER BY due_at LIMIT ?2",
        params![ts(now), limit as i64],
    )
}

pub(super) fn idempotency(
    conn: &Connection,
    tenant: &str,
    key: &str,
) -> Result<Option<IdempotencyRecord>, StoreError> {
    one(
        conn,
        "SELECT body FROM idempotency WHERE tenant = ?1 AND key = ?2",
        [tenant, key],
        |r| r.get::<_, String>(0),
    )?
    .map(|body| from_json(&body))
    .transpose()
}

pub(super) fn seen(
    conn: &Connection,
    source: &str,
    external_id: &str,
) -> Result<Option<String>, StoreError> {
    one(
        conn,
        "SELECT order_id FROM dedupe WHERE source = ?1 AND external_id = ?2",
        [source, external_id],
        |r| r.get(0),
    )
}

pub(super) fn tracking(
    conn: &Connection,
    tenant: &str,
    code: &str,
) -> Result<Vec<TrackingLink>, StoreError> {
    let mut statement = conn
        .prepare_cached(
            "SELECT order_id, carrier, attached_at FROM tracking_links
             WHERE tenant = ?1 AND code = ?2",
        )
        .map_err(unavailable)?;
    let rows = statement
        .query_map([tenant, code], |r| {
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
}

pub(super) fn stashed(conn: &Connection, key: &str) -> Result<Vec<Inbound>, StoreError> {
    bodies(
        conn,
        "SELECT body FROM unmatched WHERE key = ?1 ORDER BY position",
        [key],
    )
}
