//! Adapters of the `OrderStore` port (and, on DynamoDB, of the live
//! channels' `Tickets` and `Connections`; the local stack keeps its
//! tickets in memory), and what they share.

#[cfg(feature = "aws")]
mod dynamodb;
#[cfg(feature = "embedded")]
mod sqlite;
mod tickets;

#[cfg(feature = "aws")]
pub use dynamodb::{DynamoStore, Usage};
#[cfg(feature = "embedded")]
pub use sqlite::SqliteStore;
pub use tickets::MemoryTickets;

use chrono::{DateTime, SecondsFormat, Utc};

use crate::lifecycle::Catalog;
use crate::ports::{Commit, StoreError};

/// Fixed-width UTC timestamps, so text order is time order.
pub(crate) fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// The statuses the order must be in for the commit's status change to be
/// legal, derived from the lifecycle named on the head — never from the
/// caller. `None` when the commit changes no status.
pub(crate) fn legal_predecessors(
    catalog: &Catalog,
    commit: &Commit,
) -> Result<Option<Vec<String>>, StoreError> {
    let Some(first) = &commit.first_move else {
        return Ok(None);
    };
    let lifecycle = catalog
        .get(&commit.head.lifecycle)
        .ok_or_else(|| StoreError::UnknownLifecycle(commit.head.lifecycle.clone()))?;
    Ok(Some(lifecycle.predecessors(&first.to, first.overriding)))
}
