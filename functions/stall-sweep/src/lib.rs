//! The stall sweep's schedule: on AWS an EventBridge rule invokes the
//! function (`main.rs`); the local stack runs [`every`] on a timer. The sweep
//! itself is the service's ([`OrderService::sweep_until`]), which managers
//! also run on demand with `POST /admin/sweep` (the orders function's route).

use std::sync::Arc;
use std::time::Duration;

use order_core::metrics::{self, Metric};
use order_core::service::{OrderService, ServiceError, SweepReport};
use tokio::sync::watch;

/// Sweeps until the due index has nothing left for now (or the batch budget
/// is spent); counts the flags raised by escalation level.
pub async fn sweep(service: &OrderService) -> Result<SweepReport, ServiceError> {
    let report = service.sweep_until(None).await?;
    for (level, raised) in &report.by_level {
        metrics::count(Metric::Stalls, &level.to_string(), *raised);
    }
    Ok(report)
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
