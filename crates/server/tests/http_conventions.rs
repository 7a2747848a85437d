//! Vault's HTTP conventions, black-box against a dev server.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers fail loudly"
)]

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use warden_testkit::TestServer;

#[tokio::test]
async fn health_seal_status_and_leader_have_vaults_fields() {
    let server = TestServer::dev().await.unwrap();
    let health = server
        .request_with_token("GET", "sys/health", None, None)
        .await;
    assert_eq!(health.status, 200);
    for key in [
        "initialized",
        "sealed",
        "standby",
        "performance_standby",
        "replication_performance_mode",
        "replication_dr_mode",
        "server_time_utc",
        "version",
        "cluster_name",
        "cluster_id",
    ] {
        assert!(health.body.get(key).is_some(), "health lacks {key}");
    }
    assert_eq!(health.body["standby"], false);

    let status = server
        .request_with_token("GET", "sys/seal-status", None, None)
        .await;
    assert_eq!(status.body["type"], "shamir");
    assert_eq!(status.body["sealed"], false);
    assert_eq!(status.body["t"], 1);
    assert_eq!(status.body["storage_type"], "inmem");

    let leader = server
        .request_with_token("GET", "sys/leader", None, None)
        .await;
    assert_eq!(leader.status, 200);
    assert_eq!(leader.body["ha_enabled"], false);

    // Query options override the status codes, as load balancers use them.
    let custom = server
        .request_with_token("GET", "sys/health?activecode=299", None, None)
        .await;
    assert_eq!(custom.status, 299);
    let bad = server
        .request_with_token("GET", "sys/health?activecode=abc", None, None)
        .await;
    assert_eq!(bad.status, 400);
    let head = server
        .request_with_token("HEAD", "sys/health", None, None)
        .await;
    assert_eq!(head.status, 200);
    assert!(head.text.is_empty());
}

#[tokio::test]
async fn envelope_status_codes_and_error_bodies() {
    let server = dev_with_kv1().await;

    let write = server
        .request("PUT", "kv1/app", Some(json!({ "user": "a", "pass": "b" })))
        .await;
    assert_eq!(write.status, 204);
    assert!(write.text.is_empty());

    let read = server.request("GET", "kv1/app", None).await;
    assert_eq!(read.status, 200);
    let keys: Vec<&str> = read
        .body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    for key in [
        "request_id",
        "lease_id",
        "renewable",
        "lease_duration",
        "data",
        "wrap_info",
        "warnings",
        "auth",
        "mount_type",
    ] {
        assert!(keys.contains(&key), "envelope lacks {key}: {}", read.text);
    }
    assert_eq!(read.body["data"], json!({ "user": "a", "pass": "b" }));
    assert_eq!(read.body["mount_type"], "kv");
    assert_eq!(read.body["lease_duration"], 2_764_800);

    let missing = server.request("GET", "kv1/nothing", None).await;
    assert_eq!(missing.status, 404);
    assert_eq!(missing.body, json!({ "errors": [] }));

    let no_route = server.request("GET", "nowhere/x", None).await;
    assert_eq!(no_route.status, 404);
    assert_eq!(
        no_route.errors(),
        ["no handler for route \"nowhere/x\". route entry not found."]
    );

    let unsupported = server.request("GET", "sys/no-such-endpoint", None).await;
    assert_eq!(unsupported.status, 404);
    assert_eq!(
        unsupported.errors(),
        ["1 error occurred:\n\t* unsupported path\n\n"]
    );

    let no_token = server
        .request_with_token("GET", "kv1/app", None, None)
        .await;
    assert_eq!(no_token.status, 403);
    assert_eq!(
        no_token.errors(),
        ["2 errors occurred:\n\t* permission denied\n\t* invalid token\n\n"]
    );

    let folder = server
        .request("PUT", "kv1/folder/", Some(json!({ "a": "b" })))
        .await;
    assert_eq!(folder.status, 400);
    assert_eq!(folder.errors(), ["cannot write to a path ending in '/'"]);

    let empty = server.request("PUT", "kv1/empty", Some(json!({}))).await;
    assert_eq!(empty.status, 400);
    assert_eq!(empty.errors(), ["missing data fields"]);

    let method = server.request("BREW", "kv1/app", None).await;
    assert_eq!(method.status, 405);
    assert_eq!(method.body, json!({ "errors": [] }));

    let patch = server
        .request("PATCH", "kv1/app", Some(json!({ "a": 1 })))
        .await;
    assert_eq!(patch.status, 415);
    assert!(
        patch.errors()[0]
            .starts_with("PATCH requires Content-Type of application/merge-patch+json")
    );

    let namespaced = raw_request(
        &server,
        "GET /v1/kv1/app HTTP/1.1\r\nX-Vault-Namespace: team-a\r\n",
    )
    .await;
    assert!(namespaced.starts_with("HTTP/1.1 403"), "{namespaced}");
    assert!(namespaced.contains("namespaces feature not enabled"));
    let root_ns = raw_request(
        &server,
        &format!(
            "GET /v1/kv1/app HTTP/1.1\r\nX-Vault-Namespace: root\r\nX-Vault-Token: {}\r\n",
            server.root_token.clone().unwrap()
        ),
    )
    .await;
    assert!(root_ns.starts_with("HTTP/1.1 200"), "{root_ns}");
    assert!(
        root_ns
            .to_ascii_lowercase()
            .contains("cache-control: no-store")
    );
}

