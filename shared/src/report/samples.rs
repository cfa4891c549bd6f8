//! Durations of one measure and how they fared against each order's SLA:
//! what every figure of the report is computed from.

use chrono::{DateTime, Utc};

use super::StageStats;

/// Durations of one measure, and how they fared against each order's SLA.
#[derive(Default)]
pub(super) struct Samples {
    minutes: Vec<f64>,
    /// Samples that had an SLA to be judged against.
    pub(super) judged: usize,
    pub(super) breaches: usize,
    /// The SLA of the latest order placed, with its placement.
    latest_sla: Option<(DateTime<Utc>, Option<u32>)>,
}

impl Samples {
    pub(super) fn add(&mut self, minutes: f64, sla: Option<u32>, created_at: DateTime<Utc>) {
        self.minutes.push(minutes);
        if let Some(sla) = sla {
            self.judged += 1;
            if minutes > f64::from(sla) {
                self.breaches += 1;
            }
        }
        if self.latest_sla.is_none_or(|(at, _)| created_at > at) {
            self.latest_sla = Some((created_at, sla));
        }
    }

    pub(super) fn count(&self) -> usize {
        self.minutes.len()
    }

    pub(super) fn avg(&self) -> Option<f64> {
        (self.count() > 0).then(|| round1(self.minutes.iter().sum::<f64>() / self.count() as f64))
    }

    /// Nearest-rank percentile: the smallest duration at least `p`% of the
    /// samples do not exceed.
    pub(super) fn percentile(&self, p: usize) -> Option<f64> {
        let mut sorted = self.minutes.clone();
        sorted.sort_by(f64::total_cmp);
        let rank = (p * sorted.len()).div_ceil(100).max(1);
        sorted.get(rank - 1).copied().map(round1)
    }

    pub(super) fn sla(&self) -> Option<u32> {
        self.latest_sla.and_then(|(_, sla)| sla)
    }

    pub(super) fn within_percent(&self) -> Option<f64> {
        percent(self.judged - self.breaches, self.judged)
    }

    /// Only called with at least one sample.
    pub(super) fn stage(&self, lifecycle: &str, from_state: &str, to_state: &str) -> StageStats {
        StageStats {
            lifecycle: lifecycle.to_string(),
            from_state: from_state.to_string(),
            to_state: to_state.to_string(),
            count: self.count(),
            avg_minutes: self.avg().unwrap_or_default(),
            p50_minutes: self.percentile(50).unwrap_or_default(),
            p90_minutes: self.percentile(90).unwrap_or_default(),
            sla_minutes: self.sla(),
            breaches: self.breaches,
        }
    }
}

pub(super) fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

pub(super) fn percent(part: usize, whole: usize) -> Option<f64> {
    (whole > 0).then(|| round1(100.0 * part as f64 / whole as f64))
}
