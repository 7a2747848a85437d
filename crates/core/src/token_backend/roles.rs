//! Token roles: `auth/token/roles/<name>` and `roles/` (Vault's `tsRoleEntry`), and the
//! policy rules `create/<role>` applies.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use warden_logical::framework::{Field, FieldType, Input, NoInput, Path, handler};
use warden_logical::{LogicalError, Map, Operation, Request, Response, StorageEntry, StorageView};

use super::TokenBackend;
use crate::login::sanitize_policies;

/// A stored token role.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct TokenRole {
    pub(crate) name: String,
    pub(crate) allowed_policies: Vec<String>,
    pub(crate) disallowed_policies: Vec<String>,
    pub(crate) allowed_policies_glob: Vec<String>,
    pub(crate) disallowed_policies_glob: Vec<String>,
    pub(crate) orphan: bool,
    pub(crate) renewable: bool,
    pub(crate) path_suffix: String,
    pub(crate) allowed_entity_aliases: Vec<String>,
    pub(crate) token_bound_cidrs: Vec<String>,
    pub(crate) token_explicit_max_ttl: u64,
    pub(crate) token_period: u64,
    pub(crate) token_type: String,
    pub(crate) token_no_default_policy: bool,
    pub(crate) token_num_uses: i64,
}

impl Default for TokenRole {
    fn default() -> Self {
        Self {
            name: String::new(),
            allowed_policies: Vec::new(),
            disallowed_policies: Vec::new(),
            allowed_policies_glob: Vec::new(),
            disallowed_policies_glob: Vec::new(),
            orphan: false,
            renewable: true,
            path_suffix: String::new(),
            allowed_entity_aliases: Vec::new(),
            token_bound_cidrs: Vec::new(),
            token_explicit_max_ttl: 0,
            token_period: 0,
            token_type: "default-service".into(),
            token_no_default_policy: false,
            token_num_uses: 0,
        }
    }
}

pub(super) fn paths(state: &Arc<TokenBackend>) -> Vec<Path> {
    let fields = [
        Field::new("role_name", FieldType::String),
        Field::new("allowed_policies", FieldType::CommaStringSlice),
        Field::new("disallowed_policies", FieldType::CommaStringSlice),
        Field::new("allowed_policies_glob", FieldType::CommaStringSlice),
        Field::new("disallowed_policies_glob", FieldType::CommaStringSlice),
        Field::new("orphan", FieldType::Bool),
        Field::new("renewable", FieldType::Bool),
        Field::new("path_suffix", FieldType::String),
        Field::new("allowed_entity_aliases", FieldType::CommaStringSlice),
        Field::new("token_bound_cidrs", FieldType::CommaStringSlice),
        Field::new("bound_cidrs", FieldType::CommaStringSlice).deprecated(),
        Field::new("token_explicit_max_ttl", FieldType::DurationSecond),
        Field::new("explicit_max_ttl", FieldType::DurationSecond).deprecated(),
        Field::new("token_period", FieldType::DurationSecond),
        Field::new("period", FieldType::DurationSecond).deprecated(),
        Field::new("token_type", FieldType::String),
        Field::new("token_no_default_policy", FieldType::Bool),
        Field::new("token_num_uses", FieldType::Int),
    ];
    vec![
        Path::new("roles/?")
            .operation(Operation::List, handler(state, list))
            .help("List the token roles.", ""),
        Path::new(format!(
            "roles/{}",
            warden_logical::framework::generic_name_regex("role_name")
        ))
        .fields(fields)
        .operation(Operation::Read, handler(state, read))
        .operation(Operation::Update, handler(state, write))
        .operation(Operation::Delete, handler(state, delete))
        .help("Create, read, update or delete a token role.", ""),
    ]
}

fn key(name: &str) -> String {
    format!("token/roles/{}", name.to_lowercase())
}

/// Loads a role by name.
pub(crate) async fn load(
    state: &TokenBackend,
    name: &str,
) -> Result<Option<TokenRole>, LogicalError> {
    let (_, active) = state.active()?;
    let view: &dyn StorageView = active.token_store.view();
    view.get_json(&key(name)).await
}

