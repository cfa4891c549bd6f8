//! DoorDash Drive. DoorDash authenticates webhooks with a static
//! `Authorization` value configured in its developer portal, which is neither
//! bound to the body nor replay-proof; we instead require the generic timestamped
//! scheme in `X-DoorDash-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret,
//! "<t>.<raw body>")>`, added by the relay (or gateway) that receives
//! DoorDash's call. Stale timestamps are rejected as for Stripe.
//!
//! The payload is DoorDash Drive's delivery-status webhook: the order is
//! `external_delivery_id` (we create the delivery with our order id). An
//! event id: the top-level `id` when present, otherwise one derived from
//! `event_name`, `created_at` and `external_delivery_id`, which a redelivery
//! repeats unchanged.
//!
//! | event_name                                                    | fact            |
//! |---------------------------------------------------------------|-----------------|
//! | `DASHER_CONFIRMED`                                            | `DriverAssigned`|
//! | `DASHER_ENROUTE_TO_PICKUP`, `DASHER_CONFIRMED_PICKUP_ARRIVAL`, `DASHER_ENROUTE_TO_DROPOFF`, `DASHER_CONFIRMED_DROPOFF_ARRIVAL`, `DASHER_LOCATION_UPDATE` | `Location` |
//! | `DASHER_PICKED_UP`                                            | `PickedUp`      |
//! | `DASHER_DROPPED_OFF`                                          | `Delivered`     |
//! | `DELIVERY_CANCELLED`, `DELIVERY_RETURN_INITIALIZED`, `DELIVERY_RETURNED`, `DASHER_ENROUTE_TO_RETURN`, `DASHER_CONFIRMED_RETURN_ARRIVAL` | `Failed` |
//! | anything else (`DELIVERY_CREATED`, `DELIVERY_BATCHED`, …)     | acknowledged, no fact |

use order_core::hex;
use order_core::order::inbound::{
    DeliveryKind, DeliveryNews, Driver, Inbound, InboundFact, Subject,
};
use serde::Deserialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::fields::{self, json, required, text, value_text};
use super::{Rejection, Verified};

#[derive(Deserialize)]
struct Webhook {
    id: Option<Value>,
    event_name: Option<String>,
    created_at: Option<String>,
    external_delivery_id: Option<String>,
    delivery_id: Option<Value>,
    support_reference: Option<Value>,
    dasher_name: Option<String>,
    dasher_dropoff_phone_number: Option<String>,
    dasher_vehicle_make: Option<String>,
    dasher_vehicle_model: Option<String>,
    dasher_location: Option<Value>,
    dropoff_time_estimated: Option<String>,
    cancellation_reason: Option<String>,
    cancellation_reason_message: Option<String>,
}

fn kind(event_name: &str) -> Option<DeliveryKind> {
    Some(match event_name {
        "DASHER_CONFIRMED" => DeliveryKind::DriverAssigned,
        "DASHER_ENROUTE_TO_PICKUP"
        | "DASHER_CONFIRMED_PICKUP_ARRIVAL"
        | "DASHER_ENROUTE_TO_DROPOFF"
        | "DASHER_CONFIRMED_DROPOFF_ARRIVAL"
        | "DASHER_LOCATION_UPDATE" => DeliveryKind::Location,
        "DASHER_PICKED_UP" => DeliveryKind::PickedUp,
        "DASHER_DROPPED_OFF" => DeliveryKind::Delivered,
        "DELIVERY_CANCELLED"
        | "DELIVERY_RETURN_INITIALIZED"
        | "DELIVERY_RETURNED"
        | "DASHER_ENROUTE_TO_RETURN"
        | "DASHER_CONFIRMED_RETURN_ARRIVAL" => DeliveryKind::Failed,
        _ => return None,
    })
}

