//! The core's life: build, initialize, unseal, seal; and the state that exists only while
//! unsealed.

use std::collections::BTreeMap;
use std::sync::{Arc, PoisonError, RwLock, Weak};
use std::time::Duration;

use serde::Serialize;
use warden_logical::{Factory, SecretString};
use warden_storage::Backend;

use crate::audit::{AuditBroker, AuditConfig};
use crate::barrier::Barrier;
use crate::identity::IdentityStore;
use crate::policy::PolicyStore;
use crate::router::Router;
use crate::seal::Seal;
use crate::token_store::TokenStore;
use crate::view::BarrierView;
use crate::{CoreError, mounting};

/// Vault's default for both the default and the maximum lease TTL: 32 days.
pub const DEFAULT_MAX_LEASE_TTL: Duration = Duration::from_secs(32 * 24 * 3600);

/// Server-wide settings the core needs.
#[derive(Debug, Clone)]
pub struct CoreConfig {
    /// The system default lease TTL.
    pub default_lease_ttl: Duration,
    /// The system maximum lease TTL.
    pub max_lease_ttl: Duration,
    /// The cluster name reported by seal-status and health; generated when absent.
    pub cluster_name: Option<String>,
    /// How often the expiry index is swept for expired tokens.
    pub expiry_sweep_interval: Duration,
    /// Audit settings (directories API-enabled devices may not write into).
    pub audit: AuditConfig,
    /// How often the live-token and lease gauges are recounted (`telemetry {
    /// usage_gauge_period }`).
    pub usage_gauge_period: Duration,
    /// Whether `sys/metrics` renders the Prometheus format (`prometheus_retention_time` ≠ 0).
    pub prometheus_enabled: bool,
}

impl Default for CoreConfig {
    fn default() -> Self {
        Self {
            default_lease_ttl: DEFAULT_MAX_LEASE_TTL,
            max_lease_ttl: DEFAULT_MAX_LEASE_TTL,
            cluster_name: None,
            expiry_sweep_interval: Duration::from_secs(1),
            audit: AuditConfig::default(),
            usage_gauge_period: crate::telemetry::DEFAULT_USAGE_GAUGE_PERIOD,
            prometheus_enabled: true,
        }
    }
}

/// Builds a [`Core`]: physical storage, settings and the backend factories by type name
/// (the core itself knows only `system` and `token`; the server registers the builtins).
#[derive(Debug)]
pub struct CoreBuilder {
    physical: Arc<dyn Backend>,
    config: CoreConfig,
    factories: Factories,
}

/// Registered backend factories by mount type.
#[derive(Default, Clone)]
pub(crate) struct Factories {
    pub(crate) secrets: BTreeMap<String, Factory>,
    pub(crate) credentials: BTreeMap<String, Factory>,
}

