//! Signature schemes, described by data: each adapter names the headers
//! that carry its signature and which of three schemes builds it, so the
//! checking code exists once however many providers share a scheme.
//!
//! Every comparison goes through `hmac::Mac::verify_slice`, which is
//! constant-time; the provided signature is decoded to bytes first (so hex
//! case does not matter) and never compared as text.

use axum::http::HeaderMap;
use base64::Engine as _;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use order_core::hex;
use sha2::Sha256;

use super::{Rejection, Verified, TIMESTAMP_TOLERANCE};

type HmacSha256 = Hmac<Sha256>;

/// Where a provider puts its signature and how it is built.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Signature {
    /// The headers that may carry it; the first one present counts (a
    /// provider that renamed its header still sends the old name).
    headers: &'static [&'static str],
    scheme: Scheme,
}

#[derive(Clone, Copy, Debug)]
enum Scheme {
    /// `<prefix><hex HMAC-SHA256(secret, raw body)>`, the prefix in any case.
    BodyHex { prefix: &'static str },
    /// `<base64 HMAC-SHA256(secret, raw body)>`.
    BodyBase64,
    /// Stripe's construction: `t=<unix seconds>,v1=<hex>[,v1=…][,v0=…]`, see
    /// [`verify_timestamped`].
    Timestamped,
}

impl Signature {
    pub(crate) const fn body_hex(headers: &'static [&'static str], prefix: &'static str) -> Self {
        Signature {
            headers,
            scheme: Scheme::BodyHex { prefix },
        }
    }

    pub(crate) const fn body_base64(headers: &'static [&'static str]) -> Self {
        Signature {
            headers,
            scheme: Scheme::BodyBase64,
        }
    }

    pub(crate) const fn timestamped(headers: &'static [&'static str]) -> Self {
        Signature {
            headers,
            scheme: Scheme::Timestamped,
        }
    }

    /// Checks the request's signature over its raw `body`; `now` is only
    /// read by the timestamped scheme.
    pub(crate) fn verify(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        secret: &[u8],
        now: DateTime<Utc>,
    ) -> Result<Verified, Rejection> {
        let value = header(headers, self.headers)?;
        match self.scheme {
            Scheme::BodyHex { prefix } => {
                let digest =
                    strip_prefix_ignoring_case(value, prefix).ok_or(Rejection::BadSignature)?;
                verify_body_hex(secret, body, digest.trim())
            }
            Scheme::BodyBase64 => verify_body_base64(secret, body, value),
            Scheme::Timestamped => verify_timestamped(value, secret, body, now),
        }
    }
}

/// A keyed MAC, refusing an empty secret: a missing configuration value must
/// never turn into a key anyone can sign with.
fn mac(secret: &[u8]) -> Result<HmacSha256, Rejection> {
    if secret.is_empty() {
        tracing::error!("webhook secret is empty; refusing to verify");
        return Err(Rejection::BadSignature);
    }
    HmacSha256::new_from_slice(secret).map_err(|_| Rejection::BadSignature)
}

/// The first of `names` present on the request. Missing (or blank) →
/// `Unsigned`; present but not visible ASCII → `BadSignature`.
fn header<'a>(headers: &'a HeaderMap, names: &[&str]) -> Result<&'a str, Rejection> {
    let value = names
        .iter()
        .find_map(|name| headers.get(*name))
        .ok_or(Rejection::Unsigned)?;
    let text = value.to_str().map_err(|_| Rejection::BadSignature)?.trim();
    if text.is_empty() {
        return Err(Rejection::Unsigned);
    }
    Ok(text)
}

fn strip_prefix_ignoring_case<'a>(value: &'a str, prefix: &str) -> Option<&'a str> {
    value
        .get(..prefix.len())
        .filter(|head| head.eq_ignore_ascii_case(prefix))
        .and_then(|_| value.get(prefix.len()..))
}

/// HMAC-SHA256 over the raw body, compared with `tag` (already decoded).
fn verify_body(secret: &[u8], body: &[u8], tag: &[u8]) -> Result<Verified, Rejection> {
    let mut mac = mac(secret)?;
    mac.update(body);
    mac.verify_slice(tag)
        .map(|()| Verified::new())
        .map_err(|_| Rejection::BadSignature)
}

