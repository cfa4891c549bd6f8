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
//! `javascript:` tracking URL, a `data:` photo) dropped — logged here — while
//! the fact itself is kept.
//!
//! The table is [`ADAPTERS`]: each row names the headers and the scheme of
//! its signature ([`signature`] checks each scheme once, whichever providers
//! share it) and the parser of its payload, in its own module.
//!
//! Rejections map to HTTP as [`Rejection::status`] says: unknown or
//! unconnected provider → 404; unsigned, bad signature, stale → 401;
//! malformed → 400. Nothing is stored for a rejected request. An event type
//! a provider sends that says nothing about an order (e.g. Stripe
//! `customer.created`) is accepted and yields no facts, so the provider stops
//! retrying it.

mod aftership;
mod doordash;
mod easypost;
mod fields;
mod generic;
#[cfg(test)]
mod properties;
mod signature;
mod stripe;
#[cfg(test)]
mod testkit;
mod uber;
mod vocabulary;

use std::fmt;

use axum::http::{HeaderMap, StatusCode};
use chrono::{DateTime, Utc};
use order_core::order::inbound::Inbound;
use order_core::order::limits;
use signature::Signature;

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
    /// No such provider for this kind, or no such kind (404).
    UnknownProvider,
    /// A provider we serve, but the tenant named in the URL has not
    /// connected it, or there is no such tenant: the same answer for both,
    /// so the URL does not tell who our tenants are (404).
    NotConnected,
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
    /// The HTTP status to answer with: the one place a refusal becomes a
    /// status.
    pub fn status(&self) -> StatusCode {
        match self {
            Rejection::UnknownProvider | Rejection::NotConnected => StatusCode::NOT_FOUND,
            Rejection::Unsigned | Rejection::BadSignature | Rejection::Stale => {
                StatusCode::UNAUTHORIZED
            }
            Rejection::Malformed(_) => StatusCode::BAD_REQUEST,
        }
    }

    /// The reason, as the rejections metric counts it.
    pub fn reason(&self) -> &'static str {
        match self {
            Rejection::UnknownProvider => "unknown_provider",
            Rejection::NotConnected => "not_connected",
            Rejection::Unsigned => "unsigned",
            Rejection::BadSignature => "bad_signature",
            Rejection::Stale => "stale",
            Rejection::Malformed(_) => "malformed",
        }
    }

    /// The problem's title; its detail is the [`Display`](fmt::Display) text.
    pub fn title(&self) -> &'static str {
        match self {
            Rejection::UnknownProvider | Rejection::NotConnected => "Unknown provider",
            Rejection::Unsigned => "Unsigned webhook",
            Rejection::BadSignature => "Bad signature",
            Rejection::Stale => "Stale signature",
            Rejection::Malformed(_) => "Malformed webhook",
        }
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rejection::UnknownProvider => f.write_str("no such webhook provider"),
            Rejection::NotConnected => f.write_str("this provider is not connected here"),
            Rejection::Unsigned => f.write_str("the signature header is missing"),
            Rejection::BadSignature => f.write_str("the signature does not match the body"),
            Rejection::Stale => {
                f.write_str("the signed timestamp is outside the tolerance (a replay?)")
            }
            Rejection::Malformed(why) => f.write_str(why),
        }
    }
}

impl std::error::Error for Rejection {}

/// Reads a verified body into facts; `Ok(vec![])` acknowledges an event
/// that records nothing. `source` is `<kind>:<provider>`.
type Parse = fn(Verified, &str, &[u8]) -> Result<Vec<Inbound>, Rejection>;

/// One row of [`ADAPTERS`]: a provider we serve, how it signs, how it reads.
struct Adapter {
    kind: Kind,
    /// `None`: any other valid name of this kind.
    name: Option<&'static str>,
    signature: Signature,
    parse: Parse,
}

