//! EasyPost: `X-Hmac-Signature: hmac-sha256-hex=<hex HMAC-SHA256(secret, body)>`
//! over the raw body; the payload is an `Event` whose `result` is a `Tracker`
//! for `tracker.created` / `tracker.updated`. Other events (batches,
//! refunds, …) are acknowledged and record nothing.
//!
//! The secret is used as given (EasyPost's client libraries NFKD-normalise
//! it first; an ASCII secret is unaffected).

use order_core::order::inbound::{Inbound, InboundFact, ShipmentNews, Subject};
use order_core::order::ShipmentStatus;
use serde::Deserialize;
use serde_json::Value;

use super::fields::{self, json, required, text};
use super::{canonical, Rejection, Verified};

#[derive(Deserialize)]
struct Event {
    id: Option<String>,
    description: Option<String>,
    created_at: Option<Value>,
    result: Option<Value>,
}

#[derive(Deserialize)]
struct Tracker {
    tracking_code: Option<String>,
    status: Option<String>,
    status_detail: Option<String>,
    carrier: Option<String>,
    public_url: Option<String>,
    est_delivery_date: Option<String>,
    #[serde(default)]
    tracking_details: Option<Vec<Detail>>,
    updated_at: Option<String>,
}

#[derive(Deserialize)]
struct Detail {
    datetime: Option<String>,
    message: Option<String>,
    tracking_location: Option<Value>,
}

pub(super) fn parse(_: Verified, source: &str, body: &[u8]) -> Result<Vec<Inbound>, Rejection> {
    let event: Event = json(body)?;
    let is_tracker = matches!(
        event.description.as_deref(),
        Some("tracker.created" | "tracker.updated")
    );
    let result = match event.result {
        Some(result) if is_tracker => result,
        _ => return Ok(vec![]),
    };
    if result.get("object").and_then(Value::as_str) != Some("Tracker") {
        return Ok(vec![]);
    }
    let tracker: Tracker = serde_json::from_value(result)
        .map_err(|e| Rejection::Malformed(format!("invalid tracker: {e}")))?;
    let event_id = required(event.id, "id")?;
    let code = required(tracker.tracking_code, "result.tracking_code")?;
    let status_code = required(tracker.status, "result.status")?;
    let detail_code = text(tracker.status_detail);

    let details = tracker.tracking_details.unwrap_or_default();
    let (latest, latest_time) = fields::latest(&details, |d| d.datetime.as_deref()).unzip();
    let occurred_at = latest_time
        .flatten()
        .or_else(|| fields::opt_time(tracker.updated_at.as_deref()))
        .or_else(|| fields::value_time(event.created_at.as_ref()))
        .ok_or_else(|| Rejection::Malformed("no usable timestamp".into()))?;

    let status = status(&status_code, detail_code.as_deref());
    let raw_status = match &detail_code {
        Some(detail) => format!("{status_code}/{detail}"),
        None => status_code,
    };
    let news = ShipmentNews {
        tracking_code: code.clone(),
        carrier: text(tracker.carrier),
        status,
        raw_status,
        message: latest.and_then(|d| text(d.message.clone())),
        location: latest.and_then(|d| fields::place(d.tracking_location.as_ref())),
        tracking_url: text(tracker.public_url),
        estimated_delivery: fields::opt_time(tracker.est_delivery_date.as_deref()),
    };
    Ok(vec![Inbound {
        source: source.to_owned(),
        event_id,
        occurred_at,
        subject: Subject::Tracking { code },
        fact: InboundFact::Shipment(news),
    }])
}

