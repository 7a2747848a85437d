//! The server configuration: Vault's `vault server -config` file, HCL or JSON, parsed completely
//! into typed structs before anything is bound or opened.
//!
//! Accepted, as Vault accepts them (`command/server/config.go`, `internalshared/configutil`):
//! one `storage "<type>"` stanza (or its legacy name `backend`), one or more `listener "tcp"`
//! stanzas, and the top-level settings below. Keys Vault knows but warden does not implement, and
//! keys nobody knows, become warnings in [`Config::warnings`]; they are never dropped silently and
//! never fatal. Anything that is set but wrong is a [`ConfigError`], which `main` turns into exit
//! code [`ConfigError::EXIT_CODE`].

mod duration;
mod listener;
mod source;
mod storage;
mod telemetry;
#[cfg(test)]
mod tests;

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Map, Value};

pub use listener::{
    ClientAuth, DEFAULT_ADDRESS, DEFAULT_MAX_REQUEST_DURATION, DEFAULT_MAX_REQUEST_SIZE,
    ListenerConfig, ListenerTls, TlsVersion,
};
pub use storage::{StorageConfig, StorageKind};
pub use telemetry::TelemetryConfig;

/// Vault's default and maximum lease TTL: 768h (32 days).
pub const DEFAULT_LEASE_TTL: Duration = Duration::from_secs(768 * 3600);

/// The text format of a configuration file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// HCL (Vault's HCL1 style is accepted).
    Hcl,
    /// JSON.
    Json,
}

impl Format {
    /// The format Vault infers from a file name: `.json` is JSON, anything else HCL.
    pub fn from_path(path: &Path) -> Self {
        match path.extension().and_then(|e| e.to_str()) {
            Some(ext) if ext.eq_ignore_ascii_case("json") => Self::Json,
            _ => Self::Hcl,
        }
    }
}

/// `log_level`: Vault's names (`trace`, `debug`, `info`/`notice`, `warn`/`warning`, `err`/`error`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogLevel {
    /// `trace`.
    Trace,
    /// `debug`.
    Debug,
    /// `info` (and `notice`), the default.
    #[default]
    Info,
    /// `warn`, `warning`.
    Warn,
    /// `err`, `error`.
    Error,
}

impl LogLevel {
    /// Parses Vault's level names (case-insensitive, trimmed; empty is `info`).
    pub fn parse(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "trace" => Ok(Self::Trace),
            "debug" => Ok(Self::Debug),
            "notice" | "info" | "" => Ok(Self::Info),
            "warn" | "warning" => Ok(Self::Warn),
            "err" | "error" => Ok(Self::Error),
            _ => Err(format!("unknown log level: {s}")),
        }
    }

    /// The `tracing` level name (usable in an `EnvFilter` directive).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Trace => "trace",
            Self::Debug => "debug",
            Self::Info => "info",
            Self::Warn => "warn",
            Self::Error => "error",
        }
    }
}

/// `log_format`: `standard` (the default, human-readable text) or `json`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    /// `standard` (or unset).
    #[default]
    Standard,
    /// `json`.
    Json,
}

impl LogFormat {
    /// Parses Vault's format names (case-insensitive, trimmed; empty is `standard`).
    pub fn parse(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "" | "standard" => Ok(Self::Standard),
            "json" => Ok(Self::Json),
            _ => Err(format!("unknown log format: {s}")),
        }
    }
}

/// The parsed server configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The one storage backend.
    pub storage: StorageConfig,
    /// The listeners, in file order (at least one).
    pub listeners: Vec<ListenerConfig>,
    /// `api_addr`: the address clients are told to use (redirects, `sys/leader`).
    pub api_addr: Option<String>,
    /// `cluster_addr`: accepted; warden runs a single node.
    pub cluster_addr: Option<String>,
    /// `cluster_name` (reported by `sys/health` and `sys/seal-status`).
    pub cluster_name: Option<String>,
    /// `default_lease_ttl` (default 768h).
    pub default_lease_ttl: Duration,
    /// `max_lease_ttl` (default 768h).
    pub max_lease_ttl: Duration,
    /// `log_level` (default info).
    pub log_level: LogLevel,
    /// `log_format` (default standard).
    pub log_format: LogFormat,
    /// `disable_mlock`: accepted; warden does not mlock.
    pub disable_mlock: bool,
    /// `ui`: accepted; warden serves no web UI.
    pub ui: bool,
    /// `pid_file`: where to write the process id, if set.
    pub pid_file: Option<PathBuf>,
    /// `disable_cache`: turn off the read cache in front of physical storage.
    pub disable_cache: bool,
    /// `plugin_directory`: accepted; warden runs no external plugins.
    pub plugin_directory: Option<PathBuf>,
    /// The `telemetry` stanza.
    pub telemetry: TelemetryConfig,
    /// Everything that was accepted but is unknown, unsupported or has no effect, one line each.
    pub warnings: Vec<String>,
}

