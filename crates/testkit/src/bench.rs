//! `warden-bench`: login throughput next to its physical baseline, in the shape of
//! vault-benchmark's `kube_auth` and `jwt_auth` tests but with a distinct JWT per request.
//!
//! One run, every phase at the same client concurrency over keep-alive HTTP/1.1:
//! a. `GET /v1/sys/health` (the baseline); b. jwt login RS256 and c. ES256
//! (`jwt_validation_pubkeys`, service tokens, embedded durable storage, a file audit
//! device); d. kubernetes login against the stand-in, and the stand-in's raw TokenReview
//! throughput; e. `auth/token/lookup-self`; f. KV v2 read; g. RSS with many live service
//! tokens and restart + unseal to the first served login (a child process).
//!
//! Runtimes: the server, the client and the Kubernetes stand-in each run on their own
//! tokio runtime (1 worker thread each by default; threads named `bench-server`,
//! `bench-client`, `bench-kube`), so the report can say where the CPU went.

mod durable;
mod load;
mod memory;
mod phases;
mod probe;
mod report;
mod tokens;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand};
use serde_json::{Value, json};

use crate::kube::{Alg, KubeOptions, KubeStandIn, SigningKey};
use durable::Durable;
use load::Target;
use phases::Drive;
use probe::Sampler;

pub use memory::serve_child;

/// Command-line flags.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "warden-bench",
    about = "Login throughput of warden next to its physical baseline"
)]
pub struct Args {
    /// Connections and in-flight requests of every phase.
    #[arg(long, default_value_t = 64)]
    pub concurrency: usize,
    /// Measured window of each phase (`5s`, `500ms`, `1m`).
    #[arg(long, default_value = "5s", value_parser = parse_duration)]
    pub duration: Duration,
    /// Probe window of the token phases, which sizes their pools.
    #[arg(long, default_value = "1s", value_parser = parse_duration)]
    pub probe: Duration,
    /// The most tokens one phase's pool may hold.
    #[arg(long, default_value_t = 300_000)]
    pub max_pool: usize,
    /// Worker threads of the server runtime.
    #[arg(long, default_value_t = 1)]
    pub server_threads: usize,
    /// Worker threads of the client runtime.
    #[arg(long, default_value_t = 1)]
    pub client_threads: usize,
    /// Worker threads of the Kubernetes stand-in's runtime.
    #[arg(long, default_value_t = 1)]
    pub kube_threads: usize,
    /// Live service tokens for phase g (the target is stated for 1,000,000; smaller counts
    /// are extrapolated, and marked so). 0 skips phase g.
    #[arg(long, default_value_t = 100_000)]
    pub tokens: u64,
    /// Concurrency of phase g's token creation.
    #[arg(long, default_value_t = 64)]
    pub token_concurrency: usize,
    /// Skip the file audit device (to measure what auditing costs; the targets assume it on).
    #[arg(long)]
    pub no_audit: bool,
    /// Directory for the stores and the audit log (on a real disk: fsync cost matters).
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Which phases to run: letters of `abcdefg` (without `a` there is no baseline, so no
    /// ratios; useful for profiling one phase).
    #[arg(long, default_value = "abcdefg")]
    pub phases: String,
    /// Internal: run as phase g's child server.
    #[command(subcommand)]
    pub command: Option<Internal>,
}

impl Args {
    /// Whether phase `letter` should run.
    pub fn wants(&self, letter: char) -> bool {
        self.phases.contains(letter)
    }
}

/// Internal subcommands.
#[derive(Debug, Clone, Subcommand)]
pub enum Internal {
    /// Serve a store until stdin closes (phase g's child process).
    #[command(hide = true)]
    ServeChild {
        /// The store's directory.
        #[arg(long)]
        dir: PathBuf,
    },
}

/// Parses `5s`, `250ms`, `2m` or a plain number of seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (number, scale) = if let Some(n) = text.strip_suffix("ms") {
        (n, 1e-3)
    } else if let Some(n) = text.strip_suffix('s') {
        (n, 1.0)
    } else if let Some(n) = text.strip_suffix('m') {
        (n, 60.0)
    } else {
        (text, 1.0)
    };
    let value: f64 = number
        .trim()
        .parse()
        .map_err(|_| format!("invalid duration {text:?}"))?;
    if !value.is_finite() || value < 0.0 {
        return Err(format!("invalid duration {text:?}"));
    }
    Ok(Duration::from_secs_f64(value * scale))
}

