//! A command's writes, run by the writer inside its batch. First whatever
//! can refuse it: the head must be at the expected version and in a legal
//! predecessor of the move, the dedupe marker and the idempotency key must
//! be new. Then, nothing left to refuse it, the head, the events (and their
//! outbox rows), parked facts, tracking links, the marker and the key. A
//! refused commit has written nothing, so it needs no savepoint to undo.
//! Every statement is prepared once per connection.

use std::sync::Arc;

use rusqlite::{params, Connection};

use super::{from_json, to_json, unavailable};
use crate::order::Event;
use crate::ports::{Commit, Loaded, StoreError};
use crate::store::ts;

/// A commit made ready on the caller's thread: its JSON is written there,
/// once, so the one writer spends its time on SQL alone.
pub(super) struct Prepared {
    pub(super) commit: Commit,
    /// The statuses the order must be in, if the commit moves it.
    predecessors: Option<Vec<String>>,
    head: String,
    events: Vec<String>,
    park: Vec<String>,
    idempotency: Option<String>,
}

impl Prepared {
    pub(super) fn new(
        commit: &Commit,
        predecessors: Option<Vec<String>>,
    ) -> Result<Prepared, StoreError> {
        Ok(Prepared {
            head: to_json(&commit.head)?,
            events: commit
                .events
                .iter()
                .map(to_json)
                .collect::<Result<_, _>>()?,
            park: commit.park.iter().map(to_json).collect::<Result<_, _>>()?,
            idempotency: commit.idempotency.as_ref().map(to_json).transpose()?,
            commit: commit.clone(),
            predecessors,
        })
    }
}

/// Everything that can refuse the commit, looked at before it writes
/// anything: the head's version and status (or its absence, for a new
/// order), the dedupe marker, the idempotency key. The writer is the only
/// one writing, inside its transaction, so what this reads still holds
/// when [`write`] runs.
pub(super) fn check(conn: &Connection, p: &Prepared) -> Result<(), StoreError> {
    let (commit, head) = (&p.commit, &p.commit.head);
    let found = |sql: &str, args: &[&dyn rusqlite::ToSql]| {
        conn.prepare_cached(sql)
            .and_then(|mut query| query.exists(args))
            .map_err(unavailable)
    };
    if commit.expected_version == 0 {
        let sql = "SELECT 1 FROM heads WHERE id = ?1 OR public_id = ?2";
        if found(sql, &[&head.id, &head.public_id])? {
            return Err(StoreError::AlreadyExists);
        }
    } else {
        let (version, status): (i64, String) = conn
            .prepare_cached("SELECT version, status FROM heads WHERE id = ?1")
            .and_then(|mut read| read.query_row([&head.id], |r| Ok((r.get(0)?, r.get(1)?))))
            .map_err(unavailable)?;
        let version = version as u64;
        if version != commit.expected_version {
            return Err(StoreError::VersionConflict {
                current: version,
                status,
                // The loser reads the order again: from the cache, as a rule.
                head: None,
            });
        }
        if p.predecessors
            .as_ref()
            .is_some_and(|legal| !legal.contains(&status))
        {
            return Err(StoreError::IllegalTransition {
                current: status,
                version,
            });
        }
    }
    if let Some((source, external_id)) = &commit.dedupe {
        let sql = "SELECT 1 FROM dedupe WHERE source = ?1 AND external_id = ?2";
        if found(sql, &[source, external_id])? {
            return Err(StoreError::Duplicate);
        }
    }
    if let Some(record) = &commit.idempotency {
        let sql = "SELECT 1 FROM idempotency WHERE tenant = ?1 AND key = ?2";
        if found(sql, &[&record.tenant, &record.key])? {
            return Err(StoreError::IdempotencyKeyTaken);
        }
    }
    Ok(())
}

