//! The policy store (Vault's `vault/policy_store.go`): policies behind the barrier under
//! `sys/policy/<name>`, parsed once and cached until they change, plus the built-in policies.
//!
//! - `default` is created at unseal when missing; it may be edited but not deleted.
//! - `root` is synthesized: it cannot be written or deleted, and an ACL holding it is the
//!   root ACL.
//! - `response-wrapping` is synthesized too (Vault stores it, with the same effect): it
//!   cannot be written or deleted and is hidden from listings.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};

use serde::{Deserialize, Serialize};
use warden_logical::{StorageEntry, StorageView};

use super::template::TemplateContext;
use super::{Acl, Policy};
use crate::CoreError;
use crate::view::BarrierView;

/// The `default` policy, Vault's current text. It includes `sys/control-group/request`,
/// which Vault's default carries and OpenBao's dropped: warden has no control groups, so the
/// path is inert, and keeping it makes `vault policy read default` match Vault's output.
pub const DEFAULT_POLICY: &str = r#"
# Allow tokens to look up their own properties
path "auth/token/lookup-self" {
    capabilities = ["read"]
}

# Allow tokens to renew themselves
path "auth/token/renew-self" {
    capabilities = ["update"]
}

# Allow tokens to revoke themselves
path "auth/token/revoke-self" {
    capabilities = ["update"]
}

# Allow a token to look up its own capabilities on a path
path "sys/capabilities-self" {
    capabilities = ["update"]
}

# Allow a token to look up its own entity by id or name
path "identity/entity/id/{{identity.entity.id}}" {
  capabilities = ["read"]
}
path "identity/entity/name/{{identity.entity.name}}" {
  capabilities = ["read"]
}


# Allow a token to look up its resultant ACL from all policies. This is useful
# for UIs. It is an internal path because the format may change at any time
# based on how the internal ACL features and capabilities change.
path "sys/internal/ui/resultant-acl" {
    capabilities = ["read"]
}

# Allow a token to renew a lease via lease_id in the request body; old path for
# old clients, new path for newer
path "sys/leases/renew" {
    capabilities = ["update"]
}

# Allow looking up lease properties. This requires knowing the lease ID ahead
# of time and does not divulge any sensitive information.
path "sys/leases/lookup" {
    capabilities = ["update"]
}

# Allow a token to manage its own cubbyhole
path "cubbyhole/*" {
    capabilities = ["create", "read", "update", "delete", "list"]
}

# Allow a token to wrap arbitrary values in a response-wrapping token
path "sys/wrapping/wrap" {
    capabilities = ["update"]
}

# Allow a token to look up the creation time and TTL of a given
# response-wrapping token
path "sys/wrapping/lookup" {
    capabilities = ["update"]
}

# Allow a token to unwrap a response-wrapping token. This is a convenience to
# avoid client token swapping since this is also part of the response wrapping
# policy.
path "sys/wrapping/unwrap" {
    capabilities = ["update"]
}

# Allow general purpose tools
path "sys/tools/hash" {
    capabilities = ["update"]
}
path "sys/tools/hash/*" {
    capabilities = ["update"]
}

# Allow checking the status of a Control Group request if the user has the
# accessor
path "sys/control-group/request" {
    capabilities = ["update"]
}

# Allow a token to make requests to the Authorization Endpoint for OIDC providers.
path "identity/oidc/provider/+/authorize" {
    capabilities = ["read", "update"]
}
"#;

/// The `response-wrapping` policy: what a response-wrapping token may do.
pub const RESPONSE_WRAPPING_POLICY: &str = r#"
path "cubbyhole/response" {
    capabilities = ["create", "read"]
}

path "sys/wrapping/unwrap" {
    capabilities = ["update"]
}
"#;

const DEFAULT: &str = "default";
const ROOT: &str = "root";
const RESPONSE_WRAPPING: &str = "response-wrapping";
const ACL_CACHE_LIMIT: usize = 4096;

/// What is stored per policy.
#[derive(Debug, Serialize, Deserialize)]
struct PolicyEntry {
    /// Incremented on each write.
    version: u64,
    name: String,
    raw: String,
}

/// Stores ACL policies behind the barrier.
#[derive(Debug)]
pub struct PolicyStore {
    view: BarrierView,
    cache: RwLock<HashMap<String, Arc<Policy>>>,
    /// Compiled ACLs of untemplated policy sets, keyed by the sorted names.
    acls: RwLock<HashMap<Vec<String>, Acl>>,
    write_lock: tokio::sync::Mutex<()>,
}

/// Vault's `sanitizeName`.
fn sanitize(name: &str) -> String {
    name.trim().to_lowercase()
}

