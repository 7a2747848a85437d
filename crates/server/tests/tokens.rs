//! The token store over HTTP: create, lookup, renew, revoke, accessors, batch tokens,
//! expiry, use counts, and the shapes clients parse.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers fail loudly"
)]

use std::time::Duration;

use serde_json::{Value, json};
use warden_testkit::TestServer;

async fn create(server: &TestServer, body: Value) -> Value {
    let resp = server
        .request("POST", "auth/token/create", Some(body))
        .await;
    assert_eq!(resp.status, 200, "{}", resp.text);
    resp.body
}

fn token_of(body: &Value) -> String {
    body["auth"]["client_token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn create_returns_vaults_auth_block_and_lookup_shows_the_token() {
    let server = TestServer::dev().await.unwrap();
    let body = create(&server, json!({ "policies": ["app"], "ttl": "1h", "display_name": "ci job", "meta": { "team": "a" } })).await;
    let auth = &body["auth"];
    for key in [
        "client_token",
        "accessor",
        "policies",
        "token_policies",
        "metadata",
        "lease_duration",
        "renewable",
        "entity_id",
        "token_type",
        "orphan",
        "num_uses",
    ] {
        assert!(auth.get(key).is_some(), "auth lacks {key}: {body}");
    }
    assert!(auth["client_token"].as_str().unwrap().starts_with("hvs."));
    assert_eq!(auth["policies"], json!(["app", "default"]));
    assert_eq!(auth["lease_duration"], 3600);
    assert_eq!(auth["renewable"], true);
    assert_eq!(auth["token_type"], "service");
    assert_eq!(auth["orphan"], false);
    assert_eq!(body["warnings"], json!(["Policy \"app\" does not exist"]));
    for key in [
        "request_id",
        "lease_id",
        "renewable",
        "lease_duration",
        "data",
        "wrap_info",
        "warnings",
        "auth",
    ] {
        assert!(body.get(key).is_some(), "envelope lacks {key}");
    }

    let token = token_of(&body);
    let lookup = server
        .request_with_token("GET", "auth/token/lookup-self", None, Some(&token))
        .await;
    assert_eq!(lookup.status, 200, "{}", lookup.text);
    let data = &lookup.body["data"];
    assert_eq!(data["id"], token);
    assert_eq!(data["display_name"], "token-ci-job");
    assert_eq!(data["policies"], json!(["app", "default"]));
    assert_eq!(data["path"], "auth/token/create");
    assert_eq!(data["meta"], json!({ "team": "a" }));
    assert_eq!(data["creation_ttl"], 3600);
    assert!(data["ttl"].as_u64().unwrap() <= 3600 && data["ttl"].as_u64().unwrap() > 3590);
    assert!(data["expire_time"].as_str().unwrap().ends_with('Z'));
    assert!(data["issue_time"].is_string());
    assert_eq!(data["renewable"], true);
    assert_eq!(data["orphan"], false);
    assert_eq!(data["type"], "service");

    let by_accessor = server
        .request(
            "POST",
            "auth/token/lookup-accessor",
            Some(json!({ "accessor": auth["accessor"] })),
        )
        .await;
    assert_eq!(by_accessor.status, 200);
    assert_eq!(by_accessor.body["data"]["id"], "");
    let bad = server
        .request(
            "POST",
            "auth/token/lookup",
            Some(json!({ "token": "hvs.nope" })),
        )
        .await;
    assert_eq!(bad.status, 403);
    assert_eq!(bad.errors(), ["bad token"]);
    let bad_accessor = server
        .request(
            "POST",
            "auth/token/lookup-accessor",
            Some(json!({ "accessor": "nope" })),
        )
        .await;
    assert_eq!(bad_accessor.status, 400);
    assert_eq!(bad_accessor.errors(), ["invalid accessor"]);
}

#[tokio::test]
async fn children_die_with_their_parent_unless_orphaned() {
    let server = TestServer::dev().await.unwrap();
    let parent = token_of(&create(&server, json!({ "policies": ["root"] })).await);
    let child = create_with(&server, &parent, json!({})).await;
    let grandchild = create_with(&server, &child, json!({})).await;
    let orphan = {
        let resp = server
            .request_with_token(
                "POST",
                "auth/token/create-orphan",
                Some(json!({})),
                Some(&parent),
            )
            .await;
        assert_eq!(resp.status, 200, "{}", resp.text);
        assert_eq!(resp.body["auth"]["orphan"], true);
        token_of(&resp.body)
    };
    let revoke = server
        .request(
            "POST",
            "auth/token/revoke",
            Some(json!({ "token": parent })),
        )
        .await;
    assert_eq!(revoke.status, 204, "{}", revoke.text);
    for gone in [&parent, &child, &grandchild] {
        let resp = server
            .request_with_token("GET", "auth/token/lookup-self", None, Some(gone))
            .await;
        assert_eq!(resp.status, 403, "a revoked tree member still works");
    }
    let alive = server
        .request_with_token("GET", "auth/token/lookup-self", None, Some(&orphan))
        .await;
    assert_eq!(alive.status, 200);

    // revoke-orphan keeps the children.
    let parent = token_of(&create(&server, json!({ "policies": ["root"] })).await);
    let child = create_with(&server, &parent, json!({})).await;
    let resp = server
        .request(
            "POST",
            "auth/token/revoke-orphan",
            Some(json!({ "token": parent })),
        )
        .await;
    assert_eq!(resp.status, 204, "{}", resp.text);
    let child_lookup = server
        .request_with_token("GET", "auth/token/lookup-self", None, Some(&child))
        .await;
    assert_eq!(child_lookup.status, 200);
    assert_eq!(child_lookup.body["data"]["orphan"], true);
}

async fn create_with(server: &TestServer, parent: &str, body: Value) -> String {
    let resp = server
        .request_with_token("POST", "auth/token/create", Some(body), Some(parent))
        .await;
    assert_eq!(resp.status, 200, "{}", resp.text);
    token_of(&resp.body)
}

#[tokio::test]
async fn renewal_never_passes_the_max_ttl() {
    let server = TestServer::dev().await.unwrap();
    let body = create(
        &server,
        json!({ "policies": ["root"], "ttl": "30m", "explicit_max_ttl": "1h" }),
    )
    .await;
    let token = token_of(&body);
    let renewed = server
        .request_with_token(
            "POST",
            "auth/token/renew-self",
            Some(json!({ "increment": "2h" })),
            Some(&token),
        )
        .await;
    assert_eq!(renewed.status, 200, "{}", renewed.text);
    let ttl = renewed.body["auth"]["lease_duration"].as_u64().unwrap();
    assert!(ttl <= 3600 && ttl > 3590, "{ttl}");
    let warning = renewed.body["warnings"][0].as_str().unwrap();
    assert!(
        warning.starts_with("TTL of \"2h\" exceeded the effective max_ttl of"),
        "{warning}"
    );
    let lookup = server
        .request_with_token("GET", "auth/token/lookup-self", None, Some(&token))
        .await;
    assert!(lookup.body["data"]["last_renewal_time"].is_number());

    let by_accessor = server
        .request(
            "POST",
            "auth/token/renew-accessor",
            Some(json!({ "accessor": body["auth"]["accessor"] })),
        )
        .await;
    assert_eq!(by_accessor.status, 200, "{}", by_accessor.text);
    assert_eq!(by_accessor.body["auth"]["client_token"], "");

    let root = server
        .request("POST", "auth/token/renew-self", Some(json!({})))
        .await;
    assert_eq!(root.status, 400);
    assert_eq!(root.errors(), ["lease is not renewable"]);
    let missing = server
        .request(
            "POST",
            "auth/token/renew",
            Some(json!({ "token": "hvs.nope" })),
        )
        .await;
    assert_eq!(missing.status, 400);
    assert_eq!(missing.errors(), ["token not found"]);
}

#[tokio::test]
async fn short_ttl_tokens_expire_and_are_swept() {
    let server = TestServer::dev().await.unwrap();
    let token = token_of(&create(&server, json!({ "policies": ["root"], "ttl": "1s" })).await);
    let accessor = {
        let resp = server
            .request_with_token("GET", "auth/token/lookup-self", None, Some(&token))
            .await;
        resp.body["data"]["accessor"].as_str().unwrap().to_owned()
    };
    tokio::time::sleep(Duration::from_millis(1300)).await;
    let expired = server
        .request_with_token("GET", "auth/token/lookup-self", None, Some(&token))
        .await;
    assert_eq!(expired.status, 403);
    assert_eq!(
        expired.errors(),
        ["2 errors occurred:\n\t* permission denied\n\t* invalid token\n\n"]
    );
    // The sweep removes it, accessor and all, within a couple of sweep intervals.
    let mut listed = true;
    for _ in 0..40 {
        let accessors = server.request("LIST", "auth/token/accessors", None).await;
        listed = accessors.body["data"]["keys"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a == &json!(accessor));
        if !listed {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(!listed, "expired token's accessor is still listed");
}

#[tokio::test]
async fn use_counts_and_batch_tokens() {
    let server = TestServer::dev().await.unwrap();
    let limited = token_of(&create(&server, json!({ "policies": ["root"], "num_uses": 2 })).await);
    let first = server
        .request_with_token("GET", "auth/token/lookup-self", None, Some(&limited))
        .await;
    assert_eq!(first.status, 200);
    assert_eq!(first.body["data"]["num_uses"], 1);
    let second = server
        .request_with_token("GET", "sys/mounts", None, Some(&limited))
        .await;
    assert_eq!(second.status, 200);
    let third = server
        .request_with_token("GET", "sys/mounts", None, Some(&limited))
        .await;
    assert_eq!(third.status, 403, "a used-up token still works");

    let batch = create(
        &server,
        json!({ "policies": ["default"], "type": "batch", "ttl": "1s" }),
    )
    .await;
    let token = token_of(&batch);
    assert!(token.starts_with("hvb."), "{token}");
    assert_eq!(batch["auth"]["token_type"], "batch");
    assert_eq!(batch["auth"]["accessor"], "");
    let lookup = server
        .request_with_token("GET", "auth/token/lookup-self", None, Some(&token))
        .await;
    assert_eq!(lookup.status, 200, "{}", lookup.text);
    assert_eq!(lookup.body["data"]["type"], "batch");
    let renew = server
        .request_with_token(
            "POST",
            "auth/token/renew-self",
            Some(json!({})),
            Some(&token),
        )
        .await;
    assert_eq!(renew.status, 400);
    assert_eq!(renew.errors(), ["batch tokens cannot be renewed"]);
    let revoke = server
        .request("POST", "auth/token/revoke", Some(json!({ "token": token })))
        .await;
    assert_eq!(revoke.status, 400);
    assert_eq!(revoke.errors(), ["batch tokens cannot be revoked"]);
    let periodic = server
        .request(
            "POST",
            "auth/token/create",
            Some(json!({ "type": "batch", "period": "1h" })),
        )
        .await;
    assert_eq!(periodic.status, 400);
    assert_eq!(
        periodic.errors(),
        ["batch tokens cannot have \"period\" set"]
    );
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let expired = server
        .request_with_token("GET", "auth/token/lookup-self", None, Some(&token))
        .await;
    assert_eq!(
        expired.status, 403,
        "batch tokens are refused after their TTL"
    );
}

#[tokio::test]
async fn create_validation_and_revoke_accessor() {
    let server = TestServer::dev().await.unwrap();
    let cases = [
        (json!({ "ttl": "-1s" }), "ttl must be positive"),
        (
            json!({ "explicit_max_ttl": "-5" }),
            "explicit_max_ttl must be positive",
        ),
        (
            json!({ "num_uses": -1 }),
            "number of uses cannot be negative",
        ),
        (json!({ "type": "weird" }), "invalid 'token_type' value"),
        (
            json!({ "id": "hvs.custom" }),
            "custom token ID cannot have the 'hvs.' prefix",
        ),
        (
            json!({ "id": "a.b" }),
            "custom token ID cannot have a '.' in the value",
        ),
    ];
    for (body, message) in cases {
        let resp = server
            .request("POST", "auth/token/create", Some(body.clone()))
            .await;
        assert_eq!(resp.status, 400, "{body}");
        assert_eq!(resp.errors(), [message], "{body}");
    }
    let custom = create(&server, json!({ "id": "my-token", "policies": ["root"] })).await;
    assert_eq!(token_of(&custom), "my-token");
    assert!(
        custom["warnings"][0]
            .as_str()
            .unwrap()
            .starts_with("Supplying a custom ID")
    );
    let duplicate = server
        .request(
            "POST",
            "auth/token/create",
            Some(json!({ "id": "my-token" })),
        )
        .await;
    assert_eq!(
        duplicate.errors(),
        ["cannot create a token with a duplicate ID"]
    );

    let missing = server
        .request(
            "POST",
            "auth/token/revoke-accessor",
            Some(json!({ "accessor": "nope" })),
        )
        .await;
    assert_eq!(missing.status, 200);
    assert_eq!(
        missing.body["warnings"],
        json!(["No token found with this accessor"])
    );
    let accessor = custom["auth"]["accessor"].clone();
    let revoked = server
        .request(
            "POST",
            "auth/token/revoke-accessor",
            Some(json!({ "accessor": accessor })),
        )
        .await;
    assert_eq!(revoked.status, 204);
    let gone = server
        .request_with_token("GET", "auth/token/lookup-self", None, Some("my-token"))
        .await;
    assert_eq!(gone.status, 403);
}

#[tokio::test]
async fn expiry_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let storage = format!(
        "storage \"embedded\" {{\n  path = {:?}\n}}",
        dir.path().display().to_string()
    );
    let mut server = TestServer::start(TestServer::config_with_storage(&storage).unwrap())
        .await
        .unwrap();
    let init = server
        .request_with_token(
            "PUT",
            "sys/init",
            Some(json!({ "secret_shares": 1, "secret_threshold": 1 })),
            None,
        )
        .await;
    let key = init.body["keys"][0].as_str().unwrap().to_owned();
    server.set_token(init.body["root_token"].as_str().unwrap());
    server
        .request_with_token("PUT", "sys/unseal", Some(json!({ "key": key })), None)
        .await;
    let short = token_of(&create(&server, json!({ "policies": ["root"], "ttl": "2s" })).await);
    let long = token_of(&create(&server, json!({ "policies": ["root"], "ttl": "1h" })).await);
    server.stop().await;
    tokio::time::sleep(Duration::from_millis(2200)).await;

    let mut server = TestServer::start(TestServer::config_with_storage(&storage).unwrap())
        .await
        .unwrap();
    server
        .request_with_token("PUT", "sys/unseal", Some(json!({ "key": key })), None)
        .await;
    let expired = server
        .request_with_token("GET", "auth/token/lookup-self", None, Some(&short))
        .await;
    assert_eq!(expired.status, 403);
    let alive = server
        .request_with_token("GET", "auth/token/lookup-self", None, Some(&long))
        .await;
    assert_eq!(alive.status, 200);
    let accessor = {
        let record = server
            .request_with_token(
                "POST",
                "auth/token/lookup",
                Some(json!({ "token": short })),
                Some(&long),
            )
            .await;
        assert_eq!(record.status, 403);
        record
    };
    drop(accessor);
    server.stop().await;
}

#[tokio::test]
async fn token_roles_shape_the_tokens_created_with_them() {
    let server = TestServer::dev().await.unwrap();
    let none = server.request("LIST", "auth/token/roles", None).await;
    assert_eq!(none.status, 404);
    let write = server
        .request(
            "POST",
            "auth/token/roles/ci",
            Some(json!({ "allowed_policies": ["app", "ci"], "orphan": true, "path_suffix": "jobs", "token_period": "1h" })),
        )
        .await;
    assert_eq!(write.status, 204, "{}", write.text);
    let listed = server.request("LIST", "auth/token/roles", None).await;
    assert_eq!(listed.body["data"]["keys"], json!(["ci"]));
    let read = server.request("GET", "auth/token/roles/ci", None).await;
    assert_eq!(read.body["data"]["allowed_policies"], json!(["app", "ci"]));
    assert_eq!(read.body["data"]["token_period"], 3600);

    let created = server
        .request("POST", "auth/token/create/ci", Some(json!({ "ttl": "1h" })))
        .await;
    assert_eq!(created.status, 200, "{}", created.text);
    assert_eq!(
        created.body["auth"]["policies"],
        json!(["app", "ci", "default"])
    );
    assert_eq!(created.body["auth"]["orphan"], true);
    let token = token_of(&created.body);
    let lookup = server
        .request_with_token("GET", "auth/token/lookup-self", None, Some(&token))
        .await;
    assert_eq!(lookup.body["data"]["path"], "auth/token/create/ci/jobs");
    assert_eq!(lookup.body["data"]["role"], "ci");
    assert_eq!(lookup.body["data"]["period"], 3600);

    let narrower = server
        .request(
            "POST",
            "auth/token/create/ci",
            Some(json!({ "policies": ["ci"] })),
        )
        .await;
    assert_eq!(narrower.body["auth"]["policies"], json!(["ci", "default"]));
    let wider = server
        .request(
            "POST",
            "auth/token/create/ci",
            Some(json!({ "policies": ["admin"] })),
        )
        .await;
    assert_eq!(wider.status, 400);
    assert!(
        wider.errors()[0].starts_with("token policies ("),
        "{}",
        wider.text
    );
    let unknown = server
        .request("POST", "auth/token/create/nope", Some(json!({})))
        .await;
    assert_eq!(unknown.errors(), ["unknown role nope"]);

    assert_eq!(
        server
            .request("DELETE", "auth/token/roles/ci", None)
            .await
            .status,
        204
    );
    assert_eq!(
        server
            .request("LIST", "auth/token/roles", None)
            .await
            .status,
        404
    );
}

/// Token records are cached after a use: every change must still be seen by the next request.
#[tokio::test]
async fn a_used_token_sees_its_renewal_and_its_revocation_at_once() {
    let server = TestServer::dev().await.unwrap();
    let token = token_of(&create(&server, json!({ "policies": ["default"], "ttl": "10m" })).await);
    let lookup = |token: String| {
        let server = &server;
        async move {
            server
                .request_with_token("GET", "auth/token/lookup-self", None, Some(&token))
                .await
        }
    };
    let first = lookup(token.clone()).await;
    assert_eq!(first.status, 200, "{}", first.text);
    assert!(first.body["data"]["last_renewal_time"].is_null());

    let renewed = server
        .request_with_token(
            "POST",
            "auth/token/renew-self",
            Some(json!({ "increment": "20m" })),
            Some(&token),
        )
        .await;
    assert_eq!(renewed.status, 200, "{}", renewed.text);
    let after = lookup(token.clone()).await;
    assert!(
        after.body["data"]["last_renewal_time"].is_number(),
        "{}",
        after.text
    );
    assert!(
        after.body["data"]["ttl"].as_u64().unwrap() > 600,
        "{}",
        after.text
    );

    let revoked = server
        .request_with_token("POST", "auth/token/revoke-self", None, Some(&token))
        .await;
    assert_eq!(revoked.status, 204, "{}", revoked.text);
    let gone = lookup(token).await;
    assert_eq!(
        gone.status, 403,
        "a revoked token still works: {}",
        gone.text
    );
}
