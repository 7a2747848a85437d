//! Minting tokens.

use std::collections::BTreeMap;

use serde::Serialize;
use warden_logical::{SecretString, StorageEntry, StorageOp, TokenEntry, TokenType};

use super::record::{TokenLease, TokenRecord, UnixNanos, now_nanos};
use super::{
    AccessorEntry, SERVICE_TOKEN_PREFIX, TOKEN_LENGTH, TokenStore, expiry_key, index_put,
    ordered_random, record_put,
};
use crate::CoreError;
use crate::random::random_base62;

/// Everything that decides a new token. TTLs are already computed by the caller (Vault's
/// `CalculateTTL`); a zero `ttl` means the token never expires.
#[derive(Debug, Clone, Default)]
pub struct NewToken {
    /// `service` or `batch`.
    pub token_type: TokenType,
    /// A caller-chosen id (sudo only); otherwise a random `hvs.` token.
    pub id: Option<String>,
    /// Policies, already sanitized.
    pub policies: Vec<String>,
    /// The parent token, or `None` for an orphan.
    pub parent: Option<TokenEntry>,
    /// The path that created it.
    pub path: String,
    /// Shown in lookups.
    pub meta: BTreeMap<String, String>,
    /// Kept for the core and the backend, never shown.
    pub internal_meta: BTreeMap<String, String>,
    /// The display name.
    pub display_name: String,
    /// Uses allowed; 0 is unlimited.
    pub num_uses: i64,
    /// The TTL in seconds; 0 for tokens that never expire.
    pub ttl: u64,
    /// The hard cap on the token's life in seconds; 0 for none.
    pub explicit_max_ttl: u64,
    /// The period of a periodic token in seconds.
    pub period: u64,
    /// Whether the token may be renewed.
    pub renewable: bool,
    /// The TTL the backend asked for, kept for renewals.
    pub backend_ttl: u64,
    /// The backend's maximum TTL, kept for renewals.
    pub backend_max_ttl: u64,
    /// The entity the token belongs to.
    pub entity_id: String,
    /// CIDRs the token may be used from.
    pub bound_cidrs: Vec<String>,
    /// When true, entity and group policies do not apply.
    pub no_identity_policies: bool,
    /// The token role used, if any.
    pub role: String,
}

fn json_put(key: String, value: &impl Serialize) -> Result<StorageOp, CoreError> {
    Ok(StorageOp::Put(StorageEntry::json(key, value)?))
}

impl TokenStore {
    /// Mints and stores a token. Service tokens are written with their accessor, parent link
    /// and expiry-index entry in one transaction; batch tokens are sealed and written nowhere.
    pub async fn create(&self, new: NewToken) -> Result<TokenRecord, CoreError> {
        let now = now_nanos();
        let lease = (new.ttl > 0).then(|| TokenLease {
            issue_time: now,
            expire_time: now.saturating_add(
                i64::try_from(new.ttl)
                    .unwrap_or(i64::MAX / 2)
                    .saturating_mul(1_000_000_000),
            ),
            last_renewal: None,
            renewable: new.renewable,
            backend_ttl: new.backend_ttl,
            backend_max_ttl: new.backend_max_ttl,
        });
        let mut entry = TokenEntry {
            token_type: new.token_type,
            id: SecretString::new(""),
            accessor: String::new(),
            parent: new
                .parent
                .as_ref()
                .map(|p| p.id.clone())
                .unwrap_or_default(),
            policies: new.policies,
            path: new.path,
            meta: new.meta,
            internal_meta: new.internal_meta,
            display_name: new.display_name,
            num_uses: new.num_uses,
            creation_time: now / 1_000_000_000,
            ttl: new.ttl,
            explicit_max_ttl: new.explicit_max_ttl,
            role: new.role,
            period: new.period,
            entity_id: new.entity_id,
            no_identity_policies: new.no_identity_policies,
            bound_cidrs: new.bound_cidrs,
            namespace_id: "root".into(),
            cubbyhole_id: String::new(),
        };
        if entry.token_type == TokenType::Batch {
            let record = TokenRecord {
                entry,
                lease,
                revoking: false,
            };
            let token = self.batch.seal(&record)?;
            let mut record = record;
            record.entry.id = SecretString::new(token);
            metrics::counter!("warden_tokens_created_total", "token_type" => "batch").increment(1);
            return Ok(record);
        }
        entry.token_type = TokenType::Service;
        entry.id = SecretString::new(self.new_id(new.id.as_deref(), now).await?);
        entry.accessor = ordered_random(now);
        entry.cubbyhole_id = random_base62(TOKEN_LENGTH);
        let record = TokenRecord {
            entry,
            lease,
            revoking: false,
        };
        let salted = self.salt_id(record.entry.id.expose());
        let mut ops = vec![
            record_put(&salted, &record)?,
            json_put(
                format!("token/accessor/{}", self.salt_id(&record.entry.accessor)),
                &AccessorEntry {
                    token_id: record.entry.id.clone(),
                    accessor_id: record.entry.accessor.clone(),
                    namespace_id: record.entry.namespace_id.clone(),
                },
            )?,
        ];
        if !record.entry.parent.is_empty() {
            let parent = self.salt_id(record.entry.parent.expose());
            ops.push(StorageOp::Put(StorageEntry {
                key: format!("token/parent/{parent}/{salted}"),
                value: Vec::new(),
            }));
        }
        if let Some(lease) = &record.lease {
            ops.push(index_put(&expiry_key(lease.expire_time, &salted), &record)?);
        }
        self.commit(ops).await?;
        metrics::counter!("warden_tokens_created_total", "token_type" => "service").increment(1);
        Ok(record)
    }

    async fn new_id(&self, custom: Option<&str>, now: UnixNanos) -> Result<String, CoreError> {
        let Some(id) = custom else {
            return Ok([SERVICE_TOKEN_PREFIX, &ordered_random(now)].concat());
        };
        if id.starts_with(SERVICE_TOKEN_PREFIX) {
            return Err(CoreError::User(
                "custom token ID cannot have the 'hvs.' prefix".into(),
            ));
        }
        if id.starts_with("s.") {
            return Err(CoreError::User(
                "custom token ID cannot have the 's.' prefix".into(),
            ));
        }
        if id.contains('.') {
            return Err(CoreError::User(
                "custom token ID cannot have a '.' in the value".into(),
            ));
        }
        if self.load(id).await?.is_some() {
            return Err(CoreError::User(
                "cannot create a token with a duplicate ID".into(),
            ));
        }
        Ok(id.to_owned())
    }

    /// Mints and stores a root token: `policies = ["root"]`, no TTL, orphan. `id` chooses
    /// the token (dev mode's `-dev-root-token-id`).
    pub async fn create_root(&self, id: Option<&str>) -> Result<TokenRecord, CoreError> {
        self.create(NewToken {
            token_type: TokenType::Service,
            id: id.map(str::to_owned),
            policies: vec!["root".into()],
            path: "auth/token/root".into(),
            display_name: "root".into(),
            ..NewToken::default()
        })
        .await
    }
}
