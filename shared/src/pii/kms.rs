//! The master key on AWS: a KMS key. Data keys come from
//! `GenerateDataKey` and are unwrapped by `Decrypt`, with the tenant and
//! customer as the encryption context (so CloudTrail names whose key was
//! used, and a wrapped key does not unwrap for anyone else).

use async_trait::async_trait;
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::DataKeySpec;
use aws_sdk_kms::Client;

use crate::ports::{KeyContext, KeyError, KeyWrap};

pub struct Kms {
    client: Client,
    key_id: String,
}

impl Kms {
    /// `key_id`: the key's id, ARN or alias (`alias/…`).
    pub fn new(client: Client, key_id: impl Into<String>) -> Self {
        Kms {
            client,
            key_id: key_id.into(),
        }
    }
}

fn unavailable(e: impl std::error::Error) -> KeyError {
    KeyError::Unavailable(aws_sdk_kms::error::DisplayErrorContext(e).to_string())
}

#[async_trait]
impl KeyWrap for Kms {
    async fn generate(&self, context: &KeyContext) -> Result<(Vec<u8>, Vec<u8>), KeyError> {
        let made = self
            .client
            .generate_data_key()
            .key_id(&self.key_id)
            .key_spec(DataKeySpec::Aes256)
            .encryption_context("tenant", &context.tenant)
            .encryption_context("customer", &context.customer)
            .send()
            .await
            .map_err(unavailable)?;
        match (made.plaintext(), made.ciphertext_blob()) {
            (Some(plain), Some(wrapped)) => {
                Ok((plain.as_ref().to_vec(), wrapped.as_ref().to_vec()))
            }
            _ => Err(KeyError::Unavailable(
                "GenerateDataKey returned no key".into(),
            )),
        }
    }

    async fn unwrap(&self, wrapped: &[u8], context: &KeyContext) -> Result<Vec<u8>, KeyError> {
        let opened = self
            .client
            .decrypt()
            .key_id(&self.key_id)
            .ciphertext_blob(Blob::new(wrapped))
            .encryption_context("tenant", &context.tenant)
            .encryption_context("customer", &context.customer)
            .send()
            .await
            .map_err(|e| match e.into_service_error() {
                e if e.is_invalid_ciphertext_exception() || e.is_incorrect_key_exception() => {
                    KeyError::Refused
                }
                e => unavailable(e),
            })?;
        opened
            .plaintext()
            .map(|plain| plain.as_ref().to_vec())
            .ok_or_else(|| KeyError::Unavailable("Decrypt returned no key".into()))
    }
}
