//! Init, unseal, seal and restart over real HTTP, on the embedded (durable) store.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers fail loudly"
)]

use serde_json::{Value, json};
use warden_testkit::TestServer;

fn embedded_config(dir: &std::path::Path) -> warden_server::config::Config {
    let storage = format!(
        "storage \"embedded\" {{\n  path = {:?}\n}}",
        dir.display().to_string()
    );
    TestServer::config_with_storage(&storage).unwrap()
}

async fn unseal_with(server: &TestServer, keys: &[String]) -> Value {
    let mut last = Value::Null;
    for key in keys {
        let resp = server
            .request_with_token("PUT", "sys/unseal", Some(json!({ "key": key })), None)
            .await;
        assert_eq!(resp.status, 200, "{}", resp.text);
        last = resp.body;
    }
    last
}

#[tokio::test]
async fn init_unseal_restart_keeps_mounts_and_data() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = TestServer::start(embedded_config(dir.path()))
        .await
        .unwrap();

    // Uninitialized: health says 501, init says so, everything else is sealed.
    let health = server
        .request_with_token("GET", "sys/health", None, None)
        .await;
    assert_eq!(health.status, 501);
    assert_eq!(health.body["initialized"], false);
    let init = server
        .request_with_token("GET", "sys/init", None, None)
        .await;
    assert_eq!(init.body, json!({ "initialized": false }));
    let sealed = server
        .request_with_token("GET", "sys/mounts", None, Some("x"))
        .await;
    assert_eq!(sealed.status, 503);
    assert_eq!(sealed.errors(), ["Vault is sealed"]);

    let init = server
        .request_with_token(
            "PUT",
            "sys/init",
            Some(json!({ "secret_shares": 5, "secret_threshold": 3 })),
            None,
        )
        .await;
    assert_eq!(init.status, 200, "{}", init.text);
    let keys: Vec<String> = serde_json::from_value(init.body["keys"].clone()).unwrap();
    let keys_base64: Vec<String> =
        serde_json::from_value(init.body["keys_base64"].clone()).unwrap();
    let root = init.body["root_token"].as_str().unwrap().to_owned();
    assert_eq!(keys.len(), 5);
    assert_eq!(keys_base64.len(), 5);
    assert!(keys.iter().all(|k| k.len() == 66), "33-byte shares in hex");
    assert!(root.starts_with("hvs."));
    server.set_token(&root);

    let again = server
        .request_with_token(
            "PUT",
            "sys/init",
            Some(json!({ "secret_shares": 1, "secret_threshold": 1 })),
            None,
        )
        .await;
    assert_eq!(again.status, 400);
    assert_eq!(again.errors(), ["Vault is already initialized"]);

    // Still sealed after init, with t/n reported.
    let status = server
        .request_with_token("GET", "sys/seal-status", None, None)
        .await;
    assert_eq!(status.body["sealed"], true);
    assert_eq!(status.body["t"], 3);
    assert_eq!(status.body["n"], 5);
    assert_eq!(status.body["progress"], 0);
    assert_eq!(server.request("GET", "sys/mounts", None).await.status, 503);

    // Two shares (one hex, one base64) give progress, the third unseals.
    let first = unseal_with(&server, &keys[..1]).await;
    assert_eq!(first["progress"], 1);
    assert_eq!(first["sealed"], true);
    assert!(!first["nonce"].as_str().unwrap().is_empty());
    let second = unseal_with(&server, &keys_base64[1..2]).await;
    assert_eq!(second["progress"], 2);
    let third = unseal_with(&server, &keys[2..3]).await;
    assert_eq!(third["sealed"], false);
    assert_eq!(third["progress"], 0);

    let health = server
        .request_with_token("GET", "sys/health", None, None)
        .await;
    assert_eq!(health.status, 200);
    assert_eq!(health.body["sealed"], false);

    // Mount a KV engine and write through it.
    let enable = server
        .request("POST", "sys/mounts/app", Some(json!({ "type": "kv" })))
        .await;
    assert_eq!(enable.status, 204, "{}", enable.text);
    let write = server
        .request("PUT", "app/config", Some(json!({ "password": "s3cr3t" })))
        .await;
    assert_eq!(write.status, 204, "{}", write.text);

    // Restart on the same directory: sealed again, and the data is back after unsealing.
    server.stop().await;
    let mut server = TestServer::start(embedded_config(dir.path()))
        .await
        .unwrap();
    server.set_token(&root);
    let status = server
        .request_with_token("GET", "sys/seal-status", None, None)
        .await;
    assert_eq!(status.body["initialized"], true);
    assert_eq!(status.body["sealed"], true);
    assert_eq!(server.request("GET", "app/config", None).await.status, 503);
    unseal_with(
        &server,
        &[keys[4].clone(), keys[0].clone(), keys[3].clone()],
    )
    .await;
    let mounts = server.request("GET", "sys/mounts", None).await;
    assert_eq!(mounts.status, 200);
    assert_eq!(mounts.body["data"]["app/"]["type"], "kv");
    let read = server.request("GET", "app/config", None).await;
    assert_eq!(read.status, 200, "{}", read.text);
    assert_eq!(read.body["data"]["password"], "s3cr3t");
    server.stop().await;

    // Nothing readable lies in the store file: every entry went through the barrier.
    let mut plaintext_found = false;
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        plaintext_found |= bytes.windows(6).any(|w| w == b"s3cr3t");
    }
    assert!(!plaintext_found, "a secret was stored in plaintext");
}

