//! Claims (done once: a notification per event and channel), and
//! merchants' endpoints and deliveries in the table: a tenant's endpoints
//! in one partition, each endpoint's deliveries in another, newest first by
//! their ids (made from the events', which are made in time order), and
//! forgotten by TTL after the log's retention.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::ReturnValue;

use super::item::{body, expires, s, Item};
use super::{keys, unavailable, DynamoStore};
use crate::merchant::{Delivery, Endpoint};
use crate::ports::{Claims, MerchantStore, StoreError};

fn json<T: serde::Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::Unavailable(e.to_string()))
}

impl DynamoStore {
    fn endpoint_item(endpoint: &Endpoint) -> Result<Item, StoreError> {
        Ok(Item::from([
            ("pk".into(), s(keys::endpoints_pk(&endpoint.tenant))),
            ("sk".into(), s(&endpoint.id)),
            ("body".into(), s(json(endpoint)?)),
        ]))
    }

    fn delivery_item(d: &Delivery) -> Result<Item, StoreError> {
        Ok(Item::from([
            (
                "pk".into(),
                s(keys::deliveries_pk(&d.tenant, &d.endpoint_id)),
            ),
            ("sk".into(), s(&d.id)),
            ("body".into(), s(json(d)?)),
            expires(d.expires_at()),
        ]))
    }
}

#[async_trait]
impl Claims for DynamoStore {
    async fn claim(
        &self,
        key: &str,
        expires_at: chrono::DateTime<chrono::Utc>,
    ) -> Result<bool, StoreError> {
        let item = Item::from([
            ("pk".into(), s(keys::claim_pk(key))),
            ("sk".into(), s(keys::CLAIM)),
            expires(expires_at),
        ]);
        self.put_item(item, true).await
    }
}

#[async_trait]
impl MerchantStore for DynamoStore {
    async fn add_endpoint(&self, endpoint: &Endpoint) -> Result<(), StoreError> {
        self.put_item(Self::endpoint_item(endpoint)?, true)
            .await
            .map(|_| ())
    }

    async fn endpoints(&self, tenant: &str) -> Result<Vec<Endpoint>, StoreError> {
        let request = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", s(keys::endpoints_pk(tenant)))
            .consistent_read(true);
        let mut endpoints: Vec<Endpoint> = self
            .query_all(request)
            .await?
            .iter()
            .map(body)
            .collect::<Result<_, _>>()?;
        endpoints.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        Ok(endpoints)
    }

    async fn save_endpoint(&self, endpoint: &Endpoint) -> Result<(), StoreError> {
        self.put_item(Self::endpoint_item(endpoint)?, false)
            .await
            .map(|_| ())
    }

    async fn remove_endpoint(&self, tenant: &str, id: &str) -> Result<bool, StoreError> {
        let out = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key("pk", s(keys::endpoints_pk(tenant)))
            .key("sk", s(id))
            .return_values(ReturnValue::AllOld)
            .send()
            .await
            .map_err(unavailable)?;
        self.usage.record(true, []);
        Ok(out.attributes().is_some_and(|item| !item.is_empty()))
    }

    async fn open_delivery(&self, delivery: &Delivery) -> Result<bool, StoreError> {
        self.put_item(Self::delivery_item(delivery)?, true).await
    }

    async fn save_delivery(&self, delivery: &Delivery) -> Result<(), StoreError> {
        self.put_item(Self::delivery_item(delivery)?, false)
            .await
            .map(|_| ())
    }

    async fn delivery(
        &self,
        tenant: &str,
        endpoint_id: &str,
        id: &str,
    ) -> Result<Option<Delivery>, StoreError> {
        self.get(keys::deliveries_pk(tenant, endpoint_id), id)
            .await?
            .as_ref()
            .map(body)
            .transpose()
    }

    async fn deliveries(
        &self,
        tenant: &str,
        endpoint_id: &str,
        limit: usize,
    ) -> Result<Vec<Delivery>, StoreError> {
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", s(keys::deliveries_pk(tenant, endpoint_id)))
            .scan_index_forward(false)
            .limit(i32::try_from(limit).unwrap_or(i32::MAX))
            .return_consumed_capacity(aws_sdk_dynamodb::types::ReturnConsumedCapacity::Total)
            .send()
            .await
            .map_err(unavailable)?;
        self.usage.record(false, out.consumed_capacity());
        out.items().iter().map(body).collect()
    }
}
