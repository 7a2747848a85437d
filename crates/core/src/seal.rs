//! The Shamir seal: initialisation and unseal progress, as Vault's `core` does them.
//!
//! Key hierarchy (Vault's, `vault/init.go`, `seal.go`): init generates the barrier [`RootKey`]
//! and a separate 32-byte key-encryption key (KEK). The KEK is split into the unseal keys (with
//! one share, the single key *is* the KEK). The root key is encrypted under the KEK and stored
//! **outside** the barrier at [`STORED_KEYS_PATH`]; the KEK is stored **inside** the barrier at
//! [`SHAMIR_KEK_PATH`]; the seal configuration is plaintext at [`SEAL_CONFIG_PATH`]. Unseal
//! collects shares until the threshold, combines them into the KEK, decrypts the root key and
//! unseals the barrier.
//!
//! Errors ([`SealError`]) display the exact strings Vault sends to clients.

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use base64::Engine as _;
use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;
use warden_storage::Entry;
use zeroize::Zeroizing;

use crate::barrier::{
    AUTH_FAILED, Barrier, BarrierError, INITIAL_TERM, KEY_LEN, RootKey, aead_key, open_entry,
    random_key, seal_entry,
};

pub mod shamir;

mod error;
mod unseal;

pub use error::SealError;

/// The seal configuration, in plaintext outside the barrier.
pub const SEAL_CONFIG_PATH: &str = "core/seal-config";
/// The root key encrypted under the KEK, outside the barrier.
pub const STORED_KEYS_PATH: &str = "core/hsm/barrier-unseal-keys";
/// The KEK, inside the barrier.
pub const SHAMIR_KEK_PATH: &str = "core/shamir-kek";

/// The shortest unseal key accepted: Vault's `BarrierKeyLength` minimum (an AES block).
pub const MIN_KEY_LEN: usize = 16;
/// The longest unseal key accepted: a 32-byte key plus the share's x coordinate.
pub const MAX_KEY_LEN: usize = KEY_LEN + shamir::SHARE_OVERHEAD;

/// `{"type":"shamir","secret_shares":n,"secret_threshold":t}` at [`SEAL_CONFIG_PATH`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SealConfig {
    /// Always `shamir`.
    #[serde(rename = "type")]
    pub seal_type: String,
    /// The number of unseal keys (`n`).
    pub secret_shares: u32,
    /// The number needed to unseal (`t`).
    pub secret_threshold: u32,
}

impl SealConfig {
    /// Checks `shares`/`threshold` as Vault's `SealConfig.Validate` does, in its order.
    pub fn validate(shares: i64, threshold: i64) -> Result<Self, SealError> {
        let invalid = |reason| Err(SealError::InvalidConfig(reason));
        if shares < 1 {
            return invalid("shares must be at least one");
        }
        if threshold < 1 {
            return invalid("threshold must be at least one");
        }
        if shares > 1 && threshold == 1 {
            return invalid("threshold must be greater than one for multiple shares");
        }
        if shares > 255 {
            return invalid("shares must be less than 256");
        }
        if threshold > 255 {
            return invalid("threshold must be less than 256");
        }
        if threshold > shares {
            return invalid("threshold cannot be larger than shares");
        }
        let (Ok(secret_shares), Ok(secret_threshold)) =
            (u32::try_from(shares), u32::try_from(threshold))
        else {
            return invalid("shares must be less than 256");
        };
        Ok(Self {
            seal_type: "shamir".to_owned(),
            secret_shares,
            secret_threshold,
        })
    }
}

/// One unseal key handed out by [`Seal::initialize`]: a Shamir share (`y-bytes || x`), or the
/// KEK itself when there is one share. Zeroized on drop; `Debug` shows nothing.
#[derive(Clone)]
pub struct UnsealKey(Zeroizing<Vec<u8>>);

impl UnsealKey {
    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Lower-case hex, as in `keys` of the `sys/init` response.
    pub fn to_hex(&self) -> Zeroizing<String> {
        Zeroizing::new(hex::encode(&*self.0))
    }

    /// Standard base64, as in `keys_base64` of the `sys/init` response.
    pub fn to_base64(&self) -> Zeroizing<String> {
        Zeroizing::new(STANDARD.encode(&*self.0))
    }
}

impl fmt::Debug for UnsealKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("UnsealKey(<redacted>)")
    }
}

/// What [`Seal::initialize`] returns.
#[derive(Debug)]
pub struct InitOutput {
    /// The unseal keys, `secret_shares` of them.
    pub keys: Vec<UnsealKey>,
    /// The new root key, so the caller can unseal the barrier once to create the root token
    /// (Vault's `Initialize` does the same) without collecting shares.
    pub root_key: RootKey,
}

/// The unseal state shown by `sys/seal-status` and returned by `sys/unseal`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnsealProgress {
    /// Whether the barrier is sealed.
    pub sealed: bool,
    /// The threshold (0 before initialisation).
    pub t: u32,
    /// The number of shares (0 before initialisation).
    pub n: u32,
    /// Shares collected in the current attempt.
    pub progress: u32,
    /// The current attempt's id (a UUID), empty when no share has been given.
    pub nonce: String,
}

