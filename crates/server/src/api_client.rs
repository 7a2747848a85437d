//! A small client for the Vault HTTP API that warden speaks, behaving as the Go `api` package
//! the `vault` CLI is built on: the `VAULT_*` environment, the `X-Vault-*` headers, Go's
//! `path.Join` URL building, and its error text (`Error making API request.` …).
//!
//! Deliberately missing: the Go client's retries (it retries 5xx except 501, and 429, twice),
//! rate limiting, `VAULT_WRAP_TTL`, `VAULT_TLS_SERVER_NAME`, proxies and MFA.

mod secret;
mod tls;

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use reqwest::Method;
use serde_json::Value;

pub use secret::{Secret, SecretAuth, WrapInfo, sorted_keys};
pub(crate) use tls::io_text;

/// The address used when `VAULT_ADDR` is not set, as in Vault.
pub const DEFAULT_ADDRESS: &str = "https://127.0.0.1:8200";

/// Everything needed to build a [`Client`]: the `VAULT_*` environment plus CLI overrides.
#[derive(Clone, Default)]
pub struct ClientConfig {
    /// `VAULT_ADDR`.
    pub address: String,
    /// `VAULT_TOKEN` (the caller falls back to the token helper).
    pub token: Option<String>,
    /// `VAULT_NAMESPACE`, sent as `X-Vault-Namespace`.
    pub namespace: Option<String>,
    /// `VAULT_CACERT`: a PEM bundle that replaces the system roots.
    pub ca_cert: Option<PathBuf>,
    /// `VAULT_CAPATH`: a directory of PEM files that replaces the system roots.
    pub ca_path: Option<PathBuf>,
    /// `VAULT_CLIENT_CERT`.
    pub client_cert: Option<PathBuf>,
    /// `VAULT_CLIENT_KEY`.
    pub client_key: Option<PathBuf>,
    /// `VAULT_SKIP_VERIFY`.
    pub skip_verify: bool,
    /// `VAULT_CLIENT_TIMEOUT` (60 s by default).
    pub timeout: Duration,
    /// Extra headers (`-header k=v`).
    pub headers: Vec<(String, String)>,
}

impl fmt::Debug for ClientConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientConfig")
            .field("address", &self.address)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("namespace", &self.namespace)
            .field("skip_verify", &self.skip_verify)
            .finish_non_exhaustive()
    }
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

impl ClientConfig {
    /// Reads the `VAULT_*` environment as the Go client's `ReadEnvironment` does.
    pub fn from_env() -> Result<Self, ClientError> {
        let skip_verify = match env("VAULT_SKIP_VERIFY") {
            Some(v) => parse_go_bool(&v)
                .ok_or_else(|| ClientError::Config("could not parse VAULT_SKIP_VERIFY".into()))?,
            None => false,
        };
        let timeout = match env("VAULT_CLIENT_TIMEOUT") {
            Some(v) => parse_timeout(&v).ok_or_else(|| {
                ClientError::Config("could not parse VAULT_CLIENT_TIMEOUT".into())
            })?,
            None => Duration::from_secs(60),
        };
        Ok(Self {
            address: env("VAULT_ADDR").unwrap_or_else(|| DEFAULT_ADDRESS.to_owned()),
            token: env("VAULT_TOKEN"),
            namespace: env("VAULT_NAMESPACE"),
            ca_cert: env("VAULT_CACERT").map(PathBuf::from),
            ca_path: env("VAULT_CAPATH").map(PathBuf::from),
            client_cert: env("VAULT_CLIENT_CERT").map(PathBuf::from),
            client_key: env("VAULT_CLIENT_KEY").map(PathBuf::from),
            skip_verify,
            timeout,
            headers: Vec::new(),
        })
    }
}

