//! A command's writes in one SQLite transaction: the head update conditioned
//! on the expected version and on the legal predecessors of the move, then
//! events (and their outbox rows), parked facts, tracking links, the dedupe
//! marker and the idempotency key, each refused by its key if already there.

use rusqlite::{params, params_from_iter, Transaction};

use super::{is_constraint, to_json, unavailable};
use crate::ports::{Commit, StoreError};
use crate::store::ts;

pub(super) fn write_head(
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

pub(super) fn write_commit(
    tx: &Transaction,
    commit: &Commit,
    predecessors: Option<Vec<String>>,
) -> Result<(), StoreError> {
    write_head(tx, commit, predecessors)?;
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
            params![
                fact.order_id,
                ts(fact.occurred_at),
                fact.event_id,
                to_json(fact)?
            ],
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
