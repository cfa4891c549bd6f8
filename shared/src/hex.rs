//! Lower-case hexadecimal, the one spelling of bytes as text in the
//! workspace: digests in ids and idempotency fingerprints, and the signatures
//! providers send.
//!
//! Small enough to keep here rather than take a crate for: the standard
//! library formats (`{:02x}`) and parses (`char::to_digit`) each digit.

use std::fmt::Write as _;

/// Lower-case hex of `bytes`, two digits a byte.
pub fn encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        // Writing to a `String` cannot fail.
        let _ = write!(out, "{byte:02x}");
    }
    out
}

/// The bytes spelled by `text`, in either case; `None` for an empty or
/// odd-length text or anything but a hex digit (no sign, no space, no `0x`),
/// so a garbled signature never decodes to something comparable.
pub fn decode(text: &str) -> Option<Vec<u8>> {
    let bytes = text.as_bytes();
    if bytes.is_empty() || !bytes.len().is_multiple_of(2) {
        return None;
    }
    bytes
        .chunks_exact(2)
        .map(|pair| {
            let digit = |b: u8| char::from(b).to_digit(16);
            let (high, low) = (digit(pair[0])?, digit(pair[1])?);
            u8::try_from(high << 4 | low).ok()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_in_lower_case() {
        let bytes = [0x00, 0x7f, 0xab, 0xff];
        assert_eq!(encode(&bytes), "007fabff");
        assert_eq!(decode("007fabff"), Some(bytes.to_vec()));
        assert_eq!(encode(&[]), "");
    }

    #[test]
    fn decodes_either_case_and_nothing_else() {
        assert_eq!(decode("007FabFF"), Some(vec![0x00, 0x7f, 0xab, 0xff]));
        for garbled in ["", "abc", "zz", "é1", "+f", " f", "0x", "-1"] {
            assert_eq!(decode(garbled), None, "{garbled:?}");
        }
    }
}
