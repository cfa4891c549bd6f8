//! The order lists: a tenant's orders from the `ByTenant` index, which
//! copies what a list shows, and a customer's from `ByCustomer`, which holds
//! keys only. Both most recently updated first, paged by the same cursor as
//! every store's.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes, ReturnConsumedCapacity};
use chrono::Utc;

use super::item::{self, s, text, Item};
use super::{keys, schema, unavailable, DynamoStore};
use crate::cursor::Cursor;
use crate::order::OrderSummary;
use crate::ports::{ListQuery, Page, StoreError};
use crate::store::ts;

/// What a list reads of a head item: the parts a summary is made of (the
/// whole `summary` on items written before it was kept in parts).
const SUMMARY_PARTS: &str = "card, marks, summary";
/// DynamoDB's cap on the keys of one `BatchGetItem`.
const BATCH_GET_KEYS: usize = 100;
/// Rounds of asking again for keys a `BatchGetItem` left unprocessed.
const BATCH_GET_ROUNDS: u32 = 8;

impl DynamoStore {
    /// The tenant's orders from the index that copies what a list shows;
    /// the status and stalled filters are tested by DynamoDB as it reads,
    /// the store and payment filters here (they are inside the card and the
    /// marks), at the same price: a filter saves no read units either way.
    pub(super) async fn list_tenant(
        &self,
        query: &ListQuery,
    ) -> Result<Page<OrderSummary>, StoreError> {
        let key = keys::tenant_key(&query.tenant);
        let mut filters = Vec::new();
        let mut request = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(schema::BY_TENANT)
            .key_condition_expression("tenant_key = :key")
            .expression_attribute_values(":key", s(&key))
            .scan_index_forward(false);
        if let Some(status) = &query.status {
            filters.push("#status = :status".to_string());
            request = request
                .expression_attribute_names("#status", "status")
                .expression_attribute_values(":status", s(status));
        }
        if let Some(stalled) = query.stalled {
            let test = "(flagged = :yes OR due_key <= :until)";
            filters.push(if stalled {
                test.to_string()
            } else {
                format!("NOT {test}")
            });
            let until = keys::due_until(query.now.unwrap_or_else(Utc::now));
            request = request
                .expression_attribute_values(":yes", AttributeValue::Bool(true))
                .expression_attribute_values(":until", s(until));
        }
        if !filters.is_empty() {
            request = request.filter_expression(filters.join(" AND "));
        }
        let mut start = query.after.as_ref().map(|after| {
            Item::from([
                ("tenant_key".to_string(), s(&key)),
                (
                    "updated".to_string(),
                    s(keys::updated(after.updated_at(), after.order_id())),
                ),
                ("pk".to_string(), s(keys::order_pk(after.order_id()))),
                ("sk".to_string(), s(keys::HEAD)),
            ])
        });
        let mut listed: Vec<OrderSummary> = Vec::new();
        loop {
            let wanted = query.limit + 1 - listed.len();
            let out = request
                .clone()
                .limit(i32::try_from(wanted).unwrap_or(i32::MAX))
                .set_exclusive_start_key(start)
                .return_consumed_capacity(ReturnConsumedCapacity::Total)
                .send()
                .await
                .map_err(unavailable)?;
            self.usage.record(false, out.consumed_capacity());
            for entry in out.items() {
                let summary = item::summary(entry)?;
                if query.wants(&summary) {
                    listed.push(summary);
                }
            }
            start = out.last_evaluated_key().cloned();
            if listed.len() > query.limit || start.is_none() {
                break;
            }
        }
        Ok(page(listed, query.limit))
    }

    /// A customer's orders. Their index holds keys only and never changes
    /// after checkout, so it costs nothing per command; a list reads every
    /// one of the customer's heads (a customer has few orders), then filters,
    /// sorts and pages them as the tenant's list does.
    pub(super) async fn list_customer(
        &self,
        query: &ListQuery,
        customer: &str,
    ) -> Result<Page<OrderSummary>, StoreError> {
        let request = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(schema::BY_CUSTOMER)
            .key_condition_expression("customer_key = :key")
            .expression_attribute_values(":key", s(keys::customer_key(&query.tenant, customer)));
        let heads = self
            .query_all(request)
            .await?
            .iter()
            .filter_map(|key| text(key, "pk"))
            .map(|pk| (pk.to_string(), keys::HEAD.to_string()))
            .collect();
        let now = ts(query.now.unwrap_or_else(Utc::now));
        let after = query
            .after
            .as_ref()
            .map(|after| keys::updated(after.updated_at(), after.order_id()));
        let mut listed = Vec::new();
        for head in self.batch_get(heads, Some(SUMMARY_PARTS), false).await? {
            let summary = item::summary(&head)?;
            let position = keys::updated(summary.updated_at, &summary.id);
            let stalled = !summary.flags.is_empty() || summary.due_at.is_some_and(|d| ts(d) <= now);
            let wanted = query.status.as_ref().is_none_or(|s| *s == summary.status)
                && query.wants(&summary)
                && query.stalled.is_none_or(|want| want == stalled)
                && after.as_ref().is_none_or(|after| position < *after);
            if wanted {
                listed.push((position, summary));
            }
        }
        listed.sort_by(|a, b| b.0.cmp(&a.0));
        let listed = listed.into_iter().map(|(_, summary)| summary).collect();
        Ok(page(listed, query.limit))
    }

    /// Items by key, in no particular order, at most [`BATCH_GET_KEYS`] a
    /// request; keys DynamoDB leaves unprocessed (throttling) are asked for
    /// again after a pause.
    pub(super) async fn batch_get(
        &self,
        wanted: Vec<(String, String)>,
        projection: Option<&str>,
        consistent: bool,
    ) -> Result<Vec<Item>, StoreError> {
        let mut found = Vec::new();
        for chunk in wanted.chunks(BATCH_GET_KEYS) {
            let keys = chunk
                .iter()
                .map(|(pk, sk)| {
                    HashMap::from([("pk".to_string(), s(pk)), ("sk".to_string(), s(sk))])
                })
                .collect();
            let request = KeysAndAttributes::builder()
                .set_keys(Some(keys))
                .set_projection_expression(projection.map(str::to_string))
                .consistent_read(consistent)
                .build()
                .map_err(unavailable)?;
            let mut pending = HashMap::from([(self.table.clone(), request)]);
            for round in 0.. {
                let out = self
                    .client
                    .batch_get_item()
                    .set_request_items(Some(pending))
                    .return_consumed_capacity(ReturnConsumedCapacity::Total)
                    .send()
                    .await
                    .map_err(unavailable)?;
                self.usage.record(false, out.consumed_capacity());
                if let Some(items) = out.responses().and_then(|r| r.get(&self.table)) {
                    found.extend(items.iter().cloned());
                }
                pending = out.unprocessed_keys().cloned().unwrap_or_default();
                if pending.is_empty() {
                    break;
                }
                if round == BATCH_GET_ROUNDS {
                    return Err(StoreError::Unavailable(
                        "DynamoDB left keys of a batch unprocessed".into(),
                    ));
                }
                tokio::time::sleep(Duration::from_millis(25 << round)).await;
            }
        }
        Ok(found)
    }
}

/// The first `limit` of `listed`, and where the next page starts if more
/// follow.
fn page(mut listed: Vec<OrderSummary>, limit: usize) -> Page<OrderSummary> {
    let more = listed.len() > limit;
    listed.truncate(limit);
    let next = more.then(|| listed.last().map(Cursor::after)).flatten();
    Page {
        items: listed,
        next,
    }
}
