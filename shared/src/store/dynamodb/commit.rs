//! A command's writes as one `TransactWriteItems`, and a cancelled
//! transaction read back into the domain error that explains it.
//!
//! The head `Put` is conditioned on `version = :expected AND #status IN
//! (legal predecessors)` — the predecessors derived from the lifecycle, never
//! from the caller — so DynamoDB itself refuses a concurrent or illegal move.
//! Events, parked facts, the dedupe marker and the idempotency key are put
//! with `attribute_not_exists(pk)`; released parked facts are deleted in the
//! same transaction.

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeValue, Delete, Put, ReturnConsumedCapacity, ReturnValuesOnConditionCheckFailure,
    TransactWriteItem,
};

use super::item::{self, s, text, Item};
use super::{keys, unavailable, DynamoStore};
use crate::ports::{Commit, OrderStore, StoreError};
use crate::store::legal_predecessors;

/// A put that refuses to overwrite: events, markers and keys are written once.
const NEW: &str = "attribute_not_exists(pk)";

/// Which item of a transaction a cancellation reason refers to.
enum Part {
    Head,
    Dedupe,
    Idempotency,
    Other,
}

impl DynamoStore {
    /// Writes the commit in one transaction; a cancellation is the domain
    /// error that explains it.
    pub(super) async fn write(&self, commit: &Commit) -> Result<(), StoreError> {
        let predecessors = legal_predecessors(&self.catalog, commit)?;
        let mut items = vec![self.head_put(commit, predecessors)?];
        let mut parts = vec![Part::Head];
        for event in &commit.events {
            items.push(self.put(item::event_item(event)?, Some(NEW))?);
            parts.push(Part::Other);
        }
        for fact in &commit.park {
            items.push(self.put(item::parked_item(fact)?, Some(NEW))?);
            parts.push(Part::Other);
        }
        for parked in &commit.unpark {
            // Unconditional: the head's condition already makes the whole
            // transaction fail if another command released it first.
            let delete = Delete::builder()
                .table_name(&self.table)
                .key("pk", s(keys::order_pk(&commit.head.id)))
                .key(
                    "sk",
                    s(keys::parked_sk(parked.occurred_at, &parked.event_id)),
                )
                .build()
                .map_err(unavailable)?;
            items.push(TransactWriteItem::builder().delete(delete).build());
            parts.push(Part::Other);
        }
        for link in &commit.tracking_codes {
            // Unconditional: attaching a code the order already used again
            // only refreshes its pointer.
            items.push(self.put(item::tracking_item(&commit.head, link), None)?);
            parts.push(Part::Other);
        }
        if let Some((source, external_id)) = &commit.dedupe {
            let marker =
                item::dedupe_item(source, external_id, &commit.head.id, commit.head.updated_at);
            items.push(self.put(marker, Some(NEW))?);
            parts.push(Part::Dedupe);
        }
        if let Some(record) = &commit.idempotency {
            items.push(self.put(item::idempotency_item(record)?, Some(NEW))?);
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

    fn put(&self, item: Item, condition: Option<&str>) -> Result<TransactWriteItem, StoreError> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .set_condition_expression(condition.map(str::to_string))
            .build()
            .map_err(unavailable)?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    fn head_put(
        &self,
        commit: &Commit,
        predecessors: Option<Vec<String>>,
    ) -> Result<TransactWriteItem, StoreError> {
        let mut put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item::head_item(&commit.head)?))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        if commit.expected_version == 0 {
            put = put.condition_expression(NEW);
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
}
