//! Lenient readers for the loosely typed parts of provider payloads, shared
//! by every adapter so a timestamp, a place or a position reads the same
//! whoever sent it. Required values fail with `Malformed`; optional ones that
//! do not parse are dropped rather than failing the whole webhook.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use order_core::order::inbound::GeoPoint;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::Rejection;

/// The body as `T`, or `Malformed` with serde's reason.
pub(crate) fn json<T: DeserializeOwned>(body: &[u8]) -> Result<T, Rejection> {
    serde_json::from_slice(body).map_err(|e| Rejection::Malformed(format!("invalid payload: {e}")))
}

/// A required, non-blank text field.
pub(crate) fn required(value: Option<String>, field: &str) -> Result<String, Rejection> {
    text(value).ok_or_else(|| Rejection::Malformed(format!("missing {field}")))
}

/// Trimmed, and `None` when blank.
pub(crate) fn text(value: Option<String>) -> Option<String> {
    value.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
}

/// A string or a number, as text (ids some providers send either way).
pub(crate) fn value_text(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(s) => text(Some(s.clone())),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A number, or a string holding one.
pub(crate) fn value_f64(value: Option<&Value>) -> Option<f64> {
    let n = match value? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }?;
    n.is_finite().then_some(n)
}

/// A timestamp: RFC 3339; a date-time without offset (taken as UTC, as
/// AfterShip sends checkpoint times); a bare date (midnight UTC).
pub(crate) fn time(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(t.with_timezone(&Utc));
    }
    for format in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(text, format) {
            return Some(t.and_utc());
        }
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
}

/// A timestamp given as text (see [`time`]) or as unix seconds.
pub(crate) fn value_time(value: Option<&Value>) -> Option<DateTime<Utc>> {
    match value? {
        Value::String(s) => time(s),
        Value::Number(n) => n.as_i64().and_then(|s| DateTime::from_timestamp(s, 0)),
        _ => None,
    }
}

/// An optional timestamp field given as text.
pub(crate) fn opt_time(value: Option<&str>) -> Option<DateTime<Utc>> {
    value.and_then(time)
}

/// The non-blank parts, trimmed and joined by `separator`; `None` when
/// every part is blank (a vehicle's make and model, the pieces of a place).
pub(crate) fn joined(
    parts: impl IntoIterator<Item = Option<String>>,
    separator: &str,
) -> Option<String> {
    let parts: Vec<String> = parts.into_iter().filter_map(text).collect();
    (!parts.is_empty()).then(|| parts.join(separator))
}

/// A place: either already a line of text, or an object with some of
/// `city`, `state`, `zip`/`postal_code`, `country`/`country_name`.
pub(crate) fn place(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(s) => text(Some(s.clone())),
        Value::Object(map) => joined(
            [
                &["city"][..],
                &["state"],
                &["zip", "postal_code"],
                &["country", "country_name"],
            ]
            .iter()
            .map(|keys| keys.iter().find_map(|k| value_text(map.get(*k)))),
            ", ",
        ),
        _ => None,
    }
}

/// A position `{"lat", "lng"}` (numbers, or strings holding them) seen at
/// `at`; `None` unless both coordinates read, so a half-known position is
/// dropped rather than drawn at a wrong place.
pub(crate) fn point(value: &Value, at: DateTime<Utc>) -> Option<GeoPoint> {
    Some(GeoPoint {
        lat: value_f64(value.get("lat"))?,
        lng: value_f64(value.get("lng"))?,
        accuracy_m: None,
        at,
    })
}

