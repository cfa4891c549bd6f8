//! The API contract: the committed OpenAPI document and event schemas are
//! what the code generates, every route the routers serve is in the
//! document, the stack serves it without a token, and the events it
//! publishes have the members their detail-type's schema names.

use std::collections::BTreeSet;
use std::time::Duration;

use order_core::auth::Role;
use reqwest::Method;
use serde_json::{json, Value};

use crate::common::*;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn committed(path: &str) -> String {
    std::fs::read_to_string(format!("{ROOT}/{path}")).unwrap_or_default()
}

#[test]
fn the_committed_openapi_document_is_the_generated_one() {
    assert!(
        committed("openapi.json") == order_tracking::openapi::document_json(),
        "openapi.json is not what the code generates; regenerate it with\n    \
         cargo run -- openapi > openapi.json\nand commit the difference"
    );
}

#[test]
fn the_committed_event_schemas_are_the_generated_ones() {
    assert!(
        committed("schemas/events.json") == order_tracking::event_schemas::document_json(),
        "schemas/events.json is not what the code generates; regenerate it with\n    \
         cargo run -- event-schemas > schemas/events.json\nand commit the difference"
    );
}

/// Every `.route("…")` in the routers' sources, so a route added without
/// its `#[utoipa::path]` fails here.
fn routes_in_sources() -> BTreeSet<String> {
    let mut files = vec![format!("{ROOT}/src")];
    let mut routes = BTreeSet::new();
    for function in std::fs::read_dir(format!("{ROOT}/functions")).unwrap() {
        files.push(function.unwrap().path().join("src").display().to_string());
    }
    while let Some(path) = files.pop() {
        let path = std::path::Path::new(&path);
        if path.is_dir() {
            for entry in std::fs::read_dir(path).unwrap() {
                files.push(entry.unwrap().path().display().to_string());
            }
            continue;
        }
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let text = std::fs::read_to_string(path).unwrap();
        for (at, _) in text.match_indices(".route(") {
            let rest = text[at + ".route(".len()..].trim_start();
            if let Some(literal) = rest.strip_prefix('"') {
                routes.insert(literal[..literal.find('"').unwrap()].to_string());
            }
        }
    }
    routes
}

#[test]
fn every_route_the_routers_serve_is_documented() {
    let document = order_tracking::openapi::document();
    let documented: BTreeSet<String> = document["paths"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    let served = routes_in_sources();
    let missing: Vec<_> = served.difference(&documented).collect();
    let extra: Vec<_> = documented.difference(&served).collect();
    assert!(missing.is_empty(), "served but not documented: {missing:?}");
    assert!(extra.is_empty(), "documented but not served: {extra:?}");
    assert!(served.len() > 40, "{served:?}");
}

#[tokio::test]
async fn the_stack_serves_the_document_without_a_token() {
    let server = start();
    let resp = server.call(Method::GET, "/openapi.json", None, None).await;
    assert_eq!(resp.status, 200, "{}", resp.text);
    assert!(resp.content_type().starts_with("application/json"));
    assert_eq!(resp.json["openapi"], "3.1.0");
    assert_eq!(resp.json, order_tracking::openapi::document());
    let schemes = &resp.json["components"]["securitySchemes"];
    assert_eq!(schemes["bearer"]["scheme"], "bearer");
    assert_eq!(schemes["stripe"]["name"], "Stripe-Signature");
}

/// The feed (each entry's `data` is the bus detail) once it holds `count`
/// events.
async fn feed(server: &Server, token: &str, count: usize) -> Vec<Value> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let events = server.get("/events?limit=200", token).await.expect(200)["events"]
            .as_array()
            .unwrap()
            .clone();
        if events.len() >= count || tokio::time::Instant::now() > deadline {
            return events;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The members a detail of this schema has: its `properties`.
fn members(schema: &Value) -> BTreeSet<String> {
    schema["properties"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect()
}

#[tokio::test]
async fn published_events_have_the_members_their_schema_names() {
    let server = start();
    let manager = token("acme", Role::Manager);
    let order = server
        .place(&manager, &checkout_body("cus_1", "shipping"))
        .await;
    let id = str_of(&order, "id");
    let public_id = str_of(&order, "public_id");
    let post = |path: String, body: Value| {
        let server = &server;
        let manager = &manager;
        async move {
            let resp = server
                .call(Method::POST, &path, Some(manager), Some(&body))
                .await;
            assert!(resp.status < 300, "{path}: {} {}", resp.status, resp.text);
        }
    };
    post(format!("/orders/{id}/notes"), json!({"text": "gift wrap"})).await;
    post(
        format!("/orders/{id}/issues"),
        json!({"kind": "damaged", "severity": "low", "summary": "a dented box"}),
    )
    .await;
    server.advance(&manager, id, "confirmed", json!({})).await;
    server.advance(&manager, id, "packing", json!({})).await;
    server
        .advance(&manager, id, "shipped", json!({ "tracking": tracking() }))
        .await;
    // Another package: a tracking code after the fact.
    post(
        format!("/orders/{id}/shipments"),
        json!({"carrier": "ups", "code": "1Z999AA10123456784"}),
    )
    .await;
    let customer = server
        .call(
            Method::POST,
            &format!("/track/{public_id}/notifications"),
            None,
            Some(&json!({"opted_out": true})),
        )
        .await;
    assert_eq!(customer.status, 200, "{}", customer.text);

    let schemas = order_tracking::event_schemas::document();
    let events = feed(&server, &manager, 8).await;
    let mut kinds = BTreeSet::new();
    for event in &events {
        let kind = event["type"].as_str().unwrap();
        kinds.insert(kind.to_string());
        let name = schemas["detail_types"][kind]["$ref"]
            .as_str()
            .unwrap_or_else(|| panic!("no schema for {kind}"))
            .trim_start_matches("#/$defs/");
        let schema = &schemas["$defs"][name];
        let alternatives = match schema["oneOf"].as_array() {
            Some(several) => several.clone(),
            None => vec![schema.clone()],
        };
        let have: BTreeSet<String> = event["data"].as_object().unwrap().keys().cloned().collect();
        assert!(
            alternatives.iter().any(|s| members(s) == have),
            "{kind}: {have:?} is none of {:?}",
            alternatives.iter().map(members).collect::<Vec<_>>()
        );
    }
    for kind in [
        "OrderPlaced",
        "NoteAdded",
        "OrderIssueOpened",
        "ShipmentUpdated",
        "NotifyPrefsSet",
        "OrderStatusChanged",
    ] {
        assert!(kinds.contains(kind), "{kind} not published: {kinds:?}");
    }
}
