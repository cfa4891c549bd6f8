//! What callers send, and the checks it passes before any command runs:
//! every text and id within its cap ([`order::limits`](crate::order::limits),
//! counted in characters), tracking details through their one check
//! ([`TrackingInput::validated`]), links http(s) only. A refusal is a 400
//! naming the field, and nothing is written.

use serde::{Deserialize, Serialize};

use crate::lifecycle::FulfilmentType;
use crate::order::limits::{self, InvalidField, MAX_ID, MAX_REASON, MAX_STATE};
use crate::order::{Contact, LineItem, ShippingSnapshot, TrackingInput};
use crate::ports::ListQuery;

/// Lines in one checkout.
const MAX_LINES: usize = 200;
/// Units of one line.
const MAX_QUANTITY: u32 = 10_000;
/// An item's name and an address line.
const MAX_LINE_TEXT: usize = 300;
/// The recipient's name on a shipping label.
const MAX_RECIPIENT: usize = 200;
/// A shipping method, a city, a region.
const MAX_LABEL: usize = 100;
const MAX_POSTAL_CODE: usize = 20;
/// RFC 5321 caps an address at 254.
const MAX_EMAIL: usize = 254;
/// E.164 numbers are 15 digits, written with a few separators.
const MAX_PHONE: usize = 40;

/// The checkout request body.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Checkout {
    /// The tenant's store that fulfils it; see [`TenantSettings::store_for`](crate::tenants::TenantSettings::store_for).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store: Option<String>,
    pub customer_id: String,
    pub currency: String,
    pub fulfilment: FulfilmentType,
    pub items: Vec<LineItem>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipping: Option<ShippingSnapshot>,
    #[serde(default)]
    pub contact: Contact,
}

/// A staff transition request body.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", schema(example = json!({"to": "shipped", "reason": "left the warehouse", "tracking": {"carrier": "canada_post", "code": "CP123456789CA"}, "expected_version": 3})))]
pub struct TransitionRequest {
    #[cfg_attr(feature = "openapi", schema(max_length = 64))]
    pub to: String,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 2000))]
    pub reason: Option<String>,
    #[serde(default)]
    pub tracking: Option<TrackingInput>,
    #[serde(default)]
    pub expected_version: Option<u64>,
}

impl Checkout {
    /// The request with its text trimmed (blank optional text is none), or
    /// every field that breaks its rules, each named, so one answer lists
    /// them all.
    pub fn validated(mut self) -> Result<Checkout, Vec<InvalidField>> {
        let mut problems = Problems::default();
        problems.id("customer_id", &mut self.customer_id);
        if let Some(store) = &mut self.store {
            problems.id("store", store);
        }
        if self.currency.len() != 3 || !self.currency.bytes().all(|b| b.is_ascii_uppercase()) {
            problems.refuse("currency", "must be an ISO 4217 code such as CAD");
        }
        if self.items.is_empty() || self.items.len() > MAX_LINES {
            problems.refuse("items", format!("must hold 1-{MAX_LINES} lines"));
        }
        for (i, item) in self.items.iter_mut().enumerate() {
            problems.line(&format!("items[{i}]"), item);
        }
        let needs_address = matches!(
            self.fulfilment,
            FulfilmentType::Shipping | FulfilmentType::LocalDelivery
        );
        match &mut self.shipping {
            None if needs_address => problems.refuse(
                "shipping",
                "(method, name, address) is required for this fulfilment type",
            ),
            None => {}
            Some(s) => {
                problems.text("shipping.method", &mut s.method, MAX_LABEL);
                problems.text("shipping.name", &mut s.name, MAX_RECIPIENT);
                let a = &mut s.address;
                problems.text("shipping.address.line1", &mut a.line1, MAX_LINE_TEXT);
                problems.optional("shipping.address.line2", &mut a.line2, MAX_LINE_TEXT);
                problems.text("shipping.address.city", &mut a.city, MAX_LABEL);
                problems.optional("shipping.address.region", &mut a.region, MAX_LABEL);
                let postal_code = &mut a.postal_code;
                problems.text("shipping.address.postal_code", postal_code, MAX_POSTAL_CODE);
                if a.country.len() != 2 || !a.country.bytes().all(|b| b.is_ascii_uppercase()) {
                    let why = "must be an ISO 3166 alpha-2 code";
                    problems.refuse("shipping.address.country", why);
                }
            }
        }
        problems.optional("contact.email", &mut self.contact.email, MAX_EMAIL);
        problems.optional("contact.phone", &mut self.contact.phone, MAX_PHONE);
        match problems.0.is_empty() {
            true => Ok(self),
            false => Err(problems.0),
        }
    }
}

