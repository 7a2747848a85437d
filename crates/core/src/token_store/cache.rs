//! The token store's writes, which keep its cache of decrypted records honest.
//!
//! Records are cached ([`warden_logical::DecodedCache`]) so that a token used again and
//! again (a workload reading its secrets) is not read, decrypted and decoded from storage on
//! every request. Only the token store writes token records, and every one of its writes
//! goes through [`TokenStore::commit`], which drops the records it touched after the write
//! and before the caller goes on, so a revocation or a use-count change is never served
//! stale. The cache belongs to one unsealed core (sealing drops the token store with it);
//! expiry is still checked on every lookup.

use warden_logical::{StorageOp, StorageView};

use super::TokenStore;
use crate::CoreError;

/// Records kept at most (the working set of a busy server is its live workloads' tokens,
/// far fewer than the tokens stored).
pub(super) const CAPACITY: usize = 16_384;
/// The storage prefix of token records.
const RECORD_PREFIX: &str = "token/id/";

/// The salted id of a token record key, if `op` writes one.
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
