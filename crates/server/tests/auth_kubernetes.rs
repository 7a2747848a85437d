//! The kubernetes auth method over HTTP, against the test kit's Kubernetes API stand-in:
//! config and role validation, the login flow in Vault's order, TokenReview outcomes.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers fail loudly"
)]

use serde_json::{Value, json};
use warden_testkit::TestServer;
use warden_testkit::kube::{Endpoint, Fault, KubeOptions, KubeStandIn, TokenRequest};

struct Setup {
    server: TestServer,
    kube: KubeStandIn,
    reviewer: String,
}

async fn setup() -> Setup {
    let kube = KubeStandIn::start(KubeOptions::default()).await.unwrap();
    kube.create_namespace("warden", &[]).unwrap();
    kube.create_namespace("apps", &[("team", "a")]).unwrap();
    kube.create_namespace("other", &[]).unwrap();
    kube.create_service_account("warden", "reviewer").unwrap();
    kube.grant_auth_delegator("warden", "reviewer").unwrap();
    kube.create_service_account("apps", "app").unwrap();
    kube.create_service_account("apps", "vault-auth").unwrap();
    kube.create_service_account("other", "app").unwrap();
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
    let config = server
        .request(
            "POST",
            "auth/kubernetes/config",
            Some(json!({ "kubernetes_host": kube.url(), "kubernetes_ca_cert": kube.ca_pem(), "token_reviewer_jwt": reviewer })),
        )
        .await;
    assert_eq!(config.status, 204, "{}", config.text);
    Setup {
        server,
        kube,
        reviewer,
    }
}

async fn role(server: &TestServer, name: &str, body: Value) {
    let resp = server
        .request("POST", &format!("auth/kubernetes/role/{name}"), Some(body))
        .await;
    assert!(resp.status == 204 || resp.status == 200, "{}", resp.text);
}

async fn login(server: &TestServer, role: &str, jwt: &str) -> warden_testkit::ApiResponse {
    server
        .request_with_token(
            "POST",
            "auth/kubernetes/login",
            Some(json!({ "role": role, "jwt": jwt })),
            None,
        )
        .await
}

#[tokio::test]
async fn config_validation_and_read_shape() {
    let Setup {
        server,
        kube,
        reviewer,
    } = setup().await;
    let no_host = server
        .request("POST", "auth/kubernetes/config", Some(json!({})))
        .await;
    assert_eq!(no_host.status, 400);
    assert_eq!(no_host.errors(), ["no host provided"]);
    let bad_ca = server
        .request(
            "POST",
            "auth/kubernetes/config",
            Some(json!({ "kubernetes_host": kube.url(), "kubernetes_ca_cert": "not a pem" })),
        )
        .await;
    assert_eq!(
        bad_ca.errors(),
        ["The provided CA PEM data contains no valid certificates"]
    );
    let bad_keys = server
        .request(
            "POST",
            "auth/kubernetes/config",
            Some(json!({ "kubernetes_host": kube.url(), "kubernetes_ca_cert": kube.ca_pem(), "pem_keys": ["garbage"] })),
        )
        .await;
    assert_eq!(
        bad_keys.errors(),
        ["data does not contain any valid RSA or ECDSA public keys"]
    );
    // Outside a pod, without a CA, the local CA file is missing: Vault's file error.
    let no_ca = server
        .request(
            "POST",
            "auth/kubernetes/config",
            Some(json!({ "kubernetes_host": kube.url() })),
        )
        .await;
    assert_eq!(no_ca.status, 400);
    assert!(
        no_ca.errors()[0].contains("ca.crt: no such file or directory"),
        "{}",
        no_ca.text
    );

    // A full write again (the failed writes above stored nothing, the first one stands).
    let read = server.request("GET", "auth/kubernetes/config", None).await;
    assert_eq!(read.status, 200);
    let mut keys: Vec<&str> = read.body["data"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "disable_iss_validation",
            "disable_local_ca_jwt",
            "issuer",
            "kubernetes_ca_cert",
            "kubernetes_host",
            "pem_keys",
            "token_reviewer_jwt_set",
            "use_annotations_as_alias_metadata"
        ]
    );
    assert_eq!(read.body["data"]["token_reviewer_jwt_set"], true);
    assert_eq!(read.body["data"]["disable_iss_validation"], true);
    assert!(
        !read.text.contains(&reviewer),
        "the reviewer JWT must never be returned"
    );
}

