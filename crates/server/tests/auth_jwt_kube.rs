//! The `jwt` auth method with remote keys, against the Kubernetes stand-in: OIDC discovery
//! (the seed scenario), PEM keys converted from the JWKS, key rotation and removal without a
//! config write, the refresh rate limit, transport checks, `jwks_pairs`, concurrency.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers fail loudly"
)]

#[path = "support/jwt.rs"]
mod support;

use std::time::Duration;

use serde_json::json;
use support::*;
use warden_testkit::kube::{Alg, Endpoint, Fault, SigningKey, TokenRequest};

#[tokio::test]
async fn seed_scenario_discovery_static_keys_and_rotation() {
    let kube = start_kube().await;
    let server = server().await;
    let resp = post(
        &server,
        "auth/jwt/config",
        json!({"oidc_discovery_url": kube.issuer(), "oidc_discovery_ca_pem": kube.ca_pem()}),
    )
    .await;
    assert_eq!(resp.status, 204, "{}", resp.text);
    seed_role(&server).await;
    let resp = login(&server, "app", &projected(&kube)).await;
    assert_eq!(resp.status, 200, "{}", resp.text);
    assert_eq!(resp.body["auth"]["metadata"], json!({"role": "app"}));
    assert_eq!(resp.body["auth"]["policies"], json!(["app", "default"]));
    let jwks_fetches = kube.count(Endpoint::Jwks);
    for _ in 0..5 {
        assert_eq!(login(&server, "app", &projected(&kube)).await.status, 200);
    }
    assert_eq!(kube.count(Endpoint::Jwks), jwks_fetches, "keys are cached");

    // Rotation: a token signed by a new key is accepted with exactly one extra fetch.
    let old_kid = kube.keys()[0].kid().to_owned();
    kube.add_key(Alg::Rs256).unwrap();
    let resp = login(&server, "app", &projected(&kube)).await;
    assert_eq!(resp.status, 200, "{}", resp.text);
    assert_eq!(kube.count(Endpoint::Jwks), jwks_fetches + 1);
    // Unknown kids do not hammer the endpoint.
    for _ in 0..5 {
        let forged = SigningKey::generate(Alg::Rs256).unwrap();
        let claims = kube
            .claims_for(&TokenRequest::new("default", "default").audience("vault"))
            .unwrap();
        refused(&server, "app", &forged.sign(&claims).unwrap(), 400,
            "error validating token: error verifying token signature: failed to verify id token signature").await;
    }
    assert_eq!(kube.count(Endpoint::Jwks), jwks_fetches + 1);
    let _ = old_kid;

    // The same cluster through its PEM keys (converted from the JWKS).
    let resp = post(
        &server,
        "auth/jwt/config",
        json!({"jwt_validation_pubkeys": kube.pem_keys()}),
    )
    .await;
    assert_eq!(resp.status, 204, "{}", resp.text);
    let resp = login(&server, "app", &projected(&kube)).await;
    assert_eq!(resp.status, 200, "{}", resp.text);
    let wrong_sa = kube.mint(&TokenRequest::new("default", "other").audience("vault"));
    assert!(
        wrong_sa.is_err(),
        "the stand-in only mints for existing service accounts"
    );
    kube.create_service_account("default", "other").unwrap();
    let other = kube
        .mint(&TokenRequest::new("default", "other").audience("vault"))
        .unwrap();
    refused(
        &server,
        "app",
        &other,
        400,
        "error validating token: invalid subject (sub) claim",
    )
    .await;
    let default_aud = kube.mint(&TokenRequest::new("default", "default")).unwrap();
    refused(&server, "app", &default_aud, 400,
        "error validating token: invalid audience (aud) claim: audience claim does not match any expected audience").await;
}

#[tokio::test]
async fn removed_key_stops_verifying_without_a_config_write() {
    let kube = start_kube().await;
    let server = server_with_mount(json!({"jwks_max_age": "1s"})).await;
    let jwks = format!("{}/openid/v1/jwks", kube.url());
    let resp = post(
        &server,
        "auth/jwt/config",
        json!({"jwks_url": jwks, "jwks_ca_pem": kube.ca_pem()}),
    )
    .await;
    assert_eq!(resp.status, 204, "{}", resp.text);
    seed_role(&server).await;
    let old = projected(&kube);
    assert_eq!(login(&server, "app", &old).await.status, 200);
    let old_kid = kube.keys()[0].kid().to_owned();
    kube.add_key(Alg::Rs256).unwrap();
    kube.retire_key(&old_kid).unwrap();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    refused(&server, "app", &old, 400,
        "error validating token: error verifying token signature: failed to verify id token signature").await;
    assert_eq!(login(&server, "app", &projected(&kube)).await.status, 200);
}

