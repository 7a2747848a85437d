//! `sys/mounts…` and `sys/auth…`: list, enable, read, disable and tune mounts.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Deserialize;
use serde_json::{Value, json};
use warden_logical::framework::{
    Field, FieldType, Input, NoInput, Path, handler, parse_duration_second,
};
use warden_logical::{LogicalError, Map, Operation, Request, Response};

use super::{SysBackend, to_logical};
use crate::mount::{MountConfig, MountEntry, MountTable, sanitize_path};

pub(super) fn paths(state: &Arc<SysBackend>) -> Vec<Path> {
    let path_field = || Field::new("path", FieldType::String).description("The mount path.");
    let tune_fields = || {
        [
            path_field(),
            Field::new("default_lease_ttl", FieldType::String)
                .description("The default lease TTL: a duration, seconds, or \"system\"."),
            Field::new("max_lease_ttl", FieldType::String)
                .description("The maximum lease TTL: a duration, seconds, or \"system\"."),
            Field::new("description", FieldType::String).description("Free text."),
            Field::new("audit_non_hmac_request_keys", FieldType::CommaStringSlice),
            Field::new("audit_non_hmac_response_keys", FieldType::CommaStringSlice),
            Field::new("listing_visibility", FieldType::String)
                .description("\"unauth\" to list the mount in the UI without a token."),
            Field::new("passthrough_request_headers", FieldType::CommaStringSlice),
            Field::new("allowed_response_headers", FieldType::CommaStringSlice),
            Field::new("token_type", FieldType::String)
                .description("Auth mounts: the type of tokens logins create."),
            Field::new("options", FieldType::KvPairs),
            Field::new("force_no_cache", FieldType::Bool),
            Field::new("plugin_version", FieldType::String),
        ]
    };
    let enable_fields = || {
        [
            path_field(),
            Field::new("type", FieldType::String)
                .description("The backend type (kv, kubernetes…)."),
            Field::new("description", FieldType::String).default(json!("")),
            Field::new("config", FieldType::Map).description("default_lease_ttl, max_lease_ttl, …"),
            Field::new("options", FieldType::KvPairs),
            Field::new("local", FieldType::Bool).default(json!(false)),
            Field::new("seal_wrap", FieldType::Bool).default(json!(false)),
            Field::new("external_entropy_access", FieldType::Bool).default(json!(false)),
            Field::new("plugin_name", FieldType::String),
            Field::new("plugin_version", FieldType::String),
        ]
    };
    vec![
        Path::new("mounts")
            .operation(Operation::Read, handler(state, list_secrets))
            .help("List the mounted secrets engines.", ""),
        Path::new("mounts/(?P<path>.+?)/tune")
            .fields(tune_fields())
            .operation(Operation::Read, handler(state, read_tune))
            .operation(Operation::Update, handler(state, write_tune))
            .help("Tune the settings of a secrets engine.", ""),
        Path::new("mounts/(?P<path>.+?)")
            .fields(enable_fields())
            .operation(Operation::Read, handler(state, read_secret_mount))
            .operation(Operation::Update, handler(state, enable_secret))
            .operation(Operation::Delete, handler(state, disable_secret))
            .help("Enable, read or disable a secrets engine.", ""),
        Path::new("auth")
            .operation(Operation::Read, handler(state, list_auth))
            .help("List the enabled auth methods.", ""),
        Path::new("auth/(?P<path>.+?)/tune")
            .fields(tune_fields())
            .operation(Operation::Read, handler(state, read_auth_tune))
            .operation(Operation::Update, handler(state, write_auth_tune))
            .help("Tune the settings of an auth method.", ""),
        Path::new("auth/(?P<path>.+)")
            .fields(enable_fields())
            .operation(Operation::Read, handler(state, read_auth_mount))
            .operation(Operation::Update, handler(state, enable_auth))
            .operation(Operation::Delete, handler(state, disable_auth))
            .help("Enable, read or disable an auth method.", ""),
    ]
}

