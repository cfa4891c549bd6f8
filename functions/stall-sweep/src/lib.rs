//! The stall sweep: finds orders past a deadline through the sparse due
//! index and flags each with its reason and an escalation level. On AWS an
//! EventBridge schedule invokes it; the local stack runs it on a timer; and
//! managers can trigger it with `POST /admin/sweep` (on AWS through the
//! orders function, which mounts [`router`]).

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use order_core::auth::Principal;
use order_core::deadline::Deadline;
use order_core::http::Problem;
use order_core::service::{OrderService, ServiceError, SweepReport};
use tokio::sync::watch;

/// Orders handled per read of the due index.
pub const BATCH: usize = 100;
/// Batches per run, so one invocation stays well inside its timeout; what is
/// left is picked up by the next run.
pub const MAX_BATCHES: usize = 50;

/// Sweeps until the due index has nothing left for now (or the batch budget
/// is spent).
pub async fn sweep(service: &OrderService) -> Result<SweepReport, ServiceError> {
    sweep_until(service, None).await
}

/// As [`sweep`], starting no batch after `until`: a run on demand answers
/// before its request's deadline, and the next run picks up the rest.
pub async fn sweep_until(
    service: &OrderService,
    until: Option<Instant>,
) -> Result<SweepReport, ServiceError> {
    let mut total = SweepReport::default();
    for _ in 0..MAX_BATCHES {
        if until.is_some_and(|until| Instant::now() >= until) {
            break;
        }
        let report = service.sweep(BATCH).await?;
        total.read += report.read;
        total.orders_flagged += report.orders_flagged;
        total.flags_raised += report.flags_raised;
        total.unchanged += report.unchanged;
        // Flagged orders move their deadline ahead; a short batch is the end.
        if report.read < BATCH || report.orders_flagged == 0 {
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

pub fn router(service: Arc<OrderService>) -> Router {
    Router::new()
        .route("/admin/sweep", post(trigger))
        .with_state(service)
}

async fn trigger(
    State(service): State<Arc<OrderService>>,
    principal: Principal,
    deadline: Option<Deadline>,
) -> Result<Json<SweepReport>, Problem> {
    principal.require_manager()?;
    let until = deadline.map(Deadline::wrap_up_by);
    Ok(Json(sweep_until(&service, until).await?))
}

/// The local stack's schedule: a sweep every `period` until `stop` changes.
pub async fn every(service: Arc<OrderService>, period: Duration, mut stop: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(period) => {
                if let Err(e) = sweep(&service).await {
                    tracing::warn!(error = %e, "sweep failed; next run will retry");
                }
            }
            _ = stop.changed() => return,
        }
    }
}
