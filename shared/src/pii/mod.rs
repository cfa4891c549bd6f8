//! Personal data at rest (README › Personal data): a customer's contact
//! details, recipient name and street address are sealed field by field
//! before an order is placed, so the log, the head, the idempotency record
//! and every store hold only `enc:v1:<key id>:<nonce and ciphertext,
//! base64>`. Each customer of a tenant has a data key of their own
//! (AES-256-GCM), kept wrapped by the master key ([`KeyWrap`]: AWS KMS, or
//! the local stack's [`KeyFile`]). Forgetting that key is the erasure: what
//! was sealed under it can never be read again, and the log stays whole.
//!
//! Fields are opened only where they are needed: the staff view, the
//! notifier, the request to a delivery partner. The city, region and
//! country stay in the clear: the tracking page shows where a parcel goes.

mod key_file;
#[cfg(feature = "aws")]
mod kms;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use aes_gcm::aead::rand_core::RngCore;
use aes_gcm::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use crate::hex;
use crate::order::{Contact, Head, OrderPlaced, ShippingSnapshot};
use crate::ports::{DataKeys, KeyContext, KeyError, KeyWrap, StoreError};

pub use key_file::KeyFile;
#[cfg(feature = "aws")]
pub use kms::Kms;

/// What a field sealed under an erased key reads as.
pub const ERASED: &str = "[erased]";

const PREFIX: &str = "enc:v1:";
const NONCE_LEN: usize = 12;

/// Unwrapped keys an instance keeps; past this it forgets them all and
/// unwraps again as they are used.
const MAX_UNWRAPPED: usize = 4096;

#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A sealed field whose key is there does not open: it was altered or
    /// moved from another field.
    #[error("sealed field {0} does not open")]
    Tampered(&'static str),
}

struct DataKey {
    id: String,
    cipher: Aes256Gcm,
}

/// Seals and opens customers' personal data.
pub struct Vault {
    wrap: Arc<dyn KeyWrap>,
    keys: Arc<dyn DataKeys>,
    /// Unwrapped keys by the kept (wrapped) key: a key is unwrapped once
    /// per instance, and one made after an erasure is another entry.
    cache: Mutex<HashMap<String, Arc<DataKey>>>,
}

impl Vault {
    pub fn new(wrap: Arc<dyn KeyWrap>, keys: Arc<dyn DataKeys>) -> Self {
        Vault {
            wrap,
            keys,
            cache: Mutex::default(),
        }
    }

    /// Seals the checkout's personal data under its customer's key, made on
    /// first use.
    pub async fn seal_placed(
        &self,
        tenant: &str,
        placed: &mut OrderPlaced,
    ) -> Result<(), VaultError> {
        // Everything a checkout carries is sealed, even what looks sealed
        // already: a customer's text is never taken for a stored value.
        let mut fields = fields(placed.shipping.as_mut(), &mut placed.contact);
        if fields.is_empty() {
            return Ok(());
        }
        let context = context(tenant, &placed.customer_id);
        let key = self.key(&context, true).await?.ok_or(KeyError::Refused)?;
        for (name, value) in &mut fields {
            **value = seal(&key, &context, name, value);
        }
        Ok(())
    }

    /// Opens the head's personal data in place; a field whose key was
    /// forgotten reads [`ERASED`]. Values stored before sealing began are
    /// left as they are.
    pub async fn open_head(&self, head: &mut Head) -> Result<(), VaultError> {
        let mut fields = fields(head.shipping.as_mut(), &mut head.contact);
        if !fields.iter().any(|(_, value)| is_sealed(value)) {
            return Ok(());
        }
        let context = context(&head.tenant, &head.customer_id);
        let key = self.key(&context, false).await?;
        for (name, value) in &mut fields {
            if let Some(opened) = open(key.as_deref(), &context, name, value)? {
                **value = opened;
            }
        }
        Ok(())
    }

    /// Forgets the customer's data key: everything sealed under it is gone
    /// for good. False if they had none.
    pub async fn erase(&self, tenant: &str, customer: &str) -> Result<bool, VaultError> {
        if let Some(kept) = self.keys.data_key(tenant, customer).await? {
            self.unwrapped().remove(&kept);
        }
        Ok(self.keys.forget_data_key(tenant, customer).await?)
    }

    /// The customer's data key as kept now — read on every use, so an
    /// erasure holds at once on every instance — unwrapped once per
    /// instance. With `create`, made if they have none.
    async fn key(
        &self,
        context: &KeyContext,
        create: bool,
    ) -> Result<Option<Arc<DataKey>>, VaultError> {
        let (tenant, customer) = (&context.tenant, &context.customer);
        let mut kept = self.keys.data_key(tenant, customer).await?;
        if kept.is_none() && create {
            let (plain, wrapped) = self.wrap.generate(context).await?;
            let mut id = [0u8; 8];
            OsRng.fill_bytes(&mut id);
            let made = format!("{}:{}", hex::encode(&id), STANDARD.encode(wrapped));
            if self.keys.keep_data_key(tenant, customer, &made).await? {
                return Ok(Some(self.remember(made, &plain)?));
            }
            // Another checkout of the same customer made one first.
            kept = self.keys.data_key(tenant, customer).await?;
        }
        let Some(kept) = kept else {
            return Ok(None);
        };
        if let Some(key) = self.unwrapped().get(&kept) {
            return Ok(Some(key.clone()));
        }
        let (_, wrapped) = kept.split_once(':').ok_or(KeyError::Refused)?;
        let wrapped = STANDARD.decode(wrapped).map_err(|_| KeyError::Refused)?;
        let plain = self.wrap.unwrap(&wrapped, context).await?;
        Ok(Some(self.remember(kept, &plain)?))
    }

