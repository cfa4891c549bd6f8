//! The generic carrier scheme, for every carrier provider name other than
//! `easypost` and `aftership` (`shippo`, `shopify`, a relay of our own…).
//!
//! **Signature.** Header
//! `X-Webhook-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`,
//! Stripe's construction: `t` is signed exactly as sent, several `v1=` may be
//! given (during a secret rotation) and any match passes, unknown keys are
//! ignored. A valid signature whose `t` is more than
//! [`TIMESTAMP_TOLERANCE`](super::TIMESTAMP_TOLERANCE) away from our clock
//! is rejected as stale.
//!
//! **Body.** One update for one package:
//!
//! ```json
//! {
//!   "id": "evt_…",                      // required, the sender's event id
//!   "tracking_code": "1Z999AA10123456784", // required
//!   "carrier": "UPS",                   // optional
//!   "status": "out_for_delivery",       // required, see below
//!   "occurred_at": "2026-03-10T07:45:00-05:00", // required, RFC 3339
//!   "message": "Out for delivery",      // optional
//!   "location": "Chicago, IL, US",      // optional; or {"city","state","zip","country"}
//!   "tracking_url": "https://…",        // optional
//!   "estimated_delivery": "2026-03-10T20:00:00-05:00" // optional
//! }
//! ```
//!
//! `status` is any code of the EasyPost, AfterShip, Shippo or Shopify
//! vocabularies, or one of our canonical names (see [`canonical`]); a code
//! outside them is `Malformed`.

use chrono::{DateTime, Utc};
use order_core::order::inbound::{Inbound, InboundFact, ShipmentNews, Subject};
use serde::Deserialize;
use serde_json::Value;

use super::fields::{self, json, required, text};
use super::{canonical, Rejection, Verified};

#[derive(Deserialize)]
struct Update {
    id: Option<String>,
    tracking_code: Option<String>,
    carrier: Option<String>,
    status: Option<String>,
    occurred_at: Option<String>,
    message: Option<String>,
    location: Option<Value>,
    tracking_url: Option<String>,
    estimated_delivery: Option<String>,
}

