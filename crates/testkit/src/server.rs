//! In-process servers for black-box HTTP tests.

use std::net::SocketAddr;

use anyhow::Context;
use reqwest::Method;
use serde_json::Value;
use warden_server::config::{Config, ListenerConfig};
use warden_server::run::{self, RunningServer};

/// One answer of the API: status and body (`Value::Null` when empty or not JSON).
#[derive(Debug, Clone)]
pub struct ApiResponse {
    /// The HTTP status.
    pub status: u16,
    /// The parsed JSON body.
    pub body: Value,
    /// The raw body.
    pub text: String,
}

impl ApiResponse {
    /// The `errors` list of an error body.
    pub fn errors(&self) -> Vec<String> {
        self.body["errors"]
            .as_array()
            .map(|errors| {
                errors
                    .iter()
                    .filter_map(|e| e.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// A server running inside the test process.
#[derive(Debug)]
pub struct TestServer {
    /// The address of its first listener.
    pub addr: SocketAddr,
    /// The root token (dev servers, or after [`TestServer::set_token`]).
    pub root_token: Option<String>,
    /// The unseal key of a dev server.
    pub unseal_key: Option<Vec<u8>>,
    server: Option<RunningServer>,
    client: reqwest::Client,
}

impl TestServer {
    /// A dev-mode server: memory storage, initialized with one share and unsealed, `secret/`
    /// mounted.
    pub async fn dev() -> anyhow::Result<Self> {
        Self::dev_with(Config::dev("127.0.0.1:0")).await
    }

    /// A dev-mode server from `config` (start from [`Config::dev`] and change settings):
    /// initialized with one share, unsealed, `secret/` mounted.
    pub async fn dev_with(config: Config) -> anyhow::Result<Self> {
        let mut server = Self::start(config).await?;
        let core = &server.running().core;
        let credentials = run::init_dev(core, None).await.context("dev init")?;
        server.root_token = Some(credentials.root_token.expose().to_owned());
        server.unseal_key = Some(credentials.unseal_key);
        Ok(server)
    }

    /// A server from a configuration, left as the configuration leaves it (usually
    /// uninitialized). Listener addresses should use port 0.
    pub async fn start(config: Config) -> anyhow::Result<Self> {
        let running = run::start(&config).await.context("start server")?;
        let addr = running.listeners.first().context("no listener")?.local_addr;
        Ok(Self {
            addr,
            root_token: None,
            unseal_key: None,
            server: Some(running),
            client: reqwest::Client::new(),
        })
    }

    /// A configuration with one plain listener on port 0 and the given storage stanza body
    /// (HCL), e.g. `storage "embedded" { path = "/tmp/x" }`.
    pub fn config_with_storage(storage_hcl: &str) -> anyhow::Result<Config> {
        let text = format!(
            "{storage_hcl}\nlistener \"tcp\" {{\n  address = \"127.0.0.1:0\"\n  tls_disable = true\n}}\n"
        );
        let mut config = Config::parse_str(&text, warden_server::config::Format::Hcl)?;
        config.listeners = vec![ListenerConfig::plain("127.0.0.1:0")];
        Ok(config)
    }

    /// The running server.
    ///
    /// # Panics
    /// After [`TestServer::stop`].
    pub fn running(&self) -> &RunningServer {
        self.server
            .as_ref()
            .unwrap_or_else(|| panic!("server was stopped"))
    }

    /// Uses `token` for later requests that do not pass one.
    pub fn set_token(&mut self, token: &str) {
        self.root_token = Some(token.to_owned());
    }

    /// The base URL (`http://127.0.0.1:port`).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Sends a request with the root token (if any) and a JSON body (if any).
    pub async fn request(&self, method: &str, path: &str, body: Option<Value>) -> ApiResponse {
        let token = self.root_token.clone();
        self.request_with_token(method, path, body, token.as_deref())
            .await
    }

    /// Sends a request with an explicit token (`None` for no token).
    ///
    /// # Panics
    /// If the server cannot be reached: every test wants to fail loudly then.
    pub async fn request_with_token(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
        token: Option<&str>,
    ) -> ApiResponse {
        let method = Method::from_bytes(method.as_bytes()).unwrap_or(Method::GET);
        let mut builder = self
            .client
            .request(method, format!("{}/v1/{path}", self.url()));
        if let Some(token) = token {
            builder = builder.header("X-Vault-Token", token);
        }
        if let Some(body) = body {
            builder = builder.json(&body);
        }
        let response = builder
            .send()
            .await
            .unwrap_or_else(|err| panic!("request failed: {err}"));
        let status = response.status().as_u16();
        let text = response.text().await.unwrap_or_default();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        ApiResponse { status, body, text }
    }

    /// Stops the listeners and seals the core.
    pub async fn stop(&mut self) {
        if let Some(server) = self.server.take() {
            server.shutdown().await;
        }
    }
}
