//! The security barrier: everything behind it is AES-256-GCM encrypted before it reaches
//! physical storage, in Vault's v2 entry format
//! (`term || version || nonce || ciphertext || tag`, with the storage path as AAD).
//!
//! Key chain (Vault's): the data-encryption keys live in a keyring, one per term; the keyring is
//! stored at [`KEYRING_PATH`] encrypted by the [`RootKey`]; the root key itself is kept by the
//! seal (see [`crate::seal`]). New writes use the active (highest) term; older terms stay for
//! reading values written before a [`Barrier::rotate`].
//!
//! The keyring lives in memory only while unsealed. Its lock is a plain `RwLock` held for a
//! pointer copy, never across an `.await`: operations clone the `Arc<Keyring>` and work from that.

use std::fmt;
use std::sync::{Arc, PoisonError, RwLock};

use warden_storage::{Backend, Entry, StorageError, TxnOp};

mod entry;
mod keyring;

pub use keyring::{KEY_LEN, RootKey};

pub(crate) use entry::{AUTH_FAILED, INITIAL_TERM, open as open_entry, seal as seal_entry};
pub(crate) use keyring::{aead_key, random_key};

use keyring::Keyring;

/// Where the keyring is stored, encrypted by the root key.
pub const KEYRING_PATH: &str = "core/keyring";
/// Where a copy of the root key is stored, encrypted by the active term (Vault's
/// `core/root-key`; older Vaults call it `core/master`).
pub const ROOT_KEY_PATH: &str = "core/root-key";

/// Why a barrier call failed. Display strings are Vault's where Vault has one.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BarrierError {
    /// The barrier is sealed: no keyring in memory.
    #[error("Vault is sealed")]
    Sealed,
    /// `initialize` on a barrier that already has a keyring.
    #[error("Vault is already initialized")]
    AlreadyInitialized,
    /// `unseal` before `initialize`.
    #[error("Vault is not initialized")]
    NotInitialized,
    /// The root key does not decrypt the stored keyring (Vault's `ErrBarrierInvalidKey`).
    #[error("Unseal failed, invalid key")]
    InvalidKey,
    /// A key of the wrong size.
    #[error("key size must be {expected} bytes, got {len}", expected = KEY_LEN)]
    KeyLength {
        /// The size given.
        len: usize,
    },
    /// A stored value failed authentication or is malformed: tampered with, truncated, moved
    /// from another key, or written under another root key.
    #[error("decryption failed: {reason}")]
    Corrupted {
        /// The storage key of the value.
        key: String,
        /// What was wrong (Go's wording, e.g. `cipher: message authentication failed`).
        reason: String,
    },
    /// A stored value names a term the keyring does not have.
    #[error("no decryption key available for term {term}")]
    UnknownTerm {
        /// The storage key of the value.
        key: String,
        /// The term it was stamped with.
        term: u32,
    },
    /// The system random generator failed.
    #[error("failed to read random bytes")]
    Random,
    /// Physical storage failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// Anything else (serialisation of the keyring, an impossible state).
    #[error("{0}")]
    Internal(String),
}

/// One step of [`Barrier::transaction`], in plaintext.
#[derive(Clone, PartialEq, Eq)]
pub enum BarrierOp {
    /// Encrypt and write `value` at `key`.
    Put {
        /// The storage key.
        key: String,
        /// The plaintext.
        value: Vec<u8>,
    },
    /// Remove `key`.
    Delete {
        /// The storage key.
        key: String,
    },
}

impl fmt::Debug for BarrierOp {
    // Plaintext may be secret; show only its size.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Put { key, value } => f
                .debug_struct("Put")
                .field("key", key)
                .field("value_len", &value.len())
                .finish(),
            Self::Delete { key } => f.debug_struct("Delete").field("key", key).finish(),
        }
    }
}

/// The active data-encryption key, as `sys/key-status` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyInfo {
    /// The key's term.
    pub term: u32,
    /// When it was installed (RFC 3339, UTC).
    pub install_time: String,
}

/// The result type of barrier calls.
pub type Result<T, E = BarrierError> = std::result::Result<T, E>;

/// The encrypting layer over physical storage.
pub struct Barrier {
    physical: Arc<dyn Backend>,
    keyring: RwLock<Option<Arc<Keyring>>>,
    // Serialises the calls that write the keyring (initialize, rotate) so two of them cannot
    // both read term N and both install N+1. A tokio mutex: it is held across storage calls.
    keyring_writes: tokio::sync::Mutex<()>,
}