#[tokio::test]
async fn bearer_tokens_work_like_the_vault_header() {
    let server = TestServer::dev().await.unwrap();
    let token = server.root_token.clone().unwrap();
    let response = raw_request(
        &server,
        &format!("GET /v1/auth/token/lookup-self HTTP/1.1\r\nAuthorization: Bearer {token}\r\n"),
    )
    .await;
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains("\"policies\":[\"root\"]"));
}

#[tokio::test]
async fn list_method_and_list_query_agree() {
    let server = dev_with_kv1().await;
    for key in ["b", "a", "dir/x", "dir/y/z"] {
        let resp = server
            .request("PUT", &format!("kv1/{key}"), Some(json!({ "v": key })))
            .await;
        assert_eq!(resp.status, 204);
    }
    let listed = server.request("LIST", "kv1", None).await;
    let queried = server.request("GET", "kv1?list=true", None).await;
    let slashed = server.request("LIST", "kv1/", None).await;
    assert_eq!(listed.status, 200);
    assert_eq!(listed.body["data"], json!({ "keys": ["a", "b", "dir/"] }));
    assert_eq!(listed.body["data"], queried.body["data"]);
    assert_eq!(listed.body["data"], slashed.body["data"]);
    let nested = server.request("LIST", "kv1/dir", None).await;
    assert_eq!(nested.body["data"], json!({ "keys": ["x", "y/"] }));
    let empty = server.request("LIST", "kv1/none", None).await;
    assert_eq!(empty.status, 404);
    assert_eq!(empty.body, json!({ "errors": [] }));
}

