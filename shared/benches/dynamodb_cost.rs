//! What a shipping order costs on DynamoDB, and how fast orders go through
//! it, on DynamoDB Local:
//!
//! 1. **Cost per command** of one order through the 6-command lifecycle
//!    (checkout, paid, packing, shipped with tracking, in transit,
//!    delivered): requests, read and write capacity units as DynamoDB
//!    reports them (`ReturnConsumedCapacity`), and request bytes sent,
//!    counted by an interceptor on the client. Then what else a command may
//!    cost (an `Idempotency-Key`, a provider fact's dedupe check, a note),
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

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::error::BoxError;
use aws_sdk_dynamodb::types::{
    AttributeValue, ConsumedCapacity, Put, ReturnConsumedCapacity, TransactWriteItem, Update,
};
use aws_sdk_dynamodb::Client;
use chrono::Utc;
use order_core::auth::{Principal, Role};
use order_core::lifecycle::Actor;
use order_core::order::decide::{Origin, StatusClaim};
use order_core::order::TrackingInput;
use order_core::ports::{OrderStore, SystemClock};
use order_core::service::{Checkout, OrderService, TransitionRequest};
use order_core::store::DynamoStore;
use order_core::testkit::catalog;
use serde_json::json;

/// The commands of one order's life, in the order they run.
const LIFECYCLE: [&str; 6] = [
    "checkout",
    "paid (payment)",
    "packing (staff)",
    "shipped + tracking (staff)",
    "in_transit (carrier)",
    "delivered (carrier)",
];
/// Which of them is the staff move the `ddb_wcu` row reports.
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

fn origin(source: &str, actor_kind: Actor, external_id: Option<&str>) -> Origin {
    Origin {
        source: source.into(),
        actor_kind,
        actor: None,
        external_id: external_id.map(str::to_string),
    }
}

fn claim(to: &str) -> StatusClaim {
    StatusClaim {
        to: to.into(),
        occurred_at: Utc::now(),
        reason: None,
        tracking: None,
    }
}

fn staff(to: &str, tracking: Option<TrackingInput>) -> TransitionRequest {
    TransitionRequest {
        to: to.into(),
        reason: None,
        tracking,
        expected_version: None,
    }
}

/// The README's walk-through order: a chandelier shipped to Toronto.
fn checkout() -> Checkout {
    serde_json::from_value(json!({
        "customer_id": "cus_42", "currency": "CAD", "fulfilment": "shipping",
        "items": [{ "sku": "CHN-800", "name": "Crystal chandelier", "unit_price": 80000, "quantity": 1 }],
        "shipping": { "method": "standard", "name": "Dana Doe",
            "address": { "line1": "1 King St W", "city": "Toronto", "postal_code": "M5H 1A1", "country": "CA" } },
        "contact": { "email": "dana@example.com" }
    }))
    .expect("a valid checkout")
}

fn manager() -> Principal {
    Principal {
        tenant: "acme".into(),
        role: Role::Manager,
        subject: "m".into(),
    }
}

/// Runs command `n` of [`LIFECYCLE`] on the order `id` (none before its
/// checkout) and returns the order's id. Payment and carrier news carry no
/// provider event id, as the peer's commands do not: the dedupe check of
/// a webhook is measured apart.
async fn command(service: &OrderService, n: usize, id: Option<&str>, code: &str) -> String {
    let manager = manager();
    let Some(id) = id else {
        let placed = service.place(&manager, checkout(), None).await.unwrap();
        return placed.body["id"].as_str().unwrap().to_string();
    };
    let payment = origin("payment:stripe", Actor::Payment, None);
    let carrier = origin("carrier:easypost", Actor::Carrier, None);
    match n {
        1 => drop(
            service
                .record_fact(id, &payment, claim("paid"))
                .await
                .unwrap(),
        ),
        2 => drop(
            service
                .transition(&manager, id, staff("packing", None))
                .await
                .unwrap(),
        ),
        3 => {
            let tracking = TrackingInput {
                carrier: "UPS".into(),
                code: code.into(),
                url: None,
            };
            let request = staff("shipped", Some(tracking));
            drop(service.transition(&manager, id, request).await.unwrap());
        }
        4 => drop(
            service
                .record_fact(id, &carrier, claim("in_transit"))
                .await
                .unwrap(),
        ),
        5 => drop(
            service
                .record_fact(id, &carrier, claim("delivered"))
                .await
                .unwrap(),
        ),
        _ => unreachable!("six commands"),
    }
    id.to_string()
}

/// One order through the whole lifecycle, `after(n)` called after command `n`.
async fn lifecycle(service: &OrderService, code: &str, mut after: impl FnMut(usize)) -> String {
    let mut id = None;
    for n in 0..LIFECYCLE.len() {
        id = Some(command(service, n, id.as_deref(), code).await);
        after(n);
    }
    id.expect("placed")
}

/// Commands per second for `orders` orders through the lifecycle, `workers`
/// at a time, each on its own orders.
async fn throughput(service: &Arc<OrderService>, run: &str, orders: usize, workers: usize) -> f64 {
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let tasks: Vec<_> = (0..workers)
        .map(|_| {
            let (service, next, run) = (service.clone(), next.clone(), run.to_string());
            tokio::spawn(async move {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= orders {
                        return;
                    }
                    lifecycle(&service, &format!("1Z{run}{i:08}"), |_| {}).await;
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("worker");
    }
    (orders * LIFECYCLE.len()) as f64 / started.elapsed().as_secs_f64()
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
    meter.step("payment webhook: paid (dedupe check)");
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
    let seq = throughput(&service, "S", orders, 1).await;
    println!("  sequential: {seq:>7.0} cmd/s");
    let par = throughput(&service, "P", orders, WORKERS).await;
    println!("  {WORKERS} workers:  {par:>7.0} cmd/s");

    let how = format!("{orders} orders × 6 commands, DynamoDB Local, in-process service");
    println!("@row ddb_seq|{seq:.0} cmd/s|peer: cqrs-es + dynamo-es|{how}, 1 worker");
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