fn verify_body_hex(secret: &[u8], body: &[u8], digest: &str) -> Result<Verified, Rejection> {
    let tag = hex::decode(digest).ok_or(Rejection::BadSignature)?;
    verify_body(secret, body, &tag)
}

fn verify_body_base64(secret: &[u8], body: &[u8], digest: &str) -> Result<Verified, Rejection> {
    let tag = base64::engine::general_purpose::STANDARD
        .decode(digest)
        .map_err(|_| Rejection::BadSignature)?;
    verify_body(secret, body, &tag)
}

/// The timestamped scheme (Stripe's, which the generic carrier scheme and
/// DoorDash share): header `t=<unix seconds>,v1=<hex>[,v1=…][,v0=…]`,
/// `v1` = hex HMAC-SHA256(secret, "<t>.<raw body>"), `t` exactly as sent.
/// Any `v1` matching passes (several are sent during a secret rotation);
/// other keys (`v0`, future schemes) are ignored. A valid signature whose
/// `t` is further than [`TIMESTAMP_TOLERANCE`] from `now`, either way, is
/// `Stale` (a replay, or a sender with a broken clock).
fn verify_timestamped(
    header: &str,
    secret: &[u8],
    body: &[u8],
    now: DateTime<Utc>,
) -> Result<Verified, Rejection> {
    let mut timestamp: Option<&str> = None;
    let mut candidates: Vec<Vec<u8>> = Vec::new();
    for item in header.split(',') {
        let Some((key, value)) = item.split_once('=') else {
            continue;
        };
        match key.trim() {
            "t" if timestamp.is_some() => return Err(Rejection::BadSignature),
            "t" => timestamp = Some(value.trim()),
            "v1" => {
                if let Some(tag) = hex::decode(value.trim()) {
                    candidates.push(tag);
                }
            }
            _ => {}
        }
    }
    let t_text = timestamp.ok_or(Rejection::BadSignature)?;
    let t: i64 = t_text.parse().map_err(|_| Rejection::BadSignature)?;
    if candidates.is_empty() {
        return Err(Rejection::BadSignature);
    }
    let mut mac = mac(secret)?;
    mac.update(t_text.as_bytes());
    mac.update(b".");
    mac.update(body);
    // Every candidate is checked (no early exit), so timing says nothing
    // about which one matched.
    let matched = candidates
        .iter()
        .fold(false, |ok, tag| mac.clone().verify_slice(tag).is_ok() | ok);
    if !matched {
        return Err(Rejection::BadSignature);
    }
    let skew = (i128::from(now.timestamp()) - i128::from(t)).abs();
    if skew > i128::from(TIMESTAMP_TOLERANCE.num_seconds()) {
        return Err(Rejection::Stale);
    }
    Ok(Verified::new())
}

/// Signing, for tests and for anyone writing a sender of the generic scheme.
#[cfg(test)]
pub(crate) mod sign {
    use base64::Engine as _;
    use hmac::Mac;

    use order_core::hex;

    use super::HmacSha256;

    fn digest(secret: &[u8], parts: &[&[u8]]) -> Vec<u8> {
        let mut mac = HmacSha256::new_from_slice(secret).expect("any key length");
        for part in parts {
            mac.update(part);
        }
        mac.finalize().into_bytes().to_vec()
    }

    pub fn body_hex(secret: &[u8], body: &[u8]) -> String {
        hex::encode(&digest(secret, &[body]))
    }

    pub fn body_base64(secret: &[u8], body: &[u8]) -> String {
        base64::engine::general_purpose::STANDARD.encode(digest(secret, &[body]))
    }

    /// `t=<t>,v1=<hex>` for the timestamped scheme.
    pub fn timestamped(secret: &[u8], t: i64, body: &[u8]) -> String {
        let t = t.to_string();
        let v1 = hex::encode(&digest(secret, &[t.as_bytes(), b".", body]));
        format!("t={t},v1={v1}")
    }
}

#[cfg(test)]
mod tests {
    use axum::http::{HeaderMap, HeaderValue};
    use chrono::TimeZone;

    use super::*;

