//! Packages of an order. Tracking codes are not unique across time (carriers
//! recycle them), so a shipment is identified by its own id, never by its code.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::limits::{InvalidField, MAX_CARRIER, MAX_TRACKING_CODE};
use super::link::WebLink;
use crate::lifecycle::ShipmentStatus;

/// The tracking details staff (or a carrier) give when a package leaves.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", schema(example = json!({"carrier": "canada_post", "code": "CP123456789CA", "url": "https://track.example/CP123456789CA"})))]
pub struct TrackingInput {
    pub carrier: String,
    pub code: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

impl TrackingInput {
    /// The one check of tracking details, wherever staff give them (a
    /// transition, a new package, a corrected one), normalised for storage:
    ///
    /// - `code`: trimmed, runs of spaces made one, then 1-64 letters, digits,
    ///   spaces and hyphens with at least one letter or digit. That covers
    ///   UPS `1Z…` (18), USPS (20-22 digits, often printed in groups), FedEx
    ///   (12-22 digits), DHL (10 digits, or `JJD…`/`GM…` up to 34), Canada
    ///   Post (16 digits or `AB123456789CA`) and the UPU's S10 codes; a
    ///   blank code is no code.
    /// - `carrier`: trimmed, 1-64 printable characters.
    /// - `url`: absent, blank (no link), or an absolute http(s) link.
    pub fn validated(&self) -> Result<TrackingInput, InvalidField> {
        let code = self.code.split_whitespace().collect::<Vec<_>>().join(" ");
        if !code.chars().any(|c| c.is_ascii_alphanumeric()) {
            return Err(InvalidField::new("tracking.code", "is required"));
        }
        if code.len() > MAX_TRACKING_CODE
            || !code
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == ' ' || c == '-')
        {
            return Err(InvalidField::new(
                "tracking.code",
                format!("must be 1-{MAX_TRACKING_CODE} letters, digits, spaces or hyphens"),
            ));
        }
        let carrier = self.carrier.trim();
        if carrier.is_empty() {
            return Err(InvalidField::new("tracking.carrier", "is required"));
        }
        if carrier.chars().count() > MAX_CARRIER || carrier.chars().any(char::is_control) {
            return Err(InvalidField::new(
                "tracking.carrier",
                format!("must be 1-{MAX_CARRIER} printable characters"),
            ));
        }
        let url = match self.url.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(raw) => Some(
                WebLink::parse(raw)
                    .map_err(|why| InvalidField::new("tracking.url", why.to_string()))?
                    .into(),
            ),
        };
        Ok(TrackingInput {
            carrier: carrier.to_string(),
            code,
            url,
        })
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Shipment {
    pub shipment_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub carrier: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracking_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracking_url: Option<String>,
    pub status: ShipmentStatus,
    /// The carrier's own status code, kept verbatim.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw_status: Option<String>,
    /// The carrier's own words for the latest scan.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub estimated_delivery: Option<DateTime<Utc>>,
    /// When the package was first recorded.
    pub created_at: DateTime<Utc>,
    /// When the carrier last scanned it (per the carrier); none before the first scan.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_scan_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
}

impl Shipment {
    pub fn new(id: String, tracking: Option<&TrackingInput>, at: DateTime<Utc>) -> Self {
        Shipment {
            shipment_id: id,
            carrier: tracking.map(|t| t.carrier.clone()),
            tracking_code: tracking.map(|t| t.code.clone()),
            tracking_url: tracking.and_then(|t| t.url.clone()),
            status: if tracking.is_some() {
                ShipmentStatus::LabelCreated
            } else {
                ShipmentStatus::TrackingPending
            },
            raw_status: None,
            message: None,
            location: None,
            estimated_delivery: None,
            last_scan_at: None,
            created_at: at,
            updated_at: at,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(carrier: &str, code: &str, url: Option<&str>) -> TrackingInput {
        TrackingInput {
            carrier: carrier.into(),
            code: code.into(),
            url: url.map(str::to_string),
        }
    }

    fn field(carrier: &str, code: &str, url: Option<&str>) -> String {
        input(carrier, code, url).validated().unwrap_err().field
    }

    #[test]
    fn real_carriers_codes_pass_normalised() {
        for (carrier, code, kept) in [
            ("UPS", " 1Z999AA10123456784 ", "1Z999AA10123456784"),
            (
                "USPS",
                "9400 1000  0000 0000 0000 00",
                "9400 1000 0000 0000 0000 00",
            ),
            ("USPS", "9205590164917312751089", "9205590164917312751089"),
            ("FedEx", "123456789012", "123456789012"),
            ("DHL", "JJD000390007827104", "JJD000390007827104"),
            ("DHL eCommerce", "GM2951173225174494", "GM2951173225174494"),
            ("Canada Post", "CP123456789CA", "CP123456789CA"),
            ("Canada Post", "1234567890123456", "1234567890123456"),
            ("Royal Mail", "AB-123456789-GB", "AB-123456789-GB"),
        ] {
            let valid = input(&format!(" {carrier} "), code, None)
                .validated()
                .unwrap();
            assert_eq!(valid.code, kept);
            assert_eq!(valid.carrier, carrier);
        }
    }

    #[test]
    fn a_blank_or_odd_code_is_refused() {
        for code in [
            "",
            "   ",
            "\t",
            "---",
            "1Z<script>",
            "1Z9\u{0}99",
            "ＡＢ123",
            &"1".repeat(65),
        ] {
            assert_eq!(field("UPS", code, None), "tracking.code", "{code:?}");
        }
        assert!(input("UPS", &"1".repeat(64), None).validated().is_ok());
        // Whitespace around or inside is spacing, not part of the code.
        assert_eq!(
            input("UPS", "1Z9\n99\n", None).validated().unwrap().code,
            "1Z9 99"
        );
    }

    #[test]
    fn a_carrier_is_required_and_bounded() {
        for carrier in ["", "  ", "UP\u{7}S", &"x".repeat(65)] {
            assert_eq!(
                field(carrier, "1Z1", None),
                "tracking.carrier",
                "{carrier:?}"
            );
        }
    }

    #[test]
    fn a_link_is_http_or_nothing() {
        for url in crate::order::link::HOSTILE_LINKS
            .into_iter()
            .chain(["/track/1"])
        {
            assert_eq!(field("UPS", "1Z1", Some(url)), "tracking.url", "{url:?}");
        }
        assert_eq!(
            input("UPS", "1Z1", Some("  ")).validated().unwrap().url,
            None
        );
        assert_eq!(
            input("UPS", "1Z1", Some("https://ups.com/t?n=1Z1"))
                .validated()
                .unwrap()
                .url
                .as_deref(),
            Some("https://ups.com/t?n=1Z1")
        );
    }
}
