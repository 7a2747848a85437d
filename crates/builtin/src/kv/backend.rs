//! KV v2 (Vault's `backend.go`): the engine state, its storage records, the path table and
//! the catch-all path that explains misused KV v2 paths.

use std::collections::BTreeMap;
use std::fmt;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::sync::RwLock;
use warden_logical::framework::{FrameworkBackend, NoInput, Path, handler};
use warden_logical::{
    BackendConfig, BackendKind, LogicalBackend, LogicalError, Map, Operation, RawBody, Request,
    Response, StorageEntry, StorageOp, StorageView,
};

use super::timefmt::{Timestamp, timestamp_string};
use super::{path_config, path_data, path_delete, path_destroy, path_metadata, path_subkeys};

/// The versions a key keeps when neither the key nor the mount sets `max_versions`.
pub(super) const DEFAULT_MAX_VERSIONS: u32 = 10;

/// `delete_version_after` of the mount configuration meaning "never delete versions by age".
pub(super) const DELETE_VERSION_AFTER_DISABLED: i64 = -1;

const CONFIG_KEY: &str = "config";
const METADATA_PREFIX: &str = "metadata/";
const VERSIONS_PREFIX: &str = "versions/";
const LOCK_COUNT: usize = 256;

const HELP: &str = "This backend provides a versioned key-value store. The kv backend reads and \
writes arbitrary secrets to the storage backend. The secrets are encrypted/decrypted by Vault: \
they are never stored unencrypted in the backend and the backend never has an opportunity to \
see the unencrypted value. Each key can have a configured number of versions, and versions can \
be retrieved based on their version numbers.";

/// Where KV v2 gets the current time (a fake in tests).
pub(super) trait Clock: Send + Sync + fmt::Debug {
    /// Now.
    fn now(&self) -> Timestamp;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }
}

/// The engine configuration (`config`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Configuration {
    /// Versions kept per key; 0 means [`DEFAULT_MAX_VERSIONS`].
    #[serde(default)]
    pub(super) max_versions: u32,
    /// Whether every data write needs `options.cas`.
    #[serde(default)]
    pub(super) cas_required: bool,
    /// Seconds before a new version reads as deleted: unset, or
    /// [`DELETE_VERSION_AFTER_DISABLED`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) delete_version_after: Option<i64>,
}

impl Configuration {
    fn delete_version_after_disabled(&self) -> bool {
        self.delete_version_after == Some(DELETE_VERSION_AFTER_DISABLED)
    }
}

/// What the metadata record says about one version.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct VersionMetadata {
    /// When the version was written.
    #[serde(default)]
    pub(super) created_time: Option<Timestamp>,
    /// When the version stops being readable (set by a delete, or by `delete_version_after`).
    #[serde(default)]
    pub(super) deletion_time: Option<Timestamp>,
    /// Whether the version's data was removed for good.
    #[serde(default)]
    pub(super) destroyed: bool,
}

impl VersionMetadata {
    /// Deleted: the deletion time has passed (Go's `deletionTime.Before(time.Now())`).
    pub(super) fn is_deleted(&self, now: Timestamp) -> bool {
        self.deletion_time.is_some_and(|time| time < now)
    }

    /// Deleted or destroyed: a read answers 404 with the metadata.
    pub(super) fn is_unreadable(&self, now: Timestamp) -> bool {
        self.destroyed || self.is_deleted(now)
    }
}

/// The metadata record of one key (`metadata/<key>`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct KeyMetadata {
    /// The key, relative to `data/`.
    pub(super) key: String,
    /// The versions still known, by number.
    #[serde(default)]
    pub(super) versions: BTreeMap<u64, VersionMetadata>,
    /// The latest version, 0 before the first write.
    #[serde(default)]
    pub(super) current_version: u64,
    /// The oldest version kept once pruning started, else 0.
    #[serde(default)]
    pub(super) oldest_version: u64,
    /// When the record was created.
    #[serde(default)]
    pub(super) created_time: Option<Timestamp>,
    /// When the last version was written.
    #[serde(default)]
    pub(super) updated_time: Option<Timestamp>,
    /// The key's own `max_versions` (0: the mount's).
    #[serde(default)]
    pub(super) max_versions: u32,
    /// The key's own `cas_required`.
    #[serde(default)]
    pub(super) cas_required: bool,
    /// The key's own `delete_version_after`, in seconds.
    #[serde(default)]
    pub(super) delete_version_after: Option<i64>,
    /// User-provided key-value pairs.
    #[serde(default)]
    pub(super) custom_metadata: BTreeMap<String, String>,
}

impl KeyMetadata {
    /// A record for a key that has none yet.
    pub(super) fn new(key: &str) -> Self {
        Self {
            key: key.to_owned(),
            ..Self::default()
        }
    }

