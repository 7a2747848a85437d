//! The blocks of an audit entry (Vault's schema, field by field) and how each device
//! renders them from an [`AuditInput`]: tokens and accessors HMAC'd per the device's
//! options, data through [`LoggedData`].

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::time::SystemTime;

use serde::Serialize;
use serde_json::Value;
use serde_json::value::RawValue;
use warden_logical::{Auth, Map, Operation, SecretString, WrapInfo};

use super::{AuditInput, Outcome, rfc3339_seconds};
use crate::audit::file::FormatOptions;
use crate::audit::hash::{LoggedData, Salt};

fn is_false(value: &bool) -> bool {
    !*value
}

fn is_zero_i64(value: &i64) -> bool {
    *value == 0
}

fn is_zero_u64(value: &u64) -> bool {
    *value == 0
}

#[derive(Serialize)]
pub(super) struct EntryAuth {
    #[serde(skip_serializing_if = "String::is_empty")]
    client_token: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    accessor: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    display_name: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    policies: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    token_policies: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    identity_policies: Vec<String>,
    #[serde(skip_serializing_if = "is_false")]
    no_default_policy: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    policy_results: Option<PolicyResults>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    metadata: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "is_zero_i64")]
    num_uses: i64,
    #[serde(skip_serializing_if = "is_zero_i64")]
    remaining_uses: i64,
    #[serde(skip_serializing_if = "String::is_empty")]
    entity_id: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    token_type: String,
    #[serde(skip_serializing_if = "is_zero_u64")]
    token_ttl: u64,
    #[serde(skip_serializing_if = "String::is_empty")]
    token_issue_time: String,
}

#[derive(Serialize)]
struct PolicyResults {
    allowed: bool,
}

#[derive(Serialize)]
struct Namespace {
    id: &'static str,
}

#[derive(Serialize)]
pub(super) struct EntryRequest<'a> {
    #[serde(skip_serializing_if = "String::is_empty")]
    id: String,
    operation: &'static str,
    #[serde(skip_serializing_if = "String::is_empty")]
    mount_point: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    mount_type: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    mount_accessor: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    mount_running_version: String,
    #[serde(skip_serializing_if = "str::is_empty")]
    mount_class: &'static str,
    #[serde(skip_serializing_if = "String::is_empty")]
    client_token: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    client_token_accessor: String,
    namespace: Namespace,
    #[serde(skip_serializing_if = "String::is_empty")]
    path: String,
    #[serde(skip_serializing_if = "LoggedData::is_empty")]
    data: LoggedData<'a>,
    #[serde(skip_serializing_if = "String::is_empty")]
    remote_address: String,
    #[serde(skip_serializing_if = "is_zero_u64")]
    remote_port: u64,
    #[serde(skip_serializing_if = "is_zero_u64")]
    wrap_ttl: u64,
}

#[derive(Serialize)]
pub(super) struct EntryResponse<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    auth: Option<EntryAuth>,
    #[serde(skip_serializing_if = "String::is_empty")]
    mount_point: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    mount_type: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    mount_accessor: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    mount_running_plugin_version: String,
    #[serde(skip_serializing_if = "str::is_empty")]
    mount_class: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    secret: Option<EntrySecret>,
    #[serde(skip_serializing_if = "LoggedData::is_empty")]
    data: LoggedData<'a>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    warnings: Vec<String>,
    #[serde(skip_serializing_if = "String::is_empty")]
    redirect: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    wrap_info: Option<EntryWrapInfo>,
}

#[derive(Serialize)]
struct EntrySecret {
    lease_id: String,
}

#[derive(Serialize)]
struct EntryWrapInfo {
    #[serde(skip_serializing_if = "is_zero_u64")]
    ttl: u64,
    #[serde(skip_serializing_if = "String::is_empty")]
    token: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    accessor: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    creation_time: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    creation_path: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    wrapped_accessor: String,
}

#[derive(Serialize)]
pub(super) struct Entry<'a> {
    pub(super) time: String,
    #[serde(rename = "type")]
    pub(super) kind: &'static str,
    pub(super) auth: &'a RawValue,
    pub(super) request: &'a RawValue,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) response: Option<EntryResponse<'a>>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub(super) error: String,
}

