//! The token store: token entries behind the barrier under a salted hash of their id.
//!
//! Layout (Vault's, under the `sys/token/` view): `salt` (a random UUID made on first use),
//! `id/<salted id>` (the entry), `accessor/<salted accessor>` (`{token_id, accessor_id,
//! namespace_id}`). A token id with no `.` is hashed as `hex(SHA1(salt + id))`, any other
//! (every `hvs.` token) as `"h" + hex(HMAC-SHA256(salt, id))`.

use std::time::{SystemTime, UNIX_EPOCH};

use aws_lc_rs::{digest, hmac};
use serde::{Deserialize, Serialize};
use warden_logical::{SecretString, StorageOp, StorageView, TokenEntry, TokenType};

use crate::CoreError;
use crate::random::random_base62;
use crate::view::BarrierView;

/// The prefix of every service token warden issues.
pub const SERVICE_TOKEN_PREFIX: &str = "hvs.";
/// Random characters after the prefix (Vault's `TokenLength`).
const TOKEN_LENGTH: usize = 24;

#[derive(Debug, Serialize, Deserialize)]
struct AccessorEntry {
    token_id: SecretString,
    accessor_id: String,
    namespace_id: String,
}

/// Creates, finds and revokes tokens.
#[derive(Debug)]
pub struct TokenStore {
    view: BarrierView,
    salt: SecretString,
}

impl TokenStore {
    /// Opens the store in `view` (the barrier's `sys/token/`), creating its salt on first use.
    pub async fn open(view: BarrierView) -> Result<Self, CoreError> {
        let salt = match view.get("salt").await? {
            Some(entry) => String::from_utf8(entry.value)
                .map_err(|_| CoreError::internal("token store salt is not UTF-8"))?,
            None => {
                let salt = uuid::Uuid::new_v4().to_string();
                view.put(warden_logical::StorageEntry {
                    key: "salt".into(),
                    value: salt.clone().into_bytes(),
                })
                .await?;
                salt
            }
        };
        Ok(Self {
            view,
            salt: SecretString::new(salt),
        })
    }

    /// The storage name of a token id or accessor.
    fn salt_id(&self, id: &str) -> String {
        if id.contains('.') {
            let key = hmac::Key::new(hmac::HMAC_SHA256, self.salt.expose().as_bytes());
            format!("h{}", hex::encode(hmac::sign(&key, id.as_bytes())))
        } else {
            let mut ctx = digest::Context::new(&digest::SHA1_FOR_LEGACY_USE_ONLY);
            ctx.update(self.salt.expose().as_bytes());
            ctx.update(id.as_bytes());
            hex::encode(ctx.finish())
        }
    }

    /// Mints and stores a root token: `policies = ["root"]`, no TTL, orphan. `id` chooses the
    /// token (dev mode's `-dev-root-token-id`); otherwise a random `hvs.` token is made.
    pub async fn create_root(&self, id: Option<&str>) -> Result<TokenEntry, CoreError> {
        let id = match id {
            Some(id) => {
                if id.starts_with(SERVICE_TOKEN_PREFIX) || id.starts_with("s.") {
                    let prefix = if id.starts_with("s.") {
                        "s."
                    } else {
                        SERVICE_TOKEN_PREFIX
                    };
                    return Err(CoreError::User(format!(
                        "custom token ID cannot have the '{prefix}' prefix"
                    )));
                }
                if id.contains('.') {
                    return Err(CoreError::User(
                        "custom token ID cannot have a '.' in the value".into(),
                    ));
                }
                if self.lookup(id).await?.is_some() {
                    return Err(CoreError::User(
                        "cannot create a token with a duplicate ID".into(),
                    ));
                }
                id.to_owned()
            }
            None => format!("{SERVICE_TOKEN_PREFIX}{}", random_base62(TOKEN_LENGTH)),
        };
        let entry = TokenEntry {
            token_type: TokenType::Service,
            id: SecretString::new(id),
            accessor: random_base62(TOKEN_LENGTH),
            policies: vec!["root".into()],
            path: "auth/token/root".into(),
            display_name: "root".into(),
            creation_time: unix_now(),
            namespace_id: "root".into(),
            ..TokenEntry::default()
        };
        self.store(&entry).await?;
        Ok(entry)
    }

    /// Writes a token and its accessor index in one transaction.
    async fn store(&self, entry: &TokenEntry) -> Result<(), CoreError> {
        let accessor = AccessorEntry {
            token_id: entry.id.clone(),
            accessor_id: entry.accessor.clone(),
            namespace_id: entry.namespace_id.clone(),
        };
        let ops = vec![
            StorageOp::Put(warden_logical::StorageEntry::json(
                format!("id/{}", self.salt_id(entry.id.expose())),
                entry,
            )?),
            StorageOp::Put(warden_logical::StorageEntry::json(
                format!("accessor/{}", self.salt_id(&entry.accessor)),
                &accessor,
            )?),
        ];
        self.view.transaction(ops).await?;
        Ok(())
    }

    /// Finds a token by the id a client presented.
    pub async fn lookup(&self, id: &str) -> Result<Option<TokenEntry>, CoreError> {
        if id.is_empty() {
            return Ok(None);
        }
        let key = format!("id/{}", self.salt_id(id));
        let view: &dyn StorageView = &self.view;
        Ok(view.get_json(&key).await?)
    }

    /// Finds a token by its accessor.
    pub async fn lookup_accessor(&self, accessor: &str) -> Result<Option<TokenEntry>, CoreError> {
        let key = format!("accessor/{}", self.salt_id(accessor));
        let view: &dyn StorageView = &self.view;
        let Some(index) = view.get_json::<AccessorEntry>(&key).await? else {
            return Ok(None);
        };
        self.lookup(index.token_id.expose()).await
    }

    /// Deletes a token and its accessor index; a missing token is not an error.
    pub async fn revoke(&self, id: &str) -> Result<(), CoreError> {
        let Some(entry) = self.lookup(id).await? else {
            return Ok(());
        };
        let ops = vec![
            StorageOp::Delete(format!("id/{}", self.salt_id(entry.id.expose()))),
            StorageOp::Delete(format!("accessor/{}", self.salt_id(&entry.accessor))),
        ];
        self.view.transaction(ops).await?;
        Ok(())
    }
}

/// Seconds since the Unix epoch.
pub(crate) fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| i64::try_from(elapsed.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}
