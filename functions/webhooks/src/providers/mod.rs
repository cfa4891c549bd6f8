//! Provider adapters: verify a webhook's signature over the raw body in the
//! provider's own scheme, then translate its payload into [`Inbound`] facts.
//! Pure functions: no I/O, the clock and the secret are passed in.
//!
//! | kind       | provider          | signature header                      | scheme |
//! |------------|-------------------|---------------------------------------|--------|
//! | `carrier`  | `easypost`        | `X-Hmac-Signature: hmac-sha256-hex=…` | hex HMAC-SHA256(secret, body) |
//! | `carrier`  | `aftership`       | `aftership-hmac-sha256: …`            | base64 HMAC-SHA256(secret, body) |
//! | `carrier`  | any other name    | `X-Webhook-Signature: t=…,v1=…`       | generic (see `generic.rs`), timestamped |
//! | `payment`  | `stripe`          | `Stripe-Signature: t=…,v1=…`          | Stripe's, timestamped |
//! | `delivery` | `doordash`        | `X-DoorDash-Signature: t=…,v1=…`      | timestamped (as generic) |
//! | `delivery` | `uber`            | `X-Uber-Signature: …`                 | hex HMAC-SHA256(secret, body) |
//!
//! Timestamped schemes sign `"<t>.<raw body>"` and reject a `t` further than
//! [`TIMESTAMP_TOLERANCE`] from now. Carrier names other than `easypost` and
//! `aftership` (e.g. `shippo`, `shopify`, or a relay of our own) all use the
//! generic scheme and payload; a name must match `[a-z0-9_-]{1,32}`.
//!
//! Every fact is then bounded ([`limits::bound_inbound`]): its text cut to
//! size, its ids kept short, and a link that is not http(s) (a
//! `javascript:` tracking URL, a `data:` photo) dropped with a warning while
//! the fact itself is kept.
//!
//! Rejections map to HTTP as [`Rejection::status`] says: unknown provider →
//! 404; unsigned, bad signature, stale → 401; malformed → 400. Nothing is
//! stored for a rejected request. An event type a provider sends that says
//! nothing about an order (e.g. Stripe `customer.created`) is accepted and
//! yields no facts, so the provider stops retrying it.

mod aftership;
mod doordash;
mod easypost;
mod fields;
mod generic;
mod signature;
mod stripe;
mod uber;
mod vocabulary;

use std::fmt;

use axum::http::{HeaderMap, StatusCode};
use chrono::{DateTime, Utc};
use order_core::order::inbound::Inbound;
use order_core::order::limits;

pub use vocabulary::canonical;

/// How far a signed timestamp may be from our clock, either way.
pub const TIMESTAMP_TOLERANCE: chrono::Duration = chrono::Duration::minutes(5);

/// The kind of provider, from the URL: `/webhooks/{tenant}/{kind}/{provider}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    Carrier,
    Payment,
    Delivery,
}

impl Kind {
    /// The URL segment (`carrier`, `payment`, `delivery`); `None` otherwise.
    pub fn parse(segment: &str) -> Option<Kind> {
        match segment {
            "carrier" => Some(Kind::Carrier),
            "payment" => Some(Kind::Payment),
            "delivery" => Some(Kind::Delivery),
            _ => None,
        }
    }

    /// The URL segment, also the prefix of [`Inbound::source`].
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Carrier => "carrier",
            Kind::Payment => "payment",
            Kind::Delivery => "delivery",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Proof that a body's signature was checked: only the signature module can
/// make one, and every parser demands one, so nothing is parsed unverified.
#[derive(Debug)]
pub struct Verified {
    _proof: (),
}

impl Verified {
    fn new() -> Self {
        Verified { _proof: () }
    }
}

/// Why a webhook was refused. Nothing is stored for any of them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Rejection {
    /// No such provider for this kind (404).
    UnknownProvider,
    /// The signature header is missing (401).
    Unsigned,
    /// The signature header is garbled or does not match (401).
    BadSignature,
    /// Correctly signed, but the signed timestamp is outside the tolerance (401).
    Stale,
    /// Signed, but not a payload we can read (400).
    Malformed(String),
}

impl Rejection {
    /// The HTTP status to answer with.
    pub fn status(&self) -> StatusCode {
        match self {
            Rejection::UnknownProvider => StatusCode::NOT_FOUND,
            Rejection::Unsigned | Rejection::BadSignature | Rejection::Stale => {
                StatusCode::UNAUTHORIZED
            }
            Rejection::Malformed(_) => StatusCode::BAD_REQUEST,
        }
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rejection::UnknownProvider => f.write_str("unknown webhook provider"),
            Rejection::Unsigned => f.write_str("missing webhook signature"),
            Rejection::BadSignature => f.write_str("invalid webhook signature"),
            Rejection::Stale => f.write_str("webhook timestamp outside the allowed tolerance"),
            Rejection::Malformed(why) => write!(f, "malformed webhook payload: {why}"),
        }
    }
}

