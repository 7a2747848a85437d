use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::sync::Arc;

use serde_json::{Value, json};
use warden_logical::{Map, Operation, Request, SecretString};
use warden_storage::memory::MemoryBackend;

use super::file::tests::TempDir;
use super::*;
use crate::{CoreBuilder, CoreConfig};

struct Fixture {
    core: Arc<Core>,
    root: String,
    key: Vec<u8>,
}

async fn fixture(audit: AuditConfig) -> Fixture {
    let config = CoreConfig {
        audit,
        ..CoreConfig::default()
    };
    let core = CoreBuilder::new(Arc::new(MemoryBackend::new()))
        .config(config)
        .build();
    let init = core.initialize(1, 1).await.unwrap();
    let key = init.keys[0].expose().to_vec();
    core.unseal(&key).await.unwrap();
    Fixture {
        core,
        root: init.root_token.expose().to_owned(),
        key,
    }
}

impl Fixture {
    async fn call(&self, op: Operation, path: &str, data: Value) -> Result<Option<Map>, CoreError> {
        self.call_as(op, path, data, &self.root).await
    }

    async fn call_as(
        &self,
        op: Operation,
        path: &str,
        data: Value,
        token: &str,
    ) -> Result<Option<Map>, CoreError> {
        let Value::Object(data) = data else {
            panic!("not an object")
        };
        let mut req = Request::new(op, path, data);
        req.id = uuid::Uuid::new_v4().to_string();
        req.client_token = Some(SecretString::new(token));
        Ok(self
            .core
            .handle_request(req)
            .await?
            .response
            .and_then(|r| r.data))
    }

    async fn enable(&self, name: &str, options: Value) -> Result<Option<Map>, CoreError> {
        let body = json!({"type": "file", "options": options});
        self.call(Operation::Update, &format!("sys/audit/{name}"), body)
            .await
    }

    async fn hash(&self, device: &str, input: &str) -> String {
        let data = self
            .call(
                Operation::Update,
                &format!("sys/audit-hash/{device}"),
                json!({"input": input}),
            )
            .await
            .unwrap()
            .unwrap();
        data["hash"].as_str().unwrap().to_owned()
    }
}

