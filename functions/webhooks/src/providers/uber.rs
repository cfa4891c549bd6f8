//! Uber Direct: `X-Uber-Signature: <hex HMAC-SHA256(secret, raw body)>`
//! (the legacy `X-Postmates-Signature` header carries the same value and is
//! accepted when the first is absent). The scheme has no timestamp, so no
//! replay window: redeliveries are caught by the event id downstream.
//!
//! The order is `external_id` (the reference we give Uber when creating the
//! delivery), top-level or inside `data`; courier and ETA likewise.
//!
//! | kind / status                                  | fact             |
//! |------------------------------------------------|------------------|
//! | `event.courier_update`                         | `Location`       |
//! | `event.delivery_status` `pickup`               | `DriverAssigned` |
//! | `event.delivery_status` `pickup_complete`      | `PickedUp`       |
//! | `event.delivery_status` `dropoff`              | `Location` (en route to the customer) |
//! | `event.delivery_status` `delivered`            | `Delivered`      |
//! | `event.delivery_status` `canceled`, `returned` | `Failed`         |
//! | `pending`, other statuses and kinds            | acknowledged, no fact |

use order_core::order::inbound::{
    DeliveryKind, DeliveryNews, Driver, Inbound, InboundFact, Subject,
};
use serde::Deserialize;
use serde_json::Value;

use super::fields::{self, json, required, text, value_text};
use super::{Rejection, Verified};

#[derive(Deserialize)]
struct Webhook {
    id: Option<String>,
    kind: Option<String>,
    created: Option<String>,
    delivery_id: Option<String>,
    status: Option<String>,
    external_id: Option<String>,
    courier: Option<Value>,
    location: Option<Value>,
    dropoff_eta: Option<String>,
    undeliverable_reason: Option<String>,
    #[serde(default)]
    data: Option<Value>,
}

fn kind(event_kind: &str, status: Option<&str>) -> Option<DeliveryKind> {
    match (event_kind, status) {
        ("event.courier_update", _) => Some(DeliveryKind::Location),
        ("event.delivery_status", Some("pickup")) => Some(DeliveryKind::DriverAssigned),
        ("event.delivery_status", Some("pickup_complete")) => Some(DeliveryKind::PickedUp),
        ("event.delivery_status", Some("dropoff")) => Some(DeliveryKind::Location),
        ("event.delivery_status", Some("delivered")) => Some(DeliveryKind::Delivered),
        ("event.delivery_status", Some("canceled" | "returned")) => Some(DeliveryKind::Failed),
        _ => None,
    }
}

/// `data.<key>` as text.
fn data_text(data: Option<&Value>, key: &str) -> Option<String> {
    value_text(data.and_then(|d| d.get(key)))
}

