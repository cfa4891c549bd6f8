//! The DynamoDB adapter: one table, the item layout of DESIGN §5.
//!
//! | item | pk | sk |
//! |---|---|---|
//! | head | `ORDER#<id>` | `HEAD` |
//! | event | `ORDER#<id>` | `EVENT#<seq, 20 digits>` |
//! | parked fact | `ORDER#<id>` | `PARKED#<occurred_at>#<event_id>` |
//! | dedupe marker | `DEDUPE#<tenant>/<source>#<external_id>` (provider facts) | `DEDUPE` (TTL) |
//! | idempotency key | `IDEM#<tenant>#<key>` | `IDEM` (TTL) |
//! | tracking code | `TRACKING#<tenant>#<code>` | `ORDER#<id>` (one per order that used it) |
//! | fact waiting for its order | `UNMATCHED#<tenant>\|<subject>` | `<event_id>` (TTL) |
//!
//! `EVENT#` < `HEAD` < `PARKED#`, so a command reads the head and its parked
//! facts — and not the history — with one strongly consistent `Query` on
//! `sk >= "HEAD"`. Every command is one `TransactWriteItems`: the head `Put` is
//! conditioned on `version = :expected AND #status IN (legal predecessors)`,
//! event items on `attribute_not_exists`, the dedupe marker and idempotency
//! key likewise; a cancellation is read back into a domain error.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, ConsumedCapacity, Delete,
    GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection, ProjectionType, Put,
    ReturnConsumedCapacity, ReturnValuesOnConditionCheckFailure, ScalarAttributeType,
    StreamSpecification, StreamViewType, TimeToLiveSpecification, TransactWriteItem,
};
use aws_sdk_dynamodb::Client;
use chrono::{DateTime, Duration, Utc};

use super::{legal_predecessors, ts};
use crate::cursor::Cursor;
use crate::lifecycle::Catalog;
use crate::order::inbound::{Inbound, TrackingLink};
use crate::order::{Event, Head, OrderSummary};
use crate::ports::{Commit, IdempotencyRecord, ListQuery, Loaded, OrderStore, Page, StoreError};

/// Shards of the due index, so the sweep's reads spread over partitions.
pub const DUE_SHARDS: u32 = 8;
/// What the list indexes carry besides their keys: the summary a list shows
/// and what its filters test.
const LISTED_ATTRIBUTES: [&str; 4] = ["summary", "flagged", "due_at", "customer_key"];
/// How long a dedupe marker outlives its fact: longer than any provider retries.
const DEDUPE_TTL: Duration = Duration::days(30);
/// How long an idempotency key is honoured (as long as Stripe's).
const IDEMPOTENCY_TTL: Duration = Duration::hours(24);

type Item = HashMap<String, AttributeValue>;

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

fn unavailable<E: std::error::Error>(e: E) -> StoreError {
    StoreError::Unavailable(DisplayErrorContext(&e).to_string())
}

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

fn text<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    item.get(name)
        .and_then(|v| v.as_s().ok())
        .map(String::as_str)
}

fn body<T: serde::de::DeserializeOwned>(item: &Item) -> Result<T, StoreError> {
    let json =
        text(item, "body").ok_or_else(|| StoreError::Unavailable("item without a body".into()))?;
    serde_json::from_str(json).map_err(|e| StoreError::Unavailable(e.to_string()))
}

fn json<T: serde::Serialize>(value: &T) -> Result<AttributeValue, StoreError> {
    serde_json::to_string(value)
        .map(AttributeValue::S)
        .map_err(|e| StoreError::Unavailable(e.to_string()))
}

fn order_pk(id: &str) -> String {
    format!("ORDER#{id}")
}

fn event_sk(seq: u64) -> String {
    format!("EVENT#{seq:020}")
}

fn parked_sk(event: &Event) -> String {
    format!("PARKED#{}#{}", ts(event.occurred_at), event.event_id)
}

fn dedupe_pk(source: &str, external_id: &str) -> String {
    format!("DEDUPE#{source}#{external_id}")
}

fn tracking_pk(tenant: &str, code: &str) -> String {
    format!("TRACKING#{tenant}#{code}")
}

fn idem_pk(tenant: &str, key: &str) -> String {
    format!("IDEM#{tenant}#{key}")
}

fn due_shard(order_id: &str) -> String {
    let hash = order_id
        .bytes()
        .fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)));
    format!("DUE#{}", hash % DUE_SHARDS)
}

