//! The stall sweep: reads the overdue orders through the sparse due index
//! (never the table) and flags each with its reason and an escalation level.
//! A flagged order's deadline moves ahead, so each batch reads new orders;
//! two sweeps at once never double a flag, since the loser's conditional
//! write fails and its second look finds nothing due. The schedule (an
//! EventBridge rule, the local stack's timer) and `POST /admin/sweep` all
//! call [`OrderService::sweep_until`].

use std::collections::BTreeMap;
use std::time::Instant;

use serde::Serialize;

use super::commands::{Attempt, OnRace, Target};
use super::{OrderService, ServiceError};
use crate::order::{decide, EventBody};
use crate::ports::Commit;

/// Orders handled per read of the due index.
const SWEEP_BATCH: usize = 100;
/// Batches per run, so one invocation stays well inside its timeout; what is
/// left is picked up by the next run.
const SWEEP_MAX_BATCHES: usize = 50;

/// What one sweep did.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SweepReport {
    /// Orders the due index returned: the sweep reads nothing else.
    pub read: usize,
    pub orders_flagged: usize,
    pub flags_raised: usize,
    /// Due, but already flagged by someone else in the meantime.
    pub unchanged: usize,
    /// Flags raised, by escalation level (the first flag of a stall is level 1).
    pub by_level: BTreeMap<u32, usize>,
    /// Calls made to delivery partners for orders whose dispatch was due.
    pub partner_calls: usize,
}

impl SweepReport {
    fn add(&mut self, batch: &SweepReport) {
        self.read += batch.read;
        self.orders_flagged += batch.orders_flagged;
        self.flags_raised += batch.flags_raised;
        self.unchanged += batch.unchanged;
        self.partner_calls += batch.partner_calls;
        for (level, n) in &batch.by_level {
            *self.by_level.entry(*level).or_default() += n;
        }
    }
}

impl OrderService {
    /// One batch: up to `limit` overdue orders, each flagged per overdue
    /// reason. Reads only what the due index returns; safe to run
    /// concurrently.
    pub async fn sweep(&self, limit: usize) -> Result<SweepReport, ServiceError> {
        let now = self.clock.now();
        let due = self.store.due(now, limit).await?;
        let mut report = SweepReport {
            read: due.len(),
            ..SweepReport::default()
        };
        for head in &due {
            if super::dispatch::due(head, now) {
                match self.dispatch(&head.id).await {
                    Ok(calls) => report.partner_calls += calls,
                    Err(e) => tracing::warn!(order_id = %head.id, error = %e, "dispatch failed"),
                }
            }
            let flagged = self.run(Target::Read(head), OnRace::Retry, |loaded, lifecycle, _| {
                Ok(match decide::sweep(&loaded.head, lifecycle, now) {
                    Some(decision) => {
                        let levels: Vec<u32> = decision
                            .events
                            .iter()
                            .filter_map(|event| match event.body {
                                EventBody::FlagRaised { level, .. } => Some(level),
                                _ => None,
                            })
                            .collect();
                        Attempt::Commit(Box::new(Commit::of(decision)), Some(levels))
                    }
                    None => Attempt::Nothing(None),
                })
            });
            match flagged.await {
                Ok(Some(levels)) => {
                    report.flags_raised += levels.len();
                    report.orders_flagged += 1;
                    for level in levels {
                        *report.by_level.entry(level).or_default() += 1;
                    }
                }
                Ok(None) => report.unchanged += 1,
                // Gone, or another sweep or command won every race: the
                // next run looks again.
                Err(ServiceError::NotFound | ServiceError::Conflict { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(report)
    }

    /// Sweeps batch after batch until the due index has nothing left for
    /// now, the batch budget is spent, or it is `until` (on demand, a run
    /// answers before its request's deadline); the next run picks up the
    /// rest.
    pub async fn sweep_until(&self, until: Option<Instant>) -> Result<SweepReport, ServiceError> {
        let mut total = SweepReport::default();
        for _ in 0..SWEEP_MAX_BATCHES {
            if until.is_some_and(|until| Instant::now() >= until) {
                break;
            }
            let batch = self.sweep(SWEEP_BATCH).await?;
            total.add(&batch);
            // Flagged orders move their deadline ahead; a short batch is the end.
            if batch.read < SWEEP_BATCH || batch.orders_flagged == 0 {
                break;
            }
        }
        tracing::info!(
            read = total.read,
            flagged = total.orders_flagged,
            flags = total.flags_raised,
            unchanged = total.unchanged,
            "sweep done"
        );
        Ok(total)
    }
}