/// What a device needs to render an entry: its format options and salt, and the caller's
/// token and accessor as this device shows them (both appear twice in every entry, in `auth`
/// and in `request`, so they are hashed once).
pub(super) struct Hasher<'a> {
    format: &'a FormatOptions,
    salt: &'a Salt,
    client_token: String,
    caller_accessor: String,
}

impl<'a> Hasher<'a> {
    /// A hasher for the response's own blocks, which never show the caller's token.
    pub(super) fn bare(format: &'a FormatOptions, salt: &'a Salt) -> Self {
        Self {
            format,
            salt,
            client_token: String::new(),
            caller_accessor: String::new(),
        }
    }

    /// A hasher for the `auth` and `request` blocks: the caller's token and accessor hashed.
    pub(super) fn new(input: &AuditInput, format: &'a FormatOptions, salt: &'a Salt) -> Self {
        let mut h = Self::bare(format, salt);
        h.client_token = h.token(input.client_token.as_ref().map_or("", SecretString::expose));
        h.caller_accessor = h.accessor(input.caller.as_ref().map_or("", |c| c.accessor.as_str()));
        h
    }

    /// A token: HMAC'd unless `log_raw`; empty stays empty.
    fn token(&self, value: &str) -> String {
        if self.format.raw || value.is_empty() {
            value.to_owned()
        } else {
            self.salt.hmac(value)
        }
    }

    /// An accessor: HMAC'd when `hmac_accessor` (and not `log_raw`).
    fn accessor(&self, value: &str) -> String {
        if self.format.hmac_accessor {
            self.token(value)
        } else {
            value.to_owned()
        }
    }

    fn data<'d>(&self, data: &'d Map, non_hmac_keys: &'d [String]) -> LoggedData<'d>
    where
        'a: 'd,
    {
        let salt = (!self.format.raw).then_some(self.salt);
        LoggedData::new(data, salt, non_hmac_keys)
    }
}

/// The running version Vault reports for builtin mounts.
pub(super) fn running_version() -> String {
    format!("v{}+builtin.warden", env!("CARGO_PKG_VERSION"))
}

/// The running version an entry shows for the mount at `point`: none outside a mount.
fn running_version_at(point: &str) -> String {
    if point.is_empty() {
        String::new()
    } else {
        running_version()
    }
}

pub(super) fn caller_auth(input: &AuditInput, h: &Hasher<'_>) -> EntryAuth {
    // Without a valid token Vault's `CheckToken` returns no `auth` at all: the presented
    // token then shows only as `request.client_token`.
    let client_token = match &input.caller {
        Some(_) => h.client_token.clone(),
        None => String::new(),
    };
    let caller = input.caller.clone().unwrap_or_default();
    EntryAuth {
        client_token,
        accessor: h.caller_accessor.clone(),
        display_name: caller.display_name,
        policies: caller.policies,
        token_policies: caller.token_policies,
        identity_policies: Vec::new(),
        no_default_policy: false,
        policy_results: input.allowed.map(|allowed| PolicyResults { allowed }),
        metadata: caller.metadata,
        num_uses: 0,
        remaining_uses: caller.remaining_uses,
        entity_id: caller.entity_id,
        token_type: if caller.token_type.is_empty() {
            "default"
        } else {
            caller.token_type
        }
        .to_owned(),
        token_ttl: caller.ttl,
        token_issue_time: if caller.issue_time > 0 {
            rfc3339_seconds(caller.issue_time)
        } else {
            String::new()
        },
    }
}

pub(super) fn request_block<'a>(input: &'a AuditInput, h: &Hasher<'a>) -> EntryRequest<'a> {
    let mount = input.mount.clone().unwrap_or_default();
    EntryRequest {
        id: input.id.clone(),
        operation: input.operation.as_str(),
        mount_running_version: running_version_at(&mount.point),
        mount_point: mount.point,
        mount_type: mount.mount_type,
        mount_accessor: mount.accessor,
        mount_class: mount.class,
        client_token: h.client_token.clone(),
        client_token_accessor: h.caller_accessor.clone(),
        namespace: Namespace { id: "root" },
        path: input.path.clone(),
        data: h.data(&input.data, &input.non_hmac_request_keys),
        remote_address: input
            .connection
            .as_ref()
            .map_or_else(String::new, |c| c.remote_addr.to_string()),
        remote_port: input
            .connection
            .as_ref()
            .map_or(0, |c| u64::from(c.remote_port)),
        wrap_ttl: input.wrap_ttl.map_or(0, |ttl| ttl.as_secs()),
    }
}

