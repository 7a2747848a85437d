//! Submitting unseal keys: Vault's `unsealFragment`, `recordUnsealPart` and `getUnsealKey`.

use zeroize::Zeroizing;

use super::{
    MAX_KEY_LEN, MIN_KEY_LEN, STORED_KEYS_PATH, Seal, SealError, UnlockInfo, UnsealProgress,
    check_kek_size, decode_stored_keys, same_share, shamir,
};
use std::sync::PoisonError;

impl Seal {
    /// Submits one unseal key (raw bytes; see [`super::decode_unseal_key`]).
    ///
    /// Vault's order: not initialised → `Vault is not initialized`; length outside 16..=33 →
    /// `invalid key: key is shorter than minimum 16 bytes` / `… longer than maximum 33 bytes`;
    /// already unsealed → success, nothing recorded; a key already given in this attempt is
    /// ignored (progress does not advance, no error); below the threshold → the new progress.
    /// At the threshold the collected shares are consumed whatever the outcome (so a failure
    /// resets progress), combined into the KEK, which must decrypt the stored root key, which
    /// unseals the barrier.
    pub async fn submit_key(&self, key: &[u8]) -> Result<UnsealProgress, SealError> {
        let _operations = self.operations.lock().await;
        let Some(config) = self.seal_config().await? else {
            return Err(SealError::NotInitialized);
        };
        if !self.barrier.initialized().await? {
            return Err(SealError::NotInitialized);
        }
        if key.len() < MIN_KEY_LEN {
            return Err(SealError::InvalidKey(format!(
                "key is shorter than minimum {MIN_KEY_LEN} bytes"
            )));
        }
        if key.len() > MAX_KEY_LEN {
            return Err(SealError::InvalidKey(format!(
                "key is longer than maximum {MAX_KEY_LEN} bytes"
            )));
        }
        if !self.barrier.is_sealed() {
            return self.status().await;
        }

        let threshold = usize::try_from(config.secret_threshold).unwrap_or(usize::MAX);
        let parts = {
            let mut unlock = self.unlock.lock().unwrap_or_else(PoisonError::into_inner);
            let info = unlock.get_or_insert_with(|| UnlockInfo {
                parts: Vec::new(),
                nonce: new_nonce(),
            });
            if !info.parts.iter().any(|part| same_share(part, key)) {
                info.parts.push(Zeroizing::new(key.to_vec()));
            }
            if info.parts.len() < threshold {
                None
            } else {
                // Vault clears the attempt once the threshold is reached, success or not.
                unlock.take().map(|info| info.parts)
            }
        };
        let Some(parts) = parts else {
            return self.status().await;
        };

        let kek = if parts.len() == 1 {
            Zeroizing::new(parts[0].to_vec())
        } else {
            let combined = shamir::combine(&parts).map_err(|e| {
                SealError::InvalidKey(format!("failed to compute combined key: {e}"))
            })?;
            Zeroizing::new(combined.as_bytes().to_vec())
        };
        drop(parts);
        check_kek_size(&kek)?;

        let stored = self
            .barrier
            .physical()
            .get(STORED_KEYS_PATH)
            .await?
            .ok_or_else(|| {
                SealError::StoredKeys(Box::new(SealError::Internal(
                    "expected exactly one stored key, got 0".to_owned(),
                )))
            })?;
        let root_key = decode_stored_keys(&kek, stored.value)
            .map_err(|e| SealError::StoredKeys(Box::new(e)))?;
        self.barrier.unseal(&root_key).await?;
        self.status().await
    }
}

fn new_nonce() -> String {
    uuid::Uuid::new_v4().to_string()
}
