//! Caps on every free-text and identifier field that can be stored.
//!
//! Every event is kept for good, replayed to the audit log and the live
//! streams, and every byte of a head is rewritten by every command; a
//! DynamoDB item stops at 400 KB. So what people type is refused over its
//! cap (a 400 naming the field), and what providers send is cut down to size
//! instead: a carrier retrying a refused webhook forever would lose the scan.
//!
//! | field | cap |
//! |---|---|
//! | reasons (transitions, flags, parked facts), notes | [`MAX_REASON`] characters |
//! | a transition's target state | [`MAX_STATE`] |
//! | ids in paths, provider ids and references | [`MAX_ID`] |
//! | tracking code, carrier | [`MAX_TRACKING_CODE`], [`MAX_CARRIER`] (see [`TrackingInput::validated`]) |
//! | links | [`MAX_LINK`] |
//! | provider messages | [`MAX_PROVIDER_TEXT`], cut on a character boundary |
//! | provider labels (location, driver, vehicle, phone, raw status…) | [`MAX_PROVIDER_LABEL`] |
//! | packages per order | [`MAX_PACKAGES`] |
//!
//! [`TrackingInput::validated`]: super::TrackingInput::validated
//! [`MAX_LINK`]: super::link::MAX_LINK

use sha2::{Digest, Sha256};

use super::inbound::{DeliveryNews, Inbound, InboundFact, PaymentNews, ShipmentNews, Subject};
use super::link::{self, WebLink};

/// Reasons and notes: a paragraph, not a document.
pub const MAX_REASON: usize = 2000;
/// A state name or alias.
pub const MAX_STATE: usize = 64;
/// Our ids (`ord_…`, `trk_…`, `shp_…`, `evt_…`) are far shorter; a
/// provider's longer id is kept as a digest (see [`bounded_id`]).
pub const MAX_ID: usize = 128;
/// A carrier's or partner's message about one event.
pub const MAX_PROVIDER_TEXT: usize = 1000;
/// A short provider value: a place, a name, a vehicle, a status code.
pub const MAX_PROVIDER_LABEL: usize = 200;
/// Packages per order. Every package lives in the head, at most about 8 KB
/// each with every field at its cap; twenty of them beside a 200-line
/// checkout keep the head well inside DynamoDB's 400 KB item.
pub const MAX_PACKAGES: usize = 20;
/// The longest tracking code: real ones are 10-35 characters.
pub const MAX_TRACKING_CODE: usize = 64;
/// The longest carrier name.
pub const MAX_CARRIER: usize = 64;

/// A field a request carried that breaks its rules; the message names it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{field} {why}")]
pub struct InvalidField {
    pub field: String,
    pub why: String,
}

impl InvalidField {
    pub fn new(field: &str, why: impl Into<String>) -> Self {
        InvalidField {
            field: field.to_string(),
            why: why.into(),
        }
    }
}

/// Optional text, trimmed: `None` when blank, refused over `max` characters.
pub fn optional_text(
    field: &str,
    value: Option<&str>,
    max: usize,
) -> Result<Option<String>, InvalidField> {
    match value.map(str::trim).filter(|t| !t.is_empty()) {
        Some(t) if t.chars().count() > max => Err(InvalidField::new(
            field,
            format!("must be at most {max} characters"),
        )),
        other => Ok(other.map(str::to_string)),
    }
}

/// Required text, trimmed: refused when blank or over `max` characters.
pub fn required_text(field: &str, value: &str, max: usize) -> Result<String, InvalidField> {
    optional_text(field, Some(value), max)?.ok_or_else(|| InvalidField::new(field, "is required"))
}

/// An id a request names (in its path or body): 1 to [`MAX_ID`] characters,
/// none of them control characters. A longer one cannot exist, and would
/// otherwise reach the store's keys and the log.
pub fn id(field: &str, value: &str) -> Result<(), InvalidField> {
    let length = value.chars().count();
    if length == 0 || length > MAX_ID || value.chars().any(char::is_control) {
        return Err(InvalidField::new(
            field,
            format!("must be 1-{MAX_ID} printable characters"),
        ));
    }
    Ok(())
}

