//! A command's writes as one `TransactWriteItems`, and a cancelled
//! transaction read back into the domain error that explains it.
//!
//! Checkout puts the head item and the snapshot; every later command
//! updates the head item in place, only the attributes commands change,
//! conditioned on `version = :expected AND #status IN (legal predecessors)`
//! — the predecessors derived from the lifecycle, never from the caller —
//! so DynamoDB itself refuses a concurrent or illegal move. Events, parked
//! facts, the dedupe marker and the idempotency key are put with
//! `attribute_not_exists(pk)`; released parked facts are deleted in the same
//! transaction.
//!
//! Every transaction carries a `ClientRequestToken` derived from the
//! commit, so the SDK's retry of a request whose answer was lost or late is
//! recognised by DynamoDB (for ten minutes) and answered as the success it
//! was, rather than refused by its own first attempt's writes and reported
//! as a conflict.

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeValue, Delete, Put, ReturnConsumedCapacity, ReturnValuesOnConditionCheckFailure,
    TransactWriteItem, Update,
};

use sha2::{Digest, Sha256};

use super::item::{self, s, Item, Parts};
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

/// The commit's `ClientRequestToken`: the same for every attempt at this
/// commit, different for any other. Event ids are fresh per decision, so a
/// command decided again after losing a race gets a new token; the order,
/// the version it replaces and the head's time tell apart commits that
/// write no event. DynamoDB allows 36 characters: 18 bytes of SHA-256.
fn request_token(commit: &Commit) -> String {
    let mut digest = Sha256::new();
    let head = &commit.head;
    for part in [
        head.id.as_str(),
        &commit.expected_version.to_string(),
        &head.version.to_string(),
        &head.updated_at.to_rfc3339(),
    ] {
        digest.update(part.as_bytes());
        digest.update([0]);
    }
    for event in commit.events.iter().chain(&commit.park) {
        digest.update(event.event_id.as_bytes());
        digest.update([0]);
    }
    for parked in &commit.unpark {
        digest.update(parked.event_id.as_bytes());
        digest.update([0]);
    }
    crate::hex::encode(&digest.finalize()[..18])
}

