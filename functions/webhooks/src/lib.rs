//! Webhook intake for carriers, payment gateways and delivery partners:
//! `POST /webhooks/{tenant}/{carrier|payment|delivery}/{provider}`.
//!
//! Each tenant connects its own provider accounts, so the URL names the
//! tenant and the request must be signed with *that tenant's* secret for
//! that provider; every look-up the fact then makes is scoped to the tenant.
//! A fact can never choose its tenant by a tracking code or an order id.
//!
//! Each request is verified over its raw body in the provider's own
//! signature scheme before anything is read from it; a bad, missing or stale
//! signature is a 401 and nothing is stored, a malformed body a 400. A
//! verified fact is acknowledged (2xx) once it is durably recorded — applied,
//! late, parked, a duplicate, or kept until its order or tracking code
//! appears — so providers stop retrying exactly when they may.
//!
//! The single-secret URLs of earlier releases, `/webhooks/{kind}/{provider}`,
//! are served for one named tenant only (see [`Secrets`]), so a deployment
//! can move its provider dashboards over one at a time.

#[cfg(feature = "openapi")]
pub mod openapi;
pub mod providers;

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::post;
use axum::{Json, Router};
use order_core::http::{ApiPath, Problem, RawBody};
use order_core::metrics::{self, Metric};
use order_core::order::Disposition;
use order_core::service::{FactOutcome, OrderService};
use providers::{Provider, Rejection};
use serde::Serialize;

/// Signing secrets per tenant and provider, from configuration (never from
/// code):
///
/// - `WEBHOOK_SECRETS`: `{"<tenant>": {"<provider>": "<secret>", …}, …}`,
///   e.g. `{"acme": {"easypost": "…", "stripe": "whsec_…"}}`, served at
///   `/webhooks/<tenant>/<kind>/<provider>`;
/// - the earlier single-secret URLs `/webhooks/<kind>/<provider>`, with
///   `WEBHOOK_SECRET_<PROVIDER>` (e.g. `WEBHOOK_SECRET_EASYPOST`), are served
///   only for the tenant named by `WEBHOOK_LEGACY_TENANT`, and are off (404)
///   until it is set.
#[derive(Clone, Debug, Default)]
pub struct Secrets {
    /// tenant → provider → secret.
    tenants: HashMap<String, HashMap<String, Vec<u8>>>,
    /// The tenant the single-secret URLs belong to, and their secrets.
    legacy: Option<(String, HashMap<String, Vec<u8>>)>,
}

impl Secrets {
    pub fn from_env() -> Result<Self, String> {
        Self::from_vars(std::env::vars())
    }

    pub fn from_vars(vars: impl IntoIterator<Item = (String, String)>) -> Result<Self, String> {
        let mut secrets = Secrets::default();
        let mut legacy = HashMap::new();
        let mut legacy_tenant = None;
        for (name, value) in vars {
            if value.is_empty() {
                continue;
            }
            if name == "WEBHOOK_SECRETS" {
                let parsed: HashMap<String, HashMap<String, String>> =
                    serde_json::from_str(&value).map_err(|e| format!("WEBHOOK_SECRETS: {e}"))?;
                for (tenant, providers) in parsed {
                    for (provider, secret) in providers {
                        secrets = secrets.with(&tenant, &provider, &secret);
                    }
                }
            } else if name == "WEBHOOK_LEGACY_TENANT" {
                legacy_tenant = Some(value);
            } else if let Some(provider) = name.strip_prefix("WEBHOOK_SECRET_") {
                let provider = provider.to_ascii_lowercase().replace('_', "-");
                legacy.insert(provider, value.into_bytes());
            }
        }
        match legacy_tenant {
            Some(tenant) => secrets.legacy = Some((tenant, legacy)),
            None if !legacy.is_empty() => tracing::warn!(
                "WEBHOOK_SECRET_<PROVIDER> is set but WEBHOOK_LEGACY_TENANT is not: the \
                 single-secret URLs stay off until it names their tenant; per-tenant \
                 secrets go in WEBHOOK_SECRETS"
            ),
            None => {}
        }
        Ok(secrets)
    }

    /// Connects `tenant`'s account at `provider`.
    pub fn with(mut self, tenant: &str, provider: &str, secret: &str) -> Self {
        self.tenants
            .entry(tenant.to_string())
            .or_default()
            .insert(provider.to_string(), secret.as_bytes().to_vec());
        self
    }