#[tokio::test]
async fn discovery_issuer_and_transport_checks() {
    let kube = start_kube().await;
    let other = start_kube().await;
    let server = server().await;
    let cases = [
        json!({"oidc_discovery_url": format!("{}/", kube.issuer()), "oidc_discovery_ca_pem": kube.ca_pem()}),
        json!({"oidc_discovery_url": format!("{}/.well-known/openid-configuration", kube.issuer()), "oidc_discovery_ca_pem": kube.ca_pem()}),
        json!({"oidc_discovery_url": kube.issuer(), "oidc_discovery_ca_pem": other.ca_pem()}),
        json!({"oidc_discovery_url": kube.issuer()}),
        json!({"oidc_discovery_url": kube.issuer().replace("https://", "http://")}),
    ];
    for body in cases {
        let resp = post(&server, "auth/jwt/config", body.clone()).await;
        assert_error(&resp, 400, "error checking oidc discovery URL");
    }
    let jwks = format!("{}/openid/v1/jwks", kube.url());
    let resp = post(
        &server,
        "auth/jwt/config",
        json!({"jwks_url": jwks, "jwks_ca_pem": other.ca_pem()}),
    )
    .await;
    assert_error(&resp, 400, &format!("error checking jwks URL {jwks}"));
    let plain = jwks.replace("https://", "http://");
    let resp = post(&server, "auth/jwt/config", json!({"jwks_url": plain})).await;
    assert_error(&resp, 400, &format!("error checking jwks URL {plain}"));
}

#[tokio::test]
async fn jwks_pairs_chain_two_clusters() {
    let (a, b) = (start_kube().await, start_kube().await);
    let server = server().await;
    let pairs = json!([
        {"jwks_url": format!("{}/openid/v1/jwks", a.url()), "jwks_ca_pem": a.ca_pem()},
        {"jwks_url": format!("{}/openid/v1/jwks", b.url()), "jwks_ca_pem": b.ca_pem()},
    ]);
    let resp = post(&server, "auth/jwt/config", json!({"jwks_pairs": pairs})).await;
    assert_eq!(resp.status, 204, "{}", resp.text);
    let read = server.request("GET", "auth/jwt/config", None).await;
    assert_eq!(read.body["data"]["jwks_pairs"], pairs);
    seed_role(&server).await;
    assert_eq!(login(&server, "app", &projected(&a)).await.status, 200);
    assert_eq!(login(&server, "app", &projected(&b)).await.status, 200);
    let (fa, fb) = (a.count(Endpoint::Jwks), b.count(Endpoint::Jwks));
    assert_eq!(login(&server, "app", &projected(&b)).await.status, 200);
    assert_eq!(
        (a.count(Endpoint::Jwks), b.count(Endpoint::Jwks)),
        (fa, fb),
        "warm caches: no HTTP"
    );

    let claims = a
        .claims_for(&TokenRequest::new("default", "default").audience("vault"))
        .unwrap();
    let key = a.keys()[0].clone();
    let no_kid = key
        .sign_with_header(&json!({"alg": "RS256"}), &claims)
        .unwrap();
    refused(
        &server,
        "app",
        &no_kid,
        400,
        "error validating token: token missing kid header parameter",
    )
    .await;
    let unknown = SigningKey::generate(Alg::Rs256).unwrap();
    refused(&server, "app", &unknown.sign(&claims).unwrap(), 400, &format!(
        "error validating token: error searching for key set with kid {0}: no key found with kid {0} in any JWKS endpoint", unknown.kid())).await;
}

#[tokio::test]
async fn concurrent_jwks_logins() {
    let kube = start_kube().await;
    let server = std::sync::Arc::new(server().await);
    let jwks = format!("{}/openid/v1/jwks", kube.url());
    let resp = post(
        &server,
        "auth/jwt/config",
        json!({"jwks_url": jwks, "jwks_ca_pem": kube.ca_pem()}),
    )
    .await;
    assert_eq!(resp.status, 204, "{}", resp.text);
    seed_role(&server).await;
    let token = projected(&kube);
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let (server, token) = (std::sync::Arc::clone(&server), token.clone());
        tasks.spawn(async move {
            for _ in 0..10 {
                let resp = login(&server, "app", &token).await;
                assert_eq!(resp.status, 200, "{}", resp.text);
            }
        });
    }
    while let Some(result) = tasks.join_next().await {
        result.unwrap();
    }
    assert_eq!(
        kube.count(Endpoint::Jwks),
        1,
        "only the config-write probe fetched"
    );
}

