//! What a shipping order costs on DynamoDB, and how fast orders go through
//! it, on DynamoDB Local:
//!
//! 1. **Cost per command** of one order through the 6-command lifecycle
//!    (checkout, paid, packing, shipped with tracking, in transit,
//!    delivered): requests, read and write capacity units as DynamoDB
//!    reports them (`ReturnConsumedCapacity`), and request bytes sent,
//!    counted by an interceptor on the client. Then what else a command may
//!    cost (an `Idempotency-Key`, a provider fact with its dedupe marker, a note),
//!    a staff move on an order with 200 more events (flat in history), and
//!    the floor: one consistent `Query` of a head, and one conditional
//!    `TransactWriteItems` of a head and one event with nothing else on them.
//! 2. **Throughput**: `BENCH_ORDERS` orders (default 200) through the same 6
//!    commands, one at a time and then with 8 workers on distinct orders.
//!
//! `scripts/with-emulators.sh cargo bench -p order-core --features aws,testkit --bench dynamodb_cost`
//!
//! Besides its report it prints the `@row` / `@num` lines of `ddb_seq`,
//! `ddb_par8`, `ddb_requests`, `ddb_bytes` and `ddb_wcu` for
//! `scripts/bench.py`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::error::BoxError;
use aws_sdk_dynamodb::types::{
    AttributeValue, ConsumedCapacity, Put, ReturnConsumedCapacity, TransactWriteItem, Update,
};
use aws_sdk_dynamodb::Client;
use order_core::lifecycle::Actor;
use order_core::ports::{OrderStore, SystemClock};
use order_core::service::OrderService;
use order_core::store::DynamoStore;
use order_core::testkit::shipping_run::{
    checkout, claim, lifecycle, manager, origin, staff, throughput, LIFECYCLE,
};
use order_core::testkit::{catalog, process};

/// Which of [`LIFECYCLE`] is the staff move the `ddb_wcu` row reports.
const STAFF_MOVE: usize = 2;
const WORKERS: usize = 8;

/// Counts the bytes of every request body the client sends, retries
/// included: what the network and DynamoDB's front end carry.
#[derive(Debug)]
struct BytesSent(Arc<AtomicU64>);

impl Intercept for BytesSent {
    fn name(&self) -> &'static str {
        "BytesSent"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let sent = context.request().body().bytes().map_or(0, <[u8]>::len);
        self.0.fetch_add(sent as u64, Ordering::Relaxed);
        Ok(())
    }
}

/// What has been spent so far: requests, RCU, WCU (of which on indexes),
/// bytes.
#[derive(Clone, Copy, Default)]
struct Spent {
    requests: u64,
    read: f64,
    write: f64,
    indexes: f64,
    bytes: u64,
}

impl Spent {
    fn minus(self, before: Spent) -> Spent {
        Spent {
            requests: self.requests - before.requests,
            read: self.read - before.read,
            write: self.write - before.write,
            indexes: self.indexes - before.indexes,
            bytes: self.bytes - before.bytes,
        }
    }

    fn plus(self, more: Spent) -> Spent {
        Spent {
            requests: self.requests + more.requests,
            read: self.read + more.read,
            write: self.write + more.write,
            indexes: self.indexes + more.indexes,
            bytes: self.bytes + more.bytes,
        }
    }
}

struct Meter {
    store: Arc<DynamoStore>,
    bytes: Arc<AtomicU64>,
    last: Spent,
}

impl Meter {
    fn now(&self) -> Spent {
        let usage = self.store.usage();
        let (requests, read, write) = usage.totals();
        Spent {
            requests,
            read,
            write,
            indexes: usage.index_write_units(),
            bytes: self.bytes.load(Ordering::Relaxed),
        }
    }

    fn reset(&mut self) {
        self.last = self.now();
    }

    /// Prints what was spent since the last step, and returns it.
    fn step(&mut self, name: &str) -> Spent {
        let now = self.now();
        let spent = now.minus(std::mem::replace(&mut self.last, now));
        row(name, spent);
        spent
    }
}

fn row(name: &str, spent: Spent) {
    println!(
        "{name:<40} {:>8} {:>7.1} {:>7.1} {:>7.1} {:>8}",
        spent.requests, spent.read, spent.write, spent.indexes, spent.bytes
    );
}