async fn list(
    state: Arc<TokenBackend>,
    _req: Request,
    _input: NoInput,
) -> Result<Option<Response>, LogicalError> {
    let (_, active) = state.active()?;
    let keys = active.token_store.view().list("token/roles/").await?;
    let mut data = Map::new();
    data.insert("keys".into(), json!(keys));
    Ok(Some(Response::with_data(data)))
}

#[derive(Debug, Deserialize)]
struct RoleName {
    role_name: String,
}

async fn read(
    state: Arc<TokenBackend>,
    _req: Request,
    input: RoleName,
) -> Result<Option<Response>, LogicalError> {
    let Some(role) = load(&state, &input.role_name).await? else {
        return Ok(None);
    };
    let mut data = Map::new();
    data.insert("name".into(), json!(role.name));
    data.insert("allowed_policies".into(), json!(role.allowed_policies));
    data.insert(
        "disallowed_policies".into(),
        json!(role.disallowed_policies),
    );
    data.insert(
        "allowed_policies_glob".into(),
        json!(role.allowed_policies_glob),
    );
    data.insert(
        "disallowed_policies_glob".into(),
        json!(role.disallowed_policies_glob),
    );
    data.insert("orphan".into(), json!(role.orphan));
    data.insert("renewable".into(), json!(role.renewable));
    data.insert("path_suffix".into(), json!(role.path_suffix));
    data.insert(
        "allowed_entity_aliases".into(),
        json!(role.allowed_entity_aliases),
    );
    data.insert("token_bound_cidrs".into(), json!(role.token_bound_cidrs));
    data.insert(
        "token_explicit_max_ttl".into(),
        json!(role.token_explicit_max_ttl),
    );
    data.insert(
        "explicit_max_ttl".into(),
        json!(role.token_explicit_max_ttl),
    );
    data.insert("token_period".into(), json!(role.token_period));
    data.insert("period".into(), json!(role.token_period));
    data.insert("token_type".into(), json!(role.token_type));
    data.insert(
        "token_no_default_policy".into(),
        json!(role.token_no_default_policy),
    );
    data.insert("token_num_uses".into(), json!(role.token_num_uses));
    Ok(Some(Response::with_data(data)))
}

async fn delete(
    state: Arc<TokenBackend>,
    _req: Request,
    input: RoleName,
) -> Result<Option<Response>, LogicalError> {
    let (_, active) = state.active()?;
    active
        .token_store
        .view()
        .delete(&key(&input.role_name))
        .await?;
    Ok(None)
}

fn seconds(data: &Map, key: &str) -> Result<u64, LogicalError> {
    let value = data.get(key).and_then(Value::as_i64).unwrap_or(0);
    u64::try_from(value).map_err(|_| LogicalError::user(format!("'{key}' cannot be negative")))
}

