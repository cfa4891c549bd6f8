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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Registered {
    #[serde(flatten)]
    endpoint: Listed,
    /// Shown once: verify each delivery's `Webhook-Signature` with it.
    secret: String,
}

#[cfg_attr(
    feature = "openapi",
    utoipa::path(
        post,
        path = "/webhook-endpoints",
        tag = "merchant webhooks",
        summary = "Register an endpoint (managers); its signing secret is shown this once",
        request_body = NewEndpoint,
        responses((status = 201, description = "The endpoint and its secret", body = Registered)),
        security(("bearer" = [])),
    )
)]
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Endpoints {
    endpoints: Vec<Listed>,
}

#[cfg_attr(
    feature = "openapi",
    utoipa::path(
        get,
        path = "/webhook-endpoints",
        tag = "merchant webhooks",
        summary = "The tenant's endpoints, without secrets (managers)",
        responses((status = 200, description = "The endpoints", body = Endpoints)),
        security(("bearer" = [])),
    )
)]
pub async fn list(
    State(app): State<App>,
    principal: Principal,
) -> Result<Json<Endpoints>, Problem> {
    let endpoints = app.merchants.endpoints(&principal).await?;
    Ok(Json(Endpoints {
        endpoints: endpoints.into_iter().map(Listed::from).collect(),
    }))
}

#[cfg_attr(
    feature = "openapi",
    utoipa::path(
        delete,
        path = "/webhook-endpoints/{id}",
        tag = "merchant webhooks",
        summary = "Remove an endpoint (managers)",
        params(("id" = String, Path, description = "The endpoint id")),
        responses((status = 204, description = "Removed")),
        security(("bearer" = [])),
    )
)]
pub async fn remove(
    State(app): State<App>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode, Problem> {
    app.merchants.remove(&principal, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg_attr(
    feature = "openapi",
    utoipa::path(
        post,
        path = "/webhook-endpoints/{id}/enable",
        tag = "merchant webhooks",
        summary = "Turn a disabled endpoint back on (managers)",
        params(("id" = String, Path, description = "The endpoint id")),
        responses((status = 200, description = "The endpoint", body = Listed)),
        security(("bearer" = [])),
    )
)]
pub async fn enable(
    State(app): State<App>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Listed>, Problem> {
    Ok(Json(app.merchants.enable(&principal, &id).await?.into()))
}

#[derive(Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams), into_params(parameter_in = Query))]
#[serde(deny_unknown_fields)]
pub struct LogQuery {
    #[cfg_attr(feature = "openapi", param(minimum = 1, maximum = 200))]
    limit: Option<usize>,
}

#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Log {
    deliveries: Vec<Delivery>,
}

#[cfg_attr(
    feature = "openapi",
    utoipa::path(
        get,
        path = "/webhook-endpoints/{id}/deliveries",
        tag = "merchant webhooks",
        summary = "The endpoint's deliveries, newest first, each with every attempt (managers)",
        params(("id" = String, Path, description = "The endpoint id"), LogQuery),
        responses((status = 200, description = "The deliveries", body = Log)),
        security(("bearer" = [])),
    )
)]
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

#[cfg_attr(
    feature = "openapi",
    utoipa::path(
        post,
        path = "/webhook-endpoints/{id}/deliveries/{delivery_id}/redeliver",
        tag = "merchant webhooks",
        summary = "Send one delivery again now (managers)",
        params(("id" = String, Path, description = "The endpoint id"), ("delivery_id" = String, Path, description = "The delivery")),
        responses((status = 200, description = "The delivery with the new attempt", body = Delivery)),
        security(("bearer" = [])),
    )
)]
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