/// The sort value of the tenant indexes.
fn updated_key(head: &Head) -> String {
    updated_sort(head.updated_at, &head.id)
}

/// The tenant indexes' sort value of an order updated at `at`: where a list
/// cursor points.
fn updated_sort(at: DateTime<Utc>, order_id: &str) -> String {
    format!("{}#{}", ts(at), order_id)
}

fn head_item(head: &Head) -> Result<Item, StoreError> {
    let tenant = &head.tenant;
    let mut item = Item::from([
        ("pk".into(), s(order_pk(&head.id))),
        ("sk".into(), s("HEAD")),
        ("body".into(), json(head)?),
        ("summary".into(), json(&head.summary())?),
        (
            "version".into(),
            AttributeValue::N(head.version.to_string()),
        ),
        ("status".into(), s(&head.status)),
        ("public_id".into(), s(&head.public_id)),
        ("tenant_key".into(), s(format!("TENANT#{tenant}"))),
        (
            "status_key".into(),
            s(format!("TENANT#{tenant}#STATUS#{}", head.status)),
        ),
        (
            "customer_key".into(),
            s(format!("TENANT#{tenant}#CUSTOMER#{}", head.customer_id)),
        ),
        ("updated".into(), s(updated_key(head))),
        (
            "flagged".into(),
            AttributeValue::Bool(!head.flags.is_empty()),
        ),
    ]);
    // Sparse: only orders with a deadline are in the due index.
    if let Some(due) = head.due_at {
        item.insert("due_shard".into(), s(due_shard(&head.id)));
        item.insert("due_key".into(), s(format!("{}#{}", ts(due), head.id)));
        item.insert("due_at".into(), s(ts(due)));
    }
    Ok(item)
}

fn event_item(event: &Event, sk: String) -> Result<Item, StoreError> {
    Ok(Item::from([
        ("pk".into(), s(order_pk(&event.order_id))),
        ("sk".into(), s(sk)),
        ("event_id".into(), s(&event.event_id)),
        ("body".into(), json(event)?),
    ]))
}

fn ttl(at: DateTime<Utc>) -> AttributeValue {
    AttributeValue::N(at.timestamp().to_string())
}

/// Which item of a transaction a cancellation reason refers to.
enum Part {
    Head,
    Dedupe,
    Idempotency,
    Other,
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

