//! `listener "tcp" { … }` stanzas (Vault's `configutil.Listener` and
//! `listenerutil.TLSConfig`).
//!
//! Defaults are Vault's: address `127.0.0.1:8200`; TLS on unless `tls_disable`, so
//! `tls_cert_file` and `tls_key_file` are then required; `tls_min_version` `tls12`;
//! `max_request_size` 32 MiB (negative: no limit); `max_request_duration` 90s (or the top-level
//! `default_max_request_duration`); `http_read_header_timeout` 10s, `http_read_timeout` 30s,
//! `http_write_timeout` none, `http_idle_timeout` 5m (zero keeps the default, as in Vault).
//!
//! Client certificates differ from Vault in one way: Vault *requests* a client certificate on
//! every TLS listener and accepts any (for the cert auth method, which warden does not have),
//! and uses `tls_client_ca_file` only with `tls_require_and_verify_client_cert`. warden asks for
//! one only when a client CA is configured, and always verifies what it gets against that CA.

use std::path::PathBuf;
use std::time::Duration;

use serde_json::{Map, Value};

use super::{Invalid, invalid, source};

/// Vault's default listener address.
pub const DEFAULT_ADDRESS: &str = "127.0.0.1:8200";
/// Vault's default `max_request_size`: 32 MiB.
pub const DEFAULT_MAX_REQUEST_SIZE: u64 = 33_554_432;
/// Vault's default `max_request_duration`.
pub const DEFAULT_MAX_REQUEST_DURATION: Duration = Duration::from_secs(90);

/// Listener keys warden reads.
const KNOWN: &[&str] = &[
    "type",
    "address",
    "cluster_address",
    "tls_disable",
    "tls_cert_file",
    "tls_key_file",
    "tls_client_ca_file",
    "tls_require_and_verify_client_cert",
    "tls_disable_client_certs",
    "tls_min_version",
    "tls_max_version",
    "max_request_size",
    "max_request_duration",
    "http_read_header_timeout",
    "http_read_timeout",
    "http_write_timeout",
    "http_idle_timeout",
    "require_request_header",
    "telemetry",
];

/// Listener keys Vault knows that warden accepts without acting on them.
const IGNORED: &[&str] = &[
    "agent_api",
    "chroot_namespace",
    "cors_allowed_headers",
    "cors_allowed_origins",
    "cors_enabled",
    "custom_response_headers",
    "disable_replication_status_endpoints",
    "disable_request_limiter",
    "inflight_requests_logging",
    "max_json_array_element_count",
    "max_json_depth",
    "max_json_object_entry_count",
    "max_json_string_value_length",
    "max_json_token",
    "max_token_header_size",
    "profiling",
    "proxy_api",
    "proxy_protocol_authorized_addrs",
    "proxy_protocol_behavior",
    "purpose",
    "redact_addresses",
    "redact_cluster_name",
    "redact_version",
    "role",
    "socket_group",
    "socket_mode",
    "socket_user",
    "tls_cipher_suites",
    "tls_prefer_server_cipher_suites",
    "x_forwarded_for_authorized_addrs",
    "x_forwarded_for_client_cert_header",
    "x_forwarded_for_client_cert_header_decoders",
    "x_forwarded_for_hop_skips",
    "x_forwarded_for_reject_not_authorized",
    "x_forwarded_for_reject_not_present",
];

/// One TCP listener.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenerConfig {
    /// `address`, `host:port` (an empty host, as in `":8200"`, becomes `0.0.0.0`).
    pub address: String,
    /// `cluster_address`: accepted; warden has no cluster port.
    pub cluster_address: Option<String>,
    /// TLS settings; `None` when `tls_disable` is set.
    pub tls: Option<ListenerTls>,
    /// `max_request_size` in bytes; `None` when set negative (no limit).
    pub max_request_size: Option<u64>,
    /// `max_request_duration`.
    pub max_request_duration: Duration,
    /// `http_read_header_timeout`.
    pub http_read_header_timeout: Duration,
    /// `http_read_timeout`.
    pub http_read_timeout: Duration,
    /// `http_write_timeout`; `None` is no timeout (the default).
    pub http_write_timeout: Option<Duration>,
    /// `http_idle_timeout`.
    pub http_idle_timeout: Duration,
    /// `require_request_header`: reject requests without `X-Vault-Request: true`.
    pub require_request_header: bool,
    /// `telemetry { unauthenticated_metrics_access = true }`: `sys/metrics` without a token.
    pub unauthenticated_metrics_access: bool,
}

