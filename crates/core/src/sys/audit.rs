//! `sys/audit` (list), `sys/audit/<path>` (enable, disable) and `sys/audit-hash/<path>`
//! (O `logical_system.go` `handleAuditTable`, `handleEnableAudit`, `handleDisableAudit`,
//! `handleAuditHash`). `audit` and `audit/*` are root paths: they need `sudo`.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Deserialize;
use serde_json::json;
use warden_logical::framework::{Field, FieldType, NoInput, Path, handler};
use warden_logical::{LogicalError, Map, Operation, Request, Response};

use super::{SysBackend, to_logical};
use crate::audit::AuditEntry;
use crate::lifecycle::Active;

pub(super) fn paths(state: &Arc<SysBackend>) -> Vec<Path> {
    let path_field =
        || Field::new("path", FieldType::String).description("The name of the audit device.");
    vec![
        Path::new("audit")
            .operation(Operation::Read, handler(state, list))
            .help("List the enabled audit devices.", ""),
        Path::new("audit-hash/(?P<path>.+)")
            .field(path_field())
            .field(Field::new("input", FieldType::String).description("The value to hash."))
            .operation(Operation::Update, handler(state, hash))
            .help(
                "The hash of a value with the salt of an audit device.",
                "The same HMAC the device writes for that value in its log.",
            ),
        Path::new("audit/(?P<path>.+)")
            .field(path_field())
            .field(
                Field::new("type", FieldType::String)
                    .description("The type of the audit device (file)."),
            )
            .field(Field::new("description", FieldType::String).default(json!("")))
            .field(
                Field::new("options", FieldType::KvPairs)
                    .description("Device options: file_path, mode, log_raw, hmac_accessor…"),
            )
            .field(Field::new("local", FieldType::Bool).default(json!(false)))
            .operation(Operation::Update, handler(state, enable))
            .operation(Operation::Delete, handler(state, disable))
            .help("Enable or disable an audit device.", ""),
    ]
}

fn active(sys: &SysBackend) -> Result<Arc<Active>, LogicalError> {
    sys.core()?.require_active().map_err(to_logical)
}

async fn list(
    sys: Arc<SysBackend>,
    _req: Request,
    _input: NoInput,
) -> Result<Option<Response>, LogicalError> {
    let data: Map = active(&sys)?
        .audit
        .entries()
        .into_iter()
        .map(|entry| {
            let info = json!({
                "path": entry.path,
                "type": entry.device_type,
                "description": entry.description,
                "options": entry.options,
                "local": entry.local,
            });
            (entry.path, info)
        })
        .collect();
    Ok(Some(Response::with_data(data)))
}

#[derive(Debug, Deserialize)]
struct EnableAudit {
    path: String,
    #[serde(rename = "type", default)]
    device_type: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    options: Option<BTreeMap<String, String>>,
    #[serde(default)]
    local: bool,
}

async fn enable(
    sys: Arc<SysBackend>,
    _req: Request,
    input: EnableAudit,
) -> Result<Option<Response>, LogicalError> {
    let active = active(&sys)?;
    let mut entry = AuditEntry::new(input.path.trim_start_matches('/'), &input.device_type);
    entry.description = input.description;
    entry.options = input.options.unwrap_or_default();
    entry.local = input.local;
    active.audit.enable(entry).await.map_err(to_logical)?;
    Ok(None)
}

#[derive(Debug, Deserialize)]
struct DevicePath {
    path: String,
}

async fn disable(
    sys: Arc<SysBackend>,
    _req: Request,
    input: DevicePath,
) -> Result<Option<Response>, LogicalError> {
    active(&sys)?
        .audit
        .disable(&input.path)
        .await
        .map_err(to_logical)?;
    Ok(None)
}

#[derive(Debug, Deserialize)]
struct HashInput {
    path: String,
    #[serde(default)]
    input: String,
}

