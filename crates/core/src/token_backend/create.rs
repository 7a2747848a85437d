//! `auth/token/create`, `create-orphan` and `create/<role>`, with Vault's checks in Vault's
//! order (`handleCreateCommon`).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use serde_json::{Value, json};
use warden_logical::framework::{Field, FieldType, Input, Path, handler};
use warden_logical::{Auth, LeaseOptions, LogicalError, Operation, Request, Response, TokenType};

use super::roles::{self, TokenRole};
use super::{TokenBackend, caller, duration_field, is_sudo, to_logical};
use crate::login::sanitize_policies;
use crate::token_store::NewToken;
use crate::ttl::{TtlInputs, calculate_ttl};

/// Which create endpoint was called.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Normal,
    Orphan,
    Role,
}

pub(super) fn path(pattern: &str, state: &Arc<TokenBackend>, kind: Kind) -> Path {
    let fields = [
        Field::new("role_name", FieldType::String),
        Field::new("id", FieldType::String).description("Value for the token (root or sudo only)."),
        Field::new("policies", FieldType::CommaStringSlice).description("Policies of the token."),
        Field::new("meta", FieldType::KvPairs).description("Metadata shown in lookups."),
        Field::new("no_parent", FieldType::Bool).default(json!(false)),
        Field::new("no_default_policy", FieldType::Bool).default(json!(false)),
        Field::new("renewable", FieldType::Bool).default(json!(true)),
        Field::new("ttl", FieldType::String).description("Time to live, e.g. 1h."),
        Field::new("lease", FieldType::String).deprecated(),
        Field::new("explicit_max_ttl", FieldType::String),
        Field::new("display_name", FieldType::String),
        Field::new("num_uses", FieldType::Int).default(json!(0)),
        Field::new("period", FieldType::String),
        Field::new("type", FieldType::String),
        Field::new("entity_alias", FieldType::String),
    ];
    let op = match kind {
        Kind::Normal => handler(state, create_normal),
        Kind::Orphan => handler(state, create_orphan),
        Kind::Role => handler(state, create_role),
    };
    Path::new(pattern)
        .fields(fields)
        .operation(Operation::Update, op)
        .help("Create a new token.", "")
}

#[derive(Debug, Deserialize)]
pub(super) struct CreateInput {
    #[serde(default)]
    id: String,
    policies: Option<Vec<String>>,
    meta: Option<BTreeMap<String, String>>,
    #[serde(default)]
    no_parent: bool,
    #[serde(default)]
    no_default_policy: bool,
    #[serde(default = "yes")]
    renewable: bool,
    ttl: Option<Value>,
    lease: Option<Value>,
    explicit_max_ttl: Option<Value>,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    num_uses: i64,
    period: Option<Value>,
    #[serde(rename = "type", default)]
    token_type: String,
    #[serde(default)]
    entity_alias: String,
}

fn yes() -> bool {
    true
}

async fn create_normal(
    state: Arc<TokenBackend>,
    req: Request,
    input: Input<CreateInput>,
) -> Result<Option<Response>, LogicalError> {
    create(state, req, input.into_inner(), false, None).await
}

async fn create_orphan(
    state: Arc<TokenBackend>,
    req: Request,
    input: Input<CreateInput>,
) -> Result<Option<Response>, LogicalError> {
    create(state, req, input.into_inner(), true, None).await
}

async fn create_role(
    state: Arc<TokenBackend>,
    req: Request,
    input: Input<CreateInput>,
) -> Result<Option<Response>, LogicalError> {
    let name = req.path.trim_start_matches("create/").to_owned();
    let Some(role) = roles::load(&state, &name).await? else {
        return Err(LogicalError::user(format!("unknown role {name}")));
    };
    create(state, req, input.into_inner(), false, Some(role)).await
}

fn positive(value: Option<i64>, message: &str) -> Result<u64, LogicalError> {
    match value {
        None => Ok(0),
        Some(v) if v < 0 => Err(LogicalError::user(message)),
        Some(v) => Ok(v.unsigned_abs()),
    }
}

/// Vault's display-name sanitizing: anything but `[A-Za-z0-9-]` becomes `-`.
fn sanitize_display_name(name: &str) -> String {
    let full: String = format!("token-{name}")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    full.trim_end_matches('-').to_owned()
}

