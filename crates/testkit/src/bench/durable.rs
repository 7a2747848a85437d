//! The server under test: warden over embedded (redb, fsync per group commit) storage on a
//! real disk, started in this process on the server runtime, initialized and unsealed
//! through the API; and a small JSON client for setup calls.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, bail};
use serde_json::{Value, json};
use tokio::runtime::Handle;
use warden_server::config::Config;
use warden_server::run::{self, RunningServer};
use warden_storage::Backend;
use warden_storage::embedded::EmbeddedBackend;

use crate::TestServer;

/// The server configuration for embedded storage in `dir` and one plain listener on
/// `127.0.0.1:0`.
pub(crate) fn embedded_config(dir: &Path) -> anyhow::Result<Config> {
    let path = dir
        .display()
        .to_string()
        .replace('\\', "\\\\")
        .replace('"', "\\\"");
    TestServer::config_with_storage(&format!("storage \"embedded\" {{\n  path = \"{path}\"\n}}"))
}

/// Opens the store and starts a (sealed) server over it on the current runtime.
pub(crate) async fn start_here(
    dir: &Path,
) -> anyhow::Result<(RunningServer, Arc<EmbeddedBackend>)> {
    let config = embedded_config(dir)?;
    let backend = Arc::new(EmbeddedBackend::open(dir).context("open embedded storage")?);
    let physical: Arc<dyn Backend> = backend.clone();
    let core = run::build_core(&config, physical);
    let listeners = run::bind_listeners(&config, &core).await?;
    Ok((RunningServer { core, listeners }, backend))
}

/// A JSON client for setup calls (not for load).
#[derive(Debug, Clone)]
pub(crate) struct Api {
    client: reqwest::Client,
    base: String,
    /// The `X-Vault-Token` sent with every call.
    pub(crate) token: Option<String>,
}

impl Api {
    /// A client for the server at `addr`.
    pub(crate) fn new(addr: SocketAddr) -> Self {
        Self {
            client: reqwest::Client::new(),
            base: format!("http://{addr}/v1/"),
            token: None,
        }
    }

    /// Sends one call; returns the status and the JSON body (`Null` when empty).
    pub(crate) async fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> anyhow::Result<(u16, Value)> {
        let method = reqwest::Method::from_bytes(method.as_bytes())?;
        let mut request = self.client.request(method, format!("{}{path}", self.base));
        if let Some(token) = &self.token {
            request = request.header("X-Vault-Token", token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.with_context(|| path.to_owned())?;
        let status = response.status().as_u16();
        let text = response.text().await?;
        Ok((status, serde_json::from_str(&text).unwrap_or(Value::Null)))
    }

    /// Sends one call and fails unless the status is 2xx.
    pub(crate) async fn ok(&self, method: &str, path: &str, body: Value) -> anyhow::Result<Value> {
        let body = (!body.is_null()).then_some(body);
        let (status, answer) = self.call(method, path, body.as_ref()).await?;
        if !(200..300).contains(&status) {
            bail!("{method} {path}: HTTP {status}: {answer}");
        }
        Ok(answer)
    }

    /// `sys/init` with one share; returns (unseal key in base64, root token).
    pub(crate) async fn init(&self) -> anyhow::Result<(String, String)> {
        let init = self
            .ok(
                "PUT",
                "sys/init",
                json!({"secret_shares": 1, "secret_threshold": 1}),
            )
            .await?;
        let key = init["keys_base64"][0].as_str().context("no unseal key")?;
        let root = init["root_token"].as_str().context("no root token")?;
        Ok((key.to_owned(), root.to_owned()))
    }

    /// `sys/unseal` with one key; fails unless the server reports itself unsealed.
    pub(crate) async fn unseal(&self, key: &str) -> anyhow::Result<()> {
        let status = self.ok("PUT", "sys/unseal", json!({"key": key})).await?;
        if status["sealed"] != false {
            bail!("still sealed after unseal: {status}");
        }
        Ok(())
    }
}

/// The in-process server of phases a–f.
#[derive(Debug)]
pub(crate) struct Durable {
    /// The listener's address.
    pub(crate) addr: SocketAddr,
    /// The storage, for commit counters.
    pub(crate) backend: Arc<EmbeddedBackend>,
    /// A client holding the root token.
    pub(crate) api: Api,
    running: Option<RunningServer>,
    server_rt: Handle,
}

impl Durable {
    /// Starts the server on `server_rt` over a store in `dir`, then initializes and unseals
    /// it through the API.
    pub(crate) async fn start(server_rt: &Handle, dir: &Path) -> anyhow::Result<Self> {
        let owned = dir.to_owned();
        let (running, backend) = server_rt
            .spawn(async move { start_here(&owned).await })
            .await
            .context("server start task")??;
        let addr = running.listeners.first().context("no listener")?.local_addr;
        let mut api = Api::new(addr);
        let (key, root) = api.init().await?;
        api.unseal(&key).await?;
        api.token = Some(root);
        Ok(Self {
            addr,
            backend,
            api,
            running: Some(running),
            server_rt: server_rt.clone(),
        })
    }

    /// Stops the listeners and seals (on the server runtime).
    pub(crate) async fn stop(mut self) {
        if let Some(running) = self.running.take() {
            let _ = self.server_rt.spawn(running.shutdown()).await;
        }
    }
}
