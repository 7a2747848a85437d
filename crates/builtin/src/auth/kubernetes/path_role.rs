//! `auth/<mount>/role/<name>` and `role/`: which service accounts may log in, and what
//! their tokens get. Validation order and messages are Vault's (`path_role.go`).

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use warden_logical::framework::{Field, FieldType, Input, NoInput, Path, existence, handler};
use warden_logical::{LogicalError, Map, Operation, Request, Response, StorageEntry, StorageView};

use super::KubeAuth;
use crate::auth::tokenutil::{TokenParams, token_fields};

/// Alias names from the service account's UID (the default, and the safe choice).
pub(crate) const ALIAS_SOURCE_UID: &str = "serviceaccount_uid";
/// Alias names `<namespace>/<name>`.
pub(crate) const ALIAS_SOURCE_NAME: &str = "serviceaccount_name";

/// A stored role.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct KubeRole {
    pub(crate) bound_service_account_names: Vec<String>,
    pub(crate) bound_service_account_namespaces: Vec<String>,
    pub(crate) bound_service_account_namespace_selector: String,
    pub(crate) audience: String,
    pub(crate) alias_name_source: String,
    #[serde(flatten)]
    pub(crate) token: TokenParams,
}

pub(super) fn paths(state: &Arc<KubeAuth>) -> Vec<Path> {
    let mut fields = vec![
        Field::new("name", FieldType::String).description("Name of the role."),
        Field::new("bound_service_account_names", FieldType::CommaStringSlice)
            .description("List of service account names able to access this role. If set to \"*\" all names are allowed."),
        Field::new("bound_service_account_namespaces", FieldType::CommaStringSlice)
            .description("List of namespaces allowed to access this role. If set to \"*\" all namespaces are allowed."),
        Field::new("bound_service_account_namespace_selector", FieldType::String)
            .description("A label selector for Kubernetes namespaces which are allowed to access this role (JSON or YAML)."),
        Field::new("audience", FieldType::String).description("Audience claim to verify in the JWT."),
        Field::new("alias_name_source", FieldType::String)
            .description("Source to use when deriving the Alias name: serviceaccount_uid or serviceaccount_name."),
    ];
    fields.extend(token_fields());
    vec![
        Path::new("role/?")
            .operation(Operation::List, handler(state, list))
            .help("Lists all the roles registered with the backend.", ""),
        Path::new(format!(
            "role/{}",
            warden_logical::framework::generic_name_with_at_regex("name")
        ))
        .fields(fields)
        .existence_check(existence(state, exists))
        .operation(Operation::Read, handler(state, read))
        .operation(Operation::Create, handler(state, write))
        .operation(Operation::Update, handler(state, write))
        .operation(Operation::Delete, handler(state, delete))
        .help("Register a role with the backend.", ""),
    ]
}

#[derive(Debug, Deserialize)]
struct RoleName {
    name: String,
}

fn key(name: &str) -> String {
    format!("role/{}", name.to_lowercase())
}

pub(crate) async fn load_role(
    state: &KubeAuth,
    name: &str,
) -> Result<Option<KubeRole>, LogicalError> {
    let storage: &dyn StorageView = state.storage.as_ref();
    let cached = state.roles.get_or_load(storage, &key(name)).await?;
    Ok(cached.map(|role| KubeRole::clone(&role)))
}

async fn list(
    state: Arc<KubeAuth>,
    _req: Request,
    _input: NoInput,
) -> Result<Option<Response>, LogicalError> {
    let keys = state.storage.list("role/").await?;
    let mut data = Map::new();
    data.insert("keys".into(), json!(keys));
    Ok(Some(Response::with_data(data)))
}

async fn exists(
    state: Arc<KubeAuth>,
    _req: Request,
    input: RoleName,
) -> Result<bool, LogicalError> {
    Ok(load_role(&state, &input.name).await?.is_some())
}

async fn read(
    state: Arc<KubeAuth>,
    _req: Request,
    input: RoleName,
) -> Result<Option<Response>, LogicalError> {
    let Some(role) = load_role(&state, &input.name).await? else {
        return Ok(None);
    };
    let mut data = Map::new();
    data.insert(
        "bound_service_account_names".into(),
        json!(role.bound_service_account_names),
    );
    data.insert(
        "bound_service_account_namespaces".into(),
        json!(role.bound_service_account_namespaces),
    );
    data.insert(
        "bound_service_account_namespace_selector".into(),
        json!(role.bound_service_account_namespace_selector),
    );
    if !role.audience.is_empty() {
        data.insert("audience".into(), json!(role.audience));
    }
    data.insert("alias_name_source".into(), json!(role.alias_name_source));
    data.insert("alias_metadata".into(), json!({}));
    role.token.populate_data(&mut data);
    Ok(Some(Response::with_data(data)))
}

async fn delete(
    state: Arc<KubeAuth>,
    _req: Request,
    input: RoleName,
) -> Result<Option<Response>, LogicalError> {
    state
        .roles
        .delete(state.storage.as_ref(), &key(&input.name))
        .await?;
    Ok(None)
}