fn entries(path: &Path) -> Vec<Value> {
    fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

fn message(err: CoreError) -> String {
    match err {
        CoreError::Backend { error, .. } => error.to_string(),
        other => other.to_string(),
    }
}

#[tokio::test]
async fn requests_are_logged_in_pairs_with_hmacs_sys_audit_hash_reproduces() {
    let dir = TempDir::new();
    let log = dir.path().join("logs/audit.log");
    let f = fixture(AuditConfig::default()).await;
    f.enable("file", json!({"file_path": log.to_str().unwrap()}))
        .await
        .unwrap();
    // The probe is the first line, with a throw-away salt; the enable's own response
    // entry follows (the device is live by then), as in Vault.
    let probe = entries(&log);
    assert_eq!(probe.len(), 2);
    assert_eq!(probe[0]["request"]["path"], "sys/audit/test");
    assert_eq!(probe[1]["type"], "response");
    assert_eq!(probe[1]["request"]["path"], "sys/audit/file");
    assert_eq!(
        fs::metadata(&log).unwrap().permissions().mode() & 0o777,
        0o600
    );

    f.call(
        Operation::Update,
        "cubbyhole/app",
        json!({"password": "s3cret", "n": 7}),
    )
    .await
    .unwrap();
    let lines = entries(&log);
    assert_eq!(lines.len(), 4);
    let (request, response) = (&lines[2], &lines[3]);
    assert_eq!(request["type"], "request");
    assert_eq!(response["type"], "response");
    assert_eq!(request["request"]["id"], response["request"]["id"]);
    assert_eq!(request["request"]["path"], "cubbyhole/app");
    assert_eq!(request["request"]["operation"], "create");
    assert_eq!(request["request"]["mount_type"], "cubbyhole");
    assert_eq!(request["request"]["namespace"], json!({"id": "root"}));
    assert_eq!(request["request"]["data"]["n"], 7);
    assert_eq!(
        request["request"]["data"]["password"],
        f.hash("file", "s3cret").await
    );
    assert_eq!(
        request["auth"]["client_token"],
        f.hash("file", &f.root).await
    );
    assert_eq!(request["auth"]["policy_results"], json!({"allowed": true}));
    let text = fs::read_to_string(&log).unwrap();
    assert!(!text.contains("s3cret") && !text.contains(&f.root));

    // The salt is a raw UUID string at audit/<uuid>/salt and survives a seal.
    let entry = f.core.require_active().unwrap().audit.entries().remove(0);
    let salt = f
        .core
        .barrier
        .get(&format!("audit/{}/salt", entry.uuid))
        .await
        .unwrap()
        .unwrap();
    let salt = String::from_utf8(salt).unwrap();
    assert!(uuid::Uuid::parse_str(&salt).is_ok());
    assert_eq!(
        Salt::new(&salt).hmac("s3cret"),
        f.hash("file", "s3cret").await
    );
    let before = f.hash("file", "x").await;
    f.core.seal_now().await;
    f.core.unseal(&f.key).await.unwrap();
    assert_eq!(f.hash("file", "x").await, before);

    // A bad token: logged with the error, without policy results.
    let before = entries(&log).len();
    let denied = f
        .call_as(Operation::Read, "sys/audit", json!({}), "bogus")
        .await;
    assert!(matches!(denied, Err(CoreError::InvalidToken)));
    let lines = entries(&log);
    assert_eq!(lines.len(), before + 2);
    assert_eq!(lines[before]["error"], "permission denied");
    assert_eq!(lines[before]["auth"], json!({"token_type": "default"}));
    assert_eq!(
        lines[before + 1]["error"],
        "1 error occurred:\n\t* permission denied\n\n"
    );
}

#[tokio::test]
async fn acl_denials_record_allowed_false() {
    let dir = TempDir::new();
    let log = dir.path().join("audit.log");
    let f = fixture(AuditConfig::default()).await;
    f.enable(
        "file",
        json!({"file_path": log.to_str().unwrap(), "skip_test": "true"}),
    )
    .await
    .unwrap();
    assert_eq!(
        entries(&log).len(),
        1,
        "no probe, only the enable's response"
    );
    let created = {
        let Value::Object(data) = json!({"policies": ["default"]}) else {
            unreachable!()
        };
        let mut req = Request::new(Operation::Update, "auth/token/create", data);
        req.client_token = Some(SecretString::new(f.root.clone()));
        let handled = f.core.handle_request(req).await.unwrap();
        handled
            .response
            .unwrap()
            .auth
            .unwrap()
            .client_token
            .unwrap()
            .expose()
            .to_owned()
    };
    let before = entries(&log).len();
    let denied = f
        .call_as(Operation::Read, "sys/audit", json!({}), &created)
        .await;
    assert!(matches!(denied, Err(CoreError::PermissionDenied)));
    let lines = entries(&log);
    let last = &lines[lines.len() - 2..];
    assert!(lines.len() > before);
    assert_eq!(last[0]["type"], "request");
    assert_eq!(last[0]["auth"]["policy_results"], json!({"allowed": false}));
    assert_eq!(
        last[0]["error"],
        "1 error occurred:\n\t* permission denied\n\n"
    );
    assert_eq!(last[1]["type"], "response");
    assert_eq!(last[1]["auth"]["display_name"], "token");
    let text = fs::read_to_string(&log).unwrap();
    assert!(!text.contains(&created));
}

#[tokio::test]
async fn fails_closed_when_no_device_can_write() {
    let dir = TempDir::new();
    let (one, two) = (dir.path().join("one.log"), dir.path().join("two.log"));
    let f = fixture(AuditConfig::default()).await;
    f.enable("one", json!({"file_path": one.to_str().unwrap()}))
        .await
        .unwrap();
    f.enable(
        "two",
        json!({"file_path": two.to_str().unwrap(), "log_raw": "true"}),
    )
    .await
    .unwrap();
    // One device failing is tolerated; the raw device does not make the other one raw.
    fs::set_permissions(&one, fs::Permissions::from_mode(0o000)).unwrap();
    f.call(Operation::Update, "cubbyhole/a", json!({"v": "s3cret"}))
        .await
        .unwrap();
    assert!(fs::read_to_string(&two).unwrap().contains("s3cret"));
    fs::set_permissions(&one, fs::Permissions::from_mode(0o600)).unwrap();
    f.call(Operation::Update, "cubbyhole/b", json!({"v": "s3cret"}))
        .await
        .unwrap();
    assert!(!fs::read_to_string(&one).unwrap().contains("s3cret"));
    // Both failing: the request fails before the backend runs, nothing is written.
    fs::set_permissions(&one, fs::Permissions::from_mode(0o000)).unwrap();
    fs::set_permissions(&two, fs::Permissions::from_mode(0o400)).unwrap();
    let failed = f
        .call(Operation::Update, "cubbyhole/c", json!({"v": "x"}))
        .await;
    assert!(matches!(failed, Err(CoreError::AuditFailed)));
    assert_eq!(CoreError::AuditFailed.to_string(), "internal error");
    // A refused request keeps its 403.
    let denied = f
        .call_as(Operation::Read, "cubbyhole/c", json!({}), "bogus")
        .await;
    assert!(matches!(denied, Err(CoreError::InvalidToken)));
    fs::set_permissions(&one, fs::Permissions::from_mode(0o600)).unwrap();
    assert!(
        f.call(Operation::Read, "cubbyhole/c", json!({}))
            .await
            .unwrap()
            .is_none()
    );
    // Reopen (SIGHUP) works once the files are writable again.
    fs::set_permissions(&two, fs::Permissions::from_mode(0o600)).unwrap();
    f.core.reopen_audit_devices().unwrap();
    // Disabling every device lifts the requirement.
    f.call(Operation::Delete, "sys/audit/one", json!({}))
        .await
        .unwrap();
    f.call(Operation::Delete, "sys/audit/two", json!({}))
        .await
        .unwrap();
    fs::set_permissions(&one, fs::Permissions::from_mode(0o000)).unwrap();
    f.call(Operation::Update, "cubbyhole/d", json!({"v": "x"}))
        .await
        .unwrap();
}

#[tokio::test]
async fn enable_errors_and_forbidden_directories() {
    let dir = TempDir::new();
    let data = dir.path().join("data");
    fs::create_dir_all(&data).unwrap();
    std::os::unix::fs::symlink(&data, dir.path().join("link")).unwrap();
    let f = fixture(AuditConfig {
        forbidden_dirs: vec![data.clone()],
        allow_prefix: false,
    })
    .await;
    for sneaky in [
        data.join("audit.log"),
        dir.path().join("other/../data/audit.log"),
        dir.path().join("link/new/audit.log"),
    ] {
        let err = f
            .enable("file", json!({"file_path": sneaky.to_str().unwrap()}))
            .await
            .unwrap_err();
        assert!(
            message(err).contains("inside the server's data directory"),
            "{sneaky:?}"
        );
    }
    let err = f
        .enable("file", json!({"file_path": "stdout", "prefix": "x"}))
        .await
        .unwrap_err();
    assert_eq!(message(err), "audit log prefixing is not allowed");
    let blocker = dir.path().join("blocker");
    fs::write(&blocker, b"").unwrap();
    let err = f
        .enable(
            "file",
            json!({"file_path": blocker.join("a.log").to_str().unwrap()}),
        )
        .await
        .unwrap_err();
    let shown = message(err);
    assert!(
        shown.starts_with("sanity check failed; unable to open"),
        "{shown}"
    );
    let read_only = dir.path().join("ro.log");
    fs::write(&read_only, b"").unwrap();
    fs::set_permissions(&read_only, fs::Permissions::from_mode(0o400)).unwrap();
    let err = f
        .enable(
            "file",
            json!({"file_path": read_only.to_str().unwrap(), "mode": "0000"}),
        )
        .await
        .unwrap_err();
    let shown = message(err);
    assert!(shown.starts_with("sanity check failed"), "{shown}");
    let listed = f
        .call(Operation::Read, "sys/audit", json!({}))
        .await
        .unwrap()
        .unwrap();
    assert!(listed.is_empty());
}

#[tokio::test]
async fn unseal_fails_when_no_stored_device_comes_up() {
    let dir = TempDir::new();
    let sub = dir.path().join("sub");
    let f = fixture(AuditConfig::default()).await;
    f.enable(
        "file",
        json!({"file_path": sub.join("a.log").to_str().unwrap()}),
    )
    .await
    .unwrap();
    f.core.seal_now().await;
    fs::remove_dir_all(&sub).unwrap();
    fs::write(&sub, b"not a directory").unwrap();
    let err = f.core.unseal(&f.key).await.unwrap_err();
    assert_eq!(err.to_string(), "failed to setup audit table");
    assert!(f.core.is_sealed());
    fs::remove_file(&sub).unwrap();
    f.core.unseal(&f.key).await.unwrap();
    assert_eq!(f.core.require_active().unwrap().audit.entries().len(), 1);
}
