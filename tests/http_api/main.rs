//! Black-box HTTP tests against the real local stack binary, one module per
//! part of the API.
//!
//! Each test starts its own `order-tracking --addr 127.0.0.1:0 --memory`
//! process, talks to it with reqwest and kills it when done, so tests are
//! independent of each other and of anything on disk. The modules share one
//! test binary rather than one file each under `tests/`: the crate is linked
//! once, and cargo runs all these tests in parallel instead of one binary
//! after another.

#[path = "../common/mod.rs"]
mod common;

mod access;
mod bad_input;
mod checkout;
mod concurrency;
mod contract;
mod edge_errors;
mod feed;
mod fleet;
mod issues;
mod listing;
mod personal_data;
mod self_service;
mod stores;
mod substitutions;
mod tracking_view;
mod transitions;