fn header(title: &str) {
    println!(
        "\n{title:<40} {:>8} {:>7} {:>7} {:>7} {:>8}",
        "requests", "RCU", "WCU", "on idx", "bytes"
    );
}

/// The least a command can send and spend: one consistent `Query` of a
/// head holding only a version and a status, then one `TransactWriteItems`
/// moving it, conditioned on the version, with one event item (`event`, a
/// real event's JSON) put beside it. With `moved`, the head also carries the
/// keys of the two index entries any move must move — its place in the
/// recently-updated list and its deadline — and the move changes both.
async fn floor(client: &Client, table: &str, event: &str, moved: bool, meter: &mut Meter) -> Spent {
    let s = |v: &str| AttributeValue::S(v.into());
    let n = |v: u64| AttributeValue::N(v.to_string());
    let pk = format!("ORDER#floor{}", u8::from(moved));
    let mut head = client
        .put_item()
        .table_name(table)
        .item("pk", s(&pk))
        .item("sk", s("HEAD"))
        .item("version", n(1))
        .item("status", s("confirmed"));
    let mut set = String::from("SET version = :next, #status = :to");
    let mut update = Update::builder()
        .table_name(table)
        .key("pk", s(&pk))
        .key("sk", s("HEAD"));
    if moved {
        head = head
            .item("tenant_key", s("TENANT#floor"))
            .item("updated", s("2026-03-01T09:00:00.000000Z#floor"))
            .item("due_shard", s("DUE#0"))
            .item("due_key", s("2026-03-03T09:00:00.000000Z#floor"));
        set.push_str(", updated = :updated, due_key = :due");
        update = update
            .expression_attribute_values(":updated", s("2026-03-01T09:05:00.000000Z#floor"))
            .expression_attribute_values(":due", s("2026-03-02T09:05:00.000000Z#floor"));
    }
    head.send().await.unwrap();
    let bytes = meter.bytes.load(Ordering::Relaxed);
    let query = client
        .query()
        .table_name(table)
        .key_condition_expression("pk = :pk AND sk >= :head")
        .expression_attribute_values(":pk", s(&pk))
        .expression_attribute_values(":head", s("HEAD"))
        .consistent_read(true)
        .return_consumed_capacity(ReturnConsumedCapacity::Total)
        .send()
        .await
        .unwrap();
    let update = update
        .update_expression(set)
        .condition_expression("version = :expected")
        .expression_attribute_names("#status", "status")
        .expression_attribute_values(":next", n(2))
        .expression_attribute_values(":expected", n(1))
        .expression_attribute_values(":to", s("packing"))
        .build()
        .unwrap();
    let event = Put::builder()
        .table_name(table)
        .item("pk", s(&pk))
        .item("sk", s("EVENT#00000000000000000002"))
        .item("body", s(event))
        .condition_expression("attribute_not_exists(pk)")
        .build()
        .unwrap();
    let write = client
        .transact_write_items()
        .transact_items(TransactWriteItem::builder().update(update).build())
        .transact_items(TransactWriteItem::builder().put(event).build())
        .return_consumed_capacity(ReturnConsumedCapacity::Indexes)
        .send()
        .await
        .unwrap();
    // Sent straight through the client, so counted here rather than by the
    // store: the units from DynamoDB's answers, the bytes by the client.
    let units = |c: &ConsumedCapacity| c.capacity_units().unwrap_or_default();
    let written = write.consumed_capacity();
    let spent = Spent {
        requests: 2,
        read: query.consumed_capacity().map_or(0.0, units),
        write: written.iter().map(units).sum(),
        indexes: written
            .iter()
            .flat_map(|c| {
                c.global_secondary_indexes()
                    .into_iter()
                    .flat_map(|i| i.values())
            })
            .filter_map(|index| index.capacity_units())
            .fold(0.0, |all, units| all + units),
        bytes: meter.bytes.load(Ordering::Relaxed) - bytes,
    };
    meter.reset();
    spent
}

/// CPU per command, in milliseconds: the emulator's and this process's.
#[derive(Clone, Copy)]
struct CpuPerCommand {
    emulator: f64,
    client: f64,
}