impl fmt::Debug for Barrier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Barrier")
            .field("physical", &self.physical.kind())
            .field("sealed", &self.is_sealed())
            .finish()
    }
}

impl Barrier {
    /// A sealed barrier over `physical`.
    pub fn new(physical: Arc<dyn Backend>) -> Self {
        Self {
            physical,
            keyring: RwLock::new(None),
            keyring_writes: tokio::sync::Mutex::new(()),
        }
    }

    /// The physical storage under the barrier (for the few values Vault keeps outside it, such
    /// as the seal configuration).
    pub fn physical(&self) -> &Arc<dyn Backend> {
        &self.physical
    }

    /// Whether a keyring has been stored.
    pub async fn initialized(&self) -> Result<bool> {
        Ok(self.physical.get(KEYRING_PATH).await?.is_some())
    }

    /// Creates the keyring (the root key and a term-1 data key) and stores it. The barrier
    /// stays sealed. Fails with [`BarrierError::AlreadyInitialized`] if a keyring exists.
    pub async fn initialize(&self, root_key: &RootKey) -> Result<()> {
        self.initialize_with(root_key, Vec::new(), Vec::new()).await
    }

    /// [`Barrier::initialize`], writing in the same atomic transaction the plaintext `inside`
    /// entries encrypted behind the barrier and the `outside` entries as they are. The seal
    /// uses this so a crash cannot leave a keyring without its seal configuration.
    pub async fn initialize_with(
        &self,
        root_key: &RootKey,
        inside: Vec<(String, Vec<u8>)>,
        outside: Vec<Entry>,
    ) -> Result<()> {
        let _writes = self.keyring_writes.lock().await;
        if self.initialized().await? {
            return Err(BarrierError::AlreadyInitialized);
        }
        let keyring = Keyring::create(root_key.clone())?;
        let mut ops = keyring_ops(&keyring)?;
        let (term, key) = keyring.active()?;
        for (path, plain) in inside {
            let value = seal_entry(&key.aead, term, &path, &plain)?;
            ops.push(TxnOp::Put(Entry::new(path, value)));
        }
        ops.extend(outside.into_iter().map(TxnOp::Put));
        self.physical.transaction(ops).await?;
        Ok(())
    }

    /// Decrypts the stored keyring with `root_key` and holds it in memory. A no-op when already
    /// unsealed. A wrong key gives [`BarrierError::InvalidKey`] and leaves the barrier sealed.
    pub async fn unseal(&self, root_key: &RootKey) -> Result<()> {
        if !self.is_sealed() {
            return Ok(());
        }
        let stored = self
            .physical
            .get(KEYRING_PATH)
            .await?
            .ok_or(BarrierError::NotInitialized)?;
        let term = entry::term_of(KEYRING_PATH, &stored.value)?;
        if term != INITIAL_TERM {
            return Err(BarrierError::Corrupted {
                key: KEYRING_PATH.to_owned(),
                reason: "term mis-match".to_owned(),
            });
        }
        let aead = aead_key(root_key.as_bytes())?;
        let plain = match open_entry(&aead, KEYRING_PATH, stored.value) {
            Ok(plain) => zeroize::Zeroizing::new(plain),
            Err(BarrierError::Corrupted { reason, .. }) if reason == AUTH_FAILED => {
                return Err(BarrierError::InvalidKey);
            }
            Err(other) => return Err(other),
        };
        let keyring = Keyring::from_json(&plain)?;
        *self.keyring.write().unwrap_or_else(PoisonError::into_inner) = Some(Arc::new(keyring));
        Ok(())
    }

    /// Drops the keyring from memory (its keys are zeroized as the last reference goes).
    pub fn seal(&self) {
        self.keyring
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
    }

    /// Whether the barrier is sealed.
    pub fn is_sealed(&self) -> bool {
        self.keyring
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .is_none()
    }

    /// The active term, for `sys/key-status`.
    pub fn active_term(&self) -> Result<u32> {
        Ok(self.current()?.active()?.0)
    }

    /// The active term and when its key was installed, for `sys/key-status`.
    pub fn active_key_info(&self) -> Result<KeyInfo> {
        let keyring = self.current()?;
        let (term, key) = keyring.active()?;
        Ok(KeyInfo {
            term,
            install_time: key.install_time.clone(),
        })
    }

    fn current(&self) -> Result<Arc<Keyring>> {
        self.keyring
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
            .ok_or(BarrierError::Sealed)
    }

