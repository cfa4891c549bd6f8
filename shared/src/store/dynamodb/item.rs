//! Domain values to items and back: what each item carries besides its keys
//! (the layout is in [`keys`](super::keys)), a head cut into the parts that
//! are written at checkout and the part every command rewrites. An item that does not decode is
//! [`StoreError::Corrupt`] — retrying will not mend it — and the message
//! names the item, for the log only.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Duration, Utc};
use serde_json::{Map, Value};

use super::keys;
use super::schema::TTL_ATTRIBUTE;
use crate::order::inbound::{Inbound, TrackingCode, TrackingLink};
use crate::order::{Event, Head, OrderSummary};
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
pub(super) fn expires(at: DateTime<Utc>) -> (String, AttributeValue) {
    (
        TTL_ATTRIBUTE.into(),
        AttributeValue::N(at.timestamp().to_string()),
    )
}

/// A head cut along [`Head::CARD`] and [`Head::SNAPSHOT`]: the JSON object
/// of each part, and of what is left, which every command rewrites.
pub(super) struct Parts {
    pub card: Map<String, Value>,
    pub snapshot: Map<String, Value>,
    pub hot: Map<String, Value>,
}

pub(super) fn parts(head: &Head) -> Result<Parts, StoreError> {
    let Value::Object(mut hot) = to_value(head)? else {
        return Err(StoreError::Unavailable("a head is a JSON object".into()));
    };
    let mut take = |names: &[&str]| {
        names
            .iter()
            .filter_map(|name| hot.remove_entry(*name))
            .collect::<Map<_, _>>()
    };
    let card = take(&Head::CARD);
    let snapshot = take(&Head::SNAPSHOT);
    Ok(Parts {
        card,
        snapshot,
        hot,
    })
}

/// What a list shows of an order besides its card: the summary without the
/// fields checkout fixed. Rewritten with the head, and small, because the
/// list index copies it.
fn marks(head: &Head) -> Result<Map<String, Value>, StoreError> {
    let Value::Object(mut summary) = to_value(&head.summary())? else {
        return Err(StoreError::Unavailable("a summary is a JSON object".into()));
    };
    summary.retain(|name, _| !Head::CARD.contains(&name.as_str()));
    Ok(summary)
}

/// The head item as checkout writes it: every attribute, the ones only
/// checkout writes included.
pub(super) fn new_head_item(head: &Head, parts: &Parts) -> Result<Item, StoreError> {
    let mut item = Item::from([
        ("pk".into(), s(keys::order_pk(&head.id))),
        ("sk".into(), s(keys::HEAD)),
        ("card".into(), json(&parts.card)?),
    ]);
    item.extend(
        keys::fixed_index_keys(head)
            .into_iter()
            .map(|(name, value)| (name.to_string(), s(value))),
    );
    let changes = head_changes(head, parts)?;
    item.extend(
        changes
            .set
            .into_iter()
            .map(|(name, value)| (name.to_string(), value)),
    );
    Ok(item)
}

/// What a command changes on the head item.
pub(super) struct HeadChanges {
    /// Attributes set, by name.
    pub set: Vec<(&'static str, AttributeValue)>,
    /// Attributes removed: the deadline's, once there is none.
    pub remove: Vec<&'static str>,
}

/// What every command sets on the head item, and removes.
pub(super) fn head_changes(head: &Head, parts: &Parts) -> Result<HeadChanges, StoreError> {
    let mut set = vec![
        ("head", json(&parts.hot)?),
        ("marks", json(&marks(head)?)?),
        ("version", AttributeValue::N(head.version.to_string())),
        ("status", s(&head.status)),
        // What the `stalled` filter of a list tests, with `due_key`.
        ("flagged", AttributeValue::Bool(head.needs_attention())),
        ("updated", s(keys::updated(head.updated_at, &head.id))),
    ];
    let mut remove = Vec::new();
    match keys::due_keys(head) {
        Some(due_keys) => set.extend(due_keys.map(|(name, value)| (name, s(value)))),
        None => remove.extend(["due_shard", "due_key"]),
    }
    Ok(HeadChanges { set, remove })
}

pub(super) fn snapshot_item(head: &Head, parts: &Parts) -> Result<Item, StoreError> {
    Ok(Item::from([
        ("pk".into(), s(keys::order_pk(&head.id))),
        ("sk".into(), s(keys::SNAPSHOT)),
        ("body".into(), json(&parts.snapshot)?),
    ]))
}

/// A head from its item and the order's snapshot: each part laid over the
/// one written before it — the whole head an item written before heads
/// were kept in parts holds in `body`, then the card, the snapshot and the
/// fields commands rewrite — so the latest write of every field wins. A
/// rewritten part stands for all of its fields: one it leaves out (a
/// deadline gone, say) is gone, not the older write's.
pub(super) fn head(item: &Item, snapshot: Option<&Map<String, Value>>) -> Result<Head, StoreError> {
    let fixed = |name: &str| Head::CARD.contains(&name) || Head::SNAPSHOT.contains(&name);
    let mut fields = Map::new();
    layer(&mut fields, item, "body")?;
    if item.contains_key("head") {
        fields.retain(|name, _| fixed(name));
    }
    layer(&mut fields, item, "card")?;
    fields.extend(
        snapshot
            .into_iter()
            .flatten()
            .map(|(k, v)| (k.clone(), v.clone())),
    );
    layer(&mut fields, item, "head")?;
    serde_json::from_value(Value::Object(fields))
        .map_err(|e| corrupt(item, format!("the head does not decode: {e}")))
}

/// The checkout snapshot a snapshot item holds.
pub(super) fn snapshot(item: &Item) -> Result<Map<String, Value>, StoreError> {
    let mut fields = Map::new();
    layer(&mut fields, item, "body")?;
    Ok(fields)
}

/// A list's summary of an order from its head item or index entry: the
/// summary items written before heads were kept in parts hold, under the
/// card and the marks (which, once written, stand for all the rest).
pub(super) fn summary(item: &Item) -> Result<OrderSummary, StoreError> {
    let mut fields = Map::new();
    layer(&mut fields, item, "summary")?;
    if item.contains_key("marks") {
        fields.retain(|name, _| Head::CARD.contains(&name.as_str()));
    }
    for part in ["card", "marks"] {
        layer(&mut fields, item, part)?;
    }
    serde_json::from_value(Value::Object(fields))
        .map_err(|e| corrupt(item, format!("the summary does not decode: {e}")))
}

/// Lays the JSON object in attribute `name`, if the item has it, over `fields`.
fn layer(fields: &mut Map<String, Value>, item: &Item, name: &str) -> Result<(), StoreError> {
    if let Some(text) = text(item, name) {
        match serde_json::from_str(text) {
            Ok(Value::Object(part)) => fields.extend(part),
            Ok(_) => return Err(corrupt(item, format!("{name} is not a JSON object"))),
            Err(e) => return Err(corrupt(item, format!("{name} does not decode: {e}"))),
        }
    }
    Ok(())
}

fn to_value<T: serde::Serialize>(value: &T) -> Result<Value, StoreError> {
    serde_json::to_value(value).map_err(|e| StoreError::Unavailable(e.to_string()))
}

pub(super) fn event_item(event: &Event) -> Result<Item, StoreError> {
    let mut item = log_item(event, keys::event_sk(event.seq))?;
    item.insert("feed_key".into(), s(keys::feed_key(&event.tenant)));
    Ok(item)
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