pub(super) fn parse(_: Verified, source: &str, body: &[u8]) -> Result<Vec<Inbound>, Rejection> {
    let update: Update = json(body)?;
    let event_id = required(update.id, "id")?;
    let code = required(update.tracking_code, "tracking_code")?;
    let raw_status = required(update.status, "status")?;
    let status = canonical(&raw_status)
        .ok_or_else(|| Rejection::Malformed(format!("unknown status {raw_status:?}")))?;
    let occurred_at = required(update.occurred_at, "occurred_at")?;
    let occurred_at = DateTime::parse_from_rfc3339(&occurred_at)
        .map_err(|_| Rejection::Malformed("occurred_at is not RFC 3339".into()))?
        .with_timezone(&Utc);
    let news = ShipmentNews {
        tracking_code: code.clone(),
        carrier: text(update.carrier),
        status,
        raw_status,
        message: text(update.message),
        location: fields::place(update.location.as_ref()),
        tracking_url: text(update.tracking_url),
        estimated_delivery: fields::opt_time(update.estimated_delivery.as_deref()),
    };
    Ok(vec![Inbound {
        source: source.to_owned(),
        event_id,
        occurred_at,
        subject: Subject::Tracking { code },
        fact: InboundFact::Shipment(news),
    }])
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderMap;

    use order_core::order::ShipmentStatus;

    use super::super::testkit::*;
    use super::super::{Kind, TIMESTAMP_TOLERANCE};
    use super::*;

    const SAMPLE: &str = include_str!("../../../../events/webhook-generic.json");

    fn signed_at(body: &str, secret: &[u8], t: i64) -> HeaderMap {
        headers(&[(
            "X-Webhook-Signature",
            &sign::timestamped(secret, t, body.as_bytes()),
        )])
    }

    fn signed(body: &str) -> HeaderMap {
        signed_at(body, SECRET, now().timestamp() - 3)
    }

    fn run(provider: &str, headers: &HeaderMap, body: &str) -> Result<Vec<Inbound>, Rejection> {
        intake(
            Kind::Carrier,
            provider,
            headers,
            body.as_bytes(),
            SECRET,
            now(),
        )
    }

    #[test]
    fn sample_verifies_and_parses() {
        let got = run("shippo", &signed(SAMPLE), SAMPLE).unwrap();
        assert_eq!(
            got,
            vec![Inbound {
                source: "carrier:shippo".into(),
                event_id: "whe_7d41c9a0e6b54f28a3c1f0d9b8e2a615".into(),
                occurred_at: at("2026-03-10T12:45:00Z"),
                subject: Subject::Tracking {
                    code: TRACKING.into()
                },
                fact: InboundFact::Shipment(ShipmentNews {
                    tracking_code: TRACKING.into(),
                    carrier: Some("UPS".into()),
                    status: ShipmentStatus::OutForDelivery,
                    raw_status: "out_for_delivery".into(),
                    message: Some("Out For Delivery Today".into()),
                    location: Some("Chicago, IL, 60607, US".into()),
                    tracking_url: Some(
                        "https://www.ups.com/track?loc=en_US&tracknum=1Z999AA10123456784".into()
                    ),
                    estimated_delivery: Some(at("2026-03-11T01:00:00Z")),
                }),
            }]
        );
    }

    #[test]
    fn any_valid_name_uses_it_and_names_the_source() {
        let got = run("shopify", &signed(SAMPLE), SAMPLE).unwrap();
        assert_eq!(got[0].source, "carrier:shopify");
    }

    #[test]
    fn rejects_tampering_wrong_secret_missing_header_and_stale() {
        let tampered = tampered(SAMPLE, "out_for_delivery", "delivered");
        assert_eq!(
            run("shippo", &signed(SAMPLE), &tampered),
            Err(Rejection::BadSignature)
        );
        let t = now().timestamp();
        assert_eq!(
            run("shippo", &signed_at(SAMPLE, b"wrong-secret", t), SAMPLE),
            Err(Rejection::BadSignature)
        );
        assert_eq!(
            run("shippo", &HeaderMap::new(), SAMPLE),
            Err(Rejection::Unsigned)
        );
        let late = t - TIMESTAMP_TOLERANCE.num_seconds() - 1;
        assert_eq!(
            run("shippo", &signed_at(SAMPLE, SECRET, late), SAMPLE),
            Err(Rejection::Stale)
        );
        let early = t + TIMESTAMP_TOLERANCE.num_seconds() + 1;
        assert_eq!(
            run("shippo", &signed_at(SAMPLE, SECRET, early), SAMPLE),
            Err(Rejection::Stale)
        );
    }

    #[test]
    fn vocabularies_and_unknown_codes() {
        let body = |status: &str| {
            format!(
                r#"{{"id":"e1","tracking_code":"1Z","status":"{status}","occurred_at":"2026-03-09T10:00:00Z"}}"#
            )
        };
        for (code, want) in [
            ("TRANSIT", ShipmentStatus::InTransit),
            ("attempted_delivery", ShipmentStatus::DeliveryAttempted),
            ("Exception_010", ShipmentStatus::Returning),
            ("return_to_sender", ShipmentStatus::Returning),
            ("stale", ShipmentStatus::Stale),
        ] {
            let b = body(code);
            let got = run("relay", &signed(&b), &b).unwrap();
            let InboundFact::Shipment(news) = &got[0].fact else {
                panic!()
            };
            assert_eq!(news.status, want, "{code}");
            assert_eq!(news.raw_status, code);
            assert_eq!(news.location, None);
        }
        let b = body("teleported");
        assert!(matches!(
            run("relay", &signed(&b), &b),
            Err(Rejection::Malformed(_))
        ));
    }

    #[test]
    fn malformed_bodies() {
        for body in [
            "{",
            r#"{"tracking_code":"1Z","status":"delivered","occurred_at":"2026-03-09T10:00:00Z"}"#,
            r#"{"id":"e1","status":"delivered","occurred_at":"2026-03-09T10:00:00Z"}"#,
            r#"{"id":"e1","tracking_code":"1Z","occurred_at":"2026-03-09T10:00:00Z"}"#,
            r#"{"id":"e1","tracking_code":"1Z","status":"delivered"}"#,
            r#"{"id":"e1","tracking_code":"1Z","status":"delivered","occurred_at":"2026-03-09 10:00"}"#,
            r#"{"id":"e1","tracking_code":["1Z"],"status":"delivered","occurred_at":"2026-03-09T10:00:00Z"}"#,
        ] {
            let got = run("relay", &signed(body), body);
            assert!(
                matches!(got, Err(Rejection::Malformed(_))),
                "{body}: {got:?}"
            );
        }
    }
}