async fn create(
    state: Arc<TokenBackend>,
    req: Request,
    input: CreateInput,
    orphan: bool,
    role: Option<TokenRole>,
) -> Result<Option<Response>, LogicalError> {
    let (core, active) = state.active()?;
    let parent = caller(&req)?.clone();
    if parent.token_type == TokenType::Batch {
        return Err(LogicalError::user("batch tokens cannot create more tokens"));
    }
    if parent.num_uses > 0 {
        return Err(LogicalError::user(
            "restricted use token cannot generate child tokens",
        ));
    }
    let sudo = is_sudo(&state, &req).await?;
    let asked_type = match input.token_type.as_str() {
        "" => None,
        "service" => Some(TokenType::Service),
        "batch" => Some(TokenType::Batch),
        _ => return Err(LogicalError::user("invalid 'token_type' value")),
    };
    // A role's token type decides within Vault's rules; a request may choose only under a
    // `default-*` setting.
    let token_type = match role.as_ref().map(|r| r.token_type.as_str()) {
        Some("service") => TokenType::Service,
        Some("batch") => TokenType::Batch,
        Some("default-batch") => asked_type.unwrap_or(TokenType::Batch),
        _ => asked_type.unwrap_or(TokenType::Service),
    };
    if token_type == TokenType::Batch {
        // Clients send "0s" for unset durations (the Go CLI always does): only a non-zero
        // value counts as set, as in Vault.
        let nonzero = |value: Option<&Value>| -> Result<bool, LogicalError> {
            Ok(duration_field(value)?.is_some_and(|secs| secs != 0))
        };
        for (set, name) in [
            (
                nonzero(input.explicit_max_ttl.as_ref())?,
                "explicit_max_ttl",
            ),
            (nonzero(input.period.as_ref())?, "period"),
            (input.num_uses != 0, "num_uses"),
        ] {
            if set {
                return Err(LogicalError::user(format!(
                    "batch tokens cannot have {name:?} set"
                )));
            }
        }
    }
    if input.num_uses < 0 {
        return Err(LogicalError::user("number of uses cannot be negative"));
    }
    if !input.entity_alias.is_empty() {
        return Err(LogicalError::user(
            "'entity_alias' is only allowed with token roles",
        ));
    }
    let mut display_name = "token".to_owned();
    if !input.display_name.is_empty() {
        display_name = sanitize_display_name(&input.display_name);
    }
    let custom_id = if input.id.is_empty() {
        None
    } else {
        if !sudo {
            return Err(LogicalError::user(
                "root or sudo privileges required to specify token id",
            ));
        }
        Some(input.id.clone())
    };

    // Policies: inherit the parent's when none are given; a non-sudo caller only gets a
    // subset of its own.
    let requested = input.policies.clone().unwrap_or_default();
    let mut add_default = false;
    let role_policies = role.as_ref().and_then(|role| {
        roles::role_policies(role, &requested, &parent.policies, input.no_default_policy)
    });
    let policies = if let Some(from_role) = role_policies {
        from_role?
    } else if requested.is_empty() {
        sanitize_policies(&parent.policies, false)
    } else if !sudo {
        let asked = sanitize_policies(&requested, false);
        let own = sanitize_policies(&parent.policies, false);
        if !asked.iter().all(|p| own.contains(p)) {
            return Err(LogicalError::user(
                "child policies must be subset of parent",
            ));
        }
        add_default = !input.no_default_policy && parent.policies.iter().any(|p| p == "default");
        asked
    } else {
        add_default = !input.no_default_policy;
        requested
    };
    let mut policies = sanitize_policies(&policies, add_default);
    if input.no_default_policy {
        policies.retain(|p| p != "default");
    }
    if policies.iter().any(|p| p == "response-wrapping") {
        return Err(LogicalError::user(
            "cannot assign policy \"response-wrapping\"",
        ));
    }
    let wants_root = policies.iter().any(|p| p == "root");
    if wants_root && !parent.is_root() {
        return Err(LogicalError::user(
            "root tokens may not be created without parent token being root",
        ));
    }
    if wants_root && token_type == TokenType::Batch {
        return Err(LogicalError::user("batch tokens cannot be root tokens"));
    }
    if input.no_parent && !sudo {
        return Err(LogicalError::user(
            "root or sudo privileges required to create orphan token",
        ));
    }
    let orphan = match &role {
        Some(role) => role.orphan,
        None => orphan || input.no_parent,
    };

    let mut warnings = Vec::new();
    let mut explicit_max = positive(
        duration_field(input.explicit_max_ttl.as_ref())?,
        "explicit_max_ttl must be positive",
    )?;
    let period = match duration_field(input.period.as_ref())? {
        Some(p) if p < 0 => return Err(LogicalError::user("period must be positive")),
        Some(p) if p > 0 && !sudo => {
            return Err(LogicalError::user(
                "root or sudo privileges required to create periodic token",
            ));
        }
        Some(p) => p.unsigned_abs(),
        None => 0,
    };
    let mut period = period;
    if let Some(role) = role.as_ref().filter(|_| token_type != TokenType::Batch) {
        if role.token_explicit_max_ttl != 0 {
            if explicit_max == 0 {
                explicit_max = role.token_explicit_max_ttl;
            } else {
                explicit_max = explicit_max.min(role.token_explicit_max_ttl);
                warnings.push(format!("Explicit max TTL specified both during creation call and in role; using the lesser value of {explicit_max} seconds"));
            }
        }
        if role.token_period != 0 {
            if period == 0 {
                period = role.token_period;
            } else {
                period = period.min(role.token_period);
                warnings.push(format!("Period specified both during creation call and in role; using the lesser value of {period} seconds"));
            }
        }
    }
    let ttl_raw = match input.ttl.as_ref().filter(|v| !is_empty(v)) {
        Some(ttl) => positive(duration_field(Some(ttl))?, "ttl must be positive")?,
        None => positive(
            duration_field(input.lease.as_ref())?,
            "lease must be positive",
        )?,
    };

    let route = active
        .router
        .get("auth/token/")
        .ok_or(LogicalError::UnsupportedPath)?;
    let (mount_default, mount_max) = core.mount_ttls(&route.entry.config);
    let mut ttl = ttl_raw;
    if period > 0 || ttl > 0 || !wants_root {
        let outcome = calculate_ttl(
            &TtlInputs {
                mount_default,
                mount_max,
                increment: Duration::ZERO,
                backend_ttl: Duration::from_secs(ttl),
                period: Duration::from_secs(period),
                backend_max: Duration::ZERO,
                explicit_max: Duration::from_secs(explicit_max),
            },
            Duration::ZERO,
        )
        .map_err(to_logical)?;
        warnings.extend(outcome.warnings);
        ttl = outcome.ttl.as_secs();
    }
    if ttl == 0 && explicit_max > 0 {
        ttl = explicit_max;
    }
    let mut renewable = input.renewable && role.as_ref().is_none_or(|r| r.renewable);
    let mut bound_cidrs = match &role {
        Some(role) if !role.token_bound_cidrs.is_empty() => role.token_bound_cidrs.clone(),
        Some(_) => Vec::new(),
        None if orphan => Vec::new(),
        None => parent.bound_cidrs.clone(),
    };
    let mut num_uses = input.num_uses;
    if let Some(role) = &role
        && role.token_num_uses > 0
        && (num_uses == 0 || role.token_num_uses < num_uses)
    {
        num_uses = role.token_num_uses;
    }
    let mut path = format!("auth/token/{}", req.path);
    if let Some(role) = role.as_ref().filter(|r| !r.path_suffix.is_empty()) {
        path = format!("{path}/{}", role.path_suffix);
    }
    if ttl == 0 {
        if parent.ttl != 0 {
            return Err(LogicalError::user(
                "expiring root tokens cannot create non-expiring root tokens",
            ));
        }
        renewable = false;
        bound_cidrs.clear();
    }
    if custom_id.is_some() {
        warnings.push(
            "Supplying a custom ID for the token uses the weaker SHA1 hashing instead of the more \
             secure SHA2-256 HMAC for token obfuscation. SHA1 hashed tokens on the wire leads to \
             less secure lookups."
                .to_owned(),
        );
    }
    let record = active
        .token_store
        .create(NewToken {
            token_type,
            id: custom_id,
            policies: policies.clone(),
            parent: (!orphan).then(|| parent.clone()),
            path,
            meta: input.meta.unwrap_or_default(),
            internal_meta: BTreeMap::new(),
            display_name: display_name.clone(),
            num_uses,
            ttl,
            explicit_max_ttl: explicit_max,
            period,
            renewable,
            backend_ttl: ttl_raw,
            backend_max_ttl: 0,
            entity_id: if orphan {
                String::new()
            } else {
                parent.entity_id.clone()
            },
            bound_cidrs,
            no_identity_policies: false,
            role: role.as_ref().map(|r| r.name.clone()).unwrap_or_default(),
        })
        .await
        .map_err(to_logical)?;
    for policy in &policies {
        if policy != "root" && !active.policy_exists(policy).await.map_err(to_logical)? {
            warnings.push(format!("Policy {policy:?} does not exist"));
        }
    }
    let auth = Auth {
        lease: LeaseOptions {
            ttl: Duration::from_secs(ttl),
            renewable: record.lease.as_ref().is_some_and(|l| l.renewable),
            ..LeaseOptions::default()
        },
        token_type: record.entry.token_type,
        display_name,
        policies: policies.clone(),
        token_policies: policies,
        metadata: record.entry.meta.clone(),
        client_token: Some(record.entry.id.clone()),
        accessor: record.entry.accessor.clone(),
        period: Duration::from_secs(period),
        explicit_max_ttl: Duration::from_secs(explicit_max),
        num_uses: record.entry.num_uses,
        entity_id: record.entry.entity_id.clone(),
        orphan: record.entry.parent.is_empty(),
        ..Auth::default()
    };
    Ok(Some(Response {
        auth: Some(auth),
        warnings,
        ..Response::default()
    }))
}

fn is_empty(value: &Value) -> bool {
    matches!(value, Value::Null) || value.as_str() == Some("")
}
