//! `sys/policies/acl…`, the legacy `sys/policy…`, and `sys/capabilities…`
//! (Vault's `handlePolicies*` and `handleCapabilities*` in `logical_system.go`).

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;
use serde_json::{Value, json};
use warden_logical::framework::{Field, FieldType, NoInput, Path, handler};
use warden_logical::{LogicalError, Map, Operation, Request, Response, TokenEntry};

use super::{SysBackend, to_logical};
use crate::lifecycle::Core;

pub(super) fn paths(state: &Arc<SysBackend>) -> Vec<Path> {
    let name = || Field::new("name", FieldType::String).description("The name of the policy.");
    let policy = || {
        Field::new("policy", FieldType::String)
            .description("The rules of the policy, HCL or JSON (optionally base64-encoded).")
    };
    let paths_fields = || {
        [
            Field::new("paths", FieldType::CommaStringSlice)
                .description("Paths on which capabilities are being queried."),
            Field::new("path", FieldType::CommaStringSlice)
                .description("Use 'paths' instead (deprecated)."),
        ]
    };
    vec![
        Path::new("policies/acl/?")
            .operation(Operation::List, handler(state, list_acl))
            .help("List the configured access control policies.", ""),
        Path::new("policies/acl/(?P<name>.+)")
            .field(name())
            .field(policy())
            .operation(Operation::Read, handler(state, read_acl))
            .operation(Operation::Update, handler(state, write_acl))
            .operation(Operation::Delete, handler(state, delete_policy))
            .help("Read, write or delete an access control policy.", ""),
        Path::new("policy/?")
            .operation(Operation::Read, handler(state, list_legacy))
            .operation(Operation::List, handler(state, list_legacy))
            .help("List the configured access control policies.", ""),
        Path::new("policy/(?P<name>.+)")
            .field(name())
            .field(policy())
            .field(Field::new("rules", FieldType::String).description("Use 'policy' instead."))
            .operation(Operation::Read, handler(state, read_legacy))
            .operation(Operation::Update, handler(state, write_legacy))
            .operation(Operation::Delete, handler(state, delete_policy))
            .help("Read, write or delete an access control policy.", ""),
        Path::new("capabilities-accessor")
            .field(
                Field::new("accessor", FieldType::String)
                    .description("Accessor of the token for which capabilities are being queried."),
            )
            .fields(paths_fields())
            .operation(Operation::Update, handler(state, capabilities_accessor))
            .help(
                "Fetches the capabilities of the token associated with the given accessor.",
                "",
            ),
        Path::new("capabilities")
            .field(
                Field::new("token", FieldType::String)
                    .description("Token for which capabilities are being queried."),
            )
            .fields(paths_fields())
            .operation(Operation::Update, handler(state, capabilities))
            .help(
                "Fetches the capabilities of the given token on the given path.",
                "",
            ),
        Path::new("capabilities-self")
            .field(Field::new("token", FieldType::String))
            .fields(paths_fields())
            .operation(Operation::Update, handler(state, capabilities_self))
            .help(
                "Fetches the capabilities of the caller's token on the given path.",
                "",
            ),
    ]
}

async fn policy_names(sys: &SysBackend) -> Result<Vec<Value>, LogicalError> {
    let core = sys.core()?;
    let active = core.require_active().map_err(to_logical)?;
    let mut names = active.policy_store.list().await.map_err(to_logical)?;
    names.push("root".to_owned());
    Ok(names.into_iter().map(Value::String).collect())
}

async fn list_acl(
    sys: Arc<SysBackend>,
    _req: Request,
    _input: NoInput,
) -> Result<Option<Response>, LogicalError> {
    let mut data = Map::new();
    data.insert("keys".to_owned(), Value::Array(policy_names(&sys).await?));
    Ok(Some(Response::with_data(data)))
}

async fn list_legacy(
    sys: Arc<SysBackend>,
    _req: Request,
    _input: NoInput,
) -> Result<Option<Response>, LogicalError> {
    let keys = Value::Array(policy_names(&sys).await?);
    let mut data = Map::new();
    data.insert("keys".to_owned(), keys.clone());
    data.insert("policies".to_owned(), keys);
    Ok(Some(Response::with_data(data)))
}

#[derive(Debug, Deserialize)]
struct PolicyName {
    name: String,
}