impl PolicyStore {
    /// A store over `view` (the barrier's `sys/policy/`).
    pub fn new(view: BarrierView) -> Self {
        Self {
            view,
            cache: RwLock::new(HashMap::new()),
            acls: RwLock::new(HashMap::new()),
            write_lock: tokio::sync::Mutex::new(()),
        }
    }

    fn storage(&self) -> &dyn StorageView {
        &self.view
    }

    /// Runs at every unseal: creates the `default` policy if it is missing.
    pub async fn setup(&self) -> Result<(), CoreError> {
        if self.get(DEFAULT).await?.is_none() {
            self.store(DEFAULT, DEFAULT_POLICY).await?;
        }
        Ok(())
    }

    /// The policy `name` (case-insensitive), or `None`.
    pub async fn get(&self, name: &str) -> Result<Option<Arc<Policy>>, CoreError> {
        let name = sanitize(name);
        if let Some(policy) = self.cached(&name) {
            return Ok(Some(policy));
        }
        let policy = match name.as_str() {
            ROOT => Policy {
                name: ROOT.to_owned(),
                raw: String::new(),
                rules: Vec::new(),
                templated: false,
            },
            RESPONSE_WRAPPING => Policy::parse(RESPONSE_WRAPPING, RESPONSE_WRAPPING_POLICY)
                .map_err(|err| CoreError::internal(err.0))?,
            _ => {
                let Some(entry) = self.storage().get_json::<PolicyEntry>(&name).await? else {
                    return Ok(None);
                };
                Policy::parse(&name, &entry.raw)
                    .map_err(|err| CoreError::internal(format!("error decoding policy: {err}")))?
            }
        };
        let policy = Arc::new(policy);
        self.cache
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(name, Arc::clone(&policy));
        Ok(Some(policy))
    }

    fn cached(&self, name: &str) -> Option<Arc<Policy>> {
        self.cache
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(name)
            .cloned()
    }

    /// Parses and stores `raw` as the policy `name` (lower-cased), returning the parsed policy.
    /// `root` and `response-wrapping` cannot be written.
    pub async fn set(&self, name: &str, raw: &str) -> Result<Arc<Policy>, CoreError> {
        let name = sanitize(name);
        if name.is_empty() {
            return Err(CoreError::User("policy name missing".to_owned()));
        }
        Policy::parse(&name, raw).map_err(|err| CoreError::User(err.0))?;
        if name == ROOT || name == RESPONSE_WRAPPING {
            return Err(CoreError::User(format!("cannot update {name:?} policy")));
        }
        self.store(&name, raw).await
    }

    async fn store(&self, name: &str, raw: &str) -> Result<Arc<Policy>, CoreError> {
        let policy = Arc::new(Policy::parse(name, raw).map_err(|err| CoreError::User(err.0))?);
        let _guard = self.write_lock.lock().await;
        let version = self
            .storage()
            .get_json::<PolicyEntry>(name)
            .await?
            .map_or(0, |entry| entry.version);
        let entry = PolicyEntry {
            version: version + 1,
            name: name.to_owned(),
            raw: raw.to_owned(),
        };
        self.storage()
            .put(StorageEntry::json(name, &entry)?)
            .await?;
        self.cache
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(name.to_owned(), Arc::clone(&policy));
        self.invalidate_acls();
        Ok(policy)
    }