/// The latest of `items` by the time `time_of` reads from each, with that
/// time. Providers list scans oldest first in practice, so a tie goes to
/// the later item; an item whose time does not read never wins over one
/// whose time does.
pub(crate) fn latest<T>(
    items: &[T],
    time_of: impl Fn(&T) -> Option<&str>,
) -> Option<(&T, Option<DateTime<Utc>>)> {
    items
        .iter()
        .map(|item| (item, time_of(item).and_then(time)))
        .enumerate()
        .max_by_key(|(i, (_, at))| (*at, *i))
        .map(|(_, latest)| latest)
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use serde_json::json;

    use super::*;

    #[test]
    fn times() {
        let at = Utc.with_ymd_and_hms(2026, 3, 9, 14, 5, 0).unwrap();
        assert_eq!(time("2026-03-09T14:05:00Z"), Some(at));
        assert_eq!(time("2026-03-09T09:05:00-05:00"), Some(at));
        assert_eq!(time("2026-03-09T14:05:00"), Some(at));
        assert_eq!(time("2026-03-09 14:05:00.000"), Some(at));
        assert_eq!(
            time("2026-03-09"),
            Some(Utc.with_ymd_and_hms(2026, 3, 9, 0, 0, 0).unwrap())
        );
        assert_eq!(time("yesterday"), None);
        assert_eq!(value_time(Some(&json!(at.timestamp()))), Some(at));
        assert_eq!(value_time(Some(&json!(true))), None);
        assert_eq!(value_time(None), None);
    }

    #[test]
    fn places() {
        assert_eq!(
            place(Some(
                &json!({"city": "Louisville", "state": "KY", "country": "US", "zip": null})
            )),
            Some("Louisville, KY, US".to_owned())
        );
        assert_eq!(place(Some(&json!({"city": null}))), None);
        assert_eq!(
            place(Some(&json!(" Toronto, ON "))),
            Some("Toronto, ON".to_owned())
        );
        assert_eq!(place(Some(&json!(""))), None);
        assert_eq!(place(Some(&json!(7))), None);
    }

    #[test]
    fn latest_by_time_then_by_position() {
        let scans = ["2026-03-09T08:00:00Z", "2026-03-08T08:00:00Z", "garbage"];
        let (latest_scan, at) = latest(&scans, |s| Some(*s)).unwrap();
        assert_eq!(*latest_scan, "2026-03-09T08:00:00Z");
        assert_eq!(at, time("2026-03-09T08:00:00Z"));
        let unreadable = ["soon", "later"];
        assert_eq!(latest(&unreadable, |s| Some(*s)), Some((&"later", None)));
        assert_eq!(latest(&[] as &[&str], |s| Some(*s)), None);
    }

    #[test]
    fn points_need_both_coordinates() {
        let at = Utc.with_ymd_and_hms(2026, 3, 9, 14, 5, 0).unwrap();
        let point_of = |v: Value| point(&v, at).map(|p| (p.lat, p.lng));
        assert_eq!(
            point_of(json!({"lat": "43.6", "lng": -79.4})),
            Some((43.6, -79.4))
        );
        assert_eq!(point_of(json!({"lat": "n/a", "lng": 1})), None);
        assert_eq!(point_of(json!({"lat": 1})), None);
        assert_eq!(point_of(json!("43.6,-79.4")), None);
    }

    #[test]
    fn joined_skips_blank_parts() {
        let parts = |p: [Option<&str>; 3]| p.map(|s| s.map(str::to_owned));
        assert_eq!(
            joined(parts([Some(" Honda "), None, Some("Civic")]), " "),
            Some("Honda Civic".to_owned())
        );
        assert_eq!(joined(parts([Some(" "), None, Some("")]), " "), None);
    }

    #[test]
    fn scalars() {
        assert_eq!(
            value_text(Some(&json!(1343593260))),
            Some("1343593260".to_owned())
        );
        assert_eq!(value_text(Some(&json!(" x "))), Some("x".to_owned()));
        assert_eq!(value_text(Some(&json!(null))), None);
        assert_eq!(value_f64(Some(&json!("43.6532"))), Some(43.6532));
        assert_eq!(value_f64(Some(&json!(-79.38))), Some(-79.38));
        assert_eq!(value_f64(Some(&json!("NaN"))), None);
        assert!(required(Some("  ".to_owned()), "id").is_err());
    }
}
