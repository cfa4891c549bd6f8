//! `cargo run` — the whole system on a laptop. See the README.

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};
use order_core::auth::{JwtKeys, Role};
use order_core::tenants::Tenants;
use order_tracking::demo::{Demo, DEMO_ROLE};
use order_tracking::{Stack, StackConfig, DEV_JWT_SECRET, DEV_LINK_SECRET};
use tokio::net::TcpListener;

#[derive(Parser)]
#[command(
    name = "order-tracking",
    about = "Order tracking: the local stack and its tools"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    serve: ServeArgs,
}

#[derive(clap::Args, Clone)]
struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "ORDER_TRACKING_ADDR", default_value = "127.0.0.1:3000")]
    addr: SocketAddr,
    /// Where the embedded store keeps its file.
    #[arg(long, env = "ORDER_TRACKING_DATA_DIR", default_value = "data")]
    data_dir: PathBuf,
    /// Keep everything in memory instead.
    #[arg(long)]
    memory: bool,
    /// The master key wrapping customers' data keys, made with random bytes
    /// if absent [default: master.key in the data directory].
    #[arg(long, env = "ORDER_TRACKING_KEY_FILE")]
    key_file: Option<PathBuf>,
    /// Tenant policies (JSON).
    #[arg(long, env = "ORDER_TRACKING_TENANTS")]
    tenants: Option<PathBuf>,
    /// Directory of extra lifecycle definitions (*.json).
    #[arg(long, env = "ORDER_TRACKING_LIFECYCLES")]
    lifecycles: Option<PathBuf>,
    /// Seconds between stall sweeps; 0 sweeps only on `POST /admin/sweep`.
    #[arg(long, env = "ORDER_TRACKING_SWEEP_EVERY", default_value_t = 60)]
    sweep_every: u64,
    /// A tracking API managers' re-fetches ask (`GET {url}/trackers/{carrier}/{code}`).
    #[arg(long, env = "CARRIER_API_URL")]
    carrier_api: Option<String>,
    /// Each tenant's delivery partner connections (JSON), asked for drivers
    /// when an order is ready for one.
    #[arg(long, env = "DELIVERY_PARTNERS")]
    delivery_partners: Option<String>,
    /// Let merchant webhook endpoints be http:// loopback addresses, for
    /// developing a receiver on this machine (never anything else inside
    /// the network).
    #[arg(long, env = "ORDER_TRACKING_ALLOW_LOOPBACK_WEBHOOKS")]
    allow_loopback_webhooks: bool,
    /// Where customers reach this stack: the base of the tracking links in
    /// the messages they are sent (the development mailbox shows them).
    #[arg(
        long,
        env = "ORDER_TRACKING_PUBLIC_URL",
        default_value = "http://localhost:3000"
    )]
    public_url: String,
    /// Secret that signs and verifies local JWTs.
    #[arg(long, env = "ORDER_TRACKING_JWT_SECRET", default_value = DEV_JWT_SECRET, hide_default_value = true)]
    jwt_secret: String,
    /// Token buckets per client address and per tenant, and per route
    /// (JSON; README › Rate limits). Without it nothing is limited.
    #[arg(long, env = "ORDER_TRACKING_RATE_LIMITS")]
    rate_limits: Option<PathBuf>,
    /// Secret that signs and checks the customers' "my orders" links.
    #[arg(long, env = "ORDER_TRACKING_LINK_SECRET", default_value = DEV_LINK_SECRET, hide_default_value = true)]
    link_secret: String,
}

#[derive(Subcommand)]
enum Command {
    /// Serve every function on one local HTTP server (the default).
    Serve,
    /// Mint a staff JWT the local stack accepts.
    Token {
        #[arg(long)]
        tenant: String,
        #[arg(long, value_enum, default_value = "manager")]
        role: RoleArg,
        #[arg(long, default_value = "dev-user")]
        sub: String,
        /// Limit the token to this store (repeat for several); every store
        /// of the tenant when absent.
        #[arg(long = "store")]
        stores: Vec<String>,
        #[arg(long, default_value_t = 12)]
        ttl_hours: i64,
    },
    /// Check every order's log against its hash chain and its head, in the
    /// data directory's store; exits 1 if any does not check out.
    Verify,
    /// Place an order in every preset and drive it through its lifecycle.
    Demo {
        /// Pause between steps, so there is time to watch.
        #[arg(long, default_value_t = 300)]
        pace_ms: u64,
    },
    /// Print the HTTP API's OpenAPI document (`cargo run -- openapi > openapi.json`).
    Openapi,
    /// Print the JSON Schemas of the events on the bus
    /// (`cargo run -- event-schemas > schemas/events.json`).
    EventSchemas,
}

#[derive(clap::ValueEnum, Clone, Copy)]
enum RoleArg {
    Customer,
    Staff,
    Manager,
    Owner,
    Driver,
}

impl From<RoleArg> for Role {
    fn from(r: RoleArg) -> Self {
        match r {
            RoleArg::Customer => Role::Customer,
            RoleArg::Staff => Role::Staff,
            RoleArg::Manager => Role::Manager,
            RoleArg::Driver => Role::Driver,
            RoleArg::Owner => Role::Owner,
        }
    }
}