    /// The secret of `tenant`'s connection to `provider`.
    fn get(&self, tenant: &str, provider: &str) -> Option<&[u8]> {
        lookup(self.tenants.get(tenant)?, provider)
    }

    /// The tenant and secret behind a single-secret URL.
    fn legacy(&self, provider: &str) -> Option<(&str, &[u8])> {
        let (tenant, secrets) = self.legacy.as_ref()?;
        Some((tenant.as_str(), lookup(secrets, provider)?))
    }

    /// `(tenant, provider)` of every connection, for the start-up banner.
    pub fn connections(&self) -> impl Iterator<Item = (&str, &str)> {
        self.tenants.iter().flat_map(|(tenant, providers)| {
            providers
                .keys()
                .map(move |provider| (tenant.as_str(), provider.as_str()))
        })
    }
}

fn lookup<'a>(secrets: &'a HashMap<String, Vec<u8>>, provider: &str) -> Option<&'a [u8]> {
    secrets
        .get(provider)
        .or_else(|| secrets.get(&provider.replace('_', "-")))
        .map(Vec::as_slice)
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
        .route("/webhooks/{tenant}/{kind}/{provider}", post(receive))
        .route("/webhooks/{kind}/{provider}", post(receive_legacy))
        .with_state(intake)
}

#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
struct Receipt {
    received: usize,
    outcomes: Vec<FactOutcome>,
}

