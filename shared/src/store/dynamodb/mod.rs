//! The DynamoDB adapter of `OrderStore`: one table, laid out as [`keys`]
//! describes.
//!
//! - [`keys`]: every partition, sort and index key, and the item layout;
//! - `item`: domain values to items and back (a bad item is `Corrupt`);
//! - `commit`: a command as one conditional `TransactWriteItems`, and its
//!   cancellation read back into a domain error;
//! - `list`: the tenant's and a customer's order lists;
//! - `live`: tickets and WebSocket connections (the `Tickets` and
//!   `Connections` ports); `merchant`: endpoints and deliveries
//!   (`MerchantStore`);
//! - `schema`: the table itself, for tests and local set-ups, checked
//!   against `template.yaml`;
//! - here: the reads, each strongly consistent where a command depends on
//!   it, and the consumed capacity they report.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_dynamodb::error::DisplayErrorContext;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::types::{ConsumedCapacity, ReturnConsumedCapacity};
use aws_sdk_dynamodb::Client;
use chrono::{DateTime, Utc};

use crate::lifecycle::Catalog;
use crate::order::inbound::{Inbound, TrackingLink};
use crate::order::{Event, Head, OrderSummary};
use crate::ports::{Commit, IdempotencyRecord, ListQuery, Loaded, OrderStore, Page, StoreError};
use item::{body, s, text, Item};

mod commit;
mod data_keys;
mod item;
mod keys;
mod list;
mod live;
mod merchant;
mod schema;

/// Requests and capacity units consumed, as DynamoDB reported them.
#[derive(Debug, Default)]
pub struct Usage {
    requests: AtomicU64,
    /// Capacity units × 1000, to count fractions in an atomic.
    read_milli: AtomicU64,
    write_milli: AtomicU64,
    /// The part of `write_milli` spent on index entries.
    index_write_milli: AtomicU64,
}

impl Usage {
    /// Counts one request; on-demand tables report only a total, which is
    /// read or write capacity by the kind of request.
    fn record<'a>(&self, write: bool, consumed: impl IntoIterator<Item = &'a ConsumedCapacity>) {
        self.requests.fetch_add(1, Ordering::Relaxed);
        let milli = |units: f64| (units * 1000.0).round() as u64;
        let (mut units, mut indexes) = (0.0, 0.0);
        for c in consumed {
            units += c.capacity_units().unwrap_or_default();
            indexes += c
                .global_secondary_indexes()
                .into_iter()
                .flat_map(|by_index| by_index.values())
                .filter_map(|index| index.capacity_units())
                .sum::<f64>();
        }
        let counter = if write {
            self.index_write_milli
                .fetch_add(milli(indexes), Ordering::Relaxed);
            &self.write_milli
        } else {
            &self.read_milli
        };
        counter.fetch_add(milli(units), Ordering::Relaxed);
    }

    /// (requests, read units, write units) so far.
    pub fn totals(&self) -> (u64, f64, f64) {
        (
            self.requests.load(Ordering::Relaxed),
            self.read_milli.load(Ordering::Relaxed) as f64 / 1000.0,
            self.write_milli.load(Ordering::Relaxed) as f64 / 1000.0,
        )
    }

    /// How many of the write units were spent keeping indexes.
    pub fn index_write_units(&self) -> f64 {
        self.index_write_milli.load(Ordering::Relaxed) as f64 / 1000.0
    }
}

pub struct DynamoStore {
    client: Client,
    table: String,
    catalog: Arc<Catalog>,
    usage: Arc<Usage>,
}

/// A request that failed: worth retrying, unlike an item that does not
/// decode.
fn unavailable<E: std::error::Error>(e: E) -> StoreError {
    StoreError::Unavailable(DisplayErrorContext(&e).to_string())
}

impl DynamoStore {
    pub fn new(client: Client, table: impl Into<String>, catalog: Arc<Catalog>) -> Self {
        DynamoStore {
            client,
            table: table.into(),
            catalog,
            usage: Arc::default(),
        }
    }

