//! Audit entries with Vault's schema (O `internal/audit/format.go`): one JSON object per line,
//! `time` first, then `type`, `auth`, `request`, `response`, `error`; every field but
//! `policy_results.allowed` is omitted when empty.

use std::collections::BTreeMap;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use serde::Serialize;
use serde_json::value::RawValue;
use warden_logical::{Connection, Map, Operation, Request, Response, SecretString};

use super::file::{FormatOptions, encode_line};
use super::hash::Salt;
use crate::CoreError;
use crate::mount::{MountEntry, MountTable};
#[cfg(test)]
use blocks::running_version;
use blocks::{Entry, Hasher, caller_auth, request_block, response_block, response_data};

/// The caller's token as the request's `auth` block shows it.
#[derive(Debug, Clone, Default)]
pub(crate) struct CallerAuth {
    pub(crate) accessor: String,
    pub(crate) display_name: String,
    pub(crate) policies: Vec<String>,
    pub(crate) token_policies: Vec<String>,
    pub(crate) metadata: BTreeMap<String, String>,
    pub(crate) entity_id: String,
    pub(crate) token_type: &'static str,
    pub(crate) ttl: u64,
    pub(crate) issue_time: i64,
    pub(crate) remaining_uses: i64,
}

/// The mount that serves the request.
#[derive(Debug, Clone, Default)]
pub(crate) struct MountFields {
    pub(crate) point: String,
    pub(crate) mount_type: String,
    pub(crate) accessor: String,
    pub(crate) class: &'static str,
}

/// Everything the audit log records about one request, captured as the request arrives
/// (full path, data, token) and completed as routing and the token check learn more.
pub(crate) struct AuditInput {
    pub(crate) id: String,
    pub(crate) operation: Operation,
    pub(crate) path: String,
    pub(crate) data: Map,
    pub(crate) client_token: Option<SecretString>,
    pub(crate) connection: Option<Connection>,
    pub(crate) wrap_ttl: Option<Duration>,
    pub(crate) mount: Option<MountFields>,
    pub(crate) non_hmac_request_keys: Vec<String>,
    pub(crate) non_hmac_response_keys: Vec<String>,
    pub(crate) caller: Option<CallerAuth>,
    /// Whether the request entry was written (or attempted) already.
    pub(crate) request_logged: bool,
    /// `policy_results.allowed` of both entries; `None` omits `policy_results`.
    pub(crate) allowed: Option<bool>,
    /// The `auth` and `request` blocks each device rendered for the request entry: the
    /// response entry repeats them unchanged, so they are hashed and encoded once.
    rendered: Mutex<Vec<Rendered>>,
}

/// One device's rendering of the blocks both entries share.
#[derive(Debug)]
struct Rendered {
    device: String,
    auth: Box<RawValue>,
    request: Box<RawValue>,
}

impl std::fmt::Debug for AuditInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditInput")
            .field("id", &self.id)
            .field("operation", &self.operation)
            .field("path", &self.path)
            .field("mount", &self.mount)
            .field("request_logged", &self.request_logged)
            .finish_non_exhaustive()
    }
}

impl AuditInput {
    /// Captures a request as it arrives: `req.path` must still be the full logical path.
    pub(crate) fn new(req: &Request) -> Self {
        Self {
            id: req.id.clone(),
            operation: req.operation,
            path: req.path.clone(),
            data: req.data.clone(),
            client_token: req.client_token.clone().filter(|t| !t.is_empty()),
            connection: req.connection.clone(),
            wrap_ttl: req.wrap_ttl.filter(|ttl| !ttl.is_zero()),
            mount: None,
            non_hmac_request_keys: Vec::new(),
            non_hmac_response_keys: Vec::new(),
            caller: None,
            request_logged: false,
            allowed: Some(true),
            rendered: Mutex::new(Vec::new()),
        }
    }

    /// The probe written when a device is enabled (Vault's `generateAuditTestProbe`).
    pub(crate) fn probe() -> Self {
        let mut req = Request::new(Operation::Update, "sys/audit/test", Map::new());
        req.id = uuid::Uuid::new_v4().to_string();
        let mut probe = Self::new(&req);
        probe.allowed = None;
        probe
    }

    /// Records the mount that serves the request, with its non-HMAC keys.
    pub(crate) fn set_mount(&mut self, entry: &MountEntry) {
        self.mount = Some(MountFields {
            point: entry.route_path(),
            mount_type: entry.mount_type.clone(),
            accessor: entry.accessor.clone(),
            class: match entry.table {
                MountTable::Secrets => "secret",
                MountTable::Auth => "auth",
            },
        });
        self.non_hmac_request_keys = entry.config.audit_non_hmac_request_keys.clone();
        self.non_hmac_response_keys = entry.config.audit_non_hmac_response_keys.clone();
    }

