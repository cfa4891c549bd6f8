//! Webhook intake for carriers, payment gateways and delivery partners:
//! `POST /webhooks/{carrier|payment|delivery}/{provider}`.
//!
//! Each request is verified over its raw body in the provider's own
//! signature scheme before anything is read from it; a bad, missing or stale
//! signature is a 401 and nothing is stored, a malformed body a 400. A
//! verified fact is acknowledged (2xx) once it is durably recorded — applied,
//! late, parked, a duplicate, or kept until its order or tracking code
//! appears — so providers stop retrying exactly when they may.

pub mod providers;

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::{Json, Router};
use order_core::http::Problem;
use order_core::service::{FactOutcome, OrderService};
use providers::{Kind, Rejection};
use serde::Serialize;

/// Signing secrets per provider, from configuration (never from code):
/// `WEBHOOK_SECRET_<PROVIDER>`, e.g. `WEBHOOK_SECRET_EASYPOST`,
/// `WEBHOOK_SECRET_STRIPE`, `WEBHOOK_SECRET_MY_CARRIER` for `my-carrier`.
#[derive(Clone, Debug, Default)]
pub struct Secrets(HashMap<String, Vec<u8>>);

impl Secrets {
    pub fn from_env() -> Self {
        Self::from_vars(std::env::vars())
    }

    pub fn from_vars(vars: impl IntoIterator<Item = (String, String)>) -> Self {
        Secrets(
            vars.into_iter()
                .filter_map(|(name, value)| {
                    let provider = name.strip_prefix("WEBHOOK_SECRET_")?;
                    let provider = provider.to_ascii_lowercase().replace('_', "-");
                    (!value.is_empty()).then(|| (provider, value.into_bytes()))
                })
                .collect(),
        )
    }

    pub fn with(mut self, provider: &str, secret: &str) -> Self {
        self.0
            .insert(provider.to_string(), secret.as_bytes().to_vec());
        self
    }

    fn get(&self, provider: &str) -> Option<&[u8]> {
        self.0
            .get(provider)
            .or_else(|| self.0.get(&provider.replace('_', "-")))
            .map(Vec::as_slice)
    }

    pub fn providers(&self) -> impl Iterator<Item = &str> {
        self.0.keys().map(String::as_str)
    }
}

#[derive(Clone)]
struct Intake {
    service: Arc<OrderService>,
    secrets: Arc<Secrets>,
}

pub fn router(service: Arc<OrderService>, secrets: Secrets) -> Router {
    let intake = Intake {
        service,
        secrets: Arc::new(secrets),
    };
    Router::new()
        .route("/webhooks/{kind}/{provider}", post(receive))
        .with_state(intake)
}

#[derive(Serialize)]
struct Receipt {
    received: usize,
    outcomes: Vec<FactOutcome>,
}

fn refused(rejection: &Rejection) -> Problem {
    match rejection {
        Rejection::UnknownProvider => Problem::new(
            StatusCode::NOT_FOUND,
            "Unknown provider",
            "no such webhook provider",
        ),
        Rejection::Unsigned => Problem::new(
            StatusCode::UNAUTHORIZED,
            "Unsigned webhook",
            "the signature header is missing",
        ),
        Rejection::BadSignature => Problem::new(
            StatusCode::UNAUTHORIZED,
            "Bad signature",
            "the signature does not match the body",
        ),
        Rejection::Stale => Problem::new(
            StatusCode::UNAUTHORIZED,
            "Stale signature",
            "the signed timestamp is outside the tolerance (a replay?)",
        ),
        Rejection::Malformed(why) => {
            Problem::new(StatusCode::BAD_REQUEST, "Malformed webhook", why.clone())
        }
    }
}

async fn receive(
    State(intake): State<Intake>,
    Path((kind, provider)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Receipt>, Problem> {
    let kind = Kind::parse(&kind).ok_or_else(|| refused(&Rejection::UnknownProvider))?;
    if !providers::known(kind, &provider) {
        return Err(refused(&Rejection::UnknownProvider));
    }
    let secret = intake.secrets.get(&provider).ok_or_else(|| {
        Problem::new(
            StatusCode::NOT_FOUND,
            "Unknown provider",
            "this provider is not configured here",
        )
    })?;
    let now = intake.service.clock().now();
    let facts =
        providers::intake(kind, &provider, &headers, &body, secret, now).map_err(|rejection| {
            tracing::warn!(%kind, %provider, ?rejection, "webhook refused");
            refused(&rejection)
        })?;
    let mut outcomes = Vec::with_capacity(facts.len());
    for fact in &facts {
        let outcome = intake.service.intake(fact).await?;
        tracing::info!(%kind, %provider, event_id = %fact.event_id, ?outcome, "webhook recorded");
        outcomes.push(outcome);
    }
    Ok(Json(Receipt {
        received: facts.len(),
        outcomes,
    }))
}