async fn hash(
    sys: Arc<SysBackend>,
    _req: Request,
    input: HashInput,
) -> Result<Option<Response>, LogicalError> {
    if input.input.is_empty() {
        return Err(LogicalError::user("the \"input\" parameter is empty"));
    }
    let hash = active(&sys)?
        .audit
        .hash(&crate::mount::sanitize_path(&input.path), &input.input)
        .map_err(to_logical)?;
    let mut data = Map::new();
    data.insert("hash".into(), json!(hash));
    Ok(Some(Response::with_data(data)))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use serde_json::{Value, json};
    use warden_logical::{Map, Operation, Request, SecretString};
    use warden_storage::memory::MemoryBackend;

    use crate::{Core, CoreBuilder, CoreError};

    async fn call(
        core: &Core,
        op: Operation,
        path: &str,
        data: Value,
        token: &str,
    ) -> Result<Option<Map>, CoreError> {
        let Value::Object(data) = data else {
            panic!("not an object")
        };
        let mut req = Request::new(op, path, data);
        req.client_token = Some(SecretString::new(token));
        Ok(core
            .handle_request(req)
            .await?
            .response
            .and_then(|r| r.data))
    }

    fn message(err: CoreError) -> String {
        match err {
            CoreError::Backend { error, .. } => error.to_string(),
            other => other.to_string(),
        }
    }

    #[tokio::test]
    async fn enable_list_hash_disable() {
        let core = CoreBuilder::new(Arc::new(MemoryBackend::new())).build();
        let init = core.initialize(1, 1).await.unwrap();
        core.unseal(init.keys[0].expose()).await.unwrap();
        let root = init.root_token.expose().to_owned();
        let put = json!({"type": "file", "options": {"file_path": "discard"}});
        assert!(
            call(
                &core,
                Operation::Update,
                "sys/audit/file",
                put.clone(),
                &root
            )
            .await
            .unwrap()
            .is_none()
        );
        let again = call(&core, Operation::Update, "sys/audit/file", put, &root)
            .await
            .unwrap_err();
        assert_eq!(message(again), "path already in use");
        let missing = json!({"type": "file", "options": {"mode": "0600"}});
        let err = call(&core, Operation::Update, "sys/audit/other", missing, &root)
            .await
            .unwrap_err();
        assert_eq!(message(err), "\"file_path\" is required");
        let socket = json!({"type": "socket"});
        let err = call(&core, Operation::Update, "sys/audit/sock", socket, &root)
            .await
            .unwrap_err();
        assert_eq!(message(err), "unknown backend type: \"socket\"");
        let listed = call(&core, Operation::Read, "sys/audit", json!({}), &root)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            Value::Object(listed),
            json!({"file/": {"path": "file/", "type": "file", "description": "",
                             "options": {"file_path": "discard"}, "local": false}})
        );
        let hashed = call(
            &core,
            Operation::Update,
            "sys/audit-hash/file",
            json!({"input": "x"}),
            &root,
        )
        .await
        .unwrap()
        .unwrap();
        assert!(hashed["hash"].as_str().unwrap().starts_with("hmac-sha256:"));
        let empty = call(
            &core,
            Operation::Update,
            "sys/audit-hash/file",
            json!({"input": ""}),
            &root,
        )
        .await;
        assert_eq!(
            message(empty.unwrap_err()),
            "the \"input\" parameter is empty"
        );
        let unknown = call(
            &core,
            Operation::Update,
            "sys/audit-hash/nope",
            json!({"input": "x"}),
            &root,
        )
        .await;
        assert_eq!(
            message(unknown.unwrap_err()),
            "unknown audit backend \"nope/\""
        );
        assert!(
            call(&core, Operation::Delete, "sys/audit/file", json!({}), &root)
                .await
                .unwrap()
                .is_none()
        );
        let listed = call(&core, Operation::Read, "sys/audit", json!({}), &root)
            .await
            .unwrap()
            .unwrap();
        assert!(listed.is_empty());
    }
}