impl std::fmt::Display for CpuPerCommand {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            " (CPU per command: emulator {:.2} ms, bench {:.2} ms)",
            self.emulator, self.client
        )
    }
}

fn per_command(before: Option<(f64, f64)>, commands: f64) -> Option<CpuPerCommand> {
    let ((e0, c0), (e1, c1)) = before.zip(cpu_seconds())?;
    Some(CpuPerCommand {
        emulator: (e1 - e0) * 1e3 / commands,
        client: (c1 - c0) * 1e3 / commands,
    })
}

/// CPU seconds the emulator (DYNAMODB_LOCAL_PID, exported by
/// `scripts/emulators.sh`) and this process have used so far: on one
/// machine, what a request costs the server beside what it costs the
/// client.
fn cpu_seconds() -> Option<(f64, f64)> {
    let pid = std::env::var("DYNAMODB_LOCAL_PID").ok()?;
    Some((process::cpu_seconds(&pid)?, process::cpu_seconds("self")?))
}

/// A table with the keys alone: no index, no stream, no TTL.
async fn create_bare_table(client: &Client, table: &str) {
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    };
    let attribute = |name: &str| {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .unwrap()
    };
    let key = |name: &str, kind| {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(kind)
            .build()
            .unwrap()
    };
    client
        .create_table()
        .table_name(table)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(attribute("pk"))
        .attribute_definitions(attribute("sk"))
        .key_schema(key("pk", KeyType::Hash))
        .key_schema(key("sk", KeyType::Range))
        .send()
        .await
        .unwrap();
}