/// Every provider we serve, as in the table at the top of this module.
/// Named rows first: the generic carrier takes the carrier names left over.
static ADAPTERS: [Adapter; 6] = [
    Adapter {
        kind: Kind::Carrier,
        name: Some("easypost"),
        signature: Signature::body_hex(&["x-hmac-signature"], "hmac-sha256-hex="),
        parse: easypost::parse,
    },
    Adapter {
        kind: Kind::Carrier,
        name: Some("aftership"),
        signature: Signature::body_base64(&["aftership-hmac-sha256"]),
        parse: aftership::parse,
    },
    Adapter {
        kind: Kind::Payment,
        name: Some("stripe"),
        signature: Signature::timestamped(&["stripe-signature"]),
        parse: stripe::parse,
    },
    Adapter {
        kind: Kind::Delivery,
        name: Some("doordash"),
        signature: Signature::timestamped(&["x-doordash-signature"]),
        parse: doordash::parse,
    },
    Adapter {
        kind: Kind::Delivery,
        name: Some("uber"),
        // Postmates' header is Uber's old name for the same signature.
        signature: Signature::body_hex(&["x-uber-signature", "x-postmates-signature"], ""),
        parse: uber::parse,
    },
    Adapter {
        kind: Kind::Carrier,
        name: None,
        signature: Signature::timestamped(&["x-webhook-signature"]),
        parse: generic::parse,
    },
];

/// `[a-z0-9_-]{1,32}`.
fn valid_name(name: &str) -> bool {
    (1..=32).contains(&name.len())
        && name
            .bytes()
            .all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'_' | b'-'))
}

/// The provider a webhook URL names, found once per request; its facts are
/// sourced `<kind>:<provider>`.
#[derive(Clone, Copy)]
pub struct Provider<'a> {
    adapter: &'static Adapter,
    kind: Kind,
    name: &'a str,
}

impl fmt::Debug for Provider<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.kind, self.name)
    }
}

impl<'a> Provider<'a> {
    /// The provider at `/webhooks/…/{kind}/{name}`, or `UnknownProvider`.
    pub fn find(kind: &str, name: &'a str) -> Result<Self, Rejection> {
        let kind = Kind::parse(kind).ok_or(Rejection::UnknownProvider)?;
        ADAPTERS
            .iter()
            .find(|adapter| {
                adapter.kind == kind
                    && adapter
                        .name
                        .map_or_else(|| valid_name(name), |known| known == name)
            })
            .map(|adapter| Provider {
                adapter,
                kind,
                name,
            })
            .ok_or(Rejection::UnknownProvider)
    }

    /// Verifies the signature (constant-time compare:
    /// `hmac::Mac::verify_slice`), then parses, then bounds each fact.
    /// `Ok(vec![])` acknowledges an event that records nothing.
    pub fn intake(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        secret: &[u8],
        now: DateTime<Utc>,
    ) -> Result<Vec<Inbound>, Rejection> {
        let proof = self.adapter.signature.verify(headers, body, secret, now)?;
        let source = format!("{}:{}", self.kind, self.name);
        let mut facts = (self.adapter.parse)(proof, &source, body)?;
        // Whatever the provider, its text is cut to size and its links
        // checked before anything is stored or logged.
        for fact in &mut facts {
            for dropped in limits::bound_inbound(fact) {
                tracing::warn!(source = %fact.source, event_id = %fact.event_id,
                    field = dropped.field, scheme = %dropped.scheme, why = %dropped.why,
                    "dropped a provider link a page must not follow; the fact is kept");
            }
        }
        Ok(facts)
    }
}

#[cfg(test)]
mod tests {
    use super::testkit::*;
    use super::*;

    fn known(kind: Kind, name: &str) -> bool {
        Provider::find(kind.as_str(), name).is_ok()
    }

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
        assert_eq!(
            Provider::find("carriers", "easypost").err(),
            Some(Rejection::UnknownProvider)
        );
    }

    #[test]
    fn rejection_statuses() {
        assert_eq!(Rejection::UnknownProvider.status(), StatusCode::NOT_FOUND);
        assert_eq!(Rejection::NotConnected.status(), StatusCode::NOT_FOUND);
        assert_eq!(Rejection::Unsigned.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(Rejection::BadSignature.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(Rejection::Stale.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(
            Rejection::Malformed("x".into()).status(),
            StatusCode::BAD_REQUEST
        );
        // The reason is the problem's detail, under one title.
        let malformed = Rejection::Malformed("missing id".into());
        assert_eq!(malformed.to_string(), "missing id");
        assert_eq!(malformed.title(), "Malformed webhook");
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
            for hostile in HOSTILE_LINKS {
                // As the sender's JSON spells it, a tab escaped.
                let quoted = serde_json::to_string(hostile).unwrap();
                let body = tampered(sample, link, quoted.trim_matches('"'));
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