fn runtime(name: &str, threads: usize) -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads.max(1))
        .thread_name(name)
        .enable_all()
        .build()?)
}

/// Runs the whole benchmark; returns the JSON report.
pub fn run(args: &Args) -> anyhow::Result<Value> {
    let server_rt = runtime("bench-server", args.server_threads)?;
    let kube_rt = runtime("bench-kube", args.kube_threads)?;
    let client_rt = runtime("bench-client", args.client_threads)?;
    let report = client_rt.block_on(run_phases(args, server_rt.handle(), kube_rt.handle()))?;
    Ok(report)
}

async fn run_phases(
    args: &Args,
    server_rt: &tokio::runtime::Handle,
    kube_rt: &tokio::runtime::Handle,
) -> anyhow::Result<Value> {
    let base = args.dir.clone().unwrap_or_else(std::env::temp_dir);
    let dir = tempfile::Builder::new()
        .prefix("warden-bench-")
        .tempdir_in(&base)?;
    let mut notes: Vec<String> = Vec::new();
    let server = Durable::start(server_rt, &dir.path().join("store")).await?;
    let api = server.api.clone();
    let audit_path = dir.path().join("audit.log");
    let audit_problem = if args.no_audit {
        Some("disabled by --no-audit".to_owned())
    } else {
        phases::enable_audit(&api, &audit_path).await?
    };
    if let Some(problem) = &audit_problem {
        notes.push(format!("no audit device: {problem}"));
    }
    let service_token = phases::setup_common(&api).await?;
    let (rs_key, es_key) = (
        SigningKey::generate(Alg::Rs256)?,
        SigningKey::generate(Alg::Es256)?,
    );
    phases::setup_jwt(&api, "jwt-rs256", &rs_key).await?;
    phases::setup_jwt(&api, "jwt-es256", &es_key).await?;
    let kube = kube_rt
        .spawn(KubeStandIn::start(KubeOptions::default()))
        .await
        .context("stand-in start task")??;
    let reviewer = phases::setup_kube(&api, &kube).await?;

    let drive = Drive {
        concurrency: args.concurrency,
        duration: args.duration,
        probe: args.probe,
        max_pool: args.max_pool,
        sampler: Sampler::with_backend(Arc::clone(&server.backend)),
    };
    let target = Target {
        addr: server.addr,
        tls: None,
    };
    let host = server.addr.to_string();
    let mut results = serde_json::Map::new();
    let audit = audit_problem.is_none();

    let mut baseline = f64::NAN;
    if args.wants('a') {
        let make = phases::get(&host, "/v1/sys/health", None)?;
        let health = phases::fixed(&drive, &target, make, load::check_2xx).await?;
        baseline = health.throughput();
        results.insert(
            "a_health".into(),
            report::phase(&health, baseline, json!({})),
        );
        eprintln!("a. health: {baseline:.0} req/s");
    }
    let ctx = Ctx {
        drive: &drive,
        target: &target,
        host: &host,
        baseline,
        audit,
    };

    for (phase, name, mount, key) in [
        ('b', "b_jwt_login_rs256", "jwt-rs256", &rs_key),
        ('c', "c_jwt_login_es256", "jwt-es256", &es_key),
    ] {
        if args.wants(phase) {
            results.insert(name.into(), jwt_phase(&ctx, name, mount, key).await?);
        }
    }
    if args.wants('d') {
        for (name, figures) in kube_phases(&ctx, &kube, &reviewer).await? {
            results.insert(name.into(), figures);
        }
    }
    for (phase, name, path) in [
        ('e', "e_token_lookup_self", "/v1/auth/token/lookup-self"),
        ('f', "f_kv_v2_read", "/v1/secret/data/bench"),
    ] {
        if args.wants(phase) {
            let make = phases::get(&host, path, Some(&service_token))?;
            let outcome = phases::fixed(&drive, &target, make, load::check_2xx).await?;
            eprintln!("{name}: {:.0} req/s", outcome.throughput());
            let extra = json!({"audit": audit, "token_type": "service"});
            results.insert(name.into(), report::phase(&outcome, baseline, extra));
        }
    }

    let audit_bytes = std::fs::metadata(&audit_path).map_or(0, |m| m.len());
    drop(kube);
    server.stop().await;

    if args.tokens > 0 && args.wants('g') {
        let plan = memory::MemoryPlan {
            tokens: args.tokens,
            concurrency: args.token_concurrency,
            dir: dir.path().join("memory-store"),
        };
        eprintln!("g. creating {} service tokens…", args.tokens);
        let memory = memory::run(&plan).await?;
        results.insert("g_memory_and_restart".into(), memory);
    }
    Ok(report::assemble(
        args,
        Value::Object(results),
        notes,
        audit_bytes,
    ))
}