/// The shares of the attempt under way (Vault's `unlockInformation`).
struct UnlockInfo {
    parts: Vec<Zeroizing<Vec<u8>>>,
    nonce: String,
}

/// The Shamir seal over a [`Barrier`].
pub struct Seal {
    barrier: Arc<Barrier>,
    config: RwLock<Option<SealConfig>>,
    unlock: Mutex<Option<UnlockInfo>>,
    // Serialises initialize and submit_key end to end, like Vault's state lock. A tokio
    // mutex: it is held across storage calls. `unlock` is only ever held briefly.
    operations: tokio::sync::Mutex<()>,
}

impl fmt::Debug for Seal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (progress, _) = self.progress();
        f.debug_struct("Seal")
            .field("barrier", &self.barrier)
            .field("progress", &progress)
            .finish_non_exhaustive()
    }
}

impl Seal {
    /// A seal over `barrier`; the seal configuration is read from storage when first needed.
    pub fn new(barrier: Arc<Barrier>) -> Self {
        Self {
            barrier,
            config: RwLock::new(None),
            unlock: Mutex::new(None),
            operations: tokio::sync::Mutex::new(()),
        }
    }

    /// The barrier this seal protects.
    pub fn barrier(&self) -> &Arc<Barrier> {
        &self.barrier
    }

    /// The stored seal configuration, `None` before initialisation.
    pub async fn seal_config(&self) -> Result<Option<SealConfig>, SealError> {
        if let Some(config) = self
            .config
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
        {
            return Ok(Some(config));
        }
        let Some(entry) = self.barrier.physical().get(SEAL_CONFIG_PATH).await? else {
            return Ok(None);
        };
        let config: SealConfig = serde_json::from_slice(&entry.value).map_err(|e| {
            SealError::Internal(format!("failed to decode seal configuration: {e}"))
        })?;
        *self.config.write().unwrap_or_else(PoisonError::into_inner) = Some(config.clone());
        Ok(Some(config))
    }

    /// Whether the barrier and the seal configuration exist (Vault's `Core.Initialized`).
    pub async fn initialized(&self) -> Result<bool, SealError> {
        if !self.barrier.initialized().await? {
            return Ok(false);
        }
        if self.seal_config().await?.is_none() {
            return Err(SealError::Internal(
                "core: barrier reports initialized but no seal configuration found".to_owned(),
            ));
        }
        Ok(true)
    }

    /// Initialises the seal and the barrier with `shares` unseal keys, `threshold` of which
    /// unseal. Everything is written in one atomic storage transaction. The barrier stays sealed.
    pub async fn initialize(&self, shares: i64, threshold: i64) -> Result<InitOutput, SealError> {
        let config = SealConfig::validate(shares, threshold)?;
        let _operations = self.operations.lock().await;
        if self.initialized().await? {
            return Err(SealError::AlreadyInitialized);
        }

        let root_key = RootKey::generate()?;
        let kek = random_key()?;
        let keys = if config.secret_shares == 1 {
            vec![UnsealKey(Zeroizing::new(kek.to_vec()))]
        } else {
            let n = usize::try_from(config.secret_shares).map_err(internal)?;
            let t = usize::try_from(config.secret_threshold).map_err(internal)?;
            shamir::split(kek.as_ref(), n, t)
                .map_err(|e| {
                    SealError::Internal(format!("failed to generate barrier shares: {e}"))
                })?
                .into_iter()
                .map(|share| UnsealKey(Zeroizing::new(share.as_bytes().to_vec())))
                .collect()
        };

        let stored_keys = encode_stored_keys(&root_key)?;
        let stored_keys = seal_entry(
            &aead_key(kek.as_ref())?,
            INITIAL_TERM,
            STORED_KEYS_PATH,
            &stored_keys,
        )?;
        let config_json = serde_json::to_vec(&config).map_err(internal)?;
        let inside = vec![(SHAMIR_KEK_PATH.to_owned(), kek.to_vec())];
        let outside = vec![
            Entry::new(SEAL_CONFIG_PATH, config_json),
            Entry::new(STORED_KEYS_PATH, stored_keys),
        ];
        match self
            .barrier
            .initialize_with(&root_key, inside, outside)
            .await
        {
            Ok(()) => {}
            Err(BarrierError::AlreadyInitialized) => return Err(SealError::AlreadyInitialized),
            Err(other) => return Err(other.into()),
        }

        *self.config.write().unwrap_or_else(PoisonError::into_inner) = Some(config);
        self.clear_progress();
        Ok(InitOutput { keys, root_key })
    }

    /// Shares collected so far and the attempt's nonce (empty when none).
    pub fn progress(&self) -> (u32, String) {
        let unlock = self.unlock.lock().unwrap_or_else(PoisonError::into_inner);
        match unlock.as_ref() {
            Some(info) => (
                u32::try_from(info.parts.len()).unwrap_or(u32::MAX),
                info.nonce.clone(),
            ),
            None => (0, String::new()),
        }
    }