#[tokio::main]
async fn main() {
    let orders: usize = std::env::var("BENCH_ORDERS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(200);
    let endpoint = std::env::var("DYNAMODB_ENDPOINT")
        .expect("DYNAMODB_ENDPOINT is not set: run under scripts/with-emulators.sh");
    let config = order_core::aws::emulator_config(&endpoint).await;
    let bytes = Arc::new(AtomicU64::new(0));
    let client = Client::from_conf(
        aws_sdk_dynamodb::config::Builder::from(&config)
            .interceptor(BytesSent(bytes.clone()))
            .build(),
    );
    let table = format!("orders-{}", uuid::Uuid::new_v4().simple());
    DynamoStore::create_table(&client, &table).await.unwrap();
    let store = Arc::new(DynamoStore::new(client.clone(), &table, catalog()));
    let service = Arc::new(OrderService::new(
        store.clone(),
        catalog(),
        Arc::default(),
        Arc::new(SystemClock),
    ));
    let mut meter = Meter {
        store: store.clone(),
        bytes,
        last: Spent::default(),
    };

    // DynamoDB Local runs on the JVM: let it warm up before anything counts.
    for i in 0..20 {
        lifecycle(&service, &format!("1ZWARM{i:08}"), |_| {}).await;
    }

    header("one order, command by command");
    meter.reset();
    let mut spent = Vec::new();
    let id = lifecycle(&service, "1Z999AA10123456784", |n| {
        spent.push(meter.step(LIFECYCLE[n]));
    })
    .await;
    let total = spent.iter().fold(Spent::default(), |all, s| all.plus(*s));
    row("whole order", total);
    let per = |x: f64| x / LIFECYCLE.len() as f64;
    println!(
        "{:<40} {:>8.2} {:>7.2} {:>7.2} {:>7.2} {:>8.0}",
        "per command",
        per(total.requests as f64),
        per(total.read),
        per(total.write),
        per(total.indexes),
        per(total.bytes as f64)
    );

    header("what else a command may cost");
    let manager = manager();
    meter.reset();
    let placed = service
        .place(&manager, checkout(), Some("cart-42".into()))
        .await
        .unwrap();
    meter.step("checkout with an Idempotency-Key");
    let other = placed.body["id"].as_str().unwrap().to_string();
    let payment = origin("payment:stripe", Actor::Payment, Some("pi_1"));
    service
        .record_fact(&other, &payment, claim("paid"))
        .await
        .unwrap();
    meter.step("payment webhook: paid (dedupe marker)");
    service
        .add_note(&manager, &other, "Gift wrap, please".into())
        .await
        .unwrap();
    meter.step("staff: a note");
    // Flat in history: 200 late facts, then one more move.
    for n in 0..200 {
        let late = origin("system", Actor::System, Some(&format!("late_{n}")));
        service
            .record_fact(&other, &late, claim("pending"))
            .await
            .unwrap();
    }
    meter.reset();
    service
        .transition(&manager, &other, staff("packing", None))
        .await
        .unwrap();
    meter.step("staff: packing, after 200 more events");

    let events = store.events(&id, 0, 100).await.unwrap();
    let event = serde_json::to_string(&events[STAFF_MOVE]).unwrap();
    let bare = floor(&client, &table, &event, false, &mut meter).await;
    row("floor: a head and an event", bare);
    let least = floor(&client, &table, &event, true, &mut meter).await;
    row("floor: + moving its list and due entries", least);
    println!(
        "  (a head holding a version and a status, the {} B packing event; then the\n   \
         same head also keyed in the tenant list and the due index, both moved)",
        event.len()
    );

    println!(
        "\nthroughput: {orders} orders × {} commands ({})",
        LIFECYCLE.len(),
        LIFECYCLE.join(", ")
    );
    let commands = (orders * LIFECYCLE.len()) as f64;
    let cpu_before = cpu_seconds();
    let seq = throughput(&service, "S", orders, 1).await;
    let cpu = per_command(cpu_before, commands);
    println!(
        "  sequential: {seq:>7.0} cmd/s{}",
        cpu.map(|c| c.to_string()).unwrap_or_default()
    );
    let par = throughput(&service, "P", orders, WORKERS).await;
    println!("  {WORKERS} workers:  {par:>7.0} cmd/s");

    // The same commands on a table with neither indexes nor a stream: what
    // the emulator spends keeping those, which the layout requires.
    let bare_table = format!("{table}-bare");
    create_bare_table(&client, &bare_table).await;
    let bare_store = Arc::new(DynamoStore::new(client.clone(), &bare_table, catalog()));
    let bare_service = Arc::new(OrderService::new(
        bare_store,
        catalog(),
        Arc::default(),
        Arc::new(SystemClock),
    ));
    let cpu_before = cpu_seconds();
    let bare_seq = throughput(&bare_service, "B", orders, 1).await;
    let bare_cpu = per_command(cpu_before, commands);
    println!(
        "  the same, sequential, on a table without indexes or stream: {bare_seq:>7.0} cmd/s{}",
        bare_cpu.map(|c| c.to_string()).unwrap_or_default()
    );
    if let Some(cpu) = cpu {
        println!("@num ddb_emulator_ms {:.2}", cpu.emulator);
    }

    let how = format!("{orders} orders × 6 commands, DynamoDB Local, in-process service");
    println!(
        "@row ddb_seq|{seq:.0} cmd/s ({bare_seq:.0} without indexes and stream)|peer: cqrs-es + dynamo-es|{how}, 1 worker{}",
        cpu.map(|c| format!(", emulator CPU {:.2} ms/cmd", c.emulator)).unwrap_or_default()
    );
    println!("@num ddb_seq {seq:.1}");
    println!("@row ddb_par8|{par:.0} cmd/s|peer: cqrs-es + dynamo-es|{how}, {WORKERS} workers");
    println!("@num ddb_par8 {par:.1}");
    let requests = per(total.requests as f64);
    println!(
        "@row ddb_requests|{requests:.2}|floor: 2 (one Query, one TransactWriteItems)|the 6-command lifecycle, counted by the store"
    );
    println!("@num ddb_requests {requests:.2}");
    let sent = per(total.bytes as f64);
    println!(
        "@row ddb_bytes|{sent:.0} B|floor: {} B (a bare head and one event)|request bodies over the 6-command lifecycle, counted by an SDK interceptor",
        bare.bytes
    );
    println!("@num ddb_bytes {sent:.0}");
    let move_ = spent[STAFF_MOVE];
    println!(
        "@row ddb_wcu|{:.1} WCU ({:.1} on indexes)|floor: {:.1} WCU (head + event {:.1}, list and due entries moved {:.1})|{}, ReturnConsumedCapacity on DynamoDB Local",
        move_.write,
        move_.indexes,
        least.write,
        least.write - least.indexes,
        least.indexes,
        LIFECYCLE[STAFF_MOVE]
    );
    println!("@num ddb_wcu {:.1}", move_.write);
}
