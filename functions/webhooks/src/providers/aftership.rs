//! AfterShip: `aftership-hmac-sha256: <base64 HMAC-SHA256(secret, body)>`
//! over the raw body; the payload is a `tracking_update` whose `msg` is the
//! tracking. Other `event` values are acknowledged and record nothing.
//!
//! The status is the subtag (falling back to the tag); a code we do not
//! know is kept verbatim in `raw_status` and counted as `label_created`, the
//! earliest state, so it never moves a shipment forward by mistake.
//! Checkpoint times often lack an offset; they are taken as UTC.

use order_core::order::inbound::{Inbound, InboundFact, ShipmentNews, Subject};
use order_core::order::ShipmentStatus;
use serde::Deserialize;
use serde_json::Value;

use super::fields::{self, json, required, text};
use super::{canonical, Rejection, Verified};

#[derive(Deserialize)]
struct Webhook {
    event: Option<String>,
    event_id: Option<String>,
    msg: Option<Tracking>,
    ts: Option<Value>,
}

#[derive(Deserialize)]
struct Tracking {
    id: Option<String>,
    tracking_number: Option<String>,
    slug: Option<String>,
    tag: Option<String>,
    subtag: Option<String>,
    subtag_message: Option<String>,
    #[serde(default)]
    checkpoints: Option<Vec<Checkpoint>>,
    expected_delivery: Option<String>,
    courier_tracking_link: Option<String>,
    updated_at: Option<String>,
}

#[derive(Deserialize)]
struct Checkpoint {
    checkpoint_time: Option<String>,
    message: Option<String>,
    location: Option<Value>,
    city: Option<String>,
    state: Option<String>,
    country_name: Option<String>,
    zip: Option<String>,
}

impl Checkpoint {
    fn place(&self) -> Option<String> {
        fields::place(self.location.as_ref()).or_else(|| {
            let parts = [&self.city, &self.state, &self.zip, &self.country_name];
            fields::joined(parts.map(Clone::clone), ", ")
        })
    }
}

