//! The mount tables: which backend serves which path, and with which settings.
//!
//! Two tables exist, as in Vault: secrets engines (`core/mounts`) and auth methods
//! (`core/auth`). Both live behind the barrier as JSON. An auth entry's `path` is relative
//! to `auth/` (`kubernetes/`), a secrets entry's is the full mount path (`secret/`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::CoreError;
use crate::barrier::Barrier;
use crate::random::random_hex;

/// Barrier key of the secrets-engine table.
pub(crate) const MOUNTS_KEY: &str = "core/mounts";
/// Barrier key of the auth-method table.
pub(crate) const AUTH_KEY: &str = "core/auth";

/// Which table an entry belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum MountTable {
    /// Secrets engines, mounted at the top level.
    #[serde(rename = "mounts")]
    Secrets,
    /// Auth methods, mounted under `auth/`.
    #[serde(rename = "auth")]
    Auth,
}

impl MountTable {
    /// The barrier key the table is stored under.
    pub(crate) fn storage_key(self) -> &'static str {
        match self {
            Self::Secrets => MOUNTS_KEY,
            Self::Auth => AUTH_KEY,
        }
    }

    /// The prefix of the routed path (`auth/` for auth methods).
    pub fn route_prefix(self) -> &'static str {
        match self {
            Self::Secrets => "",
            Self::Auth => "auth/",
        }
    }

    /// The barrier prefix under which each mount of the table keeps its storage.
    pub(crate) fn storage_prefix(self) -> &'static str {
        match self {
            Self::Secrets => "logical/",
            Self::Auth => "auth/",
        }
    }
}

/// Per-mount settings that `sys/mounts/<path>/tune` and `sys/auth/<path>/tune` change.
/// TTLs are whole seconds; 0 means "use the system value".
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct MountConfig {
    /// The mount's default lease TTL.
    pub default_lease_ttl: u64,
    /// The mount's maximum lease TTL.
    pub max_lease_ttl: u64,
    /// Kept for compatibility; warden has no response cache.
    pub force_no_cache: bool,
    /// Auth mounts only: `default-service`, `default-batch`, `service` or `batch`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub token_type: String,
    /// Request keys the audit log must not HMAC.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub audit_non_hmac_request_keys: Vec<String>,
    /// Response keys the audit log must not HMAC.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub audit_non_hmac_response_keys: Vec<String>,
    /// `unauth` to list the mount for unauthenticated UI callers, or empty.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub listing_visibility: String,
    /// Request headers passed through to the backend.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub passthrough_request_headers: Vec<String>,
    /// Response headers the backend may set.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub allowed_response_headers: Vec<String>,
}

/// One mounted secrets engine or auth method.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MountEntry {
    /// The table the entry lives in.
    pub table: MountTable,
    /// The mount path with its trailing slash, relative to `auth/` for auth methods.
    pub path: String,
    /// The backend type (`kv`, `kubernetes`, `token`, `system`).
    #[serde(rename = "type")]
    pub mount_type: String,
    /// Free text shown in listings.
    #[serde(default)]
    pub description: String,
    /// A UUID; names the mount's storage.
    pub uuid: String,
    /// The accessor (`kv_1a2b3c4d`, `auth_kubernetes_1a2b3c4d`).
    pub accessor: String,
    /// Tunable settings.
    #[serde(default)]
    pub config: MountConfig,
    /// Backend options (`version = "2"` for KV).
    #[serde(default)]
    pub options: BTreeMap<String, String>,
    /// Whether the mount is local to this cluster (kept for compatibility).
    #[serde(default)]
    pub local: bool,
    /// Whether seal wrapping was asked for (kept for compatibility).
    #[serde(default)]
    pub seal_wrap: bool,
    /// Whether the backend may read the seal's entropy source (kept for compatibility).
    #[serde(default)]
    pub external_entropy_access: bool,
}

impl MountEntry {
    /// A new entry with a fresh UUID and accessor.
    pub fn new(table: MountTable, path: &str, mount_type: &str) -> Self {
        let accessor_prefix = match table {
            MountTable::Secrets => mount_type.to_owned(),
            MountTable::Auth => format!("auth_{mount_type}"),
        };
        Self {
            table,
            path: with_trailing_slash(path),
            mount_type: mount_type.to_owned(),
            description: String::new(),
            uuid: uuid::Uuid::new_v4().to_string(),
            accessor: format!("{accessor_prefix}_{}", random_hex(4)),
            config: MountConfig::default(),
            options: BTreeMap::new(),
            local: false,
            seal_wrap: false,
            external_entropy_access: false,
        }
    }

    /// The full routed path (`secret/`, `auth/kubernetes/`).
    pub fn route_path(&self) -> String {
        format!("{}{}", self.table.route_prefix(), self.path)
    }

    /// The barrier prefix of the mount's private storage.
    pub(crate) fn storage_prefix(&self) -> String {
        if self.mount_type == "system" {
            return "sys/".to_owned();
        }
        format!("{}{}/", self.table.storage_prefix(), self.uuid)
    }

