//! `auth/<mount>/login`, in Vault's order (`path_login.go`, cap's `Validate`): config, role,
//! role type, token, CIDRs, key source, signature and algorithm, issuer/subject/audience and
//! times, the CVE-2024-5798 audience rule, identity (user claim, claim mappings, groups),
//! bound claims last. Every failure returns before an [`Auth`] exists, so a refused login
//! leaves no token, entity or lease behind. Also token renewal.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Deserialize;
use serde_json::{Value, json};
use warden_logical::framework::{Field, FieldType, NoInput, Path, handler};
use warden_logical::{Alias, Auth, LogicalError, Map, Operation, Request, Response};

use super::JwtAuth;
use super::claims::{
    extract_metadata, get_claim, go_format, normalize_list, validate_bound_claims,
};
use super::explain::{self, Trace};
use super::path_role::{JwtRole, ROLE_TYPE_OIDC, load_role};
use super::validator::{self, Expected};

pub(super) fn path(state: &Arc<JwtAuth>) -> Path {
    Path::new("login")
        .fields([
            Field::new("role", FieldType::LowerCaseString).description("The role to log in against."),
            Field::new("jwt", FieldType::String).description("The signed JWT to validate."),
            Field::new("distributed_claim_access_token", FieldType::String).description(
                "An optional token used to fetch group memberships specified by the distributed claim source in the jwt. This is supported only on Azure/Entra ID",
            ),
        ])
        .operation(Operation::Update, handler(state, login))
        .operation(Operation::AliasLookahead, handler(state, login))
        .operation(Operation::ResolveRole, handler(state, resolve_role))
        .help("Authenticates to Vault using a JWT (or OIDC) token.", "Authenticates JWTs.")
}

#[derive(Debug, Deserialize)]
struct LoginInput {
    #[serde(default)]
    role: String,
    #[serde(default)]
    jwt: String,
}

fn user(message: impl Into<String>) -> LogicalError {
    LogicalError::user(message)
}

/// Vault's `getRoleNameAndRoleFromLoginRequest`.
async fn resolve(
    state: &JwtAuth,
    role: &str,
    default_role: &str,
) -> Result<(String, JwtRole), LogicalError> {
    let name = if role.is_empty() { default_role } else { role };
    if name.is_empty() {
        return Err(user("missing role"));
    }
    match load_role(state, name).await? {
        Some(role) => Ok((name.to_owned(), role)),
        None => Err(user(format!("role {name:?} could not be found"))),
    }
}

async fn resolve_role(
    state: Arc<JwtAuth>,
    _req: Request,
    input: LoginInput,
) -> Result<Option<Response>, LogicalError> {
    let Some(runtime) = state.runtime().await? else {
        return Err(user("could not load configuration"));
    };
    let (name, _) = resolve(&state, &input.role, &runtime.config.default_role).await?;
    let mut data = Map::new();
    data.insert("role".into(), json!(name));
    Ok(Some(Response::with_data(data)))
}

async fn login(
    state: Arc<JwtAuth>,
    req: Request,
    input: LoginInput,
) -> Result<Option<Response>, LogicalError> {
    let mut trace = Trace {
        role_name: input.role.clone(),
        ..Trace::default()
    };
    let result = checked_login(&state, &req, &input, &mut trace).await;
    if let Err(err) = &result {
        trace.finish(&req, err);
    }
    result
}