#[tokio::test]
async fn role_validation_messages_and_read_shape() {
    let Setup { server, .. } = setup().await;
    let cases = [
        (
            json!({ "bound_service_account_namespaces": ["a"] }),
            "\"bound_service_account_names\" can not be empty",
        ),
        (
            json!({ "bound_service_account_names": ["a", "*"], "bound_service_account_namespaces": ["a"] }),
            "can not mix \"*\" with values",
        ),
        (
            json!({ "bound_service_account_names": ["a"] }),
            "\"bound_service_account_namespaces\" can not be empty if \"bound_service_account_namespace_selector\" is not set",
        ),
        (
            json!({ "bound_service_account_names": ["a"], "bound_service_account_namespace_selector": "{\"matchExpressions\":[]}" }),
            "invalid \"bound_service_account_namespace_selector\" configured",
        ),
        (
            json!({ "bound_service_account_names": ["a"], "bound_service_account_namespaces": ["*", "b"] }),
            "can not mix \"*\" with values",
        ),
        (
            json!({ "bound_service_account_names": ["a"], "bound_service_account_namespaces": ["b"], "alias_name_source": "x" }),
            "invalid alias_name_source, must be one of: serviceaccount_uid, serviceaccount_name",
        ),
        (
            json!({ "bound_service_account_names": ["a"], "bound_service_account_namespaces": ["b"], "token_ttl": "2h", "token_max_ttl": "1h" }),
            "'token_ttl' cannot be greater than 'token_max_ttl'",
        ),
    ];
    for (body, message) in cases {
        let resp = server
            .request("POST", "auth/kubernetes/role/bad", Some(body.clone()))
            .await;
        assert_eq!(resp.status, 400, "{body}");
        assert_eq!(resp.errors(), [message], "{body}");
    }
    let created = server
        .request(
            "POST",
            "auth/kubernetes/role/demo",
            Some(json!({ "bound_service_account_names": "myapp", "bound_service_account_namespaces": "default", "policies": "default", "ttl": "1h" })),
        )
        .await;
    assert_eq!(created.status, 200, "no audience: 200 with the warning");
    assert!(
        created.body["warnings"][0]
            .as_str()
            .unwrap()
            .starts_with("Role demo does not have an audience configured.")
    );
    let read = server
        .request("GET", "auth/kubernetes/role/demo", None)
        .await;
    let data = &read.body["data"];
    assert_eq!(data["bound_service_account_names"], json!(["myapp"]));
    assert_eq!(data["token_policies"], json!(["default"]));
    assert_eq!(
        data["policies"],
        json!(["default"]),
        "deprecated mirror kept when it was set"
    );
    assert_eq!(data["token_ttl"], 3600);
    assert_eq!(data["ttl"], 3600);
    assert_eq!(data["alias_name_source"], "serviceaccount_uid");
    assert_eq!(data["bound_service_account_namespace_selector"], "");
    assert!(data.get("audience").is_none());
    let listed = server.request("LIST", "auth/kubernetes/role", None).await;
    assert_eq!(listed.body["data"]["keys"], json!(["demo"]));
    assert_eq!(
        server
            .request("DELETE", "auth/kubernetes/role/demo", None)
            .await
            .status,
        204
    );
    assert_eq!(
        server
            .request("GET", "auth/kubernetes/role/demo", None)
            .await
            .status,
        404
    );
}

