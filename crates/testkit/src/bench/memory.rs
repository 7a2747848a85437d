//! Phase g: resident memory with many live service tokens, and restart + unseal to the
//! first served login over the same store.
//!
//! The server runs as a child process (this binary re-executed as `warden-bench
//! serve-child --dir <dir>`), so its RSS is its own. It prints `ADDR <addr>` once
//! listening and shuts down cleanly when its stdin closes.

use std::io::{BufRead as _, BufReader, Read as _};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use bytes::Bytes;
use serde_json::{Value, json};

use super::durable::{self, Api};
use super::load::{self, Stop, Target};
use super::phases;
use super::probe::{self, Sampler, round};
use super::tokens;
use crate::kube::{Alg, SigningKey};

/// The count the targets talk about.
pub(crate) const TARGET_TOKENS: u64 = 1_000_000;
const GIB: f64 = 1024.0 * 1024.0 * 1024.0;
const MIB: f64 = 1024.0 * 1024.0;

/// The child's main: serve the store in `dir` until stdin closes.
pub fn serve_child(dir: &Path) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .thread_name("bench-server")
        .enable_all()
        .build()?;
    let (closed_tx, closed_rx) = tokio::sync::oneshot::channel::<()>();
    std::thread::spawn(move || {
        let mut sink = Vec::new();
        let _ = std::io::stdin().read_to_end(&mut sink);
        let _ = closed_tx.send(());
    });
    let backend = runtime.block_on(async {
        let (running, backend) = durable::start_here(dir).await?;
        let addr = running.listeners.first().context("no listener")?.local_addr;
        println!("ADDR {addr}");
        let _ = closed_rx.await;
        running.shutdown().await;
        anyhow::Ok(backend)
    })?;
    // Dropping the runtime ends every task holding the core; the last handle on the store
    // then closes it cleanly (so the next open needs no repair).
    drop(runtime);
    drop(backend);
    Ok(())
}

/// A running child server.
struct ChildServer {
    child: Child,
    addr: SocketAddr,
}

