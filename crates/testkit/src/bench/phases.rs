//! Phases a–f against the in-process durable server: setup through the API, then load.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use bytes::Bytes;
use http::header::{AUTHORIZATION, CONTENT_TYPE, HOST};
use http::{HeaderMap, HeaderValue, Method, Request, Uri};
use http_body_util::Full;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName};
use serde_json::{Value, json};
use tokio_rustls::TlsConnector;

use super::durable::Api;
use super::load::{self, Check, MakeRequest, Outcome, Stop, Target};
use super::probe::Sampler;
use super::tokens::{self, JWT_AUDIENCE, USER_CLAIM};
use crate::kube::{Alg, KubeStandIn, SigningKey, TokenRequest};

/// Tokens minted for the probe run that sizes a phase's real pool.
const PROBE_POOL: usize = 2048;
/// Warm-up inside each run, after the connections are open.
const RUN_WARMUP: Duration = Duration::from_millis(200);
/// The audience the kubernetes role requires.
pub(crate) const KUBE_AUDIENCE: &str = "warden";

/// How every phase is driven.
#[derive(Debug, Clone)]
pub(crate) struct Drive {
    /// Connections (and in-flight requests).
    pub(crate) concurrency: usize,
    /// The measured window.
    pub(crate) duration: Duration,
    /// The probe run's measured window (sizes the token pools).
    pub(crate) probe: Duration,
    /// The most tokens one pool may hold.
    pub(crate) max_pool: usize,
    /// Samples CPU and storage counters.
    pub(crate) sampler: Sampler,
}

/// A request template: method, path and headers fixed, the body chosen per request.
fn template(
    method: Method,
    host: &str,
    path: &str,
    extra: &[(&str, &str)],
) -> anyhow::Result<(Method, Uri, HeaderMap)> {
    let uri: Uri = path.parse()?;
    let mut headers = HeaderMap::new();
    headers.insert(HOST, HeaderValue::from_str(host)?);
    for (name, value) in extra {
        headers.insert(
            http::HeaderName::from_bytes(name.as_bytes())?,
            HeaderValue::from_str(value)?,
        );
    }
    Ok((method, uri, headers))
}

fn build(parts: &(Method, Uri, HeaderMap), body: Bytes) -> Request<Full<Bytes>> {
    let mut request = Request::new(Full::new(body));
    *request.method_mut() = parts.0.clone();
    *request.uri_mut() = parts.1.clone();
    *request.headers_mut() = parts.2.clone();
    request
}

/// The same bodiless GET every time.
pub(crate) fn get(host: &str, path: &str, token: Option<&str>) -> anyhow::Result<MakeRequest> {
    let extra: Vec<(&str, &str)> = token.map(|t| ("x-vault-token", t)).into_iter().collect();
    let parts = template(Method::GET, host, path, &extra)?;
    Ok(Arc::new(move |_| build(&parts, Bytes::new())))
}

/// A POST whose body is request number `n`'s entry of `pool` (cycling when exhausted).
pub(crate) fn post_pool(
    host: &str,
    path: &str,
    extra: &[(&str, &str)],
    pool: Arc<Vec<Bytes>>,
) -> anyhow::Result<MakeRequest> {
    let mut headers = vec![(CONTENT_TYPE.as_str(), "application/json")];
    headers.extend_from_slice(extra);
    let parts = template(Method::POST, host, path, &headers)?;
    Ok(Arc::new(move |n| {
        let len = pool.len().max(1) as u64;
        let body = pool
            .get(usize::try_from(n % len).unwrap_or(0))
            .cloned()
            .unwrap_or_default();
        build(&parts, body)
    }))
}

/// Runs a fixed request for the measured window.
pub(crate) async fn fixed(
    drive: &Drive,
    target: &Target,
    make: MakeRequest,
    check: Check,
) -> anyhow::Result<Outcome> {
    load::run(
        target,
        drive.concurrency,
        Stop::Timed(RUN_WARMUP, drive.duration),
        make,
        check,
        &drive.sampler,
    )
    .await
}

