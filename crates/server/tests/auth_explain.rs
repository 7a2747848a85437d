//! Explainable denials: each cause of a refused kubernetes or jwt login, provoked against
//! the Kubernetes stand-in, is named by `sys/internal/auth-explain`, while the client still
//! gets Vault's exact answer; no JWT or reviewer token ever appears in a record.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers fail loudly"
)]

#[path = "support/jwt.rs"]
mod support;

use std::time::Duration;

use serde_json::{Value, json};
use warden_testkit::kube::{
    Alg, Endpoint, Fault, KubeOptions, KubeStandIn, SigningKey, TokenRequest,
};
use warden_testkit::{ApiResponse, TestServer};

struct Kube {
    server: TestServer,
    kube: KubeStandIn,
    reviewer: String,
}

async fn kube_setup() -> Kube {
    let kube = KubeStandIn::start(KubeOptions::default()).await.unwrap();
    for ns in ["warden", "other"] {
        kube.create_namespace(ns, &[]).unwrap();
    }
    kube.create_namespace("apps", &[("team", "a")]).unwrap();
    kube.create_service_account("warden", "reviewer").unwrap();
    kube.grant_auth_delegator("warden", "reviewer").unwrap();
    kube.grant_cluster_role("warden", "reviewer", "view")
        .unwrap();
    for (ns, name) in [("apps", "app"), ("apps", "intruder"), ("other", "app")] {
        kube.create_service_account(ns, name).unwrap();
    }
    let reviewer = kube.mint(&TokenRequest::new("warden", "reviewer")).unwrap();
    let server = TestServer::dev().await.unwrap();
    let enable = server
        .request(
            "POST",
            "sys/auth/kubernetes",
            Some(json!({ "type": "kubernetes" })),
        )
        .await;
    assert_eq!(enable.status, 204, "{}", enable.text);
    let setup = Kube {
        server,
        kube,
        reviewer,
    };
    let reviewer = setup.reviewer.clone();
    configure(&setup, json!({ "token_reviewer_jwt": reviewer })).await;
    let role = json!({ "bound_service_account_names": "app", "bound_service_account_namespaces": "apps", "audience": "vault" });
    post(&setup.server, "auth/kubernetes/role/app", role).await;
    setup
}

async fn configure(setup: &Kube, extra: Value) {
    let mut config =
        json!({ "kubernetes_host": setup.kube.url(), "kubernetes_ca_cert": setup.kube.ca_pem() });
    for (k, v) in extra.as_object().unwrap() {
        config[k] = v.clone();
    }
    post(&setup.server, "auth/kubernetes/config", config).await;
}

async fn post(server: &TestServer, path: &str, body: Value) {
    let resp = server.request("POST", path, Some(body)).await;
    assert!(
        resp.status == 204 || resp.status == 200,
        "{path}: {}",
        resp.text
    );
}

async fn login(server: &TestServer, mount: &str, role: &str, jwt: &str) -> ApiResponse {
    let body = json!({ "role": role, "jwt": jwt });
    server
        .request_with_token("POST", &format!("auth/{mount}/login"), Some(body), None)
        .await
}

/// Logs in, checks the client's answer, and returns the one new denial of the mount (read
/// through the listing and then by request id), after checking that no secret is in it.
async fn refused(
    server: &TestServer,
    mount: &str,
    role: &str,
    jwt: &str,
    answer: (u16, &str),
    secrets: &[&str],
) -> Value {
    let path = format!("sys/internal/auth-explain?mount={mount}&limit=1000");
    let before = server.request("GET", &path, None).await.body["data"]["keys"]
        .as_array()
        .map_or(0, Vec::len);
    let resp = login(server, mount, role, jwt).await;
    assert_eq!(
        (resp.status, resp.errors()),
        (answer.0, vec![answer.1.to_owned()]),
        "{}",
        resp.text
    );
    let list = server.request("GET", &path, None).await;
    assert_eq!(list.status, 200, "{}", list.text);
    let keys = list.body["data"]["keys"].as_array().unwrap();
    assert_eq!(
        keys.len(),
        before + 1,
        "exactly one denial recorded: {}",
        list.text
    );
    let id = keys[0].as_str().unwrap();
    let one = server
        .request("GET", &format!("sys/internal/auth-explain/{id}"), None)
        .await;
    assert_eq!(one.status, 200, "{}", one.text);
    for text in [&list.text, &one.text] {
        for secret in secrets.iter().chain([&jwt]) {
            assert!(
                !text.contains(secret),
                "a credential leaked into an explain record: {text}"
            );
        }
        assert!(
            !text.contains("eyJ"),
            "no JWS-shaped text in explain records: {text}"
        );
    }
    let data = one.body["data"].clone();
    assert_eq!(data["request_id"], id);
    assert_eq!(
        data["message"], answer.1,
        "the record says what the client was told"
    );
    assert_eq!(data["mount_path"], format!("auth/{mount}/"));
    assert!(
        !data["remedy"].as_str().unwrap_or_default().is_empty(),
        "{data}"
    );
    data
}

