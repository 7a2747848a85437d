//! The physical storage contract of warden.
//!
//! Everything warden persists passes through [`Backend`]: a flat, ordered key space of byte
//! values with Vault's semantics. Keys are `/`-separated paths; [`Backend::list`] returns one
//! level below a prefix, with sub-folders marked by a trailing `/`. The barrier in `warden-core`
//! encrypts every value before it reaches a backend, so backends never see plaintext.
//!
//! Backends: [`memory::MemoryBackend`] (Vault's `inmem`) and [`embedded::EmbeddedBackend`]
//! (redb, durable, group commit). With the `test-util` feature, the `conformance` module holds the suite
//! every backend must pass.
#![warn(missing_docs)]

use std::fmt;

use async_trait::async_trait;

#[cfg(feature = "test-util")]
pub mod conformance;
pub mod embedded;
mod error;
pub mod memory;

pub use error::StorageError;

/// One stored value under its full key.
#[derive(Clone, PartialEq, Eq)]
pub struct Entry {
    /// The full key, e.g. `core/keyring` or `logical/<uuid>/foo/bar`.
    pub key: String,
    /// The stored bytes (ciphertext for everything behind the barrier).
    pub value: Vec<u8>,
}

impl Entry {
    /// Builds an entry from a key and its value.
    pub fn new(key: impl Into<String>, value: impl Into<Vec<u8>>) -> Self {
        Self {
            key: key.into(),
            value: value.into(),
        }
    }
}

impl fmt::Debug for Entry {
    // Values may be key material (the sealed root key is stored outside the barrier), so the
    // debug form shows only their size.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Entry")
            .field("key", &self.key)
            .field("value_len", &self.value.len())
            .finish()
    }
}

/// One step of an atomic [`Backend::transaction`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TxnOp {
    /// Remove the key; removing a missing key is not an error.
    Delete(String),
    /// Insert or replace the entry.
    Put(Entry),
}

impl TxnOp {
    /// The key this step touches.
    pub fn key(&self) -> &str {
        match self {
            Self::Delete(key) => key,
            Self::Put(entry) => &entry.key,
        }
    }
}

/// The result type of every storage call.
pub type Result<T, E = StorageError> = std::result::Result<T, E>;

/// A physical storage backend.
///
/// Contract (checked by the `conformance` suite of the `test-util` feature):
/// - `put` then `get` returns the value byte for byte; `get` of a missing key is `Ok(None)`;
///   `delete` of a missing key succeeds;
/// - `list(prefix)` returns, sorted by byte order, the names one level below `prefix`: a key
///   `prefix + "a"` gives `"a"`, keys under `prefix + "b/"` give one `"b/"`; a missing prefix
///   gives an empty list. `prefix` is empty (the root) or ends in `/`; other prefixes match by
///   plain string prefix, as in Vault;
/// - `transaction` applies all of its steps or none of them, in order, so a later step on the
///   same key wins; a step with an invalid key or an oversized value fails the whole
///   transaction before anything is applied;
/// - keys failing [`validate_key`] are rejected with [`StorageError::InvalidKey`] by every
///   call; values above the backend's limit (at most [`MAX_VALUE_SIZE`]) with
///   [`StorageError::EntryTooLarge`];
/// - a write that returned `Ok` is visible to every call that starts afterwards, and for a
///   durable backend survives a crash of the process.
#[async_trait]
pub trait Backend: Send + Sync + fmt::Debug + 'static {
    /// Reads one key.
    async fn get(&self, key: &str) -> Result<Option<Entry>>;

    /// Writes one key.
    async fn put(&self, entry: Entry) -> Result<()>;

    /// Deletes one key; a missing key is not an error.
    async fn delete(&self, key: &str) -> Result<()>;

    /// Lists one level below `prefix` (which is empty or ends in `/`).
    async fn list(&self, prefix: &str) -> Result<Vec<String>>;

    /// Applies every step atomically.
    async fn transaction(&self, ops: Vec<TxnOp>) -> Result<()>;

    /// The backend's name as Vault reports it in `storage_type` (`inmem`, `embedded`, …).
    fn kind(&self) -> &'static str;
}

/// The largest value any warden backend accepts: 64 MiB.
///
/// Vault's raft storage keeps entries near 1 MiB, but a large mount table or policy set may
/// outgrow that; 64 MiB bounds memory per request while leaving room. Larger values fail with
/// [`StorageError::EntryTooLarge`].
pub const MAX_VALUE_SIZE: usize = 64 * 1024 * 1024;

/// Rejects keys no backend may store: the empty key and keys with `..` segments, which would
/// let a crafted path escape a mount's storage prefix.
pub fn validate_key(key: &str) -> Result<()> {
    if key.is_empty() {
        return Err(StorageError::InvalidKey {
            key: key.to_owned(),
            reason: "key is empty",
        });
    }
    validate_segments(key)
}

/// Rejects list prefixes with `..` segments; the empty prefix (the root) is accepted.
pub fn validate_prefix(prefix: &str) -> Result<()> {
    if prefix.is_empty() {
        Ok(())
    } else {
        validate_segments(prefix)
    }
}