#[tokio::test]
async fn a_pod_logs_in_and_gets_vaults_auth_block() {
    let Setup { server, kube, .. } = setup().await;
    role(&server, "app", json!({ "bound_service_account_names": "app", "bound_service_account_namespaces": "apps", "audience": "vault", "token_policies": "app", "token_ttl": "1h" })).await;
    let jwt = kube
        .mint(&TokenRequest::new("apps", "app").audience("vault"))
        .unwrap();
    let resp = login(&server, "app", &jwt).await;
    assert_eq!(resp.status, 200, "{}", resp.text);
    let auth = &resp.body["auth"];
    assert!(auth["client_token"].as_str().unwrap().starts_with("hvs."));
    assert_eq!(auth["policies"], json!(["app", "default"]));
    assert_eq!(auth["token_policies"], json!(["app", "default"]));
    assert_eq!(auth["lease_duration"], 3600);
    assert_eq!(auth["renewable"], true);
    assert_eq!(auth["orphan"], true);
    assert_eq!(auth["token_type"], "service");
    let uid = kube.service_account_uid("apps", "app").unwrap();
    assert_eq!(auth["metadata"]["role"], "app");
    assert_eq!(auth["metadata"]["service_account_name"], "app");
    assert_eq!(auth["metadata"]["service_account_namespace"], "apps");
    assert_eq!(auth["metadata"]["service_account_secret_name"], "");
    assert_eq!(auth["metadata"]["service_account_uid"], uid);
    assert!(!auth["entity_id"].as_str().unwrap().is_empty());
    assert_eq!(resp.body["mount_type"], "kubernetes");

    // The token works, knows its display name, and renews (the role is re-read).
    let token = auth["client_token"].as_str().unwrap().to_owned();
    let lookup = server
        .request_with_token("GET", "auth/token/lookup-self", None, Some(&token))
        .await;
    assert_eq!(lookup.body["data"]["display_name"], "kubernetes-apps-app");
    assert_eq!(lookup.body["data"]["path"], "auth/kubernetes/login");
    let renew = server
        .request_with_token(
            "POST",
            "auth/token/renew-self",
            Some(json!({})),
            Some(&token),
        )
        .await;
    assert_eq!(renew.status, 200, "{}", renew.text);
    assert_eq!(renew.body["auth"]["lease_duration"], 3600);

    // The entity's alias is the service account UID; a second login lands in the same entity.
    let entity = server
        .request(
            "GET",
            &format!("identity/entity/id/{}", auth["entity_id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(entity.body["data"]["aliases"][0]["name"], uid);
    let again = login(&server, "app", &jwt).await;
    assert_eq!(again.body["auth"]["entity_id"], auth["entity_id"]);

    // Deleting the role stops renewals.
    server
        .request("DELETE", "auth/kubernetes/role/app", None)
        .await;
    let renew = server
        .request_with_token(
            "POST",
            "auth/token/renew-self",
            Some(json!({})),
            Some(&token),
        )
        .await;
    assert!(renew.status >= 400, "{}", renew.text);
}

#[tokio::test]
async fn local_checks_fail_before_any_token_review() {
    let Setup { server, kube, .. } = setup().await;
    role(&server, "app", json!({ "bound_service_account_names": "app", "bound_service_account_namespaces": "apps", "audience": "vault" })).await;
    let before = kube.tokenreview_count();
    assert_eq!(login(&server, "", "x").await.errors(), ["missing role"]);
    assert_eq!(login(&server, "app", "").await.errors(), ["missing jwt"]);
    let unknown = login(&server, "nope", "x").await;
    assert_eq!(unknown.status, 400);
    assert_eq!(unknown.errors(), ["invalid role name \"nope\""]);
    let garbage = login(&server, "app", "not.a.jwt").await;
    assert_eq!(
        (garbage.status, garbage.errors()),
        (403, vec!["permission denied".to_owned()])
    );

    let other_aud = kube
        .mint(&TokenRequest::new("apps", "app").audience("other"))
        .unwrap();
    let resp = login(&server, "app", &other_aud).await;
    assert_eq!(resp.status, 403);
    assert_eq!(
        resp.errors(),
        ["invalid audience (aud) claim: audience claim does not match any expected audience"]
    );
    let wrong_name = kube
        .mint(&TokenRequest::new("apps", "vault-auth").audience("vault"))
        .unwrap();
    let resp = login(&server, "app", &wrong_name).await;
    assert_eq!(
        (resp.status, resp.errors()),
        (403, vec!["service account name not authorized".to_owned()])
    );
    let wrong_ns = kube
        .mint(&TokenRequest::new("other", "app").audience("vault"))
        .unwrap();
    let resp = login(&server, "app", &wrong_ns).await;
    assert_eq!(
        (resp.status, resp.errors()),
        (403, vec!["namespace not authorized".to_owned()])
    );
    let mut claims = kube
        .claims_for(&TokenRequest::new("apps", "app").audience("vault"))
        .unwrap();
    let now = claims["iat"].as_i64().unwrap();
    claims["iat"] = json!(now - 7200);
    claims["nbf"] = json!(now - 7200);
    claims["exp"] = json!(now - 3600);
    let expired = kube
        .sign_claims(&claims, warden_testkit::kube::Alg::Rs256)
        .unwrap();
    let resp = login(&server, "app", &expired).await;
    assert_eq!(resp.status, 403);
    assert_eq!(
        resp.errors(),
        ["invalid expiration time (exp) claim: token is expired"]
    );
    assert_eq!(
        kube.tokenreview_count(),
        before,
        "no TokenReview for locally refused tokens"
    );
}

#[tokio::test]
async fn token_review_outcomes_are_permission_denied() {
    let Setup { server, kube, .. } = setup().await;
    role(&server, "any", json!({ "bound_service_account_names": "*", "bound_service_account_namespaces": "*", "audience": "vault" })).await;
    let jwt = kube
        .mint(&TokenRequest::new("apps", "app").audience("vault"))
        .unwrap();
    assert_eq!(login(&server, "any", &jwt).await.status, 200);

    // A deleted service account: the TokenReview says so; the client sees only permission denied.
    kube.delete_service_account("apps", "app").unwrap();
    let resp = login(&server, "any", &jwt).await;
    assert_eq!(
        (resp.status, resp.errors()),
        (403, vec!["permission denied".to_owned()])
    );
    // Re-created with the same name: the old token is refused, a new one gets a new entity.
    kube.create_service_account("apps", "app").unwrap();
    assert_eq!(login(&server, "any", &jwt).await.status, 403);
    let fresh = kube
        .mint(&TokenRequest::new("apps", "app").audience("vault"))
        .unwrap();
    let ok = login(&server, "any", &fresh).await;
    assert_eq!(ok.status, 200);

    // A reviewer without system:auth-delegator.
    kube.create_service_account("warden", "noreviewer").unwrap();
    let weak = kube
        .mint(&TokenRequest::new("warden", "noreviewer"))
        .unwrap();
    let config = json!({ "kubernetes_host": kube.url(), "kubernetes_ca_cert": kube.ca_pem(), "token_reviewer_jwt": weak });
    server
        .request("POST", "auth/kubernetes/config", Some(config))
        .await;
    let resp = login(&server, "any", &fresh).await;
    assert_eq!(
        (resp.status, resp.errors()),
        (403, vec!["permission denied".to_owned()])
    );

    // An API server that hangs: the login fails (after the client timeout), it does not hang.
    let Setup { server, kube, .. } = setup().await;
    role(
        &server,
        "any",
        json!({ "bound_service_account_names": "*", "bound_service_account_namespaces": "*" }),
    )
    .await;
    kube.set_fault(Endpoint::TokenReview, Fault::Status(500));
    let jwt = kube.mint(&TokenRequest::new("apps", "app")).unwrap();
    let resp = login(&server, "any", &jwt).await;
    assert_eq!(resp.status, 403, "{}", resp.text);
    kube.clear_faults();
    assert_eq!(
        login(&server, "any", &jwt).await.status,
        200,
        "no audience: the token's own audiences are reviewed"
    );
}

#[tokio::test]
async fn pem_keys_issuer_selectors_and_alias_names() {
    let Setup {
        server,
        kube,
        reviewer,
    } = setup().await;
    let config = json!({
        "kubernetes_host": kube.url(), "kubernetes_ca_cert": kube.ca_pem(), "token_reviewer_jwt": reviewer,
        "pem_keys": kube.pem_keys(), "issuer": "https://other.issuer", "disable_iss_validation": false,
    });
    assert_eq!(
        server
            .request("POST", "auth/kubernetes/config", Some(config))
            .await
            .status,
        204
    );
    role(&server, "sel", json!({ "bound_service_account_names": "app", "bound_service_account_namespace_selector": "matchLabels:\n  team: a\n", "alias_name_source": "serviceaccount_name" })).await;
    let jwt = kube.mint(&TokenRequest::new("apps", "app")).unwrap();
    let resp = login(&server, "sel", &jwt).await;
    assert_eq!(
        (resp.status, resp.errors()),
        (403, vec!["invalid issuer (iss) claim".to_owned()])
    );

    let config = json!({
        "kubernetes_host": kube.url(), "kubernetes_ca_cert": kube.ca_pem(), "token_reviewer_jwt": reviewer,
        "pem_keys": kube.pem_keys(), "issuer": kube.issuer(), "disable_iss_validation": false,
    });
    server
        .request("POST", "auth/kubernetes/config", Some(config))
        .await;
    kube.grant_cluster_role(
        "warden",
        "reviewer",
        "system:controller:namespace-controller",
    )
    .unwrap();
    let resp = login(&server, "sel", &jwt).await;
    assert_eq!(resp.status, 200, "{}", resp.text);
    let entity = server
        .request(
            "GET",
            &format!(
                "identity/entity/id/{}",
                resp.body["auth"]["entity_id"].as_str().unwrap()
            ),
            None,
        )
        .await;
    assert_eq!(entity.body["data"]["aliases"][0]["name"], "apps/app");

    // A token signed by a key the mount does not know: permission denied, locally.
    let forged = warden_testkit::kube::SigningKey::generate(warden_testkit::kube::Alg::Rs256)
        .unwrap()
        .sign(&kube.claims_for(&TokenRequest::new("apps", "app")).unwrap())
        .unwrap();
    let resp = login(&server, "sel", &forged).await;
    assert_eq!(
        (resp.status, resp.errors()),
        (403, vec!["permission denied".to_owned()])
    );
}

#[tokio::test]
async fn in_pod_reviewer_token_is_reread_and_client_jwt_can_review_itself() {
    let Setup { server, kube, .. } = setup().await;
    // warden "in a pod": the service-account directory holds a short-lived reviewer token.
    let sa_dir = tempfile::tempdir().unwrap();
    std::fs::write(sa_dir.path().join("ca.crt"), kube.ca_pem()).unwrap();
    let first = kube
        .mint(
            &TokenRequest::new("warden", "reviewer").duration(std::time::Duration::from_secs(600)),
        )
        .unwrap();
    std::fs::write(sa_dir.path().join("token"), format!("{first}\n")).unwrap();
    let enable = json!({ "type": "kubernetes", "options": { "service_account_dir": sa_dir.path().display().to_string() } });
    assert_eq!(
        server
            .request("POST", "sys/auth/k8s-pod", Some(enable))
            .await
            .status,
        204
    );
    let config = json!({ "kubernetes_host": kube.url() });
    let resp = server
        .request("POST", "auth/k8s-pod/config", Some(config))
        .await;
    assert_eq!(resp.status, 204, "{}", resp.text);
    let role =
        json!({ "bound_service_account_names": "app", "bound_service_account_namespaces": "apps" });
    server
        .request("POST", "auth/k8s-pod/role/app", Some(role))
        .await;
    let jwt = kube.mint(&TokenRequest::new("apps", "app")).unwrap();
    let login = |path: &'static str, jwt: String| {
        let server = &server;
        async move {
            server
                .request_with_token(
                    "POST",
                    path,
                    Some(json!({ "role": "app", "jwt": jwt })),
                    None,
                )
                .await
        }
    };
    assert_eq!(login("auth/k8s-pod/login", jwt.clone()).await.status, 200);
    // The kubelet rotates the file; logins keep working with the cached or the new token.
    let second = kube.mint(&TokenRequest::new("warden", "reviewer")).unwrap();
    std::fs::write(sa_dir.path().join("token"), second).unwrap();
    assert_eq!(login("auth/k8s-pod/login", jwt.clone()).await.status, 200);

    // disable_local_ca_jwt without a reviewer JWT: the client's own JWT is the bearer.
    assert_eq!(
        server
            .request(
                "POST",
                "sys/auth/k8s-self",
                Some(json!({ "type": "kubernetes" }))
            )
            .await
            .status,
        204
    );
    let config = json!({ "kubernetes_host": kube.url(), "kubernetes_ca_cert": kube.ca_pem(), "disable_local_ca_jwt": true });
    assert_eq!(
        server
            .request("POST", "auth/k8s-self/config", Some(config))
            .await
            .status,
        204
    );
    let role =
        json!({ "bound_service_account_names": "app", "bound_service_account_namespaces": "apps" });
    server
        .request("POST", "auth/k8s-self/role/app", Some(role))
        .await;
    let denied = login("auth/k8s-self/login", jwt.clone()).await;
    assert_eq!(denied.status, 403, "the client SA may not review");
    kube.grant_auth_delegator("apps", "app").unwrap();
    assert_eq!(login("auth/k8s-self/login", jwt).await.status, 200);
}

#[tokio::test]
async fn audience_matrix_and_annotation_metadata() {
    let Setup {
        server,
        kube,
        reviewer,
    } = setup().await;
    // TestAudienceValidation: (role audience, token audience) → allowed?
    let api_aud = kube.api_audiences()[0].clone();
    let cases = [
        (Some(api_aud.as_str()), None, true),
        (Some(api_aud.as_str()), Some("a"), false),
        (Some("a"), Some("a"), true),
        (Some("a"), Some("b"), false),
        (None, None, true),
        (None, Some("a"), true),
    ];
    for (index, (role_aud, token_aud, allowed)) in cases.into_iter().enumerate() {
        let name = format!("aud{index}");
        let mut body = json!({ "bound_service_account_names": "app", "bound_service_account_namespaces": "apps" });
        if let Some(aud) = role_aud {
            body["audience"] = json!(aud);
        }
        role(&server, &name, body).await;
        let mut request = TokenRequest::new("apps", "app");
        if let Some(aud) = token_aud {
            request = request.audience(aud);
        }
        let jwt = kube.mint(&request).unwrap();
        let resp = login(&server, &name, &jwt).await;
        assert_eq!(resp.status == 200, allowed, "case {index}: {}", resp.text);
        if !allowed {
            assert_eq!(resp.status, 403, "case {index}");
        }
    }

    // Annotations as alias metadata; reserved keys are refused.
    let config = json!({ "kubernetes_host": kube.url(), "kubernetes_ca_cert": kube.ca_pem(), "token_reviewer_jwt": reviewer, "use_annotations_as_alias_metadata": true });
    server
        .request("POST", "auth/kubernetes/config", Some(config))
        .await;
    kube.grant_cluster_role("warden", "reviewer", "view")
        .unwrap();
    kube.annotate_service_account(
        "apps",
        "app",
        "vault.hashicorp.com/alias-metadata-team",
        "payments",
    )
    .unwrap();
    role(
        &server,
        "meta",
        json!({ "bound_service_account_names": "app", "bound_service_account_namespaces": "apps" }),
    )
    .await;
    let jwt = kube.mint(&TokenRequest::new("apps", "app")).unwrap();
    let resp = login(&server, "meta", &jwt).await;
    assert_eq!(resp.status, 200, "{}", resp.text);
    let entity = server
        .request(
            "GET",
            &format!(
                "identity/entity/id/{}",
                resp.body["auth"]["entity_id"].as_str().unwrap()
            ),
            None,
        )
        .await;
    assert_eq!(
        entity.body["data"]["aliases"][0]["metadata"]["team"],
        "payments"
    );
    kube.annotate_service_account(
        "apps",
        "app",
        "vault.hashicorp.com/alias-metadata-service_account_name",
        "x",
    )
    .unwrap();
    let reserved = login(&server, "meta", &jwt).await;
    assert_eq!(reserved.status, 400);
    assert_eq!(
        reserved.errors(),
        [
            "entity alias metadata keys for only internal use found from the client token's associated service account annotations: keys=[\"service_account_name\"]"
        ]
    );

    // A namespace selector that does not match.
    role(&server, "sel", json!({ "bound_service_account_names": "app", "bound_service_account_namespace_selector": "{\"matchLabels\":{\"team\":\"b\"}}" })).await;
    let resp = login(&server, "sel", &jwt).await;
    assert_eq!(
        (resp.status, resp.errors()),
        (403, vec!["namespace not authorized".to_owned()])
    );
}

#[tokio::test]
async fn legacy_tokens_es256_keys_and_partial_role_updates() {
    let Setup {
        server,
        kube,
        reviewer,
    } = setup().await;
    role(&server, "app", json!({ "bound_service_account_names": "app", "bound_service_account_namespaces": "apps", "token_policies": "app" })).await;

    // A legacy secret token (no exp, no aud): logs in; deleting its Secret revokes it.
    let legacy = kube.create_legacy_token("apps", "app").unwrap();
    let resp = login(&server, "app", &legacy.token).await;
    assert_eq!(resp.status, 200, "{}", resp.text);
    assert_eq!(
        resp.body["auth"]["metadata"]["service_account_secret_name"],
        legacy.secret_name
    );
    kube.delete_secret("apps", &legacy.secret_name).unwrap();
    assert_eq!(login(&server, "app", &legacy.token).await.status, 403);

    // ES256 tokens verified locally by ECDSA pem_keys (TestLogin_ECDSA_PEM).
    let kid = kube.add_key(warden_testkit::kube::Alg::Es256).unwrap();
    let config = json!({ "kubernetes_host": kube.url(), "kubernetes_ca_cert": kube.ca_pem(), "token_reviewer_jwt": reviewer, "pem_keys": kube.pem_keys() });
    assert_eq!(
        server
            .request("POST", "auth/kubernetes/config", Some(config))
            .await
            .status,
        204
    );
    let es = kube
        .mint(&TokenRequest::new("apps", "app").alg(warden_testkit::kube::Alg::Es256))
        .unwrap();
    let resp = login(&server, "app", &es).await;
    assert_eq!(resp.status, 200, "{} (kid {kid})", resp.text);

    // TestPath_Update: a partial update keeps the other fields; the selector is cleared.
    let update = json!({ "token_ttl": "30m" });
    assert!(
        server
            .request("POST", "auth/kubernetes/role/app", Some(update))
            .await
            .status
            < 300
    );
    let read = server
        .request("GET", "auth/kubernetes/role/app", None)
        .await;
    assert_eq!(
        read.body["data"]["bound_service_account_names"],
        json!(["app"])
    );
    assert_eq!(read.body["data"]["token_policies"], json!(["app"]));
    assert_eq!(read.body["data"]["token_ttl"], 1800);
    assert_eq!(read.body["data"]["token_type"], "default");
}

#[tokio::test]
async fn local_ca_and_jwt_matrix() {
    // TestConfig_LocalCaJWT: which of CA and reviewer JWT come from the pod's files.
    let Setup {
        server,
        kube,
        reviewer,
    } = setup().await;
    let sa_dir = tempfile::tempdir().unwrap();
    std::fs::write(sa_dir.path().join("ca.crt"), kube.ca_pem()).unwrap();
    std::fs::write(sa_dir.path().join("token"), &reviewer).unwrap();
    let options = json!({ "service_account_dir": sa_dir.path().display().to_string() });
    assert_eq!(
        server
            .request(
                "POST",
                "sys/auth/pod",
                Some(json!({ "type": "kubernetes", "options": options }))
            )
            .await
            .status,
        204
    );
    let write_role =
        json!({ "bound_service_account_names": "app", "bound_service_account_namespaces": "apps" });
    server
        .request("POST", "auth/pod/role/app", Some(write_role))
        .await;
    let jwt = kube.mint(&TokenRequest::new("apps", "app")).unwrap();
    let cases = [
        ("no CA or JWT, default to local", json!({}), true),
        (
            "CA set, default to local JWT",
            json!({ "kubernetes_ca_cert": kube.ca_pem() }),
            true,
        ),
        (
            "JWT set, default to local CA",
            json!({ "token_reviewer_jwt": reviewer }),
            true,
        ),
        (
            "disable local default, CA set",
            json!({ "kubernetes_ca_cert": kube.ca_pem(), "disable_local_ca_jwt": true }),
            false,
        ),
        (
            "disable local default, JWT set",
            json!({ "token_reviewer_jwt": reviewer, "disable_local_ca_jwt": true }),
            false,
        ),
    ];
    for (label, extra, works) in cases {
        let mut config = json!({ "kubernetes_host": kube.url() });
        for (k, v) in extra.as_object().unwrap() {
            config[k] = v.clone();
        }
        let written = server
            .request("POST", "auth/pod/config", Some(config))
            .await;
        assert_eq!(written.status, 204, "{label}: {}", written.text);
        let resp = server
            .request_with_token(
                "POST",
                "auth/pod/login",
                Some(json!({ "role": "app", "jwt": jwt })),
                None,
            )
            .await;
        // Without the local files: "CA set" reviews with the client's JWT (not a reviewer);
        // "JWT set" has no CA and trusts the system roots, which do not know the stand-in.
        assert_eq!(resp.status == 200, works, "{label}: {}", resp.text);
    }
}
