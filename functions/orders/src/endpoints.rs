//! Merchant webhook endpoints, for a tenant's managers: register one (its
//! signing secret is shown in that answer only), list them, remove or turn
//! one back on, read its deliveries and send one again.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, Utc};
use order_core::auth::Principal;
use order_core::http::{ApiJson, ApiPath, ApiQuery, Problem};
use order_core::merchant::{Delivery, Endpoint, NewEndpoint};
use serde::{Deserialize, Serialize};

use crate::{page_size, App};

/// An endpoint as listed: everything but its secret.
#[derive(Serialize)]
pub struct Listed {
    id: String,
    url: String,
    events: Vec<String>,
    enabled: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    disabled_reason: Option<String>,
    created_at: DateTime<Utc>,
}

impl From<Endpoint> for Listed {
    fn from(e: Endpoint) -> Self {
        Listed {
            id: e.id,
            url: e.url,
            events: e.events,
            enabled: e.enabled,
            disabled_reason: e.disabled_reason,
            created_at: e.created_at,
        }
    }
}

#[derive(Serialize)]
pub struct Registered {
    #[serde(flatten)]
    endpoint: Listed,
    /// Shown once: verify each delivery's `Webhook-Signature` with it.
    secret: String,
}

pub async fn register(
    State(app): State<App>,
    principal: Principal,
    ApiJson(new): ApiJson<NewEndpoint>,
) -> Result<(StatusCode, Json<Registered>), Problem> {
    let endpoint = app.merchants.register(&principal, new).await?;
    let secret = endpoint.secret.clone();
    let endpoint = endpoint.into();
    Ok((StatusCode::CREATED, Json(Registered { endpoint, secret })))
}

#[derive(Serialize)]
pub struct Endpoints {
    endpoints: Vec<Listed>,
}

pub async fn list(
    State(app): State<App>,
    principal: Principal,
) -> Result<Json<Endpoints>, Problem> {
    let endpoints = app.merchants.endpoints(&principal).await?;
    Ok(Json(Endpoints {
        endpoints: endpoints.into_iter().map(Listed::from).collect(),
    }))
}

pub async fn remove(
    State(app): State<App>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode, Problem> {
    app.merchants.remove(&principal, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn enable(
    State(app): State<App>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Listed>, Problem> {
    Ok(Json(app.merchants.enable(&principal, &id).await?.into()))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogQuery {
    limit: Option<usize>,
}

#[derive(Serialize)]
pub struct Log {
    deliveries: Vec<Delivery>,
}

pub async fn deliveries(
    State(app): State<App>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
    ApiQuery(query): ApiQuery<LogQuery>,
) -> Result<Json<Log>, Problem> {
    let limit = page_size(query.limit)?;
    let deliveries = app.merchants.deliveries(&principal, &id, limit).await?;
    Ok(Json(Log { deliveries }))
}

pub async fn redeliver(
    State(app): State<App>,
    principal: Principal,
    ApiPath((id, delivery_id)): ApiPath<(String, String)>,
) -> Result<Json<Delivery>, Problem> {
    Ok(Json(
        app.merchants
            .redeliver(&principal, &id, &delivery_id)
            .await?,
    ))
}
