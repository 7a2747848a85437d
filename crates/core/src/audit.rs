//! Audit devices: the broker that fans every request and response out to the enabled
//! devices, and the audit table behind the barrier (`core/audit`).
//!
//! The broker fails closed as Vault's does: with at least one device enabled, a request or
//! response that no device could record is an [`CoreError::AuditFailed`]; with none, nothing
//! is required. Each device has its own salt (see [`hash`]), so the same value has a
//! different HMAC in each device's log.

mod entry;
mod file;
mod group;
mod hash;
mod input;

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, PoisonError, RwLock};

use serde::{Deserialize, Serialize};

pub(crate) use entry::AuditInput;
use entry::Outcome;
use file::{FormatOptions, Sink, Target};
use group::GroupWriter;
use hash::Salt;

use crate::CoreError;
use crate::barrier::Barrier;
use crate::lifecycle::Core;
use crate::random::random_hex;
use crate::view::BarrierView;

/// Barrier key of the audit table.
const AUDIT_KEY: &str = "core/audit";
/// Barrier prefix of each device's view (`audit/<uuid>/salt`).
const AUDIT_PREFIX: &str = "audit/";

/// Server-wide audit settings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditConfig {
    /// Directories an API-enabled file device may not write into (the data directory of
    /// embedded storage, the plugin directory): HCSEC-2025-14 / CVE-2025-6000.
    pub forbidden_dirs: Vec<PathBuf>,
    /// Whether API-enabled devices may set `prefix` (OpenBao's `allow_audit_log_prefixing`).
    pub allow_prefix: bool,
}

/// One device of the audit table, as stored and as `sys/audit` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct AuditEntry {
    /// The device path with its trailing slash (`file/`).
    pub(crate) path: String,
    /// The device type; only `file` exists.
    #[serde(rename = "type")]
    pub(crate) device_type: String,
    #[serde(default)]
    pub(crate) description: String,
    /// Names the device's barrier view, and so its salt.
    pub(crate) uuid: String,
    #[serde(default)]
    pub(crate) accessor: String,
    #[serde(default)]
    pub(crate) options: BTreeMap<String, String>,
    #[serde(default)]
    pub(crate) local: bool,
}

impl AuditEntry {
    /// A new entry with a fresh UUID and accessor.
    pub(crate) fn new(path: &str, device_type: &str) -> Self {
        Self {
            path: path.to_owned(),
            device_type: device_type.to_owned(),
            description: String::new(),
            uuid: uuid::Uuid::new_v4().to_string(),
            accessor: format!("audit_{device_type}_{}", random_hex(4)),
            options: BTreeMap::new(),
            local: false,
        }
    }

