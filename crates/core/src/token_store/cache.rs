//! Decrypted token records kept in memory, so that a token used again and again (a workload
//! reading its secrets) is not read, decrypted and decoded from storage on every request.
//!
//! Only the token store writes token records, and every one of its writes goes through
//! [`TokenStore::commit`], which drops the records it touched after the write and before
//! the caller goes on, so a revocation or a use-count change is never served stale. A read
//! racing a write must not put back what the write replaced: the cache keeps a generation
//! counter bumped with every drop, and a record read from storage is only kept when no drop
//! happened since the read began. The cache is bounded and belongs to one unsealed core
//! (a seal drops the token store with it); expiry is still checked on every lookup.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use warden_logical::{StorageOp, StorageView};

use super::TokenStore;
use super::record::TokenRecord;
use crate::CoreError;

/// Records kept at most; past that an arbitrary one makes room (the working set of a busy
/// server is its live workloads' tokens, far fewer than the tokens stored).
const CAPACITY: usize = 16_384;
/// The storage prefix of token records.
const RECORD_PREFIX: &str = "token/id/";

#[derive(Debug, Default)]
struct Inner {
    records: HashMap<String, Arc<TokenRecord>>,
    /// Bumped by every write, so that a read begun before it does not refill the cache.
    generation: u64,
}

/// The records of recently used tokens, by salted id.
#[derive(Debug, Default)]
pub(crate) struct RecordCache {
    inner: Mutex<Inner>,
}

/// A read in progress: where the cache stood when it began.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ReadTicket(u64);

impl RecordCache {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        // The map holds plain data: a panic elsewhere cannot leave it half-updated.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The cached record of a salted id, or a ticket to fill it after reading storage.
    pub(crate) fn get(&self, salted: &str) -> Result<Arc<TokenRecord>, ReadTicket> {
        let inner = self.lock();
        match inner.records.get(salted) {
            Some(record) => Ok(Arc::clone(record)),
            None => Err(ReadTicket(inner.generation)),
        }
    }

    /// Keeps a record read from storage, unless a write happened since the read began.
    pub(crate) fn fill(&self, ticket: ReadTicket, salted: &str, record: &TokenRecord) {
        let mut inner = self.lock();
        if inner.generation != ticket.0 {
            return;
        }
        if inner.records.len() >= CAPACITY
            && let Some(evicted) = inner.records.keys().next().cloned()
        {
            inner.records.remove(&evicted);
        }
        inner
            .records
            .insert(salted.to_owned(), Arc::new(record.clone()));
    }

    /// Drops the records a write touched.
    fn invalidate<'a>(&self, keys: impl Iterator<Item = &'a str>) {
        let mut inner = self.lock();
        inner.generation = inner.generation.wrapping_add(1);
        for salted in keys {
            inner.records.remove(salted);
        }
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.lock().records.len()
    }
}

/// The salted id of a token record key, if `key` is one.
fn record_key(op: &StorageOp) -> Option<&str> {
    let key = match op {
        StorageOp::Put(entry) => entry.key.as_str(),
        StorageOp::Delete(key) => key.as_str(),
    };
    key.strip_prefix(RECORD_PREFIX)
}

impl TokenStore {
    /// Applies a write of the token store atomically, then drops the cached records it
    /// touched, whether or not it succeeded (a failed write may still have landed).
    pub(crate) async fn commit(&self, ops: Vec<StorageOp>) -> Result<(), CoreError> {
        let touched: Vec<String> = ops
            .iter()
            .filter_map(record_key)
            .map(str::to_owned)
            .collect();
        let result = self.view().transaction(ops).await;
        if !touched.is_empty() {
            self.cache.invalidate(touched.iter().map(String::as_str));
        }
        result.map_err(CoreError::from)
    }
}

#[cfg(test)]
mod tests {
    use warden_logical::StorageEntry;

    use super::*;

    fn record(path: &str) -> TokenRecord {
        TokenRecord {
            entry: warden_logical::TokenEntry {
                path: path.to_owned(),
                ..Default::default()
            },
            lease: None,
            revoking: false,
        }
    }

    #[test]
    fn a_read_begun_before_a_write_does_not_refill_the_cache() {
        let cache = RecordCache::default();
        let Err(ticket) = cache.get("h1") else {
            panic!("empty cache hit")
        };
        cache.invalidate(["h1"].into_iter());
        cache.fill(ticket, "h1", &record("auth/old"));
        assert!(cache.get("h1").is_err(), "stale record was kept");

        let Err(ticket) = cache.get("h1") else {
            panic!("empty cache hit")
        };
        cache.fill(ticket, "h1", &record("auth/new"));
        let hit = cache.get("h1").expect("filled record");
        assert_eq!(hit.entry.path, "auth/new");
        cache.invalidate(["h1"].into_iter());
        assert!(cache.get("h1").is_err(), "invalidated record still served");
    }

    #[test]
    fn the_cache_stays_within_its_capacity() {
        let cache = RecordCache::default();
        for n in 0..CAPACITY + 10 {
            let Err(ticket) = cache.get(&format!("h{n}")) else {
                panic!("unexpected hit")
            };
            cache.fill(ticket, &format!("h{n}"), &record("auth/x"));
        }
        assert_eq!(cache.len(), CAPACITY);
    }

    #[test]
    fn only_token_record_keys_are_touched_by_a_write() {
        let put = StorageOp::Put(StorageEntry {
            key: "token/id/habc".into(),
            value: Vec::new(),
        });
        let index = StorageOp::Delete("expire/time/000000000001/habc".into());
        let delete = StorageOp::Delete("token/id/hdef".into());
        assert_eq!(record_key(&put), Some("habc"));
        assert_eq!(record_key(&index), None);
        assert_eq!(record_key(&delete), Some("hdef"));
    }
}