impl ListenerConfig {
    /// A plain-HTTP listener with Vault's defaults (what `tls_disable = true` gives).
    pub fn plain(address: &str) -> Self {
        Self {
            address: address.to_owned(),
            cluster_address: None,
            tls: None,
            max_request_size: Some(DEFAULT_MAX_REQUEST_SIZE),
            max_request_duration: DEFAULT_MAX_REQUEST_DURATION,
            http_read_header_timeout: Duration::from_secs(10),
            http_read_timeout: Duration::from_secs(30),
            http_write_timeout: None,
            http_idle_timeout: Duration::from_secs(300),
            require_request_header: false,
            unauthenticated_metrics_access: false,
        }
    }
}

/// A listener's TLS settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenerTls {
    /// `tls_cert_file`: PEM certificate chain, leaf first.
    pub cert_file: PathBuf,
    /// `tls_key_file`: PEM private key (PKCS#8, PKCS#1 RSA or SEC1 EC).
    pub key_file: PathBuf,
    /// `tls_client_ca_file`: PEM CA certificates client certificates are verified against.
    pub client_ca_file: Option<PathBuf>,
    /// Whether client certificates are asked for and required.
    pub client_auth: ClientAuth,
    /// `tls_min_version`.
    pub min_version: TlsVersion,
    /// `tls_max_version`.
    pub max_version: TlsVersion,
}

/// What a listener asks of TLS clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuth {
    /// No client certificate is requested.
    None,
    /// A client certificate is requested and, if sent, must verify against the client CA.
    Optional,
    /// A client certificate that verifies against the client CA is required.
    Required,
}

/// A TLS protocol version warden speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum TlsVersion {
    /// TLS 1.2 (`tls12`).
    Tls12,
    /// TLS 1.3 (`tls13`).
    Tls13,
}

/// Parses every listener stanza; at least one is required.
pub(super) fn parse_all(
    value: Option<&Value>,
    default_max_request_duration: Duration,
    warnings: &mut Vec<String>,
) -> Result<Vec<ListenerConfig>, Invalid> {
    let Some(value) = value else {
        return Err(invalid(
            "listener",
            "at least one listener must be specified",
        ));
    };
    let blocks = source::blocks("listener", value, true).map_err(|e| invalid("listener", e))?;
    if blocks.is_empty() {
        return Err(invalid(
            "listener",
            "at least one listener must be specified",
        ));
    }
    let many = blocks.len() > 1;
    blocks
        .into_iter()
        .enumerate()
        .map(|(i, (label, body))| {
            let p = Stanza {
                index: i,
                many,
                label,
                body: &body,
            };
            p.parse(default_max_request_duration, warnings)
        })
        .collect()
}

struct Stanza<'a> {
    index: usize,
    many: bool,
    label: Option<String>,
    body: &'a Map<String, Value>,
}