#[cfg_attr(
    feature = "openapi",
    utoipa::path(
        post,
        path = "/webhooks/{tenant}/{kind}/{provider}",
        tag = "webhooks",
        summary = "A provider's facts, signed with the tenant's own secret",
        description = "Verified over the raw body in the provider's own scheme with the tenant's secret for that provider:
        `easypost` `X-Hmac-Signature: hmac-sha256-hex=<hex HMAC-SHA256 of the body>`;
        `aftership` `aftership-hmac-sha256: <base64 HMAC-SHA256 of the body>`;
        `stripe` `Stripe-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of <t>.<body>>`;
        `doordash` `X-DoorDash-Signature` and any other carrier name `X-Webhook-Signature`, both `t=…,v1=…` like Stripe's;
        `uber` `X-Uber-Signature` (or `X-Postmates-Signature`): hex HMAC-SHA256 of the body.
        A bad, missing or stale signature is a 401 and nothing is stored; a malformed body a 400. A verified fact is acknowledged once durably recorded.",
        params(
            ("tenant" = String, Path, description = "The tenant whose provider account sends it"),
            ("kind" = String, Path, description = "`carrier`, `payment` or `delivery`"),
            ("provider" = String, Path, description = "`easypost`, `aftership`, `stripe`, `doordash`, `uber`, or any other carrier name `[a-z0-9_-]{1,32}`"),
        ),
        request_body(content = serde_json::Value, description = "The provider's own event body, as it sends it"),
        responses(
            (status = 200, description = "Recorded (applied, late, parked, a duplicate, or kept until its order appears)", body = Receipt),
            (status = 401, description = "Missing, bad or stale signature", body = Problem, content_type = "application/problem+json"),
            (status = 404, description = "Unknown provider, or not connected for this tenant", body = Problem, content_type = "application/problem+json"),
        ),
        security(("easypost" = []), ("aftership" = []), ("stripe" = []), ("doordash" = []), ("uber" = []), ("carrier" = [])),
    )
)]
async fn receive(
    State(intake): State<Intake>,
    ApiPath((tenant, kind, provider)): ApiPath<(String, String, String)>,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Result<Json<Receipt>, Problem> {
    let secret = intake.secrets.get(&tenant, &provider);
    accept(&intake, &tenant, &kind, &provider, secret, &headers, &body).await
}

/// A single-secret URL of an earlier release: the configured tenant's only.
#[cfg_attr(
    feature = "openapi",
    utoipa::path(
        post,
        path = "/webhooks/{kind}/{provider}",
        tag = "webhooks",
        summary = "The earlier single-secret URLs, for one configured tenant",
        description = "Off (404) unless `WEBHOOK_LEGACY_TENANT` is set. Signatures as on the per-tenant route.",
        params(
            ("kind" = String, Path, description = "`carrier`, `payment` or `delivery`"),
            ("provider" = String, Path, description = "The provider"),
        ),
        request_body(content = serde_json::Value, description = "The provider's own event body"),
        responses(
            (status = 200, description = "Recorded", body = Receipt),
            (status = 401, description = "Missing, bad or stale signature", body = Problem, content_type = "application/problem+json"),
            (status = 404, description = "Unknown provider, or the single-secret URLs are off", body = Problem, content_type = "application/problem+json"),
        ),
        security(("easypost" = []), ("aftership" = []), ("stripe" = []), ("doordash" = []), ("uber" = []), ("carrier" = [])),
    )
)]
async fn receive_legacy(
    State(intake): State<Intake>,
    ApiPath((kind, provider)): ApiPath<(String, String)>,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Result<Json<Receipt>, Problem> {
    let (tenant, secret) = intake.secrets.legacy(&provider).unzip();
    let tenant = tenant.unwrap_or_default();
    accept(&intake, tenant, &kind, &provider, secret, &headers, &body).await
}

/// Where both routes meet: the provider is looked up, the tenant's
/// connection to it checked, the request verified and read, and each fact
/// recorded.
async fn accept(
    intake: &Intake,
    tenant: &str,
    kind: &str,
    provider: &str,
    secret: Option<&[u8]>,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Json<Receipt>, Problem> {
    // Every refusal is logged here and only here, with the tenant it was
    // meant for. The URL's segments are the sender's words until they match
    // a connection, so they are logged escaped: none can forge a log line.
    let refused = |rejection: Rejection| {
        tracing::warn!(
            ?tenant,
            ?kind,
            ?provider,
            reason = rejection.title(),
            detail = %rejection,
            "webhook refused"
        );
        metrics::count(Metric::WebhookRejections, rejection.reason(), 1);
        Problem::new(rejection.status(), rejection.title(), rejection.to_string())
    };
    let found = Provider::find(kind, provider).map_err(refused)?;
    let secret = secret.ok_or(Rejection::NotConnected).map_err(refused)?;
    let now = intake.service.now();
    let facts = found.intake(headers, body, secret, now).map_err(refused)?;
    let mut outcomes = Vec::with_capacity(facts.len());
    for fact in &facts {
        let outcome = intake.service.intake(tenant, fact).await?;
        tracing::info!(%tenant, %kind, %provider, event_id = %fact.event_id, ?outcome, "webhook recorded");
        metrics::count(Metric::Facts, placement(&outcome), 1);
        outcomes.push(outcome);
    }
    Ok(Json(Receipt {
        received: facts.len(),
        outcomes,
    }))
}

/// Where a fact landed, as the facts metric counts it.
fn placement(outcome: &FactOutcome) -> &'static str {
    match outcome {
        FactOutcome::Recorded { disposition, .. } => match disposition {
            Disposition::Applied => "applied",
            Disposition::Late => "late",
            Disposition::Parked => "parked",
            Disposition::Conflict => "conflict",
            Disposition::Discarded => "discarded",
        },
        FactOutcome::Duplicate => "duplicate",
        FactOutcome::Unmatched => "waiting",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn each_tenant_has_its_own_secret_per_provider() {
        let secrets = Secrets::from_vars(vars(&[(
            "WEBHOOK_SECRETS",
            r#"{"acme": {"easypost": "a", "my-carrier": "c"}, "globex": {"easypost": "g"}}"#,
        )]))
        .unwrap();
        assert_eq!(secrets.get("acme", "easypost"), Some(&b"a"[..]));
        assert_eq!(secrets.get("globex", "easypost"), Some(&b"g"[..]));
        assert_eq!(secrets.get("acme", "my_carrier"), Some(&b"c"[..]));
        assert_eq!(secrets.get("globex", "stripe"), None);
        assert_eq!(secrets.get("initech", "easypost"), None);
        assert_eq!(secrets.legacy("easypost"), None);
    }

    #[test]
    fn single_secret_urls_need_the_tenant_they_belong_to() {
        let old = ("WEBHOOK_SECRET_MY_CARRIER", "s");
        let off = Secrets::from_vars(vars(&[old])).unwrap();
        assert_eq!(off.legacy("my-carrier"), None);
        let on = Secrets::from_vars(vars(&[old, ("WEBHOOK_LEGACY_TENANT", "acme")])).unwrap();
        assert_eq!(on.legacy("my-carrier"), Some(("acme", &b"s"[..])));
        assert_eq!(on.get("acme", "my-carrier"), None, "not a per-tenant URL");
    }

    #[test]
    fn malformed_secrets_are_a_start_up_error() {
        let error = Secrets::from_vars(vars(&[("WEBHOOK_SECRETS", "{acme")])).unwrap_err();
        assert!(error.starts_with("WEBHOOK_SECRETS:"), "{error}");
    }
}
