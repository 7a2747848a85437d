//! The `jwt` auth method (Vault's `vault-plugin-auth-jwt`, `role_type=jwt`): a workload logs
//! in with a signed JWT — typically a Kubernetes service-account token — verified locally
//! against static PEM keys, a JWKS URL, several JWKS URLs (`jwks_pairs`) or the issuer's
//! OIDC discovery document. Files mirror the upstream ones: `path_config.rs`,
//! `path_role.rs`, `path_login.rs`, `claims.rs`; `keyset.rs` and `validator.rs` port cap's
//! `keyset.go` and `jwt.go`; `fetch.rs` holds the outbound HTTP and the clock.
//!
//! The OIDC browser flow (`oidc/auth_url`, `oidc/callback`) is not served.
//!
//! Mount options (warden extensions, Go durations): `jwks_min_refresh_interval` (default
//! `10s`) and `jwks_max_age` (default `1h`), see [`keyset`].

mod claims;
mod explain;
mod fetch;
mod keyset;
mod path_config;
mod path_login;
mod path_role;
mod validator;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use warden_logical::framework::{FrameworkBackend, handler, parse_go_duration};
use warden_logical::{
    BackendConfig, BackendKind, DecodedCache, Factory, LogicalBackend, LogicalError, StorageView,
    SystemView,
};

use fetch::{Clock, HttpFetcher, KeyFetcher, SystemClock};
use keyset::{RefreshPolicy, RemoteKeys, VerifyError};
use path_config::JwtConfig;

use crate::jose::{Alg, KeySet, Verified};

const HELP: &str = "The JWT backend plugin allows authentication using JWTs (including OIDC).";

/// Builds the HTTP client for one key source from its CA bundle (`""`: platform roots).
pub(crate) type MakeFetcher =
    Arc<dyn Fn(&str) -> Result<Arc<dyn KeyFetcher>, String> + Send + Sync>;

/// Where a mount's verification keys come from, parsed and ready.
#[derive(Debug)]
pub(crate) enum KeySource {
    /// `jwt_validation_pubkeys`.
    Static(KeySet),
    /// `jwks_url`, or the `jwks_uri` of `oidc_discovery_url`.
    Remote(Arc<RemoteKeys>),
    /// `jwks_pairs`: tokens must carry a `kid`, which selects the set.
    Multi(Vec<Arc<RemoteKeys>>),
    /// A configuration JWT logins cannot use (the OIDC browser flow).
    Unsupported,
}

impl KeySource {
    /// Verifies the token's signature (and the types of its registered claims).
    pub(crate) async fn verify(&self, token: &str, algs: &[Alg]) -> Result<Verified, VerifyError> {
        match self {
            Self::Static(keys) => keyset::verify_static(token, keys, algs),
            Self::Remote(keys) => keys.verify(token, algs).await,
            Self::Multi(sets) => keyset::verify_multi(token, sets, algs).await,
            Self::Unsupported => Err(VerifyError::Other("unsupported config type".into())),
        }
    }
}

/// The configuration as logins use it; the key source is built once (at config write, or
/// by the first login after a restart or an invalidation).
#[derive(Debug)]
pub(crate) struct Runtime {
    pub(crate) config: JwtConfig,
    pub(crate) algs: Vec<Alg>,
    pub(crate) keys: tokio::sync::OnceCell<KeySource>,
}

impl Runtime {
    pub(crate) fn new(config: JwtConfig) -> Result<Self, String> {
        let algs = config.algs()?;
        Ok(Self {
            config,
            algs,
            keys: tokio::sync::OnceCell::new(),
        })
    }
}

/// The mount's state.
pub(crate) struct JwtAuth {
    storage: Arc<dyn StorageView>,
    system: Arc<dyn SystemView>,
    clock: Arc<dyn Clock>,
    make_fetcher: MakeFetcher,
    policy: RefreshPolicy,
    runtime: RwLock<Option<Arc<Runtime>>>,
    /// Bumped by every config write and invalidation, so that a runtime built from an older
    /// configuration is never cached over a newer one.
    generation: AtomicU64,
    /// Decoded roles, read on every login.
    roles: DecodedCache<path_role::JwtRole>,
}