    fn view(&self, barrier: &Arc<Barrier>) -> BarrierView {
        BarrierView::new(Arc::clone(barrier), format!("{AUDIT_PREFIX}{}/", self.uuid))
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct StoredTable {
    #[serde(rename = "type")]
    table: String,
    #[serde(default)]
    entries: Vec<AuditEntry>,
}

/// A working device.
#[derive(Debug)]
struct Device {
    path: String,
    format: FormatOptions,
    salt: Salt,
    sink: GroupWriter,
}

/// The enabled audit devices of an unsealed core.
#[derive(Debug)]
pub(crate) struct AuditBroker {
    barrier: Arc<Barrier>,
    config: AuditConfig,
    /// The stored table, including entries whose device failed to come up at unseal.
    table: RwLock<Vec<AuditEntry>>,
    devices: RwLock<BTreeMap<String, Arc<Device>>>,
    /// Serializes enable and disable, held across the persist.
    change: tokio::sync::Mutex<()>,
}

/// Builds the device of an entry without its salt: options, then the file (Vault's factory).
fn build_sink(entry: &AuditEntry) -> Result<(Sink, FormatOptions, Target), String> {
    if entry.device_type != "file" {
        return Err(format!("unknown backend type: {:?}", entry.device_type));
    }
    let options = file::parse_options(&entry.options)?;
    let sink = Sink::open(options.target.clone(), options.mode).map_err(|err| {
        let shown = match &options.target {
            Target::File(path) => path.display().to_string(),
            Target::Stdout | Target::Discard => String::new(),
        };
        format!("sanity check failed; unable to open {shown:?} for writing: {err}")
    })?;
    Ok((sink, options.format, options.target))
}

/// `path` made absolute and free of `.` and `..`, without touching the file system.
fn normalize(path: &Path) -> PathBuf {
    let absolute = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir().unwrap_or_default().join(path)
    };
    let mut out = PathBuf::new();
    for part in absolute.components() {
        match part {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// `path` with its longest existing ancestor resolved through symlinks.
fn resolve(path: &Path) -> PathBuf {
    let normal = normalize(path);
    let mut existing = normal.as_path();
    let mut rest = Vec::new();
    loop {
        if let Ok(real) = existing.canonicalize() {
            return rest.iter().rev().fold(real, |acc, part| acc.join(part));
        }
        match (existing.parent(), existing.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name.to_owned());
                existing = parent;
            }
            _ => return normal,
        }
    }
}

/// Refuses a file inside one of the forbidden directories (by path and by resolved path).
fn check_forbidden(target: &Target, forbidden: &[PathBuf]) -> Result<(), CoreError> {
    let Target::File(path) = target else {
        return Ok(());
    };
    let candidates = [normalize(path), resolve(path)];
    for dir in forbidden {
        let dirs = [normalize(dir), resolve(dir)];
        if candidates
            .iter()
            .any(|c| dirs.iter().any(|d| c.starts_with(d)))
        {
            return Err(CoreError::User(format!(
                "audit file path {:?} is inside the server's data directory {:?}; \
                 choose a path outside it",
                path.display().to_string(),
                dir.display().to_string()
            )));
        }
    }
    Ok(())
}

impl AuditBroker {
    /// A broker with no devices; [`AuditBroker::setup`] loads the stored table.
    pub(crate) fn new(barrier: Arc<Barrier>, config: AuditConfig) -> Self {
        Self {
            barrier,
            config,
            table: RwLock::new(Vec::new()),
            devices: RwLock::new(BTreeMap::new()),
            change: tokio::sync::Mutex::new(()),
        }
    }

    /// Loads the audit table and brings up its devices (at unseal). A device that fails is
    /// logged and skipped; if the table has entries and none came up, unseal must fail
    /// (Vault's `errLoadAuditFailed`).
    pub(crate) async fn setup(&self) -> Result<(), CoreError> {
        let failed = || CoreError::internal("failed to setup audit table");
        let entries = match self.barrier.get(AUDIT_KEY).await {
            Ok(None) => Vec::new(),
            Ok(Some(bytes)) => {
                serde_json::from_slice::<StoredTable>(&bytes)
                    .map_err(|err| {
                        tracing::error!(error = %err, "failed to decode audit table");
                        failed()
                    })?
                    .entries
            }
            Err(err) => {
                tracing::error!(error = %err, "failed to read audit table");
                return Err(failed());
            }
        };
        let mut devices = BTreeMap::new();
        for entry in &entries {
            match self.device(entry).await {
                Ok(device) => {
                    tracing::info!(path = %entry.path, "enabled audit backend");
                    devices.insert(entry.path.clone(), Arc::new(device));
                }
                Err(err) => {
                    tracing::error!(path = %entry.path, error = %err, "audit backend setup failed");
                }
            }
        }
        let none_up = !entries.is_empty() && devices.is_empty();
        *self.table.write().unwrap_or_else(PoisonError::into_inner) = entries;
        *self.devices.write().unwrap_or_else(PoisonError::into_inner) = devices;
        if none_up { Err(failed()) } else { Ok(()) }
    }

    async fn device(&self, entry: &AuditEntry) -> Result<Device, CoreError> {
        let (sink, format, _) = build_sink(entry).map_err(CoreError::User)?;
        let salt = Salt::load_or_create(&entry.view(&self.barrier)).await?;
        Ok(Device {
            path: entry.path.clone(),
            format,
            salt,
            sink: GroupWriter::start(sink),
        })
    }

    /// Whether no device is enabled (then nothing needs to be logged).
    pub(crate) fn is_empty(&self) -> bool {
        self.devices
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .is_empty()
    }

    fn snapshot(&self) -> Vec<Arc<Device>> {
        self.devices
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .cloned()
            .collect()
    }

    /// The audit table, in path order.
    pub(crate) fn entries(&self) -> Vec<AuditEntry> {
        let mut entries = self
            .table
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        entries.sort_by(|a, b| a.path.cmp(&b.path));
        entries
    }

    async fn persist(&self, entries: &[AuditEntry]) -> Result<(), CoreError> {
        let stored = StoredTable {
            table: "audit".into(),
            entries: entries.to_vec(),
        };
        let bytes = serde_json::to_vec(&stored)
            .map_err(|err| CoreError::internal(format!("failed to encode audit table: {err}")))?;
        self.barrier.put(AUDIT_KEY, bytes).await.map_err(|err| {
            tracing::error!(error = %err, "failed to persist audit table");
            CoreError::internal("failed to update audit table")
        })
    }

    /// Enables a device (`sys/audit/<path>`): checks, a test probe unless `skip_test=true`,
    /// then persists the table and starts logging to it.
    pub(crate) async fn enable(&self, mut entry: AuditEntry) -> Result<(), CoreError> {
        if !entry.path.ends_with('/') {
            entry.path.push('/');
        }
        if entry.path == "/" {
            return Err(CoreError::User("backend path must be specified".into()));
        }
        if entry.options.contains_key("prefix") && !self.config.allow_prefix {
            return Err(CoreError::User("audit log prefixing is not allowed".into()));
        }
        let _guard = self.change.lock().await;
        let mut entries = self
            .table
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        if entries
            .iter()
            .any(|e| e.path.starts_with(&entry.path) || entry.path.starts_with(&e.path))
        {
            return Err(CoreError::User("path already in use".into()));
        }
        if entry.device_type == "file" {
            let options = file::parse_options(&entry.options).map_err(CoreError::User)?;
            check_forbidden(&options.target, &self.config.forbidden_dirs)?;
        }
        let (sink, format, _) = build_sink(&entry).map_err(CoreError::User)?;
        if entry.options.get("skip_test").map(String::as_str) != Some("true") {
            let probe = AuditInput::probe();
            let result = entry::request_line(
                &entry.path,
                &probe,
                "",
                &entry::rfc3339_nano_now(),
                &format,
                &Salt::ephemeral(),
            )
            .and_then(|line| sink.write(&line).map_err(CoreError::internal));
            if let Err(err) = result {
                tracing::error!(path = %entry.path, error = %err, "new audit backend failed test");
                return Err(CoreError::User(format!(
                    "audit backend failed test message: {err}"
                )));
            }
        }
        let view = entry.view(&self.barrier);
        let salt = Salt::load_or_create(&view).await?;
        entries.push(entry.clone());
        if let Err(err) = self.persist(&entries).await {
            let _ = view.clear().await;
            return Err(err);
        }
        let device = Device {
            path: entry.path.clone(),
            format,
            salt,
            sink: GroupWriter::start(sink),
        };
        *self.table.write().unwrap_or_else(PoisonError::into_inner) = entries;
        self.devices
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(entry.path.clone(), Arc::new(device));
        tracing::info!(path = %entry.path, r#type = %entry.device_type, "enabled audit backend");
        Ok(())
    }

    /// Disables the device at `path`; disabling a path with no device succeeds.
    pub(crate) async fn disable(&self, path: &str) -> Result<(), CoreError> {
        let mut path = path.trim_start_matches('/').to_owned();
        if !path.ends_with('/') {
            path.push('/');
        }
        if path == "/" {
            return Err(CoreError::User(
                "audit device path must be specified".into(),
            ));
        }
        let _guard = self.change.lock().await;
        let mut entries = self
            .table
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let Some(index) = entries.iter().position(|e| e.path == path) else {
            return Ok(());
        };
        let removed = entries.remove(index);
        self.persist(&entries).await?;
        *self.table.write().unwrap_or_else(PoisonError::into_inner) = entries;
        self.devices
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&path);
        if let Err(err) = removed.view(&self.barrier).clear().await {
            tracing::warn!(path = %path, error = %err, "failed to clear an audit salt");
        }
        tracing::info!(path = %path, "disabled audit backend");
        Ok(())
    }

    /// The HMAC of `input` with the salt of the device at `path` (`sys/audit-hash`).
    pub(crate) fn hash(&self, path: &str, input: &str) -> Result<String, CoreError> {
        let devices = self.devices.read().unwrap_or_else(PoisonError::into_inner);
        let device = devices
            .get(path)
            .ok_or_else(|| CoreError::User(format!("unknown audit backend {path:?}")))?;
        Ok(device.salt.hmac(input))
    }

    /// Closes and reopens every device's file (SIGHUP).
    pub(crate) fn reopen(&self) -> Result<(), CoreError> {
        let mut failures = Vec::new();
        for device in self.snapshot() {
            tracing::info!(path = %device.path, "reloading file audit backend");
            if let Err(err) = device.sink.reopen() {
                tracing::error!(path = %device.path, error = %err, "failed to reopen audit file");
                failures.push(format!("{}: {err}", device.path));
            }
        }
        if failures.is_empty() {
            Ok(())
        } else {
            Err(CoreError::internal(format!(
                "failed to reopen audit devices: {}",
                failures.join("; ")
            )))
        }
    }

    /// Writes one entry per device; fails only when devices exist and none wrote.
    async fn fan_out(
        &self,
        what: &str,
        render: impl Fn(&Device) -> Result<Vec<u8>, CoreError>,
    ) -> Result<(), CoreError> {
        let devices = self.snapshot();
        let mut logged = false;
        for device in &devices {
            let result = match render(device) {
                Ok(line) => device.sink.write(line).await.map_err(CoreError::internal),
                Err(err) => Err(err),
            };
            match result {
                Ok(()) => logged = true,
                Err(err) => {
                    tracing::error!(backend = %device.path, error = %err, entry = what, "backend failed to log");
                }
            }
        }
        if logged || devices.is_empty() {
            Ok(())
        } else {
            tracing::error!("no audit backend succeeded in logging the {what}");
            metrics::counter!("warden_audit_failures_total").increment(1);
            Err(CoreError::AuditFailed)
        }
    }

    /// Logs a request entry.
    async fn log_request(&self, input: &AuditInput, error: &str) -> Result<(), CoreError> {
        let time = entry::rfc3339_nano_now();
        self.fan_out("request", |device| {
            entry::request_line(
                &device.path,
                input,
                error,
                &time,
                &device.format,
                &device.salt,
            )
        })
        .await
    }

    /// Logs a response entry.
    async fn log_response(
        &self,
        input: &AuditInput,
        outcome: &Outcome<'_>,
    ) -> Result<(), CoreError> {
        let time = entry::rfc3339_nano_now();
        self.fan_out("response", |device| {
            entry::response_line(
                &device.path,
                input,
                outcome,
                &time,
                &device.format,
                &device.salt,
            )
        })
        .await
    }
}

impl Core {
    /// Closes and reopens the files of every audit device, as Vault does on SIGHUP (for log
    /// rotation). Does nothing while sealed.
    pub fn reopen_audit_devices(&self) -> Result<(), CoreError> {
        match self.active_state() {
            Some(active) => active.audit.reopen(),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests;