pub(super) fn parse(_: Verified, source: &str, body: &[u8]) -> Result<Vec<Inbound>, Rejection> {
    let hook: Webhook = json(body)?;
    if hook.event.as_deref() != Some("tracking_update") {
        return Ok(vec![]);
    }
    let msg = hook
        .msg
        .ok_or_else(|| Rejection::Malformed("missing msg".into()))?;
    let code = required(msg.tracking_number, "msg.tracking_number")?;
    let raw_status = text(msg.subtag.clone())
        .or_else(|| text(msg.tag.clone()))
        .ok_or_else(|| Rejection::Malformed("missing msg.tag".into()))?;
    let status = canonical(&raw_status)
        .or_else(|| msg.tag.as_deref().and_then(canonical))
        .unwrap_or_else(|| {
            tracing::warn!(code = %raw_status, "unrecognised AfterShip status");
            ShipmentStatus::LabelCreated
        });

    let checkpoints = msg.checkpoints.unwrap_or_default();
    let (latest, latest_time) =
        fields::latest(&checkpoints, |c| c.checkpoint_time.as_deref()).unzip();
    let occurred_at = latest_time
        .flatten()
        .or_else(|| fields::opt_time(msg.updated_at.as_deref()))
        .or_else(|| fields::value_time(hook.ts.as_ref()))
        .ok_or_else(|| Rejection::Malformed("no usable timestamp".into()))?;

    // Older webhook versions carry no event id: derive a stable one from
    // what identifies this update.
    let event_id = text(hook.event_id).unwrap_or_else(|| {
        format!(
            "{}:{}:{}",
            text(msg.id).unwrap_or_else(|| code.clone()),
            raw_status,
            occurred_at.timestamp()
        )
    });

    let news = ShipmentNews {
        tracking_code: code.clone(),
        carrier: text(msg.slug),
        status,
        raw_status,
        message: latest
            .and_then(|c| text(c.message.clone()))
            .or_else(|| text(msg.subtag_message)),
        location: latest.and_then(Checkpoint::place),
        tracking_url: text(msg.courier_tracking_link),
        estimated_delivery: fields::opt_time(msg.expected_delivery.as_deref()),
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

    use super::super::testkit::*;
    use super::super::Kind;
    use super::*;

    const SAMPLE: &str = include_str!("../../../../events/webhook-aftership.json");

    fn signed(body: &str, secret: &[u8]) -> HeaderMap {
        headers(&[(
            "aftership-hmac-sha256",
            &sign::body_base64(secret, body.as_bytes()),
        )])
    }

    fn run(headers: &HeaderMap, body: &str) -> Result<Vec<Inbound>, Rejection> {
        intake(
            Kind::Carrier,
            "aftership",
            headers,
            body.as_bytes(),
            SECRET,
            now(),
        )
    }

    #[test]
    fn sample_verifies_and_parses() {
        let got = run(&signed(SAMPLE, SECRET), SAMPLE).unwrap();
        assert_eq!(
            got,
            vec![Inbound {
                source: "carrier:aftership".into(),
                event_id: "2b7e6c1a-4f3d-4c8e-9a51-7d0f3e2b1c64".into(),
                // Naive checkpoint time, taken as UTC.
                occurred_at: at("2026-03-09T16:05:00Z"),
                subject: Subject::Tracking { code: TRACKING.into() },
                fact: InboundFact::Shipment(ShipmentNews {
                    tracking_code: TRACKING.into(),
                    carrier: Some("ups".into()),
                    status: ShipmentStatus::Delayed,
                    raw_status: "Exception_005".into(),
                    message: Some(
                        "Severe weather conditions have delayed delivery.".into()
                    ),
                    location: Some("Louisville, KY, US".into()),
                    tracking_url: Some(
                        "https://wwwapps.ups.com/WebTracking/track?track=yes&trackNums=1Z999AA10123456784"
                            .into()
                    ),
                    estimated_delivery: Some(at("2026-03-12T00:00:00Z")),
                }),
            }]
        );
    }

    #[test]
    fn rejects_tampering_wrong_secret_and_missing_header() {
        let tampered = tampered(SAMPLE, "Exception_005", "Delivered_001");
        assert_eq!(
            run(&signed(SAMPLE, SECRET), &tampered),
            Err(Rejection::BadSignature)
        );
        assert_eq!(
            run(&signed(SAMPLE, b"wrong-secret"), SAMPLE),
            Err(Rejection::BadSignature)
        );
        assert_eq!(run(&HeaderMap::new(), SAMPLE), Err(Rejection::Unsigned));
        assert_eq!(
            run(
                &headers(&[("aftership-hmac-sha256", "%%%not-base64")]),
                SAMPLE
            ),
            Err(Rejection::BadSignature)
        );
        // The hex of the right digest is still the wrong encoding.
        let hex = sign::body_hex(SECRET, SAMPLE.as_bytes());
        assert_eq!(
            run(&headers(&[("aftership-hmac-sha256", &hex)]), SAMPLE),
            Err(Rejection::BadSignature)
        );
    }

    #[test]
    fn malformed_bodies() {
        for body in [
            "[]",
            r#"{"event":"tracking_update"}"#,
            r#"{"event":"tracking_update","msg":{"tag":"Delivered","updated_at":"2026-03-09T10:00:00Z"}}"#,
            r#"{"event":"tracking_update","msg":{"tracking_number":"1Z","updated_at":"2026-03-09T10:00:00Z"}}"#,
            r#"{"event":"tracking_update","msg":{"tracking_number":"1Z","tag":"Delivered"}}"#,
        ] {
            let got = run(&signed(body, SECRET), body);
            assert!(
                matches!(got, Err(Rejection::Malformed(_))),
                "{body}: {got:?}"
            );
        }
    }

    #[test]
    fn fallbacks() {
        // No subtag, no checkpoints, no event id: tag, updated_at, derived id.
        let body = r#"{"event":"tracking_update","msg":{"id":"trk_9","tracking_number":"1Z","slug":"fedex",
            "tag":"OutForDelivery","checkpoints":[],"updated_at":"2026-03-09T12:00:00+00:00"},"ts":1773057600}"#;
        let got = run(&signed(body, SECRET), body).unwrap();
        assert_eq!(got[0].occurred_at, at("2026-03-09T12:00:00Z"));
        assert_eq!(got[0].event_id, "trk_9:OutForDelivery:1773057600");
        let InboundFact::Shipment(news) = &got[0].fact else {
            panic!()
        };
        assert_eq!(news.status, ShipmentStatus::OutForDelivery);
        assert_eq!(news.raw_status, "OutForDelivery");

        // Only ts; an unknown subtag falls back to its tag.
        let body = r#"{"event":"tracking_update","event_id":"e1","msg":{"tracking_number":"1Z","tag":"InTransit",
            "subtag":"Teleported_042"},"ts":1773057600}"#;
        let got = run(&signed(body, SECRET), body).unwrap();
        assert_eq!(got[0].occurred_at, at("2026-03-09T12:00:00Z"));
        let InboundFact::Shipment(news) = &got[0].fact else {
            panic!()
        };
        assert_eq!(news.status, ShipmentStatus::InTransit);
        assert_eq!(news.raw_status, "Teleported_042");

        // Pending and InfoReceived count as label created.
        for tag in ["Pending", "InfoReceived"] {
            let body = format!(
                r#"{{"event":"tracking_update","event_id":"e2","msg":{{"tracking_number":"1Z","tag":"{tag}"}},"ts":1773057600}}"#
            );
            let got = run(&signed(&body, SECRET), &body).unwrap();
            let InboundFact::Shipment(news) = &got[0].fact else {
                panic!()
            };
            assert_eq!(news.status, ShipmentStatus::LabelCreated, "{tag}");
        }
    }

    #[test]
    fn other_events_are_acknowledged_with_nothing() {
        let body = r#"{"event":"tracking_ping","ts":1773057600}"#;
        assert_eq!(run(&signed(body, SECRET), body), Ok(vec![]));
    }
}
