use std::fmt;

use async_trait::async_trait;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::LogicalError;

/// One value in a mount's storage.
#[derive(Clone, PartialEq, Eq)]
pub struct StorageEntry {
    /// The key, relative to the mount's storage.
    pub key: String,
    /// The plaintext value; the barrier encrypts it.
    pub value: Vec<u8>,
}

impl StorageEntry {
    /// Serializes `value` as JSON under `key`.
    pub fn json(key: impl Into<String>, value: &impl Serialize) -> Result<Self, LogicalError> {
        let value = serde_json::to_vec(value)
            .map_err(|err| LogicalError::internal(format!("failed to encode entry: {err}")))?;
        Ok(Self {
            key: key.into(),
            value,
        })
    }

    /// Decodes the value as JSON.
    pub fn decode<T: DeserializeOwned>(&self) -> Result<T, LogicalError> {
        serde_json::from_slice(&self.value).map_err(|err| {
            LogicalError::internal(format!("failed to decode entry {:?}: {err}", self.key))
        })
    }
}

impl fmt::Debug for StorageEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StorageEntry")
            .field("key", &self.key)
            .field("value_len", &self.value.len())
            .finish()
    }
}

/// One step of an atomic [`StorageView::transaction`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StorageOp {
    /// Remove the key.
    Delete(String),
    /// Insert or replace the entry.
    Put(StorageEntry),
}

/// A mount's private slice of storage, behind the barrier. Keys are relative to the mount;
/// a backend cannot name anything outside its slice.
#[async_trait]
pub trait StorageView: Send + Sync + fmt::Debug {
    /// Reads one key.
    async fn get(&self, key: &str) -> Result<Option<StorageEntry>, LogicalError>;

    /// Writes one key.
    async fn put(&self, entry: StorageEntry) -> Result<(), LogicalError>;

    /// Deletes one key; a missing key is not an error.
    async fn delete(&self, key: &str) -> Result<(), LogicalError>;

    /// Lists one level below `prefix`, sub-folders with a trailing `/`.
    async fn list(&self, prefix: &str) -> Result<Vec<String>, LogicalError>;

    /// Applies every step atomically.
    async fn transaction(&self, ops: Vec<StorageOp>) -> Result<(), LogicalError>;
}

impl dyn StorageView + '_ {
    /// Reads a key and decodes it as JSON.
    pub async fn get_json<T: DeserializeOwned>(
        &self,
        key: &str,
    ) -> Result<Option<T>, LogicalError> {
        match self.get(key).await? {
            Some(entry) => entry.decode().map(Some),
            None => Ok(None),
        }
    }

    /// Encodes a value as JSON and writes it.
    pub async fn put_json(&self, key: &str, value: &impl Serialize) -> Result<(), LogicalError> {
        self.put(StorageEntry::json(key, value)?).await
    }
}
