//! How a merchant's endpoint knows a delivery is ours: Stripe's timestamped
//! scheme, the one the intake verifies from providers. The header
//! `Webhook-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret,
//! "<t>.<raw body>")>`, so merchants can reuse Stripe-style verification
//! code.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::hex;

/// The header a delivery's signature travels in.
pub const HEADER: &str = "webhook-signature";

/// `t=<t>,v1=<hex>` over `body`, signed at `t` (unix seconds).
pub fn sign(secret: &[u8], t: i64, body: &[u8]) -> String {
    let t = t.to_string();
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes a key of any length");
    mac.update(t.as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("t={t},v1={}", hex::encode(&mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_stripes_construction() {
        // HMAC-SHA256("whsec_test", "1700000000.{}"), computed independently.
        let header = sign(b"whsec_test", 1_700_000_000, b"{}");
        assert_eq!(
            header,
            "t=1700000000,v1=35495024f4ef3f94e5a93e22221544c4b75e9a42300cd965ab81cb85cd994e91"
        );
        assert_eq!(
            sign(b"whsec_test", 1_700_000_000, b"{}"),
            header,
            "deterministic"
        );
        assert_ne!(sign(b"whsec_other", 1_700_000_000, b"{}"), header);
        assert_ne!(sign(b"whsec_test", 1_700_000_001, b"{}"), header);
    }
}