    /// The seal-status view: sealed, t, n, progress, nonce.
    pub async fn status(&self) -> Result<UnsealProgress, SealError> {
        let (t, n) = match self.seal_config().await? {
            Some(config) => (config.secret_threshold, config.secret_shares),
            None => (0, 0),
        };
        let (progress, nonce) = self.progress();
        Ok(UnsealProgress {
            sealed: self.barrier.is_sealed(),
            t,
            n,
            progress,
            nonce,
        })
    }

    /// Discards the shares collected so far (`sys/unseal` with `reset`). Vault refuses this
    /// when unsealed, with `vault is unsealed`.
    pub fn reset(&self) -> Result<(), SealError> {
        if !self.barrier.is_sealed() {
            return Err(SealError::Unsealed);
        }
        self.clear_progress();
        Ok(())
    }

    /// Seals the barrier and forgets any unseal progress.
    pub fn seal(&self) {
        self.barrier.seal();
        self.clear_progress();
    }

    fn clear_progress(&self) {
        self.unlock
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
    }
}

fn internal(e: impl fmt::Display) -> SealError {
    SealError::Internal(e.to_string())
}

/// The root key as Vault's stored-keys JSON (`[][]byte`, so `["<base64>"]`).
fn encode_stored_keys(root_key: &RootKey) -> Result<Zeroizing<Vec<u8>>, SealError> {
    let encoded = Zeroizing::new(STANDARD.encode(root_key.as_bytes()));
    let mut json = Zeroizing::new(Vec::with_capacity(encoded.len() + 4));
    json.extend_from_slice(b"[\"");
    json.extend_from_slice(encoded.as_bytes());
    json.extend_from_slice(b"\"]");
    Ok(json)
}

/// Refuses a combined key Go's `aes.NewCipher` would refuse (Vault's
/// `failed to setup unseal key`); Go accepts 16-, 24- and 32-byte keys.
fn check_kek_size(kek: &[u8]) -> Result<(), SealError> {
    if matches!(kek.len(), 16 | 24 | KEY_LEN) {
        return Ok(());
    }
    Err(SealError::InvalidKey(format!(
        "failed to setup unseal key: crypto/aes: invalid key size {}",
        kek.len()
    )))
}

/// Decrypts [`STORED_KEYS_PATH`] with the KEK and returns the root key, with Vault's errors:
/// a KEK that does not authenticate gives
/// `invalid key: failed to decrypt keys from storage: cipher: message authentication failed`.
fn decode_stored_keys(kek: &[u8], stored: Vec<u8>) -> Result<RootKey, SealError> {
    let auth_failed = || {
        SealError::InvalidKey(format!(
            "failed to decrypt keys from storage: {AUTH_FAILED}"
        ))
    };
    if kek.len() != KEY_LEN {
        // A 16- or 24-byte key (see `check_kek_size`): Vault gets as far as the GCM tag check.
        return Err(auth_failed());
    }
    let plain = match open_entry(&aead_key(kek)?, STORED_KEYS_PATH, stored) {
        Ok(plain) => Zeroizing::new(plain),
        Err(BarrierError::Corrupted { reason, .. }) if reason == AUTH_FAILED => {
            return Err(auth_failed());
        }
        Err(BarrierError::Corrupted { reason, .. }) => {
            return Err(SealError::Internal(format!(
                "failed to decrypt keys from storage: {reason}"
            )));
        }
        Err(other) => return Err(other.into()),
    };
    let keys: Vec<&str> = serde_json::from_slice(&plain)
        .map_err(|e| SealError::Internal(format!("failed to decode stored keys: {e}")))?;
    if keys.len() != 1 {
        return Err(SealError::Internal(format!(
            "expected exactly one stored key, got {}",
            keys.len()
        )));
    }
    let raw = Zeroizing::new(
        STANDARD
            .decode(keys[0])
            .map_err(|e| SealError::Internal(format!("failed to decode stored keys: {e}")))?,
    );
    Ok(RootKey::from_bytes(&raw)?)
}

/// Go's `base64.StdEncoding`: padded, and (not being `Strict`) tolerant of non-zero trailing
/// bits, which the `base64` crate's `STANDARD` engine refuses.
const GO_STD_BASE64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_allow_trailing_bits(true),
);

/// Decodes the `key` of a `sys/unseal` request as Vault does: hex first, and base64 when the
/// text is not hex or decodes to a length outside 16..=33 bytes.
pub fn decode_unseal_key(key: &str) -> Result<Zeroizing<Vec<u8>>, SealError> {
    if let Ok(bytes) = hex::decode(key) {
        let bytes = Zeroizing::new(bytes);
        if (MIN_KEY_LEN..=MAX_KEY_LEN).contains(&bytes.len()) {
            return Ok(bytes);
        }
    }
    GO_STD_BASE64
        .decode(key)
        .map(Zeroizing::new)
        .map_err(|_| SealError::KeyEncoding)
}

/// Constant-time equality of two shares (lengths are not secret).
fn same_share(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

#[cfg(test)]
mod tests;