/// Provider text cut to `max` characters (on a character boundary, marked
/// with an ellipsis), control characters made spaces so nothing a provider
/// writes can forge a line of our log.
pub fn truncate(value: &str, max: usize) -> String {
    let clean: String = value
        .trim()
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if clean.chars().count() <= max {
        return clean;
    }
    let mut cut: String = clean.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// A provider's id or reference, at most [`MAX_ID`] characters. One that is
/// longer or holds control characters becomes a readable prefix plus the
/// SHA-256 of the whole, so a redelivery still dedupes and two ids never
/// merge.
pub fn bounded_id(value: &str) -> String {
    let length = value.chars().count();
    if length <= MAX_ID && !value.chars().any(char::is_control) {
        return value.to_string();
    }
    let prefix: String = value
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_ID - 72)
        .collect();
    let digest = crate::hex::encode(&Sha256::digest(value.as_bytes()));
    format!("{prefix}~sha256:{digest}")
}

/// A provider link a page must not follow, dropped from a fact that is kept:
/// for the adapter to log (the domain does not).
#[derive(Clone, Debug, PartialEq)]
pub struct DroppedLink {
    pub field: &'static str,
    /// Only the scheme: the rest of a hostile link is not worth logging.
    pub scheme: String,
    pub why: String,
}

/// A provider's fact cut down to size, its links checked: an unsafe or
/// overlong link is dropped and the fact kept. Every way a provider fact
/// comes in (webhooks, the carrier re-fetch) goes through here.
pub fn bound_inbound(inbound: &mut Inbound) -> Vec<DroppedLink> {
    inbound.source = bounded_id(&inbound.source);
    inbound.event_id = bounded_id(&inbound.event_id);
    match &mut inbound.subject {
        Subject::Order { order_id } => *order_id = bounded_id(order_id),
        Subject::Tracking { code } => *code = bounded_id(code),
    }
    let mut dropped = Vec::new();
    match &mut inbound.fact {
        InboundFact::Shipment(news) => dropped.extend(bound_shipment_news(news)),
        InboundFact::Payment(news) => bound_payment_news(news),
        InboundFact::Delivery(news) => dropped.extend(bound_delivery_news(news)),
    }
    dropped
}

/// A carrier's news about a package, cut down to size (see [`bound_inbound`]).
pub fn bound_shipment_news(news: &mut ShipmentNews) -> Option<DroppedLink> {
    news.tracking_code = bounded_id(&news.tracking_code);
    news.raw_status = truncate(&news.raw_status, MAX_PROVIDER_LABEL);
    label(&mut news.carrier, MAX_CARRIER);
    label(&mut news.message, MAX_PROVIDER_TEXT);
    label(&mut news.location, MAX_PROVIDER_LABEL);
    web_link(&mut news.tracking_url, "tracking_url")
}

/// ISO 4217 codes are three letters; a little room for a provider's casing.
const MAX_CURRENCY: usize = 8;
/// E.164 numbers are at most 15 digits; room for spaces and an extension.
const MAX_PHONE: usize = 40;

fn bound_payment_news(news: &mut PaymentNews) {
    news.reference = bounded_id(&news.reference);
    label(&mut news.currency, MAX_CURRENCY);
    label(&mut news.message, MAX_PROVIDER_TEXT);
}

fn bound_delivery_news(news: &mut DeliveryNews) -> Option<DroppedLink> {
    news.reference = bounded_id(&news.reference);
    label(&mut news.message, MAX_PROVIDER_TEXT);
    let driver = news.driver.as_mut()?;
    driver.name = truncate(&driver.name, MAX_PROVIDER_LABEL);
    label(&mut driver.vehicle, MAX_PROVIDER_LABEL);
    label(&mut driver.phone, MAX_PHONE);
    web_link(&mut driver.photo_url, "photo_url")
}

fn label(value: &mut Option<String>, max: usize) {
    *value = value
        .as_deref()
        .map(|v| truncate(v, max))
        .filter(|v| !v.is_empty());
}