impl DynamoStore {
    /// Writes the commit in one transaction; a cancellation is the domain
    /// error that explains it.
    pub(super) async fn write(&self, commit: &Commit) -> Result<(), StoreError> {
        let predecessors = legal_predecessors(&self.catalog, commit)?;
        let head = &commit.head;
        let parts = item::parts(head)?;
        let mut items = Vec::new();
        let mut roles = Vec::new();
        if commit.expected_version == 0 {
            items.push(self.put(item::new_head_item(head, &parts)?, Some(NEW))?);
            roles.push(Part::Head);
            // Unconditional: the head's put refuses an order that exists, and
            // with it the whole transaction.
            items.push(self.put(item::snapshot_item(head, &parts)?, None)?);
            roles.push(Part::Other);
        } else {
            items.push(self.head_update(commit, &parts, predecessors)?);
            roles.push(Part::Head);
        }
        for event in &commit.events {
            items.push(self.put(item::event_item(event)?, Some(NEW))?);
            roles.push(Part::Other);
        }
        for fact in &commit.park {
            items.push(self.put(item::parked_item(fact)?, Some(NEW))?);
            roles.push(Part::Other);
        }
        for parked in &commit.unpark {
            // Unconditional: the head's condition already makes the whole
            // transaction fail if another command released it first.
            let delete = Delete::builder()
                .table_name(&self.table)
                .key("pk", s(keys::order_pk(&head.id)))
                .key(
                    "sk",
                    s(keys::parked_sk(parked.occurred_at, &parked.event_id)),
                )
                .build()
                .map_err(unavailable)?;
            items.push(TransactWriteItem::builder().delete(delete).build());
            roles.push(Part::Other);
        }
        for link in &commit.tracking_codes {
            // Unconditional: attaching a code the order already used again
            // only refreshes its pointer.
            items.push(self.put(item::tracking_item(head, link), None)?);
            roles.push(Part::Other);
        }
        if let Some((source, external_id)) = &commit.dedupe {
            let marker = item::dedupe_item(source, external_id, &head.id, head.updated_at);
            items.push(self.put(marker, Some(NEW))?);
            roles.push(Part::Dedupe);
        }
        if let Some(record) = &commit.idempotency {
            items.push(self.put(item::idempotency_item(record)?, Some(NEW))?);
            roles.push(Part::Idempotency);
        }
        let sent = self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .client_request_token(request_token(commit))
            .return_consumed_capacity(ReturnConsumedCapacity::Indexes)
            .send()
            .await;
        match sent {
            Ok(out) => {
                self.usage.record(true, out.consumed_capacity());
                Ok(())
            }
            Err(SdkError::ServiceError(e)) => {
                self.usage.record(true, []);
                Err(self
                    .cancellation(commit, &parts, &roles, e.into_err())
                    .await)
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

    /// Every command after checkout updates the head item in place: it sends
    /// and rewrites what commands change, never what checkout wrote once.
    /// On a refusal DynamoDB returns the item as it found it, which is what
    /// the loser of a race decides on again.
    fn head_update(
        &self,
        commit: &Commit,
        parts: &Parts,
        predecessors: Option<Vec<String>>,
    ) -> Result<TransactWriteItem, StoreError> {
        let item::HeadChanges { set, remove } = item::head_changes(&commit.head, parts)?;
        let mut update = Update::builder()
            .table_name(&self.table)
            .key("pk", s(keys::order_pk(&commit.head.id)))
            .key("sk", s(keys::HEAD))
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(
                ":expected",
                AttributeValue::N(commit.expected_version.to_string()),
            )
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        let mut assignments = Vec::new();
        for (name, value) in set {
            // `status` is a reserved word in expressions.
            let target = if name == "status" { "#status" } else { name };
            assignments.push(format!("{target} = :{name}"));
            update = update.expression_attribute_values(format!(":{name}"), value);
        }
        let mut expression = format!("SET {}", assignments.join(", "));
        if !remove.is_empty() {
            expression.push_str(&format!(" REMOVE {}", remove.join(", ")));
        }
        let mut condition = String::from("version = :expected");
        if let Some(legal) = predecessors {
            if legal.is_empty() {
                // Nothing may move here: a condition that cannot hold.
                condition.push_str(" AND attribute_not_exists(#status)");
            } else {
                let marks: Vec<String> = (0..legal.len()).map(|i| format!(":legal{i}")).collect();
                condition.push_str(&format!(" AND #status IN ({})", marks.join(", ")));
                for (mark, status) in marks.iter().zip(legal) {
                    update = update.expression_attribute_values(mark, s(status));
                }
            }
        }
        let update = update
            .update_expression(expression)
            .condition_expression(condition)
            .build()
            .map_err(unavailable)?;
        Ok(TransactWriteItem::builder().update(update).build())
    }

    /// Reads why a transaction was cancelled, in order of precedence: a seen
    /// fact is a duplicate whatever else failed.
    async fn cancellation(
        &self,
        commit: &Commit,
        parts: &Parts,
        roles: &[Part],
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
                .zip(roles)
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
                    head: None,
                },
            };
        }
        // The head as the refused update found it; its snapshot is the one
        // this commit carries, fixed since checkout.
        let found = match head_refused.and_then(|r| r.item()) {
            Some(old) => item::head(old, Some(&parts.snapshot)),
            None => match self.load(&commit.head.id).await {
                Ok(Some(loaded)) => Ok(loaded.head),
                Ok(None) => Err(StoreError::Unavailable("order vanished".into())),
                Err(e) => Err(e),
            },
        };
        let found = match found {
            Ok(found) => found,
            Err(e) => return e,
        };
        if head_refused.is_some() && found.version == commit.expected_version {
            StoreError::IllegalTransition {
                current: found.status,
                version: found.version,
            }
        } else {
            StoreError::VersionConflict {
                current: found.version,
                status: found.status.clone(),
                head: Some(Box::new(found)),
            }
        }
    }
}
