//! Shared by the adapters' tests: a fixed clock and secret, the samples'
//! ids, request headers, and the route's way through an adapter.

use axum::http::{HeaderMap, HeaderName, HeaderValue};
use chrono::{DateTime, TimeZone, Utc};
use order_core::order::inbound::Inbound;

pub(crate) use super::signature::sign;
use super::{Kind, Provider, Rejection};

pub const SECRET: &[u8] = b"whsec_9f2c4e71d0b84a6c8e5f3a2b1c0d9e8f";
pub const ORDER_ID: &str = "ord_0123456789abcdef0123456789abcdef";
pub const TRACKING: &str = "1Z999AA10123456784";

/// The tests' clock.
pub fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 9, 18, 30, 0).unwrap()
}

pub fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
}

pub fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in pairs {
        map.insert(
            HeaderName::from_bytes(name.as_bytes()).unwrap(),
            HeaderValue::from_str(value).unwrap(),
        );
    }
    map
}

/// The body with one byte changed, still valid JSON.
pub fn tampered(body: &str, from: &str, to: &str) -> String {
    assert!(body.contains(from), "sample lacks {from:?}");
    body.replacen(from, to, 1)
}

/// A request to `/webhooks/<tenant>/<kind>/<provider>`, as the route
/// takes it: the provider looked up, then its request verified and read.
pub fn intake(
    kind: Kind,
    provider: &str,
    headers: &HeaderMap,
    body: &[u8],
    secret: &[u8],
    now: DateTime<Utc>,
) -> Result<Vec<Inbound>, Rejection> {
    Provider::find(kind.as_str(), provider)?.intake(headers, body, secret, now)
}

pub use order_core::order::link::HOSTILE_LINKS;