impl std::fmt::Debug for JwtAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtAuth")
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl JwtAuth {
    fn replace_runtime(&self, runtime: Option<Arc<Runtime>>) {
        let mut slot = self.runtime.write().unwrap_or_else(PoisonError::into_inner);
        self.generation.fetch_add(1, Ordering::SeqCst);
        *slot = runtime;
    }

    /// The configuration, cached in memory until the next write. `Ok(None)`: never
    /// configured.
    pub(crate) async fn runtime(&self) -> Result<Option<Arc<Runtime>>, LogicalError> {
        if let Some(runtime) = self
            .runtime
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
        {
            return Ok(Some(runtime));
        }
        let generation = self.generation.load(Ordering::SeqCst);
        let Some(config) = path_config::load(self).await? else {
            return Ok(None);
        };
        let runtime = Arc::new(Runtime::new(config).map_err(LogicalError::internal)?);
        let mut slot = self.runtime.write().unwrap_or_else(PoisonError::into_inner);
        if self.generation.load(Ordering::SeqCst) == generation {
            *slot = Some(Arc::clone(&runtime));
        }
        Ok(Some(runtime))
    }

    /// The runtime's key source, building it on first use (Vault's `jwtValidator`).
    pub(crate) async fn key_source<'a>(
        &self,
        runtime: &'a Runtime,
    ) -> Result<&'a KeySource, String> {
        let keys = runtime
            .keys
            .get_or_try_init(|| self.build_key_source(&runtime.config))
            .await?;
        if matches!(keys, KeySource::Unsupported) {
            return Err("unsupported config type".into());
        }
        Ok(keys)
    }
}

/// The factory registered for mount types `jwt` and `oidc`.
pub fn factory() -> Factory {
    Arc::new(|config: BackendConfig| Box::pin(async move { build(config) }))
}

fn http_fetcher(ca_pem: &str) -> Result<Arc<dyn KeyFetcher>, String> {
    Ok(Arc::new(HttpFetcher::new(ca_pem)?))
}

fn duration_option(
    config: &BackendConfig,
    name: &str,
    default: Duration,
) -> Result<Duration, LogicalError> {
    let Some(raw) = config.options.get(name) else {
        return Ok(default);
    };
    let nanos = parse_go_duration(raw)
        .map_err(|err| LogicalError::user(format!("invalid {name}: {err}")))?;
    u64::try_from(nanos)
        .map(Duration::from_nanos)
        .map_err(|_| LogicalError::user(format!("invalid {name}: must not be negative")))
}

fn build(config: BackendConfig) -> Result<Arc<dyn LogicalBackend>, LogicalError> {
    let defaults = RefreshPolicy::default();
    let policy = RefreshPolicy {
        min_refresh_interval: duration_option(
            &config,
            "jwks_min_refresh_interval",
            defaults.min_refresh_interval,
        )?,
        max_age: duration_option(&config, "jwks_max_age", defaults.max_age)?,
    };
    let state = Arc::new(JwtAuth {
        storage: config.storage,
        system: config.system,
        clock: Arc::new(SystemClock),
        make_fetcher: Arc::new(http_fetcher),
        policy,
        runtime: RwLock::new(None),
        generation: AtomicU64::new(0),
        roles: DecodedCache::new(super::ROLE_CACHE_CAPACITY),
    });
    let mut paths = vec![path_login::path(&state)];
    paths.extend(path_role::paths(&state));
    paths.push(path_config::path(&state));
    let backend = FrameworkBackend::builder(BackendKind::Credential)
        .help(HELP)
        .unauthenticated_paths(["login", "oidc/auth_url", "oidc/callback"])
        .paths(paths)
        .auth_renew(handler(&state, path_login::renew))
        .invalidate(&state, |state: &JwtAuth, key: &str| {
            if key == "config" {
                state.replace_runtime(None);
            } else if key.starts_with("role/") {
                state.roles.invalidate([key]);
            }
        })
        .build()?;
    Ok(Arc::new(backend))
}