/// The login itself; `trace` learns what an explanation of a refusal needs.
async fn checked_login(
    state: &JwtAuth,
    req: &Request,
    input: &LoginInput,
    trace: &mut Trace,
) -> Result<Option<Response>, LogicalError> {
    let Some(runtime) = state.runtime().await? else {
        return Err(user("could not load configuration"));
    };
    let config = &runtime.config;
    trace.bound_issuer.clone_from(&config.bound_issuer);
    let (role_name, role) = resolve(state, &input.role, &config.default_role).await?;
    trace.role_name.clone_from(&role_name);
    trace.role = Some(role.clone());
    if role.role_type == ROLE_TYPE_OIDC {
        return Err(user("role with oidc role_type is not allowed"));
    }
    if input.jwt.is_empty() {
        return Err(user("missing token"));
    }
    if !role
        .token
        .login_allowed_from(req.connection.as_ref().map(|c| c.remote_addr))
    {
        trace.denial = Some(explain::cidr_denial(&role.token.token_bound_cidrs, req));
        return Err(LogicalError::PermissionDenied);
    }
    let keys = state
        .key_source(&runtime)
        .await
        .map_err(|err| user(format!("error configuring token validator: {err}")))?;

    let verified = match keys.verify(&input.jwt, &runtime.algs).await {
        Ok(verified) => verified,
        Err(err) => {
            let denial =
                explain::verify_denial(&err, &input.jwt, keys, &runtime.algs, config, trace);
            trace.denial = Some(denial);
            return Err(user(format!("error validating token: {}", err.message())));
        }
    };
    trace.claims = Some(verified.claims.as_map().clone());
    let expected = Expected {
        issuer: &config.bound_issuer,
        subject: &role.bound_subject,
        audiences: role.audiences(),
        not_before_leeway: role.not_before_leeway,
        expiration_leeway: role.expiration_leeway,
        clock_skew_leeway: role.clock_skew_leeway,
        now: state.clock.now(),
    };
    validator::validate(&verified.claims, &expected)
        .map_err(|err| user(format!("error validating token: {err}")))?;
    let claims = verified.claims.as_map();

    // CVE-2024-5798: with no bound audiences, any audience (string or list) is refused.
    if role.audiences().is_empty() {
        let has_audience = match claims.get("aud") {
            Some(Value::Array(items)) => !items.is_empty(),
            Some(Value::String(aud)) => !aud.is_empty(),
            _ => false,
        };
        if has_audience {
            return Err(user(
                "audience claim found in JWT but no audiences bound to the role",
            ));
        }
    }

    let (alias, group_aliases) = create_identity(claims, &role_name, &role).map_err(user)?;

    if let Some(bound) = &role.bound_claims {
        validate_bound_claims(&role.bound_claims_type, bound, claims)
            .map_err(|err| user(format!("error validating claims: {err}")))?;
    }

    let mut internal_data = Map::new();
    internal_data.insert("role".into(), json!(role_name));
    let mut auth = Auth {
        display_name: alias.name.clone(),
        metadata: alias.metadata.clone(),
        alias: Some(alias),
        group_aliases,
        internal_data,
        ..Auth::default()
    };
    role.token.populate_auth(&mut auth);
    Ok(Some(Response {
        auth: Some(auth),
        ..Response::default()
    }))
}

/// Vault's `createIdentity`: the alias from the user claim, its metadata from
/// `claim_mappings` plus `role`, and one group alias per group.
fn create_identity(
    claims: &Map,
    role_name: &str,
    role: &JwtRole,
) -> Result<(Alias, Vec<Alias>), String> {
    let user_claim = &role.user_claim;
    let raw = if role.user_claim_json_pointer {
        get_claim(claims, user_claim)
    } else {
        claims.get(user_claim.as_str()).filter(|v| !v.is_null())
    };
    let Some(raw) = raw else {
        return Err(format!("claim {user_claim:?} not found in token"));
    };
    let Some(name) = raw.as_str() else {
        return Err(format!(
            "claim {user_claim:?} could not be converted to string"
        ));
    };
    let mut metadata: BTreeMap<String, String> = match &role.claim_mappings {
        Some(mappings) => extract_metadata(claims, mappings)?,
        None => BTreeMap::new(),
    };
    metadata.insert("role".into(), role_name.to_owned());
    let alias = Alias {
        name: name.to_owned(),
        metadata,
        ..Alias::default()
    };

    let mut groups = Vec::new();
    let groups_claim = &role.groups_claim;
    if groups_claim.is_empty() {
        return Ok((alias, groups));
    }
    let Some(raw) = get_claim(claims, groups_claim) else {
        return Err(format!(
            "failed to fetch groups: {groups_claim:?} claim not found in token"
        ));
    };
    let Some(list) = normalize_list(raw) else {
        return Err(format!(
            "{groups_claim:?} claim could not be converted to string list"
        ));
    };
    for value in list {
        let Some(group) = value.as_str() else {
            return Err(format!(
                "value {} in groups claim could not be parsed as string",
                go_format(value)
            ));
        };
        if !group.is_empty() {
            groups.push(Alias {
                name: group.to_owned(),
                ..Alias::default()
            });
        }
    }
    Ok((alias, groups))
}

