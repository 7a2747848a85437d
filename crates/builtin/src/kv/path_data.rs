//! `data/<path>` (Vault's `path_data.go`): read a version, write a new one (with
//! check-and-set), patch the current one with a JSON merge patch, and soft-delete the latest.

use std::sync::Arc;

use serde::Deserialize;
use serde_json::{Value, json};
use warden_logical::framework::{Field, FieldType, Path, existence, handler};
use warden_logical::{LogicalError, Map, Operation, Request, Response, StorageOp};

use super::backend::{
    Configuration, KeyMetadata, KvV2, Version, bare_not_found, into_map, not_found_with,
    put_metadata, put_version, version_key,
};

const SYNOPSIS: &str = "Write, Patch, Read, and Delete data in the Key-Value Store.";
const DESCRIPTION: &str = "This path takes a key name and based on the operation stores, \
retrieves or deletes versions of data.\n\n\
If a write operation is used the endpoint takes an options object and a data object. The \
options object is used to pass some options to the write command and the data object is \
encrypted and stored in the storage backend. Each write operation for a key creates a new \
version and does not overwrite the previous data.\n\n\
A patch operation must be performed on an existing secret. The secret must neither be deleted \
nor destroyed. Like a write operation, patch operations accept an options object and data \
object.\n\n\
A read operation will return the latest version for a key unless the \"version\" parameter is \
set, then it returns the version at that number.\n\n\
Delete operations are a soft delete. They will mark the latest version as deleted, but the \
underlying data will not be fully removed. Delete operations can be undone.";

const OPTIONS_DESCRIPTION: &str = "Options for writing a KV entry.\n\n\
Set the \"cas\" value to use a Check-And-Set operation. If not set the write will be allowed. \
If set to 0 a write will only be allowed if the key doesn't exist. If the index is non-zero \
the write will only be allowed if the key's current version matches the version specified in \
the cas parameter.";

/// The `data/<path>` path. Like Vault's, the pattern refuses a trailing slash, so `LIST
/// data/…` falls through to the catch-all.
pub(super) fn path(state: &Arc<KvV2>) -> Path {
    Path::new(r"data/(?P<path>.*?[^/]$)")
        .field(Field::new("path", FieldType::String).description("Location of the secret."))
        .field(Field::new("version", FieldType::Int).description(
            "If provided during a read, the value at the version number will be returned",
        ))
        .field(Field::new("options", FieldType::Map).description(OPTIONS_DESCRIPTION))
        .field(
            Field::new("data", FieldType::Map)
                .description("The contents of the data map will be stored and returned on read."),
        )
        .existence_check(existence(state, KvV2::key_exists))
        .operation(Operation::Create, handler(state, KvV2::write_data))
        .operation(Operation::Update, handler(state, KvV2::write_data))
        .operation(Operation::Read, handler(state, KvV2::read_data))
        .operation(Operation::Delete, handler(state, KvV2::delete_data))
        .operation(Operation::Patch, handler(state, KvV2::patch_data))
        .help(SYNOPSIS, DESCRIPTION)
}

/// The captured key.
#[derive(Debug, Deserialize)]
pub(super) struct KeyPath {
    #[serde(default)]
    pub(super) path: String,
}

#[derive(Debug, Deserialize)]
struct DataRead {
    path: String,
    #[serde(default)]
    version: i64,
}

#[derive(Debug, Deserialize)]
struct DataWrite {
    path: String,
    options: Option<Map>,
    data: Option<Map>,
}

/// Vault's `validateCheckAndSetOption`: `options.cas` must equal the current version (0 for
/// a key without versions) when sent, and must be sent when the mount or the key requires it.
pub(super) fn check_and_set(
    options: Option<&Map>,
    config: &Configuration,
    meta: &KeyMetadata,
) -> Result<(), LogicalError> {
    match options.and_then(|options| options.get("cas")) {
        Some(raw) => {
            let cas = weak_int(raw)
                .ok_or_else(|| LogicalError::user("error parsing check-and-set parameter"))?;
            // Go's `uint64(cas)`: a negative cas never matches.
            if cas as u64 != meta.current_version {
                return Err(LogicalError::user(
                    "check-and-set parameter did not match the current version",
                ));
            }
            Ok(())
        }
        None if config.cas_required || meta.cas_required => Err(LogicalError::user(
            "check-and-set parameter required for this call",
        )),
        None => Ok(()),
    }
}

/// mapstructure's weak decoding of a JSON value into a Go `int` (request numbers are
/// `json.Number`, so `1.5` does not decode).
fn weak_int(raw: &Value) -> Option<i64> {
    match raw {
        Value::Null => Some(0),
        Value::Bool(b) => Some(i64::from(*b)),
        Value::Number(n) => n.as_i64(),
        Value::String(s) => parse_go_int(s),
        Value::Array(_) | Value::Object(_) => None,
    }
}

/// `strconv.ParseInt(s, 0, 64)`, with mapstructure's "empty is 0".
fn parse_go_int(s: &str) -> Option<i64> {
    if s.is_empty() {
        return Some(0);
    }
    let (negative, digits) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let lower = digits.to_ascii_lowercase();
    let (radix, body) = if let Some(rest) = lower.strip_prefix("0x") {
        (16, rest.to_owned())
    } else if let Some(rest) = lower.strip_prefix("0b") {
        (2, rest.to_owned())
    } else if let Some(rest) = lower.strip_prefix("0o") {
        (8, rest.to_owned())
    } else if lower.len() > 1 && lower.starts_with('0') {
        (8, lower[1..].to_owned())
    } else {
        (10, lower)
    };
    let body = if radix == 10 {
        body
    } else {
        body.replace('_', "")
    };
    if body.is_empty() || body.starts_with(['+', '-']) {
        return None;
    }
    let magnitude = i128::from_str_radix(&body, radix).ok()?;
    i64::try_from(if negative { -magnitude } else { magnitude }).ok()
}