    /// The `mountInfo` object of `sys/mounts`, `sys/auth` and `sys/internal/ui/mounts`.
    pub fn info(&self) -> Value {
        let mut config = json!({
            "default_lease_ttl": self.config.default_lease_ttl,
            "max_lease_ttl": self.config.max_lease_ttl,
            "force_no_cache": self.config.force_no_cache,
        });
        if let Some(config) = config.as_object_mut() {
            if self.table == MountTable::Auth {
                let token_type = match self.config.token_type.as_str() {
                    "" => "default-service",
                    other => other,
                };
                config.insert("token_type".into(), json!(token_type));
            }
            let lists = [
                (
                    "audit_non_hmac_request_keys",
                    &self.config.audit_non_hmac_request_keys,
                ),
                (
                    "audit_non_hmac_response_keys",
                    &self.config.audit_non_hmac_response_keys,
                ),
                (
                    "passthrough_request_headers",
                    &self.config.passthrough_request_headers,
                ),
                (
                    "allowed_response_headers",
                    &self.config.allowed_response_headers,
                ),
            ];
            for (name, values) in lists {
                if !values.is_empty() {
                    config.insert(name.into(), json!(values));
                }
            }
            if !self.config.listing_visibility.is_empty() {
                config.insert(
                    "listing_visibility".into(),
                    json!(self.config.listing_visibility),
                );
            }
        }
        let options = if self.options.is_empty() {
            Value::Null
        } else {
            json!(self.options)
        };
        json!({
            "accessor": self.accessor,
            "config": config,
            "deprecation_status": "supported",
            "description": self.description,
            "external_entropy_access": self.external_entropy_access,
            "local": self.local,
            "options": options,
            "plugin_version": "",
            "running_plugin_version": format!("v{}+builtin.warden", env!("CARGO_PKG_VERSION")),
            "running_sha256": "",
            "seal_wrap": self.seal_wrap,
            "type": self.mount_type,
            "uuid": self.uuid,
        })
    }
}

/// Vault's `sanitizePath`: no leading slash, exactly one trailing slash.
pub(crate) fn sanitize_path(path: &str) -> String {
    with_trailing_slash(path.trim_start_matches('/'))
}

/// Appends `/` unless the path already ends in one.
pub(crate) fn with_trailing_slash(path: &str) -> String {
    if path.ends_with('/') {
        path.to_owned()
    } else {
        format!("{path}/")
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct StoredTable {
    #[serde(rename = "type")]
    table: MountTable,
    entries: Vec<MountEntry>,
}

/// Reads a table from the barrier; `None` when it was never written.
pub(crate) async fn load_table(
    barrier: &Barrier,
    table: MountTable,
) -> Result<Option<Vec<MountEntry>>, CoreError> {
    let Some(bytes) = barrier.get(table.storage_key()).await? else {
        return Ok(None);
    };
    let stored: StoredTable = serde_json::from_slice(&bytes)
        .map_err(|err| CoreError::internal(format!("failed to decode mount table: {err}")))?;
    Ok(Some(stored.entries))
}

/// Writes a whole table to the barrier in one put, so a crash leaves the old or the new
/// table, never a mix.
pub(crate) async fn persist_table(
    barrier: &Barrier,
    table: MountTable,
    entries: &[MountEntry],
) -> Result<(), CoreError> {
    let stored = StoredTable {
        table,
        entries: entries.to_vec(),
    };
    let bytes = serde_json::to_vec(&stored)
        .map_err(|err| CoreError::internal(format!("failed to encode mount table: {err}")))?;
    barrier.put(table.storage_key(), bytes).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accessors_follow_vaults_format() {
        let secret = MountEntry::new(MountTable::Secrets, "secret", "kv");
        assert_eq!(secret.path, "secret/");
        assert!(secret.accessor.starts_with("kv_"));
        assert_eq!(secret.accessor.len(), "kv_".len() + 8);
        let auth = MountEntry::new(MountTable::Auth, "kubernetes/", "kubernetes");
        assert!(auth.accessor.starts_with("auth_kubernetes_"));
        assert_eq!(auth.route_path(), "auth/kubernetes/");
        assert_eq!(auth.storage_prefix(), format!("auth/{}/", auth.uuid));
    }

    #[test]
    fn info_has_the_fields_clients_require() {
        let auth = MountEntry::new(MountTable::Auth, "kubernetes", "kubernetes");
        let info = auth.info();
        for key in [
            "accessor",
            "config",
            "description",
            "external_entropy_access",
            "local",
            "seal_wrap",
            "type",
            "uuid",
            "options",
        ] {
            assert!(info.get(key).is_some(), "missing {key}");
        }
        assert_eq!(info["config"]["token_type"], "default-service");
        assert_eq!(info["options"], Value::Null);
        let secret = MountEntry::new(MountTable::Secrets, "secret", "kv");
        assert!(secret.info()["config"].get("token_type").is_none());
    }
}
