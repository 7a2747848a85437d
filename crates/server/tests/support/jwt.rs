//! Helpers shared by the `jwt` auth method tests: a dev server with the method mounted,
//! requests, the side-effect counter, Vault's test claims and role, the stand-in.
#![allow(dead_code, reason = "each test binary uses a subset")]

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};
use warden_testkit::kube::{KubeOptions, KubeStandIn, SigningKey, TokenRequest};
use warden_testkit::{ApiResponse, TestServer};

pub(crate) const ISSUER: &str = "https://team-vault.auth0.com/";
pub(crate) const AUD: &str = "https://vault.plugin.auth.jwt.test";
pub(crate) const SUB: &str = "r3qXcK2bix9eFECzsU3Sbmh0K16fatW6@clients";

pub(crate) fn now() -> i64 {
    i64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    )
    .unwrap()
}

pub(crate) async fn server_with_mount(options: Value) -> TestServer {
    let server = TestServer::dev().await.unwrap();
    let resp = server
        .request(
            "POST",
            "sys/auth/jwt",
            Some(json!({"type": "jwt", "options": options})),
        )
        .await;
    assert_eq!(resp.status, 204, "{}", resp.text);
    server
}

pub(crate) async fn server() -> TestServer {
    server_with_mount(json!({})).await
}

pub(crate) async fn post(server: &TestServer, path: &str, body: Value) -> ApiResponse {
    server.request("POST", path, Some(body)).await
}

#[track_caller]
pub(crate) fn assert_error(resp: &ApiResponse, status: u16, message: &str) {
    assert_eq!(resp.status, status, "{}", resp.text);
    assert_eq!(resp.errors(), vec![message.to_owned()], "{}", resp.text);
}

pub(crate) async fn login(server: &TestServer, role: &str, jwt: &str) -> ApiResponse {
    server
        .request_with_token(
            "POST",
            "auth/jwt/login",
            Some(json!({"role": role, "jwt": jwt})),
            None,
        )
        .await
}

/// Tokens (by accessor) and identity entities in the server.
pub(crate) async fn side_effects(server: &TestServer) -> (usize, usize) {
    let count = |resp: ApiResponse| resp.body["data"]["keys"].as_array().map_or(0, Vec::len);
    let tokens = count(server.request("LIST", "auth/token/accessors", None).await);
    let entities = count(server.request("LIST", "identity/entity/id", None).await);
    (tokens, entities)
}

/// The claims of Vault's `setupLogin`.
pub(crate) fn vault_claims() -> Value {
    json!({
        "iss": ISSUER, "sub": SUB, "aud": [AUD],
        "nbf": now() - 5, "exp": now() + 300, "iat": now() - 5,
        "https://vault/user": "jeff",
        "https://vault/groups": ["foo", "bar"],
        "first_name": "jeff",
        "org": {"primary": "engineering"},
        "color": "green",
        "pnum": 123,
    })
}

/// Vault's `setupBackend` for static keys: `bound_issuer` and one PEM key, and its role.
pub(crate) async fn static_setup(server: &TestServer, key: &SigningKey, role_extra: Value) {
    let resp = post(
        server,
        "auth/jwt/config",
        json!({"bound_issuer": ISSUER, "jwt_validation_pubkeys": [key.public_key_pem()]}),
    )
    .await;
    assert_eq!(resp.status, 204, "{}", resp.text);
    let mut role = json!({
        "role_type": "jwt",
        "bound_subject": SUB,
        "bound_audiences": [AUD, "another_audience"],
        "user_claim": "https://vault/user",
        "groups_claim": "https://vault/groups",
        "policies": "test",
        "period": "3s",
        "ttl": "1s",
        "num_uses": 12,
        "max_ttl": "5s",
        "claim_mappings": {"first_name": "name", "/org/primary": "primary_org"},
    });
    for (k, v) in role_extra.as_object().unwrap() {
        if v.is_null() {
            role.as_object_mut().unwrap().remove(k);
        } else {
            role[k] = v.clone();
        }
    }
    let resp = post(server, "auth/jwt/role/plugin-test", role).await;
    assert_eq!(resp.status, 204, "{}", resp.text);
}

/// One refused login: status, message, and nothing created.
pub(crate) async fn refused(
    server: &TestServer,
    role: &str,
    jwt: &str,
    status: u16,
    message: &str,
) {
    let before = side_effects(server).await;
    let resp = login(server, role, jwt).await;
    assert_error(&resp, status, message);
    assert_eq!(
        side_effects(server).await,
        before,
        "no token or entity after: {message}"
    );
}

pub(crate) async fn start_kube() -> KubeStandIn {
    let kube = KubeStandIn::start(KubeOptions::default()).await.unwrap();
    kube.create_service_account("default", "default").unwrap();
    kube
}

pub(crate) async fn seed_role(server: &TestServer) {
    let resp = post(
        server,
        "auth/jwt/role/app",
        json!({
            "role_type": "jwt", "bound_audiences": "vault", "user_claim": "sub",
            "bound_subject": "system:serviceaccount:default:default", "policies": "app",
        }),
    )
    .await;
    assert_eq!(resp.status, 204, "{}", resp.text);
}

pub(crate) fn projected(kube: &KubeStandIn) -> String {
    kube.mint(&TokenRequest::new("default", "default").audience("vault"))
        .unwrap()
}