/// Runs a phase whose every request carries a distinct token: a probe run on a small pool
/// measures the rate, then a pool big enough for the measured window is minted (outside
/// timing) and the real run draws from it. Returns the outcome and the pool's figures.
pub(crate) async fn pooled(
    drive: &Drive,
    target: &Target,
    mint: &dyn Fn(usize) -> anyhow::Result<Vec<Bytes>>,
    make: &dyn Fn(Arc<Vec<Bytes>>) -> anyhow::Result<MakeRequest>,
    check: Check,
) -> anyhow::Result<(Outcome, Value)> {
    let probe_pool = Arc::new(mint(PROBE_POOL)?);
    let probe = load::run(
        target,
        drive.concurrency,
        Stop::Timed(RUN_WARMUP, drive.probe),
        make(probe_pool)?,
        check,
        &drive.sampler,
    )
    .await?;
    let window = (RUN_WARMUP + drive.duration).as_secs_f64();
    let size = tokens::pool_size(probe.throughput(), window, PROBE_POOL, drive.max_pool);
    let minted_at = std::time::Instant::now();
    let pool = Arc::new(mint(size)?);
    let mint_secs = minted_at.elapsed().as_secs_f64();
    let outcome = load::run(
        target,
        drive.concurrency,
        Stop::Timed(RUN_WARMUP, drive.duration),
        make(pool.clone())?,
        check,
        &drive.sampler,
    )
    .await?;
    let reused = outcome.issued.saturating_sub(pool.len() as u64);
    let tokens = json!({
        "distinct_tokens_minted": pool.len(),
        "requests_issued": outcome.issued,
        "requests_issued_in_warmup": outcome.issued_before_measure,
        "requests_reusing_a_token": reused,
        "every_request_distinct": reused == 0,
        "minting_seconds_excluded": super::probe::round(mint_secs, 2),
        "probe_rps": super::probe::round(probe.throughput(), 0),
    });
    Ok((outcome, tokens))
}

/// The file audit device; `Ok(None)` when enabled, `Ok(Some(why))` when the server has none.
pub(crate) async fn enable_audit(
    api: &Api,
    path: &std::path::Path,
) -> anyhow::Result<Option<String>> {
    let body = json!({"type": "file", "options": {"file_path": path.display().to_string()}});
    let (status, answer) = api.call("PUT", "sys/audit/file", Some(&body)).await?;
    if (200..300).contains(&status) {
        return Ok(None);
    }
    Ok(Some(format!(
        "PUT sys/audit/file answered HTTP {status}: {answer}"
    )))
}

/// Policy `bench`, KV v2 at `secret/` with `secret/data/bench`, and a service token
/// holding the policy (for phases e and f).
pub(crate) async fn setup_common(api: &Api) -> anyhow::Result<String> {
    let policy = "path \"secret/data/bench\" {\n  capabilities = [\"read\"]\n}\n";
    api.ok("PUT", "sys/policies/acl/bench", json!({"policy": policy}))
        .await?;
    api.ok(
        "POST",
        "sys/mounts/secret",
        json!({"type": "kv", "options": {"version": "2"}}),
    )
    .await?;
    let secret =
        json!({"data": {"username": "bench", "password": "p".repeat(32), "note": "warden-bench"}});
    let mut written = api.ok("POST", "secret/data/bench", secret.clone()).await;
    for _ in 0..20 {
        if written.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        written = api.ok("POST", "secret/data/bench", secret.clone()).await;
    }
    written?;
    let created = api
        .ok(
            "POST",
            "auth/token/create",
            json!({"policies": ["bench"], "ttl": "768h"}),
        )
        .await?;
    Ok(created["auth"]["client_token"]
        .as_str()
        .context("no client_token")?
        .to_owned())
}

