//! The customer's "my orders" link: no accounts, so the link itself is the
//! key. It names one order by its public id (already the customer's key to
//! that order, and no personal data) and when the link expires, signed with
//! the deployment's link secret: whoever holds it may list that customer's
//! orders at that store until then, and nobody can stretch a public id into
//! one, or an old link past its date.
//!
//! `<public id>.<expiry, unix seconds>.<hex HMAC-SHA256(secret,
//! "my-orders:<public id>.<expiry>")>`

use chrono::{DateTime, Duration, TimeZone, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::hex;

/// How long a link sent with a notification opens the customer's orders.
pub const LINK_LIFETIME: Duration = Duration::days(30);

/// Signs and checks links.
#[derive(Clone)]
pub struct LinkKey(Vec<u8>);

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    #[error("this link is not one of ours")]
    Forged,
    #[error("this link has expired: open one from a newer message, or your order's tracking page")]
    Expired,
}

impl LinkKey {
    pub fn new(secret: &[u8]) -> Self {
        LinkKey(secret.to_vec())
    }

    /// A link to the orders of `public_id`'s customer, until `expires_at`.
    pub fn sign(&self, public_id: &str, expires_at: DateTime<Utc>) -> String {
        let body = format!("{public_id}.{}", expires_at.timestamp());
        format!(
            "{body}.{}",
            hex::encode(&self.mac(&body).finalize().into_bytes())
        )
    }

    /// The public id a link names, if we signed it and it has not expired
    /// at `now`.
    pub fn verify(&self, link: &str, now: DateTime<Utc>) -> Result<String, LinkError> {
        let (body, signature) = link.rsplit_once('.').ok_or(LinkError::Forged)?;
        let signature = hex::decode(signature).ok_or(LinkError::Forged)?;
        // Constant time: a near miss tells a forger nothing.
        self.mac(body)
            .verify_slice(&signature)
            .map_err(|_| LinkError::Forged)?;
        let (public_id, expires) = body.rsplit_once('.').ok_or(LinkError::Forged)?;
        let expires_at = expires
            .parse()
            .ok()
            .and_then(|s| Utc.timestamp_opt(s, 0).single())
            .ok_or(LinkError::Forged)?;
        if expires_at <= now {
            return Err(LinkError::Expired);
        }
        Ok(public_id.to_string())
    }

    fn mac(&self, body: &str) -> Hmac<Sha256> {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes a key of any length");
        mac.update(b"my-orders:");
        mac.update(body.as_bytes());
        mac
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_opens_until_it_expires_and_cannot_be_forged_or_stretched() {
        let key = LinkKey::new(b"link-secret");
        let now = Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 0).unwrap();
        let link = key.sign("trk_abc", now + LINK_LIFETIME);
        assert_eq!(key.verify(&link, now).unwrap(), "trk_abc");
        assert!(!link.contains('@'), "no personal data: {link}");
        assert_eq!(
            key.verify(&link, now + LINK_LIFETIME),
            Err(LinkError::Expired)
        );
        // Another order, a later date, another key, or garbage: refused.
        let stretched = link.replacen(
            &(now + LINK_LIFETIME).timestamp().to_string(),
            &(now + LINK_LIFETIME * 12).timestamp().to_string(),
            1,
        );
        let other = link.replacen("trk_abc", "trk_abd", 1);
        for bad in [stretched.as_str(), other.as_str(), "trk_abc", "a.b.c", ""] {
            assert_eq!(key.verify(bad, now), Err(LinkError::Forged), "{bad}");
        }
        assert_eq!(
            LinkKey::new(b"other").verify(&link, now),
            Err(LinkError::Forged)
        );
    }
}