    pub fn usage(&self) -> Arc<Usage> {
        self.usage.clone()
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    /// Creates the table with the same keys, indexes, stream and TTL as
    /// `template.yaml` (used by tests and local set-ups).
    pub async fn create_table(client: &Client, table: &str) -> Result<(), StoreError> {
        let attr = |name: &str| {
            AttributeDefinition::builder()
                .attribute_name(name)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .expect("attribute definition is complete")
        };
        let key = |name: &str, key_type: KeyType| {
            KeySchemaElement::builder()
                .attribute_name(name)
                .key_type(key_type)
                .build()
                .expect("key schema is complete")
        };
        // Indexes copy as little as they can: every write to a head rewrites
        // each index entry whose key or projected attributes changed.
        let index = |name: &str, hash: &str, range: Option<&str>, include: &[&str]| {
            let mut keys = vec![key(hash, KeyType::Hash)];
            keys.extend(range.map(|r| key(r, KeyType::Range)));
            let projection = if include.is_empty() {
                Projection::builder()
                    .projection_type(ProjectionType::KeysOnly)
                    .build()
            } else {
                Projection::builder()
                    .projection_type(ProjectionType::Include)
                    .set_non_key_attributes(Some(include.iter().map(|a| a.to_string()).collect()))
                    .build()
            };
            GlobalSecondaryIndex::builder()
                .index_name(name)
                .set_key_schema(Some(keys))
                .projection(projection)
                .build()
                .expect("index is complete")
        };
        let listed = LISTED_ATTRIBUTES;
        let names = [
            "pk",
            "sk",
            "public_id",
            "status_key",
            "tenant_key",
            "customer_key",
            "updated",
            "due_shard",
            "due_key",
        ];
        client
            .create_table()
            .table_name(table)
            .set_attribute_definitions(Some(names.iter().map(|n| attr(n)).collect()))
            .key_schema(key("pk", KeyType::Hash))
            .key_schema(key("sk", KeyType::Range))
            .global_secondary_indexes(index("ByPublicId", "public_id", None, &[]))
            .global_secondary_indexes(index("ByStatus", "status_key", Some("updated"), &listed))
            .global_secondary_indexes(index("ByTenant", "tenant_key", Some("updated"), &listed))
            .global_secondary_indexes(index(
                "ByCustomer",
                "customer_key",
                Some("updated"),
                &listed,
            ))
            .global_secondary_indexes(index("Due", "due_shard", Some("due_key"), &[]))
            .billing_mode(BillingMode::PayPerRequest)
            .stream_specification(
                StreamSpecification::builder()
                    .stream_enabled(true)
                    .stream_view_type(StreamViewType::NewImage)
                    .build()
                    .expect("stream spec is complete"),
            )
            .send()
            .await
            .map_err(unavailable)?;
        client
            .update_time_to_live()
            .table_name(table)
            .time_to_live_specification(
                TimeToLiveSpecification::builder()
                    .enabled(true)
                    .attribute_name("expires_at")
                    .build()
                    .expect("ttl spec is complete"),
            )
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    fn put(&self, item: Item, condition: &str) -> TransactWriteItem {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(condition)
            .build()
            .expect("put is complete");
        TransactWriteItem::builder().put(put).build()
    }

    fn head_put(
        &self,
        commit: &Commit,
        predecessors: Option<Vec<String>>,
    ) -> Result<TransactWriteItem, StoreError> {
        let item = head_item(&commit.head)?;
        let mut put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        if commit.expected_version == 0 {
            put = put.condition_expression("attribute_not_exists(pk)");
        } else {
            put = put.expression_attribute_values(
                ":expected",
                AttributeValue::N(commit.expected_version.to_string()),
            );
            let mut condition = String::from("version = :expected");
            if let Some(legal) = predecessors {
                put = put.expression_attribute_names("#status", "status");
                if legal.is_empty() {
                    // Nothing may move here: a condition that cannot hold.
                    condition.push_str(" AND attribute_not_exists(#status)");
                } else {
                    let marks: Vec<String> =
                        (0..legal.len()).map(|i| format!(":legal{i}")).collect();
                    condition.push_str(&format!(" AND #status IN ({})", marks.join(", ")));
                    for (mark, status) in marks.iter().zip(legal) {
                        put = put.expression_attribute_values(mark, s(status));
                    }
                }
            }
            put = put.condition_expression(condition);
        }
        let put = put.build().map_err(unavailable)?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// Reads why a transaction was cancelled, in order of precedence: a seen
    /// fact is a duplicate whatever else failed.
    async fn cancellation(
        &self,
        commit: &Commit,
        parts: &[Part],
        error: TransactWriteItemsError,
    ) -> StoreError {
        let TransactWriteItemsError::TransactionCanceledException(cancelled) = &error else {
            return unavailable(error);
        };
        let reasons = cancelled.cancellation_reasons();
        // A failed condition names the item that refused; a transaction
        // conflict (another writer on the same item) is only a lost race.
        let refused = |wanted: fn(&Part) -> bool| {
            reasons
                .iter()
                .zip(parts)
                .find(|(r, p)| wanted(p) && r.code() == Some("ConditionalCheckFailed"))
                .map(|(r, _)| r)
        };
        if refused(|p| matches!(p, Part::Dedupe)).is_some() {
            return StoreError::Duplicate;
        }
        if refused(|p| matches!(p, Part::Idempotency)).is_some() {
            return StoreError::IdempotencyKeyTaken;
        }
        let head_refused = refused(|p| matches!(p, Part::Head));
        if commit.expected_version == 0 {
            return match head_refused {
                Some(_) => StoreError::AlreadyExists,
                None => StoreError::VersionConflict {
                    current: 0,
                    status: String::new(),
                },
            };
        }
        let old = head_refused.and_then(|r| r.item()).and_then(|item| {
            let version = item.get("version")?.as_n().ok()?.parse().ok()?;
            Some((version, text(item, "status")?.to_string()))
        });
        let (version, status) = match old {
            Some(current) => current,
            None => match self.load(&commit.head.id).await {
                Ok(Some(loaded)) => (loaded.head.version, loaded.head.status),
                Ok(None) => return StoreError::Unavailable("order vanished".into()),
                Err(e) => return e,
            },
        };
        if head_refused.is_some() && version == commit.expected_version {
            StoreError::IllegalTransition {
                current: status,
                version,
            }
        } else {
            StoreError::VersionConflict {
                current: version,
                status,
            }
        }
    }

    async fn query_all(
        &self,
        request: aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder,
    ) -> Result<Vec<Item>, StoreError> {
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
            .expression_attribute_values(":pk", s(order_pk(order_id)))
            .expression_attribute_values(":head", s("HEAD"))
            .consistent_read(true);
        let items = self.query_all(request).await?;
        let Some(head) = items.iter().find(|i| text(i, "sk") == Some("HEAD")) else {
            return Ok(None);
        };
        let parked = items
            .iter()
            .filter(|i| text(i, "sk").is_some_and(|sk| sk.starts_with("PARKED#")))
            .map(body)
            .collect::<Result<Vec<Event>, _>>()?;
        Ok(Some(Loaded {
            head: body(head)?,
            parked,
        }))
    }

    async fn commit(&self, commit: &Commit) -> Result<(), StoreError> {
        let predecessors = legal_predecessors(&self.catalog, commit)?;
        let mut items = vec![self.head_put(commit, predecessors)?];
        let mut parts = vec![Part::Head];
        for event in &commit.events {
            items.push(self.put(
                event_item(event, event_sk(event.seq))?,
                "attribute_not_exists(pk)",
            ));
            parts.push(Part::Other);
        }
        for fact in &commit.park {
            items.push(self.put(
                event_item(fact, parked_sk(fact))?,
                "attribute_not_exists(pk)",
            ));
            parts.push(Part::Other);
        }
        for parked in &commit.unpark {
            let delete = Delete::builder()
                .table_name(&self.table)
                .key("pk", s(order_pk(&commit.head.id)))
                .key(
                    "sk",
                    s(format!(
                        "PARKED#{}#{}",
                        ts(parked.occurred_at),
                        parked.event_id
                    )),
                )
                .build()
                .map_err(unavailable)?;
            items.push(TransactWriteItem::builder().delete(delete).build());
            parts.push(Part::Other);
        }
        for link in &commit.tracking_codes {
            // One item per order that used the code: a recycled code keeps
            // its history, and the service picks the newest live shipment.
            let mut pointer = Item::from([
                ("pk".into(), s(tracking_pk(&commit.head.tenant, &link.code))),
                ("sk".into(), s(order_pk(&commit.head.id))),
                ("order_id".into(), s(&commit.head.id)),
                ("attached_at".into(), s(ts(commit.head.updated_at))),
            ]);
            if let Some(carrier) = &link.carrier {
                pointer.insert("carrier".into(), s(carrier));
            }
            let put = Put::builder()
                .table_name(&self.table)
                .set_item(Some(pointer))
                .build()
                .map_err(unavailable)?;
            items.push(TransactWriteItem::builder().put(put).build());
            parts.push(Part::Other);
        }
        let now = commit.head.updated_at;
        if let Some((source, external_id)) = &commit.dedupe {
            let marker = Item::from([
                ("pk".into(), s(dedupe_pk(source, external_id))),
                ("sk".into(), s("DEDUPE")),
                ("order_id".into(), s(&commit.head.id)),
                ("expires_at".into(), ttl(now + DEDUPE_TTL)),
            ]);
            items.push(self.put(marker, "attribute_not_exists(pk)"));
            parts.push(Part::Dedupe);
        }
        if let Some(record) = &commit.idempotency {
            let key = Item::from([
                ("pk".into(), s(idem_pk(&record.tenant, &record.key))),
                ("sk".into(), s("IDEM")),
                ("body".into(), json(record)?),
                (
                    "expires_at".into(),
                    ttl(record.created_at + IDEMPOTENCY_TTL),
                ),
            ]);
            items.push(self.put(key, "attribute_not_exists(pk)"));
            parts.push(Part::Idempotency);
        }
        let sent = self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await;
        match sent {
            Ok(out) => {
                self.usage.record(true, out.consumed_capacity());
                Ok(())
            }
            Err(SdkError::ServiceError(e)) => {
                self.usage.record(true, []);
                Err(self.cancellation(commit, &parts, e.into_err()).await)
            }
            Err(e) => Err(unavailable(e)),
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
            .expression_attribute_values(":pk", s(order_pk(order_id)))
            .expression_attribute_values(":from", s(event_sk(after_seq + 1)))
            .expression_attribute_values(":to", s(event_sk(u64::MAX)))
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
            .index_name("ByPublicId")
            .key_condition_expression("public_id = :p")
            .expression_attribute_values(":p", s(public_id));
        let keys = self.query_all(request).await?;
        let Some(pk) = keys.first().and_then(|k| text(k, "pk")) else {
            return Ok(None);
        };
        self.get(pk.to_string(), "HEAD")
            .await?
            .as_ref()
            .map(body)
            .transpose()
    }

    async fn list(&self, query: &ListQuery) -> Result<Page<OrderSummary>, StoreError> {
        let tenant = &query.tenant;
        let (index, key_attr, key) = match (&query.status, &query.customer_id) {
            (Some(status), _) => (
                "ByStatus",
                "status_key",
                format!("TENANT#{tenant}#STATUS#{status}"),
            ),
            (None, Some(customer)) => (
                "ByCustomer",
                "customer_key",
                format!("TENANT#{tenant}#CUSTOMER#{customer}"),
            ),
            (None, None) => ("ByTenant", "tenant_key", format!("TENANT#{tenant}")),
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
            request = request.expression_attribute_values(
                ":customer",
                s(format!("TENANT#{tenant}#CUSTOMER#{customer}")),
            );
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
                    s(updated_sort(after.updated_at(), after.order_id())),
                ),
                ("pk".to_string(), s(order_pk(after.order_id()))),
                ("sk".to_string(), s("HEAD")),
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
                let summary = text(item, "summary").unwrap_or_default();
                heads.push(
                    serde_json::from_str(summary)
                        .map_err(|e| StoreError::Unavailable(e.to_string()))?,
                );
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
        let upper = format!("{}#~", ts(now));
        let mut due = Vec::new();
        for shard in 0..DUE_SHARDS {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .index_name("Due")
                .key_condition_expression("due_shard = :shard AND due_key <= :upper")
                .expression_attribute_values(":shard", s(format!("DUE#{shard}")))
                .expression_attribute_values(":upper", s(&upper))
                .limit(i32::try_from(limit).unwrap_or(i32::MAX))
                .return_consumed_capacity(ReturnConsumedCapacity::Total)
                .send()
                .await
                .map_err(unavailable)?;
            self.usage.record(false, out.consumed_capacity());
            // The due index holds keys only: read each overdue head.
            for key in out.items() {
                if let Some(pk) = text(key, "pk") {
                    if let Some(head) = self.get(pk.to_string(), "HEAD").await? {
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
        self.get(idem_pk(tenant, key), "IDEM")
            .await?
            .as_ref()
            .map(body)
            .transpose()
    }

    async fn seen(&self, source: &str, external_id: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .get(dedupe_pk(source, external_id), "DEDUPE")
            .await?
            .and_then(|item| text(&item, "order_id").map(str::to_string)))
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
            .expression_attribute_values(":pk", s(tracking_pk(tenant, code)))
            .consistent_read(true);
        let links: Vec<TrackingLink> = self
            .query_all(request)
            .await?
            .iter()
            .filter_map(|item| {
                Some(TrackingLink {
                    order_id: text(item, "order_id")?.to_string(),
                    carrier: text(item, "carrier").map(str::to_string),
                    attached_at: DateTime::parse_from_rfc3339(text(item, "attached_at")?)
                        .ok()?
                        .with_timezone(&Utc),
                })
            })
            .collect();
        if !links.is_empty() {
            return Ok(links);
        }
        // Tables written before codes were kept per tenant hold one global
        // pointer per code. It is offered as a candidate only: the service
        // applies a fact to it only if that order belongs to `tenant`.
        Ok(self
            .get(format!("TRACKING#{code}"), "TRACKING")
            .await?
            .and_then(|item| {
                Some(TrackingLink {
                    order_id: text(&item, "order_id")?.to_string(),
                    carrier: None,
                    attached_at: DateTime::<Utc>::MIN_UTC,
                })
            })
            .into_iter()
            .collect())
    }

    async fn stash(&self, key: &str, inbound: &Inbound) -> Result<bool, StoreError> {
        let item = Item::from([
            ("pk".into(), s(format!("UNMATCHED#{key}"))),
            ("sk".into(), s(&inbound.event_id)),
            ("body".into(), json(inbound)?),
            ("expires_at".into(), ttl(Utc::now() + DEDUPE_TTL)),
        ]);
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
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
            .expression_attribute_values(":pk", s(format!("UNMATCHED#{key}")))
            .consistent_read(true);
        self.query_all(request).await?.iter().map(body).collect()
    }

    async fn unstash(&self, key: &str, event_id: &str) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key("pk", s(format!("UNMATCHED#{key}")))
            .key("sk", s(event_id))
            .send()
            .await
            .map_err(unavailable)?;
        self.usage.record(true, []);
        Ok(())
    }
}