    /// Deletes the policy `name`; a missing policy is not an error. `root`,
    /// `response-wrapping` and `default` cannot be deleted.
    pub async fn delete(&self, name: &str) -> Result<(), CoreError> {
        let name = sanitize(name);
        if name == ROOT || name == RESPONSE_WRAPPING {
            return Err(CoreError::User(format!("cannot delete {name:?} policy")));
        }
        if name == DEFAULT {
            return Err(CoreError::User("cannot delete default policy".to_owned()));
        }
        let _guard = self.write_lock.lock().await;
        self.storage().delete(&name).await?;
        self.cache
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&name);
        self.invalidate_acls();
        Ok(())
    }

    /// The names of the stored policies, sorted, without `root` and without the
    /// non-assignable `response-wrapping`.
    pub async fn list(&self) -> Result<Vec<String>, CoreError> {
        let mut names = Vec::new();
        let mut pending = vec![String::new()];
        while let Some(folder) = pending.pop() {
            for key in self.storage().list(&folder).await? {
                let full = format!("{folder}{key}");
                if full.ends_with('/') {
                    pending.push(full);
                } else if full != RESPONSE_WRAPPING {
                    names.push(full);
                }
            }
        }
        names.sort();
        Ok(names)
    }

    /// The ACL of the named policies (missing ones are skipped), rendered for `ctx` when some
    /// are templated. ACLs of untemplated sets are cached until a policy changes.
    pub async fn acl(
        &self,
        names: &[String],
        ctx: Option<&TemplateContext>,
    ) -> Result<Acl, CoreError> {
        let mut key: Vec<String> = names.iter().map(|n| sanitize(n)).collect();
        key.sort();
        key.dedup();
        // Templated policies render differently per entity, so the rendering context is part
        // of the key (its Debug form covers every field that templates can read).
        if let Some(ctx) = ctx {
            key.push(format!("\u{0}ctx:{ctx:?}"));
        }
        if let Some(acl) = self
            .acls
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&key)
        {
            return Ok(acl.clone());
        }
        let mut policies = Vec::with_capacity(names.len());
        for name in names {
            if let Some(policy) = self.get(name).await? {
                policies.push(policy);
            }
        }
        let acl = Acl::new(&policies, ctx)
            .map_err(|err| CoreError::internal(format!("failed to construct ACL: {err}")))?;
        let mut acls = self.acls.write().unwrap_or_else(PoisonError::into_inner);
        if acls.len() >= ACL_CACHE_LIMIT {
            acls.clear();
        }
        acls.insert(key, acl.clone());
        Ok(acl)
    }

    fn invalidate_acls(&self) {
        self.acls
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn store() -> PolicyStore {
        let barrier = crate::barrier::unsealed_in_memory().await;
        PolicyStore::new(BarrierView::new(barrier, "sys/policy/"))
    }

    #[tokio::test]
    async fn setup_creates_default_once() {
        let store = store().await;
        store.setup().await.unwrap();
        let default = store.get("default").await.unwrap().unwrap();
        assert_eq!(default.raw, DEFAULT_POLICY);
        assert!(default.templated);
        store
            .set("default", "path \"x\" { capabilities = [\"read\"] }")
            .await
            .unwrap();
        store.setup().await.unwrap();
        assert_eq!(
            store.get("DEFAULT").await.unwrap().unwrap().rules[0].path,
            "x"
        );
        assert_eq!(store.list().await.unwrap(), ["default"]);
    }

    #[tokio::test]
    async fn builtins_are_protected() {
        let store = store().await;
        store.setup().await.unwrap();
        let ok = "path \"x\" { capabilities = [\"read\"] }";
        let err = |e: CoreError| e.to_string();
        assert_eq!(
            err(store.set("root", ok).await.unwrap_err()),
            "cannot update \"root\" policy"
        );
        assert_eq!(
            err(store.set("Response-Wrapping", ok).await.unwrap_err()),
            "cannot update \"response-wrapping\" policy"
        );
        assert_eq!(
            err(store.delete("root").await.unwrap_err()),
            "cannot delete \"root\" policy"
        );
        assert_eq!(
            err(store.delete("default").await.unwrap_err()),
            "cannot delete default policy"
        );
        assert_eq!(
            err(store.delete("response-wrapping").await.unwrap_err()),
            "cannot delete \"response-wrapping\" policy"
        );
        assert!(store.get("root").await.unwrap().unwrap().raw.is_empty());
        let rw = store.get("response-wrapping").await.unwrap().unwrap();
        assert_eq!(rw.rules.len(), 2);
        assert!(
            !store
                .list()
                .await
                .unwrap()
                .contains(&"response-wrapping".to_owned())
        );
    }

    #[tokio::test]
    async fn set_get_delete_and_acl_cache() {
        let store = store().await;
        store.setup().await.unwrap();
        assert!(
            store
                .set("Bad", "path \"x\" { capabilities = [\"fly\"] }")
                .await
                .is_err()
        );
        store
            .set("App", "path \"secret/*\" { capabilities = [\"read\"] }")
            .await
            .unwrap();
        store
            .set("team/a", "path \"a\" { capabilities = [\"read\"] }")
            .await
            .unwrap();
        assert_eq!(store.list().await.unwrap(), ["app", "default", "team/a"]);
        let names = vec!["app".to_owned(), "missing".to_owned()];
        let acl = store.acl(&names, None).await.unwrap();
        assert!(
            acl.allow_operation(warden_logical::Operation::Read, "secret/x", None, None)
                .allowed
        );
        store
            .set("app", "path \"other\" { capabilities = [\"read\"] }")
            .await
            .unwrap();
        let acl = store.acl(&names, None).await.unwrap();
        assert!(
            !acl.allow_operation(warden_logical::Operation::Read, "secret/x", None, None)
                .allowed
        );
        store.delete("app").await.unwrap();
        assert!(store.get("app").await.unwrap().is_none());
        store.delete("app").await.unwrap();
        let root = store.acl(&["root".to_owned()], None).await.unwrap();
        assert!(root.is_root());
        let mixed = store
            .acl(&["root".to_owned(), "default".to_owned()], None)
            .await;
        assert_eq!(
            mixed.unwrap_err().to_string(),
            "failed to construct ACL: other policies present along with root"
        );
    }
}
