//! Stripe: `Stripe-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>[,v0=…]`
//! (Stripe's documented scheme: any `v1` match passes, `v0` is ignored, a
//! `t` outside the tolerance is stale).
//!
//! | event type                      | fact                                              |
//! |---------------------------------|---------------------------------------------------|
//! | `payment_intent.succeeded`      | `Succeeded`, amount received                      |
//! | `payment_intent.payment_failed` | `Failed`, message from `last_payment_error`       |
//! | `payment_intent.canceled`       | `Canceled`, message = `cancellation_reason`       |
//! | `charge.refunded`               | `Refunded`, amount = `amount_refunded` (cumulative), reference = `payment_intent` |
//! | anything else                   | acknowledged, no fact                             |
//!
//! The order is `data.object.metadata.order_id` (set at checkout; Stripe
//! copies a payment intent's metadata onto its charges). Amounts are in the
//! currency's minor unit, as Stripe sends them; currencies are upper-cased.

use std::collections::HashMap;

use chrono::DateTime;
use order_core::order::inbound::{Inbound, InboundFact, PaymentKind, PaymentNews, Subject};
use serde::Deserialize;
use serde_json::Value;

use super::fields::{json, required, text};
use super::{Rejection, Verified};

#[derive(Deserialize)]
struct Event {
    id: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    created: Option<i64>,
    data: Option<Data>,
}

#[derive(Deserialize)]
struct Data {
    object: Option<Object>,
}

/// The fields we read from a PaymentIntent or a Charge.
#[derive(Deserialize)]
struct Object {
    id: Option<String>,
    amount: Option<i64>,
    amount_received: Option<i64>,
    amount_refunded: Option<i64>,
    currency: Option<String>,
    #[serde(default)]
    metadata: Option<HashMap<String, Value>>,
    last_payment_error: Option<PaymentError>,
    cancellation_reason: Option<String>,
    /// On a Charge: the payment intent it belongs to.
    payment_intent: Option<String>,
}

#[derive(Deserialize)]
struct PaymentError {
    message: Option<String>,
    code: Option<String>,
}

