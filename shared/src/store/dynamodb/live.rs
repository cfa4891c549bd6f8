//! The live channels' items: tickets, and WebSocket connections kept twice —
//! under their id (what `$disconnect` and a catch-up know) and under their
//! channel (what the fan-out reads, with one strongly consistent `Query`, so
//! a connection opened before an event commits is never missed).

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, Put, ReturnValue, TransactWriteItem};
use chrono::{DateTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};

use super::item::{expires, required, s, text, Item};
use super::schema::TTL_ATTRIBUTE as TTL;
use super::{keys, unavailable, DynamoStore};
use crate::auth::{Principal, Role};
use crate::order::decide::new_secret_id;
use crate::ports::{Connection, Connections, StoreError, Ticket, Tickets, Viewer};

/// A viewer as the `viewer` attribute holds it (JSON).
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum StoredViewer {
    Staff {
        tenant: String,
        role: Role,
        subject: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        stores: Option<Vec<String>>,
    },
    Customer {
        public_id: String,
    },
}

impl From<&Viewer> for StoredViewer {
    fn from(viewer: &Viewer) -> Self {
        match viewer {
            Viewer::Staff(p) => StoredViewer::Staff {
                tenant: p.tenant.clone(),
                role: p.role,
                subject: p.subject.clone(),
                stores: p.stores.clone(),
            },
            Viewer::Customer { public_id } => StoredViewer::Customer {
                public_id: public_id.clone(),
            },
        }
    }
}

impl From<StoredViewer> for Viewer {
    fn from(viewer: StoredViewer) -> Self {
        match viewer {
            StoredViewer::Staff {
                tenant,
                role,
                subject,
                stores,
            } => Viewer::Staff(Principal {
                tenant,
                role,
                subject,
                stores,
            }),
            StoredViewer::Customer { public_id } => Viewer::Customer { public_id },
        }
    }
}

fn epoch(item: &Item) -> Option<DateTime<Utc>> {
    let seconds = item.get(TTL)?.as_n().ok()?.parse().ok()?;
    Utc.timestamp_opt(seconds, 0).single()
}

fn connection(item: &Item) -> Result<Connection, StoreError> {
    let viewer: StoredViewer = serde_json::from_str(required(item, "viewer")?)
        .map_err(|e| StoreError::Corrupt(format!("connection viewer: {e}")))?;
    Ok(Connection {
        id: required(item, "connection_id")?.to_string(),
        viewer: viewer.into(),
        channel: required(item, "channel")?.to_string(),
        last_event_id: text(item, "last_event_id").map(String::from),
        expires_at: epoch(item)
            .ok_or_else(|| StoreError::Corrupt("connection without expires_at".into()))?,
    })
}

fn is_condition_failure<E, R>(e: &aws_sdk_dynamodb::error::SdkError<E, R>) -> bool
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata,
{
    e.as_service_error()
        .and_then(|e| e.code())
        .is_some_and(|code| code == "ConditionalCheckFailedException")
}

#[async_trait]
impl Tickets for DynamoStore {
    async fn issue(
        &self,
        principal: &Principal,
        expires_at: DateTime<Utc>,
    ) -> Result<Ticket, StoreError> {
        let ticket = new_secret_id("tkt");
        let role = serde_json::to_value(principal.role)
            .ok()
            .and_then(|v| v.as_str().map(String::from))
            .unwrap_or_default();
        let mut item = Item::from([
            ("pk".into(), s(keys::ticket_pk(&ticket))),
            ("sk".into(), s(keys::TICKET)),
            ("tenant".into(), s(&principal.tenant)),
            ("role".into(), s(role)),
            ("subject".into(), s(&principal.subject)),
            expires(expires_at),
        ]);
        if let Some(stores) = &principal.stores {
            item.insert("stores".into(), AttributeValue::Ss(stores.clone()));
        }
        self.put_item(item, false).await?;
        Ok(Ticket { ticket, expires_at })
    }

