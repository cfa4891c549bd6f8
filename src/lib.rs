//! The local stack: every function's routes mounted in one HTTP server over
//! the embedded store, with committed events relayed in-process.
//!
//! The same routers run on AWS behind API Gateway and function URLs; here the
//! stack verifies bearer tokens itself (HS256, dev secret) and hands the
//! handlers the same `Principal` the Lambda adapters build from JWT claims.

pub mod demo;
pub mod event_schemas;
mod mailbox;
mod notifier;
pub mod openapi;
pub mod rate_limit;
mod socket;

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::routing::get;
use axum::{middleware, Router};
use order_core::auth::JwtKeys;
use order_core::carrier::HttpCarrierClient;
use order_core::delivery_partner::PartnerConnections;
use order_core::lifecycle::Catalog;
use order_core::merchant::UrlPolicy;
use order_core::notify::LinkKey;
use order_core::pii::{KeyFile, Vault};
use order_core::ports::SystemClock;
use order_core::relay::{self, InProcessPublisher};
use order_core::service::{Merchants, Notifications, OrderService};
use order_core::store::{MemoryTickets, SqliteStore};
use order_core::tenants::Tenants;
use order_core::webhook_sender::HttpPost;
use tokio::net::TcpListener;
use tokio::sync::{watch, Notify};

use mailbox::Mailbox;
use rate_limit::{RateLimitConfig, RateLimits};

/// The development signing secret. Real deployments verify tokens in API
/// Gateway; this one only guards a laptop.
pub const DEV_JWT_SECRET: &str = "local-dev-secret-not-for-production";
/// Signs the customers' "my orders" links on a laptop.
pub const DEV_LINK_SECRET: &str = "local-dev-link-secret-not-for-production";

#[derive(Clone, Debug)]
pub struct StackConfig {
    /// `None` keeps everything in memory.
    pub data_dir: Option<PathBuf>,
    /// The master key that wraps customers' data keys (README › Personal
    /// data), made on first run if absent; `master.key` in the data
    /// directory by default, and a key in memory without one.
    pub key_file: Option<PathBuf>,
    pub jwt_secret: String,
    pub tenants: Tenants,
    /// Extra lifecycle definitions (`*.json`), validated at start-up.
    pub lifecycles_dir: Option<PathBuf>,
    /// Log every relayed event as the EventBridge entry it would be.
    pub print_events: bool,
    /// Webhook signing secrets per tenant and provider.
    pub webhook_secrets: webhooks::Secrets,
    /// How often the stall sweep runs; `None` only on demand (`POST /admin/sweep`).
    pub sweep_every: Option<Duration>,
    /// A tracking API for managers' re-fetches (`GET {url}/trackers/{carrier}/{code}`).
    pub carrier_api: Option<String>,
    /// Each tenant's delivery partner connections (JSON).
    pub delivery_partners: Option<String>,
    /// Merchant webhook endpoints may be `http://` loopback addresses
    /// (development only; never anything else inside the network).
    pub allow_loopback_webhooks: bool,
    /// Where customers reach the stack: the base of the tracking links in
    /// their messages.
    pub public_url: String,
    /// Signs and checks the customers' "my orders" links.
    pub link_secret: String,
    /// Token buckets per address and tenant; none limits nothing.
    pub rate_limits: Option<RateLimitConfig>,
}

impl Default for StackConfig {
    fn default() -> Self {
        StackConfig {
            data_dir: None,
            key_file: None,
            jwt_secret: DEV_JWT_SECRET.to_string(),
            tenants: Tenants::default(),
            lifecycles_dir: None,
            print_events: true,
            webhook_secrets: webhooks::Secrets::default(),
            sweep_every: Some(Duration::from_secs(60)),
            carrier_api: None,
            delivery_partners: None,
            allow_loopback_webhooks: false,
            public_url: "http://localhost:3000".into(),
            link_secret: DEV_LINK_SECRET.into(),
            rate_limits: None,
        }
    }
}

