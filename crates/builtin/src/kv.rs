//! The KV secrets engine (Vault's `vault-plugin-secrets-kv`), registered as mount types `kv`
//! and `generic`. The mount's `options.version` picks the engine when the mount is set up:
//!
//! - `"1"` or none: the pass-through store of [`passthrough`] (KV v1): a path holds one JSON
//!   object, read back with a refresh interval.
//! - `"2"`: the versioned store (KV v2): `config`, `data/…`, `metadata/…`, `delete/…`,
//!   `undelete/…`, `destroy/…` and `subkeys/…`, with Vault's shapes, messages and status codes.
//!
//! Files mirror the upstream ones: `backend.rs` (state, storage records, the catch-all
//! path), `path_config.rs`, `path_data.rs`, `path_delete.rs` (delete and undelete),
//! `path_destroy.rs`, `path_metadata.rs`, `path_subkeys.rs`, plus `timefmt.rs` (Go's
//! `RFC3339Nano` and `Duration.String`). `path_data.rs` also holds the JSON merge patch
//! (RFC 7386) that Vault takes from `json-patch`.
//!
//! KV v2 storage, relative to the mount: `config` (the engine configuration), `metadata/<key>`
//! (one record per key: versions, settings, custom metadata) and `versions/<n>/<key>` (the
//! data of one version). Every change that touches both a key's metadata and its version data
//! is one [`warden_logical::StorageView::transaction`], so the metadata never names a version
//! whose data is missing.

use std::sync::Arc;

use warden_logical::{BackendConfig, Factory, LogicalBackend, LogicalError};

mod backend;
mod passthrough;
mod path_config;
mod path_data;
mod path_delete;
mod path_destroy;
mod path_metadata;
mod path_subkeys;
#[cfg(test)]
mod testing;
mod timefmt;

/// The factory registered for the `kv` (and legacy `generic`) mount types: version 1 or 2
/// by the mount's `version` option.
pub fn factory() -> Factory {
    Arc::new(|config: BackendConfig| Box::pin(async move { build(config) }))
}

fn build(config: BackendConfig) -> Result<Arc<dyn LogicalBackend>, LogicalError> {
    match config.options.get("version").map(String::as_str) {
        None | Some("" | "1") => passthrough::build(config),
        Some("2") => backend::build(config, Arc::new(backend::SystemClock)),
        Some(version) => Err(LogicalError::user(format!(
            "KV version {version} is not supported; use version 1 or 2"
        ))),
    }
}
