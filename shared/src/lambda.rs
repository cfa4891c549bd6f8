//! What every HTTP Lambda function's `main` shares: the service built from
//! the environment (once per container, outside any handler), the glue
//! from API Gateway's verified JWT claims to the handlers' `Principal`, and
//! the invocation's deadline handed to handlers as a [`Deadline`].

use std::collections::HashMap;
use std::sync::Arc;
use std::time::SystemTime;

use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;
use lambda_http::request::RequestContext;

use crate::auth::{Claims as JwtClaims, Principal};
use crate::deadline::Deadline;
use crate::http::{method_not_allowed, not_found, Problem};
use crate::lifecycle::Catalog;
use crate::live::Live;
use crate::merchant::UrlPolicy;
use crate::metrics::{self, Metric};
use crate::pii::{KeyFile, Kms, Vault};
use crate::ports::{Claims, DataKeys, KeyWrap, MerchantStore, OrderStore, SystemClock, Tickets};
use crate::service::Merchants;
use crate::service::OrderService;
use crate::store::DynamoStore;
use crate::tenants::Tenants;
use crate::webhook_sender::HttpPost;

pub type Error = Box<dyn std::error::Error + Send + Sync>;

/// The order service, configured from the environment:
/// - `TABLE_NAME`: the DynamoDB table (the AWS deployment);
/// - or `ORDER_TRACKING_SQLITE`: an embedded store file, so the binaries run
///   under `cargo lambda watch` with no AWS at all (builds with the
///   `embedded` feature only, as the tests make them; a deployed function
///   carries no SQLite);
/// - `TENANTS_JSON` (optional): tenant policies, as in the local stack's file;
/// - `CARRIER_API_URL` (optional): where managers' re-fetches ask carriers;
/// - `PII_KMS_KEY_ID` (the KMS key wrapping customers' data keys) or
///   `ORDER_TRACKING_KEY_FILE` (a local master key file): personal data is
///   sealed only with one of them (README › Personal data).
pub async fn service_from_env() -> Result<Arc<OrderService>, Error> {
    Ok(backends_from_env().await?.service)
}

/// What the staff API stands on: the order service, where staff WebSocket
/// tickets wait, and merchant webhooks — all over the same table; on the
/// embedded store, tickets in this process's memory.
pub struct Backends {
    pub service: Arc<OrderService>,
    pub tickets: Arc<dyn Tickets>,
    pub merchants: Arc<Merchants>,
    /// Notifications sent once per event and channel.
    pub claims: Arc<dyn Claims>,
    /// The SDK configuration the table's client was built with, for the
    /// function's other clients (none on the embedded store).
    pub sdk: Option<aws_config::SdkConfig>,
}

pub async fn backends_from_env() -> Result<Backends, Error> {
    let catalog = Arc::new(Catalog::presets());
    let mut sdk = None;
    let stores = if let Ok(table) = std::env::var("TABLE_NAME") {
        let config = crate::aws::sdk_config().await;
        let table = Arc::new(table_store(&config, table, &catalog));
        sdk = Some(config);
        Stores {
            orders: table.clone(),
            tickets: table.clone(),
            merchants: table.clone(),
            claims: table.clone(),
            data_keys: table,
        }
    } else if let Ok(path) = std::env::var("ORDER_TRACKING_SQLITE") {
        embedded_store(&path, &catalog)?
    } else {
        return Err(
            "set TABLE_NAME (DynamoDB) or ORDER_TRACKING_SQLITE (embedded store file)".into(),
        );
    };
    // The local stack's development flag, for binaries run on a laptop or
    // in the tests; no deployment sets it.
    let allow_loopback =
        std::env::var("ORDER_TRACKING_ALLOW_LOOPBACK_WEBHOOKS").is_ok_and(|v| v == "true");
    let merchants = Arc::new(Merchants::new(
        stores.merchants,
        Arc::new(HttpPost::new(allow_loopback)),
        Arc::new(SystemClock),
        UrlPolicy { allow_loopback },
    ));
    let vault = vault_from_env(sdk.as_ref(), stores.data_keys).await?;
    Ok(Backends {
        service: service_with(stores.orders, catalog, vault)?,
        tickets: stores.tickets,
        merchants,
        claims: stores.claims,
        sdk,
    })
}

