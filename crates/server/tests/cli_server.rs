//! The `warden` binary: version, configuration errors, and `server -dev`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers fail loudly"
)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use warden_testkit::ChildGuard;

const WARDEN: &str = env!("CARGO_BIN_EXE_warden");

#[test]
fn version_in_both_spellings() {
    for args in [&["version"][..], &["-version"], &["--version"]] {
        let out = Command::new(WARDEN).args(args).output().unwrap();
        assert!(out.status.success(), "{args:?}");
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(text.starts_with("Warden v"), "{text}");
    }
}

#[test]
fn a_bad_config_exits_64_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "bad-syntax.hcl",
            "storage \"inmem\" {\n listener",
            "bad-syntax.hcl",
        ),
        (
            "no-storage.hcl",
            "listener \"tcp\" { tls_disable = true }\n",
            "A storage backend must be specified",
        ),
        (
            "no-path.hcl",
            "storage \"embedded\" {}\nlistener \"tcp\" { tls_disable = true }\n",
            "path",
        ),
    ];
    for (name, text, expected) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        let out = Command::new(WARDEN)
            .arg("server")
            .arg(format!("-config={}", path.display()))
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(64), "{name}");
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert!(stderr.contains(expected), "{name}: {stderr}");
    }
    let missing = Command::new(WARDEN)
        .args(["server", "-config=/nonexistent/x.hcl"])
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(64));
}

#[test]
fn dev_server_prints_vaults_notice_serves_and_stores_the_token() {
    let home = tempfile::tempdir().unwrap();
    let mut child = ChildGuard(
        Command::new(WARDEN)
            .args([
                "server",
                "-dev",
                "-dev-listen-address=127.0.0.1:0",
                "-dev-root-token-id=root",
            ])
            .env("HOME", home.path())
            .env_remove("VAULT_TOKEN_PATH")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let stdout = child.0.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut addr = None;
    let mut root = None;
    while Instant::now() < deadline {
        let Some(Ok(line)) = lines.next() else { break };
        if let Some(rest) = line.trim().strip_prefix("$ export VAULT_ADDR='") {
            addr = Some(rest.trim_end_matches('\'').to_owned());
        }
        if let Some(token) = line.strip_prefix("Root Token: ") {
            root = Some(token.to_owned());
            break;
        }
    }
    let addr = addr.expect("VAULT_ADDR line");
    assert_eq!(root.as_deref(), Some("root"));
    assert!(addr.starts_with("http://127.0.0.1:"));

    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let client = reqwest::Client::new();
        let health = client
            .get(format!("{addr}/v1/sys/health"))
            .send()
            .await
            .unwrap();
        assert_eq!(health.status().as_u16(), 200);
        let lookup = client
            .get(format!("{addr}/v1/auth/token/lookup-self"))
            .header("X-Vault-Token", "root")
            .send()
            .await
            .unwrap();
        assert_eq!(lookup.status().as_u16(), 200);
        let mounts: serde_json::Value = client
            .get(format!("{addr}/v1/sys/mounts"))
            .header("X-Vault-Token", "root")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(mounts["data"]["secret/"]["type"], "kv");
        assert_eq!(
            mounts["data"]["secret/"]["description"],
            "key/value secret storage"
        );
    });
    let stored = std::fs::read_to_string(home.path().join(".vault-token")).unwrap();
    assert_eq!(stored, "root");

    // SIGTERM shuts the server down cleanly.
    let pid = child.0.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let status = child.0.wait().unwrap();
    assert!(status.success(), "{status:?}");
}
