//! The token store: token records behind the barrier under a salted hash of their id.
//!
//! Layout under the barrier's `sys/` (Vault's, plus lease times kept in the record):
//! `token/salt` (a random UUID made on first use), `token/id/<salted id>` (the record),
//! `token/accessor/<salted accessor>` (`{token_id, accessor_id, namespace_id}`),
//! `token/parent/<salted parent>/<salted child>` (the tree that revocation walks), and
//! `expire/time/<minute>/<nanosecond in the minute>.<salted id>` (the expiry index the sweep
//! reads in time order). A token id with no `.` is hashed as `hex(SHA1(salt + id))`, any
//! other (every `hvs.` token) as `"h" + hex(HMAC-SHA256(salt, id))`.
//!
//! Tokens and accessors warden mints end in 11 characters of creation order (base62
//! nanoseconds), and their salted names start with them (after the `h`): a store's B-tree
//! then takes new tokens at its right edge, so a group commit of many logins rewrites a few
//! pages instead of one random page per entry. Ids without them (custom ids, tokens minted
//! before) keep the plain hash.

mod batch;
mod cache;
mod create;
pub mod record;
mod revoke;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use aws_lc_rs::{digest, hmac};
use serde::{Deserialize, Serialize};
use warden_logical::{DecodedCache, SecretString, StorageEntry, StorageView, TokenType};
use zeroize::Zeroizing;

pub use batch::BATCH_TOKEN_PREFIX;
pub use create::NewToken;
pub use record::{TokenLease, TokenRecord, UnixNanos, now_nanos, rfc3339};
pub use revoke::TidyReport;

use crate::CoreError;
use crate::barrier::Barrier;
use crate::view::BarrierView;
use batch::BatchCipher;

/// The prefix of every service token warden issues.
pub const SERVICE_TOKEN_PREFIX: &str = "hvs.";
/// Random characters after the prefix (Vault's `TokenLength`).
const TOKEN_LENGTH: usize = 24;
/// Creation-order characters after the random ones, in new token ids and accessors.
const ORDER_LENGTH: usize = 11;
/// Locks striping per-token read-modify-write (use counts, renewals, revocation).
const LOCK_STRIPES: usize = 64;

#[derive(Debug, Serialize, Deserialize)]
struct AccessorEntry {
    token_id: SecretString,
    accessor_id: String,
    namespace_id: String,
}

/// What using a token once did to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UseOutcome {
    /// The token has unlimited uses, or uses left after this one.
    Usable,
    /// This was the token's last use: revoke it once the request is done.
    LastUse,
}

/// Creates, finds, renews and revokes tokens.
#[derive(Debug)]
pub struct TokenStore {
    view: BarrierView,
    salt: SecretString,
    /// The salt as an HMAC key, prepared once (it names every token on every request).
    salt_key: hmac::Key,
    batch: BatchCipher,
    locks: Vec<tokio::sync::Mutex<()>>,
    /// Decrypted records by salted id (see `cache`).
    cache: DecodedCache<TokenRecord>,
}

impl TokenStore {
    /// Opens the store under the barrier's `sys/`, creating its salt and batch key on first
    /// use.
    pub async fn open(barrier: Arc<Barrier>) -> Result<Self, CoreError> {
        let view = BarrierView::new(barrier, "sys/");
        let salt = match view.get("token/salt").await? {
            Some(entry) => String::from_utf8(entry.value)
                .map_err(|_| CoreError::internal("token store salt is not UTF-8"))?,
            None => {
                let salt = uuid::Uuid::new_v4().to_string();
                let entry = StorageEntry {
                    key: "token/salt".into(),
                    value: salt.clone().into(),
                };
                view.put(entry).await?;
                salt
            }
        };
        let key = match view.get("token/batch-key").await? {
            Some(entry) => Zeroizing::new(entry.value),
            None => {
                let mut key = Zeroizing::new(vec![0u8; 32]);
                crate::random::fill(&mut key);
                let entry = StorageEntry {
                    key: "token/batch-key".into(),
                    value: key.to_vec(),
                };
                view.put(entry).await?;
                key
            }
        };
        let locks = (0..LOCK_STRIPES)
            .map(|_| tokio::sync::Mutex::new(()))
            .collect();
        Ok(Self {
            view,
            salt_key: hmac::Key::new(hmac::HMAC_SHA256, salt.as_bytes()),
            salt: SecretString::new(salt),
            batch: BatchCipher::new(&key)?,
            locks,
            cache: DecodedCache::new(cache::CAPACITY),
        })
    }

    /// The storage name of a token id or accessor: its creation order (when it has one),
    /// then its salted hash.
    pub(crate) fn salt_id(&self, id: &str) -> String {
        let order = creation_order(id).unwrap_or("");
        if id.contains('.') {
            crate::random::prefixed_hex(
                &["h", order].concat(),
                hmac::sign(&self.salt_key, id.as_bytes()).as_ref(),
            )
        } else {
            let mut ctx = digest::Context::new(&digest::SHA1_FOR_LEGACY_USE_ONLY);
            ctx.update(self.salt.expose().as_bytes());
            ctx.update(id.as_bytes());
            crate::random::prefixed_hex(order, ctx.finish().as_ref())
        }
    }