fn write_head(conn: &Connection, p: &Prepared) -> rusqlite::Result<()> {
    let (commit, head) = (&p.commit, &p.commit.head);
    let due = head.due_at.map(ts);
    let flagged = head.needs_attention();
    if commit.expected_version == 0 {
        return conn
            .prepare_cached(
                "INSERT INTO heads (id, tenant, public_id, status, customer_id, version, updated_at, due_at, flagged, body)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            )?
            .execute(params![head.id, head.tenant, head.public_id, head.status,
                head.customer_id, head.version, ts(head.updated_at), due, flagged, p.head])
            .map(drop);
    }
    // Still conditioned on the version: checked, and checked again.
    let changed = conn
        .prepare_cached(
            "UPDATE heads SET status = ?1, version = ?2, updated_at = ?3, due_at = ?4, flagged = ?5, body = ?6
             WHERE id = ?7 AND version = ?8",
        )?
        .execute(params![head.status, head.version, ts(head.updated_at), due, flagged, p.head,
            head.id, commit.expected_version])?;
    match changed {
        1 => Ok(()),
        _ => Err(rusqlite::Error::StatementChangedRows(changed)),
    }
}

/// Writes a commit that passed [`check`]; returns the outbox position of
/// each event. An error here leaves part of the commit written.
pub(super) fn write(conn: &Connection, p: &Prepared) -> Result<Vec<i64>, StoreError> {
    write_rows(conn, p).map_err(unavailable)
}

fn write_rows(conn: &Connection, p: &Prepared) -> rusqlite::Result<Vec<i64>> {
    write_head(conn, p)?;
    let commit = &p.commit;
    let mut positions = Vec::with_capacity(commit.events.len());
    if !commit.events.is_empty() {
        let mut event_row = conn.prepare_cached(
            "INSERT INTO events (order_id, seq, event_id, body) VALUES (?1, ?2, ?3, ?4)",
        )?;
        let mut outbox_row =
            conn.prepare_cached("INSERT INTO outbox (order_id, seq) VALUES (?1, ?2)")?;
        let mut feed_row = conn.prepare_cached(
            "INSERT INTO feed (tenant, event_id, order_id, seq) VALUES (?1, ?2, ?3, ?4)",
        )?;
        for (event, body) in commit.events.iter().zip(&p.events) {
            event_row.execute(params![event.order_id, event.seq, event.event_id, body])?;
            feed_row.execute(params![
                event.tenant,
                event.event_id,
                event.order_id,
                event.seq
            ])?;
            outbox_row.execute(params![event.order_id, event.seq])?;
            positions.push(conn.last_insert_rowid());
        }
    }
    for (fact, body) in commit.park.iter().zip(&p.park) {
        conn.prepare_cached(
            "INSERT INTO parked (order_id, occurred_at, event_id, body) VALUES (?1, ?2, ?3, ?4)",
        )?
        .execute(params![
            fact.order_id,
            ts(fact.occurred_at),
            fact.event_id,
            body
        ])?;
    }
    for parked in &commit.unpark {
        conn.prepare_cached("DELETE FROM parked WHERE order_id = ?1 AND event_id = ?2")?
            .execute(params![commit.head.id, parked.event_id])?;
    }
    for link in &commit.tracking_codes {
        conn.prepare_cached(
            "INSERT OR REPLACE INTO tracking_links (tenant, code, order_id, carrier, attached_at)
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )?
        .execute(params![
            commit.head.tenant,
            link.code,
            commit.head.id,
            link.carrier,
            ts(commit.head.updated_at)
        ])?;
    }
    if let Some((source, external_id)) = &commit.dedupe {
        conn.prepare_cached(
            "INSERT INTO dedupe (source, external_id, order_id, recorded_at) VALUES (?1, ?2, ?3, ?4)",
        )?
        .execute(params![source, external_id, commit.head.id, ts(commit.head.updated_at)])?;
    }
    if let (Some(record), Some(body)) = (&commit.idempotency, &p.idempotency) {
        conn.prepare_cached("INSERT INTO idempotency (tenant, key, body) VALUES (?1, ?2, ?3)")?
            .execute(params![record.tenant, record.key, body])?;
    }
    Ok(positions)
}

/// The order as the commit leaves it, for the head cache: the parked facts
/// follow from the ones cached for the version the commit replaced, or are
/// read back when those are not known. `None` when they cannot be read.
pub(super) fn loaded_after(
    conn: &Connection,
    p: &Prepared,
    before: Option<Arc<Loaded>>,
) -> Option<Loaded> {
    let commit = &p.commit;
    let known = before.filter(|b| b.head.version == commit.expected_version);
    let parked = match known {
        Some(before) if commit.park.is_empty() && commit.unpark.is_empty() => before.parked.clone(),
        _ if commit.expected_version == 0 => sorted(commit.park.clone()),
        _ => parked(conn, &commit.head.id).ok()?,
    };
    Some(Loaded {
        head: commit.head.clone(),
        parked,
    })
}

/// Parked facts in the order the table keeps them.
fn sorted(mut facts: Vec<Event>) -> Vec<Event> {
    facts.sort_by_cached_key(|f| (ts(f.occurred_at), f.event_id.clone()));
    facts
}

/// An order's parked facts, oldest first.
pub(super) fn parked(conn: &Connection, order_id: &str) -> Result<Vec<Event>, StoreError> {
    let mut statement = conn
        .prepare_cached(
            "SELECT body FROM parked WHERE order_id = ?1 ORDER BY occurred_at, event_id",
        )
        .map_err(unavailable)?;
    let rows = statement
        .query_map([order_id], |r| r.get::<_, String>(0))
        .map_err(unavailable)?;
    rows.map(|row| from_json(&row.map_err(unavailable)?))
        .collect()
}