/// Renewal: the role must still exist; TTLs come from it again. The JWT is not re-checked.
pub(super) async fn renew(
    state: Arc<JwtAuth>,
    req: Request,
    _input: NoInput,
) -> Result<Option<Response>, LogicalError> {
    let Some(mut auth) = req.auth else {
        return Err(LogicalError::internal("request auth was nil"));
    };
    let role_name = auth
        .internal_data
        .get("role")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    if role_name.is_empty() {
        return Err(LogicalError::internal(
            "failed to fetch role_name during renewal",
        ));
    }
    let Some(role) = load_role(&state, &role_name).await? else {
        return Err(LogicalError::internal(format!(
            "role {role_name} does not exist during renewal"
        )));
    };
    auth.lease.ttl = std::time::Duration::from_secs(role.token.token_ttl);
    auth.lease.max_ttl = std::time::Duration::from_secs(role.token.token_max_ttl);
    auth.period = std::time::Duration::from_secs(role.token.token_period);
    Ok(Some(Response {
        auth: Some(auth),
        ..Response::default()
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn role(user_claim: &str, pointer: bool, groups: &str) -> JwtRole {
        JwtRole {
            user_claim: user_claim.into(),
            user_claim_json_pointer: pointer,
            groups_claim: groups.into(),
            ..JwtRole::default()
        }
    }

    fn claims(value: Value) -> Map {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn user_claim_lookup() {
        let c = claims(
            json!({"https://vault/user": "jeff", "/odd": "x", "nested": {"u": "n"}, "num": 5}),
        );
        let (alias, groups) =
            create_identity(&c, "r", &role("https://vault/user", false, "")).unwrap();
        assert_eq!(alias.name, "jeff");
        assert_eq!(alias.metadata.get("role").map(String::as_str), Some("r"));
        assert!(groups.is_empty());
        // Without the pointer flag a leading slash is part of the key.
        assert_eq!(
            create_identity(&c, "r", &role("/odd", false, ""))
                .unwrap()
                .0
                .name,
            "x"
        );
        assert_eq!(
            create_identity(&c, "r", &role("/nested/u", true, ""))
                .unwrap()
                .0
                .name,
            "n"
        );
        assert_eq!(
            create_identity(&c, "r", &role("/nested/u", false, "")).unwrap_err(),
            "claim \"/nested/u\" not found in token"
        );
        assert_eq!(
            create_identity(&c, "r", &role("num", false, "")).unwrap_err(),
            "claim \"num\" could not be converted to string"
        );
    }

    #[test]
    fn groups_claim_cases() {
        let c = claims(json!({
            "sub": "s",
            "https://vault/groups": ["foo", "", "bar"],
            "nested": {"https://vault/groups": ["n"]},
            "one": "solo",
            "obj": {"a": 1},
            "mixed": ["a", 7],
        }));
        let names = |groups: Vec<Alias>| groups.into_iter().map(|g| g.name).collect::<Vec<_>>();
        let ok = |g: &str| names(create_identity(&c, "r", &role("sub", false, g)).unwrap().1);
        let err = |g: &str| create_identity(&c, "r", &role("sub", false, g)).unwrap_err();
        assert_eq!(ok("https://vault/groups"), ["foo", "bar"]);
        assert_eq!(ok("/nested/https:~1~1vault~1groups"), ["n"]);
        assert_eq!(ok("one"), ["solo"]);
        assert_eq!(
            err("missing"),
            "failed to fetch groups: \"missing\" claim not found in token"
        );
        assert_eq!(
            err("obj"),
            "\"obj\" claim could not be converted to string list"
        );
        assert_eq!(
            err("mixed"),
            "value 7 in groups claim could not be parsed as string"
        );
    }
}