    const SECRET: &[u8] = b"whsec_test_5f0c2a";
    const BODY: &[u8] = br#"{"id":"evt_1"}"#;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 9, 18, 30, 0).unwrap()
    }

    #[test]
    fn body_hmac_hex_any_case() {
        let hex = sign::body_hex(SECRET, BODY);
        assert!(verify_body_hex(SECRET, BODY, &hex).is_ok());
        assert!(verify_body_hex(SECRET, BODY, &hex.to_uppercase()).is_ok());
        assert_eq!(
            verify_body_hex(SECRET, BODY, &hex[..62]).err(),
            Some(Rejection::BadSignature),
            "a truncated tag never passes"
        );
        assert_eq!(
            verify_body_hex(b"other", BODY, &hex).err(),
            Some(Rejection::BadSignature)
        );
    }

    #[test]
    fn empty_secret_never_verifies() {
        let hex = sign::body_hex(b"", BODY);
        assert_eq!(
            verify_body_hex(b"", BODY, &hex).err(),
            Some(Rejection::BadSignature)
        );
        let header = sign::timestamped(b"", now().timestamp(), BODY);
        assert_eq!(
            verify_timestamped(&header, b"", BODY, now()).err(),
            Some(Rejection::BadSignature)
        );
    }

    #[test]
    fn timestamped_accepts_any_v1_and_ignores_v0() {
        let t = now().timestamp() - 20;
        let good = sign::timestamped(SECRET, t, BODY);
        let v1 = good.split(",v1=").nth(1).unwrap();
        let header = format!("t={t},v1={},v1={v1},v0=deadbeef", "ab".repeat(32));
        assert!(verify_timestamped(&header, SECRET, BODY, now()).is_ok());
        let spaced = format!("t={t}, v0=00, v1={v1}");
        assert!(verify_timestamped(&spaced, SECRET, BODY, now()).is_ok());
    }

    #[test]
    fn timestamped_rejects_garbled_headers() {
        let t = now().timestamp();
        let good = sign::timestamped(SECRET, t, BODY);
        let v1 = good.split(",v1=").nth(1).unwrap().to_owned();
        for header in [
            format!("v1={v1}"),
            format!("t={t}"),
            format!("t=soon,v1={v1}"),
            format!("t={t},t={t},v1={v1}"),
            format!("t={t},v0={v1}"),
            "garbage".to_owned(),
        ] {
            assert_eq!(
                verify_timestamped(&header, SECRET, BODY, now()).err(),
                Some(Rejection::BadSignature),
                "{header}"
            );
        }
    }

    #[test]
    fn timestamped_signature_covers_the_timestamp() {
        let t = now().timestamp();
        let good = sign::timestamped(SECRET, t, BODY);
        let v1 = good.split(",v1=").nth(1).unwrap();
        let moved = format!("t={},v1={v1}", t - 1);
        assert_eq!(
            verify_timestamped(&moved, SECRET, BODY, now()).err(),
            Some(Rejection::BadSignature)
        );
    }

    #[test]
    fn timestamped_tolerance_both_ways() {
        let tol = TIMESTAMP_TOLERANCE.num_seconds();
        let at =
            |t: i64| verify_timestamped(&sign::timestamped(SECRET, t, BODY), SECRET, BODY, now());
        let n = now().timestamp();
        assert!(at(n - tol).is_ok());
        assert!(at(n + tol).is_ok());
        assert_eq!(at(n - tol - 1).err(), Some(Rejection::Stale));
        assert_eq!(at(n + tol + 1).err(), Some(Rejection::Stale));
        assert_eq!(at(i64::MIN).err(), Some(Rejection::Stale));
    }

    #[test]
    fn header_lookup() {
        let mut headers = HeaderMap::new();
        assert_eq!(header(&headers, &["x-a"]).err(), Some(Rejection::Unsigned));
        headers.insert("x-a", HeaderValue::from_static("  "));
        assert_eq!(header(&headers, &["x-a"]).err(), Some(Rejection::Unsigned));
        headers.insert("x-b", HeaderValue::from_bytes(b"\xff\xfe").unwrap());
        assert_eq!(
            header(&headers, &["x-b"]).err(),
            Some(Rejection::BadSignature)
        );
        headers.insert("X-C", HeaderValue::from_static(" v "));
        assert_eq!(header(&headers, &["x-missing", "x-c"]), Ok("v"));
    }
}