/// The tracker status, refined by its `status_detail` where the detail says
/// more (a delay, a problem staff must act on, a loss). An unrecognised
/// status is kept verbatim in `raw_status` and counted as `label_created`,
/// the earliest state, so it never moves a shipment forward by mistake.
fn status(code: &str, detail: Option<&str>) -> ShipmentStatus {
    use ShipmentStatus::*;
    let base = canonical(code).unwrap_or_else(|| {
        tracing::warn!(code, "unrecognised EasyPost status");
        LabelCreated
    });
    match (base, detail) {
        (InTransit, Some("delayed" | "weather_delay" | "transit_exception" | "missorted")) => {
            Delayed
        }
        (
            InTransit | OutForDelivery,
            Some("address_correction" | "awaiting_information" | "delivery_exception" | "held"),
        ) => ActionRequired,
        (InTransit | OutForDelivery | Failed, Some("lost" | "damaged")) => Failed,
        (_, _) => base,
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderMap;

    use super::super::testkit::*;
    use super::super::Kind;
    use super::*;

    const SAMPLE: &str = include_str!("../../../../events/webhook-easypost.json");

    fn signed(body: &str, secret: &[u8]) -> HeaderMap {
        let value = format!(
            "hmac-sha256-hex={}",
            sign::body_hex(secret, body.as_bytes())
        );
        headers(&[("X-Hmac-Signature", &value)])
    }

    fn run(headers: &HeaderMap, body: &str) -> Result<Vec<Inbound>, Rejection> {
        intake(
            Kind::Carrier,
            "easypost",
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
                source: "carrier:easypost".into(),
                event_id: "evt_3c6a1e2f9d8b11f0a6b7c3e1d2f4a5b6".into(),
                occurred_at: at("2026-03-09T14:12:00Z"),
                subject: Subject::Tracking { code: TRACKING.into() },
                fact: InboundFact::Shipment(ShipmentNews {
                    tracking_code: TRACKING.into(),
                    carrier: Some("UPS".into()),
                    status: ShipmentStatus::InTransit,
                    raw_status: "in_transit/arrived_at_facility".into(),
                    message: Some("Arrived at Facility".into()),
                    location: Some("Louisville, KY, 40209, US".into()),
                    tracking_url: Some(
                        "https://track.easypost.com/djE6dHJrX2M4ZTBlZGI1YmIyODRjYWE5MzRhMGQzZGIyM2ExNDhh"
                            .into()
                    ),
                    estimated_delivery: Some(at("2026-03-11T00:00:00Z")),
                }),
            }]
        );
    }

    #[test]
    fn hex_case_and_prefix_case_do_not_matter() {
        let value = format!(
            "HMAC-SHA256-HEX={}",
            sign::body_hex(SECRET, SAMPLE.as_bytes()).to_uppercase()
        );
        assert!(run(&headers(&[("x-hmac-signature", &value)]), SAMPLE).is_ok());
    }

    #[test]
    fn rejects_tampering_wrong_secret_and_missing_header() {
        let headers_ok = signed(SAMPLE, SECRET);
        let tampered = tampered(
            SAMPLE,
            "\"status\": \"in_transit\"",
            "\"status\": \"delivered\"",
        );
        assert_eq!(run(&headers_ok, &tampered), Err(Rejection::BadSignature));
        assert_eq!(
            run(&signed(SAMPLE, b"wrong-secret"), SAMPLE),
            Err(Rejection::BadSignature)
        );
        assert_eq!(run(&HeaderMap::new(), SAMPLE), Err(Rejection::Unsigned));
        let bare = sign::body_hex(SECRET, SAMPLE.as_bytes());
        assert_eq!(
            run(&headers(&[("X-Hmac-Signature", &bare)]), SAMPLE),
            Err(Rejection::BadSignature),
            "the scheme prefix is required"
        );
    }

    #[test]
    fn malformed_bodies() {
        for body in [
            "not json",
            r#"{"id":"evt_1","description":"tracker.updated","result":{"object":"Tracker","status":"delivered","tracking_details":[]}}"#,
            r#"{"description":"tracker.updated","created_at":"2026-03-09T10:00:00Z","result":{"object":"Tracker","tracking_code":"1Z","status":"delivered"}}"#,
            r#"{"id":"evt_1","description":"tracker.updated","result":{"object":"Tracker","tracking_code":"1Z","status":"delivered"}}"#,
            r#"{"id":"evt_1","description":"tracker.updated","result":{"object":"Tracker","tracking_code":7}}"#,
        ] {
            let got = run(&signed(body, SECRET), body);
            assert!(
                matches!(got, Err(Rejection::Malformed(_))),
                "{body}: {got:?}"
            );
        }
    }

    #[test]
    fn other_events_are_acknowledged_with_nothing() {
        let body = r#"{"id":"evt_2","object":"Event","description":"batch.updated","result":{"object":"Batch","id":"batch_1"}}"#;
        assert_eq!(run(&signed(body, SECRET), body), Ok(vec![]));
    }

    #[test]
    fn latest_scan_wins_and_fallbacks() {
        let body = r#"{"id":"evt_3","description":"tracker.updated","created_at":"2026-03-09T10:00:00Z",
            "result":{"object":"Tracker","tracking_code":"1Z","status":"out_for_delivery","updated_at":"2026-03-09T09:00:00Z",
            "tracking_details":[
              {"datetime":"2026-03-09T08:00:00Z","message":"Out For Delivery","tracking_location":{"city":"Toronto","state":"ON"}},
              {"datetime":"2026-03-08T08:00:00Z","message":"Departed","tracking_location":null},
              {"datetime":"garbage","message":"??"}]}}"#;
        let got = run(&signed(body, SECRET), body).unwrap();
        assert_eq!(got[0].occurred_at, at("2026-03-09T08:00:00Z"));
        let InboundFact::Shipment(news) = &got[0].fact else {
            panic!()
        };
        assert_eq!(news.message.as_deref(), Some("Out For Delivery"));
        assert_eq!(news.location.as_deref(), Some("Toronto, ON"));
        assert_eq!(news.raw_status, "out_for_delivery");

        let body = r#"{"id":"evt_4","description":"tracker.created","created_at":"2026-03-09T10:00:00Z",
            "result":{"object":"Tracker","tracking_code":"1Z","status":"unknown","tracking_details":[]}}"#;
        let got = run(&signed(body, SECRET), body).unwrap();
        assert_eq!(got[0].occurred_at, at("2026-03-09T10:00:00Z"));
        let InboundFact::Shipment(news) = &got[0].fact else {
            panic!()
        };
        assert_eq!(news.status, ShipmentStatus::LabelCreated);
        assert_eq!(news.message, None);
    }

    #[test]
    fn status_details_refine() {
        use ShipmentStatus::*;
        assert_eq!(status("in_transit", Some("weather_delay")), Delayed);
        assert_eq!(status("in_transit", Some("arrived_at_facility")), InTransit);
        assert_eq!(
            status("out_for_delivery", Some("address_correction")),
            ActionRequired
        );
        assert_eq!(status("failure", Some("lost")), Failed);
        assert_eq!(status("return_to_sender", Some("return")), Returning);
        assert_eq!(status("pre_transit", None), LabelCreated);
        assert_eq!(status("brand_new_status", None), LabelCreated);
    }
}
