//! The HTTP API's OpenAPI 3.1 document: each function's routes (annotated
//! beside their handlers) merged with the local stack's own, then the
//! problem responses every route shares and the ways callers prove who they
//! are. `GET /openapi.json` serves it; `cargo run -- openapi` prints it.

use utoipa::openapi::path::{HttpMethod, Operation, ParameterIn};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi as Document, Ref, ResponseBuilder};
use utoipa::OpenApi;

use order_core::http::Problem;
use serde_json::{json, Value};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Order tracking",
        description = "Order tracking from checkout to delivery. Staff routes need \
            `Authorization: Bearer <JWT>` (claims `sub`, `tenant_id`, `role`, optional `stores`); \
            everything is scoped to the token's tenant. Errors are `application/problem+json` \
            (RFC 9457). Generated from the code: see the README's \"API contract\".",
        license(name = "MIT", identifier = "MIT"),
    ),
    paths(
        crate::mailbox::list,
        crate::socket::connect,
        healthz,
        openapi_json,
    ),
    tags(
        (name = "checkout", description = "Placing orders"),
        (name = "orders", description = "Staff operations on orders"),
        (name = "drivers", description = "The store's own drivers"),
        (name = "admin", description = "Health, sweeps, lifecycle migrations, the development mailbox"),
        (name = "reports", description = "SLA and span reports"),
        (name = "merchant webhooks", description = "The tenant's endpoints and their deliveries"),
        (name = "tracking", description = "What the customer sees and does, by public id"),
        (name = "live", description = "Server-sent events and the WebSocket"),
        (name = "webhooks", description = "Carrier, payment and delivery partner facts"),
        (name = "pages", description = "HTML pages and their assets"),
        (name = "local", description = "The local stack only"),
    ),
)]
struct Local;

/// Whether the stack is up.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "local",
    responses((status = 200, description = "`ok`", content_type = "text/plain", body = String)),
)]
#[allow(dead_code)] // the route is a closure in `Stack::router`
async fn healthz() {}

/// This document.
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "local",
    responses((status = 200, description = "The OpenAPI 3.1 document", body = Object)),
)]
pub async fn openapi_json() -> axum::Json<Value> {
    axum::Json(document())
}

/// The whole document.
pub fn document() -> Value {
    let mut doc = Local::openapi();
    doc.merge(checkout::openapi::Api::openapi());
    doc.merge(orders::openapi::Api::openapi());
    doc.merge(tracking::openapi::Api::openapi());
    doc.merge(webhooks::openapi::Api::openapi());
    shared_problems(&mut doc);
    security_schemes(&mut doc);
    let mut doc = serde_json::to_value(doc).expect("a document serializes");
    event_details(&mut doc);
    doc
}

/// The feed's entries by detail-type, each `data` the detail the bus
/// carries (the schemas of `schemas/events.json`), instead of any object.
fn event_details(doc: &mut Value) {
    let events = crate::event_schemas::document();
    let text = events["$defs"]
        .to_string()
        .replace("#/$defs/", "#/components/schemas/");
    let Ok(Value::Object(details)) = serde_json::from_str::<Value>(&text) else {
        unreachable!("the event schemas are an object")
    };
    let schemas = doc["components"]["schemas"]
        .as_object_mut()
        .expect("the document has schemas");
    for (name, schema) in details {
        schemas.entry(name).or_insert(schema);
    }
    let entries: Vec<Value> = events["detail_types"]
        .as_object()
        .expect("detail-types")
        .iter()
        .map(|(detail_type, detail)| {
            let detail = detail["$ref"].as_str().unwrap_or_default();
            json!({
                "type": "object",
                "required": ["id", "type", "data"],
                "properties": {
                    "id": { "type": "string", "description": "The event's id, for deduplication" },
                    "type": { "type": "string", "enum": [detail_type] },
                    "data": { "$ref": detail.replace("#/$defs/", "#/components/schemas/") },
                },
            })
        })
        .collect();
    schemas.insert(
        "Envelope".into(),
        json!({
            "description": "An event as a merchant gets it, from the feed or pushed to an endpoint: its id, its detail-type and the detail the bus carries.",
            "oneOf": entries,
        }),
    );
}

/// The document as committed: pretty, with a final newline.
pub fn document_json() -> String {
    let mut text = serde_json::to_string_pretty(&document()).expect("a document serializes");
    text.push('\n');
    text
}