fn validate_segments(key: &str) -> Result<()> {
    if key.split('/').any(|segment| segment == "..") {
        return Err(StorageError::InvalidKey {
            key: key.to_owned(),
            reason: "relative path segments are not allowed",
        });
    }
    Ok(())
}

/// Checks one write against the rules every backend shares: a valid key and, for a put, a
/// value no larger than `max_value_size`.
pub(crate) fn check_op(op: &TxnOp, backend: &'static str, max_value_size: usize) -> Result<()> {
    match op {
        TxnOp::Put(entry) => check_entry(entry, backend, max_value_size),
        TxnOp::Delete(key) => validate_key(key),
    }
}

/// [`check_op`] for a single put.
pub(crate) fn check_entry(
    entry: &Entry,
    backend: &'static str,
    max_value_size: usize,
) -> Result<()> {
    validate_key(&entry.key)?;
    if entry.value.len() > max_value_size {
        return Err(StorageError::EntryTooLarge {
            backend,
            key: entry.key.clone(),
            size: entry.value.len(),
            max: max_value_size,
        });
    }
    Ok(())
}

/// What a backend's scan does after offering a key to a [`LevelLister`].
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum ListStep {
    /// Offer the next key in order.
    Next,
    /// Skip ahead: the next key of interest is the first one `>=` this bound.
    SeekTo(String),
    /// The scan has left the prefix; nothing further can match.
    Stop,
}

/// Builds Vault's one-level listing from keys offered in ascending byte order, starting at the
/// prefix.
///
/// A key directly below the prefix is listed by its remaining name. The first key inside a
/// sub-folder lists the folder once (with its trailing `/`) and asks the scan to seek past the
/// whole folder, so a listing costs one seek per folder instead of one step per nested key.
/// A key equal to the prefix itself (possible only for keys ending in `/`) is not below it and
/// is not listed. Because `/` sorts before every byte that can follow it in a folder's upper
/// bound (`'0'` is `'/' + 1`), the names come out sorted.
#[derive(Debug)]
pub(crate) struct LevelLister<'p> {
    prefix: &'p str,
    names: Vec<String>,
}

impl<'p> LevelLister<'p> {
    /// Starts a listing below `prefix`; the scan begins at the first key `>= prefix`.
    pub(crate) fn new(prefix: &'p str) -> Self {
        Self {
            prefix,
            names: Vec::new(),
        }
    }

    /// Takes the next key of the scan.
    pub(crate) fn offer(&mut self, key: &str) -> ListStep {
        let Some(rest) = key.strip_prefix(self.prefix) else {
            return ListStep::Stop;
        };
        match rest.find('/') {
            Some(slash) => {
                self.names.push(rest[..=slash].to_owned());
                ListStep::SeekTo(format!("{}{}0", self.prefix, &rest[..slash]))
            }
            None => {
                if !rest.is_empty() {
                    self.names.push(rest.to_owned());
                }
                ListStep::Next
            }
        }
    }

    /// The names found, sorted.
    pub(crate) fn finish(self) -> Vec<String> {
        self.names
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(keys: &[&str], prefix: &str) -> Vec<String> {
        let mut sorted: Vec<&str> = keys.to_vec();
        sorted.sort_unstable();
        let mut lister = LevelLister::new(prefix);
        let mut cursor = prefix.to_owned();
        'scan: loop {
            for key in sorted.iter().filter(|key| **key >= cursor.as_str()) {
                match lister.offer(key) {
                    ListStep::Next => {}
                    ListStep::Stop => break 'scan,
                    ListStep::SeekTo(bound) => {
                        cursor = bound;
                        continue 'scan;
                    }
                }
            }
            break;
        }
        lister.finish()
    }

    #[test]
    fn lister_lists_one_level_with_folders_once() {
        let keys = [
            "a-b", "a/x", "a/y/z", "a0", "foo", "foo/", "foo/bar", "foob", "z",
        ];
        assert_eq!(
            list(&keys, ""),
            ["a-b", "a/", "a0", "foo", "foo/", "foob", "z"]
        );
        assert_eq!(list(&keys, "a/"), ["x", "y/"]);
        assert_eq!(list(&keys, "foo/"), ["bar"]);
        assert_eq!(list(&keys, "nothing/"), Vec::<String>::new());
    }

    #[test]
    fn keys_are_validated() {
        assert!(validate_key("").is_err());
        assert!(validate_key("..").is_err());
        assert!(validate_key("a/../b").is_err());
        assert!(validate_key("a/..").is_err());
        assert!(validate_key("a/.../b").is_ok());
        assert!(validate_key("a/./b").is_ok());
        assert!(validate_prefix("").is_ok());
        assert!(validate_prefix("../").is_err());
    }

    #[test]
    fn oversized_values_are_rejected() {
        let op = TxnOp::Put(Entry::new("k", vec![0; 11]));
        assert!(matches!(
            check_op(&op, "inmem", 10),
            Err(StorageError::EntryTooLarge {
                size: 11,
                max: 10,
                ..
            })
        ));
        assert!(check_op(&op, "inmem", 11).is_ok());
        assert!(check_op(&TxnOp::Delete(String::new()), "inmem", 11).is_err());
    }
}