/// A wired-up stack, ready to serve.
pub struct Stack {
    pub service: Arc<OrderService>,
    sweep_every: Option<Duration>,
    webhook_secrets: webhooks::Secrets,
    pub keys: JwtKeys,
    pub publisher: Arc<InProcessPublisher>,
    tickets: Arc<MemoryTickets>,
    pub merchants: Arc<Merchants>,
    notifications: Arc<Notifications>,
    pub mailbox: Arc<Mailbox>,
    store: Arc<SqliteStore>,
    /// Signs and checks the customers' "my orders" links.
    pub links: LinkKey,
    catalog: Arc<Catalog>,
    limits: Option<Arc<RateLimits>>,
}

impl Stack {
    pub fn open(config: &StackConfig) -> Result<Self, String> {
        let mut catalog = Catalog::presets();
        if let Some(dir) = &config.lifecycles_dir {
            catalog = catalog.load_dir(dir).map_err(|e| e.to_string())?;
        }
        let catalog = Arc::new(catalog);
        let store = match &config.data_dir {
            Some(dir) => {
                std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
                SqliteStore::open_exclusive(&dir.join("orders.sqlite3"), catalog.clone())
            }
            None => SqliteStore::in_memory(catalog.clone()),
        }
        .map_err(|e| e.to_string())?;
        let store = Arc::new(store);
        let key_file = config.key_file.clone();
        let master = match key_file.or_else(|| Some(config.data_dir.as_ref()?.join("master.key"))) {
            Some(path) => {
                KeyFile::open_or_create(&path).map_err(|e| format!("{}: {e}", path.display()))?
            }
            None => KeyFile::ephemeral(),
        };
        let vault = Arc::new(Vault::new(Arc::new(master), store.clone()));
        let mut service = OrderService::new(
            store.clone(),
            catalog.clone(),
            Arc::new(config.tenants.clone()),
            Arc::new(SystemClock),
        )
        .with_vault(vault);
        if let Some(url) = &config.carrier_api {
            service = service.with_carrier(Arc::new(HttpCarrierClient::new(url.clone())));
        }
        if let Some(json) = &config.delivery_partners {
            service = service.with_partners(Arc::new(PartnerConnections::from_json(json)?));
        }
        let service = Arc::new(service);
        let merchants = Arc::new(Merchants::new(
            store.clone(),
            Arc::new(HttpPost::new(config.allow_loopback_webhooks)),
            Arc::new(SystemClock),
            UrlPolicy {
                allow_loopback: config.allow_loopback_webhooks,
            },
        ));
        let mailbox = Arc::new(Mailbox::new(
            config.data_dir.as_ref().map(|dir| dir.join("mailbox")),
        ));
        merchants.tell_through(mailbox.clone(), Arc::new(config.tenants.clone()));
        let links = LinkKey::new(config.link_secret.as_bytes());
        let notifications = Arc::new(
            Notifications::new(
                service.clone(),
                store.clone(),
                mailbox.clone(),
                config.public_url.clone(),
            )
            .with_links(links.clone()),
        );
        Ok(Stack {
            service,
            sweep_every: config.sweep_every,
            webhook_secrets: config.webhook_secrets.clone(),
            keys: JwtKeys::hs256(config.jwt_secret.as_bytes()),
            publisher: Arc::new(InProcessPublisher::new(config.print_events)),
            tickets: Arc::new(MemoryTickets::default()),
            merchants,
            notifications,
            mailbox,
            store,
            links,
            catalog,
            limits: config.rate_limits.as_ref().map(RateLimits::new),
        })
    }

