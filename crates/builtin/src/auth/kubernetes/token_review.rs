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

/// The Kubernetes API calls the method makes. Errors are the texts Vault logs.
#[async_trait]
pub(crate) trait KubeApi: Send + Sync + std::fmt::Debug {
    /// Reviews `jwt` with `bearer` as the reviewer's credential.
    async fn review(
        &self,
        bearer: &str,
        jwt: &str,
        audiences: &[String],
    ) -> Result<ReviewedUser, String>;

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
        let mut builder = reqwest::Client::builder()
            .timeout(API_TIMEOUT)
            .connect_timeout(API_TIMEOUT)
            .pool_idle_timeout(Duration::from_secs(90));
        if let Some(pem) = ca_pem {
            let certs = reqwest::Certificate::from_pem_bundle(pem.as_bytes())
                .map_err(|err| format!("invalid CA certificates: {err}"))?;
            builder = builder.tls_certs_only(certs);
        }
        let client = builder.build().map_err(|err| format!("failed to build HTTP client: {err}"))?;
        Ok(Self { host: host.trim_end_matches('/').to_owned(), client })
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
    body.get("message").and_then(Value::as_str).unwrap_or_default().to_owned()
}

fn string_map(value: Option<&Value>) -> BTreeMap<String, String> {
    value
        .and_then(Value::as_object)
        .map(|m| m.iter().filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned()))).collect())
        .unwrap_or_default()
}

#[async_trait]
impl KubeApi for HttpKubeApi {
    async fn review(
        &self,
        bearer: &str,
        jwt: &str,
        audiences: &[String],
    ) -> Result<ReviewedUser, String> {
        let request = TokenReviewRequest { spec: TokenReviewSpec { token: jwt, audiences } };
        let response = self
            .client
            .post(format!("{}/apis/authentication.k8s.io/v1/tokenreviews", self.host))
            .bearer_auth(bearer.trim())
            .header("Accept", "application/json")
            .json(&request)
            .send()
            .await
            .map_err(|err| err.to_string())?;
        let code = response.status().as_u16();
        let body: TokenReviewResponse = response.json().await.unwrap_or_default();
        if !(200..=206).contains(&code) {
            if code == 401 {
                return Err("lookup failed: service account unauthorized; this could mean it has \
                            been deleted or recreated with a new token"
                    .into());
            }
            return Err(if body.message.is_empty() { format!("HTTP {code}") } else { body.message });
        }
        if body.kind == "Status" {
            return Err(body.message);
        }
        let status: ReviewStatus = serde_json::from_value(body.status).unwrap_or_default();
        if !status.error.is_empty() {
            return Err(format!("lookup failed: {}", status.error));
        }
        if !status.authenticated {
            return Err("lookup failed: service account jwt not valid".into());
        }
        if !audiences.is_empty() && !status.audiences.iter().any(|a| audiences.contains(a)) {
            return Err(format!(
                "lookup failed: service account jwt valid for audience(s) {}, but wanted {}",
                go_list(&status.audiences),
                go_list(audiences)
            ));
        }
        let parts: Vec<&str> = status.user.username.split(':').collect();
        if parts.len() != 4 {
            return Err("lookup failed: unexpected username format".into());
        }
        if parts[0] != "system" || parts[1] != "serviceaccount" {
            return Err("lookup failed: username returned is not a service account".into());
        }
        Ok(ReviewedUser {
            namespace: parts[2].to_owned(),
            name: parts[3].to_owned(),
            uid: status.user.uid,
        })
    }

    async fn namespace_labels(
        &self,
        bearer: &str,
        namespace: &str,
    ) -> Result<BTreeMap<String, String>, String> {
        let (code, body) = self.get_json(bearer, &format!("/api/v1/namespaces/{namespace}")).await?;
        if code != 200 {
            return Err(format!("failed to get namespace (code {code} status {})", status_message(&body)));
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
