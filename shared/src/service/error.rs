//! How the service says no: one error for every operation, mapped to
//! problem+json in one place ([`crate::http`]). A refusal by the lifecycle
//! carries what the caller may do instead.

use crate::auth::Forbidden;
use crate::lifecycle::{Actor, Lifecycle};
use crate::order::decide::{self, NextAction, Rejection};
use crate::order::limits::InvalidField;
use crate::order::Head;
use crate::ports::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("order not found")]
    NotFound,
    /// Something other than an order is not there (an endpoint, a delivery).
    #[error("{0}")]
    Missing(String),
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{}", .0.rejection)]
    Rejected(Box<Refusal>),
    #[error("the order changed while this request was being handled; it is now {status} at version {version}")]
    Conflict { status: String, version: u64 },
    #[error("this Idempotency-Key was already used with a different request")]
    IdempotencyMismatch,
    #[error("{0}")]
    Unavailable(String),
    /// A feature this deployment has not been set up for: a state of its
    /// configuration, not an outage.
    #[error("{0}")]
    NotConfigured(String),
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for ServiceError {
    fn from(e: StoreError) -> Self {
        ServiceError::Store(e)
    }
}

impl From<InvalidField> for ServiceError {
    fn from(e: InvalidField) -> Self {
        ServiceError::Invalid(e.to_string())
    }
}

impl From<Forbidden> for ServiceError {
    fn from(e: Forbidden) -> Self {
        ServiceError::Forbidden(e.0)
    }
}

/// A command the rules refused, with what the caller may do instead.
#[derive(Debug)]
pub struct Refusal {
    pub rejection: Rejection,
    pub status: String,
    pub version: u64,
    pub allowed: Vec<NextAction>,
}

/// The refusal of a command on `head`, listing the moves `actor` may make.
pub(super) fn rejected(
    rejection: Rejection,
    head: &Head,
    lifecycle: &Lifecycle,
    actor: Actor,
) -> ServiceError {
    ServiceError::Rejected(Box::new(Refusal {
        rejection,
        status: head.status.clone(),
        version: head.version,
        allowed: decide::next_actions(head, lifecycle, actor),
    }))
}
