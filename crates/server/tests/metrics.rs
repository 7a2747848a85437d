//! `sys/metrics`: who may read it, its formats and errors, and that logins, denials,
//! TokenReviews, JWKS refreshes, tokens and storage show up in it with the right labels.
//! Each test uses its own mount paths, so counts are exact even if tests share a process
//! (the recorder is process-wide).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers fail loudly"
)]

use std::time::Duration;

use serde_json::{Value, json};
use warden_server::config::Config;
use warden_testkit::TestServer;
use warden_testkit::kube::{KubeStandIn, TokenRequest};

/// One request with a raw answer: status, content type, body.
async fn get_raw(
    server: &TestServer,
    path: &str,
    token: Option<&str>,
    accept: Option<&str>,
) -> (u16, String, String) {
    let mut request = reqwest::Client::new().get(format!("{}/v1/{path}", server.url()));
    if let Some(token) = token {
        request = request.header("X-Vault-Token", token);
    }
    if let Some(accept) = accept {
        request = request.header("Accept", accept);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, content_type, response.text().await.unwrap())
}

async fn prometheus(server: &TestServer) -> String {
    let root = server.root_token.clone();
    let (status, content_type, body) = get_raw(
        server,
        "sys/metrics?format=prometheus",
        root.as_deref(),
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(content_type, "text/plain; version=0.0.4; charset=utf-8");
    body
}

/// The value of the one sample `name{labels…}` whose labels include every given pair.
fn sample(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| line.rsplit_once(' '))
        .find(|(head, _)| {
            let (metric, rest) = head.split_once('{').unwrap_or((head, ""));
            metric == name
                && labels
                    .iter()
                    .all(|(k, v)| rest.contains(&format!("{k}=\"{v}\"")))
        })
        .map(|(_, value)| value.parse().unwrap())
}

async fn post(server: &TestServer, path: &str, body: Value) {
    let resp = server.request("POST", path, Some(body)).await;
    assert!(
        resp.status == 200 || resp.status == 204,
        "{path}: {}",
        resp.text
    );
}

