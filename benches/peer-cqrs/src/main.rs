//! The peer measurement for issue 11's DynamoDB rows: the 6-command shipping
//! lifecycle our `dynamodb_cost` bench runs (checkout, paid, packing, shipped
//! with a tracking code, in_transit, delivered), as a cqrs-es aggregate over
//! dynamo-es's event store (`dynamodb_cqrs`: every command queries the
//! order's events and writes the new one in a TransactWriteItems).
//!
//! `scripts/bench-peer.sh` — knobs: BENCH_ORDERS (default 200); needs
//! DYNAMODB_ENDPOINT (DynamoDB Local). Prints cmd/s sequential and with 8
//! workers on distinct orders, requests and request-body bytes per command,
//! and, in a separate pass, the capacity DynamoDB reports.

mod meter;
mod order;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use aws_config::{BehaviorVersion, Region};
use aws_sdk_dynamodb::config::{Credentials, Intercept};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
};
use aws_sdk_dynamodb::Client;
use cqrs_es::persist::PersistedEventStore;
use cqrs_es::CqrsFramework;
use dynamo_es::{DynamoCqrs, DynamoEventRepository};

use meter::{cpu_seconds, AskCapacity, Capacity, CountTraffic, Traffic};
use order::{Address, Command, Line, Order, Shipping, Status};

const COMMANDS_PER_ORDER: usize = 6;
const WORKERS: usize = 8;

async fn client(endpoint: &str, interceptor: impl Intercept + 'static) -> Client {
    let config = aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "peer"))
        .load()
        .await;
    let config = aws_sdk_dynamodb::config::Builder::from(&config)
        .interceptor(interceptor)
        .build();
    Client::from_conf(config)
}

/// dynamo-es's tables, as its `db/create_tables.sh` creates them (on demand).
async fn create_tables(client: &Client, run: &str) -> (String, String) {
    let key = |name: &str, kind, ty| {
        (
            AttributeDefinition::builder()
                .attribute_name(name)
                .attribute_type(ty)
                .build()
                .expect("attribute"),
            KeySchemaElement::builder()
                .attribute_name(name)
                .key_type(kind)
                .build()
                .expect("key"),
        )
    };
    let events = format!("Events-{run}");
    let snapshots = format!("Snapshots-{run}");
    let tables = [
        (
            &events,
            vec![
                key("AggregateTypeAndId", KeyType::Hash, ScalarAttributeType::S),
                key(
                    "AggregateIdSequence",
                    KeyType::Range,
                    ScalarAttributeType::N,
                ),
            ],
        ),
        (
            &snapshots,
            vec![key(
                "AggregateTypeAndId",
                KeyType::Hash,
                ScalarAttributeType::S,
            )],
        ),
    ];
    for (name, keys) in tables {
        let (attributes, schema): (Vec<_>, Vec<_>) = keys.into_iter().unzip();
        client
            .create_table()
            .table_name(name)
            .set_attribute_definitions(Some(attributes))
            .set_key_schema(Some(schema))
            .billing_mode(BillingMode::PayPerRequest)
            .send()
            .await
            .expect("create a dynamo-es table");
    }
    (events, snapshots)
}

fn framework(client: Client, tables: &(String, String)) -> Arc<DynamoCqrs<Order>> {
    let repo = DynamoEventRepository::new(client).with_tables(&tables.0, &tables.1);
    let store = PersistedEventStore::new_event_store(repo);
    Arc::new(CqrsFramework::new(store, vec![], ()))
}

/// The same six commands, with the same payloads, as `dynamodb_cost`:
/// checkout, paid, packing, shipped (with the order's own tracking code),
/// in_transit, delivered; provider news without event ids, as there.
async fn lifecycle(cqrs: &DynamoCqrs<Order>, id: &str, code: &str) {
    let place = Command::Place {
        tenant: "acme".into(),
        customer_id: "cus_42".into(),
        currency: "CAD".into(),
        items: vec![Line {
            sku: "CHN-800".into(),
            name: "Crystal chandelier".into(),
            unit_price: 80_000,
            quantity: 1,
        }],
        shipping: Shipping {
            method: "standard".into(),
            name: "Dana Doe".into(),
            address: Address {
                line1: "1 King St W".into(),
                city: "Toronto".into(),
                postal_code: "M5H 1A1".into(),
                country: "CA".into(),
            },
        },
        contact_email: "dana@example.com".into(),
    };
    let commands = [
        place,
        Command::RecordPayment,
        Command::Move {
            to: Status::Packing,
            actor: "m".into(),
        },
        Command::Ship {
            carrier: "UPS".into(),
            code: code.into(),
            actor: "m".into(),
        },
        Command::Scan {
            to: Status::InTransit,
        },
        Command::Scan {
            to: Status::Delivered,
        },
    ];
    for command in commands {
        cqrs.execute(id, command)
            .await
            .unwrap_or_else(|e| panic!("order {id}: {e}"));
    }
}