fn table_response(entries: Vec<MountEntry>) -> Option<Response> {
    let data: Map = entries
        .into_iter()
        .map(|entry| (entry.path.clone(), entry.info()))
        .collect();
    Some(Response::with_data(data))
}

async fn list_secrets(
    sys: Arc<SysBackend>,
    _req: Request,
    _input: NoInput,
) -> Result<Option<Response>, LogicalError> {
    Ok(table_response(
        sys.core()?
            .mount_entries(MountTable::Secrets)
            .map_err(to_logical)?,
    ))
}

async fn list_auth(
    sys: Arc<SysBackend>,
    _req: Request,
    _input: NoInput,
) -> Result<Option<Response>, LogicalError> {
    Ok(table_response(
        sys.core()?
            .mount_entries(MountTable::Auth)
            .map_err(to_logical)?,
    ))
}

#[derive(Debug, Deserialize)]
struct MountPath {
    path: String,
}

async fn read_mount(
    sys: &SysBackend,
    table: MountTable,
    path: &str,
) -> Result<Option<Response>, LogicalError> {
    let path = sanitize_path(path);
    let entry = sys
        .core()?
        .mount_entries(table)
        .map_err(to_logical)?
        .into_iter()
        .find(|entry| entry.path == path);
    match (entry, table) {
        (Some(entry), _) => Ok(Some(Response::with_data(object(entry.info())))),
        (None, MountTable::Secrets) => Err(LogicalError::user(format!(
            "No secret engine mount at {path}"
        ))),
        (None, MountTable::Auth) => Err(LogicalError::user(format!("No auth engine at {path}"))),
    }
}

async fn read_secret_mount(
    sys: Arc<SysBackend>,
    _req: Request,
    input: MountPath,
) -> Result<Option<Response>, LogicalError> {
    read_mount(&sys, MountTable::Secrets, &input.path).await
}

async fn read_auth_mount(
    sys: Arc<SysBackend>,
    _req: Request,
    input: MountPath,
) -> Result<Option<Response>, LogicalError> {
    read_mount(&sys, MountTable::Auth, &input.path).await
}

#[derive(Debug, Deserialize)]
struct EnableMount {
    path: String,
    #[serde(rename = "type", default)]
    mount_type: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    config: Map,
    #[serde(default)]
    options: Option<BTreeMap<String, String>>,
    #[serde(default)]
    local: bool,
    #[serde(default)]
    seal_wrap: bool,
    #[serde(default)]
    external_entropy_access: bool,
    #[serde(default)]
    plugin_name: String,
}

/// Reads a TTL from a mount config: `""` and `"system"` mean unset (0).
fn config_ttl(config: &Map, key: &str, what: &str) -> Result<u64, LogicalError> {
    let Some(value) = config.get(key) else {
        return Ok(0);
    };
    if matches!(value.as_str(), Some("" | "system")) {
        return Ok(0);
    }
    let shown = value
        .as_str()
        .map_or_else(|| value.to_string(), str::to_owned);
    match parse_duration_second(value) {
        Ok(Some(seconds)) if seconds >= 0 => Ok(seconds.unsigned_abs()),
        Ok(None) => Ok(0),
        Ok(Some(_)) => Err(LogicalError::user(format!(
            "unable to parse {what} of {shown}: negative"
        ))),
        Err(err) => Err(LogicalError::user(format!(
            "unable to parse {what} of {shown}: {err}"
        ))),
    }
}

fn config_list(config: &Map, key: &str) -> Vec<String> {
    match config.get(key) {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|item| item.as_str().map(str::to_owned))
            .collect(),
        Some(Value::String(text)) if !text.is_empty() => {
            text.split(',').map(|part| part.trim().to_owned()).collect()
        }
        _ => Vec::new(),
    }
}

fn check_listing_visibility(value: &str) -> Result<(), LogicalError> {
    match value {
        "" | "unauth" | "hidden" => Ok(()),
        other => Err(LogicalError::user(format!(
            "invalid listing_visibility {other}"
        ))),
    }
}