#[tokio::test]
async fn reading_metrics_needs_read_on_sys_metrics() {
    let server = TestServer::dev().await.unwrap();
    let (status, _, body) = get_raw(&server, "sys/metrics?format=prometheus", None, None).await;
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("permission denied"), "{body}");

    post(
        &server,
        "sys/policies/acl/metrics",
        json!({ "policy": "path \"sys/metrics\" { capabilities = [\"read\"] }" }),
    )
    .await;
    let plain = server
        .request(
            "POST",
            "auth/token/create",
            Some(json!({ "policies": ["default"] })),
        )
        .await;
    let plain = plain.body["auth"]["client_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let reader = server
        .request(
            "POST",
            "auth/token/create",
            Some(json!({ "policies": ["metrics"] })),
        )
        .await;
    let reader = reader.body["auth"]["client_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = "sys/metrics?format=prometheus";
    assert_eq!(get_raw(&server, path, Some(&plain), None).await.0, 403);
    let (status, content_type, body) = get_raw(&server, path, Some(&reader), None).await;
    assert_eq!(status, 200, "{body}");
    assert!(content_type.starts_with("text/plain; version=0.0.4"));
    assert_eq!(
        sample(&body, "warden_core_unsealed", &[]),
        Some(1.0),
        "{body}"
    );
    assert!(
        body.contains("# TYPE warden_http_requests_total counter"),
        "{body}"
    );
}

#[tokio::test]
async fn formats_and_their_errors_are_vaults() {
    let server = TestServer::dev().await.unwrap();
    let root = server.root_token.clone();
    let root = root.as_deref();
    assert_eq!(server.request("GET", "sys/health", None).await.status, 200);

    // No format: Vault's JSON summary of the same registry.
    let (status, content_type, body) = get_raw(&server, "sys/metrics", root, None).await;
    assert_eq!(
        (status, content_type.as_str()),
        (200, "application/json"),
        "{body}"
    );
    let json: Value = serde_json::from_str(&body).unwrap();
    for key in ["Timestamp", "Gauges", "Points", "Counters", "Samples"] {
        assert!(json.get(key).is_some(), "{key} missing: {body}");
    }
    let health = json["Counters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["Name"] == "warden.http.requests.total" && c["Labels"]["route"] == "sys/health")
        .unwrap_or_else(|| panic!("no health counter: {body}"));
    assert_eq!(health["Labels"]["code"], "200");
    assert!(health["Count"].as_f64().unwrap() >= 1.0);
    assert!(
        json["Samples"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["Name"] == "warden.http.request.duration.seconds"),
        "{body}"
    );

    // The Accept header may ask for Prometheus, as Vault's FormatFromRequest allows.
    let (status, content_type, body) = get_raw(
        &server,
        "sys/metrics",
        root,
        Some("application/openmetrics-text"),
    )
    .await;
    assert_eq!(status, 200);
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    assert!(body.contains("# TYPE warden_http_requests_total counter"));

    let (status, content_type, body) = get_raw(&server, "sys/metrics?format=xml", root, None).await;
    assert_eq!(
        (status, content_type.as_str(), body.as_str()),
        (400, "text/plain", "metric response format \"xml\" unknown")
    );
}

#[tokio::test]
async fn prometheus_retention_time_zero_turns_prometheus_off() {
    let mut config = Config::dev("127.0.0.1:0");
    let parsed = Config::parse_str(
        "telemetry {\n  prometheus_retention_time = \"0s\"\n  statsd_address = \"x:1\"\n}\nlistener \"tcp\" {\n  address = \"127.0.0.1:0\"\n  tls_disable = true\n}\nstorage \"inmem\" {}\n",
        warden_server::config::Format::Hcl,
    )
    .unwrap();
    assert!(!parsed.telemetry.prometheus_enabled);
    assert!(
        parsed
            .warnings
            .iter()
            .any(|w| w.contains("telemetry.statsd_address is not supported")),
        "{:?}",
        parsed.warnings
    );
    config.telemetry = parsed.telemetry;
    let server = TestServer::dev_with(config).await.unwrap();
    let root = server.root_token.clone();
    let (status, content_type, body) = get_raw(
        &server,
        "sys/metrics?format=prometheus",
        root.as_deref(),
        None,
    )
    .await;
    assert_eq!(
        (status, content_type.as_str(), body.as_str()),
        (400, "text/plain", "prometheus is not enabled")
    );
    assert_eq!(
        get_raw(&server, "sys/metrics", root.as_deref(), None)
            .await
            .0,
        200
    );
}

#[tokio::test]
async fn a_listener_may_serve_metrics_without_a_token() {
    let text = "listener \"tcp\" {\n  address = \"127.0.0.1:0\"\n  tls_disable = true\n  telemetry {\n    unauthenticated_metrics_access = true\n  }\n}\nstorage \"inmem\" {}\n";
    let parsed = Config::parse_str(text, warden_server::config::Format::Hcl).unwrap();
    assert!(parsed.listeners[0].unauthenticated_metrics_access);
    assert!(parsed.warnings.is_empty(), "{:?}", parsed.warnings);
    let server = TestServer::dev_with(parsed).await.unwrap();
    let (status, _, body) = get_raw(&server, "sys/metrics?format=prometheus", None, None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        sample(&body, "warden_core_unsealed", &[]),
        Some(1.0),
        "{body}"
    );
    // Other paths still need a token.
    assert_eq!(get_raw(&server, "sys/mounts", None, None).await.0, 403);
}

#[tokio::test]
async fn logins_denials_reviews_and_tokens_are_counted() {
    let (kube, reviewer) = KubeStandIn::with_reviewer().await.unwrap();
    kube.create_service_account("default", "default").unwrap();

    let mut config = Config::dev("127.0.0.1:0");
    config.telemetry.usage_gauge_period = Duration::from_millis(200);
    let server = TestServer::dev_with(config).await.unwrap();
    post(
        &server,
        "sys/auth/k8s-metrics",
        json!({ "type": "kubernetes" }),
    )
    .await;
    post(
        &server,
        "auth/k8s-metrics/config",
        json!({ "kubernetes_host": kube.url(), "kubernetes_ca_cert": kube.ca_pem(), "token_reviewer_jwt": reviewer }),
    )
    .await;
    post(
        &server,
        "auth/k8s-metrics/role/app",
        json!({ "bound_service_account_names": "app", "bound_service_account_namespaces": "apps", "audience": "vault" }),
    )
    .await;
    let login = |mount: &'static str, jwt: String| {
        let server = &server;
        async move {
            server
                .request_with_token(
                    "POST",
                    &format!("auth/{mount}/login"),
                    Some(json!({ "role": "app", "jwt": jwt })),
                    None,
                )
                .await
                .status
        }
    };
    let app = kube
        .mint(&TokenRequest::new("apps", "app").audience("vault"))
        .unwrap();
    assert_eq!(login("k8s-metrics", app.clone()).await, 200);
    let wrong_aud = kube
        .mint(&TokenRequest::new("apps", "app").audience("other"))
        .unwrap();
    assert_eq!(login("k8s-metrics", wrong_aud).await, 403);
    // A reviewer without system:auth-delegator: the TokenReview answers 403.
    kube.create_service_account("default", "weak").unwrap();
    let weak = kube.mint(&TokenRequest::new("default", "weak")).unwrap();
    post(
        &server,
        "auth/k8s-metrics/config",
        json!({ "kubernetes_host": kube.url(), "kubernetes_ca_cert": kube.ca_pem(), "token_reviewer_jwt": weak }),
    )
    .await;
    assert_eq!(login("k8s-metrics", app.clone()).await, 403);
    // The apiserver is gone.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let host = format!("https://{}", closed.local_addr().unwrap());
    drop(closed);
    post(
        &server,
        "auth/k8s-metrics/config",
        json!({ "kubernetes_host": host, "kubernetes_ca_cert": kube.ca_pem(), "token_reviewer_jwt": reviewer }),
    )
    .await;
    assert_eq!(login("k8s-metrics", app).await, 403);

    // jwt against the stand-in's JWKS: one config-time fetch, one good and one bad login.
    post(&server, "sys/auth/jwt-metrics", json!({ "type": "jwt" })).await;
    let jwks = format!("{}/openid/v1/jwks", kube.url());
    post(
        &server,
        "auth/jwt-metrics/config",
        json!({ "jwks_url": jwks, "jwks_ca_pem": kube.ca_pem() }),
    )
    .await;
    post(
        &server,
        "auth/jwt-metrics/role/app",
        json!({ "role_type": "jwt", "bound_audiences": "vault", "user_claim": "sub", "bound_subject": "system:serviceaccount:default:default" }),
    )
    .await;
    let good = kube
        .mint(&TokenRequest::new("default", "default").audience("vault"))
        .unwrap();
    assert_eq!(login("jwt-metrics", good).await, 200);
    let stranger = kube
        .mint(&TokenRequest::new("apps", "app").audience("vault"))
        .unwrap();
    assert_eq!(login("jwt-metrics", stranger).await, 400);

    let text = prometheus(&server).await;
    let k8s = ("mount", "auth/k8s-metrics/");
    let logins = |outcome| sample(&text, "warden_logins_total", &[k8s, ("outcome", outcome)]);
    assert_eq!(logins("success"), Some(1.0), "{text}");
    assert_eq!(logins("denied"), Some(3.0), "{text}");
    let denial = |cause| {
        sample(
            &text,
            "warden_login_denials_total",
            &[k8s, ("cause", cause)],
        )
    };
    assert_eq!(denial("audience_mismatch"), Some(1.0), "{text}");
    assert_eq!(denial("reviewer_lacks_auth_delegator"), Some(1.0), "{text}");
    assert_eq!(denial("apiserver_unreachable"), Some(1.0), "{text}");
    let reviews = |result| {
        sample(
            &text,
            "warden_kubernetes_token_reviews_total",
            &[k8s, ("result", result)],
        )
    };
    assert_eq!(reviews("authenticated"), Some(1.0), "{text}");
    assert_eq!(reviews("forbidden"), Some(1.0), "{text}");
    assert_eq!(reviews("unreachable"), Some(1.0), "{text}");
    // The audience is checked locally first, so that login made no TokenReview.
    assert_eq!(reviews("rejected"), None, "{text}");
    assert_eq!(
        sample(
            &text,
            "warden_kubernetes_token_review_duration_seconds_count",
            &[k8s]
        ),
        Some(3.0),
        "{text}"
    );

    let jwt = ("mount", "auth/jwt-metrics/");
    assert_eq!(
        sample(&text, "warden_logins_total", &[jwt, ("outcome", "success")]),
        Some(1.0)
    );
    assert_eq!(
        sample(&text, "warden_logins_total", &[jwt, ("outcome", "denied")]),
        Some(1.0)
    );
    assert_eq!(
        sample(
            &text,
            "warden_login_denials_total",
            &[jwt, ("cause", "bound_subject_mismatch")]
        ),
        Some(1.0),
        "{text}"
    );
    let refreshes = sample(
        &text,
        "warden_jwt_jwks_refreshes_total",
        &[("url", &jwks), ("reason", "config"), ("outcome", "ok")],
    );
    assert!(refreshes.is_some_and(|n| n >= 1.0), "{text}");

    // Requests by route: the mount path, never the client's path.
    let route = |route| {
        sample(
            &text,
            "warden_http_requests_total",
            &[("method", "POST"), ("route", route), ("code", "200")],
        )
    };
    assert_eq!(route("auth/k8s-metrics/"), Some(1.0), "{text}");
    assert!(!text.contains("route=\"auth/k8s-metrics/login\""), "{text}");
    assert!(
        sample(
            &text,
            "warden_http_request_duration_seconds_count",
            &[("route", "auth/jwt-metrics/")]
        )
        .is_some(),
        "{text}"
    );
    assert!(
        sample(
            &text,
            "warden_tokens_created_total",
            &[("token_type", "service")]
        )
        .is_some_and(|n| n >= 2.0)
    );
    assert!(
        sample(
            &text,
            "warden_storage_operation_duration_seconds_count",
            &[("operation", "transaction")]
        )
        .is_some_and(|n| n >= 2.0),
        "{text}"
    );
    for secret in [reviewer.as_str(), "eyJ"] {
        assert!(!text.contains(secret), "a credential in the metrics");
    }

    // Live tokens: root and the two login tokens, counted by the usage gauge task.
    let mut live = None;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        live = sample(&prometheus(&server).await, "warden_tokens_live", &[]);
        if live == Some(3.0) {
            break;
        }
    }
    assert_eq!(live, Some(3.0));
    let leases = sample(&prometheus(&server).await, "warden_leases_live", &[]);
    assert_eq!(
        leases,
        Some(2.0),
        "the two login tokens have leases; root has none"
    );
}