/// Commands per second for `orders` orders through the lifecycle, `workers`
/// at a time, each on its own orders. Ids are as long as a UUID, like ours.
async fn throughput(
    cqrs: &Arc<DynamoCqrs<Order>>,
    run: &str,
    orders: usize,
    workers: usize,
) -> f64 {
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let tasks: Vec<_> = (0..workers)
        .map(|_| {
            let (cqrs, next, run) = (cqrs.clone(), next.clone(), run.to_string());
            tokio::spawn(async move {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= orders {
                        return;
                    }
                    let id = format!("{run:0>8}-0000-4000-8000-{i:012}");
                    lifecycle(&cqrs, &id, &format!("1Z{run}{i:08}")).await;
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("a worker");
    }
    (orders * COMMANDS_PER_ORDER) as f64 / started.elapsed().as_secs_f64()
}

#[tokio::main]
async fn main() {
    let endpoint = std::env::var("DYNAMODB_ENDPOINT")
        .expect("DYNAMODB_ENDPOINT is not set: run scripts/bench-peer.sh");
    let orders: usize = std::env::var("BENCH_ORDERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let run = format!("{}", std::process::id());

    let traffic = Arc::new(Traffic::default());
    let counted = client(&endpoint, CountTraffic(traffic.clone())).await;
    let tables = create_tables(&counted, &run).await;
    let cqrs = framework(counted, &tables);

    // DynamoDB Local runs on the JVM: let it warm up before anything counts.
    throughput(&cqrs, "WARM", 20, 1).await;

    let before = traffic.totals();
    let cpu_before = cpu_seconds();
    let sequential = throughput(&cqrs, "SEQ", orders, 1).await;
    let after = traffic.totals();
    let commands = (orders * COMMANDS_PER_ORDER) as f64;
    // Milliseconds of CPU per command, the emulator's and this process's.
    let cpu = cpu_before
        .zip(cpu_seconds())
        .map(|((e0, c0), (e1, c1))| ((e1 - e0) * 1e3 / commands, (c1 - c0) * 1e3 / commands));
    let requests = (after.0 - before.0) as f64 / commands;
    let bytes = (after.1 - before.1) as f64 / commands;
    let parallel = throughput(&cqrs, "PAR", orders, WORKERS).await;

    let capacity = Arc::new(Capacity::default());
    let measured = 20;
    let asking = framework(
        client(&endpoint, AskCapacity(capacity.clone())).await,
        &tables,
    );
    throughput(&asking, "CAP", measured, 1).await;
    let (rcu, wcu) = capacity.totals();
    let per_command = (measured * COMMANDS_PER_ORDER) as f64;
    let (rcu, wcu) = (rcu / per_command, wcu / per_command);

    println!("cqrs-es 0.5 + dynamo-es 0.5 (event store), {orders} orders x {COMMANDS_PER_ORDER} commands on DynamoDB Local");
    println!("  sequential            {sequential:>8.0} cmd/s");
    println!("  {WORKERS} workers             {parallel:>8.0} cmd/s");
    if let Some((emulator, client)) = cpu {
        println!("  CPU per command       {emulator:>8.2} ms emulator, {client:.2} ms client (sequential)");
        println!("@num peer_ddb_emulator_ms {emulator:.2}");
    }
    println!("  requests per command  {requests:>8.2}");
    println!("  bytes sent per command{bytes:>8.0}   (HTTP request bodies)");
    println!("  capacity per command  {rcu:>8.2} RCU {wcu:.2} WCU   (ReturnConsumedCapacity added by an interceptor, {measured} orders)");
    let emulator = cpu
        .map(|(e, _)| format!(", emulator CPU {e:.2} ms/cmd"))
        .unwrap_or_default();
    println!("@peer ddb_seq|{sequential:.0} cmd/s{emulator}");
    println!("@num peer_ddb_seq {sequential:.1}");
    println!("@peer ddb_par8|{parallel:.0} cmd/s");
    println!("@num peer_ddb_par8 {parallel:.1}");
    println!("@peer ddb_requests|{requests:.2}");
    println!("@num peer_ddb_requests {requests:.3}");
    println!("@peer ddb_bytes|{bytes:.0} B/cmd");
    println!("@num peer_ddb_bytes {bytes:.0}");
    println!("@peer ddb_wcu|{wcu:.1} WCU/cmd (one event item in a transaction)");
    println!("@num peer_ddb_wcu {wcu:.2}");
}
