//! Checkout: `POST /orders` places an order and freezes its snapshot.
//!
//! An `Idempotency-Key` header makes retries safe: the same key and body give
//! back the same order; the same key with a different body is a 422.

#[cfg(feature = "openapi")]
pub mod openapi;
use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use order_core::auth::Principal;
use order_core::http::{ApiJson, Problem};
use order_core::service::{Checkout, OrderService};

pub fn router(service: Arc<OrderService>) -> Router {
    Router::new()
        .route("/orders", post(place_order))
        .with_state(service)
}

fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, Problem> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    match value.to_str() {
        Ok(key) if !key.trim().is_empty() && key.len() <= 255 => Ok(Some(key.trim().to_string())),
        _ => Err(Problem::new(
            StatusCode::BAD_REQUEST,
            "Invalid Idempotency-Key",
            "the Idempotency-Key header must be 1-255 visible ASCII characters",
        )),
    }
}

#[cfg_attr(
    feature = "openapi",
    utoipa::path(
        post,
        path = "/orders",
        tag = "checkout",
        summary = "Place an order",
        description = "Retrying with the same `Idempotency-Key` and body returns the same order (200, `Idempotent-Replayed: true`); the same key with another body is a 422.",
        params(("Idempotency-Key" = Option<String>, Header, description = "1-255 visible characters; makes retries safe")),
        request_body(content = Checkout, example = json!({
            "customer_id": "cus_42",
            "currency": "CAD",
            "fulfilment": "shipping",
            "items": [{"sku": "TEA-1", "name": "Green tea", "quantity": 2, "unit_price": 1250}],
            "shipping": {"method": "standard", "name": "Ada Lovelace",
        "address": {"line1": "1 Main St", "city": "Toronto", "region": "ON", "postal_code": "M5V 1A1", "country": "CA"}},
            "contact": {"email": "ada@example.com"}
        })),
        responses(
            (status = 201, description = "The order placed", body = order_core::views::OrderView, headers(("Location" = String, description = "The order's URL"))),
            (status = 200, description = "A replay of an earlier checkout with the same key and body", body = order_core::views::OrderView,
                headers(("Idempotent-Replayed" = String, description = "`true`"), ("Location" = String, description = "The order's URL"))),
            (status = 422, description = "The key was used with another body", body = Problem, content_type = "application/problem+json"),
        ),
        security(("bearer" = [])),
    )
)]
async fn place_order(
    State(service): State<Arc<OrderService>>,
    principal: Principal,
    headers: HeaderMap,
    ApiJson(request): ApiJson<Checkout>,
) -> Result<Response, Problem> {
    let key = idempotency_key(&headers)?;
    let placed = service.place(&principal, request, key).await?;
    let id = placed.body["id"].as_str().unwrap_or_default().to_string();
    let status = if placed.replayed {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    let mut response = (status, Json(placed.body)).into_response();
    if let Ok(location) = format!("/orders/{id}").parse() {
        response.headers_mut().insert(header::LOCATION, location);
    }
    if placed.replayed {
        response.headers_mut().insert(
            "idempotent-replayed",
            header::HeaderValue::from_static("true"),
        );
    }
    Ok(response)
}
