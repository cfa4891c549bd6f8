//! The ports of personal data at rest (`crate::pii`): the master key that
//! wraps customers' data keys, and where the wrapped keys are kept.

use async_trait::async_trait;

use super::StoreError;

/// Wraps customers' data keys under a key that never leaves its keeper:
/// AWS KMS, or the local stack's key file. `context` names whose key it is
/// (tenant and customer), so a wrapped key moved to another customer does
/// not unwrap.
#[async_trait]
pub trait KeyWrap: Send + Sync + 'static {
    /// A new 256-bit data key: in the clear, and wrapped.
    async fn generate(&self, context: &KeyContext) -> Result<(Vec<u8>, Vec<u8>), KeyError>;
    async fn unwrap(&self, wrapped: &[u8], context: &KeyContext) -> Result<Vec<u8>, KeyError>;
}

/// Whose data key it is.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct KeyContext {
    pub tenant: String,
    pub customer: String,
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The keeper could not be asked; retrying may succeed.
    #[error("key service unavailable: {0}")]
    Unavailable(String),
    /// The wrapped key does not unwrap under this context and master key.
    #[error("the data key does not unwrap")]
    Refused,
}

/// The wrapped data key of each customer, kept apart from the log so that
/// forgetting it makes everything sealed under it unreadable
/// (crypto-shredding) while the log stays whole. A kept key is
/// `<key id>:<wrapped, base64>`.
#[async_trait]
pub trait DataKeys: Send + Sync + 'static {
    async fn data_key(&self, tenant: &str, customer: &str) -> Result<Option<String>, StoreError>;
    /// Keeps `key` unless the customer has one already: false then, and
    /// the caller reads the one kept.
    async fn keep_data_key(
        &self,
        tenant: &str,
        customer: &str,
        key: &str,
    ) -> Result<bool, StoreError>;
    /// Forgets the customer's key; false if there was none.
    async fn forget_data_key(&self, tenant: &str, customer: &str) -> Result<bool, StoreError>;
}
