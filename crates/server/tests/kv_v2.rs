//! KV version 2 over HTTP, black-box against a dev server (whose `secret/` is KV v2, as in
//! Vault), checked against Vault's shapes, messages and status codes.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers fail loudly"
)]

use std::time::Duration;

use serde_json::{Value, json};
use warden_testkit::{ApiResponse, TestServer};

/// Sends a JSON merge patch (`PATCH` with `application/merge-patch+json`).
async fn patch(server: &TestServer, path: &str, body: Value) -> ApiResponse {
    let response = reqwest::Client::new()
        .patch(format!("{}/v1/{path}", server.url()))
        .header("X-Vault-Token", server.root_token.clone().unwrap())
        .header("Content-Type", "application/merge-patch+json")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    ApiResponse { status, body, text }
}

async fn put(server: &TestServer, key: &str, data: Value) -> ApiResponse {
    let resp = server
        .request(
            "PUT",
            &format!("secret/data/{key}"),
            Some(json!({ "data": data })),
        )
        .await;
    assert_eq!(resp.status, 200, "{}", resp.text);
    resp
}

fn is_rfc3339_nano(text: &Value) -> bool {
    let text = text.as_str().unwrap_or("");
    text.len() >= 20 && text.ends_with('Z') && text.as_bytes()[10] == b'T'
}

#[tokio::test]
async fn dev_mode_mounts_version_2() {
    let server = TestServer::dev().await.unwrap();
    let ui = server
        .request("GET", "sys/internal/ui/mounts/secret/foo", None)
        .await;
    assert_eq!(ui.status, 200, "{}", ui.text);
    assert_eq!(ui.body["data"]["path"], "secret/");
    assert_eq!(ui.body["data"]["options"]["version"], "2");
}

#[tokio::test]
async fn versions_are_written_and_read_with_vaults_shapes() {
    let server = TestServer::dev().await.unwrap();
    let first = put(&server, "app", json!({ "user": "a" })).await;
    let data = first.body["data"].as_object().unwrap();
    assert_eq!(
        data.keys().collect::<Vec<_>>(),
        [
            "created_time",
            "custom_metadata",
            "deletion_time",
            "destroyed",
            "version"
        ]
    );
    assert_eq!(first.body["data"]["version"], 1);
    assert_eq!(first.body["data"]["custom_metadata"], Value::Null);
    assert_eq!(first.body["data"]["deletion_time"], "");
    assert_eq!(first.body["data"]["destroyed"], false);
    assert!(is_rfc3339_nano(&first.body["data"]["created_time"]));
    assert_eq!(first.body["lease_duration"], 0);
    assert_eq!(first.body["warnings"], Value::Null);

    let second = put(&server, "app", json!({ "user": "b" })).await;
    assert_eq!(second.body["data"]["version"], 2);

    let latest = server.request("GET", "secret/data/app", None).await;
    assert_eq!(latest.status, 200);
    assert_eq!(latest.body["data"]["data"], json!({ "user": "b" }));
    assert_eq!(latest.body["data"]["metadata"]["version"], 2);
    assert_eq!(latest.body["lease_duration"], 0);
    let v1 = server
        .request("GET", "secret/data/app?version=1", None)
        .await;
    assert_eq!(v1.body["data"]["data"], json!({ "user": "a" }));
    assert_eq!(v1.body["data"]["metadata"]["version"], 1);

    let missing = server.request("GET", "secret/data/nothing", None).await;
    assert_eq!(missing.status, 404);
    assert_eq!(missing.body, json!({ "errors": [] }));
    let no_version = server
        .request("GET", "secret/data/app?version=7", None)
        .await;
    assert_eq!(no_version.status, 404);
    assert_eq!(no_version.body, json!({ "errors": [] }));

    let no_data = server
        .request("PUT", "secret/data/app", Some(json!({ "user": "c" })))
        .await;
    assert_eq!(no_data.status, 400);
    assert_eq!(no_data.errors(), ["no data provided"]);

    let extra = server
        .request(
            "PUT",
            "secret/data/app",
            Some(json!({ "data": { "a": 1 }, "bogus": true })),
        )
        .await;
    assert_eq!(extra.status, 200);
    assert_eq!(
        extra.body["warnings"],
        json!(["Endpoint ignored these unrecognized parameters: [bogus]"])
    );
}