    /// The order event a record of the table's stream carries, given the
    /// record's kind (`INSERT`, `MODIFY`, `REMOVE`) and its new image as
    /// JSON (`{"sk": {"S": …}, …}`): `None` unless it inserts an event item;
    /// an event item that does not decode is an error, for the log.
    pub fn streamed_event(
        event_name: &str,
        new_image: &serde_json::Value,
    ) -> Option<Result<Event, String>> {
        if event_name != "INSERT" {
            return None;
        }
        let sk = new_image["sk"]["S"].as_str()?;
        if !sk.starts_with(keys::EVENT_PREFIX) {
            return None;
        }
        Some(match new_image["body"]["S"].as_str() {
            Some(body) => serde_json::from_str(body).map_err(|e| e.to_string()),
            None => Err("event item without a body".into()),
        })
    }

    pub fn usage(&self) -> Arc<Usage> {
        self.usage.clone()
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    async fn query_all(&self, request: QueryFluentBuilder) -> Result<Vec<Item>, StoreError> {
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let out = request
                .clone()
                .set_exclusive_start_key(start)
                .return_consumed_capacity(ReturnConsumedCapacity::Total)
                .send()
                .await
                .map_err(unavailable)?;
            self.usage.record(false, out.consumed_capacity());
            items.extend(out.items().iter().cloned());
            start = out.last_evaluated_key().cloned();
            if start.is_none() {
                return Ok(items);
            }
        }
    }

    /// An order's head, snapshot and parked facts — never its history —
    /// with one strongly consistent `Query`.
    async fn order(&self, order_id: &str) -> Result<Option<OrderItems>, StoreError> {
        let request = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND sk >= :head")
            .expression_attribute_values(":pk", s(keys::order_pk(order_id)))
            .expression_attribute_values(":head", s(keys::HEAD))
            .consistent_read(true);
        let mut order: Option<OrderItems> = None;
        let (mut snapshot, mut parked) = (None, Vec::new());
        for found in self.query_all(request).await? {
            match text(&found, "sk") {
                Some(keys::HEAD) => order = Some(OrderItems::of(found)),
                Some(keys::SNAPSHOT) => snapshot = Some(found),
                Some(sk) if sk.starts_with(keys::PARKED_PREFIX) => parked.push(found),
                _ => {}
            }
        }
        Ok(order.map(|order| OrderItems {
            snapshot,
            parked,
            ..order
        }))
    }

    /// Puts `item`; with `only_new`, only if no item has its key, and
    /// false if one had. A first-writer-wins put carries a `put_id` of its
    /// own, so when the SDK retries it after its answer was lost, the item
    /// the retry finds is recognised as this put's, not someone else's: a
    /// notification claim must not be lost to its own first attempt.
    async fn put_item(&self, mut item: Item, only_new: bool) -> Result<bool, StoreError> {
        let put_id = uuid::Uuid::new_v4().simple().to_string();
        let mut put = self.client.put_item().table_name(&self.table);
        if only_new {
            item.insert("put_id".into(), s(put_id.clone()));
            put = put
                .condition_expression("attribute_not_exists(pk)")
                .return_values_on_condition_check_failure(
                    aws_sdk_dynamodb::types::ReturnValuesOnConditionCheckFailure::AllOld,
                );
        }
        let put = put.set_item(Some(item)).send().await;
        self.usage.record(true, []);
        match put {
            Ok(_) => Ok(true),
            Err(e) => match e.as_service_error() {
                Some(PutItemError::ConditionalCheckFailedException(refused)) => Ok(refused
                    .item()
                    .and_then(|found| text(found, "put_id"))
                    .is_some_and(|found| found == put_id)),
                _ => Err(unavailable(e)),
            },
        }
    }

    async fn get(&self, pk: String, sk: &str) -> Result<Option<Item>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s(pk))
            .key("sk", s(sk))
            .consistent_read(true)
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await
            .map_err(unavailable)?;
        self.usage.record(false, out.consumed_capacity());
        Ok(out.item().cloned())
    }
}

/// The items of an order a command reads together: the head, the checkout
/// snapshot (none on orders written before it was kept apart: their head
/// holds it) and the parked facts.
struct OrderItems {
    head: Item,
    snapshot: Option<Item>,
    parked: Vec<Item>,
}

impl OrderItems {
    fn of(head: Item) -> Self {
        OrderItems {
            head,
            snapshot: None,
            parked: Vec::new(),
        }
    }

    fn head(&self) -> Result<Head, StoreError> {
        let snapshot = self.snapshot.as_ref().map(item::snapshot).transpose()?;
        item::head(&self.head, snapshot.as_ref())
    }
}