pub(super) fn parse(_: Verified, source: &str, body: &[u8]) -> Result<Vec<Inbound>, Rejection> {
    let hook: Webhook = json(body)?;
    let event_name = required(hook.event_name, "event_name")?;
    let Some(kind) = kind(&event_name) else {
        tracing::debug!(event_name, "DoorDash event ignored");
        return Ok(vec![]);
    };
    let created_at = required(hook.created_at, "created_at")?;
    let occurred_at = fields::time(&created_at)
        .ok_or_else(|| Rejection::Malformed("created_at is not a timestamp".into()))?;
    let order_id = required(hook.external_delivery_id, "external_delivery_id")?;
    let event_id = value_text(hook.id.as_ref())
        .unwrap_or_else(|| derived_id(&event_name, &created_at, &order_id));
    let reference = value_text(hook.delivery_id.as_ref())
        .or_else(|| value_text(hook.support_reference.as_ref()))
        .unwrap_or_else(|| order_id.clone());

    let vehicle = [hook.dasher_vehicle_make, hook.dasher_vehicle_model];
    let driver = text(hook.dasher_name).map(|name| Driver {
        name,
        vehicle: fields::joined(vehicle, " "),
        photo_url: None,
        phone: text(hook.dasher_dropoff_phone_number),
    });
    let location = hook
        .dasher_location
        .as_ref()
        .and_then(|loc| fields::point(loc, occurred_at));
    let message = match kind {
        DeliveryKind::Failed => text(hook.cancellation_reason_message)
            .or_else(|| text(hook.cancellation_reason))
            .or_else(|| Some(event_name.to_lowercase().replace('_', " "))),
        _ => None,
    };
    let news = DeliveryNews {
        kind,
        reference,
        driver,
        location,
        eta: fields::opt_time(hook.dropoff_time_estimated.as_deref()),
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

/// `dd_` + the first 128 bits (hex) of SHA-256 over the three fields, each
/// terminated by a newline.
fn derived_id(event_name: &str, created_at: &str, order_id: &str) -> String {
    let mut hash = Sha256::new();
    for part in [event_name, created_at, order_id] {
        hash.update(part.as_bytes());
        hash.update(b"\n");
    }
    format!("dd_{}", hex::encode(&hash.finalize()[..16]))
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderMap;
    use order_core::order::inbound::GeoPoint;

    use super::super::testkit::*;
    use super::super::{Kind, TIMESTAMP_TOLERANCE};
    use super::*;

    const SAMPLE: &str = include_str!("../../../../events/webhook-doordash.json");

    fn signed_at(body: &str, secret: &[u8], t: i64) -> HeaderMap {
        headers(&[(
            "X-DoorDash-Signature",
            &sign::timestamped(secret, t, body.as_bytes()),
        )])
    }

    fn signed(body: &str) -> HeaderMap {
        signed_at(body, SECRET, now().timestamp() - 2)
    }

    fn run(headers: &HeaderMap, body: &str) -> Result<Vec<Inbound>, Rejection> {
        intake(
            Kind::Delivery,
            "doordash",
            headers,
            body.as_bytes(),
            SECRET,
            now(),
        )
    }

    #[test]
    fn sample_verifies_and_parses() {
        let got = run(&signed(SAMPLE), SAMPLE).unwrap();
        let occurred_at = at("2026-03-09T18:04:11.482Z");
        assert_eq!(
            got,
            vec![Inbound {
                source: "delivery:doordash".into(),
                event_id: derived_id("DASHER_CONFIRMED", "2026-03-09T18:04:11.482Z", ORDER_ID),
                occurred_at,
                subject: Subject::Order {
                    order_id: ORDER_ID.into()
                },
                fact: InboundFact::Delivery(DeliveryNews {
                    kind: DeliveryKind::DriverAssigned,
                    reference: "1343593260".into(),
                    driver: Some(Driver {
                        name: "Ana M.".into(),
                        vehicle: Some("Toyota Corolla".into()),
                        photo_url: None,
                        phone: Some("+16475550123".into()),
                    }),
                    location: Some(GeoPoint {
                        lat: 43.6452,
                        lng: -79.3806,
                        accuracy_m: None,
                        at: occurred_at,
                    }),
                    eta: Some(at("2026-03-09T18:41:00Z")),
                    message: None,
                }),
            }]
        );
        assert!(got[0].event_id.starts_with("dd_") && got[0].event_id.len() == 35);
    }

    #[test]
    fn event_ids() {
        // Stable, and sensitive to each part.
        let a = derived_id("DASHER_PICKED_UP", "2026-03-09T18:04:11Z", ORDER_ID);
        assert_eq!(
            a,
            derived_id("DASHER_PICKED_UP", "2026-03-09T18:04:11Z", ORDER_ID)
        );
        assert_ne!(
            a,
            derived_id("DASHER_DROPPED_OFF", "2026-03-09T18:04:11Z", ORDER_ID)
        );
        assert_ne!(
            a,
            derived_id("DASHER_PICKED_UP", "2026-03-09T18:04:12Z", ORDER_ID)
        );
        assert_ne!(
            a,
            derived_id("DASHER_PICKED_UP", "2026-03-09T18:04:11Z", "ord_other")
        );
        // A top-level id wins.
        let body = SAMPLE.replacen('{', r#"{"id": "dd_evt_81f2","#, 1);
        let got = run(&signed(&body), &body).unwrap();
        assert_eq!(got[0].event_id, "dd_evt_81f2");
    }

    #[test]
    fn event_names() {
        let body = |name: &str| {
            format!(
                r#"{{"event_name":"{name}","created_at":"2026-03-09T18:30:00Z","external_delivery_id":"{ORDER_ID}",
                "cancellation_reason":"store_closed","cancellation_reason_message":"Store closed early"}}"#
            )
        };
        for (name, want) in [
            ("DASHER_CONFIRMED", Some(DeliveryKind::DriverAssigned)),
            ("DASHER_ENROUTE_TO_PICKUP", Some(DeliveryKind::Location)),
            ("DASHER_ENROUTE_TO_DROPOFF", Some(DeliveryKind::Location)),
            ("DASHER_LOCATION_UPDATE", Some(DeliveryKind::Location)),
            ("DASHER_PICKED_UP", Some(DeliveryKind::PickedUp)),
            ("DASHER_DROPPED_OFF", Some(DeliveryKind::Delivered)),
            ("DELIVERY_CANCELLED", Some(DeliveryKind::Failed)),
            ("DELIVERY_RETURNED", Some(DeliveryKind::Failed)),
            ("DELIVERY_CREATED", None),
        ] {
            let b = body(name);
            let got = run(&signed(&b), &b).unwrap();
            match want {
                None => assert!(got.is_empty(), "{name}"),
                Some(kind) => {
                    let InboundFact::Delivery(news) = &got[0].fact else {
                        panic!()
                    };
                    assert_eq!(news.kind, kind, "{name}");
                    // No dasher, no delivery id: reference falls back to ours.
                    assert_eq!(news.driver, None);
                    assert_eq!(news.reference, ORDER_ID);
                    let failed = kind == DeliveryKind::Failed;
                    assert_eq!(
                        news.message.as_deref(),
                        failed.then_some("Store closed early")
                    );
                }
            }
        }
    }

    #[test]
    fn rejects_tampering_wrong_secret_missing_header_and_stale() {
        let tampered = tampered(SAMPLE, "DASHER_CONFIRMED", "DASHER_DROPPED_OFF");
        assert_eq!(
            run(&signed(SAMPLE), &tampered),
            Err(Rejection::BadSignature)
        );
        let t = now().timestamp();
        assert_eq!(
            run(&signed_at(SAMPLE, b"wrong", t), SAMPLE),
            Err(Rejection::BadSignature)
        );
        assert_eq!(run(&HeaderMap::new(), SAMPLE), Err(Rejection::Unsigned));
        // Another provider's header does not count.
        let other = headers(&[(
            "X-Webhook-Signature",
            &sign::timestamped(SECRET, t, SAMPLE.as_bytes()),
        )]);
        assert_eq!(run(&other, SAMPLE), Err(Rejection::Unsigned));
        let stale = t - TIMESTAMP_TOLERANCE.num_seconds() - 1;
        assert_eq!(
            run(&signed_at(SAMPLE, SECRET, stale), SAMPLE),
            Err(Rejection::Stale)
        );
    }

    #[test]
    fn malformed_bodies() {
        for body in [
            "{}",
            "\u{1}",
            r#"{"event_name":"DASHER_PICKED_UP","external_delivery_id":"o"}"#,
            r#"{"event_name":"DASHER_PICKED_UP","created_at":"2026-03-09T18:30:00Z"}"#,
            r#"{"event_name":"DASHER_PICKED_UP","created_at":"soon","external_delivery_id":"o"}"#,
            r#"{"event_name":"DASHER_PICKED_UP","created_at":"2026-03-09T18:30:00Z","external_delivery_id":"o","dasher_name":5}"#,
        ] {
            let got = run(&signed(body), body);
            assert!(
                matches!(got, Err(Rejection::Malformed(_))),
                "{body}: {got:?}"
            );
        }
        // A location without a usable coordinate is dropped, not fatal.
        let body = format!(
            r#"{{"event_name":"DASHER_ENROUTE_TO_DROPOFF","created_at":"2026-03-09T18:30:00Z","external_delivery_id":"{ORDER_ID}","dasher_location":{{"lat":"n/a","lng":1}}}}"#
        );
        let got = run(&signed(&body), &body).unwrap();
        let InboundFact::Delivery(news) = &got[0].fact else {
            panic!()
        };
        assert_eq!(news.location, None);
    }
}