const DENIED: (u16, &str) = (403, "permission denied");

#[tokio::test]
async fn kubernetes_local_checks_are_named() {
    let s = kube_setup().await;
    let (server, kube, reviewer) = (&s.server, &s.kube, s.reviewer.as_str());
    let other_aud = kube
        .mint(&TokenRequest::new("apps", "app").audience("other"))
        .unwrap();
    let d = refused(
        server,
        "kubernetes",
        "app",
        &other_aud,
        (
            403,
            "invalid audience (aud) claim: audience claim does not match any expected audience",
        ),
        &[reviewer],
    )
    .await;
    assert_eq!(d["check"], "audience_mismatch");
    assert_eq!(d["expected"]["audience"], json!(["vault"]));
    assert_eq!(d["seen"]["aud"], json!(["other"]));
    assert_eq!(d["role"], "app");

    let intruder = kube
        .mint(&TokenRequest::new("apps", "intruder").audience("vault"))
        .unwrap();
    let d = refused(
        server,
        "kubernetes",
        "app",
        &intruder,
        (403, "service account name not authorized"),
        &[reviewer],
    )
    .await;
    assert_eq!(d["check"], "service_account_name_not_bound");
    assert_eq!(d["seen"]["service_account_name"], "intruder");

    let other_ns = kube
        .mint(&TokenRequest::new("other", "app").audience("vault"))
        .unwrap();
    let d = refused(
        server,
        "kubernetes",
        "app",
        &other_ns,
        (403, "namespace not authorized"),
        &[reviewer],
    )
    .await;
    assert_eq!(d["check"], "namespace_not_bound");
    let selector = json!({ "bound_service_account_names": "app", "bound_service_account_namespace_selector": "{\"matchLabels\":{\"team\":\"b\"}}", "audience": "vault" });
    post(server, "auth/kubernetes/role/sel", selector).await;
    let app = kube
        .mint(&TokenRequest::new("apps", "app").audience("vault"))
        .unwrap();
    let d = refused(
        server,
        "kubernetes",
        "sel",
        &app,
        (403, "namespace not authorized"),
        &[reviewer],
    )
    .await;
    assert_eq!(d["check"], "namespace_selector_mismatch");
    assert_eq!(d["seen"]["namespace_labels"]["team"], "a");

    let mut claims = kube
        .claims_for(&TokenRequest::new("apps", "app").audience("vault"))
        .unwrap();
    let now = claims["iat"].as_i64().unwrap();
    (claims["iat"], claims["nbf"], claims["exp"]) =
        (json!(now - 7200), json!(now - 7200), json!(now - 3600));
    let expired = kube.sign_claims(&claims, Alg::Rs256).unwrap();
    let d = refused(
        server,
        "kubernetes",
        "app",
        &expired,
        (403, "invalid expiration time (exp) claim: token is expired"),
        &[reviewer],
    )
    .await;
    assert_eq!(d["check"], "token_expired");
    assert_eq!(d["seen"]["exp"], now - 3600);

    configure(&s, json!({ "token_reviewer_jwt": reviewer, "issuer": "https://other.issuer", "disable_iss_validation": false })).await;
    let d = refused(
        server,
        "kubernetes",
        "app",
        &app,
        (403, "invalid issuer (iss) claim"),
        &[reviewer],
    )
    .await;
    assert_eq!(d["check"], "issuer_mismatch");
    assert_eq!(d["expected"]["iss"], "https://other.issuer");
    assert_eq!(d["seen"]["iss"], kube.issuer());
    let d = refused(
        server,
        "kubernetes",
        "nope",
        &app,
        (400, "invalid role name \"nope\""),
        &[reviewer],
    )
    .await;
    assert_eq!(d["check"], "role_not_found");
}

