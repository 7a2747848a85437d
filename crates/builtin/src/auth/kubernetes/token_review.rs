//! Calls to the Kubernetes API: TokenReview, and the namespace and service-account reads
//! that namespace selectors and annotation metadata need. Behind a trait, so that the login
//! logic does not care whether it talks to a cluster or to a test double.

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// What a successful TokenReview says about the token's owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ReviewedUser {
    pub(crate) namespace: String,
    pub(crate) name: String,
    pub(crate) uid: String,
}

/// The HTTP answer to a TokenReview: status code and body, without the token.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RawReview {
    pub(crate) code: u16,
    pub(crate) body: Value,
}

/// What kind of failure a TokenReview ended in, for explaining it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ReviewFailure {
    /// The connection timed out, or the answer did not come within [`API_TIMEOUT`].
    Timeout,
    /// The TLS handshake failed (usually: `kubernetes_ca_cert` does not match the server).
    Tls,
    /// No connection (refused, DNS, reset).
    Unreachable,
    /// 401: the bearer (reviewer JWT, or the client's own) was rejected.
    Unauthorized,
    /// 403: the bearer may not create TokenReviews.
    Forbidden,
    /// Any other non-2xx answer, or a `Status` object.
    ApiError,
    /// `status.error` was set: the token itself is invalid.
    TokenInvalid,
    /// `status.authenticated` was false without an error.
    NotAuthenticated,
    /// The token is valid, but not for the audiences asked for.
    Audience,
    /// The authenticated user is not a service account.
    NotServiceAccount,
}

/// A failed TokenReview: its class, Vault's text (what the operator log shows), and the
/// parts of the answer that explain it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ReviewError {
    pub(crate) kind: ReviewFailure,
    pub(crate) message: String,
    /// The HTTP status, when there was an answer.
    pub(crate) code: Option<u16>,
    /// `status` of the TokenReview, or the `Status` object of a refusal.
    pub(crate) status: Value,
}

impl ReviewError {
    fn new(kind: ReviewFailure, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            code: None,
            status: Value::Null,
        }
    }

    fn answer(mut self, raw: &RawReview, status: Value) -> Self {
        self.code = Some(raw.code);
        self.status = status;
        self
    }
}

impl std::fmt::Display for ReviewError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl ReviewFailure {
    /// The `result` label of `warden_kubernetes_token_reviews_total`: the transport and API
    /// failures by name, and `rejected` for an answer that refused the token.
    fn metric_label(self) -> &'static str {
        match self {
            Self::Timeout => "timeout",
            Self::Tls => "tls",
            Self::Unreachable => "unreachable",
            Self::Unauthorized => "unauthorized",
            Self::Forbidden => "forbidden",
            Self::ApiError => "api_error",
            Self::TokenInvalid
            | Self::NotAuthenticated
            | Self::Audience
            | Self::NotServiceAccount => "rejected",
        }
    }
}

/// Records one TokenReview of a login on `mount`: its round trip and its result.
pub(crate) fn record_review(
    mount: &str,
    started: std::time::Instant,
    outcome: &Result<ReviewedUser, ReviewError>,
) {
    let result = match outcome {
        Ok(_) => "authenticated",
        Err(err) => err.kind.metric_label(),
    };
    metrics::histogram!(
        "warden_kubernetes_token_review_duration_seconds",
        "mount" => mount.to_owned(),
    )
    .record(started.elapsed().as_secs_f64());
    metrics::counter!(
        "warden_kubernetes_token_reviews_total",
        "mount" => mount.to_owned(),
        "result" => result,
    )
    .increment(1);
}

/// Classifies a transport error; the message stays reqwest's text, as before.
fn transport_error(err: &reqwest::Error) -> ReviewError {
    let mut chain = String::new();
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(current) = source {
        chain.push_str(&current.to_string());
        chain.push_str(": ");
        source = current.source();
    }
    let lower = chain.to_ascii_lowercase();
    let kind = if err.is_timeout() || lower.contains("timed out") {
        ReviewFailure::Timeout
    } else if lower.contains("certificate") || lower.contains("tls") || lower.contains("handshake")
    {
        ReviewFailure::Tls
    } else {
        ReviewFailure::Unreachable
    };
    let mut error = ReviewError::new(kind, err.to_string());
    error.status = Value::String(chain.trim_end_matches(": ").to_owned());
    error
}

