//! Audit devices over HTTP, black-box against a dev server: `sys/audit` enable/list/disable,
//! `sys/audit-hash`, the entries a file device writes (request/response pairs, Vault's
//! schema, nothing secret in clear) and failing closed when the device cannot write.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers fail loudly"
)]

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use serde_json::{Value, json};
use warden_testkit::TestServer;

fn entries(path: &Path) -> Vec<Value> {
    fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

async fn enable(server: &TestServer, name: &str, file: &Path) {
    let body = json!({"type": "file", "options": {"file_path": file.to_str().unwrap()}});
    let resp = server
        .request("PUT", &format!("sys/audit/{name}"), Some(body))
        .await;
    assert_eq!(resp.status, 204, "{}", resp.text);
}

async fn audit_hash(server: &TestServer, device: &str, input: &str) -> String {
    let resp = server
        .request(
            "POST",
            &format!("sys/audit-hash/{device}"),
            Some(json!({"input": input})),
        )
        .await;
    assert_eq!(resp.status, 200, "{}", resp.text);
    assert_eq!(
        resp.body["hash"], resp.body["data"]["hash"],
        "top-level injected"
    );
    resp.body["data"]["hash"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn file_device_writes_hmacd_request_response_pairs() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("audit.log");
    let server = TestServer::dev().await.unwrap();
    let root = server.root_token.clone().unwrap();
    enable(&server, "file", &log).await;

    let secret = "correct-horse-battery-staple";
    let put = json!({"data": {"password": secret, "port": 5432, "tls": true}});
    let resp = server.request("PUT", "secret/data/app", Some(put)).await;
    assert_eq!(resp.status, 200, "{}", resp.text);
    let resp = server.request("GET", "secret/data/app", None).await;
    assert_eq!(resp.status, 200, "{}", resp.text);
    let created = server
        .request(
            "POST",
            "auth/token/create",
            Some(json!({"policies": ["default"]})),
        )
        .await;
    assert_eq!(created.status, 200, "{}", created.text);
    let child = created.body["auth"]["client_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let accessor = created.body["auth"]["accessor"]
        .as_str()
        .unwrap()
        .to_owned();

    let text = fs::read_to_string(&log).unwrap();
    for clear in [secret, root.as_str(), child.as_str(), accessor.as_str()] {
        assert!(!text.contains(clear), "{clear} appears in clear");
    }
    let lines = entries(&log);
    assert_eq!(
        lines[0]["request"]["path"], "sys/audit/test",
        "test probe first"
    );
    // Every request entry has its response entry, with the same id, in order.
    let mut open: BTreeMap<String, usize> = BTreeMap::new();
    for (index, entry) in lines.iter().enumerate().skip(1) {
        let id = entry["request"]["id"].as_str().unwrap().to_owned();
        assert!(entry["time"].as_str().unwrap().ends_with('Z'));
        assert_eq!(entry["request"]["namespace"], json!({"id": "root"}));
        match entry["type"].as_str().unwrap() {
            "request" => assert!(open.insert(id, index).is_none()),
            "response" if entry["request"]["path"] == "sys/audit/file" => {}
            "response" => assert!(
                open.remove(&id).is_some(),
                "response without request: {entry}"
            ),
            other => panic!("type {other}"),
        }
        let keys: Vec<&str> = entry
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(keys[..2], ["time", "type"]);
    }
    assert!(open.is_empty(), "requests without responses: {open:?}");

    let write = lines
        .iter()
        .find(|e| e["type"] == "request" && e["request"]["path"] == "secret/data/app")
        .unwrap();
    assert_eq!(write["request"]["operation"], "create");
    assert_eq!(write["request"]["mount_point"], "secret/");
    assert_eq!(write["request"]["mount_type"], "kv");
    assert!(
        write["request"]["mount_accessor"]
            .as_str()
            .unwrap()
            .starts_with("kv_")
    );
    assert_eq!(write["request"]["remote_address"], "127.0.0.1");
    assert!(write["request"]["remote_port"].as_u64().unwrap() > 0);
    assert_eq!(write["request"]["data"]["data"]["port"], 5432);
    assert_eq!(write["request"]["data"]["data"]["tls"], true);
    assert_eq!(write["auth"]["policy_results"], json!({"allowed": true}));
    assert_eq!(write["auth"]["display_name"], "root");
    assert_eq!(write["auth"]["policies"], json!(["root"]));
    // sys/audit-hash reproduces the HMACs in the file.
    let hashed = audit_hash(&server, "file", secret).await;
    assert_eq!(write["request"]["data"]["data"]["password"], hashed);
    assert_eq!(
        write["auth"]["client_token"],
        audit_hash(&server, "file", &root).await
    );
    assert_eq!(
        write["request"]["client_token"],
        write["auth"]["client_token"]
    );

    let read = lines
        .iter()
        .find(|e| {
            e["type"] == "response"
                && e["request"]["path"] == "secret/data/app"
                && e["request"]["operation"] == "read"
        })
        .unwrap();
    let metadata = &read["response"]["data"]["metadata"];
    assert_eq!(metadata["version"], 1, "numbers stay in clear");
    let created_time = metadata["created_time"].as_str().unwrap();
    assert!(
        !created_time.starts_with("hmac-sha256:"),
        "RFC 3339 times stay in clear"
    );
    assert_eq!(read["response"]["data"]["data"]["password"], hashed);

    let token = lines
        .iter()
        .find(|e| e["type"] == "response" && e["request"]["path"] == "auth/token/create")
        .unwrap();
    let auth = &token["response"]["auth"];
    assert_eq!(
        auth["client_token"],
        audit_hash(&server, "file", &child).await
    );
    assert_eq!(
        auth["accessor"],
        audit_hash(&server, "file", &accessor).await
    );
    assert_eq!(auth["policies"], json!(["default"]));
}

#[tokio::test]
async fn sys_audit_enable_list_disable_and_errors() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("a.log");
    let server = TestServer::dev().await.unwrap();
    enable(&server, "file", &log).await;
    let listed = server.request("GET", "sys/audit", None).await;
    assert_eq!(listed.status, 200, "{}", listed.text);
    let info = json!({"path": "file/", "type": "file", "description": "",
                      "options": {"file_path": log.to_str().unwrap()}, "local": false});
    assert_eq!(listed.body["data"], json!({"file/": info}));
    assert_eq!(listed.body["file/"], info, "top-level injected");

    let errors = [
        (
            json!({"type": "file", "options": {}}),
            "\"file_path\" is required",
        ),
        (
            json!({"type": "socket"}),
            "unknown backend type: \"socket\"",
        ),
        (
            json!({"type": "file", "options": {"file_path": "stdout", "prefix": "x"}}),
            "audit log prefixing is not allowed",
        ),
        (
            json!({"type": "file", "options": {"file_path": "stdout", "format": "xml"}}),
            "unknown format type \"xml\"",
        ),
    ];
    for (body, message) in errors {
        let resp = server.request("PUT", "sys/audit/other", Some(body)).await;
        assert_eq!(
            (resp.status, resp.errors()),
            (400, vec![message.to_owned()])
        );
    }
    let dup = json!({"type": "file", "options": {"file_path": "discard"}});
    let resp = server.request("PUT", "sys/audit/file", Some(dup)).await;
    assert_eq!(
        (resp.status, resp.errors()),
        (400, vec!["path already in use".to_owned()])
    );
    let blocked = dir.path().join("not-a-dir");
    fs::write(&blocked, b"").unwrap();
    let body =
        json!({"type": "file", "options": {"file_path": blocked.join("x.log").to_str().unwrap()}});
    let resp = server.request("PUT", "sys/audit/broken", Some(body)).await;
    assert_eq!(resp.status, 400, "{}", resp.text);
    assert!(resp.errors()[0].contains("unable to open"), "{}", resp.text);

    let resp = server
        .request("POST", "sys/audit-hash/file", Some(json!({"input": ""})))
        .await;
    assert_eq!(
        (resp.status, resp.errors()),
        (400, vec!["the \"input\" parameter is empty".to_owned()])
    );
    let resp = server
        .request("POST", "sys/audit-hash/nope", Some(json!({"input": "x"})))
        .await;
    assert_eq!(resp.status, 400, "{}", resp.text);

    // `sys/audit/*` needs sudo.
    let created = server
        .request(
            "POST",
            "auth/token/create",
            Some(json!({"policies": ["default"]})),
        )
        .await;
    let token = created.body["auth"]["client_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let body = json!({"type": "file", "options": {"file_path": "discard"}});
    let resp = server
        .request_with_token("PUT", "sys/audit/x", Some(body), Some(&token))
        .await;
    assert_eq!(resp.status, 403, "{}", resp.text);

    let resp = server.request("DELETE", "sys/audit/file", None).await;
    assert_eq!(resp.status, 204, "{}", resp.text);
    let listed = server.request("GET", "sys/audit", None).await;
    assert_eq!(listed.body["data"], json!({}));
}

#[tokio::test]
async fn unwritable_device_fails_requests_closed_before_any_write() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("audit.log");
    let server = TestServer::dev().await.unwrap();
    enable(&server, "file", &log).await;
    let resp = server
        .request(
            "PUT",
            "secret/data/before",
            Some(json!({"data": {"v": "1"}})),
        )
        .await;
    assert_eq!(resp.status, 200, "{}", resp.text);

    fs::set_permissions(&log, fs::Permissions::from_mode(0o000)).unwrap();
    let resp = server
        .request(
            "PUT",
            "secret/data/blocked",
            Some(json!({"data": {"v": "2"}})),
        )
        .await;
    assert_eq!(resp.status, 500, "{}", resp.text);
    assert_eq!(resp.body, json!({"errors": ["internal error"]}));
    let resp = server.request("GET", "secret/data/before", None).await;
    assert_eq!(
        (resp.status, resp.body.clone()),
        (500, json!({"errors": ["internal error"]}))
    );
    // A refused request keeps its 403.
    let resp = server
        .request_with_token("GET", "secret/data/before", None, Some("bogus"))
        .await;
    assert_eq!(resp.status, 403, "{}", resp.text);

    fs::set_permissions(&log, fs::Permissions::from_mode(0o600)).unwrap();
    let resp = server.request("GET", "secret/data/blocked", None).await;
    assert_eq!(
        resp.status, 404,
        "the refused write must not have happened: {}",
        resp.text
    );
    let resp = server.request("GET", "secret/data/before", None).await;
    assert_eq!(resp.status, 200, "{}", resp.text);
}

#[tokio::test]
async fn removed_directory_fails_closed_and_reopen_follows_rotation() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("logs/audit.log");
    let server = TestServer::dev().await.unwrap();
    enable(&server, "file", &log).await;

    // Rotation: the file is moved away and the server told to reopen (SIGHUP).
    let rotated = dir.path().join("logs/audit.log.1");
    fs::rename(&log, &rotated).unwrap();
    server.running().core.reopen_audit_devices().unwrap();
    let resp = server.request("GET", "sys/audit", None).await;
    assert_eq!(resp.status, 200, "{}", resp.text);
    assert!(
        entries(&log)
            .iter()
            .any(|e| e["request"]["path"] == "sys/audit")
    );
    assert!(
        !entries(&rotated)
            .iter()
            .any(|e| e["request"]["path"] == "sys/audit")
    );

    fs::remove_dir_all(dir.path().join("logs")).unwrap();
    let resp = server
        .request("PUT", "secret/data/x", Some(json!({"data": {"v": "1"}})))
        .await;
    assert_eq!(
        (resp.status, resp.body.clone()),
        (500, json!({"errors": ["internal error"]}))
    );
    fs::create_dir_all(dir.path().join("logs")).unwrap();
    let resp = server.request("GET", "secret/data/x", None).await;
    assert_eq!(resp.status, 404, "{}", resp.text);
}

#[tokio::test]
async fn devices_may_not_write_into_the_data_directory() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let storage = format!(
        "storage \"embedded\" {{\n  path = \"{}\"\n}}",
        data.display()
    );
    let config = TestServer::config_with_storage(&storage).unwrap();
    let mut server = TestServer::start(config).await.unwrap();
    let credentials = warden_server::run::init_dev(&server.running().core, None)
        .await
        .unwrap();
    server.set_token(credentials.root_token.expose());
    for inside in [
        data.join("audit.log"),
        dir.path().join("x/../data/sub/audit.log"),
    ] {
        let body = json!({"type": "file", "options": {"file_path": inside.to_str().unwrap()}});
        let resp = server.request("PUT", "sys/audit/file", Some(body)).await;
        assert_eq!(resp.status, 400, "{}", resp.text);
        assert!(resp.errors()[0].contains("data directory"), "{}", resp.text);
    }
    enable(&server, "file", &dir.path().join("audit.log")).await;
    server.stop().await;
}