pub(super) fn parse(_: Verified, source: &str, body: &[u8]) -> Result<Vec<Inbound>, Rejection> {
    let hook: Webhook = json(body)?;
    let data = hook.data.as_ref().filter(|d| d.is_object());
    let event_kind = required(hook.kind, "kind")?;
    let status = text(hook.status).or_else(|| data_text(data, "status"));
    let Some(kind) = kind(&event_kind, status.as_deref()) else {
        tracing::debug!(event_kind, status, "Uber event ignored");
        return Ok(vec![]);
    };
    let event_id = required(hook.id, "id")?;
    let created = required(hook.created, "created")?;
    let occurred_at = fields::time(&created)
        .ok_or_else(|| Rejection::Malformed("created is not a timestamp".into()))?;
    let order_id = text(hook.external_id)
        .or_else(|| data_text(data, "external_id"))
        .ok_or_else(|| Rejection::Malformed("missing external_id".into()))?;
    let reference = text(hook.delivery_id)
        .or_else(|| data_text(data, "id"))
        .ok_or_else(|| Rejection::Malformed("missing delivery_id".into()))?;

    let courier = hook
        .courier
        .as_ref()
        .or_else(|| data.and_then(|d| d.get("courier")))
        .filter(|c| c.is_object());
    let driver = courier.and_then(|c| {
        let name = value_text(c.get("name"))?;
        let make_model = ["vehicle_make", "vehicle_model"].map(|k| value_text(c.get(k)));
        Some(Driver {
            name,
            vehicle: fields::joined(make_model, " ").or_else(|| value_text(c.get("vehicle_type"))),
            photo_url: value_text(c.get("img_href")),
            phone: value_text(c.get("phone_number")),
        })
    });
    let location = courier
        .and_then(|c| c.get("location"))
        .or(hook.location.as_ref())
        .and_then(|loc| fields::point(loc, occurred_at));
    let eta = fields::opt_time(hook.dropoff_eta.as_deref())
        .or_else(|| fields::opt_time(data_text(data, "dropoff_eta").as_deref()));
    let message = match kind {
        DeliveryKind::Failed => text(hook.undeliverable_reason)
            .or_else(|| data_text(data, "undeliverable_reason"))
            .or_else(|| status.map(|s| format!("delivery {s}"))),
        _ => None,
    };
    let news = DeliveryNews {
        kind,
        reference,
        driver,
        location,
        eta,
        message,
    };
    Ok(vec![Inbound {
        source: source.to_owned(),
        event_id,
        occurred_at,
        subject: Subject::Order { order_id },
        fact: InboundFact::Delivery(news),
    }])
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderMap;
    use order_core::order::inbound::GeoPoint;

    use super::super::testkit::*;
    use super::super::Kind;
    use super::*;

    const SAMPLE: &str = include_str!("../../../../events/webhook-uber.json");

    fn signed(body: &str, secret: &[u8]) -> HeaderMap {
        headers(&[("X-Uber-Signature", &sign::body_hex(secret, body.as_bytes()))])
    }

    fn run(headers: &HeaderMap, body: &str) -> Result<Vec<Inbound>, Rejection> {
        intake(
            Kind::Delivery,
            "uber",
            headers,
            body.as_bytes(),
            SECRET,
            now(),
        )
    }

    #[test]
    fn sample_verifies_and_parses() {
        let got = run(&signed(SAMPLE, SECRET), SAMPLE).unwrap();
        let occurred_at = at("2026-03-09T18:20:31Z");
        assert_eq!(
            got,
            vec![Inbound {
                source: "delivery:uber".into(),
                event_id: "evt_4bQ9n3kV1xYb2ZcDe7Fg8HiJ".into(),
                occurred_at,
                subject: Subject::Order {
                    order_id: ORDER_ID.into()
                },
                fact: InboundFact::Delivery(DeliveryNews {
                    kind: DeliveryKind::PickedUp,
                    reference: "del_aBcDeFgHiJkLmNoPqRsTuV".into(),
                    driver: Some(Driver {
                        name: "Rob T.".into(),
                        vehicle: Some("Honda Civic".into()),
                        photo_url: Some(
                            "https://d1w2poirtb3as9.cloudfront.net/img/courier/rob-t.jpeg".into()
                        ),
                        phone: Some("+14165550142".into()),
                    }),
                    location: Some(GeoPoint {
                        lat: 43.6455,
                        lng: -79.3951,
                        accuracy_m: None,
                        at: occurred_at,
                    }),
                    eta: Some(at("2026-03-09T18:42:00Z")),
                    message: None,
                }),
            }]
        );
    }

    #[test]
    fn statuses() {
        let body = |kind: &str, status: &str| {
            format!(
                r#"{{"id":"evt_1","kind":"{kind}","created":"2026-03-09T18:20:31Z","delivery_id":"del_1",
                "status":"{status}","data":{{"external_id":"{ORDER_ID}","undeliverable_reason":"customer_unavailable"}},
                "location":{{"lat":43.6,"lng":-79.4}}}}"#
            )
        };
        for (k, s, want) in [
            ("event.delivery_status", "pending", None),
            (
                "event.delivery_status",
                "pickup",
                Some(DeliveryKind::DriverAssigned),
            ),
            (
                "event.delivery_status",
                "pickup_complete",
                Some(DeliveryKind::PickedUp),
            ),
            (
                "event.delivery_status",
                "dropoff",
                Some(DeliveryKind::Location),
            ),
            (
                "event.delivery_status",
                "delivered",
                Some(DeliveryKind::Delivered),
            ),
            (
                "event.delivery_status",
                "canceled",
                Some(DeliveryKind::Failed),
            ),
            (
                "event.delivery_status",
                "returned",
                Some(DeliveryKind::Failed),
            ),
            ("event.delivery_status", "teleported", None),
            (
                "event.courier_update",
                "dropoff",
                Some(DeliveryKind::Location),
            ),
            ("event.refund_request", "delivered", None),
        ] {
            let b = body(k, s);
            let got = run(&signed(&b, SECRET), &b).unwrap();
            match want {
                None => assert!(got.is_empty(), "{k} {s}"),
                Some(kind) => {
                    assert_eq!(
                        got[0].subject,
                        Subject::Order {
                            order_id: ORDER_ID.into()
                        }
                    );
                    let InboundFact::Delivery(news) = &got[0].fact else {
                        panic!()
                    };
                    assert_eq!(news.kind, kind, "{k} {s}");
                    assert_eq!(news.driver, None);
                    assert_eq!(news.location.as_ref().map(|l| l.lat), Some(43.6));
                    let failed = kind == DeliveryKind::Failed;
                    assert_eq!(
                        news.message.as_deref(),
                        failed.then_some("customer_unavailable")
                    );
                }
            }
        }
    }

    #[test]
    fn legacy_header_and_hex_case() {
        let hex = sign::body_hex(SECRET, SAMPLE.as_bytes()).to_uppercase();
        assert!(run(&headers(&[("X-Postmates-Signature", &hex)]), SAMPLE).is_ok());
    }

    #[test]
    fn rejects_tampering_wrong_secret_and_missing_header() {
        let tampered = tampered(SAMPLE, "pickup_complete", "delivered");
        assert_eq!(
            run(&signed(SAMPLE, SECRET), &tampered),
            Err(Rejection::BadSignature)
        );
        assert_eq!(
            run(&signed(SAMPLE, b"wrong"), SAMPLE),
            Err(Rejection::BadSignature)
        );
        assert_eq!(run(&HeaderMap::new(), SAMPLE), Err(Rejection::Unsigned));
        assert_eq!(
            run(&headers(&[("X-Uber-Signature", "not-hex")]), SAMPLE),
            Err(Rejection::BadSignature)
        );
    }

    #[test]
    fn malformed_bodies() {
        for body in [
            "",
            r#"{"id":"evt_1","created":"2026-03-09T18:20:31Z","delivery_id":"d","status":"delivered","external_id":"o"}"#,
            r#"{"kind":"event.delivery_status","created":"2026-03-09T18:20:31Z","delivery_id":"d","status":"delivered","external_id":"o"}"#,
            r#"{"id":"e","kind":"event.delivery_status","delivery_id":"d","status":"delivered","external_id":"o"}"#,
            r#"{"id":"e","kind":"event.delivery_status","created":"2026-03-09T18:20:31Z","delivery_id":"d","status":"delivered"}"#,
            r#"{"id":"e","kind":"event.delivery_status","created":"2026-03-09T18:20:31Z","status":"delivered","external_id":"o"}"#,
            r#"{"id":"e","kind":"event.delivery_status","created":"later","delivery_id":"d","status":"delivered","external_id":"o"}"#,
        ] {
            let got = run(&signed(body, SECRET), body);
            assert!(
                matches!(got, Err(Rejection::Malformed(_))),
                "{body}: {got:?}"
            );
        }
    }
}