    /// The lock guarding read-modify-write of one token.
    async fn lock(&self, salted: &str) -> tokio::sync::MutexGuard<'_, ()> {
        let stripe = salted
            .bytes()
            .fold(0usize, |acc, b| acc.wrapping_mul(31).wrapping_add(b.into()));
        self.locks[stripe % LOCK_STRIPES].lock().await
    }

    fn dyn_view(&self) -> &dyn StorageView {
        &self.view
    }

    /// The view the store writes in (the barrier's `sys/`).
    pub(crate) fn view(&self) -> &BarrierView {
        &self.view
    }

    /// How many service tokens are stored and how many entries the expiry index holds (for
    /// the usage gauges; index entries of renewed tokens count until the sweep drops them).
    pub(crate) async fn count_live(&self) -> Result<(usize, usize), CoreError> {
        let tokens = self.view.list("token/id/").await?.len();
        let mut leases = 0;
        for bucket in self.view.list("expire/time/").await? {
            leases += self
                .view
                .list(&format!("expire/time/{bucket}"))
                .await?
                .len();
        }
        Ok((tokens, leases))
    }

    /// Loads a stored record by salted id, whatever its state.
    pub(crate) async fn load_salted(&self, salted: &str) -> Result<Option<TokenRecord>, CoreError> {
        let ticket = match self.cache.get(salted) {
            Ok(cached) => return Ok(Some(TokenRecord::clone(&cached))),
            Err(ticket) => ticket,
        };
        let record: Option<TokenRecord> = self
            .dyn_view()
            .get_json(&format!("token/id/{salted}"))
            .await?;
        if let Some(record) = &record {
            self.cache.fill(ticket, salted, Arc::new(record.clone()));
        }
        Ok(record)
    }

    /// Loads a record by the id a client presented, whatever its state; batch tokens are
    /// decoded.
    pub(crate) async fn load(&self, id: &str) -> Result<Option<TokenRecord>, CoreError> {
        if id.is_empty() {
            return Ok(None);
        }
        if id.starts_with(BATCH_TOKEN_PREFIX) || id.starts_with("b.") {
            return Ok(self.batch.open(id).map(|mut record| {
                record.entry.id = SecretString::new(id);
                record
            }));
        }
        self.load_salted(&self.salt_id(id)).await
    }

    /// Finds a usable token: known, not expired, not being revoked.
    pub async fn lookup(&self, id: &str) -> Result<Option<TokenRecord>, CoreError> {
        let now = now_nanos();
        Ok(self
            .load(id)
            .await?
            .filter(|record| !record.revoking && !record.expired_at(now)))
    }

    /// Finds a usable token by its accessor.
    pub async fn lookup_accessor(&self, accessor: &str) -> Result<Option<TokenRecord>, CoreError> {
        match self.accessor_target(accessor).await? {
            Some(token_id) => self.lookup(token_id.expose()).await,
            None => Ok(None),
        }
    }

    /// The token id an accessor points to.
    pub(crate) async fn accessor_target(
        &self,
        accessor: &str,
    ) -> Result<Option<SecretString>, CoreError> {
        if accessor.is_empty() {
            return Ok(None);
        }
        let key = format!("token/accessor/{}", self.salt_id(accessor));
        let index: Option<AccessorEntry> = self.dyn_view().get_json(&key).await?;
        Ok(index.map(|index| index.token_id))
    }

    /// Every accessor of a stored token (`auth/token/accessors`).
    pub async fn accessors(&self) -> Result<Vec<String>, CoreError> {
        let mut accessors = Vec::new();
        for salted in self.view.list("token/accessor/").await? {
            let key = format!("token/accessor/{salted}");
            if let Some(index) = self.dyn_view().get_json::<AccessorEntry>(&key).await? {
                accessors.push(index.accessor_id);
            }
        }
        Ok(accessors)
    }

    /// Counts one use of a token with limited uses and persists the new count.
    pub async fn use_token(&self, record: &TokenRecord) -> Result<UseOutcome, CoreError> {
        if record.entry.num_uses <= 0 || record.entry.token_type == TokenType::Batch {
            return Ok(UseOutcome::Usable);
        }
        let salted = self.salt_id(record.entry.id.expose());
        let _guard = self.lock(&salted).await;
        let Some(mut current) = self.load_salted(&salted).await? else {
            return Err(CoreError::InvalidToken);
        };
        if current.revoking || current.entry.num_uses <= 0 {
            return Err(CoreError::InvalidToken);
        }
        current.entry.num_uses -= 1;
        let outcome = if current.entry.num_uses == 0 {
            // Unusable from now on; revoked after the request that used it.
            current.revoking = true;
            UseOutcome::LastUse
        } else {
            UseOutcome::Usable
        };
        self.put_record(&salted, &current).await?;
        Ok(outcome)
    }

    /// Stores a new expiry for a token after a renewal.
    pub async fn renew(
        &self,
        id: &str,
        ttl_secs: u64,
        now: UnixNanos,
    ) -> Result<TokenRecord, CoreError> {
        let salted = self.salt_id(id);
        let _guard = self.lock(&salted).await;
        let Some(mut record) = self.load_salted(&salted).await?.filter(|r| !r.revoking) else {
            return Err(CoreError::User("token not found".into()));
        };
        let old_index = record
            .lease
            .as_ref()
            .map(|lease| expiry_key(lease.expire_time, &salted));
        let Some(lease) = record.lease.as_mut() else {
            return Err(CoreError::User("lease is not renewable".into()));
        };
        let ttl_nanos = i64::try_from(ttl_secs)
            .unwrap_or(i64::MAX / 2)
            .saturating_mul(1_000_000_000);
        lease.expire_time = now.saturating_add(ttl_nanos);
        lease.last_renewal = Some(now);
        let new_index = expiry_key(lease.expire_time, &salted);
        let mut ops = vec![record_put(&salted, &record)?];
        if let Some(old) = old_index.filter(|old| *old != new_index) {
            ops.push(warden_logical::StorageOp::Delete(old));
        }
        ops.push(index_put(&new_index, &record)?);
        self.commit(ops).await?;
        Ok(record)
    }

    async fn put_record(&self, salted: &str, record: &TokenRecord) -> Result<(), CoreError> {
        self.commit(vec![record_put(salted, record)?]).await
    }

    /// The lease id of a token (`<creation path>/<salted id>`), as Vault reports it.
    pub fn lease_id(&self, record: &TokenRecord) -> String {
        format!(
            "{}/{}",
            record.entry.path,
            self.salt_id(record.entry.id.expose())
        )
    }
}

