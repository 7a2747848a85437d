//! Decoded storage entries kept in memory for values read on every request (token records,
//! login roles), so a hot read skips the storage read, the barrier's decryption and the JSON
//! decode.
//!
//! The owner of the keys drops an entry after each write of it ([`DecodedCache::invalidate`],
//! after the write and before the writer goes on), so a change is never served stale. A
//! read racing a write must not put back what the write replaced: every invalidation bumps a
//! generation, and a value read from storage is only kept when no invalidation happened
//! since the read began ([`ReadTicket`]). The cache is bounded; past its capacity an
//! arbitrary entry makes room.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use serde::de::DeserializeOwned;

use crate::{LogicalError, StorageEntry, StorageView};

#[derive(Debug)]
struct Inner<T> {
    values: HashMap<String, Arc<T>>,
    /// Bumped by every invalidation, so that a read begun before it does not refill.
    generation: u64,
}

/// Decoded values by storage key.
#[derive(Debug)]
pub struct DecodedCache<T> {
    inner: Mutex<Inner<T>>,
    capacity: usize,
}

/// A read in progress: where the cache stood when it began.
#[derive(Debug, Clone, Copy)]
pub struct ReadTicket(u64);

impl<T> DecodedCache<T> {
    /// An empty cache holding at most `capacity` values.
    pub fn new(capacity: usize) -> Self {
        Self {
            inner: Mutex::new(Inner {
                values: HashMap::new(),
                generation: 0,
            }),
            capacity: capacity.max(1),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner<T>> {
        // The map holds plain data: a panic elsewhere cannot leave it half-updated.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The cached value of `key`, or a ticket to fill it after reading storage.
    pub fn get(&self, key: &str) -> Result<Arc<T>, ReadTicket> {
        let inner = self.lock();
        match inner.values.get(key) {
            Some(value) => Ok(Arc::clone(value)),
            None => Err(ReadTicket(inner.generation)),
        }
    }

    /// Keeps a value read from storage, unless an invalidation happened since the read began.
    pub fn fill(&self, ticket: ReadTicket, key: &str, value: Arc<T>) {
        let mut inner = self.lock();
        if inner.generation != ticket.0 {
            return;
        }
        if inner.values.len() >= self.capacity
            && !inner.values.contains_key(key)
            && let Some(evicted) = inner.values.keys().next().cloned()
        {
            inner.values.remove(&evicted);
        }
        inner.values.insert(key.to_owned(), value);
    }

    /// Drops the values of `keys` (after a write of them).
    pub fn invalidate<'a>(&self, keys: impl IntoIterator<Item = &'a str>) {
        let mut inner = self.lock();
        inner.generation = inner.generation.wrapping_add(1);
        for key in keys {
            inner.values.remove(key);
        }
    }

    /// How many values are cached.
    pub fn len(&self) -> usize {
        self.lock().values.len()
    }

    /// Whether nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<T> DecodedCache<T> {
    /// Writes `entry` to `storage` and drops its cached value, even when the write failed
    /// (it may still have landed).
    pub async fn put(
        &self,
        storage: &dyn StorageView,
        entry: StorageEntry,
    ) -> Result<(), LogicalError> {
        let key = entry.key.clone();
        let written = storage.put(entry).await;
        self.invalidate([key.as_str()]);
        written
    }

    /// Deletes `key` from `storage` and drops its cached value, even when the delete failed.
    pub async fn delete(&self, storage: &dyn StorageView, key: &str) -> Result<(), LogicalError> {
        let deleted = storage.delete(key).await;
        self.invalidate([key]);
        deleted
    }
}

impl<T: DeserializeOwned> DecodedCache<T> {
    /// The value at `key`, from the cache or else read and decoded from `storage` (and then
    /// kept). Absent keys are not remembered.
    pub async fn get_or_load(
        &self,
        storage: &dyn StorageView,
        key: &str,
    ) -> Result<Option<Arc<T>>, LogicalError> {
        let ticket = match self.get(key) {
            Ok(value) => return Ok(Some(value)),
            Err(ticket) => ticket,
        };
        let Some(value) = storage.get_json::<T>(key).await? else {
            return Ok(None);
        };
        let value = Arc::new(value);
        self.fill(ticket, key, Arc::clone(&value));
        Ok(Some(value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_read_begun_before_a_write_does_not_refill_the_cache() {
        let cache = DecodedCache::new(8);
        let Err(ticket) = cache.get("k") else {
            panic!("empty cache hit")
        };
        cache.invalidate(["k"]);
        cache.fill(ticket, "k", Arc::new("old"));
        assert!(cache.get("k").is_err(), "stale value was kept");

        let Err(ticket) = cache.get("k") else {
            panic!("empty cache hit")
        };
        cache.fill(ticket, "k", Arc::new("new"));
        assert_eq!(*cache.get("k").expect("filled"), "new");
        cache.invalidate(["k"]);
        assert!(cache.get("k").is_err(), "invalidated value still served");
    }

    #[test]
    fn the_cache_stays_within_its_capacity() {
        let cache = DecodedCache::new(4);
        for n in 0..10 {
            let key = format!("k{n}");
            let Err(ticket) = cache.get(&key) else {
                panic!("unexpected hit")
            };
            cache.fill(ticket, &key, Arc::new(n));
        }
        assert_eq!(cache.len(), 4);
        assert!(cache.get("k9").is_ok(), "the newest value was evicted");
    }
}