#[tokio::test]
async fn check_and_set_errors_are_vaults() {
    let server = TestServer::dev().await.unwrap();
    let write = |cas: Value, data: Value| {
        let server = &server;
        async move {
            server
                .request(
                    "POST",
                    "secret/data/cas",
                    Some(json!({ "options": { "cas": cas }, "data": data })),
                )
                .await
        }
    };
    assert_eq!(write(json!(0), json!({ "a": 1 })).await.status, 200);
    let again = write(json!(0), json!({ "a": 2 })).await;
    assert_eq!(again.status, 400);
    assert_eq!(
        again.errors(),
        ["check-and-set parameter did not match the current version"]
    );
    assert_eq!(write(json!(1), json!({ "a": 2 })).await.status, 200);
    let bad = write(json!("x"), json!({ "a": 3 })).await;
    assert_eq!(bad.errors(), ["error parsing check-and-set parameter"]);

    let config = server
        .request(
            "POST",
            "secret/config",
            Some(json!({ "cas_required": true })),
        )
        .await;
    assert_eq!(config.status, 204);
    let required = server
        .request(
            "PUT",
            "secret/data/cas",
            Some(json!({ "data": { "a": 3 } })),
        )
        .await;
    assert_eq!(required.status, 400);
    assert_eq!(
        required.errors(),
        ["check-and-set parameter required for this call"]
    );
    let warned = server
        .request(
            "POST",
            "secret/metadata/cas",
            Some(json!({ "cas_required": false })),
        )
        .await;
    assert_eq!(warned.status, 200);
    assert_eq!(
        warned.body["warnings"],
        json!([
            "\"cas_required\" set to false, but is mandated by backend config. This value will be ignored."
        ])
    );
}

#[tokio::test]
async fn delete_undelete_destroy_and_the_deleted_read_body() {
    let server = TestServer::dev().await.unwrap();
    put(&server, "gone", json!({ "a": 1 })).await;
    put(&server, "gone", json!({ "a": 2 })).await;

    let deleted = server.request("DELETE", "secret/data/gone", None).await;
    assert_eq!(deleted.status, 204);
    assert!(deleted.text.is_empty());
    tokio::time::sleep(Duration::from_millis(5)).await;
    let read = server.request("GET", "secret/data/gone", None).await;
    assert_eq!(read.status, 404, "{}", read.text);
    assert_eq!(read.body["data"]["data"], Value::Null);
    assert_eq!(read.body["data"]["metadata"]["version"], 2);
    assert_eq!(read.body["data"]["metadata"]["destroyed"], false);
    assert!(is_rfc3339_nano(
        &read.body["data"]["metadata"]["deletion_time"]
    ));
    assert!(read.body.get("request_id").is_some());

    let undelete = server
        .request(
            "POST",
            "secret/undelete/gone",
            Some(json!({ "versions": [2] })),
        )
        .await;
    assert_eq!(undelete.status, 204);
    let back = server.request("GET", "secret/data/gone", None).await;
    assert_eq!(back.status, 200);
    assert_eq!(back.body["data"]["data"], json!({ "a": 2 }));

    let versions = server
        .request(
            "POST",
            "secret/delete/gone",
            Some(json!({ "versions": [1] })),
        )
        .await;
    assert_eq!(versions.status, 204);
    let meta = server.request("GET", "secret/metadata/gone", None).await;
    assert_ne!(meta.body["data"]["versions"]["1"]["deletion_time"], "");
    assert_eq!(meta.body["data"]["versions"]["2"]["deletion_time"], "");

    let destroy = server
        .request(
            "PUT",
            "secret/destroy/gone",
            Some(json!({ "versions": [2] })),
        )
        .await;
    assert_eq!(destroy.status, 204);
    let destroyed = server.request("GET", "secret/data/gone", None).await;
    assert_eq!(destroyed.status, 404);
    assert_eq!(destroyed.body["data"]["data"], Value::Null);
    assert_eq!(destroyed.body["data"]["metadata"]["destroyed"], true);

    for (path, message) in [
        ("secret/delete/gone", "No version number provided"),
        ("secret/undelete/gone", "No version number provided"),
        ("secret/destroy/gone", "no version number provided"),
    ] {
        let resp = server.request("POST", path, Some(json!({}))).await;
        assert_eq!(resp.status, 400, "{path}");
        assert_eq!(resp.errors(), [message], "{path}");
    }
}