/// The creation-order characters ending a token id or accessor warden minted.
fn creation_order(id: &str) -> Option<&str> {
    let tail = id.rsplit('.').next().unwrap_or(id);
    (tail.len() == TOKEN_LENGTH + ORDER_LENGTH && tail.bytes().all(|b| b.is_ascii_alphanumeric()))
        .then(|| &tail[TOKEN_LENGTH..])
}

/// New random id characters followed by the creation order of `now`.
fn ordered_random(now: UnixNanos) -> String {
    let order = u64::try_from(now).unwrap_or_default();
    let mut id = crate::random::random_base62(TOKEN_LENGTH);
    id.push_str(&crate::random::base62_ordered(order, ORDER_LENGTH));
    id
}

const NANOS_PER_MINUTE: UnixNanos = 60 * 1_000_000_000;

/// The expiry-index key of a token expiring at `expire_time`: minute buckets, and within a
/// bucket the nanosecond of expiry, zero-padded so that lexical order is time order (tokens
/// minted together land next to each other).
pub(crate) fn expiry_key(expire_time: UnixNanos, salted: &str) -> String {
    let at = expire_time.max(0);
    let (minute, within) = (at / NANOS_PER_MINUTE, at % NANOS_PER_MINUTE);
    format!("expire/time/{minute:012}/{within:011}.{salted}")
}

/// The salted id an expiry-index entry names, and whether the entry has the layout before
/// the nanosecond (`<minute>/<salted id>`), which the sweep rewrites.
pub(crate) fn expiry_entry_token(name: &str) -> (&str, bool) {
    match name.split_once('.') {
        Some((_, salted)) => (salted, false),
        None => (name, true),
    }
}

fn record_put(salted: &str, record: &TokenRecord) -> Result<warden_logical::StorageOp, CoreError> {
    Ok(warden_logical::StorageOp::Put(StorageEntry::json(
        format!("token/id/{salted}"),
        record,
    )?))
}

fn index_put(key: &str, record: &TokenRecord) -> Result<warden_logical::StorageOp, CoreError> {
    let value = record.entry.path.clone().into_bytes();
    Ok(warden_logical::StorageOp::Put(StorageEntry {
        key: key.to_owned(),
        value,
    }))
}

impl TokenStore {
    /// Every stored token with a lease whose lease id starts with `prefix`, as
    /// `(salted id, creation path)`. Reads every token record: an operator call, not a hot
    /// path.
    pub(crate) async fn leases_with_prefix(
        &self,
        prefix: &str,
    ) -> Result<Vec<(String, String)>, CoreError> {
        let mut found = Vec::new();
        for salted in self.view.list("token/id/").await? {
            let Some(record) = self.load_salted(&salted).await? else {
                continue;
            };
            if record.lease.is_none() || record.revoking {
                continue;
            }
            if format!("{}/{salted}", record.entry.path).starts_with(prefix) {
                found.push((salted, record.entry.path));
            }
        }
        Ok(found)
    }
}