impl TransitionRequest {
    /// The request with its reason trimmed (blank is none) and its tracking
    /// normalised, or the first field that breaks its rules.
    pub fn validated(self) -> Result<TransitionRequest, InvalidField> {
        Ok(TransitionRequest {
            to: limits::required_text("to", &self.to, MAX_STATE)?,
            reason: limits::optional_text("reason", self.reason.as_deref(), MAX_REASON)?,
            tracking: self.tracking.map(|t| t.validated()).transpose()?,
            expected_version: self.expected_version,
        })
    }
}

/// A note's text or a reason staff must give: trimmed, required, capped.
/// An item as checkout takes it (a substitution's replacement too),
/// normalised, or the first of its fields that breaks its rules.
pub(super) fn validated_line(field: &str, item: &LineItem) -> Result<LineItem, InvalidField> {
    let mut problems = Problems::default();
    let mut item = item.clone();
    problems.line(field, &mut item);
    match problems.0.into_iter().next() {
        Some(problem) => Err(problem),
        None => Ok(item),
    }
}

pub(super) fn staff_text(field: &str, text: &str) -> Result<String, InvalidField> {
    limits::required_text(field, text, MAX_REASON)
}

/// The filters of a list request, normalised: an empty filter is no filter
/// (as an empty cursor is the first page), a status is trimmed; a customer
/// id is an id, a status a state name — either over its cap could only ever
/// match nothing.
pub(super) fn list_filters(mut query: ListQuery) -> Result<ListQuery, InvalidField> {
    query.customer_id = query.customer_id.filter(|c| !c.is_empty());
    if let Some(customer) = &query.customer_id {
        limits::id("customer_id", customer)?;
    }
    query.status = limits::optional_text("status", query.status.as_deref(), MAX_STATE)?;
    Ok(query)
}

/// Every field a request breaks; each check keeps the normalised value of a
/// field that passes.
#[derive(Default)]
struct Problems(Vec<InvalidField>);

impl Problems {
    fn line(&mut self, field: &str, item: &mut LineItem) {
        self.id(&format!("{field}.sku"), &mut item.sku);
        self.text(&format!("{field}.name"), &mut item.name, MAX_LINE_TEXT);
        if item.unit_price < 0 {
            self.refuse(&format!("{field}.unit_price"), "cannot be negative");
        }
        if item.quantity == 0 || item.quantity > MAX_QUANTITY {
            let why = format!("must be 1-{MAX_QUANTITY}");
            self.refuse(&format!("{field}.quantity"), why);
        }
    }

    fn refuse(&mut self, field: &str, why: impl Into<String>) {
        self.0.push(InvalidField::new(field, why));
    }

    fn text(&mut self, field: &str, value: &mut String, max: usize) {
        match limits::required_text(field, value, max) {
            Ok(text) => *value = text,
            Err(e) => self.0.push(e),
        }
    }

    fn optional(&mut self, field: &str, value: &mut Option<String>, max: usize) {
        match limits::optional_text(field, value.as_deref(), max) {
            Ok(text) => *value = text,
            Err(e) => self.0.push(e),
        }
    }

