//! The core of the order-tracking system: lifecycles, the event log and its
//! projection, the ports the functions talk through, and their local adapters.
//!
//! From the ground up (a module only uses those above it):
//!
//! - [`hex`], [`cursor`]: small helpers (hex digits; the opaque position a
//!   page of the order list ends at);
//! - [`lifecycle`]: lifecycles as data, and where a fact lands on an order's path;
//! - [`order`]: events, the head projection and the pure command decisions;
//! - [`ports`]: `OrderStore`, `Outbox`, `EventPublisher`, `CarrierClient`, `Clock`;
//! - read models and policy: [`views`] (the staff and customer views),
//!   [`merchant`] (merchant webhooks: endpoints, deliveries, their schedule),
//!   [`notify`] (customer notifications: news, policy, decisions, words),
//!   [`report`] (the SLA report), [`auth`] (principals, roles, tokens),
//!   [`tenants`] (per-tenant policy);
//! - [`pii`]: personal data sealed per field under each customer's data
//!   key, and erased by forgetting it (the key file; KMS with `aws`);
//! - [`service`]: load → decide → conditional commit, with retries; request
//!   checks, intake of outside facts, the sweep and the reads;
//! - adapters: [`store`] (SQLite with feature `embedded`, DynamoDB with
//!   `aws`), `publish` (EventBridge), [`bus`] and [`relay`] (how events
//!   leave, at least once), [`carrier`] (the carrier tracking API),
//!   [`webhook_sender`] (POSTs to merchants' endpoints);
//! - the HTTP edge: [`http`] (problem+json, extractors), [`live`] (the live
//!   channels), [`pages`] (HTML under a Content-Security-Policy),
//!   [`deadline`] (how long a request may still run), [`metrics`] (counts
//!   as CloudWatch Embedded Metric Format lines); `lambda` and `aws`
//!   (feature `aws`): the Lambda glue and the SDK configuration;
//! - `testkit` (feature `testkit`): the store conformance suite, its
//!   fixtures and the Lambda harness, for test crates only.

pub mod auth;
#[cfg(feature = "aws")]
pub mod aws;
pub mod bus;
pub mod carrier;
pub mod cursor;
pub mod deadline;
pub mod delivery_partner;
pub mod hex;
pub mod http;
#[cfg(feature = "aws")]
pub mod lambda;
pub mod lifecycle;
pub mod live;
pub mod merchant;
pub mod metrics;
pub mod notify;
pub mod order;
pub mod pages;
pub mod pii;
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
pub mod webhook_sender;