impl std::fmt::Debug for Factories {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Factories")
            .field("secrets", &self.secrets.keys().collect::<Vec<_>>())
            .field("credentials", &self.credentials.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl CoreBuilder {
    /// A builder over the given physical storage.
    pub fn new(physical: Arc<dyn Backend>) -> Self {
        Self {
            physical,
            config: CoreConfig::default(),
            factories: Factories::default(),
        }
    }

    /// Sets the server-wide settings.
    pub fn config(mut self, config: CoreConfig) -> Self {
        self.config = config;
        self
    }

    /// Registers a secrets engine type.
    pub fn secrets_engine(mut self, mount_type: &str, factory: Factory) -> Self {
        self.factories
            .secrets
            .insert(mount_type.to_owned(), factory);
        self
    }

    /// Registers an auth method type.
    pub fn auth_method(mut self, mount_type: &str, factory: Factory) -> Self {
        self.factories
            .credentials
            .insert(mount_type.to_owned(), factory);
        self
    }

    /// Builds the core, sealed.
    pub fn build(self) -> Arc<Core> {
        let physical = crate::telemetry::MeteredBackend::wrap(self.physical);
        let barrier = Arc::new(Barrier::new(Arc::clone(&physical)));
        let seal = Seal::new(Arc::clone(&barrier));
        Arc::new_cyclic(|this| Core {
            this: this.clone(),
            physical,
            barrier,
            seal,
            config: self.config,
            factories: self.factories,
            explain: Arc::default(),
            active: RwLock::new(None),
            lifecycle: tokio::sync::Mutex::new(()),
        })
    }
}

/// What exists only while the server is unsealed.
#[derive(Debug)]
pub(crate) struct Active {
    pub(crate) router: Router,
    pub(crate) token_store: TokenStore,
    pub(crate) policy_store: Arc<PolicyStore>,
    pub(crate) identity: Arc<IdentityStore>,
    /// The enabled audit devices.
    pub(crate) audit: AuditBroker,
    /// Serializes mount-table changes; held across the persist so that the router and the
    /// stored table never disagree.
    pub(crate) mount_lock: tokio::sync::Mutex<()>,
    pub(crate) cluster_name: String,
    pub(crate) cluster_id: String,
    /// The expiry sweep; aborted when the server seals.
    sweeper: std::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl Active {
    /// Whether a policy of that name exists.
    pub(crate) async fn policy_exists(&self, name: &str) -> Result<bool, CoreError> {
        Ok(self.policy_store.get(name).await?.is_some())
    }

    /// Starts the one background task that revokes expired tokens, reading the expiry
    /// index in time order (no timer per lease); it also keeps the metrics current (usage
    /// gauges every `usage_period`, histogram upkeep on every tick).
    fn start_sweeper(self: &Arc<Self>, interval: Duration, usage_period: Duration) {
        let weak = Arc::downgrade(self);
        let task = tokio::spawn(async move {
            let mut ticker = tokio::time::interval(interval);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut usage = crate::telemetry::UsageGauges::new(usage_period);
            loop {
                ticker.tick().await;
                let Some(active) = weak.upgrade() else { break };
                let now = crate::token_store::now_nanos();
                match active.token_store.sweep_expired(now).await {
                    Ok(0) => {}
                    Ok(count) => tracing::debug!(count, "revoked expired tokens"),
                    Err(err) => tracing::warn!(error = %err, "expiry sweep failed"),
                }
                usage.tick(&active.token_store).await;
                crate::telemetry::upkeep();
            }
        });
        *self.sweeper.lock().unwrap_or_else(PoisonError::into_inner) = Some(task);
    }

    /// Stops the sweep and waits until its task is gone: a tick in progress holds the
    /// storage, which must be free once the core is sealed (a restart reopens it).
    async fn stop_sweeper(&self) {
        let task = self
            .sweeper
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(task) = task {
            task.abort();
            let _ = task.await;
        }
    }
}

/// The Vault-compatible core: the barrier, the seal, and, once unsealed, the router, the
/// mount tables and the token store.
#[derive(Debug)]
pub struct Core {
    pub(crate) this: Weak<Core>,
    pub(crate) physical: Arc<dyn Backend>,
    pub(crate) barrier: Arc<Barrier>,
    pub(crate) seal: Seal,
    pub(crate) config: CoreConfig,
    pub(crate) factories: Factories,
    /// Why recent logins were refused (explainable denials).
    pub(crate) explain: Arc<crate::explain::DenialStore>,
    active: RwLock<Option<Arc<Active>>>,
    /// Serializes init, unseal and seal.
    lifecycle: tokio::sync::Mutex<()>,
}

/// What `sys/init` returns.
#[derive(Debug)]
pub struct InitResult {
    /// The unseal key shares.
    pub keys: Vec<SecretBytes>,
    /// The initial root token.
    pub root_token: SecretString,
}

/// Key material that must not leak: redacted in `Debug`, zeroized on drop.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretBytes(zeroize::Zeroizing<Vec<u8>>);

impl SecretBytes {
    /// Wraps key material.
    pub fn new(bytes: Vec<u8>) -> Self {
        Self(zeroize::Zeroizing::new(bytes))
    }

    /// The bytes themselves.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl std::fmt::Debug for SecretBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

/// The `sys/seal-status` object (also returned by `sys/unseal`).
#[derive(Debug, Clone, Serialize)]
pub struct SealStatus {
    /// Always `shamir`.
    #[serde(rename = "type")]
    pub seal_type: &'static str,
    /// Whether `sys/init` has run.
    pub initialized: bool,
    /// Whether the barrier is sealed.
    pub sealed: bool,
    /// The unseal threshold.
    pub t: u32,
    /// The number of shares.
    pub n: u32,
    /// Shares submitted so far.
    pub progress: u32,
    /// Identifies the current unseal attempt; empty when none is in progress.
    pub nonce: String,
    /// The server version.
    pub version: String,
    /// When the binary was built (RFC 3339).
    pub build_date: String,
    /// Seal migration is not supported.
    pub migration: bool,
    /// Only when unsealed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster_name: Option<String>,
    /// Only when unsealed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster_id: Option<String>,
    /// No recovery seal exists.
    pub recovery_seal: bool,
    /// The physical backend's name.
    pub storage_type: String,
}

/// The version string every status endpoint reports.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
/// The version the HTTP API reports (`sys/health`, `sys/seal-status`): the Vault release
/// whose API warden follows, with warden's own version as semver build metadata, so that
/// clients gating features on the server version see a current Vault.
pub const API_VERSION: &str = concat!("1.21.0+warden.", env!("CARGO_PKG_VERSION"));
/// A fixed build date: the API needs one and reproducible builds should not embed a clock.
pub const BUILD_DATE: &str = "2026-12-01T00:00:00Z";

impl Core {
    /// Whether `sys/init` has run.
    pub async fn initialized(&self) -> Result<bool, CoreError> {
        Ok(self.barrier.initialized().await?)
    }

    /// Whether the barrier is sealed.
    pub fn is_sealed(&self) -> bool {
        self.active_state().is_none()
    }

    pub(crate) fn active_state(&self) -> Option<Arc<Active>> {
        self.active
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    pub(crate) fn require_active(&self) -> Result<Arc<Active>, CoreError> {
        self.active_state().ok_or(CoreError::Sealed)
    }

    /// The name of the physical backend (`inmem`, `embedded`).
    pub fn storage_type(&self) -> &'static str {
        self.physical.kind()
    }

    /// Initializes the server with a Shamir seal of `shares` keys, `threshold` of which
    /// unseal it. Creates the root token; the server stays sealed, as Vault's does.
    pub async fn initialize(&self, shares: i64, threshold: i64) -> Result<InitResult, CoreError> {
        let _guard = self.lifecycle.lock().await;
        let output = self.seal.initialize(shares, threshold).await?;
        let keys: Vec<SecretBytes> = output
            .keys
            .iter()
            .map(|key| SecretBytes::new(key.as_bytes().to_vec()))
            .collect();
        // Unseal once with the fresh root key to write the initial state, then seal again.
        self.barrier.unseal(&output.root_key).await?;
        let result = async {
            let active = self.post_unseal().await?;
            let root = active.token_store.create_root(None).await?;
            Ok::<_, CoreError>(root.entry.id)
        }
        .await;
        self.pre_seal().await;
        Ok(InitResult {
            keys,
            root_token: result?,
        })
    }

    /// Submits one unseal key share; unseals once the threshold is reached.
    pub async fn unseal(&self, key: &[u8]) -> Result<SealStatus, CoreError> {
        let _guard = self.lifecycle.lock().await;
        if !self.barrier.initialized().await? {
            return Err(CoreError::NotInitialized);
        }
        if self.active_state().is_none() {
            self.seal.submit_key(key).await?;
            if !self.barrier.is_sealed()
                && let Err(err) = self.post_unseal().await
            {
                tracing::error!(error = %err, "post-unseal setup failed; sealing again");
                self.pre_seal().await;
                return Err(err);
            }
        }
        self.seal_status().await
    }

    /// Forgets the shares submitted so far.
    pub async fn reset_unseal(&self) -> Result<SealStatus, CoreError> {
        let _guard = self.lifecycle.lock().await;
        if !self.barrier.initialized().await? {
            return Err(CoreError::NotInitialized);
        }
        if self.active_state().is_some() {
            return Err(CoreError::User("vault is unsealed".into()));
        }
        self.seal.reset()?;
        self.seal_status().await
    }

    /// Seals the server: drops every unsealed structure and the keys.
    pub async fn seal_now(&self) {
        let _guard = self.lifecycle.lock().await;
        self.pre_seal().await;
    }

    /// The `sys/seal-status` object.
    pub async fn seal_status(&self) -> Result<SealStatus, CoreError> {
        let initialized = self.barrier.initialized().await?;
        let config = if initialized {
            self.seal.seal_config().await?
        } else {
            None
        };
        let (progress, nonce) = self.seal.progress();
        let active = self.active_state();
        let (t, n) = config.map_or((0, 0), |c| (c.secret_threshold, c.secret_shares));
        Ok(SealStatus {
            seal_type: "shamir",
            initialized,
            sealed: active.is_none(),
            t,
            n,
            progress: if active.is_some() { 0 } else { progress },
            nonce: if active.is_some() {
                String::new()
            } else {
                nonce
            },
            version: API_VERSION.to_owned(),
            build_date: BUILD_DATE.to_owned(),
            migration: false,
            cluster_name: active.as_ref().map(|a| a.cluster_name.clone()),
            cluster_id: active.as_ref().map(|a| a.cluster_id.clone()),
            recovery_seal: false,
            storage_type: self.storage_type().to_owned(),
        })
    }

    /// The cluster's name and id, when unsealed.
    pub fn cluster_identity(&self) -> Option<(String, String)> {
        self.active_state()
            .map(|a| (a.cluster_name.clone(), a.cluster_id.clone()))
    }

    /// Builds the unsealed state: cluster identity, mount tables, router, token store.
    async fn post_unseal(&self) -> Result<Arc<Active>, CoreError> {
        let (cluster_name, cluster_id) = self.cluster_info().await?;
        let token_store = TokenStore::open(Arc::clone(&self.barrier)).await?;
        let policy_store = Arc::new(PolicyStore::new(BarrierView::new(
            Arc::clone(&self.barrier),
            "sys/policy/",
        )));
        policy_store.setup().await?;
        let identity = Arc::new(IdentityStore::new(BarrierView::new(
            Arc::clone(&self.barrier),
            "sys/identity/",
        )));
        identity.set_mount_resolver(self.mount_resolver());
        identity.setup().await?;
        let active = Arc::new(Active {
            router: Router::new(),
            token_store,
            policy_store,
            identity,
            audit: AuditBroker::new(Arc::clone(&self.barrier), self.config.audit.clone()),
            mount_lock: tokio::sync::Mutex::new(()),
            cluster_name,
            cluster_id,
            sweeper: std::sync::Mutex::new(None),
        });
        mounting::setup_mounts(self, &active).await?;
        active.audit.setup().await?;
        active.start_sweeper(
            self.config.expiry_sweep_interval,
            self.config.usage_gauge_period,
        );
        *self.active.write().unwrap_or_else(PoisonError::into_inner) = Some(Arc::clone(&active));
        tracing::info!("vault is unsealed");
        Ok(active)
    }

    /// Tears down the unsealed state and seals the barrier.
    async fn pre_seal(&self) {
        let active = self
            .active
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(active) = active {
            active.stop_sweeper().await;
            for route in active.router.all() {
                route.backend.cleanup().await;
            }
        }
        self.seal.seal();
        tracing::info!("vault is sealed");
    }

    async fn cluster_info(&self) -> Result<(String, String), CoreError> {
        const KEY: &str = "core/cluster/local/info";
        if let Some(bytes) = self.barrier.get(KEY).await? {
            let info: (String, String) = serde_json::from_slice(&bytes)
                .map_err(|err| CoreError::internal(format!("bad cluster info: {err}")))?;
            return Ok(info);
        }
        let id = uuid::Uuid::new_v4().to_string();
        let name = self.config.cluster_name.clone().unwrap_or_else(|| {
            format!("vault-cluster-{}", id.split('-').next().unwrap_or_default())
        });
        let bytes = serde_json::to_vec(&(&name, &id))
            .map_err(|err| CoreError::internal(format!("bad cluster info: {err}")))?;
        self.barrier.put(KEY, bytes).await?;
        Ok((name, id))
    }
}