/// JSON merge patch (RFC 7386 §2; Vault uses `json-patch`'s `MergePatch`): an object patch
/// merges key by key, a `null` member removes the key, and anything else replaces `target`.
pub(super) fn merge_patch(target: Value, patch: Value) -> Value {
    let Value::Object(patch) = patch else {
        return patch;
    };
    let target = match target {
        Value::Object(map) => map,
        _ => Map::new(),
    };
    Value::Object(merge_objects(target, patch))
}

/// Merges an object patch into an object.
pub(super) fn merge_objects(mut target: Map, patch: Map) -> Map {
    for (key, value) in patch {
        if value.is_null() {
            target.remove(&key);
            continue;
        }
        let current = target.remove(&key).unwrap_or(Value::Null);
        target.insert(key, merge_patch(current, value));
    }
    target
}

impl KvV2 {
    /// The existence check of `data/` and `metadata/`: a key exists once it has metadata.
    pub(super) async fn key_exists(
        self: Arc<Self>,
        _req: Request,
        input: KeyPath,
    ) -> Result<bool, LogicalError> {
        Ok(self.metadata(&input.path).await?.is_some())
    }

    async fn read_data(
        self: Arc<Self>,
        _req: Request,
        input: DataRead,
    ) -> Result<Option<Response>, LogicalError> {
        let _guard = self.lock(&input.path).read().await;
        let Some(meta) = self.metadata(&input.path).await? else {
            return Ok(None);
        };
        let number = match u64::try_from(input.version) {
            Ok(version) if version > 0 => version,
            _ => meta.current_version,
        };
        let Some(version) = meta.versions.get(&number) else {
            return Ok(None);
        };
        let mut data = Map::new();
        data.insert("data".into(), Value::Null);
        data.insert("metadata".into(), meta.version_json(number, version));
        if version.is_unreadable(self.now()) {
            return Ok(Some(not_found_with(data)));
        }
        let stored = self.expect_version(&input.path, number).await?;
        data.insert("data".into(), Value::Object(stored.data));
        Ok(Some(Response::with_data(data)))
    }

    async fn write_data(
        self: Arc<Self>,
        _req: Request,
        input: DataWrite,
    ) -> Result<Option<Response>, LogicalError> {
        if input.path.is_empty() {
            return Err(LogicalError::user("missing path"));
        }
        let config = self.config().await?;
        let Some(data) = input.data else {
            return Err(LogicalError::user("no data provided"));
        };
        let _guard = self.lock(&input.path).write().await;
        let meta = self
            .metadata(&input.path)
            .await?
            .unwrap_or_else(|| KeyMetadata::new(&input.path));
        check_and_set(input.options.as_ref(), &config, &meta)?;
        self.add_version(meta, &config, data).await.map(Some)
    }

    async fn patch_data(
        self: Arc<Self>,
        _req: Request,
        input: DataWrite,
    ) -> Result<Option<Response>, LogicalError> {
        let Some(patch) = input.data else {
            return Err(LogicalError::user("no data provided"));
        };
        let _guard = self.lock(&input.path).write().await;
        let Some(meta) = self.metadata(&input.path).await? else {
            return Ok(Some(bare_not_found()));
        };
        let config = self.config().await?;
        check_and_set(input.options.as_ref(), &config, &meta)?;
        let current = meta.current_version;
        let Some(version) = meta.versions.get(&current) else {
            return Ok(Some(bare_not_found()));
        };
        if version.is_unreadable(self.now()) {
            // Unlike a read, the patch's 404 carries the version metadata unnested.
            return Ok(Some(not_found_with(into_map(
                meta.version_json(current, version),
            ))));
        }
        let stored = self.expect_version(&input.path, current).await?;
        let patched = merge_objects(stored.data, patch);
        self.add_version(meta, &config, patched).await.map(Some)
    }

    /// Stores `data` as the key's next version, prunes beyond `max_versions`, and answers
    /// with the new version's metadata; one transaction.
    async fn add_version(
        &self,
        mut meta: KeyMetadata,
        config: &Configuration,
        data: Map,
    ) -> Result<Response, LogicalError> {
        let now = self.now();
        let deletion = Self::deletion_time(now, config, &meta);
        let pruned = meta.add_version(now, deletion, config.max_versions);
        let number = meta.current_version;
        let version = Version {
            data,
            created_time: now,
            deletion_time: deletion,
        };
        let mut ops = vec![
            put_version(&meta.key, number, &version)?,
            put_metadata(&meta)?,
        ];
        ops.extend(
            pruned
                .into_iter()
                .map(|old| StorageOp::Delete(version_key(&meta.key, old))),
        );
        self.commit(ops).await?;
        let body = meta
            .versions
            .get(&number)
            .map_or_else(|| json!({}), |written| meta.version_json(number, written));
        Ok(Response::with_data(into_map(body)))
    }

    async fn delete_data(
        self: Arc<Self>,
        _req: Request,
        input: KeyPath,
    ) -> Result<Option<Response>, LogicalError> {
        let _guard = self.lock(&input.path).write().await;
        let Some(mut meta) = self.metadata(&input.path).await? else {
            return Ok(None);
        };
        let now = self.now();
        let current = meta.current_version;
        let Some(latest) = meta.versions.get_mut(&current) else {
            return Ok(None);
        };
        if latest.is_unreadable(now) {
            return Ok(None);
        }
        latest.deletion_time = Some(now);
        self.commit(vec![put_metadata(&meta)?]).await?;
        Ok(None)
    }
}

#[cfg(test)]
mod tests;