#[tokio::test]
async fn kubernetes_token_review_causes_are_named() {
    let s = kube_setup().await;
    let (server, kube, reviewer) = (&s.server, &s.kube, s.reviewer.as_str());
    let app = kube
        .mint(&TokenRequest::new("apps", "app").audience("vault"))
        .unwrap();
    assert_eq!(login(server, "kubernetes", "app", &app).await.status, 200);

    kube.delete_service_account("apps", "app").unwrap();
    let d = refused(server, "kubernetes", "app", &app, DENIED, &[reviewer]).await;
    assert_eq!(d["check"], "service_account_deleted", "{d}");
    kube.create_service_account("apps", "app").unwrap();
    let d = refused(server, "kubernetes", "app", &app, DENIED, &[reviewer]).await;
    assert_eq!(d["check"], "service_account_recreated", "{d}");
    assert!(
        d["seen"]["token_review_status"]["error"]
            .as_str()
            .unwrap()
            .contains("does not match claim")
    );

    // The seed article's case: the reviewer may not create TokenReviews.
    let app = kube
        .mint(&TokenRequest::new("apps", "app").audience("vault"))
        .unwrap();
    kube.create_service_account("default", "internal-app")
        .unwrap();
    let weak = kube
        .mint(&TokenRequest::new("default", "internal-app"))
        .unwrap();
    configure(&s, json!({ "token_reviewer_jwt": weak })).await;
    let d = refused(
        server,
        "kubernetes",
        "app",
        &app,
        DENIED,
        &[reviewer, &weak],
    )
    .await;
    assert_eq!(d["check"], "reviewer_lacks_auth_delegator", "{d}");
    assert_eq!(
        d["seen"]["reviewer"],
        "system:serviceaccount:default:internal-app"
    );
    let remedy = d["remedy"].as_str().unwrap();
    assert!(remedy.contains("kubectl create clusterrolebinding internal-app-tokenreview-binding --clusterrole=system:auth-delegator --serviceaccount=default:internal-app"), "{remedy}");
    let yaml = d["expected"]["cluster_role_binding"].as_str().unwrap();
    assert!(
        yaml.contains("kind: ClusterRoleBinding")
            && yaml.contains("  name: internal-app\n  namespace: default"),
        "{yaml}"
    );

    // A reviewer token the API server rejects (401): its service account is gone.
    configure(&s, json!({ "token_reviewer_jwt": reviewer })).await;
    kube.delete_service_account("warden", "reviewer").unwrap();
    let d = refused(server, "kubernetes", "app", &app, DENIED, &[reviewer]).await;
    assert_eq!(d["check"], "reviewer_token_rejected", "{d}");
    assert_eq!(
        d["seen"]["reviewer"]["sub"],
        "system:serviceaccount:warden:reviewer"
    );
}

#[tokio::test]
async fn kubernetes_transport_failures_are_named() {
    let s = kube_setup().await;
    let (server, kube, reviewer) = (&s.server, &s.kube, s.reviewer.as_str());
    let app = kube
        .mint(&TokenRequest::new("apps", "app").audience("vault"))
        .unwrap();

    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let host = format!("https://{}", closed.local_addr().unwrap());
    drop(closed);
    configure(
        &s,
        json!({ "token_reviewer_jwt": reviewer, "kubernetes_host": host }),
    )
    .await;
    let d = refused(server, "kubernetes", "app", &app, DENIED, &[reviewer]).await;
    assert_eq!(d["check"], "apiserver_unreachable", "{d}");
    assert_eq!(d["expected"]["kubernetes_host"], host);

    let stranger = KubeStandIn::start(KubeOptions::default()).await.unwrap();
    configure(
        &s,
        json!({ "token_reviewer_jwt": reviewer, "kubernetes_ca_cert": stranger.ca_pem() }),
    )
    .await;
    let d = refused(server, "kubernetes", "app", &app, DENIED, &[reviewer]).await;
    assert_eq!(d["check"], "apiserver_tls_failed", "{d}");

    configure(&s, json!({ "token_reviewer_jwt": reviewer })).await;
    kube.set_fault(Endpoint::TokenReview, Fault::Delay(Duration::from_secs(15)));
    let d = refused(server, "kubernetes", "app", &app, DENIED, &[reviewer]).await;
    assert_eq!(d["check"], "apiserver_timeout", "{d}");
    kube.clear_faults();
    assert_eq!(login(server, "kubernetes", "app", &app).await.status, 200);
}

