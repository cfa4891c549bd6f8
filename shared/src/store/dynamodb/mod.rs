//! The DynamoDB adapter of `OrderStore`: one table, laid out as [`keys`]
//! describes.
//!
//! - [`keys`]: every partition, sort and index key, and the item layout;
//! - `item`: domain values to items and back (a bad item is `Corrupt`);
//! - `commit`: a command as one conditional `TransactWriteItems`, and its
//!   cancellation read back into a domain error;
//! - `schema`: the table itself, for tests and local set-ups, checked
//!   against `template.yaml`;
//! - here: the reads, each strongly consistent where a command depends on
//!   it, and the consumed capacity they report.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_dynamodb::error::DisplayErrorContext;
use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::types::{AttributeValue, ConsumedCapacity, ReturnConsumedCapacity};
use aws_sdk_dynamodb::Client;
use chrono::{DateTime, Utc};

use crate::cursor::Cursor;
use crate::lifecycle::Catalog;
use crate::order::inbound::{Inbound, TrackingLink};
use crate::order::{Event, Head, OrderSummary};
use crate::ports::{Commit, IdempotencyRecord, ListQuery, Loaded, OrderStore, Page, StoreError};
use crate::store::ts;
use item::{body, decode, s, text, Item};

mod commit;
mod item;
mod keys;
mod schema;

/// Requests and capacity units consumed, as DynamoDB reported them.
#[derive(Debug, Default)]
pub struct Usage {
    requests: AtomicU64,
    /// Capacity units × 1000, to count fractions in an atomic.
    read_milli: AtomicU64,
    write_milli: AtomicU64,
}