async fn read_policy(
    sys: &SysBackend,
    name: &str,
    raw_key: &str,
) -> Result<Option<Response>, LogicalError> {
    let core = sys.core()?;
    let active = core.require_active().map_err(to_logical)?;
    let Some(policy) = active.policy_store.get(name).await.map_err(to_logical)? else {
        return Ok(None);
    };
    let mut data = Map::new();
    data.insert("name".to_owned(), Value::String(policy.name.clone()));
    data.insert(raw_key.to_owned(), Value::String(policy.raw.clone()));
    Ok(Some(Response::with_data(data)))
}

async fn read_acl(
    sys: Arc<SysBackend>,
    _req: Request,
    input: PolicyName,
) -> Result<Option<Response>, LogicalError> {
    read_policy(&sys, &input.name, "policy").await
}

async fn read_legacy(
    sys: Arc<SysBackend>,
    _req: Request,
    input: PolicyName,
) -> Result<Option<Response>, LogicalError> {
    read_policy(&sys, &input.name, "rules").await
}

#[derive(Debug, Deserialize)]
struct WritePolicy {
    name: String,
    #[serde(default)]
    policy: Option<String>,
    #[serde(default)]
    rules: Option<String>,
}

/// Vault decodes a body that is valid standard base64 (Go's decoder skips line breaks).
fn maybe_base64(raw: String) -> String {
    let compact: String = raw.chars().filter(|c| !matches!(c, '\r' | '\n')).collect();
    match STANDARD.decode(compact.as_bytes()) {
        Ok(bytes) => String::from_utf8(bytes).unwrap_or(raw),
        Err(_) => raw,
    }
}

async fn write_policy(
    sys: &SysBackend,
    input: WritePolicy,
    legacy: bool,
) -> Result<Option<Response>, LogicalError> {
    let mut resp = Response::default();
    let name = input.name.to_lowercase();
    if name.is_empty() {
        return Err(LogicalError::user(
            "policy name must be provided in the URL",
        ));
    }
    if name != input.name {
        resp.add_warning(format!("policy name was converted to {name}"));
    }
    let mut raw = input.policy.unwrap_or_default();
    if raw.is_empty() && legacy {
        raw = input.rules.unwrap_or_default();
        resp.add_warning("'rules' is deprecated, please use 'policy' instead");
    }
    if raw.is_empty() {
        return Err(LogicalError::user(
            "'policy' parameter not supplied or empty",
        ));
    }
    let raw = maybe_base64(raw);
    let core = sys.core()?;
    let active = core.require_active().map_err(to_logical)?;
    active
        .policy_store
        .set(&name, &raw)
        .await
        .map_err(to_logical)?;
    Ok((!resp.warnings.is_empty()).then_some(resp))
}

async fn write_acl(
    sys: Arc<SysBackend>,
    _req: Request,
    input: WritePolicy,
) -> Result<Option<Response>, LogicalError> {
    write_policy(&sys, input, false).await
}

async fn write_legacy(
    sys: Arc<SysBackend>,
    _req: Request,
    input: WritePolicy,
) -> Result<Option<Response>, LogicalError> {
    write_policy(&sys, input, true).await
}

async fn delete_policy(
    sys: Arc<SysBackend>,
    _req: Request,
    input: PolicyName,
) -> Result<Option<Response>, LogicalError> {
    let core = sys.core()?;
    let active = core.require_active().map_err(to_logical)?;
    active
        .policy_store
        .delete(&input.name)
        .await
        .map_err(to_logical)?;
    Ok(None)
}

#[derive(Debug, Deserialize)]
struct CapabilitiesInput {
    #[serde(default)]
    token: Option<String>,
    #[serde(default)]
    accessor: Option<String>,
    #[serde(default)]
    paths: Option<Vec<String>>,
    #[serde(default)]
    path: Option<Vec<String>>,
}

impl CapabilitiesInput {
    fn paths(&self) -> Result<Vec<String>, LogicalError> {
        let paths = match &self.paths {
            Some(paths) if !paths.is_empty() => paths.clone(),
            _ => self.path.clone().unwrap_or_default(),
        };
        if paths.is_empty() {
            return Err(LogicalError::user("paths must be supplied"));
        }
        if paths.iter().any(String::is_empty) {
            return Err(LogicalError::user("missing path"));
        }
        Ok(paths)
    }
}

