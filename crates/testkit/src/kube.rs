//! A real-HTTPS, in-process stand-in for kube-apiserver, faithful to the responses recorded
//! in `reference/kubernetes-api-responses.md`: TokenReview (with RBAC on the caller),
//! namespace and service-account reads, OIDC discovery and JWKS. It mints projected and
//! legacy service-account tokens with RS256 or ES256 keys, and can inject latency and
//! failures and move its clock.
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use warden_testkit::kube::{KubeOptions, KubeStandIn, TokenRequest};
//! let kube = KubeStandIn::start(KubeOptions::default()).await?;
//! kube.create_namespace("vault-test", &[("team", "a")])?;
//! kube.create_service_account("vault-test", "reviewer")?;
//! kube.grant_auth_delegator("vault-test", "reviewer")?;
//! kube.create_service_account("vault-test", "app")?;
//! let reviewer = kube.mint(&TokenRequest::new("vault-test", "reviewer"))?;
//! let app = kube.mint(&TokenRequest::new("vault-test", "app").audience("vault"))?;
//! # let _ = (reviewer, app); Ok(()) }
//! ```
//!
//! Not modelled: the apiserver's 10 s TokenReview success cache, the 10 minute minimum and
//! the maximum of token durations, graceful deletion, namespace-scoped role bindings.

mod cluster;
mod handlers;
mod keys;
mod listener;
mod review;
mod token;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use serde_json::Value;
use tokio::sync::watch;

pub use keys::{Alg, SigningKey};
pub use token::{BoundObject, LegacyToken, TokenRequest};

use cluster::{Cluster, KNOWN_ROLES};

/// How to start a stand-in.
#[derive(Debug, Clone)]
pub struct KubeOptions {
    /// `--service-account-issuer`; `None` means the stand-in's own URL.
    pub issuer: Option<String>,
    /// `--api-audiences`.
    pub api_audiences: Vec<String>,
    /// `--service-account-jwks-uri`; `None` means `<issuer>/openid/v1/jwks`.
    pub jwks_uri: Option<String>,
    /// Whether `system:service-account-issuer-discovery` is bound to `system:unauthenticated`
    /// (the `oidc-reviewer` binding Vault's JWT method needs). Service accounts may always read
    /// discovery and JWKS (the default binding).
    pub anonymous_discovery: bool,
    /// The listen address (port 0 picks one).
    pub bind: SocketAddr,
    /// The algorithm of the first signing key.
    pub initial_key: Alg,
}

impl Default for KubeOptions {
    fn default() -> Self {
        Self {
            issuer: None,
            api_audiences: vec!["https://kubernetes.default.svc.cluster.local".to_owned()],
            jwks_uri: None,
            anonymous_discovery: true,
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            initial_key: Alg::Rs256,
        }
    }
}

/// The endpoints the stand-in counts requests for and can inject faults into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Endpoint {
    /// `POST /apis/authentication.k8s.io/v1/tokenreviews`
    TokenReview,
    /// `GET /api/v1/namespaces/<ns>`
    Namespace,
    /// `GET /api/v1/namespaces/<ns>/serviceaccounts/<name>`
    ServiceAccount,
    /// `GET /.well-known/openid-configuration`
    Discovery,
    /// `GET /openid/v1/jwks`
    Jwks,
    /// Any other path.
    Other,
}

impl Endpoint {
    const ALL: [Self; 6] = [
        Self::TokenReview,
        Self::Namespace,
        Self::ServiceAccount,
        Self::Discovery,
        Self::Jwks,
        Self::Other,
    ];

    fn index(self) -> usize {
        Self::ALL.iter().position(|e| *e == self).unwrap_or(5)
    }
}

/// A failure to inject into an endpoint's requests (after they are counted).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Wait this long, then answer normally (use a long delay for a hang).
    Delay(Duration),
    /// Answer with this HTTP status and a Kubernetes `Status` body (500: `InternalError`).
    Status(u16),
    /// Close the connection without an answer.
    Close,
}