fn config(args: &ServeArgs) -> Result<StackConfig, String> {
    let tenants = match &args.tenants {
        Some(path) => Tenants::load(path)?,
        None => Tenants::default(),
    };
    Ok(StackConfig {
        data_dir: (!args.memory).then(|| args.data_dir.clone()),
        key_file: args.key_file.clone(),
        jwt_secret: args.jwt_secret.clone(),
        tenants,
        lifecycles_dir: args.lifecycles.clone(),
        print_events: true,
        webhook_secrets: webhooks::Secrets::from_env()?,
        sweep_every: (args.sweep_every > 0).then(|| Duration::from_secs(args.sweep_every)),
        carrier_api: args.carrier_api.clone(),
        delivery_partners: args.delivery_partners.clone(),
        allow_loopback_webhooks: args.allow_loopback_webhooks,
        public_url: args.public_url.clone(),
        link_secret: args.link_secret.clone(),
        rate_limits: args
            .rate_limits
            .as_deref()
            .map(order_tracking::rate_limit::RateLimitConfig::load)
            .transpose()?,
    })
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    // The demo prints its own story; the server logs what it does.
    let default_filter = match cli.command {
        Some(Command::Demo { .. }) => "warn",
        _ => "info,tower_http=warn",
    };
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| default_filter.into()),
        )
        .init();
    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(&cli.serve).await,
        Command::Token {
            tenant,
            role,
            sub,
            stores,
            ttl_hours,
        } => {
            let keys = JwtKeys::hs256(cli.serve.jwt_secret.as_bytes());
            println!(
                "{}",
                keys.mint_for_stores(
                    &tenant,
                    role.into(),
                    &sub,
                    (!stores.is_empty()).then_some(stores),
                    chrono::Duration::hours(ttl_hours)
                )
            );
            Ok(())
        }
        Command::Demo { pace_ms } => demo(&cli.serve, Duration::from_millis(pace_ms)).await,
        Command::Verify => verify(&cli.serve).await,
        Command::Openapi => {
            print!("{}", order_tracking::openapi::document_json());
            Ok(())
        }
        Command::EventSchemas => {
            print!("{}", order_tracking::event_schemas::document_json());
            Ok(())
        }
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn serve(args: &ServeArgs) -> Result<(), String> {
    let config = config(args)?;
    let stack = Stack::open(&config)?;
    stack.check_lifecycles().await?;
    let listener = TcpListener::bind(args.addr)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", args.addr))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    // Tests read this first line to find the port.
    println!("listening on http://{addr}");
    println!(
        "  store:     {}",
        match &config.data_dir {
            Some(dir) => dir.join("orders.sqlite3").display().to_string(),
            None => "in memory".into(),
        }
    );
    println!("  checkout:  POST /orders                      (bearer JWT)");
    println!("  staff:     GET /orders, GET /orders/{{id}}, GET /orders/{{id}}/events,");
    println!("             POST /orders/{{id}}/transitions   (bearer JWT)");
    println!("  customer:  GET /track/{{public_id}}, GET /track/{{public_id}}/events (live)");
    println!("  pages:     GET /t/{{public_id}} (customer), GET /board (staff)");
    println!("  webhooks:  POST /webhooks/{{tenant}}/{{carrier|payment|delivery}}/{{provider}}  (signed; WEBHOOK_SECRETS)");
    let mut connections: Vec<String> = config
        .webhook_secrets
        .connections()
        .map(|(tenant, provider)| format!("{tenant}/{provider}"))
        .collect();
    connections.sort();
    if !connections.is_empty() {
        println!("             connected: {}", connections.join(", "));
    }
    println!(
        "  admin:     GET /admin/health, POST /admin/sweep, GET /admin/reports/sla  (managers)"
    );
    println!(
        "  sweep:     {}",
        match config.sweep_every {
            Some(period) => format!("every {}s", period.as_secs()),
            None => "on demand".into(),
        }
    );
    println!("  events:    relayed in-process, logged as EventBridge entries");
    println!("  a token:   cargo run -- token --tenant acme --role manager");
    stack
        .serve(listener, async {
            let _ = tokio::signal::ctrl_c().await;
            println!("shutting down");
        })
        .await
        .map_err(|e| e.to_string())
}

async fn verify(args: &ServeArgs) -> Result<(), String> {
    let stack = Stack::open(&config(args)?)?;
    let reports = stack
        .service
        .verify_everything()
        .await
        .map_err(|e| e.to_string())?;
    for report in &reports {
        println!("{report}");
    }
    match reports.iter().filter(|r| !r.intact).count() {
        0 => Ok(()),
        broken => Err(format!("{broken} tenant(s) with a broken log")),
    }
}

async fn demo(args: &ServeArgs, pace: Duration) -> Result<(), String> {
    let mut config = config(args)?;
    config.data_dir = None;
    config.print_events = false;
    let stack = Stack::open(&config)?;
    let token = stack.keys.mint(
        "demo",
        DEMO_ROLE,
        "demo-manager",
        chrono::Duration::hours(1),
    );
    let service = stack.service.clone();
    let publisher = stack.publisher.clone();
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| e.to_string())?;
    let base = format!(
        "http://{}",
        listener.local_addr().map_err(|e| e.to_string())?
    );
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(stack.serve(listener, async {
        let _ = stopped.await;
    }));
    let started = Instant::now();
    let mut demo = Demo {
        base,
        http: reqwest::Client::new(),
        token,
        service: &service,
        pace,
        steps: 0,
    };
    let outcome = demo.run().await;
    let _ = stop.send(());
    let _ = server.await;
    let published = publisher.published();
    outcome?;
    println!(
        "\ndemo finished: 4 orders, {} steps, {published} events relayed, {:.1}s",
        demo.steps,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
