//! An in-memory backend, Vault's `inmem`: for `-dev` servers and tests.
//!
//! Everything lives in one ordered map behind a read/write lock. Every call takes the lock,
//! does its work synchronously and releases it before returning, so no lock is ever held
//! across an `.await`. Nothing survives the process.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::{PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use async_trait::async_trait;

use crate::{
    Backend, Entry, LevelLister, ListStep, MAX_VALUE_SIZE, Result, TxnOp, check_entry, check_op,
    validate_key, validate_prefix,
};

const KIND: &str = "inmem";

/// Vault's `inmem` storage: an ordered map in memory.
#[derive(Debug)]
pub struct MemoryBackend {
    map: RwLock<BTreeMap<String, Vec<u8>>>,
    max_value_size: usize,
}

impl Default for MemoryBackend {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryBackend {
    /// An empty store accepting values up to [`MAX_VALUE_SIZE`].
    pub fn new() -> Self {
        Self::with_max_value_size(MAX_VALUE_SIZE)
    }

    /// An empty store accepting values up to `max_value_size` bytes (Vault's `max_value_size`).
    pub fn with_max_value_size(max_value_size: usize) -> Self {
        Self {
            map: RwLock::new(BTreeMap::new()),
            max_value_size,
        }
    }

    /// The number of keys stored.
    pub fn len(&self) -> usize {
        self.read().len()
    }

    /// Whether nothing is stored.
    pub fn is_empty(&self) -> bool {
        self.read().is_empty()
    }

    // A panic while the lock is held cannot leave the map half-updated in a way callers could
    // observe as torn (each mutation is a single map operation, and a transaction's steps were
    // all validated first), so a poisoned lock is taken over rather than failing every call.
    fn read(&self) -> RwLockReadGuard<'_, BTreeMap<String, Vec<u8>>> {
        self.map.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, BTreeMap<String, Vec<u8>>> {
        self.map.write().unwrap_or_else(PoisonError::into_inner)
    }

    fn list_sync(&self, prefix: &str) -> Vec<String> {
        let map = self.read();
        let mut lister = LevelLister::new(prefix);
        let mut from = prefix.to_owned();
        'scan: loop {
            let range = map.range::<str, _>((Bound::Included(from.as_str()), Bound::Unbounded));
            for (key, _) in range {
                match lister.offer(key) {
                    ListStep::Next => {}
                    ListStep::Stop => break 'scan,
                    ListStep::SeekTo(bound) => {
                        from = bound;
                        continue 'scan;
                    }
                }
            }
            break;
        }
        lister.finish()
    }
}

#[async_trait]
impl Backend for MemoryBackend {
    async fn get(&self, key: &str) -> Result<Option<Entry>> {
        validate_key(key)?;
        Ok(self
            .read()
            .get(key)
            .map(|value| Entry::new(key, value.clone())))
    }

    async fn put(&self, entry: Entry) -> Result<()> {
        check_entry(&entry, KIND, self.max_value_size)?;
        self.write().insert(entry.key, entry.value);
        Ok(())
    }

    async fn delete(&self, key: &str) -> Result<()> {
        validate_key(key)?;
        self.write().remove(key);
        Ok(())
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>> {
        validate_prefix(prefix)?;
        Ok(self.list_sync(prefix))
    }

    async fn transaction(&self, ops: Vec<TxnOp>) -> Result<()> {
        // Validate every step before touching the map: a bad step fails the whole transaction
        // with nothing applied. The steps then run under one write lock, so no reader sees a
        // partial transaction.
        for op in &ops {
            check_op(op, KIND, self.max_value_size)?;
        }
        let mut map = self.write();
        for op in ops {
            match op {
                TxnOp::Put(entry) => {
                    map.insert(entry.key, entry.value);
                }
                TxnOp::Delete(key) => {
                    map.remove(&key);
                }
            }
        }
        Ok(())
    }

    fn kind(&self) -> &'static str {
        KIND
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::StorageError;

    #[tokio::test]
    async fn configured_limit_applies_to_puts_and_transactions() {
        let backend = MemoryBackend::with_max_value_size(4);
        backend.put(Entry::new("a", *b"1234")).await.unwrap();
        let err = backend.put(Entry::new("b", *b"12345")).await.unwrap_err();
        assert!(
            matches!(
                err,
                StorageError::EntryTooLarge {
                    size: 5,
                    max: 4,
                    ..
                }
            ),
            "{err}"
        );
        let err = backend
            .transaction(vec![
                TxnOp::Delete("a".into()),
                TxnOp::Put(Entry::new("c", [0; 5])),
            ])
            .await
            .unwrap_err();
        assert!(matches!(err, StorageError::EntryTooLarge { .. }), "{err}");
        assert_eq!(
            backend.len(),
            1,
            "the failed transaction must not delete `a`"
        );
        assert_eq!(backend.kind(), "inmem");
    }

    #[tokio::test]
    async fn list_seeks_past_folders() {
        let backend = MemoryBackend::new();
        for i in 0..50 {
            for j in 0..20 {
                backend
                    .put(Entry::new(format!("p/{i:02}/{j:02}"), [1]))
                    .await
                    .unwrap();
            }
        }
        backend.put(Entry::new("p/zz", [1])).await.unwrap();
        let names = backend.list("p/").await.unwrap();
        assert_eq!(names.len(), 51);
        assert_eq!(names.first().map(String::as_str), Some("00/"));
        assert_eq!(names.last().map(String::as_str), Some("zz"));
        assert!(!backend.is_empty());
    }
}
