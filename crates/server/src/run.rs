//! Starting a server from a parsed configuration: storage, core, listeners; and dev mode.

use std::sync::Arc;

use tokio::net::TcpListener;
use warden_core::{AuditConfig, Core, CoreBuilder, CoreConfig};
use warden_logical::SecretString;
use warden_storage::Backend;
use warden_storage::embedded::EmbeddedBackend;
use warden_storage::memory::MemoryBackend;

use crate::config::{Config, StorageKind};
use crate::http::{self, ApiState, Limits, ListenerHandle};
use crate::tls;

/// Why a server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The storage backend could not be opened.
    #[error("error initializing storage of type {kind}: {source}")]
    Storage {
        /// The configured storage type.
        kind: String,
        /// What went wrong.
        source: warden_storage::StorageError,
    },
    /// A listener could not be set up.
    #[error("error initializing listener of type tcp at {address}: {message}")]
    Listener {
        /// The configured address.
        address: String,
        /// What went wrong.
        message: String,
    },
    /// Dev-mode setup (init, unseal, mounts) failed.
    #[error("error setting up the dev server: {0}")]
    Dev(#[from] warden_core::CoreError),
}

/// A running server: its core and its listeners.
#[derive(Debug)]
pub struct RunningServer {
    /// The core serving every listener.
    pub core: Arc<Core>,
    /// One handle per listener, in configuration order.
    pub listeners: Vec<ListenerHandle>,
}

impl RunningServer {
    /// Stops every listener and seals the core.
    pub async fn shutdown(self) {
        for listener in self.listeners {
            listener.shutdown().await;
        }
        self.core.seal_now().await;
    }
}

/// Opens the configured physical storage.
pub async fn open_storage(config: &Config) -> Result<Arc<dyn Backend>, StartError> {
    match &config.storage.kind {
        StorageKind::Memory => Ok(Arc::new(MemoryBackend::new())),
        StorageKind::Embedded { path } => {
            let backend = EmbeddedBackend::open(path).map_err(|source| StartError::Storage {
                kind: config.storage.storage_type.clone(),
                source,
            })?;
            Ok(Arc::new(backend))
        }
    }
}

/// Builds a core over `physical` with the builtin backends registered.
pub fn build_core(config: &Config, physical: Arc<dyn Backend>) -> Arc<Core> {
    let mut builder = CoreBuilder::new(physical).config(CoreConfig {
        default_lease_ttl: config.default_lease_ttl,
        max_lease_ttl: config.max_lease_ttl,
        cluster_name: config.cluster_name.clone(),
        audit: AuditConfig {
            // API-enabled audit devices may not write into the data directory.
            forbidden_dirs: match &config.storage.kind {
                StorageKind::Embedded { path } => vec![path.into()],
                StorageKind::Memory => Vec::new(),
            },
            allow_prefix: false,
        },
        usage_gauge_period: config.telemetry.usage_gauge_period,
        prometheus_enabled: config.telemetry.prometheus_enabled,
        ..CoreConfig::default()
    });
    for (name, factory) in warden_builtin::secrets_engines() {
        builder = builder.secrets_engine(name, factory);
    }
    for (name, factory) in warden_builtin::auth_methods() {
        builder = builder.auth_method(name, factory);
    }
    builder.build()
}

/// Opens storage, builds the core (sealed) and binds every listener.
pub async fn start(config: &Config) -> Result<RunningServer, StartError> {
    let physical = open_storage(config).await?;
    let core = build_core(config, physical);
    let listeners = bind_listeners(config, &core).await?;
    Ok(RunningServer { core, listeners })
}

/// Binds the configured listeners in front of `core`.
pub async fn bind_listeners(
    config: &Config,
    core: &Arc<Core>,
) -> Result<Vec<ListenerHandle>, StartError> {
    // Every TLS configuration is loaded before any port is bound, so a bad certificate on
    // the second listener does not leave the first one serving.
    let mut tls_configs = Vec::with_capacity(config.listeners.len());
    for listener in &config.listeners {
        let tls = match &listener.tls {
            Some(settings) => {
                Some(
                    tls::server_config_for(settings).map_err(|err| StartError::Listener {
                        address: listener.address.clone(),
                        message: err.to_string(),
                    })?,
                )
            }
            None => None,
        };
        tls_configs.push(tls);
    }
    let mut handles = Vec::with_capacity(config.listeners.len());
    for (listener, tls) in config.listeners.iter().zip(tls_configs) {
        let failed = |message: String| StartError::Listener {
            address: listener.address.clone(),
            message,
        };
        let tcp = TcpListener::bind(&listener.address)
            .await
            .map_err(|err| failed(err.to_string()))?;
        let state = ApiState {
            core: Arc::clone(core),
            limits: Limits {
                max_request_size: listener.max_request_size,
                max_request_duration: listener.max_request_duration,
            },
            unauthenticated_metrics: listener.unauthenticated_metrics_access,
        };
        let handle = http::serve_listener(
            tcp,
            tls,
            http::router(state),
            listener.http_read_header_timeout,
        )
        .map_err(|err| failed(err.to_string()))?;
        handles.push(handle);
    }
    Ok(handles)
}

/// What dev mode prints and what a test needs to talk to it.
#[derive(Debug)]
pub struct DevCredentials {
    /// The single unseal key.
    pub unseal_key: Vec<u8>,
    /// The root token.
    pub root_token: SecretString,
}

/// Initializes a fresh core with one key share, unseals it, optionally swaps the root token
/// for one with a chosen id, and mounts the dev `secret/` engine.
pub async fn init_dev(
    core: &Core,
    root_token_id: Option<&str>,
) -> Result<DevCredentials, StartError> {
    let init = core.initialize(1, 1).await?;
    let unseal_key = init
        .keys
        .first()
        .map(|k| k.expose().to_vec())
        .unwrap_or_default();
    core.unseal(&unseal_key).await?;
    let mut root_token = init.root_token;
    if let Some(id) = root_token_id {
        core.replace_root_token(root_token.expose(), id).await?;
        root_token = SecretString::new(id);
    }
    let mut secret =
        warden_core::MountEntry::new(warden_core::MountTable::Secrets, "secret/", "kv");
    secret.description = "key/value secret storage".into();
    secret
        .options
        .insert("version".into(), warden_builtin::DEV_KV_VERSION.into());
    core.enable_mount(secret).await?;
    Ok(DevCredentials {
        unseal_key,
        root_token,
    })
}