#[async_trait]
impl OrderStore for DynamoStore {
    async fn load(&self, order_id: &str) -> Result<Option<Loaded>, StoreError> {
        let Some(order) = self.order(order_id).await? else {
            return Ok(None);
        };
        let parked = order.parked.iter().map(body).collect::<Result<_, _>>()?;
        Ok(Some(Loaded {
            head: order.head()?,
            parked,
        }))
    }

    async fn commit(&self, commit: &Commit) -> Result<(), StoreError> {
        self.write(commit).await
    }

    async fn tenants(&self) -> Result<Vec<String>, StoreError> {
        let mut tenants = std::collections::BTreeSet::new();
        let mut start = None;
        loop {
            let out = self
                .client
                .scan()
                .table_name(&self.table)
                .filter_expression("sk = :head")
                .expression_attribute_values(":head", s(keys::HEAD))
                .projection_expression("tenant_key")
                .set_exclusive_start_key(start)
                .return_consumed_capacity(ReturnConsumedCapacity::Total)
                .send()
                .await
                .map_err(unavailable)?;
            self.usage.record(false, out.consumed_capacity());
            for item in out.items() {
                if let Some(tenant) = text(item, "tenant_key").and_then(keys::tenant_of_key) {
                    tenants.insert(tenant.to_string());
                }
            }
            start = out.last_evaluated_key().cloned();
            if start.is_none() {
                return Ok(tenants.into_iter().collect());
            }
        }
    }

    async fn events(
        &self,
        order_id: &str,
        after_seq: u64,
        limit: usize,
    ) -> Result<Vec<Event>, StoreError> {
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND sk BETWEEN :from AND :to")
            .expression_attribute_values(":pk", s(keys::order_pk(order_id)))
            .expression_attribute_values(":from", s(keys::event_sk(after_seq + 1)))
            .expression_attribute_values(":to", s(keys::event_sk(u64::MAX)))
            .consistent_read(true)
            .limit(i32::try_from(limit).unwrap_or(i32::MAX))
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await
            .map_err(unavailable)?;
        self.usage.record(false, out.consumed_capacity());
        out.items().iter().map(body).collect()
    }

