//! The operational log of a real `warden server` process: `-log-format=json` writes one
//! JSON object per line, refused logins are logged at debug level with the mount accessor
//! and the underlying cause (Vault's `auth.kubernetes.<accessor>: login unauthorized:
//! err=…`), and no token or JWT ever appears in a line.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers fail loudly"
)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use warden_testkit::ChildGuard;
use warden_testkit::kube::{KubeStandIn, TokenRequest};

const WARDEN: &str = env!("CARGO_BIN_EXE_warden");

/// Starts a dev server logging JSON at debug level into `log`; returns it and its address.
fn start_server(root: &str, log: &std::path::Path, home: &std::path::Path) -> (ChildGuard, String) {
    let mut child = ChildGuard(
        Command::new(WARDEN)
            .args([
                "server",
                "-dev",
                "-dev-listen-address=127.0.0.1:0",
                &format!("-dev-root-token-id={root}"),
                "-dev-no-store-token",
                "-log-format=json",
                "-log-level=debug",
            ])
            .env("HOME", home)
            .env_remove("WARDEN_LOG")
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(log).unwrap())
            .spawn()
            .unwrap(),
    );
    let stdout = child.0.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        let Some(Ok(line)) = lines.next() else { break };
        if let Some(rest) = line.trim().strip_prefix("$ export VAULT_ADDR='") {
            // The banner goes on; keep draining stdout so the server never writes into a
            // closed pipe.
            std::thread::spawn(move || lines.for_each(drop));
            return (child, rest.trim_end_matches('\'').to_owned());
        }
    }
    panic!("the dev server printed no VAULT_ADDR");
}

async fn call(
    client: &reqwest::Client,
    url: String,
    token: Option<&str>,
    body: Value,
) -> (u16, Value) {
    let mut request = client.post(url).json(&body);
    if let Some(token) = token {
        request = request.header("X-Vault-Token", token);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[test]
fn json_log_names_the_cause_of_refused_logins_and_no_secret() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("server.log");
    let root = format!("root-{}", uuid::Uuid::new_v4().simple());
    let (server, addr) = start_server(&root, &log, dir.path());

    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (accessor, secrets) = runtime.block_on(async {
        let (kube, reviewer) = KubeStandIn::with_reviewer().await.unwrap();
        kube.create_service_account("apps", "intruder").unwrap();
        let client = reqwest::Client::new();
        let v1 = |path: &str| format!("{addr}/v1/{path}");
        let admin = Some(root.as_str());
        let (status, _) = call(&client, v1("sys/auth/kubernetes"), admin, json!({"type": "kubernetes"})).await;
        assert_eq!(status, 204);
        let config = json!({"kubernetes_host": kube.url(), "kubernetes_ca_cert": kube.ca_pem(), "token_reviewer_jwt": reviewer});
        assert_eq!(call(&client, v1("auth/kubernetes/config"), admin, config).await.0, 204);
        let role = json!({"bound_service_account_names": "app", "bound_service_account_namespaces": "apps", "audience": "vault"});
        assert_eq!(call(&client, v1("auth/kubernetes/role/app"), admin, role).await.0, 204);

        let login = |jwt: &str| json!({"role": "app", "jwt": jwt});
        let app = kube.mint(&TokenRequest::new("apps", "app").audience("vault")).unwrap();
        let (status, body) = call(&client, v1("auth/kubernetes/login"), None, login(&app)).await;
        assert_eq!(status, 200, "{body}");
        let issued = body["auth"]["client_token"].as_str().unwrap().to_owned();
        // A local refusal (name not bound), then one the TokenReview gives (deleted account).
        let intruder = kube.mint(&TokenRequest::new("apps", "intruder").audience("vault")).unwrap();
        assert_eq!(call(&client, v1("auth/kubernetes/login"), None, login(&intruder)).await.0, 403);
        kube.delete_service_account("apps", "app").unwrap();
        assert_eq!(call(&client, v1("auth/kubernetes/login"), None, login(&app)).await.0, 403);

        let auth: Value = client
            .get(v1("sys/auth"))
            .header("X-Vault-Token", &root)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let accessor = auth["data"]["kubernetes/"]["accessor"].as_str().unwrap().to_owned();
        (accessor, vec![reviewer, app, intruder, issued, root.clone()])
    });
    drop(server);

    let text = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<Value> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON line ({e}): {l}")))
        .collect();
    assert!(lines.len() > 3, "{text}");
    for line in &lines {
        assert!(
            line["timestamp"].is_string() && line["level"].is_string(),
            "{line}"
        );
    }
    let messages: Vec<(&str, &str)> = lines
        .iter()
        .filter_map(|l| Some((l["level"].as_str()?, l["fields"]["message"].as_str()?)))
        .collect();
    let unauthorized = format!("auth.kubernetes.{accessor}: login unauthorized: err=");
    let review = messages
        .iter()
        .find(|(_, m)| m.starts_with(&unauthorized))
        .unwrap_or_else(|| panic!("no {unauthorized:?} line: {text}"));
    assert_eq!(review.0, "DEBUG");
    assert!(review.1.contains("lookup failed"), "{}", review.1);
    let denied =
        format!("auth.kubernetes.{accessor}: login denied: service_account_name_not_bound");
    assert!(
        messages
            .iter()
            .any(|(level, m)| *level == "DEBUG" && m.starts_with(&denied)),
        "no {denied:?} line: {text}"
    );
    assert!(
        messages.iter().any(|(_, m)| *m == "vault is unsealed"),
        "{text}"
    );
    for secret in &secrets {
        assert!(
            !text.contains(secret.as_str()),
            "a secret in the operational log: {text}"
        );
    }
    assert!(
        !text.contains("eyJ"),
        "a JWT-shaped string in the operational log: {text}"
    );
}
