//! `metadata/<path>` (Vault's `path_metadata.go`): list keys, read a key's versions and
//! settings, change the settings (write or merge patch), and delete a key with all versions.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Deserialize;
use serde_json::{Value, json};
use warden_logical::framework::{Field, FieldType, Path, existence, handler, match_all_regex};
use warden_logical::{LogicalError, Map, Operation, Request, Response, StorageOp};

use super::backend::{
    KeyMetadata, KvV2, bare_not_found, into_map, metadata_key, put_metadata, version_key,
};
use super::path_data::KeyPath;
use super::timefmt::{GoDuration, go_quote, is_go_printable, timestamp_string};

const MAX_CUSTOM_METADATA_KEYS: usize = 64;
const MAX_CUSTOM_METADATA_KEY_LENGTH: usize = 128;
const MAX_CUSTOM_METADATA_VALUE_LENGTH: usize = 512;
const CUSTOM_METADATA_PREFIX: &str = "custom_metadata validation failed";
const CAS_IGNORED_WARNING: &str =
    "\"cas_required\" set to false, but is mandated by backend config. This value will be ignored.";

/// The `metadata/<path>` path.
pub(super) fn path(state: &Arc<KvV2>) -> Path {
    Path::new(format!("metadata/{}", match_all_regex("path")))
        .field(Field::new("path", FieldType::String).description("Location of the secret."))
        .field(
            Field::new("exclude_deleted", FieldType::Bool)
                .default(json!(false))
                .description("Exclude keys whose current version is deleted from a list."),
        )
        .field(Field::new("cas_required", FieldType::Bool).description(
            "If true the key will require the cas parameter to be set on all write requests. \
             If false, the backend's configuration will be used.",
        ))
        .field(Field::new("max_versions", FieldType::Int).description(
            "The number of versions to keep. If not set, the backend's configured max version \
             is used.",
        ))
        .field(
            Field::new("delete_version_after", FieldType::DurationSecond).description(
                "The length of time before a version is deleted. If not set, the backend's \
                 configured delete_version_after is used. A zero duration clears the current \
                 setting. A negative duration will cause an error.",
            ),
        )
        .field(Field::new("custom_metadata", FieldType::Map).description(
            "User-provided key-value pairs that are used to describe arbitrary and \
             version-agnostic information about a secret.",
        ))
        .existence_check(existence(state, KvV2::key_exists))
        .operation(Operation::Create, handler(state, KvV2::write_metadata))
        .operation(Operation::Update, handler(state, KvV2::write_metadata))
        .operation(Operation::Read, handler(state, KvV2::read_metadata))
        .operation(Operation::Delete, handler(state, KvV2::delete_metadata))
        .operation(Operation::List, handler(state, KvV2::list_metadata_keys))
        .operation(Operation::Patch, handler(state, KvV2::patch_metadata))
        .help(
            "Allows interaction with key metadata and settings in the KV store.",
            "This endpoint allows for reading, information about a key in the key-value store, \
             writing key settings, and permanently deleting a key and all versions.",
        )
}

#[derive(Debug, Deserialize)]
struct MetadataList {
    #[serde(default)]
    path: String,
    #[serde(default)]
    exclude_deleted: bool,
}

#[derive(Debug, Deserialize)]
struct MetadataWrite {
    #[serde(default)]
    path: String,
    max_versions: Option<i64>,
    cas_required: Option<bool>,
    delete_version_after: Option<i64>,
    custom_metadata: Option<Map>,
}

/// Vault's `parseCustomMetadata`: each value weakly decoded to a string (mapstructure);
/// `null` values are skipped when `skip_nulls` (a patch removes those keys).
fn parse_custom_metadata(raw: &Map, skip_nulls: bool) -> Result<BTreeMap<String, String>, String> {
    let mut out = BTreeMap::new();
    for (key, value) in raw {
        let text = match value {
            Value::Null if skip_nulls => continue,
            Value::Null => String::new(),
            Value::String(s) => s.clone(),
            Value::Bool(b) => if *b { "1" } else { "0" }.to_owned(),
            Value::Number(n) => n.to_string(),
            Value::Array(_) | Value::Object(_) => {
                let go_type = if value.is_array() {
                    "[]interface {}"
                } else {
                    "map[string]interface {}"
                };
                return Err(format!(
                    "'' expected type 'string', got unconvertible type '{go_type}', value: '{}'",
                    go_value(value)
                ));
            }
        };
        out.insert(key.clone(), text);
    }
    Ok(out)
}

