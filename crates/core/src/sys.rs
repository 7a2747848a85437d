//! The `sys/` backend: mount and auth tables and the UI mount lookups that clients use for
//! KV version detection. The seal endpoints are served by the HTTP layer directly, as in
//! Vault, because they must work while sealed.

mod audit;
mod explain;
mod leases;
mod metrics;
mod mounts;
mod policies;
mod ui_mounts;
mod wrapping;

use std::sync::{Arc, Weak};

use warden_logical::framework::FrameworkBackend;
use warden_logical::{BackendKind, LogicalBackend, LogicalError};

use crate::CoreError;
use crate::lifecycle::Core;

/// The state every sys handler shares.
#[derive(Debug)]
pub(crate) struct SysBackend {
    core: Weak<Core>,
}

impl SysBackend {
    /// The core; gone only while the process shuts down.
    pub(crate) fn core(&self) -> Result<Arc<Core>, LogicalError> {
        self.core.upgrade().ok_or(LogicalError::Sealed)
    }
}

/// Sys paths that need `sudo` (Vault's `PathsSpecial.Root` of the system backend).
const ROOT_PATHS: [&str; 20] = [
    "auth/*",
    "remount",
    "audit",
    "audit/*",
    "raw",
    "raw/*",
    "rotate",
    "rotate/keyring",
    "rotate/root",
    "config/cors",
    "config/auditing/*",
    "config/ui/headers/*",
    "plugins/catalog/*",
    "revoke-prefix/*",
    "revoke-force/*",
    "leases/revoke-prefix/*",
    "leases/revoke-force/*",
    "leases/lookup/*",
    "leases",
    "internal/inspect/*",
];

/// Sys paths that need no token.
const UNAUTHENTICATED_PATHS: [&str; 9] = [
    "wrapping/lookup",
    "internal/ui/mounts",
    "internal/ui/mounts/*",
    "init",
    "seal-status",
    "unseal",
    "leader",
    "health",
    "internal/specs/openapi",
];

const HELP: &str = "The system backend is built in to Vault and cannot be remounted or \
unmounted. It contains the paths that are used to configure Vault itself as well as perform \
core operations.";

/// Builds the sys backend for a core.
pub(crate) fn backend(core: Weak<Core>) -> Result<Arc<dyn LogicalBackend>, LogicalError> {
    let state = Arc::new(SysBackend { core });
    let mut builder = FrameworkBackend::builder(BackendKind::Secret)
        .help(HELP)
        .root_paths(ROOT_PATHS)
        .root_paths(explain::ROOT_PATHS)
        .unauthenticated_paths(UNAUTHENTICATED_PATHS);
    for path in mounts::paths(&state)
        .into_iter()
        .chain(ui_mounts::paths(&state))
        .chain(policies::paths(&state))
        .chain(wrapping::paths(&state))
        .chain(leases::paths(&state))
        .chain(explain::paths(&state))
        .chain(audit::paths(&state))
        .chain(metrics::paths(&state))
    {
        builder = builder.path(path);
    }
    let backend = builder.build().map_err(LogicalError::internal)?;
    Ok(Arc::new(backend))
}

/// Turns a core error inside a sys handler back into a backend error, keeping its class.
pub(crate) fn to_logical(error: CoreError) -> LogicalError {
    match error {
        CoreError::Backend { error, .. } => error,
        CoreError::User(message) => LogicalError::User(message),
        CoreError::Sealed => LogicalError::Sealed,
        CoreError::PermissionDenied | CoreError::InvalidToken => LogicalError::PermissionDenied,
        other => LogicalError::internal(other),
    }
}