    /// Records the caller's token, once looked up.
    pub(crate) fn set_token(&mut self, token: &warden_logical::TokenEntry) {
        self.caller = Some(CallerAuth {
            accessor: token.accessor.clone(),
            display_name: token.display_name.clone(),
            policies: token.policies.clone(),
            token_policies: token.policies.clone(),
            metadata: token.meta.clone(),
            entity_id: token.entity_id.clone(),
            token_type: token.token_type.as_str(),
            ttl: token.ttl,
            issue_time: token.creation_time,
            remaining_uses: token.num_uses.max(0),
        });
    }
}

/// How a request ended, as a response entry shows it.
#[derive(Debug, Default)]
pub(crate) struct Outcome<'a> {
    /// The response the client gets, if any.
    pub(crate) response: Option<&'a Response>,
    /// The top-level `error`, in clear.
    pub(crate) error: String,
    /// An error response's message: shown as `response.data.error`, HMAC'd.
    pub(crate) error_data: Option<String>,
}

fn raw(block: &impl Serialize) -> Result<Box<RawValue>, CoreError> {
    serde_json::value::to_raw_value(block)
        .map_err(|err| CoreError::internal(format!("failed to encode audit entry: {err}")))
}

/// The `auth` and `request` blocks, the same in both entries, as one device renders them.
fn shared_blocks(
    input: &AuditInput,
    format: &FormatOptions,
    salt: &Salt,
) -> Result<(Box<RawValue>, Box<RawValue>), CoreError> {
    let h = Hasher::new(input, format, salt);
    Ok((
        raw(&caller_auth(input, &h))?,
        raw(&request_block(input, &h))?,
    ))
}

impl AuditInput {
    fn rendered(&self) -> std::sync::MutexGuard<'_, Vec<Rendered>> {
        // Plain data: a panic elsewhere cannot leave it half-updated.
        self.rendered.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The request entry of one device (`device` names it, to reuse its blocks in the response
/// entry).
pub(crate) fn request_line(
    device: &str,
    input: &AuditInput,
    error: &str,
    time: &str,
    format: &FormatOptions,
    salt: &Salt,
) -> Result<Vec<u8>, CoreError> {
    let (auth, request) = shared_blocks(input, format, salt)?;
    let entry = Entry {
        time: time.to_owned(),
        kind: "request",
        auth: &auth,
        request: &request,
        response: None,
        error: error.to_owned(),
    };
    let line = encode_line(&entry, format)?;
    let mut rendered = input.rendered();
    rendered.retain(|r| r.device != device);
    rendered.push(Rendered {
        device: device.to_owned(),
        auth,
        request,
    });
    Ok(line)
}

/// The response entry of one device.
pub(crate) fn response_line(
    device: &str,
    input: &AuditInput,
    outcome: &Outcome<'_>,
    time: &str,
    format: &FormatOptions,
    salt: &Salt,
) -> Result<Vec<u8>, CoreError> {
    let data = response_data(input, outcome, format);
    let response = Some(response_block(
        input,
        outcome,
        &data,
        &Hasher::bare(format, salt),
    ));
    let rendered = input.rendered();
    let reused = rendered.iter().find(|r| r.device == device);
    let fresh;
    let (auth, request) = match reused {
        Some(r) => (&*r.auth, &*r.request),
        None => {
            fresh = shared_blocks(input, format, salt)?;
            (&*fresh.0, &*fresh.1)
        }
    };
    let entry = Entry {
        time: time.to_owned(),
        kind: "response",
        auth,
        request,
        response,
        error: outcome.error.clone(),
    };
    encode_line(&entry, format)
}

/// `YYYY-MM-DDTHH:MM:SSZ` for Unix seconds.
pub(crate) fn rfc3339_seconds(secs: i64) -> String {
    let at =
        time::OffsetDateTime::from_unix_timestamp(secs).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    format_time(at, false)
}

/// Go's `time.RFC3339Nano` in UTC: nanoseconds with trailing zeros trimmed.
pub(crate) fn rfc3339_nano_now() -> String {
    format_time(time::OffsetDateTime::now_utc(), true)
}

fn format_time(at: time::OffsetDateTime, nanos: bool) -> String {
    let mut text = format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second()
    );
    if nanos && at.nanosecond() != 0 {
        let fraction = format!("{:09}", at.nanosecond());
        text.push('.');
        text.push_str(fraction.trim_end_matches('0'));
    }
    text.push('Z');
    text
}

mod blocks;

#[cfg(test)]
mod tests;
