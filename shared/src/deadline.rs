//! How long a request may still run.
//!
//! On Lambda every invocation has a deadline: the function's configured
//! timeout, counted from when it received the event. Work that can take long
//! (a live stream, a sweep run on demand) wraps up a little before it, so the
//! answer leaves before Lambda stops the function and API Gateway turns the
//! request into a 5xx. The Lambda glue ([`crate::lambda`]) hands the
//! deadline to handlers as a request extension; the local stack has none.

use std::convert::Infallible;
use std::time::{Duration, Instant, SystemTime};

use axum::extract::OptionalFromRequestParts;
use axum::http::request::Parts;

/// Time left after wrapping up, for the response to be sent (and, behind API
/// Gateway, relayed) before the function is stopped.
pub const MARGIN: Duration = Duration::from_secs(2);

/// The instant a request must be answered by. Handlers take it as
/// `Option<Deadline>`: `None` where nothing limits them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Deadline(Instant);

impl Deadline {
    pub fn at(instant: Instant) -> Self {
        Deadline(instant)
    }

    /// A wall-clock deadline (Lambda gives one in milliseconds since the
    /// epoch). One already past is now.
    pub fn from_system_time(at: SystemTime) -> Self {
        let left = at
            .duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO);
        Deadline(Instant::now() + left)
    }

    pub fn instant(self) -> Instant {
        self.0
    }

    /// When to stop starting work: [`MARGIN`] before the deadline, or now
    /// if that has passed.
    pub fn wrap_up_by(self) -> Instant {
        let now = Instant::now();
        self.0.checked_sub(MARGIN).map_or(now, |t| t.max(now))
    }
}

impl<S: Send + Sync> OptionalFromRequestParts<S> for Deadline {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Option<Self>, Infallible> {
        Ok(parts.extensions.get::<Deadline>().copied())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn work_wraps_up_a_margin_before_the_deadline_and_never_in_the_past() {
        let now = Instant::now();
        let far = Deadline::at(now + Duration::from_secs(10));
        let wrap = far.wrap_up_by();
        assert!(wrap <= now + Duration::from_secs(10) - MARGIN);
        assert!(wrap >= now + Duration::from_secs(7));

        let close = Deadline::at(now + MARGIN / 2);
        assert!(close.wrap_up_by() >= now && close.wrap_up_by() <= Instant::now());
    }

    #[test]
    fn a_wall_clock_deadline_becomes_an_instant_and_a_past_one_is_now() {
        let before = Instant::now();
        let deadline = Deadline::from_system_time(SystemTime::now() + Duration::from_secs(5));
        let left = deadline.instant() - before;
        assert!(left > Duration::from_secs(4) && left < Duration::from_secs(6));

        // What `cargo lambda watch` sends: 600 000 ms after the epoch.
        let past = Deadline::from_system_time(SystemTime::UNIX_EPOCH + Duration::from_secs(600));
        assert!(past.instant() >= before && past.instant() <= Instant::now());
    }
}