#[tokio::test]
async fn debug_token_review_diagnoses_like_a_login() {
    let s = kube_setup().await;
    let (server, kube, reviewer) = (&s.server, &s.kube, s.reviewer.as_str());
    let app = kube
        .mint(&TokenRequest::new("apps", "app").audience("vault"))
        .unwrap();
    let body = json!({ "jwt": app, "role": "app" });
    let ok = server
        .request("POST", "auth/kubernetes/debug/token-review", Some(body))
        .await;
    assert_eq!(ok.status, 200, "{}", ok.text);
    assert_eq!(ok.body["data"]["check"], "ok");
    assert_eq!(ok.body["data"]["audiences"], json!(["vault"]));
    assert_eq!(ok.body["data"]["bearer"], "token_reviewer_jwt");
    assert_eq!(ok.body["data"]["response"]["status"]["authenticated"], true);
    kube.create_service_account("default", "internal-app")
        .unwrap();
    let weak = kube
        .mint(&TokenRequest::new("default", "internal-app"))
        .unwrap();
    let body = json!({ "jwt": app, "reviewer_jwt": weak });
    let bad = server
        .request("POST", "auth/kubernetes/debug/token-review", Some(body))
        .await;
    assert_eq!(
        bad.body["data"]["check"], "reviewer_lacks_auth_delegator",
        "{}",
        bad.text
    );
    assert_eq!(bad.body["data"]["http_status"], 403);
    for secret in [app.as_str(), reviewer, weak.as_str()] {
        assert!(
            !ok.text.contains(secret) && !bad.text.contains(secret),
            "no token in the answer"
        );
    }
    // sudo only: a token without it is refused.
    let policy = json!({ "policy": "path \"auth/kubernetes/*\" { capabilities = [\"update\"] }" });
    post(server, "sys/policies/acl/nosudo", policy).await;
    let token = server
        .request(
            "POST",
            "auth/token/create",
            Some(json!({ "policies": ["nosudo"] })),
        )
        .await;
    let token = token.body["auth"]["client_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let body = json!({ "jwt": app });
    let denied = server
        .request_with_token(
            "POST",
            "auth/kubernetes/debug/token-review",
            Some(body),
            Some(&token),
        )
        .await;
    assert_eq!(denied.status, 403);
    let explain = server
        .request_with_token("GET", "sys/internal/auth-explain", None, Some(&token))
        .await;
    assert_eq!(explain.status, 403, "explain needs sudo");
}

#[tokio::test]
async fn jwt_causes_are_named() {
    use support::{projected, seed_role, server_with_mount, start_kube};
    let kube = start_kube().await;
    kube.create_service_account("default", "other").unwrap();
    let server = server_with_mount(json!({ "jwks_min_refresh_interval": "0s" })).await;
    let config = json!({ "oidc_discovery_url": kube.issuer(), "oidc_discovery_ca_pem": kube.ca_pem(), "bound_issuer": "https://wrong.issuer" });
    post(&server, "auth/jwt/config", config).await;
    seed_role(&server).await;
    let d = refused(
        &server,
        "jwt",
        "app",
        &projected(&kube),
        (400, "error validating token: invalid issuer (iss) claim"),
        &[],
    )
    .await;
    assert_eq!(d["check"], "issuer_mismatch");
    assert_eq!(d["expected"]["iss"], "https://wrong.issuer");
    post(
        &server,
        "auth/jwt/config",
        json!({ "oidc_discovery_url": kube.issuer(), "oidc_discovery_ca_pem": kube.ca_pem() }),
    )
    .await;
    assert_eq!(
        login(&server, "jwt", "app", &projected(&kube)).await.status,
        200
    );

    let other = kube
        .mint(&TokenRequest::new("default", "other").audience("vault"))
        .unwrap();
    let d = refused(
        &server,
        "jwt",
        "app",
        &other,
        (400, "error validating token: invalid subject (sub) claim"),
        &[],
    )
    .await;
    assert_eq!(d["check"], "bound_subject_mismatch");
    assert_eq!(d["seen"]["sub"], "system:serviceaccount:default:other");
    let wrong_aud = kube
        .mint(&TokenRequest::new("default", "default").audience("other"))
        .unwrap();
    let message = "error validating token: invalid audience (aud) claim: audience claim does not match any expected audience";
    let d = refused(&server, "jwt", "app", &wrong_aud, (400, message), &[]).await;
    assert_eq!(d["check"], "audience_mismatch");
    assert_eq!(d["expected"]["bound_audiences"], json!(["vault"]));

    post(&server, "auth/jwt/role/noaud", json!({ "role_type": "jwt", "user_claim": "sub", "bound_subject": "system:serviceaccount:default:default" })).await;
    let d = refused(
        &server,
        "jwt",
        "noaud",
        &projected(&kube),
        (
            400,
            "audience claim found in JWT but no audiences bound to the role",
        ),
        &[],
    )
    .await;
    assert_eq!(d["check"], "audience_not_bound");
    let bound = json!({ "role_type": "jwt", "user_claim": "sub", "bound_audiences": "vault", "bound_claims": { "/kubernetes.io/namespace": "prod" } });
    post(&server, "auth/jwt/role/prod", bound).await;
    let d = refused(&server, "jwt", "prod", &projected(&kube), (400, "error validating claims: claim \"/kubernetes.io/namespace\" does not match any associated bound claim values"), &[]).await;
    assert_eq!(d["check"], "bound_claim_mismatch", "{d}");
    assert_eq!(d["seen"]["claims"]["/kubernetes.io/namespace"], "default");

    let mut claims = kube
        .claims_for(&TokenRequest::new("default", "default").audience("vault"))
        .unwrap();
    let now = claims["iat"].as_i64().unwrap();
    (claims["iat"], claims["nbf"], claims["exp"]) =
        (json!(now - 7200), json!(now - 7200), json!(now - 3600));
    let expired = kube.sign_claims(&claims, Alg::Rs256).unwrap();
    let d = refused(
        &server,
        "jwt",
        "app",
        &expired,
        (
            400,
            "error validating token: invalid expiration time (exp) claim: token is expired",
        ),
        &[],
    )
    .await;
    assert_eq!(d["check"], "token_expired");

    let forged = SigningKey::generate(Alg::Rs256).unwrap();
    let forged = forged
        .sign(
            &kube
                .claims_for(&TokenRequest::new("default", "default").audience("vault"))
                .unwrap(),
        )
        .unwrap();
    let message = "error validating token: error verifying token signature: failed to verify id token signature";
    let d = refused(&server, "jwt", "app", &forged, (400, message), &[]).await;
    assert_eq!(d["check"], "unknown_kid", "{d}");
    assert_eq!(d["seen"]["verified"], false);

    // The JWKS endpoint fails while a token of a new key arrives.
    kube.add_key(Alg::Rs256).unwrap();
    kube.set_fault(Endpoint::Jwks, Fault::Status(500));
    let resp = login(&server, "jwt", "app", &projected(&kube)).await;
    assert_eq!(resp.status, 400, "{}", resp.text);
    let list = server
        .request("GET", "sys/internal/auth-explain?mount=jwt&limit=1", None)
        .await;
    assert_eq!(
        list.body["data"]["denials"][0]["check"], "jwks_unreachable",
        "{}",
        list.text
    );
    assert_eq!(list.body["data"]["denials"][0]["message"], resp.errors()[0]);
}