    fn encrypt(keyring: &Keyring, key: &str, plain: &[u8]) -> Result<Vec<u8>> {
        let (term, active) = keyring.active()?;
        seal_entry(&active.aead, term, key, plain)
    }

    /// Reads and decrypts one value.
    pub async fn get(&self, key: &str) -> Result<Option<Vec<u8>>> {
        self.current()?;
        let Some(stored) = self.physical.get(key).await? else {
            return Ok(None);
        };
        // Re-read after the await: a seal during the read must not decrypt with dropped keys.
        let keyring = self.current()?;
        let term = entry::term_of(key, &stored.value)?;
        let term_key = keyring
            .term(term)
            .ok_or_else(|| BarrierError::UnknownTerm {
                key: key.to_owned(),
                term,
            })?;
        open_entry(&term_key.aead, key, stored.value).map(Some)
    }

    /// Encrypts and writes one value.
    pub async fn put(&self, key: &str, value: Vec<u8>) -> Result<()> {
        let keyring = self.current()?;
        let sealed = Self::encrypt(&keyring, key, &value)?;
        drop(keyring);
        self.physical.put(Entry::new(key, sealed)).await?;
        Ok(())
    }

    /// Deletes one value.
    pub async fn delete(&self, key: &str) -> Result<()> {
        self.current()?;
        self.physical.delete(key).await?;
        Ok(())
    }

    /// Lists one level below `prefix` (names are not encrypted, as in Vault).
    pub async fn list(&self, prefix: &str) -> Result<Vec<String>> {
        self.current()?;
        Ok(self.physical.list(prefix).await?)
    }

    /// Applies every step atomically, encrypting the puts under the active term.
    pub async fn transaction(&self, ops: Vec<BarrierOp>) -> Result<()> {
        let keyring = self.current()?;
        let physical_ops = ops
            .into_iter()
            .map(|op| match op {
                BarrierOp::Put { key, value } => {
                    let sealed = Self::encrypt(&keyring, &key, &value)?;
                    Ok(TxnOp::Put(Entry::new(key, sealed)))
                }
                BarrierOp::Delete { key } => Ok(TxnOp::Delete(key)),
            })
            .collect::<Result<Vec<_>>>()?;
        drop(keyring);
        self.physical.transaction(physical_ops).await?;
        Ok(())
    }

    /// Adds a data-encryption key at the next term and makes it active; values written under
    /// older terms stay readable. Returns the new term.
    pub async fn rotate(&self) -> Result<u32> {
        let _writes = self.keyring_writes.lock().await;
        let old = self.current()?;
        let (rotated, term) = old.rotated()?;
        self.physical.transaction(keyring_ops(&rotated)?).await?;
        let rotated = Arc::new(rotated);
        let mut slot = self.keyring.write().unwrap_or_else(PoisonError::into_inner);
        // Install only over the keyring we rotated: if the barrier was sealed meanwhile it
        // stays sealed (the next unseal reads the rotated keyring from storage).
        if slot
            .as_ref()
            .is_some_and(|current| Arc::ptr_eq(current, &old))
        {
            *slot = Some(rotated);
        }
        Ok(term)
    }
}

/// The writes that persist a keyring: the keyring under the root key, and the root key copy
/// under the active term (Vault's `persistKeyring`).
fn keyring_ops(keyring: &Keyring) -> Result<Vec<TxnOp>> {
    let root_aead = aead_key(keyring.root_key.as_bytes())?;
    let keyring_value = seal_entry(&root_aead, INITIAL_TERM, KEYRING_PATH, &keyring.to_json()?)?;
    let (term, active) = keyring.active()?;
    let root_value = seal_entry(&active.aead, term, ROOT_KEY_PATH, &keyring.root_key_json()?)?;
    Ok(vec![
        TxnOp::Put(Entry::new(KEYRING_PATH, keyring_value)),
        TxnOp::Put(Entry::new(ROOT_KEY_PATH, root_value)),
    ])
}

/// An unsealed barrier over an in-memory store, for the unit tests of what sits on it.
#[cfg(test)]
pub(crate) async fn unsealed_in_memory() -> Arc<Barrier> {
    let barrier = Arc::new(Barrier::new(Arc::new(
        warden_storage::memory::MemoryBackend::new(),
    )));
    let root = RootKey::generate().expect("root key");
    barrier.initialize(&root).await.expect("initialize");
    barrier.unseal(&root).await.expect("unseal");
    barrier
}

#[cfg(test)]
mod tests;
