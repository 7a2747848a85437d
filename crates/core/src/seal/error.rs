//! The seal's error type; its Display strings are the messages Vault sends to clients.

use warden_storage::StorageError;

use crate::barrier::BarrierError;

/// Why a seal operation failed.
///
/// Status codes (the HTTP layer maps them; Vault's `http/sys_init.go`, `http/sys_seal.go`):
/// `sys/init` answers **400 for every error** (Vault's `IsFatalError` is true for all of them);
/// `sys/unseal` answers 400 when [`SealError::is_user_error`] is true and 500 otherwise.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SealError {
    /// `sys/init` parameters out of range; the reason is one of Vault's `SealConfig.Validate`
    /// messages (`shares must be at least one`, …).
    #[error("invalid seal configuration: {0}")]
    InvalidConfig(&'static str),
    /// `sys/init` after initialisation.
    #[error("Vault is already initialized")]
    AlreadyInitialized,
    /// `sys/unseal` before initialisation.
    #[error("Vault is not initialized")]
    NotInitialized,
    /// A user-supplied unseal key is wrong (Vault's `ErrInvalidKey`): bad length, shares that
    /// do not combine, or a combined key that does not decrypt the stored root key.
    #[error("invalid key: {0}")]
    InvalidKey(String),
    /// Reading the root key with the combined key failed; wraps the reason as Vault's
    /// `unsealKeyToRootKey` does (`unable to retrieve stored keys: invalid key: …`).
    #[error("unable to retrieve stored keys: {0}")]
    StoredKeys(Box<SealError>),
    /// The `key` of a `sys/unseal` request is neither hex nor base64.
    #[error("'key' must be a valid hex or base64 string")]
    KeyEncoding,
    /// A `sys/unseal` request with neither `key` nor `reset`.
    #[error("'key' must be specified in request body as JSON, or 'reset' set to true")]
    KeyMissing,
    /// `sys/unseal` with `reset` while unsealed.
    #[error("vault is unsealed")]
    Unsealed,
    /// The barrier refused (sealed, invalid root key, storage, …).
    #[error(transparent)]
    Barrier(#[from] BarrierError),
    /// Physical storage failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// Anything else: undecodable stored state, random generator failure.
    #[error("{0}")]
    Internal(String),
}

impl SealError {
    /// Whether `sys/unseal` answers 400 (the user's mistake) rather than 500. Mirrors the
    /// switch in Vault's `handleSysUnseal`: `ErrInvalidKey` anywhere in the chain, and the
    /// barrier's invalid-key, not-initialized and sealed errors, are 400.
    pub fn is_user_error(&self) -> bool {
        match self {
            Self::InvalidConfig(_)
            | Self::AlreadyInitialized
            | Self::NotInitialized
            | Self::InvalidKey(_)
            | Self::KeyEncoding
            | Self::KeyMissing
            | Self::Unsealed => true,
            Self::StoredKeys(inner) => inner.is_user_error(),
            Self::Barrier(barrier) => matches!(
                barrier,
                BarrierError::InvalidKey
                    | BarrierError::NotInitialized
                    | BarrierError::Sealed
                    | BarrierError::AlreadyInitialized
            ),
            Self::Storage(_) | Self::Internal(_) => false,
        }
    }
}