#[tokio::test]
async fn mounts_enable_tune_and_disable() {
    let server = TestServer::dev().await.unwrap();
    let enable = server
        .request(
            "POST",
            "sys/mounts/team/kv",
            Some(json!({ "type": "kv", "description": "team secrets", "config": { "default_lease_ttl": "1h", "max_lease_ttl": 7200 } })),
        )
        .await;
    assert_eq!(enable.status, 204, "{}", enable.text);
    let mounts = server.request("GET", "sys/mounts", None).await;
    let entry = &mounts.body["data"]["team/kv/"];
    assert_eq!(entry["type"], "kv");
    assert_eq!(entry["description"], "team secrets");
    assert!(entry["accessor"].as_str().unwrap().starts_with("kv_"));
    assert_eq!(entry["config"]["default_lease_ttl"], 3600);
    // Legacy top-level injection of `data`.
    assert_eq!(mounts.body["team/kv/"], mounts.body["data"]["team/kv/"]);

    let conflict = server
        .request("POST", "sys/mounts/team", Some(json!({ "type": "kv" })))
        .await;
    assert_eq!(conflict.status, 409);
    assert_eq!(conflict.errors(), ["path is already in use at team/kv/"]);
    let protected = server
        .request("POST", "sys/mounts/sys/x", Some(json!({ "type": "kv" })))
        .await;
    assert_eq!(protected.status, 403);
    assert_eq!(protected.errors(), ["cannot mount \"sys/x/\""]);
    let unknown = server
        .request("POST", "sys/mounts/x", Some(json!({ "type": "nope" })))
        .await;
    assert_eq!(unknown.status, 400);
    assert_eq!(unknown.errors(), ["plugin not found in the catalog: nope"]);

    let tune = server
        .request(
            "POST",
            "sys/mounts/team/kv/tune",
            Some(json!({ "default_lease_ttl": "30m", "description": "tuned" })),
        )
        .await;
    assert_eq!(tune.status, 204, "{}", tune.text);
    let tuned = server.request("GET", "sys/mounts/team/kv/tune", None).await;
    assert_eq!(tuned.body["data"]["default_lease_ttl"], 1800);
    assert_eq!(tuned.body["data"]["max_lease_ttl"], 7200);
    assert_eq!(tuned.body["data"]["description"], "tuned");
    let bad_tune = server
        .request(
            "POST",
            "sys/mounts/team/kv/tune",
            Some(json!({ "max_lease_ttl": "10m" })),
        )
        .await;
    assert_eq!(bad_tune.status, 400);

    // The mount's default lease TTL now applies to its reads.
    server
        .request("PUT", "team/kv/x", Some(json!({ "a": "b" })))
        .await;
    let read = server.request("GET", "team/kv/x", None).await;
    assert_eq!(read.body["lease_duration"], 1800);

    let ui = server
        .request("GET", "sys/internal/ui/mounts/team/kv/x", None)
        .await;
    assert_eq!(ui.status, 200, "{}", ui.text);
    assert_eq!(ui.body["data"]["path"], "team/kv/");
    assert_eq!(ui.body["data"]["type"], "kv");
    let ui_missing = server
        .request("GET", "sys/internal/ui/mounts/unknown/x", None)
        .await;
    assert_eq!(ui_missing.status, 403);

    let disable = server.request("DELETE", "sys/mounts/team/kv", None).await;
    assert_eq!(disable.status, 204);
    let gone = server.request("GET", "team/kv/x", None).await;
    assert_eq!(gone.status, 404);
    let again = server.request("DELETE", "sys/mounts/team/kv", None).await;
    assert_eq!(
        again.status, 204,
        "disabling a missing mount succeeds, as in Vault"
    );

    let auth = server.request("GET", "sys/auth", None).await;
    assert_eq!(auth.body["data"]["token/"]["type"], "token");
    assert_eq!(
        auth.body["data"]["token/"]["config"]["token_type"],
        "default-service"
    );
    let no_token_disable = server.request("DELETE", "sys/auth/token", None).await;
    assert_eq!(no_token_disable.status, 400);
}

#[tokio::test]
async fn help_and_unknown_field_warnings() {
    let server = TestServer::dev().await.unwrap();
    let help = server.request("GET", "sys/mounts?help=1", None).await;
    assert_eq!(help.status, 200);
    assert!(
        help.body["help"]
            .as_str()
            .unwrap()
            .contains("mounted secrets engines"),
        "{}",
        help.text
    );
    let tune = server
        .request(
            "POST",
            "sys/mounts/secret/tune",
            Some(json!({ "description": "x", "bogus": 1 })),
        )
        .await;
    // The tune handler answers nothing, so, as in Vault, there is no response to warn in.
    assert_eq!(tune.status, 204);
}