/// The Kubernetes API calls the method makes. Errors are the texts Vault logs.
#[async_trait]
pub(crate) trait KubeApi: Send + Sync + std::fmt::Debug {
    /// Posts a TokenReview of `jwt` with `bearer` as the reviewer's credential and returns
    /// the raw answer (the echoed `spec.token` removed); only transport failures are errors.
    /// [`interpret`] turns the answer into Vault's outcome.
    async fn token_review(
        &self,
        bearer: &str,
        jwt: &str,
        audiences: &[String],
    ) -> Result<RawReview, ReviewError>;

    /// The labels of a namespace.
    async fn namespace_labels(
        &self,
        bearer: &str,
        namespace: &str,
    ) -> Result<BTreeMap<String, String>, String>;

    /// The annotations of a service account.
    async fn service_account_annotations(
        &self,
        bearer: &str,
        namespace: &str,
        name: &str,
    ) -> Result<BTreeMap<String, String>, String>;
}

/// How long a call to the API may take in all (Vault sets none; a hung apiserver must not
/// hang logins).
pub(crate) const API_TIMEOUT: Duration = Duration::from_secs(10);

/// The API over HTTPS, with one pooled keep-alive client per configuration.
#[derive(Debug, Clone)]
pub(crate) struct HttpKubeApi {
    host: String,
    client: reqwest::Client,
}

#[derive(Debug, Serialize)]
struct TokenReviewRequest<'a> {
    spec: TokenReviewSpec<'a>,
}