#[tokio::test]
async fn wrong_and_bad_unseal_keys_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(embedded_config(dir.path()))
        .await
        .unwrap();
    let unseal = |body: Value| server.request_with_token("PUT", "sys/unseal", Some(body), None);

    let uninit = unseal(json!({ "key": "abcd" })).await;
    assert_eq!(uninit.status, 400);
    assert_eq!(uninit.errors(), ["Vault is not initialized"]);

    let init = server
        .request_with_token(
            "PUT",
            "sys/init",
            Some(json!({ "secret_shares": 3, "secret_threshold": 2 })),
            None,
        )
        .await;
    let keys: Vec<String> = serde_json::from_value(init.body["keys"].clone()).unwrap();

    let missing = unseal(json!({})).await;
    assert_eq!(missing.status, 400);
    assert_eq!(
        missing.errors(),
        ["'key' must be specified in request body as JSON, or 'reset' set to true"]
    );
    let garbage = unseal(json!({ "key": "not hex or base64!" })).await;
    assert_eq!(garbage.status, 400);
    assert_eq!(
        garbage.errors(),
        ["'key' must be a valid hex or base64 string"]
    );

    // The same share twice does not advance progress.
    assert_eq!(unseal(json!({ "key": keys[0] })).await.body["progress"], 1);
    let duplicate = unseal(json!({ "key": keys[0] })).await;
    assert_eq!(duplicate.body["progress"], 1, "{}", duplicate.text);
    assert_eq!(duplicate.body["sealed"], true);

    // A forged share of the right length fails at the threshold, and progress resets.
    let mut forged = hex::decode(&keys[1]).unwrap();
    forged[0] ^= 0xff;
    let wrong = unseal(json!({ "key": hex::encode(&forged) })).await;
    assert_eq!(wrong.status, 400, "{}", wrong.text);
    assert!(wrong.errors()[0].contains("invalid key"), "{}", wrong.text);
    let status = server
        .request_with_token("GET", "sys/seal-status", None, None)
        .await;
    assert_eq!(status.body["progress"], 0);
    assert_eq!(status.body["sealed"], true);

    // Reset clears progress; the real shares still unseal.
    unseal(json!({ "key": keys[2] })).await;
    let reset = unseal(json!({ "reset": true })).await;
    assert_eq!(reset.body["progress"], 0);
    unseal(json!({ "key": keys[2] })).await;
    let done = unseal(json!({ "key": keys[1] })).await;
    assert_eq!(done.body["sealed"], false, "{}", done.text);
    let reset_unsealed = unseal(json!({ "reset": true })).await;
    assert_eq!(reset_unsealed.status, 400);
    assert_eq!(reset_unsealed.errors(), ["vault is unsealed"]);
}

#[tokio::test]
async fn init_validation_uses_vaults_messages() {
    let server =
        TestServer::start(TestServer::config_with_storage("storage \"inmem\" {}").unwrap())
            .await
            .unwrap();
    let cases = [
        (
            json!({ "secret_shares": 0, "secret_threshold": 1 }),
            "shares must be at least one",
        ),
        (
            json!({ "secret_shares": 1, "secret_threshold": 0 }),
            "threshold must be at least one",
        ),
        (
            json!({ "secret_shares": 3, "secret_threshold": 1 }),
            "threshold must be greater than one for multiple shares",
        ),
        (
            json!({ "secret_shares": 256, "secret_threshold": 3 }),
            "shares must be less than 256",
        ),
        (
            json!({ "secret_shares": 3, "secret_threshold": 4 }),
            "threshold cannot be larger than shares",
        ),
    ];
    for (body, message) in cases {
        let resp = server
            .request_with_token("PUT", "sys/init", Some(body.clone()), None)
            .await;
        assert_eq!(resp.status, 400, "{body}");
        // Vault's `Initialize` prefixes the validation message.
        assert_eq!(
            resp.errors(),
            [format!("invalid seal configuration: {message}")],
            "{body}"
        );
    }
}

#[tokio::test]
async fn seal_needs_a_root_token_and_then_everything_is_sealed() {
    let server = TestServer::dev().await.unwrap();
    let anonymous = server
        .request_with_token("PUT", "sys/seal", None, None)
        .await;
    assert_eq!(anonymous.status, 403);
    let seal = server.request("PUT", "sys/seal", None).await;
    assert_eq!(seal.status, 204, "{}", seal.text);
    for path in [
        "sys/mounts",
        "secret/foo",
        "auth/token/lookup-self",
        "sys/leader",
    ] {
        let resp = server.request("GET", path, None).await;
        assert_eq!(resp.status, 503, "{path}");
        assert_eq!(resp.errors(), ["Vault is sealed"], "{path}");
    }
    let health = server.request("GET", "sys/health", None).await;
    assert_eq!(health.status, 503);
    assert_eq!(health.body["sealed"], true);
    let key = hex::encode(server.unseal_key.clone().unwrap());
    let unsealed = server
        .request_with_token("PUT", "sys/unseal", Some(json!({ "key": key })), None)
        .await;
    assert_eq!(unsealed.body["sealed"], false);
    assert_eq!(server.request("GET", "sys/mounts", None).await.status, 200);
}