/// Go's `strconv.ParseBool`.
pub fn parse_go_bool(text: &str) -> Option<bool> {
    match text {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

fn parse_timeout(text: &str) -> Option<Duration> {
    if let Ok(secs) = text.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let nanos = warden_logical::framework::parse_go_duration(text).ok()?;
    u64::try_from(nanos).ok().map(Duration::from_nanos)
}

/// Why a request failed.
#[derive(Debug)]
pub enum ClientError {
    /// The client could not be configured (environment, TLS files, address).
    Config(String),
    /// The request never got an HTTP answer.
    Transport(String),
    /// The server answered with an error status.
    Response(ResponseError),
    /// A success body that is not the expected JSON.
    Decode(String),
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Config(m) | Self::Transport(m) | Self::Decode(m) => f.write_str(m),
            Self::Response(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for ClientError {}

impl ClientError {
    /// The HTTP status of a response error.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Response(e) => Some(e.status),
            _ => None,
        }
    }
}

/// An error status from the server, printed exactly as the Go client's `ResponseError`.
#[derive(Debug, Clone)]
pub struct ResponseError {
    /// The request method (`GET`, `PUT`, …).
    pub method: String,
    /// The full request URL.
    pub url: String,
    /// The HTTP status.
    pub status: u16,
    /// The `errors` of the body, or the raw body when it was not JSON.
    pub errors: Vec<String>,
    /// Whether the body could not be decoded.
    pub raw: bool,
    /// The `X-Vault-Namespace` of the response.
    pub namespace: String,
}

impl fmt::Display for ResponseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = if self.raw { "Raw Message" } else { "Errors" };
        f.write_str("Error making API request.\n\n")?;
        if !self.namespace.is_empty() && self.namespace != "root/" {
            writeln!(f, "Namespace: {}", self.namespace)?;
        }
        write!(
            f,
            "URL: {} {}\nCode: {}. {kind}:\n\n",
            self.method, self.url, self.status
        )?;
        if self.raw && self.errors.len() == 1 {
            f.write_str(&self.errors[0])
        } else {
            self.errors.iter().try_for_each(|e| write!(f, "* {e}"))
        }
    }
}

/// A request body.
#[derive(Debug, Clone)]
pub enum Body {
    /// A JSON body (no `Content-Type`, as the Go client sends it).
    Json(Value),
    /// A JSON merge patch (`Content-Type: application/merge-patch+json`).
    MergePatch(Value),
}

/// One HTTP answer.
#[derive(Debug, Clone)]
pub struct Response {
    /// The HTTP status.
    pub status: u16,
    /// The raw body.
    pub body: Vec<u8>,
}

/// A write that failed; a 404 with a body still carries the secret it returned.
#[derive(Debug)]
pub struct WriteFailure {
    /// What went wrong.
    pub error: ClientError,
    /// The secret of a 404 body with data or warnings.
    pub secret: Option<Secret>,
}

impl From<ClientError> for WriteFailure {
    fn from(error: ClientError) -> Self {
        Self {
            error,
            secret: None,
        }
    }
}

/// The API client.
#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    base: reqwest::Url,
    token: Option<String>,
    namespace: Option<String>,
    headers: Vec<(String, String)>,
}

impl Client {
    /// Builds a client; TLS files are read now.
    pub fn new(config: &ClientConfig) -> Result<Self, ClientError> {
        let base = reqwest::Url::parse(&config.address)
            .map_err(|e| ClientError::Config(format!("parse {:?}: {e}", config.address)))?;
        let http = tls::build(config)?;
        Ok(Self {
            http,
            base,
            token: config.token.clone(),
            namespace: config.namespace.clone(),
            headers: config.headers.clone(),
        })
    }

    /// The server address.
    pub fn address(&self) -> &str {
        self.base.as_str()
    }

    /// The token sent as `X-Vault-Token`.
    pub fn token(&self) -> Option<&str> {
        self.token.as_deref()
    }

    /// Replaces the token (`None`: send none).
    pub fn set_token(&mut self, token: Option<String>) {
        self.token = token.filter(|t| !t.is_empty());
    }

    /// Replaces the namespace (`None`: send none).
    pub fn set_namespace(&mut self, namespace: Option<String>) {
        self.namespace = namespace;
    }

    /// The URL of `/v1/<path>`, joined and cleaned like Go's `path.Join`.
    pub fn url(&self, path: &str, query: &[(String, String)]) -> reqwest::Url {
        let mut url = self.base.clone();
        url.set_path(&clean_path(&format!("{}/v1/{path}", self.base.path())));
        if query.is_empty() {
            url.set_query(None);
        } else {
            let mut sorted = query.to_vec();
            sorted.sort_by(|a, b| a.0.cmp(&b.0));
            url.query_pairs_mut().clear().extend_pairs(sorted);
        }
        url
    }