/// A dev server with a KV version 1 mount at `kv1/` (dev mode's `secret/` is version 2).
async fn dev_with_kv1() -> TestServer {
    let server = TestServer::dev().await.unwrap();
    let mounted = server
        .request(
            "POST",
            "sys/mounts/kv1",
            Some(json!({ "type": "kv", "options": { "version": "1" } })),
        )
        .await;
    assert_eq!(mounted.status, 204, "{}", mounted.text);
    server
}

/// Sends a raw HTTP/1.1 request (headers given without the final blank line) and returns
/// the whole response text.
async fn raw_request(server: &TestServer, head: &str) -> String {
    let mut stream = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let request = format!("{head}Host: localhost\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    String::from_utf8_lossy(&response).into_owned()
}

fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

#[tokio::test]
async fn oversized_bodies_get_413_without_being_buffered() {
    let server = TestServer::dev().await.unwrap();
    let token = server.root_token.clone().unwrap();
    let size: usize = 33 * 1024 * 1024;
    let before = rss_kib();
    let mut stream = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let head = format!(
        "PUT /v1/secret/big HTTP/1.1\r\nHost: localhost\r\nX-Vault-Token: {token}\r\nContent-Type: application/json\r\nContent-Length: {size}\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    // Stream the body in small chunks; the server answers before reading it.
    let chunk = vec![b' '; 64 * 1024];
    let mut sent = 0;
    while sent < size {
        if stream.write_all(&chunk).await.is_err() {
            break;
        }
        sent += chunk.len();
        if sent >= 4 * 1024 * 1024 {
            break;
        }
    }
    let mut response = vec![0u8; 4096];
    let read = stream.read(&mut response).await.unwrap();
    let text = String::from_utf8_lossy(&response[..read]).into_owned();
    assert!(text.starts_with("HTTP/1.1 413"), "{text}");
    assert!(text.contains("request body too large"));
    let grown = rss_kib().saturating_sub(before);
    assert!(
        grown < 16 * 1024,
        "RSS grew by {grown} KiB for a rejected 33 MiB body"
    );

    // Without a Content-Length (chunked), the read stops at the limit.
    let client = reqwest::Client::new();
    let body = vec![b' '; size];
    let stream_body = reqwest::Body::from(body);
    let resp = client
        .put(format!("{}/v1/secret/big", server.url()))
        .header("X-Vault-Token", token)
        .header("Transfer-Encoding", "chunked")
        .body(stream_body)
        .send()
        .await;
    if let Ok(resp) = resp {
        assert_eq!(resp.status().as_u16(), 413);
        let body: Value = resp.json().await.unwrap();
        assert!(
            body["errors"][0]
                .as_str()
                .unwrap()
                .contains("request body too large")
        );
    }
}

#[tokio::test]
async fn json_bombs_are_refused() {
    let server = dev_with_kv1().await;
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let resp = server
        .request("PUT", "kv1/deep", Some(json!({ "a": "b" })))
        .await;
    assert_eq!(resp.status, 204);
    let client = reqwest::Client::new();
    let deep_resp = client
        .put(format!("{}/v1/kv1/deep", server.url()))
        .header("X-Vault-Token", server.root_token.clone().unwrap())
        .body(format!("{{\"a\":{deep}}}"))
        .send()
        .await
        .unwrap();
    assert_eq!(deep_resp.status().as_u16(), 400);
    let wide: Vec<u8> = std::iter::repeat_n(b"1,".as_slice(), 20_000)
        .flatten()
        .copied()
        .collect();
    let wide = format!("{{\"a\":[{}1]}}", String::from_utf8(wide).unwrap());
    let wide_resp = client
        .put(format!("{}/v1/kv1/wide", server.url()))
        .header("X-Vault-Token", server.root_token.clone().unwrap())
        .body(wide)
        .send()
        .await
        .unwrap();
    assert_eq!(wide_resp.status().as_u16(), 400);
    let text = wide_resp.text().await.unwrap();
    assert!(
        text.contains("refused JSON input due to high complexity"),
        "{text}"
    );
}
