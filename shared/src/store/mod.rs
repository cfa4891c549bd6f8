//! Adapters of the `OrderStore` port.

#[cfg(feature = "testkit")]
pub mod conformance;
mod sqlite;

pub use sqlite::SqliteStore;