impl Usage {
    /// Counts one request; on-demand tables report only a total, which is
    /// read or write capacity by the kind of request.
    fn record<'a>(&self, write: bool, consumed: impl IntoIterator<Item = &'a ConsumedCapacity>) {
        self.requests.fetch_add(1, Ordering::Relaxed);
        let units: f64 = consumed
            .into_iter()
            .filter_map(|c| c.capacity_units())
            .sum();
        let counter = if write {
            &self.write_milli
        } else {
            &self.read_milli
        };
        counter.fetch_add((units * 1000.0).round() as u64, Ordering::Relaxed);
    }

    /// (requests, read units, write units) so far.
    pub fn totals(&self) -> (u64, f64, f64) {
        (
            self.requests.load(Ordering::Relaxed),
            self.read_milli.load(Ordering::Relaxed) as f64 / 1000.0,
            self.write_milli.load(Ordering::Relaxed) as f64 / 1000.0,
        )
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

    /// What the sort key of every event item starts with: how a reader of
    /// the table's stream tells events from the other items.
    pub const EVENT_SK_PREFIX: &'static str = keys::EVENT_PREFIX;

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

#[async_trait]
impl OrderStore for DynamoStore {
    async fn load(&self, order_id: &str) -> Result<Option<Loaded>, StoreError> {
        let request = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND sk >= :head")
            .expression_attribute_values(":pk", s(keys::order_pk(order_id)))
            .expression_attribute_values(":head", s(keys::HEAD))
            .consistent_read(true);
        let items = self.query_all(request).await?;
        let Some(head) = items.iter().find(|i| text(i, "sk") == Some(keys::HEAD)) else {
            return Ok(None);
        };
        let parked = items
            .iter()
            .filter(|i| text(i, "sk").is_some_and(|sk| sk.starts_with(keys::PARKED_PREFIX)))
            .map(body)
            .collect::<Result<Vec<Event>, _>>()?;
        Ok(Some(Loaded {
            head: body(head)?,
            parked,
        }))
    }

    async fn commit(&self, commit: &Commit) -> Result<(), StoreError> {
        self.write(commit).await
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

    async fn find_by_public_id(&self, public_id: &str) -> Result<Option<Head>, StoreError> {
        let request = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(schema::BY_PUBLIC_ID)
            .key_condition_expression("public_id = :p")
            .expression_attribute_values(":p", s(public_id));
        let keys = self.query_all(request).await?;
        let Some(pk) = keys.first().and_then(|k| text(k, "pk")) else {
            return Ok(None);
        };
        self.get(pk.to_string(), keys::HEAD)
            .await?
            .as_ref()
            .map(body)
            .transpose()
    }

    async fn list(&self, query: &ListQuery) -> Result<Page<OrderSummary>, StoreError> {
        let tenant = &query.tenant;
        let (index, key_attr, key) = match (&query.status, &query.customer_id) {
            (Some(status), _) => (
                schema::BY_STATUS,
                "status_key",
                keys::status_key(tenant, status),
            ),
            (None, Some(customer)) => (
                schema::BY_CUSTOMER,
                "customer_key",
                keys::customer_key(tenant, customer),
            ),
            (None, None) => (schema::BY_TENANT, "tenant_key", keys::tenant_key(tenant)),
        };
        let mut filters = Vec::new();
        let mut request = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(index)
            .key_condition_expression(format!("{key_attr} = :key"))
            .expression_attribute_values(":key", s(&key))
            .scan_index_forward(false);
        if let (Some(_), Some(customer)) = (&query.status, &query.customer_id) {
            filters.push("customer_key = :customer".to_string());
            request = request
                .expression_attribute_values(":customer", s(keys::customer_key(tenant, customer)));
        }
        if let Some(stalled) = query.stalled {
            let test = "(flagged = :yes OR due_at <= :now)";
            filters.push(if stalled {
                test.to_string()
            } else {
                format!("NOT {test}")
            });
            request = request
                .expression_attribute_values(":yes", AttributeValue::Bool(true))
                .expression_attribute_values(":now", s(ts(query.now.unwrap_or_else(Utc::now))));
        }
        if !filters.is_empty() {
            request = request.filter_expression(filters.join(" AND "));
        }
        let mut start = query.after.as_ref().map(|after| {
            Item::from([
                (key_attr.to_string(), s(&key)),
                (
                    "updated".to_string(),
                    s(keys::updated(after.updated_at(), after.order_id())),
                ),
                ("pk".to_string(), s(keys::order_pk(after.order_id()))),
                ("sk".to_string(), s(keys::HEAD)),
            ])
        });
        let mut heads: Vec<OrderSummary> = Vec::new();
        loop {
            let wanted = query.limit + 1 - heads.len();
            let out = request
                .clone()
                .limit(i32::try_from(wanted).unwrap_or(i32::MAX))
                .set_exclusive_start_key(start)
                .return_consumed_capacity(ReturnConsumedCapacity::Total)
                .send()
                .await
                .map_err(unavailable)?;
            self.usage.record(false, out.consumed_capacity());
            for item in out.items() {
                heads.push(decode(item, "summary")?);
            }
            start = out.last_evaluated_key().cloned();
            if heads.len() > query.limit || start.is_none() {
                break;
            }
        }
        let more = heads.len() > query.limit;
        heads.truncate(query.limit);
        let next = more.then(|| heads.last().map(Cursor::after)).flatten();
        Ok(Page { items: heads, next })
    }

    async fn due(&self, now: DateTime<Utc>, limit: usize) -> Result<Vec<Head>, StoreError> {
        let until = keys::due_until(now);
        let mut due = Vec::new();
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
            // The due index holds keys only: read each overdue head.
            for key in out.items() {
                if let Some(pk) = text(key, "pk") {
                    if let Some(head) = self.get(pk.to_string(), keys::HEAD).await? {
                        due.push(body::<Head>(&head)?);
                    }
                }
            }
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
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item::waiting_item(key, inbound, kept_at)?))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        self.usage.record(true, []);
        match put {
            Ok(_) => Ok(true),
            // The same provider event stashed twice is kept once.
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(false)
            }
            Err(e) => Err(unavailable(e)),
        }
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