impl std::error::Error for Rejection {}

/// The adapter serving a `(kind, provider)` pair.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Adapter {
    EasyPost,
    AfterShip,
    GenericCarrier,
    Stripe,
    DoorDash,
    Uber,
}

fn adapter(kind: Kind, provider: &str) -> Option<Adapter> {
    match (kind, provider) {
        (Kind::Carrier, "easypost") => Some(Adapter::EasyPost),
        (Kind::Carrier, "aftership") => Some(Adapter::AfterShip),
        (Kind::Carrier, name) if valid_name(name) => Some(Adapter::GenericCarrier),
        (Kind::Payment, "stripe") => Some(Adapter::Stripe),
        (Kind::Delivery, "doordash") => Some(Adapter::DoorDash),
        (Kind::Delivery, "uber") => Some(Adapter::Uber),
        _ => None,
    }
}

/// `[a-z0-9_-]{1,32}`.
fn valid_name(name: &str) -> bool {
    (1..=32).contains(&name.len())
        && name
            .bytes()
            .all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'_' | b'-'))
}

/// Whether `provider` is accepted for `kind` (for docs and 404s).
pub fn known(kind: Kind, provider: &str) -> bool {
    adapter(kind, provider).is_some()
}

/// Verifies the signature (constant-time compare: `hmac::Mac::verify_slice`),
/// then parses. `Ok(vec![])` acknowledges an event that records nothing.
pub fn intake(
    kind: Kind,
    provider: &str,
    headers: &HeaderMap,
    body: &[u8],
    secret: &[u8],
    now: DateTime<Utc>,
) -> Result<Vec<Inbound>, Rejection> {
    let adapter = adapter(kind, provider).ok_or(Rejection::UnknownProvider)?;
    let source = format!("{kind}:{provider}");
    let result = match adapter {
        Adapter::EasyPost => easypost::verify(headers, body, secret)
            .and_then(|proof| easypost::parse(proof, &source, body)),
        Adapter::AfterShip => aftership::verify(headers, body, secret)
            .and_then(|proof| aftership::parse(proof, &source, body)),
        Adapter::GenericCarrier => generic::verify(headers, body, secret, now)
            .and_then(|proof| generic::parse(proof, &source, body)),
        Adapter::Stripe => stripe::verify(headers, body, secret, now)
            .and_then(|proof| stripe::parse(proof, &source, body)),
        Adapter::DoorDash => doordash::verify(headers, body, secret, now)
            .and_then(|proof| doordash::parse(proof, &source, body)),
        Adapter::Uber => {
            uber::verify(headers, body, secret).and_then(|proof| uber::parse(proof, &source, body))
        }
    };
    match result {
        // Whatever the provider, its text is cut to size and its links
        // checked before anything is stored or logged.
        Ok(mut facts) => {
            facts.iter_mut().for_each(limits::bound_inbound);
            Ok(facts)
        }
        Err(rejection) => {
            tracing::warn!(%source, %rejection, "webhook rejected");
            Err(rejection)
        }
    }
}

#[cfg(test)]
pub(crate) mod testkit {
    //! Shared by the adapters' tests.
    use axum::http::{HeaderMap, HeaderName, HeaderValue};
    use chrono::{DateTime, TimeZone, Utc};

    pub(crate) use super::signature::sign;

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
}

#[cfg(test)]
mod tests {
    use super::testkit::*;
    use super::*;

    #[test]
    fn known_providers() {
        for name in [
            "easypost",
            "aftership",
            "shippo",
            "shopify",
            "ups-direct",
            "my_relay_2",
        ] {
            assert!(known(Kind::Carrier, name), "{name}");
        }
        for name in ["", "UPS", "fed ex", "dhl.express", "é", &"x".repeat(33)] {
            assert!(!known(Kind::Carrier, name), "{name:?}");
        }
        assert!(known(Kind::Carrier, &"x".repeat(32)));
        assert!(known(Kind::Payment, "stripe"));
        assert!(!known(Kind::Payment, "paypal"));
        assert!(!known(Kind::Payment, "easypost"));
        assert!(known(Kind::Delivery, "doordash"));
        assert!(known(Kind::Delivery, "uber"));
        assert!(!known(Kind::Delivery, "skip"));
        assert!(!known(Kind::Delivery, "stripe"));
    }