#[tokio::test]
async fn metadata_read_write_patch_and_delete() {
    let server = TestServer::dev().await.unwrap();
    put(&server, "meta", json!({ "a": 1 })).await;
    let written = server
        .request(
            "POST",
            "secret/metadata/meta",
            Some(json!({
                "max_versions": 5,
                "delete_version_after": "3h",
                "custom_metadata": { "owner": "team-a" },
            })),
        )
        .await;
    assert_eq!(written.status, 204, "{}", written.text);
    let read = server.request("GET", "secret/metadata/meta", None).await;
    assert_eq!(read.status, 200);
    let data = &read.body["data"];
    assert_eq!(
        data.as_object().unwrap().keys().collect::<Vec<_>>(),
        [
            "cas_required",
            "created_time",
            "current_version",
            "custom_metadata",
            "delete_version_after",
            "max_versions",
            "oldest_version",
            "updated_time",
            "versions"
        ]
    );
    assert_eq!(data["current_version"], 1);
    assert_eq!(data["oldest_version"], 0);
    assert_eq!(data["max_versions"], 5);
    assert_eq!(data["delete_version_after"], "3h0m0s");
    assert_eq!(data["custom_metadata"], json!({ "owner": "team-a" }));
    assert!(is_rfc3339_nano(&data["updated_time"]));
    assert_eq!(data["versions"]["1"]["destroyed"], false);

    let patched = patch(
        &server,
        "secret/metadata/meta",
        json!({ "custom_metadata": { "owner": null, "env": "prod" }, "max_versions": 7 }),
    )
    .await;
    assert_eq!(patched.status, 204, "{}", patched.text);
    let read = server.request("GET", "secret/metadata/meta", None).await;
    assert_eq!(
        read.body["data"]["custom_metadata"],
        json!({ "env": "prod" })
    );
    assert_eq!(read.body["data"]["max_versions"], 7);
    let data = server.request("GET", "secret/data/meta", None).await;
    assert_eq!(
        data.body["data"]["metadata"]["custom_metadata"],
        json!({ "env": "prod" })
    );

    let invalid = server
        .request(
            "POST",
            "secret/metadata/meta",
            Some(json!({ "custom_metadata": { "empty": "" } })),
        )
        .await;
    assert_eq!(invalid.status, 400);
    assert_eq!(
        invalid.errors(),
        [
            "1 error occurred:\n\t* custom_metadata validation failed: length of value for key \"empty\" is 0 but must be 0 < len(value) <= 512\n\n"
        ]
    );

    let deleted = server.request("DELETE", "secret/metadata/meta", None).await;
    assert_eq!(deleted.status, 204);
    assert_eq!(
        server
            .request("GET", "secret/metadata/meta", None)
            .await
            .status,
        404
    );
    assert_eq!(
        server.request("GET", "secret/data/meta", None).await.status,
        404
    );
}