/// The problems any route of a kind may answer, from the one place that
/// maps errors to statuses (`order_core::http`), so no operation has to
/// repeat them: a rejected path, query or body (400, 413, 415), a token
/// (401, 403), an unknown resource (404), a lost race or refused write on
/// a command (409, 422), a rate limit (429), and the store (500, 503).
fn shared_problems(doc: &mut Document) {
    let components = doc.components.get_or_insert_with(Default::default);
    components.schemas.insert(
        "Problem".into(),
        <Problem as utoipa::PartialSchema>::schema(),
    );
    for (status, name, description) in SHARED {
        let content = ContentBuilder::new()
            .schema(Some(Ref::from_schema_name("Problem")))
            .build();
        let mut response = ResponseBuilder::new()
            .description(*description)
            .content("application/problem+json", content);
        if *status == 429 {
            let seconds = utoipa::openapi::ObjectBuilder::new()
                .schema_type(utoipa::openapi::schema::Type::Integer)
                .minimum(Some(1));
            response = response.header(
                "Retry-After",
                utoipa::openapi::HeaderBuilder::new()
                    .schema(seconds)
                    .description(Some("Whole seconds until the request would be let through"))
                    .build(),
            );
        }
        components.responses.insert((*name).into(), response.into());
    }
    for (path, item) in doc.paths.paths.iter_mut() {
        let has_path_params = path.contains('{');
        for method in [
            HttpMethod::Get,
            HttpMethod::Post,
            HttpMethod::Put,
            HttpMethod::Delete,
        ] {
            let Some(op) = operation(item, &method) else {
                continue;
            };
            if path == "/healthz" || path == "/openapi.json" {
                continue;
            }
            let has_query = op
                .parameters
                .iter()
                .flatten()
                .any(|p| matches!(p.parameter_in, ParameterIn::Query));
            let has_body = op.request_body.is_some();
            let bearer = op.security.as_ref().is_some_and(|s| {
                serde_json::to_value(s).is_ok_and(|v| v.to_string().contains("\"bearer\""))
            });
            let command = method != HttpMethod::Get;
            let mut add = |status: &str, name: &str| {
                op.responses
                    .responses
                    .entry(status.into())
                    .or_insert_with(|| Ref::new(format!("#/components/responses/{name}")).into());
            };
            if has_path_params || has_query || has_body {
                add("400", "BadRequest");
            }
            if has_body {
                add("413", "PayloadTooLarge");
                add("415", "UnsupportedMediaType");
            }
            if bearer {
                add("401", "Unauthorized");
                add("403", "Forbidden");
            }
            if has_path_params || bearer {
                add("404", "NotFound");
            }
            if command {
                add("409", "Conflict");
                add("422", "Unprocessable");
            }
            add("429", "TooManyRequests");
            add("500", "InternalError");
            add("503", "Unavailable");
        }
    }
}

const SHARED: &[(u16, &str, &str)] = &[
    (400, "BadRequest", "A path, query or body that does not parse or breaks a limit; nothing changed"),
    (401, "Unauthorized", "No token, or a bad one"),
    (403, "Forbidden", "The token's role or stores do not allow it"),
    (404, "NotFound", "Unknown, or another tenant's"),
    (409, "Conflict", "A version conflict or lost race (with `current_version` and `current_status`), or a write the store refused"),
    (413, "PayloadTooLarge", "The body is over 256 KiB"),
    (415, "UnsupportedMediaType", "The body is not `application/json`"),
    (422, "Unprocessable", "Illegal now (with `current_status` and `allowed_actions` when a transition), or not configured"),
    (429, "TooManyRequests", "A rate limit's bucket is empty (local stack with `--rate-limits`; API Gateway's throttling on AWS)"),
    (500, "InternalError", "Something stored does not decode; retrying will not help"),
    (503, "Unavailable", "The store (or a provider) cannot be reached; retry"),
];

fn operation<'a>(
    item: &'a mut utoipa::openapi::PathItem,
    method: &HttpMethod,
) -> Option<&'a mut Operation> {
    match method {
        HttpMethod::Get => item.get.as_mut(),
        HttpMethod::Post => item.post.as_mut(),
        HttpMethod::Put => item.put.as_mut(),
        HttpMethod::Delete => item.delete.as_mut(),
        _ => None,
    }
}

/// Staff prove who they are with a JWT; providers sign their webhooks,
/// each in its own header (the operations' descriptions say how).
fn security_schemes(doc: &mut Document) {
    let components = doc.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        "bearer",
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .bearer_format("JWT")
                .description(Some("HS256 locally (`cargo run -- token`), the deployment's issuer on AWS; claims `sub`, `tenant_id`, `role`, optional `stores`"))
                .build(),
        ),
    );
    for (name, header, how) in [
        (
            "easypost",
            "X-Hmac-Signature",
            "`hmac-sha256-hex=` and the hex HMAC-SHA256 of the raw body",
        ),
        (
            "aftership",
            "aftership-hmac-sha256",
            "the base64 HMAC-SHA256 of the raw body",
        ),
        (
            "stripe",
            "Stripe-Signature",
            "`t=<unix time>,v1=<hex HMAC-SHA256 of \"<t>.<body>\">`, at most 5 minutes old",
        ),
        ("doordash", "X-DoorDash-Signature", "`t=…,v1=…` as Stripe's"),
        (
            "uber",
            "X-Uber-Signature",
            "the hex HMAC-SHA256 of the raw body (`X-Postmates-Signature` too)",
        ),
        (
            "carrier",
            "X-Webhook-Signature",
            "any other carrier: `t=…,v1=…` as Stripe's",
        ),
    ] {
        components.add_security_scheme(
            name,
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                header,
                &format!("Signed with the tenant's secret for {name}: {how}"),
            ))),
        );
    }
}