    /// Vault's `AddVersion`: appends a version and slides the `max_versions` window (the
    /// larger of the key's and the mount's, 10 when both are 0). Returns the version numbers
    /// whose data must now be removed.
    pub(super) fn add_version(
        &mut self,
        created: Timestamp,
        deletion: Option<Timestamp>,
        config_max_versions: u32,
    ) -> Vec<u64> {
        let oldest_before = self.oldest_version;
        self.current_version += 1;
        self.versions.insert(
            self.current_version,
            VersionMetadata {
                created_time: Some(created),
                deletion_time: deletion,
                destroyed: false,
            },
        );
        self.updated_time = Some(created);
        if self.created_time.is_none() {
            self.created_time = Some(created);
        }
        let max_versions = match self.max_versions.max(config_max_versions) {
            0 => DEFAULT_MAX_VERSIONS,
            max => max,
        };
        // Go compares `uint32(current - oldest)`: the same truncation.
        let span = (self.current_version - self.oldest_version) as u32;
        if span < max_versions {
            return Vec::new();
        }
        let to_delete = self.current_version - u64::from(max_versions);
        self.versions.retain(|&number, _| number > to_delete);
        self.oldest_version = to_delete + 1;
        (oldest_before.max(1)..=to_delete).collect()
    }

    /// `custom_metadata` as Vault shows it: `null` when empty.
    pub(super) fn custom_metadata_json(&self) -> Value {
        if self.custom_metadata.is_empty() {
            Value::Null
        } else {
            json!(self.custom_metadata)
        }
    }

    /// The metadata object of one version in data, subkeys and write responses.
    pub(super) fn version_json(&self, number: u64, version: &VersionMetadata) -> Value {
        json!({
            "created_time": timestamp_string(version.created_time),
            "custom_metadata": self.custom_metadata_json(),
            "deletion_time": timestamp_string(version.deletion_time),
            "destroyed": version.destroyed,
            "version": number,
        })
    }
}

/// The data of one version (`versions/<n>/<key>`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct Version {
    /// The secret.
    pub(super) data: Map,
    /// When it was written.
    pub(super) created_time: Timestamp,
    /// When it stops being readable, as set at write time.
    #[serde(default)]
    pub(super) deletion_time: Option<Timestamp>,
}

/// The KV v2 engine of one mount.
#[derive(Debug)]
pub(super) struct KvV2 {
    pub(super) storage: Arc<dyn StorageView>,
    pub(super) clock: Arc<dyn Clock>,
    /// Striped per-key locks (Vault's `locksutil`): writers of one key are serialized.
    locks: Vec<RwLock<()>>,
}

impl KvV2 {
    fn new(storage: Arc<dyn StorageView>, clock: Arc<dyn Clock>) -> Self {
        Self {
            storage,
            clock,
            locks: (0..LOCK_COUNT).map(|_| RwLock::new(())).collect(),
        }
    }

    /// The lock that guards `key`.
    pub(super) fn lock(&self, key: &str) -> &RwLock<()> {
        let mut hasher = DefaultHasher::new();
        key.hash(&mut hasher);
        let index = usize::try_from(hasher.finish() % LOCK_COUNT as u64).unwrap_or(0);
        &self.locks[index]
    }

    /// Now, by the engine's clock.
    pub(super) fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// The engine configuration (all defaults until `config` is written).
    pub(super) async fn config(&self) -> Result<Configuration, LogicalError> {
        Ok(self.storage.get_json(CONFIG_KEY).await?.unwrap_or_default())
    }

    /// Stores the engine configuration.
    pub(super) async fn put_config(&self, config: &Configuration) -> Result<(), LogicalError> {
        self.storage.put_json(CONFIG_KEY, config).await
    }

    /// The metadata record of `key`, if any.
    pub(super) async fn metadata(&self, key: &str) -> Result<Option<KeyMetadata>, LogicalError> {
        self.storage.get_json(&metadata_key(key)).await
    }

    /// The data of one version, if stored.
    pub(super) async fn version(
        &self,
        key: &str,
        number: u64,
    ) -> Result<Option<Version>, LogicalError> {
        self.storage.get_json(&version_key(key, number)).await
    }

    /// Reads the data of a version the metadata says exists.
    pub(super) async fn expect_version(
        &self,
        key: &str,
        number: u64,
    ) -> Result<Version, LogicalError> {
        self.version(key, number)
            .await?
            .ok_or_else(|| LogicalError::internal("could not find version data"))
    }

    /// Lists metadata keys one level below `prefix`.
    pub(super) async fn list_metadata(&self, prefix: &str) -> Result<Vec<String>, LogicalError> {
        self.storage
            .list(&format!("{METADATA_PREFIX}{prefix}"))
            .await
    }