    #[test]
    fn unknown_provider_is_refused_before_anything_else() {
        let empty = HeaderMap::new();
        for (kind, name) in [
            (Kind::Payment, "paypal"),
            (Kind::Delivery, "easypost"),
            (Kind::Carrier, "Bad Name"),
        ] {
            assert_eq!(
                intake(kind, name, &empty, b"{}", SECRET, now()),
                Err(Rejection::UnknownProvider)
            );
        }
    }

    #[test]
    fn kinds() {
        for kind in [Kind::Carrier, Kind::Payment, Kind::Delivery] {
            assert_eq!(Kind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(Kind::parse("carriers"), None);
    }

    #[test]
    fn rejection_statuses() {
        assert_eq!(Rejection::UnknownProvider.status(), StatusCode::NOT_FOUND);
        assert_eq!(Rejection::Unsigned.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(Rejection::BadSignature.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(Rejection::Stale.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(
            Rejection::Malformed("x".into()).status(),
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            Rejection::Malformed("missing id".into()).to_string(),
            "malformed webhook payload: missing id"
        );
    }

    /// Every adapter's link (a tracking page, a driver's photo) goes through
    /// the same bound: a non-http(s) one is dropped and the fact kept.
    #[test]
    fn a_provider_link_that_is_not_http_is_dropped_and_the_fact_kept() {
        // The signature header a provider would send for a body.
        type Sign = fn(&[u8]) -> (&'static str, String);
        let samples: [(Kind, &str, &str, &str, Sign); 5] = [
            (
                Kind::Carrier,
                "easypost",
                include_str!("../../../../events/webhook-easypost.json"),
                "https://track.easypost.com/djE6dHJrX2M4ZTBlZGI1YmIyODRjYWE5MzRhMGQzZGIyM2ExNDhh",
                |b| {
                    (
                        "X-Hmac-Signature",
                        format!("hmac-sha256-hex={}", sign::body_hex(SECRET, b)),
                    )
                },
            ),
            (
                Kind::Carrier,
                "aftership",
                include_str!("../../../../events/webhook-aftership.json"),
                "https://wwwapps.ups.com/WebTracking/track?track=yes&trackNums=1Z999AA10123456784",
                |b| ("aftership-hmac-sha256", sign::body_base64(SECRET, b)),
            ),
            (
                Kind::Carrier,
                "shippo",
                include_str!("../../../../events/webhook-generic.json"),
                "https://www.ups.com/track?loc=en_US&tracknum=1Z999AA10123456784",
                |b| {
                    (
                        "X-Webhook-Signature",
                        sign::timestamped(SECRET, now().timestamp(), b),
                    )
                },
            ),
            (
                Kind::Delivery,
                "uber",
                include_str!("../../../../events/webhook-uber.json"),
                "https://d1w2poirtb3as9.cloudfront.net/img/courier/rob-t.jpeg",
                |b| ("X-Uber-Signature", sign::body_hex(SECRET, b)),
            ),
            (
                Kind::Delivery,
                "doordash",
                include_str!("../../../../events/webhook-doordash.json"),
                "https://track.doordash.com/share/6b1f0c2e-7a9d-4e3b-8c5f-2d4a6e8b0c1d/track",
                |b| {
                    (
                        "X-DoorDash-Signature",
                        sign::timestamped(SECRET, now().timestamp(), b),
                    )
                },
            ),
        ];
        for (kind, provider, sample, link, sign_body) in samples {
            let (name, value) = sign_body(sample.as_bytes());
            let kept = intake(
                kind,
                provider,
                &headers(&[(name, &value)]),
                sample.as_bytes(),
                SECRET,
                now(),
            )
            .unwrap();
            for hostile in [
                "javascript:alert(document.domain)",
                "JaVaScRiPt:alert(1)",
                "java\\tscript:alert(1)",
                "data:text/html,<script>alert(1)</script>",
                "vbscript:msgbox(1)",
            ] {
                let body = tampered(sample, link, hostile);
                let (name, value) = sign_body(body.as_bytes());
                let facts = intake(
                    kind,
                    provider,
                    &headers(&[(name, &value)]),
                    body.as_bytes(),
                    SECRET,
                    now(),
                )
                .unwrap_or_else(|e| panic!("{provider} with {hostile:?}: {e}"));
                assert_eq!(facts.len(), kept.len(), "{provider}: the facts are kept");
                let text = format!("{facts:?}").to_lowercase();
                for scheme in ["script:", "data:"] {
                    assert!(
                        !text.contains(scheme),
                        "{provider} kept {hostile:?}: {text}"
                    );
                }
            }
        }
    }

    #[test]
    fn tolerance_is_five_minutes() {
        assert_eq!(TIMESTAMP_TOLERANCE.num_seconds(), 300);
    }
}
