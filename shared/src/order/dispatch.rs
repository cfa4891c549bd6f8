//! Requesting a driver from the tenant's delivery partners (seed 004): when
//! an order becomes ready for a driver, the first partner of the tenant's
//! list is asked; "no drivers available" is asked again after a pause, a
//! few times, then the next partner is; a partner's refusal goes straight
//! to the next. Once one accepts, its own webhooks carry the delivery. An
//! order that ends (cancelled) with a delivery still booked has it
//! cancelled at the partner. Pure: the service asks the partners and
//! records the answers as events.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

/// The tenant's rule, captured at checkout.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct DispatchPolicy {
    /// Partners to ask, in order (`["doordash", "uber"]`); none: the store
    /// delivers itself.
    #[serde(default)]
    pub partners: Vec<String>,
    /// Tries per partner while it has no drivers (3 when unset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attempts: Option<u32>,
    /// Seconds before the first retry, doubled for each next (30 when unset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backoff_seconds: Option<u32>,
}

impl DispatchPolicy {
    pub fn is_empty(&self) -> bool {
        self.partners.is_empty()
    }

    pub fn attempts(&self) -> u32 {
        self.attempts.unwrap_or(3).max(1)
    }

    /// The pause after the `attempt`th "no drivers" (1-based).
    pub fn backoff(&self, attempt: u32) -> Duration {
        let base = i64::from(self.backoff_seconds.unwrap_or(30));
        Duration::seconds(base.saturating_mul(1 << attempt.saturating_sub(1).min(10)))
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum DispatchState {
    /// A partner is to be asked at `due_at`.
    Requesting,
    /// A partner took the delivery.
    Booked,
    /// Every partner was asked, none took it: staff must step in.
    Unassigned,
    /// The order ended with a delivery booked: to be cancelled at `due_at`.
    Cancelling,
    Cancelled,
}

/// Where requesting a driver stands, folded from the dispatch events.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Dispatch {
    pub state: DispatchState,
    /// Index into the policy's partners of the one being asked (or booked).
    pub partner: usize,
    /// Tries of that partner so far.
    pub attempts: u32,
    /// When the next request (or cancellation) is due.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_at: Option<DateTime<Utc>>,
    /// The partner's delivery, once booked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracking_url: Option<String>,
}

/// What asking a partner came to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum DispatchStep {
    /// The order is ready for a driver: the first partner is to be asked.
    Started,
    Booked {
        partner: String,
        delivery_id: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        tracking_url: Option<String>,
    },
    /// The partner did not take it; `no_drivers` when it had none free.
    Declined {
        partner: String,
        reason: String,
        no_drivers: bool,
    },
    /// The order ended: the booked delivery is to be cancelled.
    CancelRequested,
    Cancelled {
        partner: String,
    },
}

/// How the dispatch stands after `step`, at `at`.
pub fn advance(
    dispatch: Option<&Dispatch>,
    policy: &DispatchPolicy,
    step: &DispatchStep,
    at: DateTime<Utc>,
) -> Option<Dispatch> {
    let requesting = |partner, attempts, due_at| Dispatch {
        state: DispatchState::Requesting,
        partner,
        attempts,
        due_at: Some(due_at),
        delivery_id: None,
        tracking_url: None,
    };
    let current = dispatch.cloned();
    Some(match step {
        DispatchStep::Started => requesting(0, 0, at),
        DispatchStep::Booked {
            delivery_id,
            tracking_url,
            ..
        } => Dispatch {
            state: DispatchState::Booked,
            due_at: None,
            delivery_id: Some(delivery_id.clone()),
            tracking_url: tracking_url.clone(),
            ..current?
        },
        DispatchStep::Declined { no_drivers, .. } => {
            let current = current?;
            let attempts = current.attempts + 1;
            if *no_drivers && attempts < policy.attempts() {
                requesting(current.partner, attempts, at + policy.backoff(attempts))
            } else if current.partner + 1 < policy.partners.len() {
                requesting(current.partner + 1, 0, at)
            } else {
                Dispatch {
                    state: DispatchState::Unassigned,
                    attempts,
                    due_at: None,
                    ..current
                }
            }
        }
        DispatchStep::CancelRequested => Dispatch {
            state: DispatchState::Cancelling,
            due_at: Some(at),
            ..current?
        },
        DispatchStep::Cancelled { .. } => Dispatch {
            state: DispatchState::Cancelled,
            due_at: None,
            ..current?
        },
    })
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn policy() -> DispatchPolicy {
        DispatchPolicy {
            partners: vec!["doordash".into(), "uber".into()],
            attempts: Some(3),
            backoff_seconds: Some(30),
        }
    }

    fn declined(partner: &str, no_drivers: bool) -> DispatchStep {
        DispatchStep::Declined {
            partner: partner.into(),
            reason: "x".into(),
            no_drivers,
        }
    }

    #[test]
    fn no_drivers_waits_longer_each_time_then_the_next_partner_is_asked() {
        let t = |s| Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 0).unwrap() + Duration::seconds(s);
        let p = policy();
        let mut d = advance(None, &p, &DispatchStep::Started, t(0)).unwrap();
        assert_eq!((d.partner, d.due_at), (0, Some(t(0))));
        let mut dues = Vec::new();
        for _ in 0..3 {
            d = advance(Some(&d), &p, &declined("doordash", true), t(0)).unwrap();
            dues.push((d.partner, d.due_at.unwrap() - t(0)));
        }
        let s = Duration::seconds;
        assert_eq!(dues, [(0, s(30)), (0, s(60)), (1, s(0))]);
        // A refusal moves on at once; the last partner's ends the search.
        let refused = advance(Some(&d), &p, &declined("uber", false), t(0)).unwrap();
        assert_eq!(refused.state, DispatchState::Unassigned);
        assert_eq!(refused.due_at, None);
        let booked = DispatchStep::Booked {
            partner: "uber".into(),
            delivery_id: "d1".into(),
            tracking_url: None,
        };
        let d = advance(Some(&d), &p, &booked, t(0)).unwrap();
        assert_eq!(
            (d.state, d.partner, d.delivery_id.as_deref()),
            (DispatchState::Booked, 1, Some("d1"))
        );
        let d = advance(Some(&d), &p, &DispatchStep::CancelRequested, t(5)).unwrap();
        assert_eq!((d.state, d.due_at), (DispatchState::Cancelling, Some(t(5))));
    }
}