    /// The deletion time a version written (or undeleted) at `from` gets from
    /// `delete_version_after`: the smaller non-zero of the mount's and the key's settings.
    pub(super) fn deletion_time(
        from: Timestamp,
        config: &Configuration,
        meta: &KeyMetadata,
    ) -> Option<Timestamp> {
        if config.delete_version_after_disabled() {
            return None;
        }
        let mount = config.delete_version_after.unwrap_or(0);
        let key = meta.delete_version_after.unwrap_or(0);
        if mount == 0 && key == 0 {
            return None;
        }
        let mut chosen = key;
        if (mount != 0 && mount < chosen) || chosen == 0 {
            chosen = mount;
        }
        Some(from.plus_seconds(chosen))
    }

    /// Applies storage steps atomically.
    pub(super) async fn commit(&self, ops: Vec<StorageOp>) -> Result<(), LogicalError> {
        self.storage.transaction(ops).await
    }
}

/// The storage key of a key's metadata record.
pub(super) fn metadata_key(key: &str) -> String {
    format!("{METADATA_PREFIX}{key}")
}

/// The storage key of one version's data.
pub(super) fn version_key(key: &str, number: u64) -> String {
    format!("{VERSIONS_PREFIX}{number}/{key}")
}

/// The step that writes a metadata record.
pub(super) fn put_metadata(meta: &KeyMetadata) -> Result<StorageOp, LogicalError> {
    StorageEntry::json(metadata_key(&meta.key), meta).map(StorageOp::Put)
}

/// The step that writes one version's data.
pub(super) fn put_version(
    key: &str,
    number: u64,
    version: &Version,
) -> Result<StorageOp, LogicalError> {
    StorageEntry::json(version_key(key, number), version).map(StorageOp::Put)
}

/// The object inside a `json!({…})`.
pub(super) fn into_map(value: Value) -> Map {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

/// Vault's `RespondWithStatusCode(resp, req, 404)`: the full envelope, with status 404.
pub(super) fn not_found_with(data: Map) -> Response {
    Response {
        data: Some(data),
        status_code: Some(404),
        ..Response::default()
    }
}

/// Vault's `RespondWithStatusCode(nil, req, 404)`: status 404 with an empty body.
pub(super) fn bare_not_found() -> Response {
    Response {
        raw: Some(RawBody {
            content_type: "application/json".into(),
            body: Vec::new(),
        }),
        status_code: Some(404),
        ..Response::default()
    }
}

/// Builds the version 2 engine for a mount.
pub(super) fn build(
    config: BackendConfig,
    clock: Arc<dyn Clock>,
) -> Result<Arc<dyn LogicalBackend>, LogicalError> {
    Ok(Arc::new(build_backend(config.storage, clock)?))
}

/// The path table, in Vault's order; the catch-all comes last.
pub(super) fn build_backend(
    storage: Arc<dyn StorageView>,
    clock: Arc<dyn Clock>,
) -> Result<FrameworkBackend, LogicalError> {
    let state = Arc::new(KvV2::new(storage, clock));
    let backend = FrameworkBackend::builder(BackendKind::Secret)
        .help(HELP)
        .path(path_config::path(&state))
        .path(path_data::path(&state))
        .path(path_metadata::path(&state))
        .path(path_destroy::path(&state))
        .path(path_subkeys::path(&state))
        .paths(path_delete::paths(&state))
        .path(
            Path::new(".*")
                .takes_arbitrary_data()
                .operation(Operation::Update, handler(&state, KvV2::invalid_path))
                .operation(Operation::Patch, handler(&state, KvV2::invalid_path))
                .operation(Operation::Read, handler(&state, KvV2::invalid_path))
                .operation(Operation::Delete, handler(&state, KvV2::invalid_path))
                .operation(Operation::List, handler(&state, KvV2::invalid_path))
                .help("", HELP),
        )
        .build()?;
    Ok(backend)
}

impl KvV2 {
    /// Vault's `pathInvalid`: 404 with a warning that points at the right endpoint.
    async fn invalid_path(
        self: Arc<Self>,
        req: Request,
        _input: NoInput,
    ) -> Result<Option<Response>, LogicalError> {
        let mut response = Response {
            status_code: Some(404),
            ..Response::default()
        };
        if matches!(
            req.path.as_str(),
            "metadata" | "data" | "delete" | "undelete" | "destroy"
        ) {
            response.add_warning(
                "Non-listing operations on the root of a K/V v2 mount are not supported.",
            );
            return Ok(Some(response));
        }
        let command = match req.operation {
            Operation::Create | Operation::Update => "put",
            Operation::Patch => "patch",
            Operation::Read => "get",
            Operation::List => "list",
            Operation::Delete => "delete",
            _ => "",
        };
        response.add_warning(format!(
            "Invalid path for a versioned K/V secrets engine. See the API docs for the \
             appropriate API endpoints to use. If using the Vault CLI, use 'vault kv {command}' \
             for this operation."
        ));
        Ok(Some(response))
    }
}

#[cfg(test)]
mod tests;
