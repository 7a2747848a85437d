//! Outbound HTTP for key material: OIDC discovery documents and JWK sets, behind the
//! [`KeyFetcher`] trait so key caching can be tested without a network.
//!
//! The real fetcher ([`HttpFetcher`]) is one pooled keep-alive client per key source, trusting
//! only the configured CA when one is given (cap's `createCAContext`), HTTPS only, with a
//! 10 s timeout and a 1 MiB body cap. No credential is ever sent.

use std::fmt;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;

/// The `Accept` header for JWK sets: kube-apiserver answers 406 to `application/json` alone.
pub(crate) const ACCEPT_JWKS: &str = "application/jwk-set+json, application/json;q=0.9";
/// The `Accept` header for OIDC discovery documents.
pub(crate) const ACCEPT_JSON: &str = "application/json";
/// How long one fetch may take in all.
pub(crate) const FETCH_TIMEOUT: Duration = Duration::from_secs(10);
/// The largest body accepted.
pub(crate) const MAX_BODY: usize = 1024 * 1024;

/// Gets documents over HTTP. Errors are texts safe to log (never a body).
#[async_trait]
pub(crate) trait KeyFetcher: Send + Sync + fmt::Debug {
    /// GETs `url` with the given `Accept` header; only a 200 with a body ≤ 1 MiB is a success.
    async fn get(&self, url: &str, accept: &str) -> Result<Vec<u8>, String>;
}

/// The time, for token validity and cache ages; a trait so tests can move it.
pub(crate) trait Clock: Send + Sync + fmt::Debug {
    /// The current wall-clock time.
    fn now(&self) -> SystemTime;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// cap's message for a CA bundle without a usable certificate.
pub(crate) const BAD_CA: &str = "could not parse CA PEM value successfully";

/// The reqwest-backed fetcher.
#[derive(Debug, Clone)]
pub(crate) struct HttpFetcher {
    client: reqwest::Client,
}

/// Whether `pem` holds at least one certificate.
pub(crate) fn check_ca_pem(pem: &str) -> Result<(), String> {
    use rustls_pki_types::CertificateDer;
    use rustls_pki_types::pem::PemObject;
    let count = CertificateDer::pem_slice_iter(pem.as_bytes())
        .filter_map(Result::ok)
        .count();
    if count == 0 {
        return Err(BAD_CA.to_owned());
    }
    Ok(())
}

impl HttpFetcher {
    /// A client trusting only `ca_pem` when it is non-empty, else the platform's roots.
    pub(crate) fn new(ca_pem: &str) -> Result<Self, String> {
        let mut builder = reqwest::Client::builder()
            .timeout(FETCH_TIMEOUT)
            .connect_timeout(FETCH_TIMEOUT)
            .pool_idle_timeout(Duration::from_secs(90))
            .https_only(true)
            .redirect(reqwest::redirect::Policy::limited(3));
        if !ca_pem.is_empty() {
            check_ca_pem(ca_pem)?;
            let certs = reqwest::Certificate::from_pem_bundle(ca_pem.as_bytes())
                .map_err(|_| BAD_CA.to_owned())?;
            builder = builder.tls_certs_only(certs);
        }
        let client = builder
            .build()
            .map_err(|err| format!("failed to build HTTP client: {err}"))?;
        Ok(Self { client })
    }
}

#[async_trait]
impl KeyFetcher for HttpFetcher {
    async fn get(&self, url: &str, accept: &str) -> Result<Vec<u8>, String> {
        let mut response = self
            .client
            .get(url)
            .header(reqwest::header::ACCEPT, accept)
            .send()
            .await
            .map_err(|err| format!("get {url} failed: {}", error_chain(&err)))?;
        let status = response.status();
        if response
            .content_length()
            .is_some_and(|len| len > MAX_BODY as u64)
        {
            return Err(format!(
                "get {url}: response body larger than {MAX_BODY} bytes"
            ));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|err| format!("unable to read response body: {}", error_chain(&err)))?
        {
            if body.len() + chunk.len() > MAX_BODY {
                return Err(format!(
                    "get {url}: response body larger than {MAX_BODY} bytes"
                ));
            }
            body.extend_from_slice(&chunk);
        }
        if status != reqwest::StatusCode::OK {
            return Err(format!("get {url}: {status}"));
        }
        Ok(body)
    }
}

/// An error and its sources, `a: b: c`, for the operator log.
fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(inner) = source {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        source = inner.source();
    }
    text
}

#[cfg(test)]
pub(crate) mod fake {
    //! An in-memory fetcher and a movable clock for unit tests.

    use std::collections::BTreeMap;
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

    use super::*;

    /// Serves fixed bodies per URL and counts requests.
    #[derive(Debug, Default)]
    pub(crate) struct FakeFetcher {
        pub(crate) bodies: Mutex<BTreeMap<String, Result<Vec<u8>, String>>>,
        pub(crate) calls: AtomicUsize,
    }

    impl FakeFetcher {
        pub(crate) fn set(&self, url: &str, body: Result<Vec<u8>, String>) {
            self.bodies.lock().unwrap().insert(url.to_owned(), body);
        }

        pub(crate) fn calls(&self) -> usize {
            self.calls.load(Ordering::SeqCst)
        }
    }

    #[async_trait]
    impl KeyFetcher for FakeFetcher {
        async fn get(&self, url: &str, _accept: &str) -> Result<Vec<u8>, String> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            // Let concurrent callers pile up, to exercise de-duplication.
            tokio::task::yield_now().await;
            self.bodies
                .lock()
                .unwrap()
                .get(url)
                .cloned()
                .unwrap_or_else(|| Err(format!("get {url}: 404 Not Found")))
        }
    }

    /// A clock at a fixed offset (seconds) from the epoch, moved by tests.
    #[derive(Debug)]
    pub(crate) struct FakeClock(pub(crate) AtomicU64);

    impl FakeClock {
        pub(crate) fn at(seconds: u64) -> Self {
            Self(AtomicU64::new(seconds))
        }

        pub(crate) fn advance(&self, seconds: u64) {
            self.0.fetch_add(seconds, Ordering::SeqCst);
        }
    }

    impl Clock for FakeClock {
        fn now(&self) -> SystemTime {
            SystemTime::UNIX_EPOCH + Duration::from_secs(self.0.load(Ordering::SeqCst))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_ca_is_caps_message() {
        assert_eq!(HttpFetcher::new("not a pem").unwrap_err(), BAD_CA);
        assert!(HttpFetcher::new("").is_ok());
    }

    #[tokio::test]
    async fn plain_http_is_refused() {
        let fetcher = HttpFetcher::new("").unwrap();
        let err = fetcher
            .get("http://127.0.0.1:9/keys", ACCEPT_JWKS)
            .await
            .unwrap_err();
        assert!(err.contains("get http://127.0.0.1:9/keys failed"), "{err}");
    }
}