    /// Deleting is redeeming: of two connections with one ticket, only the
    /// one whose delete found it gets the principal.
    async fn redeem(
        &self,
        ticket: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Principal>, StoreError> {
        let deleted = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key("pk", s(keys::ticket_pk(ticket)))
            .key("sk", s(keys::TICKET))
            .condition_expression("attribute_exists(pk)")
            .return_values(ReturnValue::AllOld)
            .send()
            .await;
        self.usage.record(true, []);
        let item = match deleted {
            Ok(out) => out.attributes.unwrap_or_default(),
            Err(e) if is_condition_failure(&e) => return Ok(None),
            Err(e) => return Err(unavailable(e)),
        };
        if epoch(&item).is_none_or(|expires_at| expires_at <= now) {
            return Ok(None);
        }
        let role = serde_json::from_value(required(&item, "role")?.into())
            .map_err(|e| StoreError::Corrupt(format!("ticket role: {e}")))?;
        Ok(Some(Principal {
            tenant: required(&item, "tenant")?.to_string(),
            role,
            subject: required(&item, "subject")?.to_string(),
            stores: item.get("stores").and_then(|v| v.as_ss().ok()).cloned(),
        }))
    }
}

#[async_trait]
impl Connections for DynamoStore {
    /// Both items in one transaction: a connection is found by its id and by
    /// its channel, or not at all.
    async fn open(&self, c: &Connection) -> Result<(), StoreError> {
        let viewer = serde_json::to_string(&StoredViewer::from(&c.viewer))
            .map_err(|e| StoreError::Unavailable(e.to_string()))?;
        let (ttl, at) = expires(c.expires_at);
        let mut by_id = Put::builder()
            .table_name(&self.table)
            .item("pk", s(keys::connection_pk(&c.id)))
            .item("sk", s(keys::CONNECTION))
            .item("connection_id", s(&c.id))
            .item("channel", s(&c.channel))
            .item("viewer", s(viewer))
            .item(&ttl, at.clone());
        if let Some(last) = &c.last_event_id {
            by_id = by_id.item("last_event_id", s(last));
        }
        let by_channel = Put::builder()
            .table_name(&self.table)
            .item("pk", s(keys::channel_pk(&c.channel)))
            .item("sk", s(&c.id))
            .item(ttl, at);
        let mut transaction = self.client.transact_write_items();
        for put in [by_id, by_channel] {
            let put = put.build().map_err(unavailable)?;
            transaction = transaction.transact_items(TransactWriteItem::builder().put(put).build());
        }
        transaction.send().await.map_err(unavailable)?;
        self.usage.record(true, []);
        Ok(())
    }

    async fn connection(&self, id: &str) -> Result<Option<Connection>, StoreError> {
        self.get(keys::connection_pk(id), keys::CONNECTION)
            .await?
            .as_ref()
            .map(connection)
            .transpose()
    }

    /// The item under its id says its channel; then the channel's entry goes.
    async fn close(&self, id: &str) -> Result<(), StoreError> {
        let deleted = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key("pk", s(keys::connection_pk(id)))
            .key("sk", s(keys::CONNECTION))
            .return_values(ReturnValue::AllOld)
            .send()
            .await
            .map_err(unavailable)?;
        self.usage.record(true, []);
        let Some(channel) = deleted.attributes().and_then(|item| text(item, "channel")) else {
            return Ok(());
        };
        self.client
            .delete_item()
            .table_name(&self.table)
            .key("pk", s(keys::channel_pk(channel)))
            .key("sk", s(id))
            .send()
            .await
            .map_err(unavailable)?;
        self.usage.record(true, []);
        Ok(())
    }

    async fn following(
        &self,
        channel: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<String>, StoreError> {
        let request = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", s(keys::channel_pk(channel)))
            .consistent_read(true);
        Ok(self
            .query_all(request)
            .await?
            .iter()
            // TTL deletes lazily: an expired entry may still be there.
            .filter(|item| epoch(item).is_some_and(|at| at > now))
            .filter_map(|item| text(item, "sk").map(String::from))
            .collect())
    }
}