fn response_auth(auth: &Auth, h: &Hasher<'_>) -> EntryAuth {
    EntryAuth {
        client_token: h.token(auth.client_token.as_ref().map_or("", SecretString::expose)),
        accessor: h.accessor(&auth.accessor),
        display_name: auth.display_name.clone(),
        policies: auth.policies.clone(),
        token_policies: auth.token_policies.clone(),
        identity_policies: auth.identity_policies.clone(),
        no_default_policy: auth.no_default_policy,
        policy_results: None,
        metadata: auth.metadata.clone(),
        num_uses: auth.num_uses.max(0),
        remaining_uses: 0,
        entity_id: auth.entity_id.clone(),
        token_type: auth.token_type.as_str().to_owned(),
        token_ttl: auth.lease.ttl.as_secs(),
        token_issue_time: auth.lease.issue_time.map_or_else(String::new, |at| {
            let secs = at
                .duration_since(SystemTime::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            rfc3339_seconds(i64::try_from(secs).unwrap_or(i64::MAX))
        }),
    }
}

fn wrap_info(info: &WrapInfo, h: &Hasher<'_>) -> EntryWrapInfo {
    // Vault hashes the token and the accessor even when empty.
    let always = |value: &str| {
        if h.format.raw {
            value.to_owned()
        } else {
            h.salt.hmac(value)
        }
    };
    EntryWrapInfo {
        ttl: info.ttl.as_secs(),
        token: always(info.token.expose()),
        accessor: if h.format.hmac_accessor {
            always(&info.accessor)
        } else {
            info.accessor.clone()
        },
        creation_time: info.creation_time.clone(),
        creation_path: info.creation_path.clone(),
        wrapped_accessor: h.accessor(&info.wrapped_accessor),
    }
}

/// Replaces list `keys` and `key_info` with their counts (`elide_list_responses`).
fn elide_list_data(data: &mut Map) {
    if let Some(Value::Array(keys)) = data.get("keys") {
        let count = keys.len();
        data.insert("keys".into(), Value::from(count));
    }
    if let Some(Value::Object(info)) = data.get("key_info") {
        let count = info.len();
        data.insert("key_info".into(), Value::from(count));
    }
}

/// The response data a device logs: the response's own, unless an error message or
/// `elide_list_responses` changes it.
pub(super) fn response_data<'a>(
    input: &AuditInput,
    outcome: &Outcome<'a>,
    format: &FormatOptions,
) -> Cow<'a, Map> {
    static EMPTY: std::sync::LazyLock<Map> = std::sync::LazyLock::new(Map::new);
    let own = outcome.response.and_then(|r| r.data.as_ref());
    let elide = format.elide_list_responses && input.operation == Operation::List;
    if outcome.error_data.is_none() && !elide {
        return Cow::Borrowed(own.unwrap_or(&EMPTY));
    }
    let mut data = own.cloned().unwrap_or_default();
    if let Some(message) = &outcome.error_data {
        data.insert("error".into(), Value::String(message.clone()));
    }
    if elide {
        elide_list_data(&mut data);
    }
    Cow::Owned(data)
}

pub(super) fn response_block<'a>(
    input: &'a AuditInput,
    outcome: &Outcome<'a>,
    data: &'a Map,
    h: &Hasher<'a>,
) -> EntryResponse<'a> {
    let mount = input.mount.clone().unwrap_or_default();
    let resp = outcome.response;
    EntryResponse {
        auth: resp
            .and_then(|r| r.auth.as_ref())
            .map(|auth| response_auth(auth, h)),
        mount_running_plugin_version: running_version_at(&mount.point),
        mount_point: mount.point,
        mount_type: mount.mount_type,
        mount_accessor: mount.accessor,
        mount_class: mount.class,
        secret: resp.and_then(|r| r.secret.as_ref()).map(|s| EntrySecret {
            lease_id: s.lease_id.clone(),
        }),
        data: h.data(data, &input.non_hmac_response_keys),
        warnings: resp.map(|r| r.warnings.clone()).unwrap_or_default(),
        redirect: resp.and_then(|r| r.redirect.clone()).unwrap_or_default(),
        wrap_info: resp
            .and_then(|r| r.wrap_info.as_ref())
            .map(|info| wrap_info(info, h)),
    }
}