async fn write(
    state: Arc<TokenBackend>,
    _req: Request,
    input: Input<Map>,
) -> Result<Option<Response>, LogicalError> {
    let name = input
        .get("role_name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    if name.is_empty() {
        return Err(LogicalError::user("role name cannot be empty"));
    }
    let mut role = load(&state, &name).await?.unwrap_or_default();
    role.name = name.clone();
    let sent = |k: &str| input.provided(k);
    for (field, target) in [
        ("allowed_policies", &mut role.allowed_policies),
        ("disallowed_policies", &mut role.disallowed_policies),
        ("allowed_policies_glob", &mut role.allowed_policies_glob),
        (
            "disallowed_policies_glob",
            &mut role.disallowed_policies_glob,
        ),
        ("allowed_entity_aliases", &mut role.allowed_entity_aliases),
    ] {
        if sent(field) {
            let values = warden_logical::matching::string_list(&input, field);
            *target = if field.ends_with("_aliases") {
                values
            } else {
                sanitize_policies(&values, false)
            };
        }
    }
    if sent("orphan") {
        role.orphan = input
            .get("orphan")
            .and_then(Value::as_bool)
            .unwrap_or(false);
    }
    if sent("renewable") {
        role.renewable = input
            .get("renewable")
            .and_then(Value::as_bool)
            .unwrap_or(true);
    }
    if sent("path_suffix") {
        let suffix = input
            .get("path_suffix")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if suffix.contains("..") {
            return Err(LogicalError::user(
                "error registering path suffix: 'path_suffix' cannot contain '..'",
            ));
        }
        role.path_suffix = suffix.trim_matches('/').to_owned();
    }
    for (new, old) in [("token_bound_cidrs", "bound_cidrs")] {
        if sent(new) || sent(old) {
            role.token_bound_cidrs =
                warden_logical::matching::string_list(&input, if sent(new) { new } else { old });
        }
    }
    if sent("token_explicit_max_ttl") || sent("explicit_max_ttl") {
        let field = if sent("token_explicit_max_ttl") {
            "token_explicit_max_ttl"
        } else {
            "explicit_max_ttl"
        };
        role.token_explicit_max_ttl = seconds(&input, field)?;
    }
    if sent("token_period") || sent("period") {
        role.token_period = seconds(
            &input,
            if sent("token_period") {
                "token_period"
            } else {
                "period"
            },
        )?;
    }
    if sent("token_type") {
        let token_type = input
            .get("token_type")
            .and_then(Value::as_str)
            .unwrap_or_default();
        role.token_type = match token_type {
            "" | "default" | "default-service" => "default-service".into(),
            "service" | "batch" | "default-batch" => token_type.to_owned(),
            other => {
                return Err(LogicalError::user(format!(
                    "invalid 'token_type' value {other:?}"
                )));
            }
        };
    }
    if sent("token_no_default_policy") {
        role.token_no_default_policy = input
            .get("token_no_default_policy")
            .and_then(Value::as_bool)
            .unwrap_or(false);
    }
    if sent("token_num_uses") {
        let uses = input
            .get("token_num_uses")
            .and_then(Value::as_i64)
            .unwrap_or(0);
        if uses < 0 {
            return Err(LogicalError::user("'token_num_uses' cannot be negative"));
        }
        role.token_num_uses = uses;
    }
    if role.token_type == "batch" && (role.token_period > 0 || role.token_explicit_max_ttl > 0) {
        return Err(LogicalError::user(
            "batch tokens cannot be periodic or have an explicit max TTL",
        ));
    }
    let (_, active) = state.active()?;
    active
        .token_store
        .view()
        .put(StorageEntry::json(key(&name), &role)?)
        .await?;
    Ok(None)
}

/// The policies of a token created against a role with policy rules (Vault's
/// `resolveTokenPolicies`, role branch). `None` when the role sets no policy rules and the
/// ordinary rules apply.
pub(crate) fn role_policies(
    role: &TokenRole,
    requested: &[String],
    parent_policies: &[String],
    no_default_policy: bool,
) -> Option<Result<Vec<String>, LogicalError>> {
    let has_rules = !role.allowed_policies.is_empty()
        || !role.disallowed_policies.is_empty()
        || !role.allowed_policies_glob.is_empty()
        || !role.disallowed_policies_glob.is_empty();
    if !has_rules {
        return None;
    }
    let add_default = !no_default_policy
        && !role.token_no_default_policy
        && !role.disallowed_policies.iter().any(|p| p == "default")
        && !warden_logical::matching::go_glob_any(&role.disallowed_policies_glob, "default");
    let mut policies = if requested.is_empty() {
        Vec::new()
    } else {
        sanitize_policies(requested, add_default)
    };
    if !role.allowed_policies.is_empty() || !role.allowed_policies_glob.is_empty() {
        let allowed = sanitize_policies(&role.allowed_policies, add_default);
        if policies.is_empty() {
            policies = allowed;
        } else {
            let globs = sanitize_policies(&role.allowed_policies_glob, false);
            if let Some(_bad) = policies
                .iter()
                .find(|p| !allowed.contains(p) && !warden_logical::matching::go_glob_any(&globs, p))
            {
                return Some(Err(LogicalError::user(format!(
                    "token policies ({policies:?}) must be subset of the role's allowed policies ({allowed:?}) or glob policies ({globs:?})"
                ))));
            }
        }
    } else if policies.is_empty() {
        policies = sanitize_policies(parent_policies, add_default);
    }
    if let Some(bad) = policies.iter().find(|p| {
        role.disallowed_policies.contains(p)
            || warden_logical::matching::go_glob_any(&role.disallowed_policies_glob, p)
    }) {
        return Some(Err(LogicalError::user(format!(
            "token policy {bad:?} is disallowed by this role"
        ))));
    }
    Some(Ok(policies))
}
