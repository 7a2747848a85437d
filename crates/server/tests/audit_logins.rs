//! The audit log of a run of kubernetes and jwt logins, good and bad, against the test
//! kit's stand-in: no JWT, reviewer JWT, token or accessor appears in clear, and
//! `sys/audit-hash` reproduces the HMACs that stand in their place (issue 7's check).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers fail loudly"
)]

use std::path::Path;

use serde_json::{Value, json};
use warden_testkit::TestServer;
use warden_testkit::kube::{KubeStandIn, TokenRequest};

fn entries(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

async fn ok(server: &TestServer, path: &str, body: Value) {
    let resp = server.request("POST", path, Some(body)).await;
    assert!(
        resp.status == 200 || resp.status == 204,
        "{path}: {}",
        resp.text
    );
}

async fn hash(server: &TestServer, input: &str) -> String {
    let resp = server
        .request(
            "POST",
            "sys/audit-hash/file",
            Some(json!({ "input": input })),
        )
        .await;
    assert_eq!(resp.status, 200, "{}", resp.text);
    resp.body["data"]["hash"].as_str().unwrap().to_owned()
}

/// Logs in and returns the status and, on success, the token and its accessor.
async fn login(server: &TestServer, mount: &str, jwt: &str) -> (u16, Option<(String, String)>) {
    let resp = server
        .request_with_token(
            "POST",
            &format!("auth/{mount}/login"),
            Some(json!({ "role": "app", "jwt": jwt })),
            None,
        )
        .await;
    let issued = resp.body["auth"]["client_token"].as_str().map(|token| {
        (
            token.to_owned(),
            resp.body["auth"]["accessor"].as_str().unwrap().to_owned(),
        )
    });
    (resp.status, issued)
}

/// The request and response entries of the login that sent `jwt` to `mount`.
fn login_entries<'a>(lines: &'a [Value], mount: &str, jwt_hash: &str) -> (&'a Value, &'a Value) {
    let path = format!("auth/{mount}/login");
    let find = |kind: &str| {
        lines
            .iter()
            .find(|e| {
                e["type"] == kind
                    && e["request"]["path"] == path
                    && e["request"]["data"]["jwt"] == jwt_hash
            })
            .unwrap_or_else(|| panic!("no {kind} entry of {path} with that jwt"))
    };
    (find("request"), find("response"))
}

#[tokio::test]
async fn login_runs_leave_no_credential_in_clear_and_hashes_reproduce() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("audit.log");
    let server = TestServer::dev().await.unwrap();
    let root = server.root_token.clone().unwrap();
    let body = json!({ "type": "file", "options": { "file_path": log.to_str().unwrap() } });
    assert_eq!(
        server
            .request("PUT", "sys/audit/file", Some(body))
            .await
            .status,
        204
    );

    let (kube, reviewer) = KubeStandIn::with_reviewer().await.unwrap();
    kube.create_service_account("apps", "intruder").unwrap();
    ok(
        &server,
        "sys/auth/kubernetes",
        json!({ "type": "kubernetes" }),
    )
    .await;
    ok(
        &server,
        "auth/kubernetes/config",
        json!({ "kubernetes_host": kube.url(), "kubernetes_ca_cert": kube.ca_pem(), "token_reviewer_jwt": reviewer }),
    )
    .await;
    ok(
        &server,
        "auth/kubernetes/role/app",
        json!({ "bound_service_account_names": "app", "bound_service_account_namespaces": "apps", "audience": "vault" }),
    )
    .await;
    ok(&server, "sys/auth/jwt", json!({ "type": "jwt" })).await;
    let jwks = format!("{}/openid/v1/jwks", kube.url());
    ok(
        &server,
        "auth/jwt/config",
        json!({ "jwks_url": jwks, "jwks_ca_pem": kube.ca_pem() }),
    )
    .await;
    ok(
        &server,
        "auth/jwt/role/app",
        json!({ "role_type": "jwt", "bound_audiences": "vault", "user_claim": "sub", "bound_subject": "system:serviceaccount:apps:app" }),
    )
    .await;

    let app = kube
        .mint(&TokenRequest::new("apps", "app").audience("vault"))
        .unwrap();
    let intruder = kube
        .mint(&TokenRequest::new("apps", "intruder").audience("vault"))
        .unwrap();
    let (status, kube_token) = login(&server, "kubernetes", &app).await;
    assert_eq!(status, 200);
    assert_eq!(login(&server, "kubernetes", &intruder).await.0, 403);
    let (status, jwt_token) = login(&server, "jwt", &app).await;
    assert_eq!(status, 200);
    let refused_jwt = server
        .request_with_token(
            "POST",
            "auth/jwt/login",
            Some(json!({ "role": "app", "jwt": intruder })),
            None,
        )
        .await;
    assert_eq!(refused_jwt.status, 400, "{}", refused_jwt.text);
    let message = refused_jwt.errors()[0].clone();
    let (kube_token, kube_accessor) = kube_token.unwrap();
    let (jwt_token, jwt_accessor) = jwt_token.unwrap();

    let text = std::fs::read_to_string(&log).unwrap();
    for clear in [
        &reviewer,
        &app,
        &intruder,
        &kube_token,
        &kube_accessor,
        &jwt_token,
        &jwt_accessor,
        &root,
    ] {
        assert!(
            !text.contains(clear.as_str()),
            "a credential in clear in the audit log"
        );
    }
    assert!(
        !text.contains("eyJ"),
        "a JWS-shaped string in the audit log"
    );

    let lines = entries(&log);
    // The reviewer JWT of the config write is an HMAC that sys/audit-hash reproduces.
    let config = lines
        .iter()
        .find(|e| e["type"] == "request" && e["request"]["path"] == "auth/kubernetes/config")
        .unwrap();
    assert_eq!(
        config["request"]["data"]["token_reviewer_jwt"],
        hash(&server, &reviewer).await
    );

    let app_hash = hash(&server, &app).await;
    assert!(app_hash.starts_with("hmac-sha256:"), "{app_hash}");
    let (request, response) = login_entries(&lines, "kubernetes", &app_hash);
    assert_eq!(request["request"]["mount_type"], "kubernetes");
    assert_eq!(
        response["response"]["auth"]["client_token"],
        hash(&server, &kube_token).await
    );
    assert_eq!(
        response["response"]["auth"]["accessor"],
        hash(&server, &kube_accessor).await
    );
    assert_eq!(
        response["response"]["auth"]["display_name"],
        "kubernetes-apps-app"
    );

    let (_, response) = login_entries(&lines, "jwt", &app_hash);
    assert_eq!(
        response["response"]["auth"]["client_token"],
        hash(&server, &jwt_token).await
    );
    assert_eq!(
        response["response"]["auth"]["accessor"],
        hash(&server, &jwt_accessor).await
    );

    // Refused logins are audited too, with Vault's error and the JWT hashed.
    let intruder_hash = hash(&server, &intruder).await;
    let (_, refused) = login_entries(&lines, "kubernetes", &intruder_hash);
    assert_eq!(refused["error"], "service account name not authorized");
    assert!(
        refused["response"]["auth"]["client_token"].is_null(),
        "{refused}"
    );
    let (_, refused) = login_entries(&lines, "jwt", &intruder_hash);
    // An error response: Vault's `invalid request`, its message HMAC'd like any data.
    assert_eq!(refused["error"], "invalid request", "{refused}");
    assert_eq!(
        refused["response"]["data"]["error"],
        hash(&server, &message).await,
        "{refused}"
    );
}