/// Vault's `Core.Capabilities` for each path, and the response of `handleCapabilities`.
async fn respond(
    core: &Core,
    token: &TokenEntry,
    paths: Vec<String>,
) -> Result<Option<Response>, LogicalError> {
    let acl = if token.policies.is_empty() {
        None
    } else {
        Some(core.acl_for_token(token).await.map_err(to_logical)?)
    };
    let mut data = Map::new();
    for path in &paths {
        let mut caps = acl
            .as_ref()
            .map_or_else(|| vec!["deny".to_owned()], |acl| acl.capabilities(path));
        caps.sort();
        data.insert(path.clone(), json!(caps));
    }
    if let [only] = &paths[..] {
        let caps = data.get(only).cloned().unwrap_or(Value::Null);
        data.insert("capabilities".to_owned(), caps);
    }
    Ok(Some(Response::with_data(data)))
}

async fn capabilities_self(
    sys: Arc<SysBackend>,
    req: Request,
    input: CapabilitiesInput,
) -> Result<Option<Response>, LogicalError> {
    let Some(token) = req.token_entry.clone() else {
        return Err(LogicalError::internal("no token found"));
    };
    let paths = input.paths()?;
    respond(&*sys.core()?, &token, paths).await
}

async fn capabilities(
    sys: Arc<SysBackend>,
    _req: Request,
    input: CapabilitiesInput,
) -> Result<Option<Response>, LogicalError> {
    let id = input.token.clone().unwrap_or_default();
    if id.is_empty() {
        return Err(LogicalError::internal("no token found"));
    }
    let paths = input.paths()?;
    let core = sys.core()?;
    let active = core.require_active().map_err(to_logical)?;
    let Some(token) = active.token_store.lookup(&id).await.map_err(to_logical)? else {
        return Err(LogicalError::user("invalid token"));
    };
    respond(&core, &token.entry, paths).await
}