impl Stanza<'_> {
    fn here(&self, kind: &str) -> String {
        if self.many {
            format!("listener {kind:?} (#{})", self.index + 1)
        } else {
            format!("listener {kind:?}")
        }
    }

    fn key(&self, key: &str) -> String {
        format!("listener[{}].{key}", self.index)
    }

    fn bad(&self, kind: &str, key: &str, e: impl std::fmt::Display) -> Invalid {
        invalid(
            self.key(key),
            format!("invalid value for {key:?} in {}: {e}", self.here(kind)),
        )
    }

    fn get<T>(
        &self,
        kind: &str,
        key: &str,
        f: impl Fn(&Value) -> Result<T, String>,
    ) -> Result<Option<T>, Invalid> {
        self.body
            .get(key)
            .map(|v| f(v).map_err(|e| self.bad(kind, key, e)))
            .transpose()
    }

    fn string(&self, kind: &str, key: &str) -> Result<Option<String>, Invalid> {
        Ok(self
            .get(kind, key, source::as_string)?
            .filter(|s| !s.is_empty()))
    }

    fn parse(
        &self,
        default_max_request_duration: Duration,
        warnings: &mut Vec<String>,
    ) -> Result<ListenerConfig, Invalid> {
        let explicit = self
            .get("", "type", source::as_string)?
            .filter(|s| !s.is_empty());
        let kind = match explicit.or_else(|| self.label.clone()) {
            Some(kind) => kind.to_ascii_lowercase(),
            None => return Err(invalid(self.key("type"), "listener type must be specified")),
        };
        match kind.as_str() {
            "tcp" => {}
            "unix" => {
                return Err(invalid(
                    self.key("type"),
                    "listener type \"unix\" is not supported by warden (supported: tcp)",
                ));
            }
            other => {
                return Err(invalid(
                    self.key("type"),
                    format!("unsupported listener type {other:?}"),
                ));
            }
        }
        let kind = kind.as_str();
        let here = self.here(kind);

        let address = match self.string(kind, "address")? {
            None => DEFAULT_ADDRESS.to_owned(),
            Some(a) => normalize_address(&a).map_err(|e| self.bad(kind, "address", e))?,
        };
        let cluster_address = self.string(kind, "cluster_address")?;

        let max_request_size = match self.get(kind, "max_request_size", source::as_int)? {
            None | Some(0) => Some(DEFAULT_MAX_REQUEST_SIZE),
            Some(n) if n < 0 => None,
            Some(n) => Some(n.unsigned_abs()),
        };
        let max_request_duration = self
            .get(kind, "max_request_duration", source::as_duration)?
            .filter(|d| !d.is_zero())
            .or((!default_max_request_duration.is_zero()).then_some(default_max_request_duration))
            .unwrap_or(DEFAULT_MAX_REQUEST_DURATION);
        let timeout = |key: &str, default: Duration| -> Result<Duration, Invalid> {
            Ok(self
                .get(kind, key, source::as_duration)?
                .filter(|d| !d.is_zero())
                .unwrap_or(default))
        };
        let http_read_header_timeout =
            timeout("http_read_header_timeout", Duration::from_secs(10))?;
        let http_read_timeout = timeout("http_read_timeout", Duration::from_secs(30))?;
        let http_idle_timeout = timeout("http_idle_timeout", Duration::from_secs(300))?;
        let http_write_timeout = self
            .get(kind, "http_write_timeout", source::as_duration)?
            .filter(|d| !d.is_zero());
        let require_request_header = self
            .get(kind, "require_request_header", source::as_bool)?
            .unwrap_or(false);

        let unauthenticated_metrics_access = self.telemetry(kind, warnings)?;

        let tls_disable = self
            .get(kind, "tls_disable", source::as_bool)?
            .unwrap_or(false);
        let tls = if tls_disable {
            let ignored: Vec<&str> = self
                .body
                .keys()
                .map(String::as_str)
                .filter(|k| k.starts_with("tls_") && *k != "tls_disable")
                .collect();
            if !ignored.is_empty() {
                warnings.push(format!(
                    "{here}: tls_disable is set, so {} {} ignored",
                    ignored.join(", "),
                    if ignored.len() == 1 { "is" } else { "are" }
                ));
            }
            None
        } else {
            Some(self.tls(kind, warnings)?)
        };

        for key in self.body.keys() {
            if KNOWN.contains(&key.as_str()) {
                continue;
            }
            if IGNORED.contains(&key.as_str()) {
                warnings.push(format!(
                    "{key:?} in {here} is not supported by warden and is ignored"
                ));
            } else {
                warnings.push(format!("unknown key {key:?} in {here}"));
            }
        }

        Ok(ListenerConfig {
            address,
            cluster_address,
            tls,
            max_request_size,
            max_request_duration,
            http_read_header_timeout,
            http_read_timeout,
            http_write_timeout,
            http_idle_timeout,
            require_request_header,
            unauthenticated_metrics_access,
        })
    }

    /// The listener's `telemetry` block: `unauthenticated_metrics_access` (Vault's only key
    /// there besides the Enterprise-only `disallow_metrics`).
    fn telemetry(&self, kind: &str, warnings: &mut Vec<String>) -> Result<bool, Invalid> {
        let Some(value) = self.body.get("telemetry") else {
            return Ok(false);
        };
        let body = match value {
            Value::Array(items) if items.len() == 1 => &items[0],
            other => other,
        };
        let Value::Object(body) = body else {
            return Err(self.bad(kind, "telemetry", "must be a block"));
        };
        let mut open = false;
        for (key, value) in body {
            if key == "unauthenticated_metrics_access" {
                open = source::as_bool(value)
                    .map_err(|e| self.bad(kind, "telemetry.unauthenticated_metrics_access", e))?;
            } else {
                warnings.push(format!(
                    "unknown key {key:?} in the telemetry block of {}",
                    self.here(kind)
                ));
            }
        }
        Ok(open)
    }

    fn tls(&self, kind: &str, warnings: &mut Vec<String>) -> Result<ListenerTls, Invalid> {
        let here = self.here(kind);
        let cert_file = self.string(kind, "tls_cert_file")?.ok_or_else(|| {
            invalid(
                self.key("tls_cert_file"),
                format!("{here}: 'tls_cert_file' must be set"),
            )
        })?;
        let key_file = self.string(kind, "tls_key_file")?.ok_or_else(|| {
            invalid(
                self.key("tls_key_file"),
                format!("{here}: 'tls_key_file' must be set"),
            )
        })?;
        let client_ca_file = self.string(kind, "tls_client_ca_file")?.map(PathBuf::from);

        let min_raw = self
            .string(kind, "tls_min_version")?
            .unwrap_or_else(|| "tls12".to_owned());
        let max_raw = self
            .string(kind, "tls_max_version")?
            .unwrap_or_else(|| "tls13".to_owned());
        let min_version = match min_raw.as_str() {
            "tls10" | "tls11" => {
                warnings.push(format!(
                    "{here}: tls_min_version {min_raw:?} is below what warden speaks; TLS 1.2 is \
                     the minimum"
                ));
                TlsVersion::Tls12
            }
            "tls12" => TlsVersion::Tls12,
            "tls13" => TlsVersion::Tls13,
            _ => {
                return Err(invalid(
                    self.key("tls_min_version"),
                    format!(
                        "{here}: 'tls_min_version' value {min_raw:?} not supported, please \
                         specify one of [tls10,tls11,tls12,tls13]"
                    ),
                ));
            }
        };
        let max_version = match max_raw.as_str() {
            "tls12" => TlsVersion::Tls12,
            "tls13" => TlsVersion::Tls13,
            "tls10" | "tls11" => {
                return Err(invalid(
                    self.key("tls_max_version"),
                    format!(
                        "{here}: 'tls_max_version' value {max_raw:?} is not supported by warden, \
                         which speaks TLS 1.2 and 1.3 only"
                    ),
                ));
            }
            _ => {
                return Err(invalid(
                    self.key("tls_max_version"),
                    format!(
                        "{here}: 'tls_max_version' value {max_raw:?} not supported, please \
                         specify one of [tls10,tls11,tls12,tls13]"
                    ),
                ));
            }
        };
        if max_version < min_version {
            return Err(invalid(
                self.key("tls_max_version"),
                format!(
                    "{here}: 'tls_max_version' must be greater than or equal to 'tls_min_version'"
                ),
            ));
        }

        let require = self
            .get(kind, "tls_require_and_verify_client_cert", source::as_bool)?
            .unwrap_or(false);
        let disable_client_certs = self
            .get(kind, "tls_disable_client_certs", source::as_bool)?
            .unwrap_or(false);
        let client_auth = match (disable_client_certs, require, &client_ca_file) {
            (true, true, _) => {
                return Err(invalid(
                    self.key("tls_disable_client_certs"),
                    format!(
                        "{here}: 'tls_disable_client_certs' and \
                         'tls_require_and_verify_client_cert' are mutually exclusive"
                    ),
                ));
            }
            (true, false, ca) => {
                if ca.is_some() {
                    warnings.push(format!(
                        "{here}: tls_disable_client_certs is set, so tls_client_ca_file is ignored"
                    ));
                }
                ClientAuth::None
            }
            (false, true, None) => {
                return Err(invalid(
                    self.key("tls_client_ca_file"),
                    format!(
                        "{here}: tls_require_and_verify_client_cert requires tls_client_ca_file \
                         (warden verifies client certificates only against an explicit CA)"
                    ),
                ));
            }
            (false, true, Some(_)) => ClientAuth::Required,
            (false, false, Some(_)) => ClientAuth::Optional,
            (false, false, None) => ClientAuth::None,
        };
        let client_ca_file = if client_auth == ClientAuth::None {
            None
        } else {
            client_ca_file
        };

        Ok(ListenerTls {
            cert_file: PathBuf::from(cert_file),
            key_file: PathBuf::from(key_file),
            client_ca_file,
            client_auth,
            min_version,
            max_version,
        })
    }
}

/// Checks `host:port` and fills an empty host (Go's `":8200"`, all interfaces) with `0.0.0.0`.
fn normalize_address(address: &str) -> Result<String, String> {
    if address.contains("{{") {
        return Err(format!(
            "{address:?}: go-sockaddr templates are not supported"
        ));
    }
    let Some((host, port)) = address.rsplit_once(':') else {
        return Err(format!("{address:?} must be host:port"));
    };
    if port.parse::<u16>().is_err() {
        return Err(format!("{address:?} has an invalid port {port:?}"));
    }
    if host.is_empty() {
        return Ok(format!("0.0.0.0:{port}"));
    }
    if host.contains(':') && !(host.starts_with('[') && host.ends_with(']')) {
        return Err(format!(
            "{address:?}: an IPv6 host must be in brackets, as in \"[::]:8200\""
        ));
    }
    Ok(address.to_owned())
}
