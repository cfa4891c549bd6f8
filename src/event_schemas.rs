//! JSON Schemas (2020-12) of the details we put on the event bus, one per
//! detail-type, in one document under `$defs` (`<DetailType>Detail`). The
//! domain types a detail carries are described by the same `ToSchema`
//! derives as the HTTP API; the detail's own members mirror
//! `order_core::bus::entry`, and a test validates real events against them.
//! `cargo run -- event-schemas` prints it; `schemas/events.json` is it.

use serde_json::{json, Map, Value};
use utoipa::OpenApi;

use order_core::bus::DETAIL_TYPES;
use order_core::lifecycle::FulfilmentType;
use order_core::order::dispatch::DispatchStep;
use order_core::order::inbound::{DeliveryNews, PaymentNews, ShipmentNews};
use order_core::order::substitution::{InventoryAdjustment, LineDecision, Proposal};
use order_core::order::{
    Disposition, FlagKind, IssueNews, NotificationRecord, NotifyPrefs, StallReason, TrackingInput,
};

#[derive(OpenApi)]
#[openapi(components(schemas(
    FulfilmentType,
    Disposition,
    FlagKind,
    StallReason,
    ShipmentNews,
    TrackingInput,
    PaymentNews,
    DeliveryNews,
    NotifyPrefs,
    NotificationRecord,
    Proposal,
    LineDecision,
    InventoryAdjustment,
    DispatchStep,
    IssueNews,
)))]
struct Carried;

const STRING: &str = "string";

fn text() -> Value {
    json!({ "type": STRING })
}
fn count() -> Value {
    json!({ "type": "integer", "minimum": 0 })
}
fn time() -> Value {
    json!({ "type": STRING, "format": "date-time" })
}
fn flag() -> Value {
    json!({ "type": "boolean" })
}
fn of(name: &str) -> Value {
    json!({ "$ref": format!("#/$defs/{name}") })
}
fn list(items: Value) -> Value {
    json!({ "type": "array", "items": items })
}
/// Written `null` when absent: `json!` serializes `None` so.
fn or_null(schema: Value) -> Value {
    json!({ "anyOf": [schema, { "type": "null" }] })
}

/// Every detail's members, then the detail-type's own; all present, no
/// others, so a change to `bus::entry` that the schema misses fails.
fn detail(extra: Vec<(&str, Value)>) -> Value {
    let mut properties = Map::new();
    for (name, schema) in [
        ("event_id", text()),
        ("order_id", text()),
        ("public_id", text()),
        ("tenant", text()),
        ("store", text()),
        ("version", count()),
        ("seq", count()),
        ("occurred_at", time()),
        ("recorded_at", time()),
        ("source", text()),
        // The hash chain's link; null only on events from before it.
        ("prev_hash", or_null(text())),
    ]
    .into_iter()
    .chain(extra)
    {
        properties.insert(name.to_string(), schema);
    }
    let required: Vec<&String> = properties.keys().collect();
    json!({
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": false,
    })
}

fn status_change() -> Value {
    detail(vec![
        ("from", or_null(text())),
        ("to", text()),
        ("disposition", of("Disposition")),
        ("overridden", flag()),
        ("reason", or_null(text())),
    ])
}

fn flag_raised() -> Value {
    detail(vec![
        ("flag", of("FlagKind")),
        ("reason", text()),
        ("cause", or_null(of("StallReason"))),
        ("level", count()),
        ("escalate_at", or_null(time())),
    ])
}

fn answered() -> Value {
    detail(vec![
        ("proposal_id", text()),
        ("answers", list(of("LineDecision"))),
        ("by_policy", flag()),
        ("adjustments", list(of("InventoryAdjustment"))),
    ])
}

/// The schema of one detail-type's detail.
fn detail_schema(detail_type: &str) -> Value {
    let one = |name: &str, schema: Value| detail(vec![(name, schema)]);
    match detail_type {
        "OrderPlaced" => detail(vec![
            ("to", text()),
            ("lifecycle", text()),
            ("fulfilment", of("FulfilmentType")),
            ("currency", text()),
            ("total", json!({ "type": "integer" })),
        ]),
        "OrderStatusChanged" | "LateFactRecorded" | "FactParked" | "ParkedFactDiscarded" => {
            status_change()
        }
        // A conflicting fact, or a flag someone must look at.
        "OrderNeedsReview" => json!({ "oneOf": [status_change(), flag_raised()] }),
        "OrderStalled" | "DeliveryException" => flag_raised(),
        "FlagsResolved" => detail(vec![("flags", list(of("FlagKind"))), ("reason", text())]),
        "NoteAdded" => one("text", text()),
        "ShipmentUpdated" => json!({ "oneOf": [
            one("shipment", of("ShipmentNews")),
            one("tracking", of("TrackingInput")),
            detail(vec![("shipment_id", text()), ("tracking", of("TrackingInput"))]),
        ] }),
        "PaymentUpdated" => one("payment", of("PaymentNews")),
        "DeliveryUpdated" => one("delivery", of("DeliveryNews")),
        "NotifyPrefsSet" => one("prefs", of("NotifyPrefs")),
        "NotificationRecorded" => one("notification", of("NotificationRecord")),
        "OrderIssueOpened"
        | "OrderIssueAcknowledged"
        | "OrderIssueAssigned"
        | "OrderIssueResolved" => one("issue", of("IssueNews")),
        "SubstitutionsProposed" => one("proposal", of("Proposal")),
        "SubstitutionsAnswered" | "InventoryAdjusted" => answered(),
        "LifecycleMigrated" => detail(vec![
            ("from_lifecycle", text()),
            ("to_lifecycle", text()),
            ("from", text()),
            ("to", text()),
        ]),
        "DispatchUpdated" => one("dispatch", of("DispatchStep")),
        other => unreachable!("detail-type {other} has no schema"),
    }
}

/// The whole document.
pub fn document() -> Value {
    let carried = Carried::openapi();
    let mut defs: Map<String, Value> = carried
        .components
        .map(|c| {
            c.schemas
                .into_iter()
                .map(|(name, schema)| (name, serde_json::to_value(schema).unwrap_or(Value::Null)))
                .collect()
        })
        .unwrap_or_default();
    for detail_type in DETAIL_TYPES {
        defs.insert(format!("{detail_type}Detail"), detail_schema(detail_type));
    }
    let text = serde_json::to_string(&Value::Object(defs))
        .expect("schemas serialize")
        .replace("#/components/schemas/", "#/$defs/");
    let defs: Value = serde_json::from_str(&text).expect("schemas reparse");
    let by_type: Map<String, Value> = DETAIL_TYPES
        .iter()
        .map(|t| (t.to_string(), of(&format!("{t}Detail"))))
        .collect();
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://order-tracking.dev/schemas/events.json",
        "title": "Order tracking events",
        "description": "The `detail` of each entry on the event bus (source `order-tracking`), by detail-type: `#/$defs/<DetailType>Detail`. The feed (`GET /events`) and merchant webhooks carry the same detail as `data`.",
        "detail_types": by_type,
        "$defs": defs,
    })
}

/// The document as committed: pretty, with a final newline.
pub fn document_json() -> String {
    let mut text = serde_json::to_string_pretty(&document()).expect("schemas serialize");
    text.push('\n');
    text
}