    /// The feed index holds keys only: the page's events are read after,
    /// consistently, in one `BatchGetItem`.
    async fn feed(
        &self,
        tenant: &str,
        after: Option<&str>,
        until: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<Event>, StoreError> {
        let request = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(schema::BY_TENANT_EVENTS)
            .expression_attribute_values(":t", s(keys::feed_key(tenant)));
        let request = match after {
            Some(after) => request
                .key_condition_expression("feed_key = :t AND event_id > :after")
                .expression_attribute_values(":after", s(after)),
            None => request.key_condition_expression("feed_key = :t"),
        };
        let out = request
            .limit(i32::try_from(limit).unwrap_or(i32::MAX))
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await
            .map_err(unavailable)?;
        self.usage.record(false, out.consumed_capacity());
        let wanted = out
            .items()
            .iter()
            .filter_map(|key| Some((text(key, "pk")?.to_string(), text(key, "sk")?.to_string())))
            .collect();
        let mut events: Vec<Event> = self
            .batch_get(wanted, None, true)
            .await?
            .iter()
            .map(body)
            .collect::<Result<_, _>>()?;
        events.sort_by(|a, b| a.event_id.cmp(&b.event_id));
        // Up to the first one recorded after `until`, none after it.
        Ok(events
            .into_iter()
            .take_while(|event| event.recorded_at <= until)
            .collect())
    }

    /// A command commits within its function's timeout (25 s at most for
    /// the functions that take commands), or not at all.
    fn feed_settle(&self) -> std::time::Duration {
        std::time::Duration::from_secs(30)
    }

    async fn find_by_public_id(&self, public_id: &str) -> Result<Option<Head>, StoreError> {
        let request = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(schema::BY_PUBLIC_ID)
            .key_condition_expression("public_id = :p")
            .expression_attribute_values(":p", s(public_id));
        let keys = self.query_all(request).await?;
        let Some(order_id) = keys
            .first()
            .and_then(|k| text(k, "pk"))
            .and_then(keys::order_id)
        else {
            return Ok(None);
        };
        self.order(order_id).await?.map(|o| o.head()).transpose()
    }

    async fn list(&self, query: &ListQuery) -> Result<Page<OrderSummary>, StoreError> {
        match &query.customer_id {
            Some(customer) => self.list_customer(query, customer).await,
            None => self.list_tenant(query).await,
        }
    }

    async fn due(&self, now: DateTime<Utc>, limit: usize) -> Result<Vec<Head>, StoreError> {
        let until = keys::due_until(now);
        let mut overdue = Vec::new();
        for shard in 0..keys::DUE_SHARDS {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(schema::DUE)
                .key_condition_expression("due_shard = :shard AND due_key <= :until")
                .expression_attribute_values(":shard", s(keys::due_shard(shard)))
                .expression_attribute_values(":until", s(&until))
                .limit(i32::try_from(limit).unwrap_or(i32::MAX))
                .return_consumed_capacity(ReturnConsumedCapacity::Total)
                .send()
                .await
                .map_err(unavailable)?;
            self.usage.record(false, out.consumed_capacity());
            overdue.extend(
                out.items()
                    .iter()
                    .filter_map(|k| text(k, "pk"))
                    .map(str::to_string),
            );
        }
        // The due index holds keys only: read the overdue heads, with their
        // snapshots, in as few requests as DynamoDB allows.
        let wanted = overdue
            .iter()
            .flat_map(|pk| [keys::HEAD, keys::SNAPSHOT].map(|sk| (pk.clone(), sk.to_string())))
            .collect();
        let mut orders: HashMap<String, OrderItems> = HashMap::new();
        let mut snapshots = HashMap::new();
        for found in self.batch_get(wanted, None, true).await? {
            let pk = item::required(&found, "pk")?.to_string();
            match text(&found, "sk") {
                Some(keys::HEAD) => {
                    orders.insert(pk, OrderItems::of(found));
                }
                _ => {
                    snapshots.insert(pk, found);
                }
            }
        }
        let mut due = Vec::new();
        for (pk, mut order) in orders {
            order.snapshot = snapshots.remove(&pk);
            due.push(order.head()?);
        }
        due.sort_by(|a, b| (a.due_at, &a.id).cmp(&(b.due_at, &b.id)));
        due.truncate(limit);
        Ok(due)
    }

    async fn idempotency(
        &self,
        tenant: &str,
        key: &str,
    ) -> Result<Option<IdempotencyRecord>, StoreError> {
        self.get(keys::idempotency_pk(tenant, key), keys::IDEMPOTENCY)
            .await?
            .as_ref()
            .map(body)
            .transpose()
    }

    async fn seen(&self, source: &str, external_id: &str) -> Result<Option<String>, StoreError> {
        self.get(keys::dedupe_pk(source, external_id), keys::DEDUPE)
            .await?
            .map(|marker| item::required(&marker, "order_id").map(str::to_string))
            .transpose()
    }

    async fn find_by_tracking(
        &self,
        tenant: &str,
        code: &str,
    ) -> Result<Vec<TrackingLink>, StoreError> {
        let request = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", s(keys::tracking_pk(tenant, code)))
            .consistent_read(true);
        let links = self
            .query_all(request)
            .await?
            .iter()
            .map(item::tracking_link)
            .collect::<Result<Vec<_>, _>>()?;
        if !links.is_empty() {
            return Ok(links);
        }
        // Tables written before codes were kept per tenant hold one global
        // pointer per code. It is offered as a candidate only: the service
        // applies a fact to it only if that order belongs to `tenant`.
        self.get(keys::legacy_tracking_pk(code), keys::LEGACY_TRACKING)
            .await?
            .as_ref()
            .map(item::legacy_tracking_link)
            .into_iter()
            .collect()
    }

    async fn stash(
        &self,
        key: &str,
        inbound: &Inbound,
        kept_at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        // The same provider event stashed twice is kept once.
        self.put_item(item::waiting_item(key, inbound, kept_at)?, true)
            .await
    }

    async fn stashed(&self, key: &str) -> Result<Vec<Inbound>, StoreError> {
        let request = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", s(keys::unmatched_pk(key)))
            .consistent_read(true);
        self.query_all(request).await?.iter().map(body).collect()
    }

    async fn unstash(&self, key: &str, event_id: &str) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key("pk", s(keys::unmatched_pk(key)))
            .key("sk", s(event_id))
            .send()
            .await
            .map_err(unavailable)?;
        self.usage.record(true, []);
        Ok(())
    }
}
