//! The `kubernetes` auth method: a pod logs in with its service-account JWT, checked
//! through the Kubernetes TokenReview API (Vault's `vault-plugin-auth-kubernetes`; files
//! mirror its `path_config.go`, `path_role.go`, `path_login.go`, `token_review.go`).

mod claims;
mod explain;
mod local;
mod path_config;
mod path_debug;
mod path_login;
mod path_role;
mod token_review;

use std::path::PathBuf;
use std::sync::{Arc, PoisonError, RwLock};

use warden_logical::framework::{FrameworkBackend, handler};
use warden_logical::{
    BackendConfig, BackendKind, DecodedCache, Factory, LogicalBackend, LogicalError, StorageView,
};

use local::LocalFiles;
use path_config::Runtime;

/// Where a pod finds its service-account token and CA. A mount option
/// `service_account_dir` points elsewhere (tests, sidecars).
pub const DEFAULT_SERVICE_ACCOUNT_DIR: &str = "/var/run/secrets/kubernetes.io/serviceaccount";

const HELP: &str = "The Kubernetes Auth Backend allows authentication for Kubernetes service \
accounts.";

/// The mount's state: its storage, the parsed configuration (rebuilt on every config
/// write) and the pod's local files.
#[derive(Debug)]
pub(crate) struct KubeAuth {
    storage: Arc<dyn StorageView>,
    system: Arc<dyn warden_logical::SystemView>,
    /// The mount accessor, for operator log lines.
    accessor: String,
    /// The mount path (`auth/kubernetes/`), for metric labels.
    mount_path: String,
    local: LocalFiles,
    runtime: RwLock<Option<Arc<Runtime>>>,
    /// Decoded roles, read on every login.
    roles: DecodedCache<path_role::KubeRole>,
}

impl KubeAuth {
    fn cached_runtime(&self) -> Option<Arc<Runtime>> {
        self.runtime
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn set_runtime(&self, runtime: Option<Arc<Runtime>>) {
        *self.runtime.write().unwrap_or_else(PoisonError::into_inner) = runtime;
    }

    /// Logs why a login was refused, in Vault's format, at debug level: the client sees
    /// only `permission denied`.
    fn log_unauthorized(&self, err: &str) {
        tracing::debug!(
            "auth.kubernetes.{}: login unauthorized: err={err}",
            self.accessor
        );
    }
}

/// The factory registered for mount type `kubernetes`.
pub fn factory() -> Factory {
    Arc::new(|config: BackendConfig| Box::pin(async move { build(config) }))
}

fn build(config: BackendConfig) -> Result<Arc<dyn LogicalBackend>, LogicalError> {
    let dir = config
        .options
        .get("service_account_dir")
        .map_or_else(|| PathBuf::from(DEFAULT_SERVICE_ACCOUNT_DIR), PathBuf::from);
    let state = Arc::new(KubeAuth {
        storage: config.storage,
        system: config.system,
        accessor: config.mount.accessor,
        mount_path: config.mount.path,
        local: LocalFiles::new(dir),
        runtime: RwLock::new(None),
        roles: DecodedCache::new(super::ROLE_CACHE_CAPACITY),
    });
    let mut paths = vec![path_config::path(&state)];
    paths.extend(path_role::paths(&state));
    paths.push(path_login::path(&state));
    paths.push(path_debug::path(&state));
    let backend = FrameworkBackend::builder(BackendKind::Credential)
        .help(HELP)
        .unauthenticated_paths(["login"])
        .root_paths(["debug/*"])
        .paths(paths)
        .auth_renew(handler(&state, path_login::renew))
        .invalidate(&state, |state: &KubeAuth, key: &str| {
            if key == "config" {
                state.set_runtime(None);
            } else if key.starts_with("role/") {
                state.roles.invalidate([key]);
            }
        })
        .build()?;
    Ok(Arc::new(backend))
}
