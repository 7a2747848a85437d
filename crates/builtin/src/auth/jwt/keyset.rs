//! Where verification keys come from, and how remote ones are cached (cap's `keyset.go`,
//! go-oidc's `RemoteKeySet`, the plugin's `jwks_cache.go`), with warden's hardening:
//!
//! - static PEM keys are parsed once per config write;
//! - a remote JWK set is fetched once and kept parsed; a verification miss (unknown `kid`, or
//!   no cached key verifies) triggers **one** refresh shared by every concurrent caller, and
//!   miss-triggered refreshes of one URL happen at most once per `min_refresh_interval`
//!   (10 s; Vault refetches on every miss);
//! - keys older than `max_age` (1 h) are refetched before use, so a key removed from the JWKS
//!   stops verifying; if that fetch fails the cached keys keep serving;
//! - a JWK set with unusable keys skips them instead of failing.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use super::fetch::{ACCEPT_JSON, ACCEPT_JWKS, Clock, KeyFetcher};
use crate::jose::{self, Alg, JoseError, KeySet, Verified};

/// cap's error for a failed signature check under static keys.
const STATIC_MISS: &str = "no known key successfully validated the token signature";
/// go-oidc's error for a failed signature check under a remote key set.
const REMOTE_MISS: &str = "failed to verify id token signature";

/// How often remote keys may be refetched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RefreshPolicy {
    /// The least time between two refreshes triggered by verification misses.
    pub(crate) min_refresh_interval: Duration,
    /// Keys older than this are refetched before use.
    pub(crate) max_age: Duration,
}

impl Default for RefreshPolicy {
    fn default() -> Self {
        Self {
            min_refresh_interval: Duration::from_secs(10),
            max_age: Duration::from_secs(3600),
        }
    }
}

/// Why a refresh was asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reason {
    /// The probe when the configuration is written.
    Config,
    /// Never loaded, or older than `max_age`.
    Stale,
    /// A token's key was not found.
    Miss,
}

#[derive(Debug, Default)]
struct CacheState {
    keys: Arc<KeySet>,
    /// When the current keys were fetched; `None` before the first successful fetch.
    loaded: Option<SystemTime>,
    /// Bumped by every completed fetch attempt, so waiters know one happened.
    generation: u64,
    last_attempt: Option<SystemTime>,
    last_miss_refresh: Option<SystemTime>,
    last_error: Option<String>,
}

/// One remote JWK set (a `jwks_url`, a discovery document's `jwks_uri`, or one of
/// `jwks_pairs`).
#[derive(Debug)]
pub(crate) struct RemoteKeys {
    url: String,
    fetcher: Arc<dyn KeyFetcher>,
    clock: Arc<dyn Clock>,
    policy: RefreshPolicy,
    state: Mutex<CacheState>,
    /// Serialises fetches: concurrent misses wait for the one in flight.
    fetch_lock: tokio::sync::Mutex<()>,
}

fn elapsed(clock: &dyn Clock, since: Option<SystemTime>) -> Option<Duration> {
    since.map(|t| clock.now().duration_since(t).unwrap_or_default())
}