fn mount_config(
    config: &Map,
    table: MountTable,
    system_max: u64,
) -> Result<MountConfig, LogicalError> {
    let default_lease_ttl = config_ttl(config, "default_lease_ttl", "default TTL")?;
    let max_lease_ttl = config_ttl(config, "max_lease_ttl", "max TTL")?;
    if max_lease_ttl != 0 && default_lease_ttl > max_lease_ttl {
        return Err(LogicalError::user(
            "given default lease TTL greater than given max lease TTL",
        ));
    }
    if default_lease_ttl > system_max && max_lease_ttl == 0 {
        return Err(LogicalError::user(format!(
            "given default lease TTL greater than system max lease TTL of {system_max}"
        )));
    }
    let text = |key: &str| {
        config
            .get(key)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let listing_visibility = text("listing_visibility");
    check_listing_visibility(&listing_visibility)?;
    let token_type = text("token_type");
    if table == MountTable::Auth {
        check_token_type(&token_type)?;
    }
    Ok(MountConfig {
        default_lease_ttl,
        max_lease_ttl,
        force_no_cache: config
            .get("force_no_cache")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        token_type: if table == MountTable::Auth {
            token_type
        } else {
            String::new()
        },
        audit_non_hmac_request_keys: config_list(config, "audit_non_hmac_request_keys"),
        audit_non_hmac_response_keys: config_list(config, "audit_non_hmac_response_keys"),
        listing_visibility,
        passthrough_request_headers: config_list(config, "passthrough_request_headers"),
        allowed_response_headers: config_list(config, "allowed_response_headers"),
    })
}

fn check_token_type(value: &str) -> Result<(), LogicalError> {
    match value {
        "" | "default-service" | "default-batch" | "service" | "batch" => Ok(()),
        _ => Err(LogicalError::user("invalid value for 'token_type'")),
    }
}

async fn enable(
    sys: &SysBackend,
    table: MountTable,
    input: EnableMount,
) -> Result<Option<Response>, LogicalError> {
    let core = sys.core()?;
    let mut mount_type = input.mount_type;
    if mount_type == "plugin" {
        mount_type = input.plugin_name.clone();
    }
    if mount_type.is_empty() {
        return Err(LogicalError::user(match table {
            MountTable::Secrets => "backend type must be specified as a string",
            MountTable::Auth => "backend type must be specified as a string",
        }));
    }
    let mut options = input.options.unwrap_or_default();
    if table == MountTable::Secrets {
        match mount_type.as_str() {
            "kv-v1" | "kv-v2" => {
                let version = if mount_type == "kv-v1" { "1" } else { "2" };
                options.insert("version".into(), version.into());
                mount_type = "kv".into();
            }
            "kv" | "generic" => {}
            other if options.get("version").is_some_and(|v| !v.is_empty()) => {
                return Err(LogicalError::user(format!(
                    "secrets engine {other:?} does not allow setting a version"
                )));
            }
            _ => {}
        }
    }
    let system_max = core.config.max_lease_ttl.as_secs();
    let config = mount_config(&input.config, table, system_max)?;
    let mut entry = MountEntry::new(table, &sanitize_path(&input.path), &mount_type);
    entry.description = input.description;
    entry.config = config;
    entry.options = options;
    entry.local = input.local;
    entry.seal_wrap = input.seal_wrap;
    entry.external_entropy_access = input.external_entropy_access;
    core.enable_mount(entry).await.map_err(to_logical)?;
    Ok(None)
}

async fn enable_secret(
    sys: Arc<SysBackend>,
    _req: Request,
    input: EnableMount,
) -> Result<Option<Response>, LogicalError> {
    enable(&sys, MountTable::Secrets, input).await
}

async fn enable_auth(
    sys: Arc<SysBackend>,
    _req: Request,
    input: EnableMount,
) -> Result<Option<Response>, LogicalError> {
    enable(&sys, MountTable::Auth, input).await
}

async fn disable_secret(
    sys: Arc<SysBackend>,
    _req: Request,
    input: MountPath,
) -> Result<Option<Response>, LogicalError> {
    let core = sys.core()?;
    core.disable_mount(MountTable::Secrets, &sanitize_path(&input.path))
        .await
        .map_err(to_logical)?;
    Ok(None)
}

async fn disable_auth(
    sys: Arc<SysBackend>,
    _req: Request,
    input: MountPath,
) -> Result<Option<Response>, LogicalError> {
    let core = sys.core()?;
    core.disable_mount(MountTable::Auth, &sanitize_path(&input.path))
        .await
        .map_err(to_logical)?;
    Ok(None)
}

fn object(value: Value) -> Map {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

/// Finds the entry a tune path names: `sys/mounts/auth/x/tune` tunes an auth method too.
fn tune_target(sys: &SysBackend, route_path: &str) -> Result<MountEntry, LogicalError> {
    let core = sys.core()?;
    let route_path = sanitize_path(route_path);
    let table = if route_path.starts_with("auth/") {
        MountTable::Auth
    } else {
        MountTable::Secrets
    };
    core.mount_entries(table)
        .map_err(to_logical)?
        .into_iter()
        .find(|entry| entry.route_path() == route_path)
        .ok_or_else(|| {
            LogicalError::user(format!("cannot fetch mount entry for path {route_path:?}"))
        })
}

fn tune_read(sys: &SysBackend, route_path: &str) -> Result<Option<Response>, LogicalError> {
    let core = sys.core()?;
    let entry = tune_target(sys, route_path)?;
    let (default, max) = core.mount_ttls(&entry.config);
    let mut data = Map::new();
    data.insert("description".into(), json!(entry.description));
    data.insert("default_lease_ttl".into(), json!(default.as_secs()));
    data.insert("max_lease_ttl".into(), json!(max.as_secs()));
    data.insert("force_no_cache".into(), json!(entry.config.force_no_cache));
    if entry.table == MountTable::Auth {
        let token_type = if entry.config.token_type.is_empty() {
            "default-service"
        } else {
            entry.config.token_type.as_str()
        };
        data.insert("token_type".into(), json!(token_type));
    }
    let lists = [
        (
            "audit_non_hmac_request_keys",
            &entry.config.audit_non_hmac_request_keys,
        ),
        (
            "audit_non_hmac_response_keys",
            &entry.config.audit_non_hmac_response_keys,
        ),
        (
            "passthrough_request_headers",
            &entry.config.passthrough_request_headers,
        ),
        (
            "allowed_response_headers",
            &entry.config.allowed_response_headers,
        ),
    ];
    for (key, values) in lists {
        if !values.is_empty() {
            data.insert(key.into(), json!(values));
        }
    }
    if !entry.config.listing_visibility.is_empty() {
        data.insert(
            "listing_visibility".into(),
            json!(entry.config.listing_visibility),
        );
    }
    if !entry.options.is_empty() {
        data.insert("options".into(), json!(entry.options));
    }
    Ok(Some(Response::with_data(data)))
}

async fn read_tune(
    sys: Arc<SysBackend>,
    _req: Request,
    input: MountPath,
) -> Result<Option<Response>, LogicalError> {
    tune_read(&sys, &input.path)
}

async fn read_auth_tune(
    sys: Arc<SysBackend>,
    _req: Request,
    input: MountPath,
) -> Result<Option<Response>, LogicalError> {
    tune_read(&sys, &format!("auth/{}", input.path))
}

#[derive(Debug, Deserialize)]
struct TuneMount {
    path: String,
    default_lease_ttl: Option<Value>,
    max_lease_ttl: Option<Value>,
    description: Option<String>,
    audit_non_hmac_request_keys: Option<Vec<String>>,
    audit_non_hmac_response_keys: Option<Vec<String>>,
    listing_visibility: Option<String>,
    passthrough_request_headers: Option<Vec<String>>,
    allowed_response_headers: Option<Vec<String>>,
    token_type: Option<String>,
    options: Option<BTreeMap<String, String>>,
    force_no_cache: Option<bool>,
}

async fn tune_write(
    sys: &SysBackend,
    route_path: &str,
    input: Input<TuneMount>,
) -> Result<Option<Response>, LogicalError> {
    let core = sys.core()?;
    let target = tune_target(sys, route_path)?;
    let provided_ttl = |key: &str, value: &Option<Value>| -> Result<Option<u64>, LogicalError> {
        if !input.provided(key) {
            return Ok(None);
        }
        let mut config = Map::new();
        if let Some(value) = value {
            config.insert(key.to_owned(), value.clone());
        }
        if config.get(key).and_then(Value::as_str) == Some("") {
            return Ok(None);
        }
        config_ttl(&config, key, "TTL").map(Some)
    };
    let default_ttl = provided_ttl("default_lease_ttl", &input.default_lease_ttl)?;
    let max_ttl = provided_ttl("max_lease_ttl", &input.max_lease_ttl)?;
    let new_default = default_ttl.unwrap_or(target.config.default_lease_ttl);
    let new_max = max_ttl.unwrap_or(target.config.max_lease_ttl);
    if new_default != 0 && new_max != 0 && new_max < new_default {
        return Err(LogicalError::user(format!(
            "backend max lease TTL of {new_max} would be less than backend default lease TTL of {new_default}"
        )));
    }
    if let Some(visibility) = &input.listing_visibility {
        check_listing_visibility(visibility)?;
    }
    if let Some(token_type) = &input.token_type {
        if target.table != MountTable::Auth {
            return Err(LogicalError::user(
                "'token_type' can only be modified on auth mounts",
            ));
        }
        if target.mount_type == "token" {
            return Err(LogicalError::user(
                "'token_type' cannot be set for 'token' or 'ns_token' auth mounts",
            ));
        }
        check_token_type(token_type)?;
    }
    if let Some(options) = &input.options {
        let current = target
            .options
            .get("version")
            .map(String::as_str)
            .unwrap_or("1");
        if let Some(version) = options.get("version").filter(|v| !v.is_empty())
            && target.mount_type == "kv"
            && version != current
        {
            return Err(LogicalError::user(
                "changing the version of an existing KV mount is not supported",
            ));
        }
    }
    let tuned = input.into_inner();
    core.tune_mount(&target.route_path(), move |entry| {
        entry.config.default_lease_ttl = new_default;
        entry.config.max_lease_ttl = new_max;
        if let Some(description) = tuned.description {
            entry.description = description;
        }
        if let Some(keys) = tuned.audit_non_hmac_request_keys {
            entry.config.audit_non_hmac_request_keys = keys;
        }
        if let Some(keys) = tuned.audit_non_hmac_response_keys {
            entry.config.audit_non_hmac_response_keys = keys;
        }
        if let Some(visibility) = tuned.listing_visibility {
            entry.config.listing_visibility = visibility;
        }
        if let Some(headers) = tuned.passthrough_request_headers {
            entry.config.passthrough_request_headers = headers;
        }
        if let Some(headers) = tuned.allowed_response_headers {
            entry.config.allowed_response_headers = headers;
        }
        if let Some(token_type) = tuned.token_type {
            entry.config.token_type = token_type;
        }
        if let Some(force) = tuned.force_no_cache {
            entry.config.force_no_cache = force;
        }
        if let Some(options) = tuned.options {
            entry.options.extend(options);
        }
        Ok(())
    })
    .await
    .map_err(to_logical)?;
    Ok(None)
}

async fn write_tune(
    sys: Arc<SysBackend>,
    _req: Request,
    input: Input<TuneMount>,
) -> Result<Option<Response>, LogicalError> {
    let path = input.path.clone();
    tune_write(&sys, &path, input).await
}

async fn write_auth_tune(
    sys: Arc<SysBackend>,
    _req: Request,
    input: Input<TuneMount>,
) -> Result<Option<Response>, LogicalError> {
    let path = format!("auth/{}", input.path);
    tune_write(&sys, &path, input).await
}