/// Only `matchLabels` of a Kubernetes `LabelSelector` is supported, in JSON or YAML.
pub(crate) fn parse_selector(raw: &str) -> Option<BTreeMap<String, String>> {
    let value: Value = serde_json::from_str(raw)
        .ok()
        .or_else(|| parse_simple_yaml(raw))?;
    let object = value.as_object()?;
    if object.keys().any(|k| k != "matchLabels") {
        return None;
    }
    let labels = object.get("matchLabels").and_then(Value::as_object)?;
    labels
        .iter()
        .map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
        .collect()
}

/// The YAML form operators write (`matchLabels:` then indented `key: value` lines).
fn parse_simple_yaml(raw: &str) -> Option<Value> {
    let mut lines = raw
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'));
    let head = lines.next()?.trim_end();
    if head.trim() != "matchLabels:" {
        return None;
    }
    let mut labels = Map::new();
    for line in lines {
        if !line.starts_with(' ') && !line.starts_with('\t') {
            return None;
        }
        let (k, v) = line.trim().split_once(':')?;
        let v = v.trim().trim_matches('"').trim_matches('\'');
        labels.insert(k.trim().trim_matches('"').to_owned(), json!(v));
    }
    Some(json!({ "matchLabels": labels }))
}

fn humanize(seconds: u64) -> String {
    let (h, m, s) = (seconds / 3600, (seconds % 3600) / 60, seconds % 60);
    match (h, m) {
        (0, 0) => format!("{s}s"),
        (0, _) => format!("{m}m{s}s"),
        _ => format!("{h}h{m}m{s}s"),
    }
}

async fn write(
    state: Arc<KubeAuth>,
    req: Request,
    input: Input<Map>,
) -> Result<Option<Response>, LogicalError> {
    let name = input
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let creating = req.operation == Operation::Create;
    let mut role: KubeRole = load_role(&state, &name).await?.unwrap_or_default();
    if !creating && role.alias_name_source.is_empty() {
        role.alias_name_source = ALIAS_SOURCE_UID.into();
    }
    role.token.parse(&input)?;
    let mut response = Response::default();
    let mount_max = state.system.max_lease_ttl().as_secs();
    if role.token.token_period > mount_max {
        return Err(LogicalError::user(format!(
            "token period of '{:?}' is greater than the backend's maximum lease TTL of '{:?}'",
            humanize(role.token.token_period),
            humanize(mount_max)
        )));
    }
    if role.token.token_max_ttl > 0 && role.token.token_ttl > role.token.token_max_ttl {
        return Err(LogicalError::user(
            "token ttl should not be greater than token max ttl",
        ));
    }
    if role.token.token_max_ttl > mount_max {
        response.add_warning(
            "max_ttl is greater than the system or backend mount's maximum TTL value; issued tokens' max TTL value will be truncated",
        );
    }

    if input.provided("bound_service_account_names") {
        role.bound_service_account_names =
            warden_logical::matching::string_list(&input, "bound_service_account_names");
    }
    if role.bound_service_account_names.is_empty() {
        return Err(LogicalError::user(
            "\"bound_service_account_names\" can not be empty",
        ));
    }
    if role.bound_service_account_names.len() > 1
        && role.bound_service_account_names.iter().any(|n| n == "*")
    {
        return Err(LogicalError::user("can not mix \"*\" with values"));
    }
    if input.provided("bound_service_account_namespaces") {
        role.bound_service_account_namespaces =
            warden_logical::matching::string_list(&input, "bound_service_account_namespaces");
    }
    // Vault reads the selector with data.Get: an update that omits it clears it.
    role.bound_service_account_namespace_selector = input
        .get("bound_service_account_namespace_selector")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let selector = &role.bound_service_account_namespace_selector;
    if role.bound_service_account_namespaces.is_empty() && selector.is_empty() {
        return Err(LogicalError::user(
            "\"bound_service_account_namespaces\" can not be empty if \"bound_service_account_namespace_selector\" is not set",
        ));
    }
    if !selector.is_empty() && parse_selector(selector).is_none() {
        return Err(LogicalError::user(
            "invalid \"bound_service_account_namespace_selector\" configured",
        ));
    }
    if role.bound_service_account_namespaces.len() > 1
        && role
            .bound_service_account_namespaces
            .iter()
            .any(|n| n == "*")
    {
        return Err(LogicalError::user("can not mix \"*\" with values"));
    }
    if input.provided("audience") {
        role.audience = input
            .get("audience")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
    }
    if role.audience.is_empty() {
        response.add_warning(format!(
            "Role {name} does not have an audience configured. While audiences are not required, consider specifying one if your use case would benefit from additional JWT claim verification."
        ));
    }
    if input.provided("alias_name_source") {
        role.alias_name_source = input
            .get("alias_name_source")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
    } else if creating {
        role.alias_name_source = ALIAS_SOURCE_UID.into();
    }
    if role.alias_name_source != ALIAS_SOURCE_UID && role.alias_name_source != ALIAS_SOURCE_NAME {
        return Err(LogicalError::user(
            "invalid alias_name_source, must be one of: serviceaccount_uid, serviceaccount_name",
        ));
    }
    state
        .roles
        .put(
            state.storage.as_ref(),
            StorageEntry::json(key(&name), &role)?,
        )
        .await?;
    Ok(if response.warnings.is_empty() {
        None
    } else {
        Some(response)
    })
}