async fn capabilities_accessor(
    sys: Arc<SysBackend>,
    _req: Request,
    input: CapabilitiesInput,
) -> Result<Option<Response>, LogicalError> {
    let accessor = input.accessor.clone().unwrap_or_default();
    if accessor.is_empty() {
        return Err(LogicalError::user("missing accessor"));
    }
    let core = sys.core()?;
    let active = core.require_active().map_err(to_logical)?;
    let Some(token) = active
        .token_store
        .lookup_accessor(&accessor)
        .await
        .map_err(to_logical)?
    else {
        return Err(LogicalError::user("invalid accessor"));
    };
    let paths = input.paths()?;
    respond(&core, &token.entry, paths).await
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use serde_json::{Value, json};
    use warden_logical::{Map, Operation, Request, SecretString, TokenEntry};
    use warden_storage::memory::MemoryBackend;

    use crate::{Core, CoreBuilder, CoreError};

    async fn core() -> (Arc<Core>, String) {
        let core = CoreBuilder::new(Arc::new(MemoryBackend::new())).build();
        let init = core.initialize(1, 1).await.unwrap();
        core.unseal(init.keys[0].expose()).await.unwrap();
        let root = init.root_token.expose().to_owned();
        (core, root)
    }

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
        let handled = core.handle_request(req).await?;
        Ok(handled.response.and_then(|r| r.data))
    }

    #[tokio::test]
    async fn acl_policy_crud_and_legacy_endpoints() {
        let (core, root) = core().await;
        let list = call(&core, Operation::List, "sys/policies/acl", json!({}), &root).await;
        assert_eq!(list.unwrap().unwrap()["keys"], json!(["default", "root"]));
        let hcl = "path \"secret/*\" { capabilities = [\"read\"] }";
        let put = json!({ "policy": hcl });
        let written = call(&core, Operation::Update, "sys/policies/acl/App", put, &root).await;
        assert!(written.unwrap().is_none());
        let read = call(
            &core,
            Operation::Read,
            "sys/policies/acl/app",
            json!({}),
            &root,
        )
        .await;
        assert_eq!(
            read.unwrap().unwrap(),
            *json!({"name": "app", "policy": hcl}).as_object().unwrap()
        );
        let encoded = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, hcl);
        let put = json!({ "rules": encoded });
        call(&core, Operation::Update, "sys/policy/b64", put, &root)
            .await
            .unwrap();
        let legacy = call(&core, Operation::Read, "sys/policy/b64", json!({}), &root).await;
        assert_eq!(legacy.unwrap().unwrap()["rules"], json!(hcl));
        let all = call(&core, Operation::Read, "sys/policy", json!({}), &root).await;
        let all = all.unwrap().unwrap();
        assert_eq!(all["keys"], json!(["app", "b64", "default", "root"]));
        assert_eq!(all["policies"], all["keys"]);
        let missing = call(
            &core,
            Operation::Read,
            "sys/policies/acl/nope",
            json!({}),
            &root,
        )
        .await;
        assert!(missing.unwrap().is_none());

        let err = |r: Result<Option<Map>, CoreError>| r.unwrap_err().to_string();
        let empty = call(
            &core,
            Operation::Update,
            "sys/policies/acl/x",
            json!({}),
            &root,
        )
        .await;
        assert_eq!(err(empty), "'policy' parameter not supplied or empty");
        let bad = json!({ "policy": "path \"a\" { capabilities = [\"fly\"] }" });
        let bad = call(&core, Operation::Update, "sys/policies/acl/x", bad, &root).await;
        assert_eq!(
            err(bad),
            "failed to parse policy: path \"a\": invalid capability \"fly\""
        );
        let put = json!({ "policy": hcl });
        let root_write = call(
            &core,
            Operation::Update,
            "sys/policies/acl/root",
            put,
            &root,
        )
        .await;
        assert_eq!(err(root_write), "cannot update \"root\" policy");
        let del = call(
            &core,
            Operation::Delete,
            "sys/policies/acl/default",
            json!({}),
            &root,
        )
        .await;
        assert_eq!(err(del), "cannot delete default policy");
        let del = call(
            &core,
            Operation::Delete,
            "sys/policies/acl/app",
            json!({}),
            &root,
        )
        .await;
        assert!(del.unwrap().is_none());
        let list = call(&core, Operation::List, "sys/policies/acl", json!({}), &root).await;
        assert_eq!(
            list.unwrap().unwrap()["keys"],
            json!(["b64", "default", "root"])
        );
    }

    #[tokio::test]
    async fn capabilities_endpoints() {
        let (core, root) = core().await;
        let paths = json!({ "paths": ["secret/x"] });
        let own = call(
            &core,
            Operation::Update,
            "sys/capabilities-self",
            paths,
            &root,
        )
        .await;
        let own = own.unwrap().unwrap();
        assert_eq!(own["secret/x"], json!(["root"]));
        assert_eq!(own["capabilities"], json!(["root"]));
        let two = json!({ "path": "a,b" });
        let two = call(
            &core,
            Operation::Update,
            "sys/capabilities-self",
            two,
            &root,
        )
        .await;
        let two = two.unwrap().unwrap();
        assert_eq!(two.len(), 2);
        assert!(!two.contains_key("capabilities"));
        let given = json!({ "token": root, "paths": ["x"] });
        let given = call(&core, Operation::Update, "sys/capabilities", given, &root).await;
        assert_eq!(given.unwrap().unwrap()["x"], json!(["root"]));

        let err = |r: Result<Option<Map>, CoreError>| r.unwrap_err().to_string();
        let bad = json!({ "token": "nope", "paths": ["x"] });
        let bad = call(&core, Operation::Update, "sys/capabilities", bad, &root).await;
        assert_eq!(err(bad), "invalid token");
        let bad = json!({ "accessor": "nope", "paths": ["x"] });
        let bad = call(
            &core,
            Operation::Update,
            "sys/capabilities-accessor",
            bad,
            &root,
        )
        .await;
        assert_eq!(err(bad), "invalid accessor");
        let none = call(
            &core,
            Operation::Update,
            "sys/capabilities-self",
            json!({}),
            &root,
        )
        .await;
        assert_eq!(err(none), "paths must be supplied");

        // A token's policies, through the store; capabilities come back sorted as in Vault.
        let hcl = "path \"secret/*\" { capabilities = [\"update\", \"read\", \"create\"] }";
        call(
            &core,
            Operation::Update,
            "sys/policies/acl/app",
            json!({ "policy": hcl }),
            &root,
        )
        .await
        .unwrap();
        let token = TokenEntry {
            policies: vec!["app".into(), "missing".into()],
            ..TokenEntry::default()
        };
        let answer = super::respond(&core, &token, vec!["secret/x".into(), "other".into()]).await;
        let data = answer.unwrap().unwrap().data.unwrap();
        assert_eq!(data["secret/x"], json!(["create", "read", "update"]));
        assert_eq!(data["other"], json!(["deny"]));
        let nothing = super::respond(&core, &TokenEntry::default(), vec!["x".into()]).await;
        assert_eq!(
            nothing.unwrap().unwrap().data.unwrap()["x"],
            json!(["deny"])
        );
        let acl = core.acl_for_token(&token).await.unwrap();
        assert!(acl.has_mount_access("secret/"));
    }
}