#[derive(Debug, Serialize)]
struct TokenReviewSpec<'a> {
    token: &'a str,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    audiences: &'a [String],
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct TokenReviewResponse {
    kind: String,
    status: Value,
    message: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ReviewStatus {
    authenticated: bool,
    error: String,
    audiences: Vec<String>,
    user: ReviewUser,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ReviewUser {
    username: String,
    uid: String,
}

/// Go's `%v` of a string slice: `[a b]`.
fn go_list(items: &[String]) -> String {
    format!("[{}]", items.join(" "))
}

impl HttpKubeApi {
    /// A client for `host` trusting `ca_pem` (when given) and only it; otherwise the
    /// platform's roots.
    pub(crate) fn new(host: &str, ca_pem: Option<&str>) -> Result<Self, String> {
        // HTTP/1.1 with a pool of keep-alive connections: concurrent reviews then run in
        // parallel instead of queueing on one multiplexed HTTP/2 connection.
        let mut builder = reqwest::Client::builder()
            .http1_only()
            .pool_max_idle_per_host(256)
            .timeout(API_TIMEOUT)
            .connect_timeout(API_TIMEOUT)
            .pool_idle_timeout(Duration::from_secs(90));
        if let Some(pem) = ca_pem {
            let certs = reqwest::Certificate::from_pem_bundle(pem.as_bytes())
                .map_err(|err| format!("invalid CA certificates: {err}"))?;
            builder = builder.tls_certs_only(certs);
        }
        let client = builder
            .build()
            .map_err(|err| format!("failed to build HTTP client: {err}"))?;
        Ok(Self {
            host: host.trim_end_matches('/').to_owned(),
            client,
        })
    }

    async fn get_json(&self, bearer: &str, path: &str) -> Result<(u16, Value), String> {
        let response = self
            .client
            .get(format!("{}{path}", self.host))
            .bearer_auth(bearer.trim())
            .header("Accept", "application/json")
            .send()
            .await
            .map_err(|err| err.to_string())?;
        let status = response.status().as_u16();
        let body = response.json::<Value>().await.unwrap_or(Value::Null);
        Ok((status, body))
    }
}

fn status_message(body: &Value) -> String {
    body.get("message")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

fn string_map(value: Option<&Value>) -> BTreeMap<String, String> {
    value
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
                .collect()
        })
        .unwrap_or_default()
}

/// Vault's reading of a TokenReview answer (`token_review.go`), with its error texts.
pub(crate) fn interpret(
    raw: &RawReview,
    audiences: &[String],
) -> Result<ReviewedUser, ReviewError> {
    let body: TokenReviewResponse = serde_json::from_value(raw.body.clone()).unwrap_or_default();
    let refusal =
        |kind, message: String| Err(ReviewError::new(kind, message).answer(raw, raw.body.clone()));
    let code = raw.code;
    if !(200..=206).contains(&code) {
        if code == 401 {
            return refusal(
                ReviewFailure::Unauthorized,
                "lookup failed: service account unauthorized; this could mean it has \
                 been deleted or recreated with a new token"
                    .into(),
            );
        }
        let kind = if code == 403 {
            ReviewFailure::Forbidden
        } else {
            ReviewFailure::ApiError
        };
        return refusal(
            kind,
            if body.message.is_empty() {
                format!("HTTP {code}")
            } else {
                body.message
            },
        );
    }
    if body.kind == "Status" {
        return refusal(ReviewFailure::ApiError, body.message);
    }
    let answer = body.status.clone();
    let failed =
        |kind, message: String| Err(ReviewError::new(kind, message).answer(raw, answer.clone()));
    let status: ReviewStatus = serde_json::from_value(body.status).unwrap_or_default();
    if !status.error.is_empty() {
        return failed(
            ReviewFailure::TokenInvalid,
            format!("lookup failed: {}", status.error),
        );
    }
    if !status.authenticated {
        return failed(
            ReviewFailure::NotAuthenticated,
            "lookup failed: service account jwt not valid".into(),
        );
    }
    if !audiences.is_empty() && !status.audiences.iter().any(|a| audiences.contains(a)) {
        return failed(
            ReviewFailure::Audience,
            format!(
                "lookup failed: service account jwt valid for audience(s) {}, but wanted {}",
                go_list(&status.audiences),
                go_list(audiences)
            ),
        );
    }
    let parts: Vec<&str> = status.user.username.split(':').collect();
    if parts.len() != 4 {
        return failed(
            ReviewFailure::NotServiceAccount,
            "lookup failed: unexpected username format".into(),
        );
    }
    if parts[0] != "system" || parts[1] != "serviceaccount" {
        return failed(
            ReviewFailure::NotServiceAccount,
            "lookup failed: username returned is not a service account".into(),
        );
    }
    Ok(ReviewedUser {
        namespace: parts[2].to_owned(),
        name: parts[3].to_owned(),
        uid: status.user.uid,
    })
}

#[async_trait]
impl KubeApi for HttpKubeApi {
    async fn token_review(
        &self,
        bearer: &str,
        jwt: &str,
        audiences: &[String],
    ) -> Result<RawReview, ReviewError> {
        let request = TokenReviewRequest {
            spec: TokenReviewSpec {
                token: jwt,
                audiences,
            },
        };
        let response = self
            .client
            .post(format!(
                "{}/apis/authentication.k8s.io/v1/tokenreviews",
                self.host
            ))
            .bearer_auth(bearer.trim())
            .header("Accept", "application/json")
            .json(&request)
            .send()
            .await
            .map_err(|err| transport_error(&err))?;
        let code = response.status().as_u16();
        let mut body: Value = response.json().await.unwrap_or(Value::Null);
        // The apiserver echoes the reviewed token in `spec`: never keep it.
        if let Some(object) = body.as_object_mut() {
            object.remove("spec");
        }
        Ok(RawReview { code, body })
    }

    async fn namespace_labels(
        &self,
        bearer: &str,
        namespace: &str,
    ) -> Result<BTreeMap<String, String>, String> {
        let (code, body) = self
            .get_json(bearer, &format!("/api/v1/namespaces/{namespace}"))
            .await?;
        if code != 200 {
            return Err(format!(
                "failed to get namespace (code {code} status {})",
                status_message(&body)
            ));
        }
        Ok(string_map(body.pointer("/metadata/labels")))
    }

    async fn service_account_annotations(
        &self,
        bearer: &str,
        namespace: &str,
        name: &str,
    ) -> Result<BTreeMap<String, String>, String> {
        let path = format!("/api/v1/namespaces/{namespace}/serviceaccounts/{name}");
        let (code, body) = self.get_json(bearer, &path).await?;
        if code != 200 {
            return Err(format!(
                "failed to get service account (code {code} status {})",
                status_message(&body)
            ));
        }
        Ok(string_map(body.pointer("/metadata/annotations")))
    }
}