impl RemoteKeys {
    /// An empty cache for `url`; nothing is fetched until [`RemoteKeys::load`] or first use.
    pub(crate) fn new(
        url: impl Into<String>,
        fetcher: Arc<dyn KeyFetcher>,
        clock: Arc<dyn Clock>,
        policy: RefreshPolicy,
    ) -> Self {
        Self {
            url: url.into(),
            fetcher,
            clock,
            policy,
            state: Mutex::new(CacheState::default()),
            fetch_lock: tokio::sync::Mutex::new(()),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, CacheState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn snapshot(&self) -> (Arc<KeySet>, u64, Option<SystemTime>) {
        let state = self.state();
        (Arc::clone(&state.keys), state.generation, state.loaded)
    }

    /// Fetches the set now (the probe at config write). The error is the fetch or parse
    /// failure, for the operator log.
    pub(crate) async fn load(&self) -> Result<(), String> {
        let _guard = self.fetch_lock.lock().await;
        self.fetch_and_store(Reason::Config).await
    }

    /// Whether some cached key has this `kid`.
    pub(crate) fn has_kid(&self, kid: &str) -> bool {
        self.state().keys.contains_kid(kid)
    }

    /// Whether the cache holds any key.
    pub(crate) fn has_keys(&self) -> bool {
        !self.state().keys.is_empty()
    }

    async fn fetch_and_store(&self, reason: Reason) -> Result<(), String> {
        let result = self.fetch().await;
        metrics::counter!(
            "warden_jwt_jwks_refreshes_total",
            "url" => self.url.clone(),
            "reason" => match reason {
                Reason::Config => "config",
                Reason::Stale => "stale",
                Reason::Miss => "miss",
            },
            "outcome" => if result.is_ok() { "ok" } else { "error" },
        )
        .increment(1);
        let now = self.clock.now();
        let mut state = self.state();
        state.generation += 1;
        state.last_attempt = Some(now);
        if reason == Reason::Miss {
            state.last_miss_refresh = Some(now);
        }
        match result {
            Ok(keys) => {
                state.keys = Arc::new(keys);
                state.loaded = Some(now);
                state.last_error = None;
                Ok(())
            }
            Err(err) => {
                tracing::warn!(url = %self.url, error = %err, "failed to refresh JWKS");
                state.last_error = Some(err.clone());
                Err(err)
            }
        }
    }

    async fn fetch(&self) -> Result<KeySet, String> {
        let body = self.fetcher.get(&self.url, ACCEPT_JWKS).await?;
        let report =
            KeySet::from_jwks(&body).map_err(|err| format!("failed to decode keys: {err}"))?;
        for skipped in &report.skipped {
            tracing::warn!(
                url = %self.url,
                index = skipped.index,
                kid = skipped.kid.as_deref().unwrap_or(""),
                reason = %skipped.reason,
                "skipping unusable key in JWKS"
            );
        }
        Ok(report.keys)
    }

    /// Refreshes unless another caller did since `seen` or the rate limit forbids it.
    /// `Ok(true)`: the keys may have changed; `Ok(false)`: nothing was fetched.
    async fn refresh(&self, seen: u64, reason: Reason) -> Result<bool, String> {
        let _guard = self.fetch_lock.lock().await;
        {
            let state = self.state();
            if state.generation != seen {
                return match &state.last_error {
                    Some(err) if state.loaded.is_none() => Err(err.clone()),
                    _ => Ok(true),
                };
            }
            // The config-write probe does not count against miss refreshes, so a key rotated
            // in right after a write is still picked up at once.
            // A stale refresh is limited only after a failed attempt (an endpoint that is
            // down is not asked again on every login).
            let last = match reason {
                Reason::Miss => state.last_miss_refresh,
                Reason::Stale | Reason::Config if state.last_error.is_some() => state.last_attempt,
                Reason::Stale | Reason::Config => None,
            };
            let interval = self.policy.min_refresh_interval;
            if elapsed(self.clock.as_ref(), last).is_some_and(|age| age < interval) {
                return match (&state.last_error, state.loaded) {
                    (Some(err), None) => Err(err.clone()),
                    _ => Ok(false),
                };
            }
        }
        self.fetch_and_store(reason).await.map(|()| true)
    }

    /// Verifies `token` with the cached keys, refreshing as the module documentation says.
    /// The error is the text after `error verifying token signature: ` (or a claims error).
    pub(crate) async fn verify(&self, token: &str, algs: &[Alg]) -> Result<Verified, VerifyError> {
        let (mut keys, mut generation, loaded) = self.snapshot();
        let stale = match elapsed(self.clock.as_ref(), loaded) {
            None => true,
            Some(age) => age >= self.policy.max_age,
        };
        if stale {
            match self.refresh(generation, Reason::Stale).await {
                Err(err) if loaded.is_none() => return Err(VerifyError::Signature(fetching(&err))),
                _ => (keys, generation, _) = self.snapshot(),
            }
        }
        match jose::verify(token, &keys, algs) {
            Err(err) if is_key_miss(&err) => {}
            other => return other.map_err(|err| map_error(err, REMOTE_MISS)),
        }
        match self.refresh(generation, Reason::Miss).await {
            Err(err) => Err(VerifyError::Signature(fetching(&err))),
            Ok(false) => Err(VerifyError::Signature(REMOTE_MISS.to_owned())),
            Ok(true) => {
                let (keys, _, _) = self.snapshot();
                jose::verify(token, &keys, algs).map_err(|err| map_error(err, REMOTE_MISS))
            }
        }
    }

    /// A miss-triggered refresh for `jwks_pairs` kid lookups (de-duplicated, rate-limited).
    pub(crate) async fn refresh_on_miss(&self) {
        let (_, generation, _) = self.snapshot();
        let _ = self.refresh(generation, Reason::Miss).await;
    }
}

fn fetching(err: &str) -> String {
    format!("fetching keys oidc: get keys failed: {err}")
}

/// Why a token's signature could not be accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum VerifyError {
    /// cap's `error verifying token signature: <detail>`.
    Signature(String),
    /// The algorithm is not allowed (`invalid algorithm (alg) header parameter: …`).
    Algorithm,
    /// Any other text, shown as is after `error validating token: ` (claim types, the
    /// `jwks_pairs` kid lookup).
    Other(String),
}

impl VerifyError {
    /// The text after `error validating token: `.
    pub(crate) fn message(&self) -> String {
        match self {
            Self::Signature(detail) => format!("error verifying token signature: {detail}"),
            Self::Algorithm => {
                "invalid algorithm (alg) header parameter: token signed with unexpected algorithm"
                    .to_owned()
            }
            Self::Other(text) => text.clone(),
        }
    }
}

/// Errors that a different key set could cure.
fn is_key_miss(err: &JoseError) -> bool {
    matches!(
        err,
        JoseError::UnknownKid
            | JoseError::NoCompatibleKey(_)
            | JoseError::KeyAlgMismatch(_)
            | JoseError::BadSignature
            | JoseError::SignatureLength { .. }
    )
}

/// Maps a JOSE error to cap's classes; `miss` is the key-set specific "no key verified" text.
pub(crate) fn map_error(err: JoseError, miss: &str) -> VerifyError {
    use jose::Part;
    match err {
        JoseError::UnsupportedAlg | JoseError::AlgNotAllowed(_) => VerifyError::Algorithm,
        e if is_key_miss(&e) => VerifyError::Signature(miss.to_owned()),
        // Raised while reading the claims, which happens only after the signature verified.
        e @ (JoseError::InvalidClaim { .. }
        | JoseError::CaseVariantName {
            part: Part::Payload,
            ..
        }
        | JoseError::DuplicateMember(Part::Payload)
        | JoseError::Json(Part::Payload)
        | JoseError::NotAnObject(Part::Payload)
        | JoseError::TooDeep(Part::Payload)) => VerifyError::Other(e.to_string()),
        e => VerifyError::Signature(e.to_string()),
    }
}

/// Verifies with static (PEM) keys: every key is tried, `kid` is ignored.
pub(crate) fn verify_static(
    token: &str,
    keys: &KeySet,
    algs: &[Alg],
) -> Result<Verified, VerifyError> {
    jose::verify(token, keys, algs).map_err(|err| map_error(err, STATIC_MISS))
}

/// Verifies against `jwks_pairs`: the token must name a `kid`, which selects the set.
pub(crate) async fn verify_multi(
    token: &str,
    sets: &[Arc<RemoteKeys>],
    algs: &[Alg],
) -> Result<Verified, VerifyError> {
    let header = jose::decode_unverified(token, algs)
        .map_err(|err| map_error(err, REMOTE_MISS))?
        .header;
    let Some(kid) = header.kid else {
        return Err(VerifyError::Other(
            "token missing kid header parameter".into(),
        ));
    };
    let find = || sets.iter().find(|set| set.has_kid(&kid)).cloned();
    let set = match find() {
        Some(set) => set,
        None => {
            let mut refreshes = tokio::task::JoinSet::new();
            for set in sets {
                let set = Arc::clone(set);
                refreshes.spawn(async move { set.refresh_on_miss().await });
            }
            while refreshes.join_next().await.is_some() {}
            if !sets.iter().any(|set| set.has_keys()) {
                return Err(VerifyError::Other(format!(
                    "error searching for key set with kid {kid}: failed to refresh all {} JWKS caches - check network connectivity and JWKS endpoints",
                    sets.len()
                )));
            }
            find().ok_or_else(|| {
                VerifyError::Other(format!(
                    "error searching for key set with kid {kid}: no key found with kid {kid} in any JWKS endpoint"
                ))
            })?
        }
    };
    set.verify(token, algs).await
}

/// The OIDC discovery document fields cap reads.
#[derive(Debug, serde::Deserialize)]
struct Discovery {
    #[serde(default)]
    issuer: String,
    #[serde(default)]
    jwks_uri: String,
}

/// cap's `NewOIDCDiscoveryKeySet`: fetches `<issuer>/.well-known/openid-configuration` and
/// checks that its `issuer` is exactly the configured URL. Returns the `jwks_uri`.
pub(crate) async fn discover(fetcher: &dyn KeyFetcher, issuer: &str) -> Result<String, String> {
    if issuer.is_empty() {
        return Err("issuer must not be empty".into());
    }
    let url = format!(
        "{}/.well-known/openid-configuration",
        issuer.trim_end_matches('/')
    );
    let body = fetcher.get(&url, ACCEPT_JSON).await?;
    let doc: Discovery = serde_json::from_slice(&body)
        .map_err(|err| format!("failed to decode OIDC discovery document: {err}"))?;
    if doc.issuer != issuer {
        return Err(format!(
            "issuer did not match the returned issuer, expected {issuer:?} got {:?}",
            doc.issuer
        ));
    }
    if doc.jwks_uri.is_empty() {
        return Err("OIDC discovery document has no jwks_uri".into());
    }
    Ok(doc.jwks_uri)
}

#[cfg(test)]
#[path = "keyset_tests.rs"]
mod tests;
