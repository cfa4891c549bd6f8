//! The outbox as the relay reads it: the events the writer just committed,
//! handed over in memory, so the relay neither reads them back nor parses
//! their JSON again.
//!
//! The outbox table stays the durable record: every event still gets its
//! row in the transaction that commits it, and loses it only when the relay
//! acknowledges it, so after a crash the events not yet published are read
//! back from the table. The mirror holds the table's rows in commit order
//! while it knows it holds all of them: not at start-up (rows may be left
//! from before), not after it overflowed (nobody relaying), not after
//! another process wrote to the file. Then the writer reads the table once
//! more, and once it has read the last row the mirror is whole again — on
//! the writer's thread, so no commit slips in between.

use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, Mutex};

use rusqlite::{params, Connection};
use tokio::sync::oneshot;

use super::writer::Job;
use super::{from_json, unavailable};
use crate::order::Event;
use crate::ports::StoreError;

/// Unpublished events kept in memory at most; past that (no relay running)
/// they wait in the table alone.
const CAP: usize = 10_000;

#[derive(Default)]
pub(super) struct Mirror {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// Unacknowledged events with their outbox positions, oldest first.
    rows: VecDeque<(i64, Event)>,
    /// Whether `rows` is the whole outbox table.
    whole: bool,
    /// The write connection's `PRAGMA data_version` when last looked at: it
    /// changes when another connection (another process) commits.
    data_version: Option<i64>,
}

impl Mirror {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Events a commit just wrote, with their positions. Called by the
    /// writer after `COMMIT`, in commit order.
    pub(super) fn committed(&self, rows: Vec<(i64, Event)>) {
        let mut s = self.state();
        if s.whole && s.rows.len() + rows.len() <= CAP {
            s.rows.extend(rows);
        } else {
            s.rows.clear();
            s.whole = false;
        }
    }

    /// The oldest `limit` events, if the mirror can answer alone: it is
    /// whole and not empty (an empty one asks the writer whether another
    /// process added rows).
    pub(super) fn oldest(&self, limit: usize) -> Option<Vec<Event>> {
        let s = self.state();
        (s.whole && !s.rows.is_empty())
            .then(|| s.rows.iter().take(limit).map(|(_, e)| e.clone()).collect())
    }

    /// A writer job that answers the oldest `limit` events: from the
    /// mirror if it is whole and nobody else wrote, else from the table —
    /// and once a read reaches the table's end, the mirror is whole again.
    /// The mirror changes only in the job's reply, in commit order: the
    /// replies of commits before it in its batch have added their events
    /// by then, and those after it add theirs after it.
    pub(super) fn refill(
        self: Arc<Self>,
        limit: usize,
        answer: oneshot::Sender<Result<Vec<Event>, StoreError>>,
    ) -> Job {
        Box::new(move |conn| {
            let read = data_version(conn).and_then(|version| {
                let trusted = {
                    let s = self.state();
                    s.whole && s.data_version == Some(version)
                };
                let rows = match trusted {
                    true => None,
                    false => Some(oldest_rows(conn, limit)?),
                };
                Ok((version, rows))
            });
            Ok(Box::new(move |batch| {
                let answered = read
                    .and_then(|read| batch.map(|()| read))
                    .map(|(version, rows)| {
                        let mut s = self.state();
                        s.data_version = Some(version);
                        match rows {
                            Some(rows) => {
                                let events = rows.iter().map(|(_, e)| e.clone()).collect();
                                if rows.len() < limit {
                                    s.rows = rows;
                                    s.whole = true;
                                }
                                events
                            }
                            None => s.rows.iter().take(limit).map(|(_, e)| e.clone()).collect(),
                        }
                    });
                let _ = answer.send(answered);
            }))
        })
    }

    /// Takes acknowledged events out of the mirror; returns the positions of
    /// those it held and the ids of those it did not (read from the table).
    pub(super) fn acknowledged(&self, event_ids: &[String]) -> (Vec<i64>, Vec<String>) {
        let mut s = self.state();
        let mut wanted: HashSet<&str> = event_ids.iter().map(String::as_str).collect();
        let mut positions = Vec::with_capacity(event_ids.len());
        // The relay acknowledges the oldest events, in order: the front.
        while let Some((position, event)) = s.rows.front() {
            if !wanted.remove(event.event_id.as_str()) {
                break;
            }
            positions.push(*position);
            s.rows.pop_front();
        }
        if wanted.is_empty() {
            return (positions, Vec::new());
        }
        s.rows.retain(|(position, event)| {
            let acked = wanted.remove(event.event_id.as_str());
            if acked {
                positions.push(*position);
            }
            !acked
        });
        (positions, wanted.into_iter().map(str::to_string).collect())
    }

    /// Rows the mirror let go of may still be in the table: read it again.
    pub(super) fn distrust(&self) {
        let mut s = self.state();
        s.rows.clear();
        s.whole = false;
    }
}

fn data_version(conn: &Connection) -> Result<i64, StoreError> {
    conn.query_row("PRAGMA data_version", [], |r| r.get(0))
        .map_err(unavailable)
}

/// The table's oldest `limit` rows: positions and events.
fn oldest_rows(conn: &Connection, limit: usize) -> Result<VecDeque<(i64, Event)>, StoreError> {
    let mut statement = conn
        .prepare_cached(
            "SELECT o.position, e.body FROM outbox o
             JOIN events e ON e.order_id = o.order_id AND e.seq = o.seq
             ORDER BY o.position LIMIT ?1",
        )
        .map_err(unavailable)?;
    let rows = statement
        .query_map([limit as i64], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
        })
        .map_err(unavailable)?;
    rows.map(|row| {
        let (position, body) = row.map_err(unavailable)?;
        Ok((position, from_json::<Event>(&body)?))
    })
    .collect()
}

/// Deletes acknowledged outbox rows, by position where known.
pub(super) fn delete(
    conn: &Connection,
    positions: &[i64],
    event_ids: &[String],
) -> Result<(), StoreError> {
    let mut by_position = conn
        .prepare_cached("DELETE FROM outbox WHERE position = ?1")
        .map_err(unavailable)?;
    for position in positions {
        by_position.execute([position]).map_err(unavailable)?;
    }
    let mut by_id = conn
        .prepare_cached(
            "DELETE FROM outbox WHERE position IN (SELECT o.position FROM outbox o
             JOIN events e ON e.order_id = o.order_id AND e.seq = o.seq WHERE e.event_id = ?1)",
        )
        .map_err(unavailable)?;
    for id in event_ids {
        by_id.execute(params![id]).map_err(unavailable)?;
    }
    Ok(())
}