/// State shared by the API and the HTTP handlers.
#[derive(Debug)]
pub(crate) struct Shared {
    cluster: Mutex<Cluster>,
    pub(crate) issuer: String,
    pub(crate) api_audiences: Vec<String>,
    pub(crate) jwks_uri: String,
    clock_offset: AtomicI64,
    counters: [AtomicU64; 6],
    faults: Mutex<Vec<(Endpoint, Fault, Option<u32>)>>,
}

impl Shared {
    pub(crate) fn cluster(&self) -> MutexGuard<'_, Cluster> {
        self.cluster.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The stand-in's clock: Unix seconds plus the configured offset.
    pub(crate) fn now(&self) -> i64 {
        let wall = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX / 2));
        wall + self.clock_offset.load(Ordering::SeqCst)
    }

    pub(crate) fn count(&self, endpoint: Endpoint) {
        self.counters[endpoint.index()].fetch_add(1, Ordering::SeqCst);
    }

    pub(crate) fn take_fault(&self, endpoint: Endpoint) -> Option<Fault> {
        let mut faults = self.faults.lock().unwrap_or_else(PoisonError::into_inner);
        let position = faults.iter().position(|(e, _, _)| *e == endpoint)?;
        let (_, fault, remaining) = &mut faults[position];
        let fault = *fault;
        if let Some(n) = remaining {
            *n = n.saturating_sub(1);
            if *n == 0 {
                faults.remove(position);
            }
        }
        Some(fault)
    }
}