#[tokio::test]
async fn data_patch_merges_and_needs_an_existing_key() {
    let server = TestServer::dev().await.unwrap();
    let missing = patch(&server, "secret/data/p", json!({ "data": { "a": 1 } })).await;
    assert_eq!(missing.status, 404);
    assert!(missing.text.is_empty(), "{}", missing.text);

    put(&server, "p", json!({ "a": 1, "b": { "c": 2, "d": 3 } })).await;
    let patched = patch(
        &server,
        "secret/data/p",
        json!({ "data": { "a": null, "b": { "d": 4 }, "e": "x" } }),
    )
    .await;
    assert_eq!(patched.status, 200, "{}", patched.text);
    assert_eq!(patched.body["data"]["version"], 2);
    let read = server.request("GET", "secret/data/p", None).await;
    assert_eq!(
        read.body["data"]["data"],
        json!({ "b": { "c": 2, "d": 4 }, "e": "x" })
    );
    let cas = patch(
        &server,
        "secret/data/p",
        json!({ "options": { "cas": 1 }, "data": { "a": 1 } }),
    )
    .await;
    assert_eq!(cas.status, 400);
    assert_eq!(
        cas.errors(),
        ["check-and-set parameter did not match the current version"]
    );
}

#[tokio::test]
async fn max_versions_prunes_old_versions() {
    let server = TestServer::dev().await.unwrap();
    let config = server
        .request("POST", "secret/config", Some(json!({ "max_versions": 2 })))
        .await;
    assert_eq!(config.status, 204);
    let read = server.request("GET", "secret/config", None).await;
    assert_eq!(
        read.body["data"],
        json!({ "cas_required": false, "delete_version_after": "0s", "max_versions": 2 })
    );
    for n in 1..=4 {
        put(&server, "pruned", json!({ "n": n })).await;
    }
    let meta = server.request("GET", "secret/metadata/pruned", None).await;
    assert_eq!(meta.body["data"]["current_version"], 4);
    assert_eq!(meta.body["data"]["oldest_version"], 3);
    assert_eq!(
        meta.body["data"]["versions"]
            .as_object()
            .unwrap()
            .keys()
            .collect::<Vec<_>>(),
        ["3", "4"]
    );
    let old = server
        .request("GET", "secret/data/pruned?version=1", None)
        .await;
    assert_eq!(old.status, 404);
    assert_eq!(old.body, json!({ "errors": [] }));
}

#[tokio::test]
async fn delete_version_after_expires_versions() {
    let server = TestServer::dev().await.unwrap();
    let meta = server
        .request(
            "POST",
            "secret/metadata/short",
            Some(json!({ "delete_version_after": "1s" })),
        )
        .await;
    assert_eq!(meta.status, 204);
    let written = put(&server, "short", json!({ "a": 1 })).await;
    assert!(is_rfc3339_nano(&written.body["data"]["deletion_time"]));
    assert_eq!(
        server
            .request("GET", "secret/data/short", None)
            .await
            .status,
        200
    );
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let expired = server.request("GET", "secret/data/short", None).await;
    assert_eq!(expired.status, 404);
    assert_eq!(expired.body["data"]["data"], Value::Null);
    assert_eq!(expired.body["data"]["metadata"]["version"], 1);
}

#[tokio::test]
async fn subkeys_and_folder_listing() {
    let server = TestServer::dev().await.unwrap();
    put(
        &server,
        "dir/app",
        json!({ "foo": "abc", "bar": { "baz": 1, "qux": { "deep": true } } }),
    )
    .await;
    put(&server, "dir/sub/x", json!({ "a": 1 })).await;
    put(&server, "top", json!({ "a": 1 })).await;

    let subkeys = server.request("GET", "secret/subkeys/dir/app", None).await;
    assert_eq!(subkeys.status, 200);
    assert_eq!(
        subkeys.body["data"]["subkeys"],
        json!({ "foo": null, "bar": { "baz": null, "qux": { "deep": null } } })
    );
    assert_eq!(subkeys.body["data"]["metadata"]["version"], 1);
    let shallow = server
        .request("GET", "secret/subkeys/dir/app?depth=1", None)
        .await;
    assert_eq!(
        shallow.body["data"]["subkeys"],
        json!({ "foo": null, "bar": null })
    );

    let root = server.request("LIST", "secret/metadata", None).await;
    assert_eq!(root.status, 200);
    assert_eq!(root.body["data"], json!({ "keys": ["dir/", "top"] }));
    let dir = server
        .request("GET", "secret/metadata/dir?list=true", None)
        .await;
    assert_eq!(dir.body["data"], json!({ "keys": ["app", "sub/"] }));
    let empty = server.request("LIST", "secret/metadata/none", None).await;
    assert_eq!(empty.status, 404);
    assert_eq!(empty.body, json!({ "errors": [] }));
}

