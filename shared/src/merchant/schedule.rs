//! When a failed delivery is tried again: sooner at first, then every ten
//! hours, for a little over three days (Stripe retries for three days),
//! each wait stretched or shrunk by up to a tenth at random so endpoints
//! coming back from an outage are not hit by every retry at once.

use chrono::{DateTime, Duration, Utc};

/// Minutes to wait before each retry.
const RETRY_AFTER_MINUTES: [i64; 12] = [1, 5, 30, 120, 300, 600, 600, 600, 600, 600, 600, 600];

/// Attempts a delivery gets: the first and every retry.
pub const ATTEMPTS: usize = RETRY_AFTER_MINUTES.len() + 1;

/// When to try again after `made` attempts failed, the last at `now`;
/// `None` once every attempt is spent. `jitter` is uniform in [0, 1).
pub fn next_attempt(made: usize, now: DateTime<Utc>, jitter: f64) -> Option<DateTime<Utc>> {
    let minutes = *RETRY_AFTER_MINUTES.get(made.checked_sub(1)?)?;
    let seconds = (minutes * 60) as f64 * (0.9 + 0.2 * jitter.clamp(0.0, 1.0));
    Some(now + Duration::milliseconds((seconds * 1000.0) as i64))
}

/// A jitter from the system's randomness.
pub fn jitter() -> f64 {
    f64::from(uuid::Uuid::new_v4().as_u128() as u32) / f64::from(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_for_more_than_three_days_then_stop() {
        let start = Utc::now();
        let mut at = start;
        for made in 1..ATTEMPTS {
            let next = next_attempt(made, at, 0.5).expect("another try");
            assert!(next > at);
            at = next;
        }
        assert!(at - start >= Duration::days(3), "{}", at - start);
        assert!(at - start < Duration::days(4));
        assert_eq!(next_attempt(ATTEMPTS, at, 0.5), None);
        assert_eq!(next_attempt(0, at, 0.5), None, "no attempt made, no retry");
    }

    #[test]
    fn jitter_keeps_each_wait_within_a_tenth() {
        let now = Utc::now();
        let early = next_attempt(1, now, 0.0).unwrap() - now;
        let late = next_attempt(1, now, 0.999).unwrap() - now;
        assert_eq!(early, Duration::seconds(54));
        assert!(late > Duration::seconds(65) && late <= Duration::seconds(66));
        assert!((0.0..1.0).contains(&jitter()));
    }
}