/// A configuration that cannot be used. `main` prints it and exits with [`Self::EXIT_CODE`].
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("error loading configuration from {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The text is not valid HCL or JSON.
    #[error("error loading configuration{}: syntax error{}: {message}", from(file), position(*line, *column))]
    Syntax {
        /// The file name (`<config>` for text parsed from a string; empty for none).
        file: String,
        /// 1-based line, when the parser reports one.
        line: Option<usize>,
        /// 1-based column, when the parser reports one.
        column: Option<usize>,
        /// The parser's message.
        message: String,
    },
    /// The text parses but a setting is missing, malformed or contradictory.
    #[error("error loading configuration{}: {message}", from(file))]
    Invalid {
        /// The file name (`<config>` for text parsed from a string; empty for none, as for an
        /// error about command-line flags).
        file: String,
        /// The setting at fault, as a path: `default_lease_ttl`, `listener[0].tls_cert_file`,
        /// `storage.file.path`, or the stanza (`storage`) when the whole stanza is at fault.
        key: String,
        /// What is wrong, naming the setting.
        message: String,
    },
}

impl ConfigError {
    /// The process exit code for an unusable configuration (EX_USAGE).
    pub const EXIT_CODE: i32 = 64;

    /// The setting at fault, for [`ConfigError::Invalid`].
    pub fn key(&self) -> Option<&str> {
        match self {
            Self::Invalid { key, .. } => Some(key),
            _ => None,
        }
    }
}

/// ` from <file>`, or nothing when no file is named.
fn from(file: &str) -> String {
    if file.is_empty() {
        String::new()
    } else {
        format!(" from {file}")
    }
}

fn position(line: Option<usize>, column: Option<usize>) -> String {
    match (line, column) {
        (Some(l), Some(c)) => format!(" at line {l}, column {c}"),
        (Some(l), None) => format!(" at line {l}"),
        _ => String::new(),
    }
}

/// A problem found while interpreting the tree: the key path and the message.
#[derive(Debug)]
pub(crate) struct Invalid {
    pub(crate) key: String,
    pub(crate) message: String,
}

pub(crate) fn invalid(key: impl Into<String>, message: impl fmt::Display) -> Invalid {
    Invalid {
        key: key.into(),
        message: message.to_string(),
    }
}

/// Top-level keys Vault knows that warden accepts but does not act on.
const IGNORED_TOP_LEVEL: &[&str] = &[
    "administrative_namespace_path",
    "cache_size",
    "cloud",
    "cluster_cipher_suites",
    "detect_deadlocks",
    "disable_clustering",
    "disable_indexing",
    "disable_performance_standby",
    "disable_printable_check",
    "disable_sealwrap",
    "disable_sentinel_trace",
    "enable_post_unseal_trace",
    "enable_response_header_hostname",
    "enable_response_header_raft_node_id",
    "entropy",
    "experiments",
    "ha_backend",
    "ha_storage",
    "hsm",
    "imprecise_lease_role_tracking",
    "introspection_endpoint",
    "kms",
    "license_path",
    "log_file",
    "log_requests_level",
    "log_rotate_bytes",
    "log_rotate_duration",
    "log_rotate_max_files",
    "plugin_file_permissions",
    "plugin_file_uid",
    "plugin_tmpdir",
    "post_unseal_trace_directory",
    "raw_storage_endpoint",
    "reporting",
    "service_registration",
    "user_lockout",
];

impl Config {
    /// Reads and parses one configuration file; `.json` files are JSON, others HCL.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::parse_named(&text, Format::from_path(path), &path.display().to_string())
    }

    /// Parses configuration text; errors name the file as `<config>`. HCL text that starts with
    /// `{` is read as JSON, as Vault does.
    pub fn parse_str(text: &str, format: Format) -> Result<Self, ConfigError> {
        Self::parse_named(text, format, "<config>")
    }

    /// Parses configuration text; errors name the file as `file`.
    pub fn parse_named(text: &str, format: Format, file: &str) -> Result<Self, ConfigError> {
        // Vault's HCL1 parser reads JSON too, whatever the file is called: text that starts with
        // `{` cannot be an HCL body, so it is read as JSON.
        let tree = match format {
            Format::Hcl if !text.trim_start().starts_with('{') => source::parse_hcl(text),
            Format::Hcl | Format::Json => source::parse_json(text),
        }
        .map_err(|e| ConfigError::Syntax {
            file: file.to_owned(),
            line: e.line,
            column: e.column,
            message: e.message,
        })?;
        from_tree(tree).map_err(|e| ConfigError::Invalid {
            file: file.to_owned(),
            key: e.key,
            message: e.message,
        })
    }

    /// The configuration `vault server -dev` uses: in-memory storage and one plain-HTTP listener.
    pub fn dev(address: &str) -> Self {
        Self {
            storage: StorageConfig {
                storage_type: "inmem".to_owned(),
                kind: StorageKind::Memory,
            },
            listeners: vec![ListenerConfig::plain(address)],
            api_addr: None,
            cluster_addr: None,
            cluster_name: None,
            default_lease_ttl: DEFAULT_LEASE_TTL,
            max_lease_ttl: DEFAULT_LEASE_TTL,
            log_level: LogLevel::Info,
            log_format: LogFormat::Standard,
            disable_mlock: true,
            ui: true,
            pid_file: None,
            disable_cache: false,
            plugin_directory: None,
            telemetry: TelemetryConfig::default(),
            warnings: Vec::new(),
        }
    }
}