pub(super) fn parse(_: Verified, source: &str, body: &[u8]) -> Result<Vec<Inbound>, Rejection> {
    let event: Event = json(body)?;
    let event_type = required(event.kind, "type")?;
    let kind = match event_type.as_str() {
        "payment_intent.succeeded" => PaymentKind::Succeeded,
        "payment_intent.payment_failed" => PaymentKind::Failed,
        "payment_intent.canceled" => PaymentKind::Canceled,
        "charge.refunded" => PaymentKind::Refunded,
        other => {
            tracing::debug!(event_type = other, "Stripe event ignored");
            return Ok(vec![]);
        }
    };
    let event_id = required(event.id, "id")?;
    let occurred_at = event
        .created
        .and_then(|s| DateTime::from_timestamp(s, 0))
        .ok_or_else(|| Rejection::Malformed("missing created".into()))?;
    let object = event
        .data
        .and_then(|d| d.object)
        .ok_or_else(|| Rejection::Malformed("missing data.object".into()))?;
    let order_id = object
        .metadata
        .as_ref()
        .and_then(|m| m.get("order_id"))
        .and_then(Value::as_str)
        .and_then(|s| text(Some(s.to_owned())))
        .ok_or_else(|| Rejection::Malformed("missing data.object.metadata.order_id".into()))?;
    let object_id = text(object.id);

    let (reference, amount, message) = match kind {
        PaymentKind::Succeeded => (
            object_id,
            object.amount_received.filter(|a| *a > 0).or(object.amount),
            None,
        ),
        PaymentKind::Failed => (
            object_id,
            object.amount,
            object
                .last_payment_error
                .and_then(|e| text(e.message).or_else(|| text(e.code))),
        ),
        PaymentKind::Canceled => (object_id, object.amount, text(object.cancellation_reason)),
        PaymentKind::Refunded => (
            text(object.payment_intent).or(object_id),
            object.amount_refunded,
            None,
        ),
    };
    let reference =
        reference.ok_or_else(|| Rejection::Malformed("missing payment reference".into()))?;
    let news = PaymentNews {
        kind,
        reference,
        amount,
        currency: text(object.currency).map(|c| c.to_uppercase()),
        message,
    };
    Ok(vec![Inbound {
        source: source.to_owned(),
        event_id,
        occurred_at,
        subject: Subject::Order { order_id },
        fact: InboundFact::Payment(news),
    }])
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderMap;

    use super::super::testkit::*;
    use super::super::{Kind, TIMESTAMP_TOLERANCE};
    use super::*;

    const SUCCEEDED: &str = include_str!("../../../../events/webhook-stripe-succeeded.json");
    const FAILED: &str = include_str!("../../../../events/webhook-stripe-failed.json");

    fn signed_at(body: &str, secret: &[u8], t: i64) -> HeaderMap {
        headers(&[(
            "Stripe-Signature",
            &sign::timestamped(secret, t, body.as_bytes()),
        )])
    }

    fn signed(body: &str) -> HeaderMap {
        signed_at(body, SECRET, now().timestamp() - 1)
    }

    fn run(headers: &HeaderMap, body: &str) -> Result<Vec<Inbound>, Rejection> {
        intake(
            Kind::Payment,
            "stripe",
            headers,
            body.as_bytes(),
            SECRET,
            now(),
        )
    }

    fn payment(
        kind: PaymentKind,
        reference: &str,
        amount: Option<i64>,
        message: Option<&str>,
    ) -> InboundFact {
        InboundFact::Payment(PaymentNews {
            kind,
            reference: reference.into(),
            amount,
            currency: Some("CAD".into()),
            message: message.map(Into::into),
        })
    }

    #[test]
    fn succeeded_sample() {
        let got = run(&signed(SUCCEEDED), SUCCEEDED).unwrap();
        assert_eq!(
            got,
            vec![Inbound {
                source: "payment:stripe".into(),
                event_id: "evt_3Qx7YtLkdIwHu7ix1Zb9mF0a".into(),
                occurred_at: at("2026-03-08T19:03:20Z"),
                subject: Subject::Order {
                    order_id: ORDER_ID.into()
                },
                fact: payment(
                    PaymentKind::Succeeded,
                    "pi_3Qx7YtLkdIwHu7ix1mK2pQ8s",
                    Some(84_900),
                    None
                ),
            }]
        );
    }

    #[test]
    fn failed_sample() {
        let got = run(&signed(FAILED), FAILED).unwrap();
        assert_eq!(
            got,
            vec![Inbound {
                source: "payment:stripe".into(),
                event_id: "evt_3Qx7VdLkdIwHu7ix0Pq4rN2b".into(),
                occurred_at: at("2026-03-08T19:01:55Z"),
                subject: Subject::Order {
                    order_id: ORDER_ID.into()
                },
                fact: payment(
                    PaymentKind::Failed,
                    "pi_3Qx7YtLkdIwHu7ix1mK2pQ8s",
                    Some(84_900),
                    Some("Your card has insufficient funds.")
                ),
            }]
        );
    }

    #[test]
    fn canceled_and_refunded() {
        let canceled = r#"{"id":"evt_c","type":"payment_intent.canceled","created":1773000000,
            "data":{"object":{"id":"pi_1","object":"payment_intent","amount":84900,"currency":"cad",
            "cancellation_reason":"abandoned","metadata":{"order_id":"ord_0123456789abcdef0123456789abcdef"}}}}"#;
        let got = run(&signed(canceled), canceled).unwrap();
        assert_eq!(
            got[0].fact,
            payment(
                PaymentKind::Canceled,
                "pi_1",
                Some(84_900),
                Some("abandoned")
            )
        );
        assert_eq!(
            got[0].occurred_at,
            DateTime::from_timestamp(1_773_000_000, 0).unwrap()
        );

        let refunded = r#"{"id":"evt_r","type":"charge.refunded","created":1773000000,
            "data":{"object":{"id":"ch_1","object":"charge","amount":84900,"amount_refunded":20000,"currency":"cad",
            "payment_intent":"pi_1","metadata":{"order_id":"ord_0123456789abcdef0123456789abcdef"}}}}"#;
        let got = run(&signed(refunded), refunded).unwrap();
        assert_eq!(
            got[0].fact,
            payment(PaymentKind::Refunded, "pi_1", Some(20_000), None)
        );
        assert_eq!(got[0].event_id, "evt_r");

        // A charge made without a payment intent: its own id is the reference.
        let legacy = refunded.replace(r#""payment_intent":"pi_1","#, "");
        let got = run(&signed(&legacy), &legacy).unwrap();
        assert_eq!(
            got[0].fact,
            payment(PaymentKind::Refunded, "ch_1", Some(20_000), None)
        );
    }

    #[test]
    fn other_event_types_are_acknowledged_with_nothing() {
        let body = r#"{"id":"evt_o","type":"customer.created","created":1773000000,"data":{"object":{"id":"cus_1"}}}"#;
        assert_eq!(run(&signed(body), body), Ok(vec![]));
    }

    #[test]
    fn rejects_tampering_wrong_secret_missing_header_and_stale() {
        let tampered = tampered(SUCCEEDED, "84900", "1");
        assert_eq!(
            run(&signed(SUCCEEDED), &tampered),
            Err(Rejection::BadSignature)
        );
        let t = now().timestamp();
        assert_eq!(
            run(&signed_at(SUCCEEDED, b"whsec_wrong", t), SUCCEEDED),
            Err(Rejection::BadSignature)
        );
        assert_eq!(run(&HeaderMap::new(), SUCCEEDED), Err(Rejection::Unsigned));
        let stale = t - TIMESTAMP_TOLERANCE.num_seconds() - 60;
        assert_eq!(
            run(&signed_at(SUCCEEDED, SECRET, stale), SUCCEEDED),
            Err(Rejection::Stale)
        );
    }

    #[test]
    fn rotated_secrets_send_several_v1() {
        let t = now().timestamp();
        let old = sign::timestamped(b"whsec_old", t, SUCCEEDED.as_bytes());
        let new = sign::timestamped(SECRET, t, SUCCEEDED.as_bytes());
        let v1_new = new.split(",v1=").nth(1).unwrap();
        let header = format!(
            "{old},v1={v1_new},v0=6ffbb59b2300aae63f272406069a9788598b792a944a07aba816edb039989a39"
        );
        assert!(run(&headers(&[("stripe-signature", &header)]), SUCCEEDED).is_ok());
    }

    #[test]
    fn malformed_bodies() {
        for body in [
            "null",
            r#"{"id":"evt_1","created":1773000000}"#,
            r#"{"type":"payment_intent.succeeded","created":1773000000,"data":{"object":{"id":"pi_1","metadata":{"order_id":"o"}}}}"#,
            r#"{"id":"evt_1","type":"payment_intent.succeeded","data":{"object":{"id":"pi_1","metadata":{"order_id":"o"}}}}"#,
            r#"{"id":"evt_1","type":"payment_intent.succeeded","created":1773000000}"#,
            r#"{"id":"evt_1","type":"payment_intent.succeeded","created":1773000000,"data":{"object":{"id":"pi_1","metadata":{}}}}"#,
            r#"{"id":"evt_1","type":"payment_intent.succeeded","created":1773000000,"data":{"object":{"id":"pi_1","metadata":{"order_id":42}}}}"#,
            r#"{"id":"evt_1","type":"payment_intent.succeeded","created":1773000000,"data":{"object":{"metadata":{"order_id":"o"}}}}"#,
            r#"{"id":"evt_1","type":"payment_intent.succeeded","created":"yesterday","data":{"object":{"id":"pi_1","metadata":{"order_id":"o"}}}}"#,
        ] {
            let got = run(&signed(body), body);
            assert!(
                matches!(got, Err(Rejection::Malformed(_))),
                "{body}: {got:?}"
            );
        }
    }
}