/// The service over `store`, with the tenants' policies and the carrier
/// API the environment names.
pub fn service_over(
    store: Arc<dyn OrderStore>,
    catalog: Arc<Catalog>,
) -> Result<Arc<OrderService>, Error> {
    service_with(store, catalog, None)
}

/// The vault the environment names: KMS (`PII_KMS_KEY_ID`) or a local key
/// file (`ORDER_TRACKING_KEY_FILE`), the data keys kept in `keys`.
async fn vault_from_env(
    sdk: Option<&aws_config::SdkConfig>,
    keys: Arc<dyn DataKeys>,
) -> Result<Option<Arc<Vault>>, Error> {
    let wrap: Arc<dyn KeyWrap> = if let Ok(key_id) = std::env::var("PII_KMS_KEY_ID") {
        let config = match sdk {
            Some(config) => config.clone(),
            None => crate::aws::sdk_config().await,
        };
        Arc::new(Kms::new(aws_sdk_kms::Client::new(&config), key_id))
    } else if let Ok(path) = std::env::var("ORDER_TRACKING_KEY_FILE") {
        let file = KeyFile::open_or_create(std::path::Path::new(&path))
            .map_err(|e| format!("ORDER_TRACKING_KEY_FILE {path}: {e}"))?;
        Arc::new(file)
    } else {
        tracing::warn!(
            "no PII_KMS_KEY_ID or ORDER_TRACKING_KEY_FILE: personal data is stored as given"
        );
        return Ok(None);
    };
    Ok(Some(Arc::new(Vault::new(wrap, keys))))
}

/// The service over `store`, sealing personal data with `vault`.
fn service_with(
    store: Arc<dyn OrderStore>,
    catalog: Arc<Catalog>,
    vault: Option<Arc<Vault>>,
) -> Result<Arc<OrderService>, Error> {
    let tenants: Tenants = match std::env::var("TENANTS_JSON") {
        Ok(json) => serde_json::from_str(&json).map_err(|e| format!("TENANTS_JSON: {e}"))?,
        Err(_) => Tenants::default(),
    };
    let mut service = OrderService::new(store, catalog, Arc::new(tenants), Arc::new(SystemClock));
    if let Some(vault) = vault {
        service = service.with_vault(vault);
    }
    // The tenants' delivery partner connections (secrets: a NoEcho
    // parameter), for orders that become ready for a driver.
    if let Ok(json) = std::env::var("DELIVERY_PARTNERS") {
        if !json.trim().is_empty() && json.trim() != "{}" {
            let partners = crate::delivery_partner::PartnerConnections::from_json(&json)?;
            service = service.with_partners(Arc::new(partners));
        }
    }
    if let Ok(url) = std::env::var("CARRIER_API_URL") {
        service = service.with_carrier(Arc::new(crate::carrier::HttpCarrierClient::new(url)));
    }
    Ok(Arc::new(service))
}

/// The DynamoDB table named `table`.
pub fn table_store(
    config: &aws_config::SdkConfig,
    table: String,
    catalog: &Arc<Catalog>,
) -> DynamoStore {
    DynamoStore::new(
        aws_sdk_dynamodb::Client::new(config),
        table,
        catalog.clone(),
    )
}

/// Live updates on Lambda: no shared feed, so an SSE stream polls the
/// table for at most `budget`; the pages open the WebSocket API at
/// `LIVE_URL` first, when the deployment has one.
pub fn live_from_env(budget: std::time::Duration) -> Live {
    let live = Live::polling(budget);
    match std::env::var("LIVE_URL") {
        Ok(url) if !url.is_empty() => live.with_socket(&url),
        _ => live,
    }
}

/// The key of the customers' "my orders" links (`LINK_SECRET`, from the
/// template's generated secret); none without one, and then no message
/// carries a link and no link opens anything.
pub fn links_from_env() -> Option<crate::notify::LinkKey> {
    std::env::var("LINK_SECRET")
        .ok()
        .filter(|secret| !secret.is_empty())
        .map(|secret| crate::notify::LinkKey::new(secret.as_bytes()))
}

/// One store in each of the parts the functions use.
struct Stores {
    orders: Arc<dyn OrderStore>,
    tickets: Arc<dyn Tickets>,
    merchants: Arc<dyn MerchantStore>,
    claims: Arc<dyn Claims>,
    data_keys: Arc<dyn DataKeys>,
}