/// A top-level setting, read with `parse`; the error names the key.
fn top<T>(
    tree: &Map<String, Value>,
    key: &str,
    parse: fn(&Value) -> Result<T, String>,
) -> Result<Option<T>, Invalid> {
    tree.get(key)
        .map(|v| parse(v).map_err(|e| invalid(key, format!("invalid value for {key:?}: {e}"))))
        .transpose()
}

fn from_tree(tree: Map<String, Value>) -> Result<Config, Invalid> {
    let mut warnings = Vec::new();

    let storage = storage::parse(&tree, &mut warnings)?;

    let string = |key: &str| -> Result<Option<String>, Invalid> {
        Ok(top(&tree, key, source::as_string)?.filter(|s| !s.is_empty()))
    };
    let boolean = |key: &str| Ok(top(&tree, key, source::as_bool)?.unwrap_or_default());
    let duration = |key: &str| Ok(top(&tree, key, source::as_duration)?.unwrap_or_default());

    let api_addr = string("api_addr")?;
    if let Some(addr) = &api_addr {
        let has_scheme = addr
            .split_once("://")
            .is_some_and(|(scheme, _)| !scheme.is_empty());
        if !has_scheme {
            return Err(invalid(
                "api_addr",
                format!("api_addr {addr:?} must include a scheme (ex. 'http')"),
            ));
        }
    }
    let cluster_addr = string("cluster_addr")?;
    let cluster_name = string("cluster_name")?;

    // Vault: zero (or unset) means the 768h default; default above max is an error.
    let nonzero = |d: Duration| if d.is_zero() { DEFAULT_LEASE_TTL } else { d };
    let default_lease_ttl = nonzero(duration("default_lease_ttl")?);
    let max_lease_ttl = nonzero(duration("max_lease_ttl")?);
    if default_lease_ttl > max_lease_ttl {
        return Err(invalid(
            "default_lease_ttl",
            format!(
                "cannot have DefaultLeaseTTL larger than MaxLeaseTTL (default_lease_ttl is {}s, \
                 max_lease_ttl is {}s)",
                default_lease_ttl.as_secs(),
                max_lease_ttl.as_secs()
            ),
        ));
    }
    let default_max_request_duration = duration("default_max_request_duration")?;

    let log_level = LogLevel::parse(&string("log_level")?.unwrap_or_default())
        .map_err(|e| invalid("log_level", e))?;
    let log_format = LogFormat::parse(&string("log_format")?.unwrap_or_default())
        .map_err(|e| invalid("log_format", e))?;
    let disable_mlock = boolean("disable_mlock")?;
    let ui = boolean("ui")?;
    if ui {
        warnings.push("ui = true: warden serves no web UI; the setting has no effect".to_owned());
    }
    let pid_file = string("pid_file")?.map(PathBuf::from);
    let disable_cache = boolean("disable_cache")?;
    let plugin_directory = string("plugin_directory")?.map(PathBuf::from);
    if plugin_directory.is_some() {
        warnings.push(
            "plugin_directory is set, but warden runs no external plugins; it has no effect"
                .to_owned(),
        );
    }

    let telemetry = telemetry::parse(&tree, &mut warnings)?;
    let listeners = listener::parse_all(
        tree.get("listener"),
        default_max_request_duration,
        &mut warnings,
    )?;

    for key in tree.keys() {
        match key.as_str() {
            "storage"
            | "backend"
            | "listener"
            | "api_addr"
            | "cluster_addr"
            | "cluster_name"
            | "default_lease_ttl"
            | "max_lease_ttl"
            | "default_max_request_duration"
            | "log_level"
            | "log_format"
            | "disable_mlock"
            | "ui"
            | "pid_file"
            | "disable_cache"
            | "plugin_directory"
            | "telemetry" => {}
            "seal" => warnings.push(
                "\"seal\" is not supported: warden seals with Shamir unseal keys; the seal stanza \
                 is ignored"
                    .to_owned(),
            ),
            known if IGNORED_TOP_LEVEL.contains(&known) => {
                warnings.push(format!(
                    "{known:?} is not supported by warden and is ignored"
                ));
            }
            unknown => warnings.push(format!("unknown key {unknown:?}")),
        }
    }

    Ok(Config {
        storage,
        listeners,
        api_addr,
        cluster_addr,
        cluster_name,
        default_lease_ttl,
        max_lease_ttl,
        log_level,
        log_format,
        disable_mlock,
        ui,
        pid_file,
        disable_cache,
        plugin_directory,
        telemetry,
        warnings,
    })
}