/// A `jwt` mount at `mount` trusting `key` (`jwt_validation_pubkeys`), with role `bench`
/// (vault-benchmark's `jwt_auth` role, service tokens).
pub(crate) async fn setup_jwt(api: &Api, mount: &str, key: &SigningKey) -> anyhow::Result<()> {
    api.ok("POST", &format!("sys/auth/{mount}"), json!({"type": "jwt"}))
        .await?;
    api.ok(
        "POST",
        &format!("auth/{mount}/config"),
        json!({"jwt_validation_pubkeys": [key.public_key_pem()]}),
    )
    .await?;
    let role = json!({
        "role_type": "jwt",
        "bound_audiences": [JWT_AUDIENCE],
        "user_claim": USER_CLAIM,
        "token_policies": ["bench"],
        "token_type": "service",
    });
    api.ok("POST", &format!("auth/{mount}/role/bench"), role)
        .await?;
    Ok(())
}

/// Login bodies of distinct JWTs signed by `key`.
pub(crate) fn jwt_minter(key: SigningKey) -> impl Fn(usize) -> anyhow::Result<Vec<Bytes>> {
    move |count| tokens::mint_login_bodies(&key, count, "bench", &tokens::jwt_claims)
}

/// The stand-in's objects (namespace `bench`, SAs `reviewer` with auth-delegator and
/// `app`), and the `kubernetes` mount with role `bench` (audience set). Returns the
/// reviewer JWT.
pub(crate) async fn setup_kube(api: &Api, kube: &KubeStandIn) -> anyhow::Result<String> {
    kube.create_namespace("bench", &[])?;
    kube.create_service_account("bench", "reviewer")?;
    kube.grant_auth_delegator("bench", "reviewer")?;
    kube.create_service_account("bench", "app")?;
    let reviewer = kube
        .mint(&TokenRequest::new("bench", "reviewer").duration(Duration::from_secs(24 * 3600)))?;
    api.ok("POST", "sys/auth/kubernetes", json!({"type": "kubernetes"}))
        .await?;
    let config = json!({"kubernetes_host": kube.url(), "kubernetes_ca_cert": kube.ca_pem(), "token_reviewer_jwt": reviewer});
    api.ok("POST", "auth/kubernetes/config", config).await?;
    let role = json!({
        "bound_service_account_names": ["app"],
        "bound_service_account_namespaces": ["bench"],
        "audience": KUBE_AUDIENCE,
        "token_policies": ["bench"],
    });
    api.ok("POST", "auth/kubernetes/role/bench", role).await?;
    Ok(reviewer)
}

/// Distinct projected tokens of `bench/app` for the role's audience: `kubectl create
/// token`'s claims plus a unique `jti` (as kube-apiserver ≥ 1.29 adds), RS256.
pub(crate) fn kube_tokens(
    kube: &KubeStandIn,
) -> anyhow::Result<impl Fn(usize) -> anyhow::Result<Vec<String>> + use<>> {
    let base = kube.claims_for(&TokenRequest::new("bench", "app").audience(KUBE_AUDIENCE))?;
    let key = kube.signing_key(Alg::Rs256)?;
    Ok(move |count| {
        let claims = |_: usize| {
            let mut claims = base.clone();
            claims["jti"] = json!(uuid::Uuid::new_v4().to_string());
            claims
        };
        tokens::mint(&key, count, &claims)
    })
}

/// A TLS target for the stand-in, trusting only its CA.
pub(crate) fn kube_target(kube: &KubeStandIn) -> anyhow::Result<Target> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(kube.ca_pem().as_bytes()) {
        roots.add(cert?)?;
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let name = ServerName::IpAddress(kube.addr().ip().into());
    Ok(Target {
        addr: kube.addr(),
        tls: Some((TlsConnector::from(Arc::new(config)), name)),
    })
}

/// The raw TokenReview request: what warden's kubernetes method sends, straight to the
/// stand-in.
pub(crate) fn tokenreview_request(
    kube: &KubeStandIn,
    reviewer: &str,
    pool: Arc<Vec<Bytes>>,
) -> anyhow::Result<MakeRequest> {
    let bearer = format!("Bearer {reviewer}");
    let host = kube.addr().to_string();
    post_pool(
        &host,
        "/apis/authentication.k8s.io/v1/tokenreviews",
        &[(AUTHORIZATION.as_str(), &bearer)],
        pool,
    )
}
