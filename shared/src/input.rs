//! What staff requests may carry, checked before any command runs: every
//! text and id within its cap ([`order::limits`](crate::order::limits)),
//! tracking details through their one check
//! ([`TrackingInput::validated`](crate::order::TrackingInput::validated)),
//! links http(s) only. A refusal is a 400 naming the field, and nothing is
//! written.

use crate::order::limits::{self, InvalidField, MAX_REASON, MAX_STATE};
use crate::ports::ListQuery;
use crate::service::{ServiceError, TransitionRequest};

impl From<InvalidField> for ServiceError {
    fn from(e: InvalidField) -> Self {
        ServiceError::Invalid(e.to_string())
    }
}

impl TransitionRequest {
    /// The request with its reason trimmed (blank is none) and its tracking
    /// normalised, or the first field that breaks its rules.
    pub fn validated(self) -> Result<TransitionRequest, InvalidField> {
        Ok(TransitionRequest {
            to: limits::required_text("to", &self.to, MAX_STATE)?,
            reason: limits::optional_text("reason", self.reason.as_deref(), MAX_REASON)?,
            tracking: self.tracking.map(|t| t.validated()).transpose()?,
            expected_version: self.expected_version,
        })
    }
}

/// The filters of a list request: a customer id is an id, a status a state
/// name; either over its cap could only ever match nothing.
pub fn list_filters(query: &ListQuery) -> Result<(), InvalidField> {
    if let Some(customer) = &query.customer_id {
        limits::id("customer_id", customer)?;
    }
    if let Some(status) = &query.status {
        limits::required_text("status", status, MAX_STATE)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::order::TrackingInput;

    fn request(to: &str, reason: Option<&str>, code: Option<&str>) -> TransitionRequest {
        TransitionRequest {
            to: to.into(),
            reason: reason.map(str::to_string),
            tracking: code.map(|code| TrackingInput {
                carrier: "UPS".into(),
                code: code.into(),
                url: None,
            }),
            expected_version: Some(3),
        }
    }

    #[test]
    fn a_transition_is_normalised() {
        let valid = request("shipped", Some("  "), Some(" 1Z 999 "))
            .validated()
            .unwrap();
        assert_eq!(valid.reason, None);
        assert_eq!(valid.tracking.unwrap().code, "1Z 999");
        assert_eq!(valid.expected_version, Some(3));
    }

    #[test]
    fn each_field_over_its_cap_is_named() {
        let long = "r".repeat(MAX_REASON + 1);
        for (req, field) in [
            (request("shipped", Some(&long), None), "reason"),
            (request(&"s".repeat(MAX_STATE + 1), None, None), "to"),
            (request(" ", None, None), "to"),
            (request("shipped", None, Some("  ")), "tracking.code"),
            (
                request("shipped", None, Some(&"1".repeat(100_000))),
                "tracking.code",
            ),
        ] {
            assert_eq!(req.validated().unwrap_err().field, field);
        }
        assert!(request("confirmed", Some(&"r".repeat(MAX_REASON)), None)
            .validated()
            .is_ok());
    }
}
