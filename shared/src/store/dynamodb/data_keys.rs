//! Customers' wrapped data keys (personal data, `crate::pii`), an item each.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::ReturnValue;

use super::item::{s, text, Item};
use super::{keys, unavailable, DynamoStore};
use crate::ports::{DataKeys, StoreError};

#[async_trait]
impl DataKeys for DynamoStore {
    async fn data_key(&self, tenant: &str, customer: &str) -> Result<Option<String>, StoreError> {
        let item = self.get(keys::data_keys_pk(tenant), customer).await?;
        Ok(item
            .as_ref()
            .and_then(|item| text(item, "key"))
            .map(str::to_string))
    }

    async fn keep_data_key(
        &self,
        tenant: &str,
        customer: &str,
        key: &str,
    ) -> Result<bool, StoreError> {
        let item = Item::from([
            ("pk".into(), s(keys::data_keys_pk(tenant))),
            ("sk".into(), s(customer)),
            ("key".into(), s(key)),
        ]);
        self.put_item(item, true).await
    }

    async fn forget_data_key(&self, tenant: &str, customer: &str) -> Result<bool, StoreError> {
        // Unconditional: forgetting a key twice forgets it.
        let deleted = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key("pk", s(keys::data_keys_pk(tenant)))
            .key("sk", s(customer))
            .return_values(ReturnValue::AllOld)
            .send()
            .await
            .map_err(unavailable)?;
        self.usage.record(true, []);
        Ok(deleted.attributes().is_some_and(|item| !item.is_empty()))
    }
}
