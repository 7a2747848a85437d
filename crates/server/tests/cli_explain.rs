//! `warden auth explain`, `warden debug token-review` and `warden debug jwt`, run as a
//! separate process against an in-process server and the Kubernetes stand-in.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers fail loudly"
)]

use std::process::Command;

use serde_json::{Value, json};
use warden_testkit::TestServer;
use warden_testkit::kube::{KubeOptions, KubeStandIn, TokenRequest};

const WARDEN: &str = env!("CARGO_BIN_EXE_warden");

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn run(server: &TestServer, home: &std::path::Path, args: &[&str]) -> Run {
    let out = Command::new(WARDEN)
        .args(args)
        .env_clear()
        .env("HOME", home)
        .env("VAULT_ADDR", server.url())
        .env("VAULT_TOKEN", server.root_token.as_deref().unwrap())
        .output()
        .unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

fn ok(run: Run) -> Run {
    assert_eq!(
        run.code, 0,
        "stdout:\n{}\nstderr:\n{}",
        run.stdout, run.stderr
    );
    run
}

/// The value of `key` in a `Key`/`Value` table.
fn row<'a>(table: &'a str, key: &str) -> Option<&'a str> {
    table.lines().find_map(|line| {
        let (k, v) = line.split_once(' ')?;
        (k == key).then(|| v.trim())
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn explain_and_debug_commands() {
    let kube = KubeStandIn::start(KubeOptions::default()).await.unwrap();
    kube.create_namespace("apps", &[]).unwrap();
    kube.create_service_account("apps", "app").unwrap();
    kube.create_service_account("default", "internal-app")
        .unwrap();
    let weak = kube
        .mint(&TokenRequest::new("default", "internal-app"))
        .unwrap();
    let app = kube
        .mint(&TokenRequest::new("apps", "app").audience("vault"))
        .unwrap();
    let server = TestServer::dev().await.unwrap();
    let home = tempfile::tempdir().unwrap();
    let files = tempfile::tempdir().unwrap();
    let (app_file, weak_file) = (files.path().join("token"), files.path().join("reviewer"));
    std::fs::write(&app_file, format!("{app}\n")).unwrap();
    std::fs::write(&weak_file, &weak).unwrap();
    let app_arg = format!("@{}", app_file.display());

    assert_eq!(
        server
            .request(
                "POST",
                "sys/auth/kubernetes",
                Some(json!({ "type": "kubernetes" }))
            )
            .await
            .status,
        204
    );
    let config = json!({ "kubernetes_host": kube.url(), "kubernetes_ca_cert": kube.ca_pem(), "token_reviewer_jwt": weak });
    assert_eq!(
        server
            .request("POST", "auth/kubernetes/config", Some(config))
            .await
            .status,
        204
    );
    let role = json!({ "bound_service_account_names": "app", "bound_service_account_namespaces": "apps", "audience": "vault" });
    assert_eq!(
        server
            .request("POST", "auth/kubernetes/role/app", Some(role))
            .await
            .status,
        204
    );
    let login = server
        .request_with_token(
            "POST",
            "auth/kubernetes/login",
            Some(json!({ "role": "app", "jwt": app })),
            None,
        )
        .await;
    assert_eq!(
        (login.status, login.errors()),
        (403, vec!["permission denied".to_owned()])
    );

    // The newest denial of the mount, in full.
    let last = ok(run(
        &server,
        home.path(),
        &["auth", "explain", "-mount=kubernetes", "-last"],
    ));
    assert_eq!(
        row(&last.stdout, "check"),
        Some("reviewer_lacks_auth_delegator"),
        "{}",
        last.stdout
    );
    assert_eq!(
        row(&last.stdout, "seen.reviewer"),
        Some("system:serviceaccount:default:internal-app")
    );
    assert!(
        last.stdout
            .contains("--clusterrole=system:auth-delegator --serviceaccount=default:internal-app"),
        "{}",
        last.stdout
    );
    assert!(last.stdout.contains("expected.cluster_role_binding:\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding"), "{}", last.stdout);

    // By request id, as JSON and as a table.
    let json_out = ok(run(
        &server,
        home.path(),
        &[
            "auth",
            "explain",
            "-mount=kubernetes",
            "-last",
            "-format=json",
        ],
    ));
    let record: Value = serde_json::from_str(&json_out.stdout).unwrap();
    let id = record["request_id"].as_str().unwrap().to_owned();
    let by_id = ok(run(&server, home.path(), &["auth", "explain", &id]));
    assert_eq!(row(&by_id.stdout, "request_id"), Some(id.as_str()));
    assert_eq!(row(&by_id.stdout, "message"), Some("permission denied"));
    let listing = ok(run(
        &server,
        home.path(),
        &["auth", "explain", "-mount=kubernetes"],
    ));
    assert!(listing.stdout.starts_with("Time "), "{}", listing.stdout);
    assert!(
        listing.stdout.contains(&id) && listing.stdout.contains("reviewer_lacks_auth_delegator")
    );
    let missing = run(
        &server,
        home.path(),
        &["auth", "explain", "no-such-request"],
    );
    assert_eq!(missing.code, 2, "{}", missing.stderr);

    // The TokenReview a login makes, with the configured reviewer and with another one.
    let review = ok(run(
        &server,
        home.path(),
        &[
            "debug",
            "token-review",
            "-mount=kubernetes",
            "-role=app",
            &format!("jwt={app_arg}"),
        ],
    ));
    assert_eq!(
        row(&review.stdout, "check"),
        Some("reviewer_lacks_auth_delegator"),
        "{}",
        review.stdout
    );
    assert_eq!(row(&review.stdout, "http_status"), Some("403"));
    kube.grant_auth_delegator("default", "internal-app")
        .unwrap();
    let review = ok(run(
        &server,
        home.path(),
        &[
            "debug",
            "token-review",
            "-format=json",
            &format!("jwt={app_arg}"),
            &format!("reviewer_jwt=@{}", weak_file.display()),
        ],
    ));
    let answer: Value = serde_json::from_str(&review.stdout).unwrap();
    assert_eq!(answer["data"]["check"], "ok", "{}", review.stdout);
    assert_eq!(
        answer["data"]["audiences"],
        json!(["vault"]),
        "the token's own audience without -role"
    );

    // Local, unverified decoding.
    let decoded = ok(run(&server, home.path(), &["debug", "jwt", &app_arg]));
    assert_eq!(
        row(&decoded.stdout, "header.alg"),
        Some("RS256"),
        "{}",
        decoded.stdout
    );
    assert_eq!(
        row(&decoded.stdout, "sub"),
        Some("system:serviceaccount:apps:app")
    );
    assert!(decoded.stdout.contains("* expires "), "{}", decoded.stdout);
    assert!(
        decoded.stdout.contains("* aud [vault]"),
        "{}",
        decoded.stdout
    );
    assert!(decoded.stdout.contains("signature was NOT verified"));
    let decoded = ok(run(
        &server,
        home.path(),
        &["debug", "jwt", "-format=json", &app],
    ));
    let decoded: Value = serde_json::from_str(&decoded.stdout).unwrap();
    assert_eq!(decoded["claims"]["kubernetes.io"]["namespace"], "apps");
    assert_eq!(decoded["verified"], false);

    for out in [&last, &json_out, &by_id, &listing] {
        assert!(
            !out.stdout.contains(&app) && !out.stdout.contains(&weak),
            "no token in explain output"
        );
    }
}