    /// Every function's routes in one router: staff routes behind the bearer
    /// check, the customer's view open.
    pub fn router(&self) -> Router {
        // The pages open the WebSocket this stack serves at /live.
        let live = self.publisher.live().with_socket("/live");
        let mut staff = checkout::router(self.service.clone())
            .merge(orders::router(
                self.service.clone(),
                orders::Parts {
                    live: self.publisher.live(),
                    tickets: self.tickets.clone(),
                    merchants: self.merchants.clone(),
                },
            ))
            .merge(mailbox::router(self.mailbox.clone()));
        if let Some(limits) = &self.limits {
            // Inside the bearer check, which names the tenant.
            staff = staff.route_layer(middleware::from_fn_with_state(
                limits.clone(),
                rate_limit::limit_tenant,
            ));
        }
        let staff = staff.route_layer(middleware::from_fn_with_state(
            self.keys.clone(),
            order_core::http::require_bearer,
        ));
        let router = Router::new()
            .merge(staff)
            .merge(tracking::router(
                self.service.clone(),
                live.clone(),
                Some(self.links.clone()),
            ))
            .merge(orders::pages(live))
            .merge(socket::router(socket::Socket {
                service: self.service.clone(),
                live: self.publisher.live(),
                keys: self.keys.clone(),
                tickets: self.tickets.clone(),
            }))
            .merge(webhooks::router(
                self.service.clone(),
                self.webhook_secrets.clone(),
            ))
            .route("/healthz", get(|| async { "ok" }))
            .route("/openapi.json", get(openapi::openapi_json))
            .fallback(order_core::http::not_found)
            .method_not_allowed_fallback(order_core::http::method_not_allowed)
            .layer(axum::extract::DefaultBodyLimit::max(
                order_core::http::MAX_BODY_BYTES,
            ))
            .layer(tower_http::trace::TraceLayer::new_for_http());
        match &self.limits {
            Some(limits) => router.layer(middleware::from_fn_with_state(
                limits.clone(),
                rate_limit::limit_address,
            )),
            None => router,
        }
    }

    /// Serves until `shutdown` resolves, relaying events meanwhile; pending
    /// events are flushed before returning.
    /// Refuses a start that would strand orders: every stored order's
    /// lifecycle version must be loaded (from the presets or `--lifecycles`),
    /// so a definition is only ever retired once no order uses it.
    pub async fn check_lifecycles(&self) -> Result<(), String> {
        let missing: Vec<String> = self
            .store
            .lifecycles_in_use()
            .await
            .map_err(|e| e.to_string())?
            .into_iter()
            .filter(|key| self.catalog.get(key).is_none())
            .collect();
        match missing.is_empty() {
            true => Ok(()),
            false => Err(format!(
                "stored orders were placed under lifecycles this start does not load: {}; \
                 keep their definitions in --lifecycles (orders keep the version they were \
                 placed under), or move the orders onto a newer version first",
                missing.join(", ")
            )),
        }
    }

    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let (stop, stopped) = watch::channel(false);
        let bus = Arc::new(notifier::LocalBus {
            in_process: self.publisher.clone(),
            merchants: self.merchants.clone(),
            notifications: self.notifications.clone(),
            store: self.store.clone(),
            wake: Arc::new(Notify::new()),
        });
        let relay = tokio::spawn(relay::run(
            self.store.clone(),
            bus.clone(),
            self.store.outbox_signal(),
            Duration::from_millis(500),
            stopped.clone(),
        ));
        let notifier = tokio::spawn(notifier::work(bus, Arc::new(SystemClock), stopped.clone()));
        let sweeper = self
            .sweep_every
            .map(|period| tokio::spawn(stall_sweep::every(self.service.clone(), period, stopped)));
        // Handlers become routes once, here: served as a plain router, axum
        // would rebuild every route for each connection (about 14 KiB each,
        // kept while an SSE stream stays open).
        // Buckets of addresses and tenants gone quiet are dropped each minute.
        let forgetting = self.limits.clone().map(|limits| {
            let mut stopped = stop.subscribe();
            tokio::spawn(async move {
                let mut every = tokio::time::interval(Duration::from_secs(60));
                loop {
                    tokio::select! {
                        _ = every.tick() => limits.forget_idle(),
                        _ = stopped.changed() => break,
                    }
                }
            })
        });
        // The peer's address, for the per-address buckets.
        let app = self
            .router()
            .with_state(())
            .into_make_service_with_connect_info::<SocketAddr>();
        let served = axum::serve(listener, app)
            .with_graceful_shutdown(shutdown)
            .await;
        let _ = stop.send(true);
        let _ = relay.await;
        let _ = notifier.await;
        if let Some(sweeper) = sweeper {
            let _ = sweeper.await;
        }
        if let Some(forgetting) = forgetting {
            let _ = forgetting.await;
        }
        served
    }
}
