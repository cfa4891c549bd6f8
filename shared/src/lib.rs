//! The core of the order-tracking system: lifecycles, the event log and its
//! projection, the ports the functions talk through, and their local adapters.
//!
//! - [`lifecycle`]: lifecycles as data, and where a fact lands on an order's path;
//! - [`order`]: events, the head projection and the pure command decisions;
//! - [`ports`]: `OrderStore`, `Outbox`, `EventPublisher`, `Clock`;
//! - [`store`]: the embedded (SQLite) and DynamoDB adapters of `OrderStore`;
//! - [`service`]: load → decide → conditional commit, with retries; request
//!   checks, intake of outside facts, the sweep and the reads;
//! - [`views`]: the staff view and the customer's tracking view;
//! - [`auth`], [`http`]: principals, JWTs and problem+json at the HTTP edge;
//! - [`deadline`]: how long a request may still run (a Lambda invocation's deadline);
//! - [`cursor`]: the opaque position a page of the order list ends at;
//! - [`pages`]: the HTML pages, their scripts and their Content-Security-Policy;
//! - [`bus`], [`relay`]: how events leave, at least once;
//! - `testkit` (feature `testkit`): the store conformance suite, its
//!   fixtures and the Lambda harness, for test crates only.

pub mod auth;
#[cfg(feature = "aws")]
pub mod aws;
pub mod bus;
pub mod carrier;
pub mod cursor;
pub mod deadline;
pub mod hex;
pub mod http;
#[cfg(feature = "aws")]
pub mod lambda;
pub mod lifecycle;
pub mod live;
pub mod order;
pub mod pages;
pub mod ports;
#[cfg(feature = "aws")]
pub mod publish;
pub mod relay;
pub mod report;
pub mod service;
pub mod store;
pub mod tenants;
#[cfg(feature = "testkit")]
pub mod testkit;
pub mod views;
