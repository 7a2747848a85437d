//! `kube-standin`: runs the Kubernetes API stand-in until Ctrl-C, for trying warden by hand.
//!
//! It creates namespace `demo` (label `team=demo`), service accounts `demo/reviewer`
//! (bound to `system:auth-delegator` and `view`) and `demo/app`, writes the CA certificate
//! and prints the URL, the CA file and two tokens.
//!
//! Usage: `kube-standin [--port N] [--ca-file PATH] [--audience AUD]`

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use warden_testkit::kube::{KubeOptions, KubeStandIn, TokenRequest};

struct Args {
    port: u16,
    ca_file: PathBuf,
    audience: Option<String>,
}

/// The arguments, or `None` after printing the usage.
fn parse_args() -> anyhow::Result<Option<Args>> {
    let mut args = Args {
        port: 0,
        ca_file: PathBuf::from("kube-standin-ca.crt"),
        audience: None,
    };
    let mut argv = std::env::args().skip(1);
    while let Some(flag) = argv.next() {
        let flag = flag.trim_start_matches('-').to_owned();
        let (name, inline) = match flag.split_once('=') {
            Some((name, value)) => (name.to_owned(), Some(value.to_owned())),
            None => (flag, None),
        };
        if name == "help" || name == "h" {
            println!("usage: kube-standin [--port N] [--ca-file PATH] [--audience AUD]");
            return Ok(None);
        }
        let value = match inline {
            Some(value) => value,
            None => argv
                .next()
                .with_context(|| format!("--{name} needs a value"))?,
        };
        match name.as_str() {
            "port" => args.port = value.parse().context("--port")?,
            "ca-file" => args.ca_file = PathBuf::from(value),
            "audience" => args.audience = Some(value),
            other => bail!("unknown flag --{other}"),
        }
    }
    Ok(Some(args))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let Some(args) = parse_args()? else {
        return Ok(());
    };
    let options = KubeOptions {
        bind: ([127, 0, 0, 1], args.port).into(),
        ..KubeOptions::default()
    };
    let kube = KubeStandIn::start(options).await?;
    kube.create_namespace("demo", &[("team", "demo")])?;
    kube.create_service_account("demo", "reviewer")?;
    kube.grant_auth_delegator("demo", "reviewer")?;
    kube.grant_cluster_role("demo", "reviewer", "view")?;
    kube.create_service_account("demo", "app")?;
    std::fs::write(&args.ca_file, kube.ca_pem())
        .with_context(|| format!("write {}", args.ca_file.display()))?;

    let day = Duration::from_secs(24 * 3600);
    let reviewer = kube.mint(&TokenRequest::new("demo", "reviewer").duration(day))?;
    let mut app = TokenRequest::new("demo", "app").duration(day);
    if let Some(audience) = &args.audience {
        app = app.audience(audience);
    }
    let app = kube.mint(&app)?;

    println!("url: {}", kube.url());
    println!("issuer: {}", kube.issuer());
    println!("ca_file: {}", args.ca_file.display());
    println!("reviewer_token (demo/reviewer): {reviewer}");
    println!("app_token (demo/app): {app}");
    tokio::signal::ctrl_c().await.context("wait for Ctrl-C")?;
    kube.shutdown().await;
    Ok(())
}
