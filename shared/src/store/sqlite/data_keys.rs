//! Customers' wrapped data keys (personal data, `crate::pii`), a row each.

use async_trait::async_trait;
use rusqlite::{params, OptionalExtension};

use super::{unavailable, SqliteStore};
use crate::ports::{DataKeys, StoreError};

pub(super) const TABLES: &str = "
CREATE TABLE IF NOT EXISTS data_keys (
    tenant TEXT NOT NULL,
    customer TEXT NOT NULL,
    key TEXT NOT NULL,
    PRIMARY KEY (tenant, customer)
);
";

#[async_trait]
impl DataKeys for SqliteStore {
    async fn data_key(&self, tenant: &str, customer: &str) -> Result<Option<String>, StoreError> {
        let at = (tenant.to_string(), customer.to_string());
        self.read(move |conn| {
            conn.prepare_cached("SELECT key FROM data_keys WHERE tenant = ?1 AND customer = ?2")
                .and_then(|mut find| find.query_row(params![at.0, at.1], |r| r.get(0)).optional())
                .map_err(unavailable)
        })
        .await
    }

    async fn keep_data_key(
        &self,
        tenant: &str,
        customer: &str,
        key: &str,
    ) -> Result<bool, StoreError> {
        let row = (tenant.to_string(), customer.to_string(), key.to_string());
        self.writer
            .call(move |conn| {
                conn.prepare_cached(
                    "INSERT OR IGNORE INTO data_keys (tenant, customer, key) VALUES (?1, ?2, ?3)",
                )
                .and_then(|mut keep| keep.execute(params![row.0, row.1, row.2]))
                .map(|kept| kept == 1)
                .map_err(unavailable)
            })
            .await
    }

    async fn forget_data_key(&self, tenant: &str, customer: &str) -> Result<bool, StoreError> {
        let at = (tenant.to_string(), customer.to_string());
        self.writer
            .call(move |conn| {
                // The row's bytes are zeroed rather than left on a free
                // page of the file; only the write-ahead log keeps them,
                // until it is checkpointed and written over.
                conn.pragma_update(None, "secure_delete", true)
                    .and_then(|()| {
                        conn.prepare_cached(
                            "DELETE FROM data_keys WHERE tenant = ?1 AND customer = ?2",
                        )
                    })
                    .and_then(|mut forget| forget.execute(params![at.0, at.1]))
                    .and_then(|forgotten| {
                        conn.pragma_update(None, "secure_delete", false)?;
                        Ok(forgotten == 1)
                    })
                    .map_err(unavailable)
            })
            .await
    }
}