#[tokio::test]
async fn misused_paths_answer_404_with_a_hint() {
    let server = TestServer::dev().await.unwrap();
    let v1_style = server.request("GET", "secret/foo", None).await;
    assert_eq!(v1_style.status, 404);
    assert_eq!(
        v1_style.body["warnings"],
        json!([
            "Invalid path for a versioned K/V secrets engine. See the API docs for the appropriate API endpoints to use. If using the Vault CLI, use 'vault kv get' for this operation."
        ])
    );
    let list = server.request("LIST", "secret/data/dir", None).await;
    assert_eq!(list.status, 404);
    assert!(
        list.body["warnings"][0]
            .as_str()
            .unwrap()
            .contains("'vault kv list'")
    );
    let root = server.request("GET", "secret/data", None).await;
    assert_eq!(root.status, 404);
    assert_eq!(
        root.body["warnings"],
        json!(["Non-listing operations on the root of a K/V v2 mount are not supported."])
    );
}

#[tokio::test]
async fn kv_v2_mounts_by_option_or_type() {
    let server = TestServer::dev().await.unwrap();
    for (path, body) in [
        (
            "sys/mounts/v2opt",
            json!({ "type": "kv", "options": { "version": "2" } }),
        ),
        ("sys/mounts/v2type", json!({ "type": "kv-v2" })),
    ] {
        let mounted = server.request("POST", path, Some(body)).await;
        assert_eq!(mounted.status, 204, "{}", mounted.text);
    }
    for mount in ["v2opt", "v2type"] {
        let written = server
            .request(
                "PUT",
                &format!("{mount}/data/x"),
                Some(json!({ "data": { "a": 1 } })),
            )
            .await;
        assert_eq!(written.status, 200, "{mount}: {}", written.text);
        assert_eq!(written.body["data"]["version"], 1);
    }
}

#[tokio::test]
async fn the_first_write_is_create_and_later_ones_update() {
    let server = TestServer::dev().await.unwrap();
    let policy = r#"
path "secret/data/*" {
  capabilities = ["create", "read"]
}
path "secret/data/both" {
  capabilities = ["create", "update", "patch", "read"]
}
"#;
    let put_policy = server
        .request(
            "PUT",
            "sys/policies/acl/create-only",
            Some(json!({ "policy": policy })),
        )
        .await;
    assert_eq!(put_policy.status, 204, "{}", put_policy.text);
    let created = server
        .request(
            "POST",
            "auth/token/create",
            Some(json!({ "policies": ["create-only"] })),
        )
        .await;
    let token = created.body["auth"]["client_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let write = |path: &'static str| {
        let server = &server;
        let token = token.clone();
        async move {
            server
                .request_with_token(
                    "PUT",
                    path,
                    Some(json!({ "data": { "a": 1 } })),
                    Some(&token),
                )
                .await
        }
    };
    assert_eq!(write("secret/data/once").await.status, 200);
    let second = write("secret/data/once").await;
    assert_eq!(second.status, 403, "{}", second.text);
    assert_eq!(write("secret/data/both").await.status, 200);
    assert_eq!(write("secret/data/both").await.status, 200);
}
