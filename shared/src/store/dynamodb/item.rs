//! Domain values to items and back: what each item carries besides its keys
//! (the layout is in [`keys`](super::keys)). An item that does not decode is
//! [`StoreError::Corrupt`] — retrying will not mend it — and the message
//! names the item, for the log only.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Duration, Utc};

use super::keys;
use super::schema::TTL_ATTRIBUTE;
use crate::order::inbound::{Inbound, TrackingCode, TrackingLink};
use crate::order::{Event, Head};
use crate::ports::{IdempotencyRecord, StoreError};
use crate::store::ts;

pub(super) type Item = HashMap<String, AttributeValue>;

/// How long a dedupe marker outlives its fact: longer than any provider retries.
const DEDUPE_TTL: Duration = Duration::days(30);
/// How long an idempotency key is honoured (as long as Stripe's).
const IDEMPOTENCY_TTL: Duration = Duration::hours(24);
/// How long a fact waits for the order or tracking code it names before it
/// is dropped.
const WAITING_TTL: Duration = Duration::days(30);

pub(super) fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

pub(super) fn text<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    item.get(name)
        .and_then(|v| v.as_s().ok())
        .map(String::as_str)
}

/// A string attribute every item of its kind has.
pub(super) fn required<'a>(item: &'a Item, name: &str) -> Result<&'a str, StoreError> {
    text(item, name).ok_or_else(|| corrupt(item, format!("no {name}")))
}

/// The JSON value an attribute holds.
pub(super) fn decode<T: serde::de::DeserializeOwned>(
    item: &Item,
    name: &str,
) -> Result<T, StoreError> {
    serde_json::from_str(required(item, name)?)
        .map_err(|e| corrupt(item, format!("{name} does not decode: {e}")))
}

/// The value an item stores whole, as JSON in `body`.
pub(super) fn body<T: serde::de::DeserializeOwned>(item: &Item) -> Result<T, StoreError> {
    decode(item, "body")
}

fn corrupt(item: &Item, what: String) -> StoreError {
    let key = |name| text(item, name).unwrap_or("?");
    StoreError::Corrupt(format!("item {} / {}: {what}", key("pk"), key("sk")))
}

fn json<T: serde::Serialize>(value: &T) -> Result<AttributeValue, StoreError> {
    serde_json::to_string(value)
        .map(AttributeValue::S)
        .map_err(|e| StoreError::Unavailable(e.to_string()))
}

/// DynamoDB's TTL reads epoch seconds.
fn expires(at: DateTime<Utc>) -> (String, AttributeValue) {
    (
        TTL_ATTRIBUTE.into(),
        AttributeValue::N(at.timestamp().to_string()),
    )
}

pub(super) fn head_item(head: &Head) -> Result<Item, StoreError> {
    let mut item = Item::from([
        ("pk".into(), s(keys::order_pk(&head.id))),
        ("sk".into(), s(keys::HEAD)),
        ("body".into(), json(head)?),
        ("summary".into(), json(&head.summary())?),
        (
            "version".into(),
            AttributeValue::N(head.version.to_string()),
        ),
        ("status".into(), s(&head.status)),
        (
            "flagged".into(),
            AttributeValue::Bool(!head.flags.is_empty()),
        ),
    ]);
    item.extend(
        keys::index_keys(head)
            .into_iter()
            .map(|(name, value)| (name.to_string(), s(value))),
    );
    // What the `stalled` filter of a list compares with its `now`.
    if let Some(due) = head.due_at {
        item.insert("due_at".into(), s(ts(due)));
    }
    Ok(item)
}

pub(super) fn event_item(event: &Event) -> Result<Item, StoreError> {
    log_item(event, keys::event_sk(event.seq))
}

pub(super) fn parked_item(fact: &Event) -> Result<Item, StoreError> {
    log_item(fact, keys::parked_sk(fact.occurred_at, &fact.event_id))
}

fn log_item(event: &Event, sk: String) -> Result<Item, StoreError> {
    Ok(Item::from([
        ("pk".into(), s(keys::order_pk(&event.order_id))),
        ("sk".into(), s(sk)),
        ("event_id".into(), s(&event.event_id)),
        ("body".into(), json(event)?),
    ]))
}

/// One per order that used the code: a recycled code keeps its history, and
/// the service picks the newest live shipment.
pub(super) fn tracking_item(head: &Head, link: &TrackingCode) -> Item {
    let mut item = Item::from([
        ("pk".into(), s(keys::tracking_pk(&head.tenant, &link.code))),
        ("sk".into(), s(keys::order_pk(&head.id))),
        ("order_id".into(), s(&head.id)),
        ("attached_at".into(), s(ts(head.updated_at))),
    ]);
    if let Some(carrier) = &link.carrier {
        item.insert("carrier".into(), s(carrier));
    }
    item
}

pub(super) fn tracking_link(item: &Item) -> Result<TrackingLink, StoreError> {
    let attached_at = required(item, "attached_at")?;
    Ok(TrackingLink {
        order_id: required(item, "order_id")?.to_string(),
        carrier: text(item, "carrier").map(str::to_string),
        attached_at: DateTime::parse_from_rfc3339(attached_at)
            .map_err(|e| corrupt(item, format!("attached_at does not parse: {e}")))?
            .with_timezone(&Utc),
    })
}

/// The old global pointer knows neither carrier nor date: it ranks last.
pub(super) fn legacy_tracking_link(item: &Item) -> Result<TrackingLink, StoreError> {
    Ok(TrackingLink {
        order_id: required(item, "order_id")?.to_string(),
        carrier: None,
        attached_at: DateTime::<Utc>::MIN_UTC,
    })
}

/// `recorded_at` is the commit's time, from the service's clock.
pub(super) fn dedupe_item(
    source: &str,
    external_id: &str,
    order_id: &str,
    recorded_at: DateTime<Utc>,
) -> Item {
    Item::from([
        ("pk".into(), s(keys::dedupe_pk(source, external_id))),
        ("sk".into(), s(keys::DEDUPE)),
        ("order_id".into(), s(order_id)),
        expires(recorded_at + DEDUPE_TTL),
    ])
}

pub(super) fn idempotency_item(record: &IdempotencyRecord) -> Result<Item, StoreError> {
    Ok(Item::from([
        (
            "pk".into(),
            s(keys::idempotency_pk(&record.tenant, &record.key)),
        ),
        ("sk".into(), s(keys::IDEMPOTENCY)),
        ("body".into(), json(record)?),
        expires(record.created_at + IDEMPOTENCY_TTL),
    ]))
}

/// The wait counts from `kept_at`, the service's clock, like every other
/// time the service writes.
pub(super) fn waiting_item(
    subject_key: &str,
    inbound: &Inbound,
    kept_at: DateTime<Utc>,
) -> Result<Item, StoreError> {
    Ok(Item::from([
        ("pk".into(), s(keys::unmatched_pk(subject_key))),
        ("sk".into(), s(&inbound.event_id)),
        ("body".into(), json(inbound)?),
        expires(kept_at + WAITING_TTL),
    ]))
}