/// A mount configured for the OIDC browser flow (client id and secret) cannot take JWT
/// logins: Vault's `unsupported config type` (vault-plugin-auth-jwt issue #84).
#[tokio::test]
async fn oidc_flow_config_refuses_jwt_logins() {
    let kube = start_kube().await;
    let server = server().await;
    let body = json!({
        "oidc_discovery_url": kube.issuer(), "oidc_discovery_ca_pem": kube.ca_pem(),
        "oidc_client_id": "warden", "oidc_client_secret": "s3cret",
    });
    let resp = post(&server, "auth/jwt/config", body).await;
    assert_eq!(resp.status, 204, "{}", resp.text);
    let read = server.request("GET", "auth/jwt/config", None).await;
    assert_eq!(read.body["data"]["oidc_client_id"], "warden");
    assert!(!read.text.contains("s3cret"));
    seed_role(&server).await;
    refused(
        &server,
        "app",
        &projected(&kube),
        400,
        "error configuring token validator: unsupported config type",
    )
    .await;
}

/// After a restart (seal and unseal) the key source is rebuilt from storage by the first
/// login: discovery is fetched again.
#[tokio::test]
async fn key_source_is_rebuilt_after_unseal() {
    let kube = start_kube().await;
    let server = server().await;
    let body = json!({"oidc_discovery_url": kube.issuer(), "oidc_discovery_ca_pem": kube.ca_pem()});
    assert_eq!(post(&server, "auth/jwt/config", body).await.status, 204);
    seed_role(&server).await;
    assert_eq!(login(&server, "app", &projected(&kube)).await.status, 200);
    let discovery = kube.count(Endpoint::Discovery);
    assert_eq!(server.request("PUT", "sys/seal", None).await.status, 204);
    let key = hex_key(&server);
    let resp = server
        .request_with_token("PUT", "sys/unseal", Some(json!({"key": key})), None)
        .await;
    assert_eq!(resp.status, 200, "{}", resp.text);
    let resp = login(&server, "app", &projected(&kube)).await;
    assert_eq!(resp.status, 200, "{}", resp.text);
    assert_eq!(kube.count(Endpoint::Discovery), discovery + 1);
}

fn hex_key(server: &warden_testkit::TestServer) -> String {
    server
        .unseal_key
        .clone()
        .unwrap()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Two clusters' PEM keys in one mount: tokens of either verify.
#[tokio::test]
async fn pem_keys_of_two_clusters_in_one_mount() {
    let (a, b) = (start_kube().await, start_kube().await);
    b.add_key(Alg::Es256).unwrap();
    let server = server().await;
    let mut keys = a.pem_keys();
    keys.extend(b.pem_keys());
    let resp = post(
        &server,
        "auth/jwt/config",
        json!({"jwt_validation_pubkeys": keys}),
    )
    .await;
    assert_eq!(resp.status, 204, "{}", resp.text);
    seed_role(&server).await;
    assert_eq!(login(&server, "app", &projected(&a)).await.status, 200);
    assert_eq!(login(&server, "app", &projected(&b)).await.status, 200);
    let es = b
        .mint(
            &TokenRequest::new("default", "default")
                .audience("vault")
                .alg(Alg::Es256),
        )
        .unwrap();
    assert_eq!(login(&server, "app", &es).await.status, 200);
}

/// A failing JWKS endpoint: cached keys keep working, a new kid fails closed with the fetch
/// error, and the endpoint is not asked again within the refresh interval.
#[tokio::test]
async fn jwks_endpoint_failure_keeps_cached_keys() {
    let kube = start_kube().await;
    let server = server().await;
    let jwks = format!("{}/openid/v1/jwks", kube.url());
    let resp = post(
        &server,
        "auth/jwt/config",
        json!({"jwks_url": jwks, "jwks_ca_pem": kube.ca_pem()}),
    )
    .await;
    assert_eq!(resp.status, 204, "{}", resp.text);
    seed_role(&server).await;
    let old = projected(&kube);
    kube.set_fault(Endpoint::Jwks, Fault::Status(500));
    kube.add_key(Alg::Rs256).unwrap();
    let new = projected(&kube);
    let before = side_effects(&server).await;
    let resp = login(&server, "app", &new).await;
    assert_eq!(resp.status, 400, "{}", resp.text);
    let message = &resp.errors()[0];
    assert!(
        message.starts_with("error validating token: error verifying token signature: fetching keys oidc: get keys failed: "),
        "{message}"
    );
    assert_eq!(side_effects(&server).await, before);
    let fetches = kube.count(Endpoint::Jwks);
    assert_eq!(login(&server, "app", &old).await.status, 200);
    let _ = login(&server, "app", &new).await;
    assert_eq!(kube.count(Endpoint::Jwks), fetches, "rate-limited");
}