/// A running stand-in. Dropping it stops the listener too.
#[derive(Debug)]
pub struct KubeStandIn {
    shared: Arc<Shared>,
    addr: SocketAddr,
    url: String,
    ca_pem: String,
    ca_file: PathBuf,
    _dir: tempfile::TempDir,
    stop: watch::Sender<bool>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl KubeStandIn {
    /// Starts a stand-in with a fresh CA, server certificate and one signing key. Only the
    /// namespace `default` exists.
    pub async fn start(options: KubeOptions) -> anyhow::Result<Self> {
        let listener = tokio::net::TcpListener::bind(options.bind)
            .await
            .with_context(|| format!("bind {}", options.bind))?;
        let addr = listener.local_addr()?;
        let url = format!("https://{addr}");
        let (ca_pem, tls) = listener::tls_config()?;
        let dir = tempfile::tempdir().context("tempdir")?;
        let ca_file = dir.path().join("ca.crt");
        std::fs::write(&ca_file, &ca_pem).context("write CA file")?;

        let issuer = options.issuer.unwrap_or_else(|| url.clone());
        let jwks_uri = options
            .jwks_uri
            .unwrap_or_else(|| format!("{}/openid/v1/jwks", issuer.trim_end_matches('/')));
        let mut cluster = Cluster {
            anonymous_discovery: options.anonymous_discovery,
            ..Cluster::default()
        };
        cluster
            .keys
            .push(SigningKey::generate(options.initial_key)?);
        let shared = Arc::new(Shared {
            cluster: Mutex::new(cluster),
            issuer,
            api_audiences: options.api_audiences,
            jwks_uri,
            clock_offset: AtomicI64::new(0),
            counters: Default::default(),
            faults: Mutex::new(Vec::new()),
        });
        let now = shared.now();
        shared.cluster().create_namespace("default", &[], now)?;
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(listener::serve(listener, tls, shared.clone(), stopped));
        Ok(Self {
            shared,
            addr,
            url,
            ca_pem,
            ca_file,
            _dir: dir,
            stop,
            task: Some(task),
        })
    }

    /// A stand-in with the usual cluster of the tests: namespaces `warden` and `apps`, a
    /// `warden/reviewer` service account bound to `system:auth-delegator`, and `apps/app`.
    /// Returns the stand-in and the reviewer's JWT.
    pub async fn with_reviewer() -> anyhow::Result<(Self, String)> {
        let kube = Self::start(KubeOptions::default()).await?;
        kube.create_namespace("warden", &[])?;
        kube.create_namespace("apps", &[])?;
        kube.create_service_account("warden", "reviewer")?;
        kube.grant_auth_delegator("warden", "reviewer")?;
        kube.create_service_account("apps", "app")?;
        let reviewer = kube.mint(&TokenRequest::new("warden", "reviewer"))?;
        Ok((kube, reviewer))
    }

    /// Stops accepting connections, closes open ones and waits for the server task.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }

    /// The base URL, `https://127.0.0.1:<port>` (the `kubernetes_host`).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The CA certificate (PEM) that signed the server certificate.
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// A file holding [`KubeStandIn::ca_pem`] (lives as long as the stand-in).
    pub fn ca_file(&self) -> &Path {
        &self.ca_file
    }

    /// The service-account issuer (`iss` of projected tokens).
    pub fn issuer(&self) -> &str {
        &self.shared.issuer
    }

    /// The API audiences.
    pub fn api_audiences(&self) -> &[String] {
        &self.shared.api_audiences
    }

    /// A reqwest client that trusts the stand-in's CA (and nothing else).
    pub fn client(&self) -> anyhow::Result<reqwest::Client> {
        let ca = reqwest::Certificate::from_pem(self.ca_pem.as_bytes())?;
        Ok(reqwest::Client::builder().tls_certs_only([ca]).build()?)
    }

    // ---- counters, faults, clock

    /// Requests seen by `endpoint` so far (faulted ones included).
    pub fn count(&self, endpoint: Endpoint) -> u64 {
        self.shared.counters[endpoint.index()].load(Ordering::SeqCst)
    }

    /// Requests seen by the TokenReview endpoint.
    pub fn tokenreview_count(&self) -> u64 {
        self.count(Endpoint::TokenReview)
    }

    /// Injects `fault` into every later request to `endpoint` until cleared.
    pub fn set_fault(&self, endpoint: Endpoint, fault: Fault) {
        self.push_fault(endpoint, fault, None);
    }

    /// Injects `fault` into the next `times` requests to `endpoint`.
    pub fn set_fault_times(&self, endpoint: Endpoint, fault: Fault, times: u32) {
        if times > 0 {
            self.push_fault(endpoint, fault, Some(times));
        }
    }

    fn push_fault(&self, endpoint: Endpoint, fault: Fault, times: Option<u32>) {
        let mut faults = self
            .shared
            .faults
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        faults.retain(|(e, _, _)| *e != endpoint);
        faults.push((endpoint, fault, times));
    }

    /// Removes all injected faults.
    pub fn clear_faults(&self) {
        self.shared
            .faults
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }

    /// The stand-in's clock (Unix seconds), used for minting and for expiry checks.
    pub fn now(&self) -> i64 {
        self.shared.now()
    }

    /// Sets the clock to the wall clock plus `seconds` (negative: in the past).
    pub fn set_clock_offset(&self, seconds: i64) {
        self.shared.clock_offset.store(seconds, Ordering::SeqCst);
    }

    /// Moves the clock forward.
    pub fn advance_clock(&self, by: Duration) {
        let seconds = i64::try_from(by.as_secs()).unwrap_or(i64::MAX / 4);
        self.shared
            .clock_offset
            .fetch_add(seconds, Ordering::SeqCst);
    }

    // ---- objects

    /// Creates a namespace with labels (plus `kubernetes.io/metadata.name`); returns its UID.
    pub fn create_namespace(&self, name: &str, labels: &[(&str, &str)]) -> anyhow::Result<String> {
        let now = self.now();
        self.shared.cluster().create_namespace(name, labels, now)
    }

    /// Deletes a namespace and everything in it.
    pub fn delete_namespace(&self, name: &str) -> anyhow::Result<()> {
        self.shared.cluster().delete_namespace(name)
    }

    /// Creates a service account in an existing namespace; returns its UID.
    pub fn create_service_account(&self, namespace: &str, name: &str) -> anyhow::Result<String> {
        let now = self.now();
        self.shared
            .cluster()
            .create_service_account(namespace, name, now)
    }

    /// Sets an annotation on a service account.
    pub fn annotate_service_account(
        &self,
        namespace: &str,
        name: &str,
        key: &str,
        value: &str,
    ) -> anyhow::Result<()> {
        self.shared
            .cluster()
            .service_account_mut(namespace, name)?
            .annotations
            .insert(key.to_owned(), value.to_owned());
        Ok(())
    }

    /// Deletes a service account and its legacy token secrets (its role bindings stay).
    pub fn delete_service_account(&self, namespace: &str, name: &str) -> anyhow::Result<()> {
        self.shared
            .cluster()
            .delete_service_account(namespace, name)
    }

    /// Deletes and re-creates a service account: same name, new UID. Returns the new UID.
    pub fn recreate_service_account(&self, namespace: &str, name: &str) -> anyhow::Result<String> {
        let now = self.now();
        let mut cluster = self.shared.cluster();
        cluster.delete_service_account(namespace, name)?;
        cluster.create_service_account(namespace, name, now)
    }

    /// A service account's UID.
    pub fn service_account_uid(&self, namespace: &str, name: &str) -> Option<String> {
        let cluster = self.shared.cluster();
        let key = (namespace.to_owned(), name.to_owned());
        cluster.service_accounts.get(&key).map(|sa| sa.uid.clone())
    }

    /// Creates a pod running as `service_account`; returns its UID.
    pub fn create_pod(
        &self,
        namespace: &str,
        name: &str,
        service_account: &str,
    ) -> anyhow::Result<String> {
        self.shared
            .cluster()
            .create_pod(namespace, name, service_account)
    }

    /// Deletes a pod (its bound tokens stop authenticating).
    pub fn delete_pod(&self, namespace: &str, name: &str) -> anyhow::Result<()> {
        let key = (namespace.to_owned(), name.to_owned());
        match self.shared.cluster().pods.remove(&key) {
            Some(_) => Ok(()),
            None => bail!("pods \"{name}\" not found"),
        }
    }

    /// Creates an (opaque) secret, e.g. for secret-bound tokens; returns its UID.
    pub fn create_secret(&self, namespace: &str, name: &str) -> anyhow::Result<String> {
        self.shared.cluster().create_secret(namespace, name, None)
    }

    /// Deletes a secret (bound and legacy tokens tied to it stop authenticating).
    pub fn delete_secret(&self, namespace: &str, name: &str) -> anyhow::Result<()> {
        let key = (namespace.to_owned(), name.to_owned());
        match self.shared.cluster().secrets.remove(&key) {
            Some(_) => Ok(()),
            None => bail!("secrets \"{name}\" not found"),
        }
    }

    /// Creates a legacy `kubernetes.io/service-account-token` Secret for the SA, as the
    /// tokens controller would, signed with the newest RS256 key.
    pub fn create_legacy_token(&self, namespace: &str, name: &str) -> anyhow::Result<LegacyToken> {
        let (secret_name, token) = self.shared.cluster().create_legacy_token(namespace, name)?;
        Ok(LegacyToken { secret_name, token })
    }

    // ---- RBAC

    /// Binds the service account to `system:auth-delegator` (may create TokenReviews).
    pub fn grant_auth_delegator(&self, namespace: &str, name: &str) -> anyhow::Result<()> {
        self.grant_cluster_role(namespace, name, "system:auth-delegator")
    }

    /// Binds the service account to a cluster role: `system:auth-delegator`,
    /// `system:controller:namespace-controller` (get namespaces), `view` (get namespaces,
    /// service accounts, pods) or `cluster-admin`.
    pub fn grant_cluster_role(
        &self,
        namespace: &str,
        name: &str,
        role: &str,
    ) -> anyhow::Result<()> {
        if !KNOWN_ROLES.contains(&role) {
            bail!("unknown cluster role {role:?} (known: {KNOWN_ROLES:?})");
        }
        let key = (namespace.to_owned(), name.to_owned());
        self.shared
            .cluster()
            .bindings
            .entry(key)
            .or_default()
            .insert(role.to_owned());
        Ok(())
    }

    /// Removes a cluster role binding.
    pub fn revoke_cluster_role(&self, namespace: &str, name: &str, role: &str) {
        let key = (namespace.to_owned(), name.to_owned());
        if let Some(roles) = self.shared.cluster().bindings.get_mut(&key) {
            roles.remove(role);
        }
    }

    /// Binds (or unbinds) `system:service-account-issuer-discovery` to
    /// `system:unauthenticated`.
    pub fn set_anonymous_discovery(&self, allowed: bool) {
        self.shared.cluster().anonymous_discovery = allowed;
    }

    // ---- keys and tokens

    /// Adds a signing key; it becomes the key that signs tokens of its algorithm. Older keys
    /// stay in the JWKS and keep verifying until retired. Returns the kid.
    pub fn add_key(&self, alg: Alg) -> anyhow::Result<String> {
        let key = SigningKey::generate(alg)?;
        let kid = key.kid().to_owned();
        self.shared.cluster().keys.push(key);
        Ok(kid)
    }

    /// Removes a key from the JWKS and from verification (it can still sign forged tokens
    /// through [`KubeStandIn::key`]).
    pub fn retire_key(&self, kid: &str) -> anyhow::Result<()> {
        let mut cluster = self.shared.cluster();
        let position = cluster
            .keys
            .iter()
            .position(|k| k.kid() == kid)
            .with_context(|| format!("no active key {kid}"))?;
        let key = cluster.keys.remove(position);
        cluster.retired.push(key);
        Ok(())
    }

    /// The keys in the JWKS, oldest first.
    pub fn keys(&self) -> Vec<SigningKey> {
        self.shared.cluster().keys.clone()
    }

    /// A key by kid, active or retired.
    pub fn key(&self, kid: &str) -> Option<SigningKey> {
        let cluster = self.shared.cluster();
        cluster
            .keys
            .iter()
            .chain(&cluster.retired)
            .find(|k| k.kid() == kid)
            .cloned()
    }

    /// The key that currently signs tokens of `alg`.
    pub fn signing_key(&self, alg: Alg) -> anyhow::Result<SigningKey> {
        self.shared.cluster().signing_key(alg)
    }

    /// The active public keys as PEM (what `pem_keys` would hold).
    pub fn pem_keys(&self) -> Vec<String> {
        self.keys().iter().map(SigningKey::public_key_pem).collect()
    }

    /// The claim set `kubectl create token` would produce (keys sorted like the real server),
    /// for tweaking and re-signing with [`KubeStandIn::sign_claims`].
    pub fn claims_for(&self, request: &TokenRequest) -> anyhow::Result<Value> {
        let now = self.now();
        let shared = &self.shared;
        shared
            .cluster()
            .projected_claims(request, &shared.issuer, &shared.api_audiences, now)
    }

    /// Mints a projected token like `kubectl create token`. The SA (and bound object) must
    /// exist.
    pub fn mint(&self, request: &TokenRequest) -> anyhow::Result<String> {
        let claims = self.claims_for(request)?;
        self.sign_claims(&claims, request.alg)
    }

    /// Signs arbitrary claims with the current key of `alg` (for forged but validly signed
    /// tokens). Use [`SigningKey::generate`] for tokens signed by an unknown key.
    pub fn sign_claims(&self, claims: &Value, alg: Alg) -> anyhow::Result<String> {
        self.signing_key(alg)?.sign(claims)
    }
}

impl Drop for KubeStandIn {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}