    /// Sends one request and returns the answer; error statuses become
    /// [`ClientError::Response`] (a 429 from `sys/health` does not, as in the Go client).
    pub async fn raw(
        &self,
        method: &str,
        path: &str,
        query: &[(String, String)],
        body: Option<&Body>,
    ) -> Result<Response, (ClientError, Option<Response>)> {
        let url = self.url(path, query);
        let http_method = Method::from_bytes(method.as_bytes())
            .map_err(|e| (ClientError::Config(e.to_string()), None))?;
        let mut request = self
            .http
            .request(http_method, url.clone())
            .header("X-Vault-Request", "true");
        if let Some(token) = &self.token {
            request = request.header("X-Vault-Token", token);
        }
        if let Some(namespace) = &self.namespace {
            request = request.header("X-Vault-Namespace", namespace);
        }
        for (name, value) in &self.headers {
            request = request.header(name, value);
        }
        match body {
            Some(Body::Json(value)) => request = request.body(value.to_string()),
            Some(Body::MergePatch(value)) => {
                request = request
                    .header("Content-Type", "application/merge-patch+json")
                    .body(value.to_string());
            }
            None => {}
        }
        let answer = request
            .send()
            .await
            .map_err(|e| (transport_error(method, &url, &e), None))?;
        let status = answer.status().as_u16();
        let namespace = answer
            .headers()
            .get("X-Vault-Namespace")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let bytes = answer
            .bytes()
            .await
            .map_err(|e| (transport_error(method, &url, &e), None))?;
        let response = Response {
            status,
            body: bytes.to_vec(),
        };
        let health_standby = status == 429 && url.path() == "/v1/sys/health";
        if (200..400).contains(&status) || health_standby {
            return Ok(response);
        }
        let (errors, raw) = decode_errors(&response.body);
        let error = ResponseError {
            method: method.to_owned(),
            url: url.to_string(),
            status,
            errors,
            raw,
            namespace,
        };
        Err((ClientError::Response(error), Some(response)))
    }

    /// `Logical().ReadWithData`: a 404 without data or warnings is `None`, not an error.
    pub async fn read(
        &self,
        path: &str,
        query: &[(String, String)],
    ) -> Result<Option<Secret>, ClientError> {
        self.read_like("GET", path, query).await
    }

    /// `Logical().List`: `GET ?list=true`, as the Go client sends it.
    pub async fn list(&self, path: &str) -> Result<Option<Secret>, ClientError> {
        self.read_like("GET", path, &[("list".into(), "true".into())])
            .await
    }

    /// `Logical().DeleteWithData`: a 404 is `None`, not an error.
    pub async fn delete(
        &self,
        path: &str,
        query: &[(String, String)],
    ) -> Result<Option<Secret>, ClientError> {
        self.read_like("DELETE", path, query).await
    }

    async fn read_like(
        &self,
        method: &str,
        path: &str,
        query: &[(String, String)],
    ) -> Result<Option<Secret>, ClientError> {
        match self.raw(method, path, query, None).await {
            Ok(response) => parse_secret(&response.body),
            Err((_, Some(response))) if response.status == 404 => {
                let secret = parse_secret(&response.body)?;
                Ok(secret.filter(Secret::has_content))
            }
            Err((error, _)) => Err(error),
        }
    }

    /// `Logical().Write` (PUT with a JSON body); a 404 that carries data or warnings fails
    /// with its secret attached.
    pub async fn write(&self, path: &str, data: Value) -> Result<Option<Secret>, WriteFailure> {
        self.send("PUT", path, Some(Body::Json(data))).await
    }

    /// `Logical().JSONMergePatch`.
    pub async fn patch(&self, path: &str, data: Value) -> Result<Option<Secret>, WriteFailure> {
        self.send("PATCH", path, Some(Body::MergePatch(data))).await
    }

    /// Any method with an optional body, with `write`'s result rules.
    pub async fn send(
        &self,
        method: &str,
        path: &str,
        body: Option<Body>,
    ) -> Result<Option<Secret>, WriteFailure> {
        match self.raw(method, path, &[], body.as_ref()).await {
            Ok(response) => Ok(parse_secret(&response.body)?),
            Err((error, Some(response))) if response.status == 404 => {
                let secret = parse_secret(&response.body)?.filter(Secret::has_content);
                Err(WriteFailure { error, secret })
            }
            Err((error, _)) => Err(error.into()),
        }
    }