    fn remember(&self, kept: String, plain: &[u8]) -> Result<Arc<DataKey>, VaultError> {
        let (id, _) = kept.split_once(':').ok_or(KeyError::Refused)?;
        let cipher = Aes256Gcm::new_from_slice(plain).map_err(|_| KeyError::Refused)?;
        let key = Arc::new(DataKey {
            id: id.to_string(),
            cipher,
        });
        let mut unwrapped = self.unwrapped();
        if unwrapped.len() >= MAX_UNWRAPPED {
            unwrapped.clear();
        }
        unwrapped.insert(kept, key.clone());
        Ok(key)
    }

    fn unwrapped(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<DataKey>>> {
        self.cache.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The nonce at the head of a sealed blob, split off at [`NONCE_LEN`].
fn nonce_of(bytes: &[u8]) -> Nonce<aes_gcm::aead::consts::U12> {
    let bytes: [u8; NONCE_LEN] = bytes.try_into().expect("split at the nonce's length");
    Nonce::from(bytes)
}

fn context(tenant: &str, customer: &str) -> KeyContext {
    KeyContext {
        tenant: tenant.to_string(),
        customer: customer.to_string(),
    }
}

/// Whether a stored value is sealed (rather than stored before sealing
/// began, or erased).
pub fn is_sealed(value: &str) -> bool {
    value.starts_with(PREFIX)
}

/// `text` (a provider's error, say) with every personal value of the
/// opened `head` in it replaced, so it can be logged and recorded.
pub fn scrub(text: &str, head: &Head) -> String {
    let mut head = head.clone();
    let mut scrubbed = text.to_string();
    for (_, value) in fields(head.shipping.as_mut(), &mut head.contact) {
        // Too short a value would take common words with it.
        if value.chars().count() >= 4 && value.as_str() != ERASED {
            scrubbed = scrubbed.replace(value.as_str(), "[personal data]");
        }
    }
    scrubbed
}

/// The personal fields of an order, each with the name it is sealed under
/// (so a sealed value moved to another field does not open).
fn fields<'a>(
    shipping: Option<&'a mut ShippingSnapshot>,
    contact: &'a mut Contact,
) -> Vec<(&'static str, &'a mut String)> {
    let mut fields = Vec::new();
    if let Some(shipping) = shipping {
        fields.push(("shipping.name", &mut shipping.name));
        let address = &mut shipping.address;
        fields.push(("shipping.address.line1", &mut address.line1));
        if let Some(line2) = address.line2.as_mut() {
            fields.push(("shipping.address.line2", line2));
        }
        fields.push(("shipping.address.postal_code", &mut address.postal_code));
    }
    if let Some(email) = contact.email.as_mut() {
        fields.push(("contact.email", email));
    }
    if let Some(phone) = contact.phone.as_mut() {
        fields.push(("contact.phone", phone));
    }
    fields
}

/// Binds a sealed value to its customer and field.
fn aad(context: &KeyContext, field: &str) -> Vec<u8> {
    [
        context.tenant.as_bytes(),
        context.customer.as_bytes(),
        field.as_bytes(),
    ]
    .join(&0u8)
}

fn seal(key: &DataKey, context: &KeyContext, field: &str, plain: &str) -> String {
    let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
    let aad = aad(context, field);
    let sealed = key
        .cipher
        .encrypt(
            &nonce,
            Payload {
                msg: plain.as_bytes(),
                aad: &aad,
            },
        )
        // AES-GCM fails only past 64 GiB of plaintext.
        .expect("a field seals");
    let mut blob = nonce.to_vec();
    blob.extend_from_slice(&sealed);
    format!("{PREFIX}{}:{}", key.id, STANDARD.encode(blob))
}

/// The field opened; [`ERASED`] if its key is gone; `None` if it was never
/// sealed.
fn open(
    key: Option<&DataKey>,
    context: &KeyContext,
    field: &'static str,
    value: &str,
) -> Result<Option<String>, VaultError> {
    let Some(rest) = value.strip_prefix(PREFIX) else {
        return Ok(None);
    };
    let (id, blob) = rest.split_once(':').ok_or(VaultError::Tampered(field))?;
    // A key made after an erasure has another id.
    let Some(key) = key.filter(|k| k.id == id) else {
        return Ok(Some(ERASED.to_string()));
    };
    let blob = STANDARD
        .decode(blob)
        .map_err(|_| VaultError::Tampered(field))?;
    if blob.len() < NONCE_LEN {
        return Err(VaultError::Tampered(field));
    }
    let (nonce, sealed) = blob.split_at(NONCE_LEN);
    let aad = aad(context, field);
    let plain = key
        .cipher
        .decrypt(
            &nonce_of(nonce),
            Payload {
                msg: sealed,
                aad: &aad,
            },
        )
        .map_err(|_| VaultError::Tampered(field))?;
    String::from_utf8(plain)
        .map(Some)
        .map_err(|_| VaultError::Tampered(field))
}

#[cfg(test)]
mod tests;
