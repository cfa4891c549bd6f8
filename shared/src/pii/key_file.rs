//! The local stack's master key: 32 random bytes in a file of the data
//! directory, made on first run. It wraps data keys the way KMS does, with
//! the tenant and customer bound in, so a wrapped key does not unwrap for
//! anyone else.

use std::io::Write;
use std::path::Path;

use aes_gcm::aead::rand_core::RngCore;
use aes_gcm::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use aes_gcm::Aes256Gcm;

use super::{nonce_of, NONCE_LEN};
use async_trait::async_trait;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use crate::ports::{KeyContext, KeyError, KeyWrap};

pub struct KeyFile {
    cipher: Aes256Gcm,
}

impl KeyFile {
    /// A key in memory only, for a stack that keeps nothing.
    pub fn ephemeral() -> KeyFile {
        KeyFile {
            cipher: Aes256Gcm::new(&Aes256Gcm::generate_key(OsRng)),
        }
    }

    /// The key in `path`, written there (readable by its owner only) if
    /// the file is absent.
    pub fn open_or_create(path: &Path) -> std::io::Result<KeyFile> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut key = [0u8; 32];
                OsRng.fill_bytes(&mut key);
                let text = STANDARD.encode(key);
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir)?;
                }
                let mut options = std::fs::OpenOptions::new();
                options.write(true).create_new(true);
                #[cfg(unix)]
                std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
                match options.open(path) {
                    Ok(mut file) => {
                        file.write_all(text.as_bytes())?;
                        file.sync_all()?;
                        text
                    }
                    // Another process made it first: use theirs.
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                        std::fs::read_to_string(path)?
                    }
                    Err(e) => return Err(e),
                }
            }
            Err(e) => return Err(e),
        };
        let invalid = || std::io::Error::new(std::io::ErrorKind::InvalidData, "not a key file");
        let key = STANDARD.decode(text.trim()).map_err(|_| invalid())?;
        let cipher = Aes256Gcm::new_from_slice(&key).map_err(|_| invalid())?;
        Ok(KeyFile { cipher })
    }
}

fn bound(context: &KeyContext) -> Vec<u8> {
    [context.tenant.as_bytes(), context.customer.as_bytes()].join(&0u8)
}

#[async_trait]
impl KeyWrap for KeyFile {
    async fn generate(&self, context: &KeyContext) -> Result<(Vec<u8>, Vec<u8>), KeyError> {
        let mut key = vec![0u8; 32];
        OsRng.fill_bytes(&mut key);
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let aad = bound(context);
        let sealed = self
            .cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: &key,
                    aad: &aad,
                },
            )
            .map_err(|_| KeyError::Refused)?;
        let mut wrapped = nonce.to_vec();
        wrapped.extend_from_slice(&sealed);
        Ok((key, wrapped))
    }

    async fn unwrap(&self, wrapped: &[u8], context: &KeyContext) -> Result<Vec<u8>, KeyError> {
        if wrapped.len() < NONCE_LEN {
            return Err(KeyError::Refused);
        }
        let (nonce, sealed) = wrapped.split_at(NONCE_LEN);
        let aad = bound(context);
        self.cipher
            .decrypt(
                &nonce_of(nonce),
                Payload {
                    msg: sealed,
                    aad: &aad,
                },
            )
            .map_err(|_| KeyError::Refused)
    }
}