    /// A request whose answer is plain JSON (the raw `sys/` endpoints); `None` for an empty
    /// body.
    pub async fn json(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> Result<Option<Value>, ClientError> {
        let body = body.map(Body::Json);
        let response = self
            .raw(method, path, &[], body.as_ref())
            .await
            .map_err(|(e, _)| e)?;
        if response.body.is_empty() {
            return Ok(None);
        }
        serde_json::from_slice(&response.body)
            .map(Some)
            .map_err(|e| ClientError::Decode(e.to_string()))
    }
}

fn parse_secret(body: &[u8]) -> Result<Option<Secret>, ClientError> {
    Secret::parse(body).map_err(ClientError::Decode)
}

/// The `errors` of an error body as the Go client decodes them into `ErrorResponse`: a JSON
/// object (its `errors`, possibly none), or else the raw body.
fn decode_errors(body: &[u8]) -> (Vec<String>, bool) {
    let raw = || (vec![String::from_utf8_lossy(body).into_owned()], true);
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Null) => (Vec::new(), false),
        Ok(Value::Object(object)) => match object.get("errors") {
            None | Some(Value::Null) => (Vec::new(), false),
            Some(Value::Array(items)) => {
                let strings: Option<Vec<String>> = items
                    .iter()
                    .map(|i| i.as_str().map(str::to_owned))
                    .collect();
                strings.map_or_else(raw, |s| (s, false))
            }
            Some(_) => raw(),
        },
        _ => raw(),
    }
}

/// Go's `url.Error` text: `Get "http://…": dial tcp 127.0.0.1:8200: connect: connection
/// refused`.
fn transport_error(method: &str, url: &reqwest::Url, error: &reqwest::Error) -> ClientError {
    let op = method
        .chars()
        .take(1)
        .chain(method.chars().skip(1).flat_map(char::to_lowercase))
        .collect::<String>();
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    let mut innermost = error.to_string();
    while let Some(current) = source {
        if let Some(io) = current.downcast_ref::<std::io::Error>()
            && io.kind() == std::io::ErrorKind::ConnectionRefused
        {
            let host = url.host_str().unwrap_or_default();
            let port = url.port_or_known_default().unwrap_or_default();
            innermost = format!("dial tcp {host}:{port}: connect: connection refused");
            break;
        }
        innermost = current.to_string();
        source = current.source();
    }
    ClientError::Transport(format!("{op} \"{url}\": {innermost}"))
}

/// Go's `path.Clean` of an absolute path: no empty or `.` segments, `..` resolved, no
/// trailing slash.
pub fn clean_path(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for segment in path.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            other => parts.push(other),
        }
    }
    format!("/{}", parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_joined_like_go() {
        assert_eq!(
            clean_path("/v1/auth/kubernetes//login"),
            "/v1/auth/kubernetes/login"
        );
        assert_eq!(clean_path("//v1/secret/"), "/v1/secret");
        assert_eq!(clean_path("/v1/a/./b/../c"), "/v1/a/c");
    }

    #[test]
    fn response_errors_print_like_the_go_client() {
        let error = ResponseError {
            method: "GET".into(),
            url: "http://127.0.0.1:8200/v1/secret/foo".into(),
            status: 403,
            errors: vec!["1 error occurred:\n\t* permission denied\n\n".into()],
            raw: false,
            namespace: String::new(),
        };
        assert_eq!(
            error.to_string(),
            "Error making API request.\n\nURL: GET http://127.0.0.1:8200/v1/secret/foo\n\
             Code: 403. Errors:\n\n* 1 error occurred:\n\t* permission denied\n\n"
        );
        assert_eq!(decode_errors(b"{\"errors\":[]}"), (vec![], false));
        assert_eq!(decode_errors(b"oops"), (vec!["oops".to_owned()], true));
    }

    #[test]
    fn query_parameters_are_sorted() {
        let config = ClientConfig {
            address: "http://127.0.0.1:8200".into(),
            timeout: Duration::from_secs(1),
            ..ClientConfig::default()
        };
        let client = Client::new(&config).unwrap();
        let url = client.url(
            "secret/",
            &[("z".into(), "1".into()), ("a".into(), "2".into())],
        );
        assert_eq!(url.as_str(), "http://127.0.0.1:8200/v1/secret?a=2&z=1");
    }
}