    /// An id someone chose (a customer's, a SKU): trimmed, then held to the
    /// rules of every id, so the list filter can find it again.
    fn id(&mut self, field: &str, value: &mut String) {
        let checked = limits::required_text(field, value, MAX_ID)
            .and_then(|id| limits::id(field, &id).map(|()| id));
        match checked {
            Ok(id) => *value = id,
            Err(e) => self.0.push(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::order::Address;

    #[test]
    fn list_filters_are_used_as_checked() {
        let query = |status: &str, customer: &str| ListQuery {
            status: Some(status.into()),
            customer_id: Some(customer.into()),
            ..ListQuery::default()
        };
        let checked = list_filters(query(" shipped ", "cus_1")).unwrap();
        assert_eq!(checked.status.as_deref(), Some("shipped"));
        assert_eq!(checked.customer_id.as_deref(), Some("cus_1"));
        let empty = list_filters(query("", "")).unwrap();
        assert_eq!((empty.status, empty.customer_id), (None, None));
        assert!(list_filters(query(&"s".repeat(MAX_STATE + 1), "c")).is_err());
    }

    fn request(to: &str, reason: Option<&str>, code: Option<&str>) -> TransitionRequest {
        TransitionRequest {
            to: to.into(),
            reason: reason.map(str::to_string),
            tracking: code.map(|code| TrackingInput {
                carrier: "UPS".into(),
                code: code.into(),
                url: None,
            }),
            expected_version: Some(3),
        }
    }

    #[test]
    fn a_transition_is_normalised() {
        let valid = request("shipped", Some("  "), Some(" 1Z 999 "))
            .validated()
            .unwrap();
        assert_eq!(valid.reason, None);
        assert_eq!(valid.tracking.unwrap().code, "1Z 999");
        assert_eq!(valid.expected_version, Some(3));
    }

    #[test]
    fn each_field_over_its_cap_is_named() {
        let long = "r".repeat(MAX_REASON + 1);
        for (req, field) in [
            (request("shipped", Some(&long), None), "reason"),
            (request(&"s".repeat(MAX_STATE + 1), None, None), "to"),
            (request(" ", None, None), "to"),
            (request("shipped", None, Some("  ")), "tracking.code"),
            (
                request("shipped", None, Some(&"1".repeat(100_000))),
                "tracking.code",
            ),
        ] {
            assert_eq!(req.validated().unwrap_err().field, field);
        }
        assert!(request("confirmed", Some(&"r".repeat(MAX_REASON)), None)
            .validated()
            .is_ok());
    }

    fn checkout() -> Checkout {
        Checkout {
            store: None,
            customer_id: "cus_1".into(),
            currency: "CAD".into(),
            fulfilment: FulfilmentType::Shipping,
            items: vec![LineItem {
                sku: "CHN-800".into(),
                name: "Chandelier".into(),
                unit_price: 80_000,
                quantity: 1,
            }],
            shipping: Some(ShippingSnapshot {
                method: "standard".into(),
                name: "Dana Doe".into(),
                address: Address {
                    line1: "1 King St W".into(),
                    line2: None,
                    city: "Toronto".into(),
                    region: None,
                    postal_code: "M5H 1A1".into(),
                    country: "CA".into(),
                },
            }),
            contact: Contact::default(),
        }
    }

    fn refused(checkout: Checkout) -> Vec<String> {
        let problems = checkout.validated().unwrap_err();
        problems.into_iter().map(|p| p.field).collect()
    }

    /// The README's caps are characters, whatever the script: a name of 300
    /// accented letters (600 bytes) fits, 301 do not, and the answer names
    /// each field over its cap.
    #[test]
    fn checkout_caps_count_characters_and_name_every_field() {
        let mut at_cap = checkout();
        at_cap.items[0].name = "é".repeat(MAX_LINE_TEXT);
        at_cap.shipping.as_mut().unwrap().address.city = "ü".repeat(MAX_LABEL);
        at_cap.contact.email = Some(format!("{}@x.ca", "ø".repeat(MAX_EMAIL - 5)));
        assert!(at_cap.validated().is_ok());

        let mut over = checkout();
        over.items[0].name = "é".repeat(MAX_LINE_TEXT + 1);
        let shipping = over.shipping.as_mut().unwrap();
        shipping.name = "n".repeat(MAX_RECIPIENT + 1);
        shipping.address.region = Some("r".repeat(MAX_LABEL + 1));
        shipping.address.postal_code = "9".repeat(MAX_POSTAL_CODE + 1);
        over.contact.phone = Some("1".repeat(MAX_PHONE + 1));
        assert_eq!(
            refused(over),
            [
                "items[0].name",
                "shipping.name",
                "shipping.address.region",
                "shipping.address.postal_code",
                "contact.phone",
            ]
        );
    }

    #[test]
    fn checkout_ids_are_ids_and_text_is_trimmed() {
        let mut blank = checkout();
        blank.customer_id = "   ".into();
        blank.items[0].sku = "A\u{7}".into();
        assert_eq!(refused(blank), ["customer_id", "items[0].sku"]);

        let mut padded = checkout();
        padded.customer_id = " cus_1 ".into();
        padded.items[0].name = "  Chandelier ".into();
        padded.contact.email = Some("  ".into());
        let valid = padded.validated().unwrap();
        assert_eq!(valid.customer_id, "cus_1");
        assert_eq!(valid.items[0].name, "Chandelier");
        assert_eq!(valid.contact.email, None);
    }
}