/// Go's `%v` of a decoded JSON value, for mapstructure's message.
fn go_value(value: &Value) -> String {
    match value {
        Value::Null => "<nil>".into(),
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(go_value).collect();
            format!("[{}]", items.join(" "))
        }
        Value::Object(map) => {
            let mut items: Vec<String> = map
                .iter()
                .map(|(k, v)| format!("{k}:{}", go_value(v)))
                .collect();
            items.sort();
            format!("map[{}]", items.join(" "))
        }
    }
}

/// Vault's `validateCustomMetadata`: at most 64 keys; keys of 1–128 bytes and values of
/// 1–512 bytes, all printable. Every failure is reported, as a multierror.
fn validate_custom_metadata(metadata: &BTreeMap<String, String>) -> Result<(), String> {
    if metadata.len() > MAX_CUSTOM_METADATA_KEYS {
        return Err(multierror(&[format!(
            "{CUSTOM_METADATA_PREFIX}: payload must contain at most {MAX_CUSTOM_METADATA_KEYS} \
             keys, provided {}",
            metadata.len()
        )]));
    }
    let mut errors = Vec::new();
    for (key, value) in metadata {
        let quoted = go_quote(key);
        if key.is_empty() || key.len() > MAX_CUSTOM_METADATA_KEY_LENGTH {
            errors.push(format!(
                "{CUSTOM_METADATA_PREFIX}: length of key {quoted} is {} but must be 0 < len(key) \
                 <= {MAX_CUSTOM_METADATA_KEY_LENGTH}",
                key.len()
            ));
        }
        if value.is_empty() || value.len() > MAX_CUSTOM_METADATA_VALUE_LENGTH {
            errors.push(format!(
                "{CUSTOM_METADATA_PREFIX}: length of value for key {quoted} is {} but must be 0 < \
                 len(value) <= {MAX_CUSTOM_METADATA_VALUE_LENGTH}",
                value.len()
            ));
        }
        if !key.chars().all(is_go_printable) {
            errors.push(format!(
                "{CUSTOM_METADATA_PREFIX}: key {quoted} ({key}) contains unprintable characters"
            ));
        }
        if !value.chars().all(is_go_printable) {
            errors.push(format!(
                "{CUSTOM_METADATA_PREFIX}: value for key {quoted} contains unprintable characters"
            ));
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(multierror(&errors))
    }
}

/// go-multierror's list format.
fn multierror(errors: &[String]) -> String {
    if let [only] = errors {
        return format!("1 error occurred:\n\t* {only}\n\n");
    }
    let points: Vec<String> = errors.iter().map(|e| format!("* {e}")).collect();
    format!(
        "{} errors occurred:\n\t{}\n\n",
        errors.len(),
        points.join("\n\t")
    )
}

/// Parses and validates `custom_metadata` as a 400 error.
fn custom_metadata(raw: &Map, skip_nulls: bool) -> Result<BTreeMap<String, String>, LogicalError> {
    let parsed = parse_custom_metadata(raw, skip_nulls)
        .map_err(|err| LogicalError::user(format!("{CUSTOM_METADATA_PREFIX}: {err}")))?;
    validate_custom_metadata(&parsed).map_err(LogicalError::user)?;
    Ok(parsed)
}

/// The response of a settings change: the `cas_required` warning, or nothing (204).
fn cas_warning(sent: Option<bool>, mount_requires: bool) -> Option<Response> {
    (sent == Some(false) && mount_requires).then(|| {
        let mut response = Response::default();
        response.add_warning(CAS_IGNORED_WARNING);
        response
    })
}

fn key_delete_version_after(seconds: i64) -> Option<i64> {
    (seconds != 0).then_some(seconds)
}

impl KvV2 {
    async fn list_metadata_keys(
        self: Arc<Self>,
        _req: Request,
        input: MetadataList,
    ) -> Result<Option<Response>, LogicalError> {
        let mut prefix = input.path;
        if !prefix.is_empty() && !prefix.ends_with('/') {
            prefix.push('/');
        }
        let mut keys = self.list_metadata(&prefix).await?;
        if input.exclude_deleted {
            let mut kept = Vec::with_capacity(keys.len());
            for key in keys {
                if !key.ends_with('/')
                    && let Ok(Some(meta)) = self.metadata(&format!("{prefix}{key}")).await
                    && meta
                        .versions
                        .get(&meta.current_version)
                        .is_some_and(|v| v.deletion_time.is_some())
                {
                    continue;
                }
                kept.push(key);
            }
            keys = kept;
        }
        Ok(Some(Response::with_data(into_map(json!({ "keys": keys })))))
    }

    async fn read_metadata(
        self: Arc<Self>,
        _req: Request,
        input: KeyPath,
    ) -> Result<Option<Response>, LogicalError> {
        let Some(meta) = self.metadata(&input.path).await? else {
            return Ok(None);
        };
        let mut numbers: Vec<(String, u64)> =
            meta.versions.keys().map(|n| (n.to_string(), *n)).collect();
        numbers.sort();
        let mut versions = Map::new();
        for (name, number) in numbers {
            if let Some(version) = meta.versions.get(&number) {
                versions.insert(
                    name,
                    json!({
                        "created_time": timestamp_string(version.created_time),
                        "deletion_time": timestamp_string(version.deletion_time),
                        "destroyed": version.destroyed,
                    }),
                );
            }
        }
        let data = json!({
            "cas_required": meta.cas_required,
            "created_time": timestamp_string(meta.created_time),
            "current_version": meta.current_version,
            "custom_metadata": meta.custom_metadata_json(),
            "delete_version_after": GoDuration(meta.delete_version_after.unwrap_or(0)).to_string(),
            "max_versions": meta.max_versions,
            "oldest_version": meta.oldest_version,
            "updated_time": timestamp_string(meta.updated_time),
            "versions": versions,
        });
        Ok(Some(Response::with_data(into_map(data))))
    }

    async fn write_metadata(
        self: Arc<Self>,
        _req: Request,
        input: MetadataWrite,
    ) -> Result<Option<Response>, LogicalError> {
        if input.path.is_empty() {
            return Err(LogicalError::user("missing path"));
        }
        if input.max_versions.is_none()
            && input.cas_required.is_none()
            && input.delete_version_after.is_none()
            && input.custom_metadata.is_none()
        {
            return Ok(None);
        }
        let config = self.config().await?;
        let custom = input
            .custom_metadata
            .as_ref()
            .map(|raw| custom_metadata(raw, false))
            .transpose()?;
        let response = cas_warning(input.cas_required, config.cas_required);
        let _guard = self.lock(&input.path).write().await;
        let mut meta = match self.metadata(&input.path).await? {
            Some(meta) => meta,
            None => {
                let now = self.now();
                KeyMetadata {
                    created_time: Some(now),
                    updated_time: Some(now),
                    ..KeyMetadata::new(&input.path)
                }
            }
        };
        if let Some(max_versions) = input.max_versions {
            // Go's `uint32(int)`.
            meta.max_versions = max_versions as u32;
        }
        if let Some(cas_required) = input.cas_required {
            meta.cas_required = cas_required;
        }
        if let Some(seconds) = input.delete_version_after {
            meta.delete_version_after = key_delete_version_after(seconds);
        }
        if let Some(custom) = custom {
            meta.custom_metadata = custom;
        }
        self.commit(vec![put_metadata(&meta)?]).await?;
        Ok(response)
    }

    async fn patch_metadata(
        self: Arc<Self>,
        req: Request,
        input: MetadataWrite,
    ) -> Result<Option<Response>, LogicalError> {
        if input.path.is_empty() {
            return Err(LogicalError::user("missing path"));
        }
        if let Some(raw) = &input.custom_metadata {
            custom_metadata(raw, true)?;
        }
        let config = self.config().await?;
        let _guard = self.lock(&input.path).write().await;
        let Some(mut meta) = self.metadata(&input.path).await? else {
            return Ok(Some(bare_not_found()));
        };
        let response = cas_warning(input.cas_required, config.cas_required);
        if let Some(max_versions) = input.max_versions {
            meta.max_versions = max_versions as u32;
        }
        if let Some(cas_required) = input.cas_required {
            meta.cas_required = cas_required;
        }
        if let Some(seconds) = input.delete_version_after {
            meta.delete_version_after = key_delete_version_after(seconds);
        }
        // A merge patch: `"custom_metadata": null` removes them all, a `null` value one key.
        if req.data.get("custom_metadata").is_some_and(Value::is_null) {
            meta.custom_metadata.clear();
        } else if let Some(raw) = &input.custom_metadata {
            for (key, value) in raw {
                if value.is_null() {
                    meta.custom_metadata.remove(key);
                }
            }
            meta.custom_metadata
                .extend(parse_custom_metadata(raw, true).map_err(LogicalError::user)?);
        }
        self.commit(vec![put_metadata(&meta)?]).await?;
        Ok(response)
    }

    async fn delete_metadata(
        self: Arc<Self>,
        _req: Request,
        input: KeyPath,
    ) -> Result<Option<Response>, LogicalError> {
        let _guard = self.lock(&input.path).write().await;
        let Some(meta) = self.metadata(&input.path).await? else {
            return Ok(None);
        };
        let mut ops: Vec<StorageOp> = meta
            .versions
            .keys()
            .map(|&number| StorageOp::Delete(version_key(&input.path, number)))
            .collect();
        ops.push(StorageOp::Delete(metadata_key(&input.path)));
        self.commit(ops).await?;
        Ok(None)
    }
}

#[cfg(test)]
mod tests;