fn web_link(value: &mut Option<String>, field: &'static str) -> Option<DroppedLink> {
    let raw = value.take()?;
    match WebLink::parse(&raw) {
        Ok(link) => {
            *value = Some(link.into());
            None
        }
        Err(why) => Some(DroppedLink {
            field,
            scheme: link::scheme_of(&raw).to_string(),
            why: why.to_string(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::super::inbound::{DeliveryKind, Driver};
    use super::super::ShipmentStatus;
    use super::*;

    fn scan(url: &str, message: &str) -> Inbound {
        Inbound {
            source: "carrier:shippo".into(),
            event_id: "evt_1".into(),
            occurred_at: Utc::now(),
            subject: Subject::Tracking {
                code: "1Z999AA10123456784".into(),
            },
            fact: InboundFact::Shipment(ShipmentNews {
                tracking_code: "1Z999AA10123456784".into(),
                carrier: Some("UPS".into()),
                status: ShipmentStatus::InTransit,
                raw_status: "IN_TRANSIT".into(),
                message: Some(message.into()),
                location: Some("Louisville, KY".into()),
                tracking_url: Some(url.into()),
                estimated_delivery: None,
            }),
        }
    }

    fn news(inbound: &Inbound) -> &ShipmentNews {
        match &inbound.fact {
            InboundFact::Shipment(news) => news,
            other => panic!("not a scan: {other:?}"),
        }
    }

    #[test]
    fn a_provider_fact_loses_an_unsafe_link_and_keeps_the_rest() {
        for url in super::link::HOSTILE_LINKS {
            let mut inbound = scan(url, "Arrived at facility");
            bound_inbound(&mut inbound);
            let news = news(&inbound);
            assert_eq!(news.tracking_url, None, "{url:?}");
            assert_eq!(news.status, ShipmentStatus::InTransit);
            assert_eq!(news.message.as_deref(), Some("Arrived at facility"));
        }
        let mut inbound = scan("https://www.ups.com/track?n=1Z9", "ok");
        bound_inbound(&mut inbound);
        assert_eq!(
            news(&inbound).tracking_url.as_deref(),
            Some("https://www.ups.com/track?n=1Z9")
        );
    }

    #[test]
    fn provider_text_is_cut_on_a_character_boundary() {
        let mut inbound = scan("https://ups.com/", &"é".repeat(100_000));
        bound_inbound(&mut inbound);
        let message = news(&inbound).message.clone().unwrap();
        assert_eq!(message.chars().count(), MAX_PROVIDER_TEXT);
        assert!(message.ends_with('…'));
        assert_eq!(
            truncate("line one\nforged: line two", 100),
            "line one forged: line two"
        );
        assert_eq!(truncate("  short  ", 100), "short");
    }

    #[test]
    fn a_driver_is_bounded_and_keeps_only_a_web_photo() {
        let mut inbound = scan("https://ups.com/", "x");
        inbound.fact = InboundFact::Delivery(DeliveryNews {
            kind: DeliveryKind::DriverAssigned,
            reference: "d".repeat(10_000),
            driver: Some(Driver {
                name: "N".repeat(10_000),
                vehicle: Some("Civic".into()),
                photo_url: Some("javascript:alert(1)".into()),
                phone: Some("+1".repeat(1000)),
            }),
            location: None,
            eta: None,
            message: None,
        });
        bound_inbound(&mut inbound);
        let InboundFact::Delivery(news) = &inbound.fact else {
            unreachable!()
        };
        let driver = news.driver.as_ref().unwrap();
        assert_eq!(driver.name.chars().count(), MAX_PROVIDER_LABEL);
        assert_eq!(driver.photo_url, None);
        assert_eq!(driver.vehicle.as_deref(), Some("Civic"));
        assert!(driver.phone.as_ref().unwrap().chars().count() <= 40);
        assert!(news.reference.chars().count() <= MAX_ID);
    }

    #[test]
    fn long_ids_become_digests_that_still_dedupe_and_never_merge() {
        assert_eq!(bounded_id("evt_123"), "evt_123");
        let a = format!("{}a", "x".repeat(5000));
        let b = format!("{}b", "x".repeat(5000));
        assert_eq!(bounded_id(&a), bounded_id(&a));
        assert_ne!(bounded_id(&a), bounded_id(&b));
        assert!(bounded_id(&a).chars().count() <= MAX_ID);
        let forged = bounded_id("evt_1\nINFO forged line");
        assert!(!forged.contains('\n'), "{forged}");
        assert_ne!(forged, bounded_id("evt_1INFO forged line"));
    }

    #[test]
    fn request_text_is_refused_over_its_cap_naming_the_field() {
        assert_eq!(required_text("reason", "  why  ", 10), Ok("why".into()));
        assert_eq!(
            required_text("reason", "   ", 10).unwrap_err().to_string(),
            "reason is required"
        );
        assert_eq!(
            required_text("reason", &"é".repeat(11), 10)
                .unwrap_err()
                .to_string(),
            "reason must be at most 10 characters"
        );
        assert_eq!(
            required_text("reason", &"é".repeat(10), 10).map(|r| r.len()),
            Ok(20)
        );
        assert_eq!(optional_text("reason", Some(" "), 10), Ok(None));
        assert!(id("order id", "ord_1").is_ok());
        for bad in ["", "ord\n1"] {
            assert!(id("order id", bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            id("order id", &"x".repeat(MAX_ID + 1)).unwrap_err().field,
            "order id"
        );
    }
}
