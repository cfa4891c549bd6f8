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
pub(super) const BY_TENANT: &str = "ByTenant";
pub(super) const BY_CUSTOMER: &str = "ByCustomer";
pub(super) const DUE: &str = "Due";
pub(super) const BY_TENANT_EVENTS: &str = "ByTenantEvents";

/// What the tenant list copies besides its keys: what a list shows (`card`
/// and `marks`, or `summary` on heads written before they were kept in
/// parts) and what its filters test.
const LISTED_ATTRIBUTES: [&str; 6] = ["card", "marks", "summary", "status", "flagged", "due_key"];

/// A global secondary index: name, partition key, sort key, and the non-key
/// attributes it copies (none: keys only).
struct Index {
    name: &'static str,
    hash: &'static str,
    range: Option<&'static str>,
    projected: &'static [&'static str],
}

/// Every command rewrites the index entries whose keys or copied attributes
/// it changes, so each index keys on what its listing must follow and copies
/// only what its reads need. The tenant list moves with every command (most
/// recently updated first) and copies what it shows, so a page is one read;
/// the customer and public-id indexes never change after checkout and lead
/// to heads, read after; the due index moves with the deadline. The
/// tenants' feeds index event items (written once, never changed), keys only.
const INDEXES: [Index; 5] = [
    Index {
        name: BY_PUBLIC_ID,
        hash: "public_id",
        range: None,
        projected: &[],
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
        range: None,
        projected: &[],
    },
    Index {
        name: DUE,
        hash: "due_shard",
        range: Some("due_key"),
        projected: &[],
    },
    Index {
        name: BY_TENANT_EVENTS,
        hash: "feed_key",
        range: Some("event_id"),
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