/// The embedded store file; tickets in this process's memory.
#[cfg(feature = "embedded")]
fn embedded_store(path: &str, catalog: &Arc<Catalog>) -> Result<Stores, Error> {
    let store = Arc::new(crate::store::SqliteStore::open(
        std::path::Path::new(path),
        catalog.clone(),
    )?);
    Ok(Stores {
        orders: store.clone(),
        tickets: Arc::new(crate::store::MemoryTickets::default()),
        merchants: store.clone(),
        claims: store.clone(),
        data_keys: store,
    })
}

#[cfg(not(feature = "embedded"))]
fn embedded_store(_: &str, _: &Arc<Catalog>) -> Result<Stores, Error> {
    Err("ORDER_TRACKING_SQLITE needs a build with the `embedded` feature of order-core".into())
}

/// A function's router as Lambda serves it: principals from the JWT
/// authorizer's claims, each request's deadline, and problem responses for
/// unknown routes.
pub fn app(router: Router) -> Router {
    router
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::extract::DefaultBodyLimit::max(
            crate::http::MAX_BODY_BYTES,
        ))
        .layer(axum::middleware::from_fn(principal_from_claims))
        .layer(axum::middleware::from_fn(deadline_from_context))
        .layer(axum::middleware::from_fn(count_commands))
}

/// Every command (a request that may change something) counted by its
/// outcome; provider webhooks are counted where they are read, as facts.
async fn count_commands(req: Request, next: Next) -> Response {
    let command = !req.method().is_safe() && !req.uri().path().starts_with("/webhooks/");
    let response = next.run(req).await;
    if command {
        let outcome = match response.status().as_u16() {
            200..=299 => "ok",
            400 | 413 => "invalid",
            401 => "unauthorized",
            403 => "forbidden",
            404 => "not_found",
            409 => "conflict",
            422 => "illegal",
            503 => "unavailable",
            _ => "error",
        };
        metrics::count(Metric::Commands, outcome, 1);
    }
    response
}

/// The invocation's deadline (its function's timeout, counted from when the
/// event arrived), so long answers end in time. One already past when the
/// request starts is no deadline at all: an emulator's placeholder
/// (`cargo lambda watch` sends a time in 1970), never a real invocation's.
async fn deadline_from_context(mut req: Request, next: Next) -> Response {
    let deadline = req
        .extensions()
        .get::<lambda_http::Context>()
        .map(lambda_http::Context::deadline)
        .filter(|at| *at > SystemTime::now());
    if let Some(at) = deadline {
        req.extensions_mut().insert(Deadline::from_system_time(at));
    }
    next.run(req).await
}

fn principal(claims: &HashMap<String, String>) -> Result<Principal, String> {
    let get = |names: &[&str]| {
        names
            .iter()
            .find_map(|n| claims.get(*n))
            .cloned()
            .unwrap_or_default()
    };
    let claims = JwtClaims {
        sub: get(&["sub"]),
        tenant_id: get(&["tenant_id", "custom:tenant_id"]),
        role: get(&["role", "custom:role"]),
        stores: match get(&["stores", "custom:stores"]) {
            text if text.is_empty() => None,
            text => Some(crate::auth::store_claim(&text)?),
        },
        exp: 0,
        iat: 0,
    };
    Principal::from_claims(&claims).map_err(|e| e.to_string())
}

/// API Gateway has already verified the token; we only read its claims. A
/// request without them gets no principal, so staff routes answer 401.
async fn principal_from_claims(mut req: Request, next: Next) -> Response {
    let claims = match req.extensions().get::<RequestContext>() {
        Some(RequestContext::ApiGatewayV2(ctx)) => ctx
            .authorizer
            .as_ref()
            .and_then(|a| a.jwt.as_ref())
            .map(|jwt| jwt.claims.clone()),
        _ => None,
    };
    if let Some(claims) = claims {
        match principal(&claims) {
            Ok(p) => {
                req.extensions_mut().insert(p);
            }
            Err(e) => {
                return Problem::new(StatusCode::UNAUTHORIZED, "Unauthorized", e).into_response()
            }
        }
    }
    next.run(req).await
}