/// What the load phases share.
struct Ctx<'a> {
    drive: &'a Drive,
    target: &'a Target,
    host: &'a str,
    baseline: f64,
    audit: bool,
}

/// Phases b and c: jwt login with distinct tokens signed by `key`.
async fn jwt_phase(
    ctx: &Ctx<'_>,
    name: &str,
    mount: &str,
    key: &SigningKey,
) -> anyhow::Result<Value> {
    let path = format!("/v1/auth/{mount}/login");
    let mint = phases::jwt_minter(key.clone());
    let make = |pool| phases::post_pool(ctx.host, &path, &[], pool);
    let (outcome, pool) =
        phases::pooled(ctx.drive, ctx.target, &mint, &make, load::check_2xx).await?;
    eprintln!("{name}: {:.0} req/s", outcome.throughput());
    let extra =
        json!({"audit": ctx.audit, "storage": "embedded", "token_type": "service", "tokens": pool});
    Ok(report::phase(&outcome, ctx.baseline, extra))
}

/// Phase d: the stand-in's raw TokenReview throughput, then kubernetes login through warden.
async fn kube_phases(
    ctx: &Ctx<'_>,
    kube: &KubeStandIn,
    reviewer: &str,
) -> anyhow::Result<Vec<(&'static str, Value)>> {
    let kube_mint = phases::kube_tokens(kube)?;
    let review_mint = |n| tokens::tokenreview_bodies(kube_mint(n)?, phases::KUBE_AUDIENCE);
    let kube_target = phases::kube_target(kube)?;
    let make = |pool| phases::tokenreview_request(kube, reviewer, pool);
    let (raw, pool) = phases::pooled(
        ctx.drive,
        &kube_target,
        &review_mint,
        &make,
        load::check_authenticated,
    )
    .await?;
    let raw_rps = raw.throughput();
    eprintln!("d. raw TokenReview: {raw_rps:.0} req/s");
    let login_mint = |n| tokens::login_bodies(kube_mint(n)?, "bench");
    let make = |pool| phases::post_pool(ctx.host, "/v1/auth/kubernetes/login", &[], pool);
    let (login, login_pool) =
        phases::pooled(ctx.drive, ctx.target, &login_mint, &make, load::check_2xx).await?;
    eprintln!("d. kubernetes login: {:.0} req/s", login.throughput());
    let ratio = probe::round(login.throughput() / raw_rps.max(1e-9), 3);
    let extra = json!({"audit": ctx.audit, "token_type": "service", "tokens": login_pool, "ratio_to_raw_tokenreview": ratio});
    let raw_extra = json!({"tokens": pool, "note": "HTTP/1.1 over TLS straight to the stand-in, reviewer bearer, same concurrency"});
    Ok(vec![
        (
            "d_kubernetes_login",
            report::phase(&login, ctx.baseline, extra),
        ),
        (
            "d_tokenreview_raw",
            report::phase(&raw, ctx.baseline, raw_extra),
        ),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_defaults_parse() {
        assert_eq!(parse_duration("5s"), Ok(Duration::from_secs(5)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("1.5"), Ok(Duration::from_millis(1500)));
        assert!(parse_duration("soon").is_err());
        let args = Args::try_parse_from(["warden-bench", "--duration", "2s", "--tokens", "1000"])
            .map_err(|e| e.to_string());
        let args = args.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            (args.concurrency, args.duration, args.tokens),
            (64, Duration::from_secs(2), 1000)
        );
        let child = Args::try_parse_from(["warden-bench", "serve-child", "--dir", "/x"])
            .map_err(|e| e.to_string());
        assert!(matches!(
            child.unwrap_or_else(|e| panic!("{e}")).command,
            Some(Internal::ServeChild { .. })
        ));
    }
}
