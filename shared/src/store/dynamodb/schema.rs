//! The table the adapter needs, for tests and local set-ups: the same keys,
//! indexes, projections, stream and TTL as `OrdersTable` in `template.yaml`.
//! `shared/tests/dynamodb_store.rs` compares a table made here with the
//! template, so the two cannot drift.

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, StreamSpecification, StreamViewType,
    TimeToLiveSpecification,
};
use aws_sdk_dynamodb::Client;

use super::{unavailable, DynamoStore};
use crate::ports::StoreError;

pub(super) const BY_PUBLIC_ID: &str = "ByPublicId";
pub(super) const BY_STATUS: &str = "ByStatus";
pub(super) const BY_TENANT: &str = "ByTenant";
pub(super) const BY_CUSTOMER: &str = "ByCustomer";
pub(super) const DUE: &str = "Due";

/// What the list indexes carry besides their keys: the summary a list shows
/// and what its filters test.
const LISTED_ATTRIBUTES: [&str; 4] = ["summary", "flagged", "due_at", "customer_key"];

/// A global secondary index: name, partition key, sort key, and the non-key
/// attributes it copies (none: keys only).
struct Index {
    name: &'static str,
    hash: &'static str,
    range: Option<&'static str>,
    projected: &'static [&'static str],
}

/// Indexes copy as little as they can: every write to a head rewrites each
/// index entry whose key or projected attributes changed. The public-id and
/// due indexes lead to a head, which is then read whole.
const INDEXES: [Index; 5] = [
    Index {
        name: BY_PUBLIC_ID,
        hash: "public_id",
        range: None,
        projected: &[],
    },
    Index {
        name: BY_STATUS,
        hash: "status_key",
        range: Some("updated"),
        projected: &LISTED_ATTRIBUTES,
    },
    Index {
        name: BY_TENANT,
        hash: "tenant_key",
        range: Some("updated"),
        projected: &LISTED_ATTRIBUTES,
    },
    Index {
        name: BY_CUSTOMER,
        hash: "customer_key",
        range: Some("updated"),
        projected: &LISTED_ATTRIBUTES,
    },
    Index {
        name: DUE,
        hash: "due_shard",
        range: Some("due_key"),
        projected: &[],
    },
];

/// The attribute DynamoDB expires items by (epoch seconds).
pub(super) const TTL_ATTRIBUTE: &str = "expires_at";

fn key(name: &str, key_type: KeyType) -> Result<KeySchemaElement, StoreError> {
    KeySchemaElement::builder()
        .attribute_name(name)
        .key_type(key_type)
        .build()
        .map_err(unavailable)
}

fn index(index: &Index) -> Result<GlobalSecondaryIndex, StoreError> {
    let mut keys = vec![key(index.hash, KeyType::Hash)?];
    if let Some(range) = index.range {
        keys.push(key(range, KeyType::Range)?);
    }
    let projection = if index.projected.is_empty() {
        Projection::builder().projection_type(ProjectionType::KeysOnly)
    } else {
        Projection::builder()
            .projection_type(ProjectionType::Include)
            .set_non_key_attributes(Some(
                index.projected.iter().map(|a| a.to_string()).collect(),
            ))
    };
    GlobalSecondaryIndex::builder()
        .index_name(index.name)
        .set_key_schema(Some(keys))
        .projection(projection.build())
        .build()
        .map_err(unavailable)
}

impl DynamoStore {
    /// Creates the table with the same keys, indexes, stream and TTL as
    /// `template.yaml` (used by tests and local set-ups).
    pub async fn create_table(client: &Client, table: &str) -> Result<(), StoreError> {
        // Every key of the table and its indexes, each defined once.
        let mut names = vec!["pk", "sk"];
        for index in &INDEXES {
            for name in std::iter::once(index.hash).chain(index.range) {
                if !names.contains(&name) {
                    names.push(name);
                }
            }
        }
        let attributes = names
            .iter()
            .map(|name| {
                AttributeDefinition::builder()
                    .attribute_name(*name)
                    .attribute_type(ScalarAttributeType::S)
                    .build()
                    .map_err(unavailable)
            })
            .collect::<Result<Vec<_>, _>>()?;
        let indexes = INDEXES.iter().map(index).collect::<Result<Vec<_>, _>>()?;
        let stream = StreamSpecification::builder()
            .stream_enabled(true)
            .stream_view_type(StreamViewType::NewImage)
            .build()
            .map_err(unavailable)?;
        client
            .create_table()
            .table_name(table)
            .set_attribute_definitions(Some(attributes))
            .key_schema(key("pk", KeyType::Hash)?)
            .key_schema(key("sk", KeyType::Range)?)
            .set_global_secondary_indexes(Some(indexes))
            .billing_mode(BillingMode::PayPerRequest)
            .stream_specification(stream)
            .send()
            .await
            .map_err(unavailable)?;
        let ttl = TimeToLiveSpecification::builder()
            .enabled(true)
            .attribute_name(TTL_ATTRIBUTE)
            .build()
            .map_err(unavailable)?;
        client
            .update_time_to_live()
            .table_name(table)
            .time_to_live_specification(ttl)
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }
}
