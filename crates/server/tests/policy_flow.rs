//! Tokens meaning something: a policy, a token carrying it, allowed and denied reads, the
//! default policy's paths, cubbyholes and response wrapping.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers fail loudly"
)]

use serde_json::{Value, json};
use warden_testkit::TestServer;

const APP_POLICY: &str = r#"
path "auth/token/create" {
  capabilities = ["update"]
}
path "secret/data/app/*" {
  capabilities = ["read"]
}
path "secret/metadata/app/*"
{
  capabilities = ["list"]
}
"#;

async fn token_with(server: &TestServer, policies: Value) -> String {
    let resp = server
        .request(
            "POST",
            "auth/token/create",
            Some(json!({ "policies": policies })),
        )
        .await;
    assert_eq!(resp.status, 200, "{}", resp.text);
    resp.body["auth"]["client_token"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn a_pod_style_token_reads_what_its_policy_allows_and_nothing_else() {
    let server = TestServer::dev().await.unwrap();
    let put = server
        .request(
            "PUT",
            "sys/policies/acl/app",
            Some(json!({ "policy": APP_POLICY })),
        )
        .await;
    assert_eq!(put.status, 204, "{}", put.text);
    for (path, value) in [("app/db", "s3cr3t"), ("other/db", "hidden")] {
        let write = server
            .request(
                "PUT",
                &format!("secret/data/{path}"),
                Some(json!({ "data": { "password": value } })),
            )
            .await;
        assert_eq!(write.status, 200, "{}", write.text);
    }
    let token = token_with(&server, json!(["app"])).await;

    let allowed = server
        .request_with_token("GET", "secret/data/app/db", None, Some(&token))
        .await;
    assert_eq!(allowed.status, 200, "{}", allowed.text);
    assert_eq!(allowed.body["data"]["data"]["password"], "s3cr3t");

    let forbidden = server
        .request_with_token("GET", "secret/data/other/db", None, Some(&token))
        .await;
    assert_eq!(forbidden.status, 403);
    assert_eq!(
        forbidden.errors(),
        ["1 error occurred:\n\t* permission denied\n\n"]
    );
    let write = server
        .request_with_token(
            "PUT",
            "secret/data/app/db",
            Some(json!({ "data": { "x": "y" } })),
            Some(&token),
        )
        .await;
    assert_eq!(write.status, 403, "read-only policy must not write");
    let listed = server
        .request_with_token("LIST", "secret/metadata/app", None, Some(&token))
        .await;
    assert_eq!(listed.status, 200, "{}", listed.text);
    assert_eq!(listed.body["data"]["keys"], json!(["db"]));

    // The default policy: lookup-self and capabilities-self work, sys/mounts does not.
    let lookup = server
        .request_with_token("GET", "auth/token/lookup-self", None, Some(&token))
        .await;
    assert_eq!(lookup.status, 200);
    assert_eq!(lookup.body["data"]["policies"], json!(["app", "default"]));
    let caps = server
        .request_with_token(
            "POST",
            "sys/capabilities-self",
            Some(json!({ "paths": ["secret/data/app/db", "secret/data/other/db"] })),
            Some(&token),
        )
        .await;
    assert_eq!(caps.status, 200, "{}", caps.text);
    assert_eq!(caps.body["data"]["secret/data/app/db"], json!(["read"]));
    assert_eq!(caps.body["data"]["secret/data/other/db"], json!(["deny"]));
    let mounts = server
        .request_with_token("GET", "sys/mounts", None, Some(&token))
        .await;
    assert_eq!(mounts.status, 403);

    // The KV preflight sees the mount because the policy grants something under it.
    let preflight = server
        .request_with_token(
            "GET",
            "sys/internal/ui/mounts/secret/app/db",
            None,
            Some(&token),
        )
        .await;
    assert_eq!(preflight.status, 200, "{}", preflight.text);
    assert_eq!(preflight.body["data"]["options"]["version"], "2");

    // A non-root token cannot mint a token with more than it has.
    let wider = server
        .request_with_token(
            "POST",
            "auth/token/create",
            Some(json!({ "policies": ["admin"] })),
            Some(&token),
        )
        .await;
    assert_eq!(wider.status, 400);
    assert_eq!(wider.errors(), ["child policies must be subset of parent"]);
}

#[tokio::test]
async fn cubbyholes_are_private_to_each_token() {
    let server = TestServer::dev().await.unwrap();
    let alice = token_with(&server, json!(["default"])).await;
    let bob = token_with(&server, json!(["default"])).await;
    let write = server
        .request_with_token(
            "PUT",
            "cubbyhole/note",
            Some(json!({ "text": "alice's" })),
            Some(&alice),
        )
        .await;
    assert_eq!(write.status, 204, "{}", write.text);
    let own = server
        .request_with_token("GET", "cubbyhole/note", None, Some(&alice))
        .await;
    assert_eq!(own.status, 200);
    assert_eq!(own.body["data"]["text"], "alice's");
    let other = server
        .request_with_token("GET", "cubbyhole/note", None, Some(&bob))
        .await;
    assert_eq!(other.status, 404);
    let listed = server
        .request_with_token("LIST", "cubbyhole", None, Some(&alice))
        .await;
    assert_eq!(listed.body["data"]["keys"], json!(["note"]));

    // Revoking the token deletes its cubbyhole with it.
    server
        .request("POST", "auth/token/revoke", Some(json!({ "token": alice })))
        .await;
    let alice_again = token_with(&server, json!(["default"])).await;
    let fresh = server
        .request_with_token("GET", "cubbyhole/note", None, Some(&alice_again))
        .await;
    assert_eq!(fresh.status, 404);
}

async fn wrapped(
    server: &TestServer,
    method: &str,
    path: &str,
    body: Option<Value>,
    ttl: &str,
) -> Value {
    let client = reqwest::Client::new();
    let mut builder = client
        .request(
            reqwest::Method::from_bytes(method.as_bytes()).unwrap(),
            format!("{}/v1/{path}", server.url()),
        )
        .header("X-Vault-Token", server.root_token.clone().unwrap())
        .header("X-Vault-Wrap-TTL", ttl);
    if let Some(body) = body {
        builder = builder.json(&body);
    }
    let resp = builder.send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    resp.json().await.unwrap()
}

#[tokio::test]
async fn responses_wrap_and_unwrap_once() {
    let server = TestServer::dev().await.unwrap();
    server
        .request(
            "PUT",
            "secret/data/app",
            Some(json!({ "data": { "k": "v" } })),
        )
        .await;
    let body = wrapped(&server, "GET", "secret/data/app", None, "5m").await;
    assert_eq!(body["request_id"], "");
    assert_eq!(body["data"], Value::Null);
    let info = &body["wrap_info"];
    assert_eq!(info["ttl"], 300);
    assert_eq!(info["creation_path"], "secret/data/app");
    assert!(info["creation_time"].as_str().unwrap().ends_with('Z'));
    let wrapping_token = info["token"].as_str().unwrap().to_owned();

    let lookup = server
        .request_with_token(
            "POST",
            "sys/wrapping/lookup",
            Some(json!({ "token": wrapping_token })),
            None,
        )
        .await;
    assert_eq!(lookup.status, 200, "{}", lookup.text);
    assert_eq!(lookup.body["data"]["creation_path"], "secret/data/app");
    assert_eq!(lookup.body["data"]["creation_ttl"], 300);

    let unwrapped = server
        .request_with_token("POST", "sys/wrapping/unwrap", None, Some(&wrapping_token))
        .await;
    assert_eq!(unwrapped.status, 200, "{}", unwrapped.text);
    assert_eq!(unwrapped.body["data"]["data"], json!({ "k": "v" }));
    let again = server
        .request_with_token("POST", "sys/wrapping/unwrap", None, Some(&wrapping_token))
        .await;
    assert_eq!(again.status, 403, "a wrapping token works once");

    // sys/wrapping/wrap wraps arbitrary data; unwrapping by body token works too.
    let body = wrapped(
        &server,
        "POST",
        "sys/wrapping/wrap",
        Some(json!({ "hello": "world" })),
        "60",
    )
    .await;
    let token = body["wrap_info"]["token"].as_str().unwrap().to_owned();
    let unwrapped = server
        .request(
            "POST",
            "sys/wrapping/unwrap",
            Some(json!({ "token": token })),
        )
        .await;
    assert_eq!(unwrapped.status, 200, "{}", unwrapped.text);
    assert_eq!(unwrapped.body["data"], json!({ "hello": "world" }));
    let missing_ttl = server
        .request("POST", "sys/wrapping/wrap", Some(json!({ "a": "b" })))
        .await;
    assert_eq!(missing_ttl.status, 400);
    assert_eq!(
        missing_ttl.errors(),
        ["endpoint requires response wrapping to be used"]
    );
    let invalid = server
        .request(
            "POST",
            "sys/wrapping/unwrap",
            Some(json!({ "token": "hvs.nope" })),
        )
        .await;
    assert_eq!(invalid.status, 400);
    assert_eq!(
        invalid.errors(),
        ["wrapping token is not valid or does not exist"]
    );

    // A wrapped token creation carries the wrapped token's accessor.
    let body = wrapped(
        &server,
        "POST",
        "auth/token/create",
        Some(json!({ "policies": ["default"] })),
        "2m",
    )
    .await;
    assert!(
        !body["wrap_info"]["wrapped_accessor"]
            .as_str()
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn token_leases_are_visible_through_sys_leases() {
    let server = TestServer::dev().await.unwrap();
    let resp = server
        .request(
            "POST",
            "auth/token/create",
            Some(json!({ "policies": ["default"], "ttl": "1h" })),
        )
        .await;
    let token = resp.body["auth"]["client_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let listed = server
        .request("LIST", "sys/leases/lookup/auth/token/create", None)
        .await;
    assert_eq!(listed.status, 200, "{}", listed.text);
    let lease_key = listed.body["data"]["keys"][0].as_str().unwrap().to_owned();
    let lease_id = format!("auth/token/create/{lease_key}");
    let lookup = server
        .request(
            "POST",
            "sys/leases/lookup",
            Some(json!({ "lease_id": lease_id })),
        )
        .await;
    assert_eq!(lookup.status, 200, "{}", lookup.text);
    assert_eq!(lookup.body["data"]["id"], lease_id);
    assert!(lookup.body["data"]["ttl"].as_u64().unwrap() > 3500);
    let renew = server
        .request(
            "POST",
            "sys/leases/renew",
            Some(json!({ "lease_id": lease_id })),
        )
        .await;
    assert_eq!(
        renew.errors(),
        ["tokens cannot be renewed through this endpoint"]
    );
    let revoke = server
        .request("POST", "sys/leases/revoke-prefix/auth/token/create", None)
        .await;
    assert_eq!(revoke.status, 204, "{}", revoke.text);
    let gone = server
        .request_with_token("GET", "auth/token/lookup-self", None, Some(&token))
        .await;
    assert_eq!(gone.status, 403);
    let root_still = server.request("GET", "auth/token/lookup-self", None).await;
    assert_eq!(
        root_still.status, 200,
        "the root token has no lease and survives"
    );
}