impl ChildServer {
    async fn spawn(dir: &Path) -> anyhow::Result<Self> {
        let exe = std::env::current_exe().context("current exe")?;
        let mut child = Command::new(exe)
            .arg("serve-child")
            .arg("--dir")
            .arg(dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .context("spawn child server")?;
        let stdout = child.stdout.take().context("child stdout")?;
        let line = tokio::task::spawn_blocking(move || {
            let mut line = String::new();
            BufReader::new(stdout).read_line(&mut line).map(|_| line)
        })
        .await??;
        let addr = line
            .trim()
            .strip_prefix("ADDR ")
            .with_context(|| format!("child server said {line:?}"))?
            .parse()?;
        Ok(Self { child, addr })
    }

    fn pid(&self) -> String {
        self.child.id().to_string()
    }

    fn rss(&self) -> (u64, u64) {
        probe::rss_bytes(&self.pid()).unwrap_or((0, 0))
    }

    /// Closes stdin (a clean shutdown) and waits.
    async fn stop(mut self) -> anyhow::Result<Duration> {
        let started = Instant::now();
        drop(self.child.stdin.take());
        let status = tokio::task::spawn_blocking(move || self.child.wait()).await??;
        if !status.success() {
            bail!("child server exited with {status}");
        }
        Ok(started.elapsed())
    }
}

/// Settings of phase g.
#[derive(Debug, Clone)]
pub(crate) struct MemoryPlan {
    /// Live tokens to create.
    pub(crate) tokens: u64,
    /// Concurrency of the creation.
    pub(crate) concurrency: usize,
    /// Where the store lives.
    pub(crate) dir: PathBuf,
}

fn mib(bytes: u64) -> f64 {
    round(bytes as f64 / MIB, 1)
}

async fn es256_login_body(key: &SigningKey) -> anyhow::Result<Bytes> {
    let key = key.clone();
    let mut bodies = tokio::task::spawn_blocking(move || {
        tokens::mint_login_bodies(&key, 1, "bench", &tokens::jwt_claims)
    })
    .await??;
    bodies.pop().context("no token minted")
}

/// Runs phase g; returns its report.
pub(crate) async fn run(plan: &MemoryPlan) -> anyhow::Result<Value> {
    let key = SigningKey::generate(Alg::Es256)?;
    let server = ChildServer::spawn(&plan.dir).await?;
    let mut api = Api::new(server.addr);
    let (unseal_key, root) = api.init().await?;
    api.unseal(&unseal_key).await?;
    api.token = Some(root.clone());
    phases::setup_jwt(&api, "jwt", &key).await?;
    let body = json!({"policies": ["default"], "ttl": "768h"});
    let probe_token = api
        .ok("POST", "auth/token/create-orphan", body.clone())
        .await?;
    let probe_token = probe_token["auth"]["client_token"]
        .as_str()
        .context("no token")?
        .to_owned();
    let (rss_before, _) = server.rss();

    let target = Target {
        addr: server.addr,
        tls: None,
    };
    let host = server.addr.to_string();
    let pool = Arc::new(vec![Bytes::from(serde_json::to_vec(&body)?)]);
    let make = phases::post_pool(
        &host,
        "/v1/auth/token/create-orphan",
        &[("x-vault-token", &root)],
        pool,
    )?;
    let created = load::run(
        &target,
        plan.concurrency,
        Stop::Count(plan.tokens),
        make,
        load::check_2xx,
        &Sampler::default(),
    )
    .await?;
    let (rss_after, hwm_after) = server.rss();
    let file_bytes = std::fs::metadata(plan.dir.join(warden_storage::embedded::FILE_NAME))
        .map_or(0, |m| m.len());
    let shutdown = server.stop().await?;

    // Restart: a new process over the same store, unseal, first login.
    let started = Instant::now();
    let server = ChildServer::spawn(&plan.dir).await?;
    let listening = started.elapsed();
    let mut api = Api::new(server.addr);
    api.unseal(&unseal_key).await?;
    let unsealed = started.elapsed();
    let login_body = es256_login_body(&key).await?;
    let login: Value = serde_json::from_slice(&login_body)?;
    let first_login = loop {
        let (status, answer) = api.call("POST", "auth/jwt/login", Some(&login)).await?;
        if status == 200 {
            break started.elapsed();
        }
        if started.elapsed() > Duration::from_secs(120) {
            bail!("no login served within 120 s after restart: HTTP {status}: {answer}");
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    api.token = Some(probe_token);
    let (status, _) = api.call("GET", "auth/token/lookup-self", None).await?;
    let (rss_restarted, _) = server.rss();
    server.stop().await?;

    let live = created.ok + 1;
    let per_token = rss_after.saturating_sub(rss_before) as f64 / created.ok.max(1) as f64;
    let extrapolated = live < TARGET_TOKENS;
    let rss_at_target = if extrapolated {
        rss_before as f64 + per_token * TARGET_TOKENS as f64
    } else {
        rss_after as f64
    };
    let create_rate = created.throughput();
    Ok(json!({
        "live_service_tokens": live,
        "creation": {
            "path": "auth/token/create-orphan (root token, ttl 768h, policies [default])",
            "concurrency": plan.concurrency,
            "seconds": round(created.elapsed.as_secs_f64(), 2),
            "tokens_per_second": round(create_rate, 0),
            "errors": created.errors,
            "first_error": created.first_error,
            "p50_ms": round(created.quantile_ms(0.5), 3),
            "p99_ms": round(created.quantile_ms(0.99), 3),
            "seconds_for_1m_extrapolated": round(TARGET_TOKENS as f64 / create_rate.max(1e-9), 0),
        },
        "rss_mib_before_tokens": mib(rss_before),
        "rss_mib_with_tokens": mib(rss_after),
        "peak_rss_mib_with_tokens": mib(hwm_after),
        "rss_bytes_per_token": round(per_token, 0),
        "store_file_mib": mib(file_bytes),
        "store_bytes_per_token": round(file_bytes as f64 / live as f64, 0),
        "rss_mib_at_1m_tokens": round(rss_at_target / MIB, 1),
        "rss_at_1m_is_extrapolated": extrapolated,
        "clean_shutdown_seconds": round(shutdown.as_secs_f64(), 3),
        "restart": {
            "listening_s": round(listening.as_secs_f64(), 3),
            "unsealed_s": round(unsealed.as_secs_f64(), 3),
            "first_login_s": round(first_login.as_secs_f64(), 3),
            "old_token_lookup_status_after_restart": status,
            "rss_mib_after_first_login": mib(rss_restarted),
        },
        "target_rss_ok": rss_at_target <= GIB,
        "target_restart_ok": first_login <= Duration::from_secs(5),
    }))
}
