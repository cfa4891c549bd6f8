//! Where a page of the order list ends, handed to clients as an opaque
//! token: the last order's update time and id, base64url-encoded. Clients
//! pass it back unchanged; anything else is refused where it comes in, so a
//! store only ever sees a position it could have produced, and both stores
//! produce and read the same token.

use std::fmt;
use std::str::FromStr;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, SecondsFormat, Utc};

use crate::order::OrderSummary;

/// The longest order id a cursor may carry.
const MAX_ID: usize = 128;

/// A position in a tenant's orders, most recently updated first: the next
/// page starts after the order updated at `updated_at` with id `order_id`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cursor {
    updated_at: DateTime<Utc>,
    order_id: String,
}

/// A token that is not a cursor this API gave out.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the cursor is not one a previous page gave out (pass `next_cursor` back unchanged)")]
pub struct InvalidCursor;

impl Cursor {
    /// The position just after `summary`.
    pub fn after(summary: &OrderSummary) -> Self {
        Cursor {
            updated_at: summary.updated_at,
            order_id: summary.id.clone(),
        }
    }

    pub fn updated_at(&self) -> DateTime<Utc> {
        self.updated_at
    }

    pub fn order_id(&self) -> &str {
        &self.order_id
    }
}

/// The token: full precision, so no store's rounding can move the position.
impl fmt::Display for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let position = format!(
            "{}|{}",
            self.updated_at.to_rfc3339_opts(SecondsFormat::AutoSi, true),
            self.order_id
        );
        f.write_str(&URL_SAFE_NO_PAD.encode(position))
    }
}

impl FromStr for Cursor {
    type Err = InvalidCursor;

    fn from_str(token: &str) -> Result<Self, InvalidCursor> {
        let bytes = URL_SAFE_NO_PAD.decode(token).map_err(|_| InvalidCursor)?;
        let position = String::from_utf8(bytes).map_err(|_| InvalidCursor)?;
        let (updated_at, order_id) = position.split_once('|').ok_or(InvalidCursor)?;
        let updated_at = DateTime::parse_from_rfc3339(updated_at)
            .map_err(|_| InvalidCursor)?
            .with_timezone(&Utc);
        let id_ok = (1..=MAX_ID).contains(&order_id.len())
            && order_id.bytes().all(|b| b.is_ascii_graphic());
        if !id_ok {
            return Err(InvalidCursor);
        }
        Ok(Cursor {
            updated_at,
            order_id: order_id.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cursor() -> Cursor {
        Cursor {
            updated_at: DateTime::parse_from_rfc3339("2026-03-01T09:00:00.123456789Z")
                .unwrap()
                .with_timezone(&Utc),
            order_id: "ord_0123456789abcdef".into(),
        }
    }

    #[test]
    fn a_token_reads_back_as_the_same_position_to_the_nanosecond() {
        let token = cursor().to_string();
        assert_eq!(token.parse::<Cursor>(), Ok(cursor()));
        assert!(
            !token.contains("ord_") && !token.contains('|'),
            "opaque: {token}"
        );
    }

    #[test]
    fn anything_but_a_token_we_gave_out_is_refused() {
        let encode = |s: &str| URL_SAFE_NO_PAD.encode(s);
        let refused = [
            String::new(),
            "garbage".into(),
            "%%%".into(),
            "2026-03-01T09:00:00Z|ord_1".into(),
            encode("no position"),
            encode("yesterday|ord_1"),
            encode("2026-03-01T09:00:00Z|"),
            encode("2026-03-01T09:00:00Z|ord 1"),
            encode(&format!("2026-03-01T09:00:00Z|{}", "x".repeat(MAX_ID + 1))),
            URL_SAFE_NO_PAD.encode([0xff, b'|', b'x']),
        ];
        for token in refused {
            assert_eq!(token.parse::<Cursor>(), Err(InvalidCursor), "{token:?}");
        }
    }
}
