//! `auth/<mount>/role/<name>` and `role/`: which tokens may log in, and what their Vault
//! tokens get. Validation order and messages are Vault's (`path_role.go`).

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use warden_logical::framework::{
    Field, FieldType, Input, NoInput, Path, existence, generic_name_regex, handler,
};
use warden_logical::{LogicalError, Map, Operation, Request, Response, StorageEntry, StorageView};

use super::JwtAuth;
use super::claims::{BOUND_CLAIMS_TYPE_GLOB, BOUND_CLAIMS_TYPE_STRING, go_format, normalize_list};
use crate::auth::tokenutil::{TokenParams, token_fields};

/// Metadata keys the method sets itself.
const RESERVED_METADATA: [&str; 1] = ["role"];

/// `role_type=jwt`: a signed JWT is presented at `login`.
pub(crate) const ROLE_TYPE_JWT: &str = "jwt";
/// `role_type=oidc`: the browser flow (not served here); such roles refuse `login`.
pub(crate) const ROLE_TYPE_OIDC: &str = "oidc";

/// A stored role. Leeways are signed seconds, as written (0 means "the default").
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct JwtRole {
    pub(crate) role_type: String,
    pub(crate) expiration_leeway: i64,
    pub(crate) not_before_leeway: i64,
    pub(crate) clock_skew_leeway: i64,
    pub(crate) bound_audiences: Option<Vec<String>>,
    pub(crate) bound_subject: String,
    pub(crate) bound_claims_type: String,
    pub(crate) bound_claims: Option<Map>,
    pub(crate) claim_mappings: Option<BTreeMap<String, String>>,
    pub(crate) user_claim: String,
    pub(crate) user_claim_json_pointer: bool,
    pub(crate) groups_claim: String,
    pub(crate) oidc_scopes: Option<Vec<String>>,
    pub(crate) allowed_redirect_uris: Option<Vec<String>>,
    pub(crate) verbose_oidc_logging: bool,
    pub(crate) max_age: u64,
    #[serde(flatten)]
    pub(crate) token: TokenParams,
}

impl JwtRole {
    /// The bound audiences (none when unset).
    pub(crate) fn audiences(&self) -> &[String] {
        self.bound_audiences.as_deref().unwrap_or_default()
    }
}

pub(super) fn paths(state: &Arc<JwtAuth>) -> Vec<Path> {
    let leeway = |name: &str, default: i64, text: &str| {
        Field::new(name, FieldType::SignedDurationSecond)
            .description(text.to_owned())
            .default(json!(default))
    };
    let mut fields = vec![
        Field::new("name", FieldType::LowerCaseString).description("Name of the role."),
        Field::new("role_type", FieldType::String)
            .description("Type of the role, either 'jwt' or 'oidc'."),
        leeway(
            "expiration_leeway",
            150,
            "Duration in seconds of leeway when validating expiration of a token to account for clock skew. Defaults to 150 (2.5 minutes) if set to 0 and can be disabled if set to -1.",
        ),
        leeway(
            "not_before_leeway",
            150,
            "Duration in seconds of leeway when validating not before values of a token to account for clock skew. Defaults to 150 (2.5 minutes) if set to 0 and can be disabled if set to -1.",
        ),
        leeway(
            "clock_skew_leeway",
            60,
            "Duration in seconds of leeway when validating all claims to account for clock skew. Defaults to 60 (1 minute) if set to 0 and can be disabled if set to -1.",
        ),
        Field::new("bound_subject", FieldType::String)
            .description("The 'sub' claim that is valid for login. Optional."),
        Field::new("bound_audiences", FieldType::CommaStringSlice).description(
            "Comma-separated list of 'aud' claims that are valid for login; any match is sufficient",
        ),
        Field::new("bound_claims_type", FieldType::String)
            .description("How to interpret values in the map of claims/values (which must match for login): allowed values are 'string' or 'glob'")
            .default(json!(BOUND_CLAIMS_TYPE_STRING)),
        Field::new("bound_claims", FieldType::Map)
            .description("Map of claims/values which must match for login"),
        Field::new("claim_mappings", FieldType::KvPairs).description(
            "Mappings of claims (key) that will be copied to a metadata field (value)",
        ),
        Field::new("user_claim", FieldType::String)
            .description("The claim to use for the Identity entity alias name"),
        Field::new("user_claim_json_pointer", FieldType::Bool).description(
            "If true, the user_claim value will use JSON pointer syntax for referencing claims.",
        ),
        Field::new("groups_claim", FieldType::String)
            .description("The claim to use for the Identity group alias names"),
        Field::new("oidc_scopes", FieldType::CommaStringSlice)
            .description("Comma-separated list of OIDC scopes"),
        Field::new("allowed_redirect_uris", FieldType::CommaStringSlice)
            .description("Comma-separated list of allowed values for redirect_uri"),
        Field::new("verbose_oidc_logging", FieldType::Bool).description(
            "Log received OIDC tokens and claims when debug-level logging is active. Not recommended in production since sensitive information may be present in OIDC responses.",
        ),
        Field::new("max_age", FieldType::DurationSecond).description(
            "Specifies the allowable elapsed time in seconds since the last time the user was actively authenticated.",
        ),
    ];
    fields.extend(token_fields());
    vec![
        Path::new("role/?")
            .operation(Operation::List, handler(state, list))
            .help(
                "Lists all the roles registered with the backend.",
                "The list will contain the names of the roles.",
            ),
        Path::new(format!("role/{}", generic_name_regex("name")))
            .fields(fields)
            .existence_check(existence(state, exists))
            .operation(Operation::Read, handler(state, read))
            .operation(Operation::Create, handler(state, write))
            .operation(Operation::Update, handler(state, write))
            .operation(Operation::Delete, handler(state, delete))
            .help(
                "Register an role with the backend.",
                "A role is required to authenticate with this backend. The role binds JWT token information with token policies and settings. The bindings, token polices and token settings can all be configured using this endpoint",
            ),
    ]
}

#[derive(Debug, Deserialize)]
struct RoleName {
    name: String,
}

fn key(name: &str) -> String {
    format!("role/{name}")
}

/// Reads a role, reporting legacy roles (no `role_type`) as `jwt`.
pub(crate) async fn load_role(
    state: &JwtAuth,
    name: &str,
) -> Result<Option<JwtRole>, LogicalError> {
    let storage: &dyn StorageView = state.storage.as_ref();
    let Some(cached) = state.roles.get_or_load(storage, &key(name)).await? else {
        return Ok(None);
    };
    let mut role = JwtRole::clone(&cached);
    if role.role_type.is_empty() {
        role.role_type = ROLE_TYPE_JWT.into();
    }
    if role.bound_claims_type.is_empty() {
        role.bound_claims_type = BOUND_CLAIMS_TYPE_STRING.into();
    }
    Ok(Some(role))
}

async fn list(
    state: Arc<JwtAuth>,
    _req: Request,
    _input: NoInput,
) -> Result<Option<Response>, LogicalError> {
    let keys = state.storage.list("role/").await?;
    let mut data = Map::new();
    data.insert("keys".into(), json!(keys));
    Ok(Some(Response::with_data(data)))
}

async fn exists(state: Arc<JwtAuth>, _req: Request, input: RoleName) -> Result<bool, LogicalError> {
    Ok(load_role(&state, &input.name).await?.is_some())
}

async fn read(
    state: Arc<JwtAuth>,
    _req: Request,
    input: RoleName,
) -> Result<Option<Response>, LogicalError> {
    if input.name.is_empty() {
        return Err(LogicalError::user("missing name"));
    }
    let Some(role) = load_role(&state, &input.name).await? else {
        return Ok(None);
    };
    let mut data = Map::new();
    data.insert("role_type".into(), json!(role.role_type));
    data.insert("expiration_leeway".into(), json!(role.expiration_leeway));
    data.insert("not_before_leeway".into(), json!(role.not_before_leeway));
    data.insert("clock_skew_leeway".into(), json!(role.clock_skew_leeway));
    data.insert("bound_audiences".into(), json!(role.bound_audiences));
    data.insert("bound_subject".into(), json!(role.bound_subject));
    data.insert("bound_claims_type".into(), json!(role.bound_claims_type));
    data.insert("bound_claims".into(), json!(role.bound_claims));
    data.insert("claim_mappings".into(), json!(role.claim_mappings));
    data.insert("user_claim".into(), json!(role.user_claim));
    data.insert(
        "user_claim_json_pointer".into(),
        json!(role.user_claim_json_pointer),
    );
    data.insert("groups_claim".into(), json!(role.groups_claim));
    data.insert(
        "allowed_redirect_uris".into(),
        json!(role.allowed_redirect_uris),
    );
    data.insert("oidc_scopes".into(), json!(role.oidc_scopes));
    data.insert(
        "verbose_oidc_logging".into(),
        json!(role.verbose_oidc_logging),
    );
    data.insert("max_age".into(), json!(role.max_age));
    data.insert("alias_metadata".into(), json!({}));
    role.token.populate_data(&mut data);
    Ok(Some(Response::with_data(data)))
}

async fn delete(
    state: Arc<JwtAuth>,
    _req: Request,
    input: RoleName,
) -> Result<Option<Response>, LogicalError> {
    if input.name.is_empty() {
        return Err(LogicalError::user("role name required"));
    }
    state
        .roles
        .delete(state.storage.as_ref(), &key(&input.name))
        .await?;
    Ok(None)
}

/// Go's `time.Duration.String()` for whole seconds (`3s`, `1m30s`, `768h0m0s`).
pub(crate) fn go_duration(seconds: u64) -> String {
    let (h, m, s) = (seconds / 3600, (seconds % 3600) / 60, seconds % 60);
    match (h, m) {
        (0, 0) => format!("{s}s"),
        (0, _) => format!("{m}m{s}s"),
        _ => format!("{h}h{m}m{s}s"),
    }
}

fn string(data: &Map, key: &str) -> String {
    data.get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

fn int(data: &Map, key: &str) -> i64 {
    data.get(key).and_then(Value::as_i64).unwrap_or(0)
}

fn boolean(data: &Map, key: &str) -> bool {
    data.get(key).and_then(Value::as_bool).unwrap_or(false)
}

/// With `glob`, every bound value must be a string (or a list of strings).
fn check_glob_values(bound_claims: &Map) -> Result<(), LogicalError> {
    for values in bound_claims.values() {
        let Some(list) = normalize_list(values) else {
            return Err(LogicalError::user(format!(
                "claim is not a string or list: {}",
                go_format(values)
            )));
        };
        if let Some(value) = list.into_iter().find(|v| !v.is_string()) {
            return Err(LogicalError::user(format!(
                "claim is not a string: {}",
                go_format(value)
            )));
        }
    }
    Ok(())
}

fn check_mappings(mappings: &BTreeMap<String, String>) -> Result<(), LogicalError> {
    let mut targets = std::collections::BTreeSet::new();
    for target in mappings.values() {
        if RESERVED_METADATA.contains(&target.as_str()) {
            return Err(LogicalError::user(format!(
                "metadata key {target:?} is reserved and may not be a mapping destination"
            )));
        }
        if !targets.insert(target.as_str()) {
            return Err(LogicalError::user(format!(
                "multiple keys are mapped to metadata key {target:?}"
            )));
        }
    }
    Ok(())
}

async fn write(
    state: Arc<JwtAuth>,
    req: Request,
    input: Input<Map>,
) -> Result<Option<Response>, LogicalError> {
    let name = string(&input, "name");
    if name.is_empty() {
        return Err(LogicalError::user("missing role name"));
    }
    let mut role = match load_role(&state, &name).await? {
        Some(role) => role,
        None if req.operation == Operation::Update => {
            return Err(LogicalError::internal(
                "role entry not found during update operation",
            ));
        }
        None => JwtRole::default(),
    };
    let sent = |field: &str| input.provided(field);

    // Vault reads role_type with data.Get: omitted on any write means "oidc".
    let role_type = match string(&input, "role_type") {
        t if t.is_empty() => ROLE_TYPE_OIDC.to_owned(),
        t => t,
    };
    if role_type != ROLE_TYPE_JWT && role_type != ROLE_TYPE_OIDC {
        return Err(LogicalError::user(format!(
            "invalid 'role_type': {role_type}"
        )));
    }
    role.role_type = role_type;

    role.token.parse(&input)?;
    let mount_max = state.system.max_lease_ttl().as_secs();
    if mount_max > 0 && role.token.token_period > mount_max {
        return Err(LogicalError::user(format!(
            "'period' of '{:?}' is greater than the backend's maximum lease TTL of '{:?}'",
            go_duration(role.token.token_period),
            go_duration(mount_max)
        )));
    }

    if sent("expiration_leeway") {
        role.expiration_leeway = int(&input, "expiration_leeway");
    }
    if sent("not_before_leeway") {
        role.not_before_leeway = int(&input, "not_before_leeway");
    }
    if sent("clock_skew_leeway") {
        role.clock_skew_leeway = int(&input, "clock_skew_leeway");
    }
    if sent("bound_audiences") {
        role.bound_audiences = Some(warden_logical::matching::string_list(
            &input,
            "bound_audiences",
        ));
    }
    if sent("bound_subject") {
        role.bound_subject = string(&input, "bound_subject");
    }
    if sent("verbose_oidc_logging") {
        role.verbose_oidc_logging = boolean(&input, "verbose_oidc_logging");
    }
    if sent("max_age") {
        role.max_age = u64::try_from(int(&input, "max_age")).unwrap_or(0);
    }

    // data.Get with a schema default: omitted on an update means "string" again.
    let bound_claims_type = string(&input, "bound_claims_type");
    if bound_claims_type != BOUND_CLAIMS_TYPE_STRING && bound_claims_type != BOUND_CLAIMS_TYPE_GLOB
    {
        return Err(LogicalError::user(format!(
            "invalid 'bound_claims_type': {bound_claims_type}"
        )));
    }
    role.bound_claims_type = bound_claims_type;
    if sent("bound_claims") {
        let bound = input
            .get("bound_claims")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        if role.bound_claims_type == BOUND_CLAIMS_TYPE_GLOB {
            check_glob_values(&bound)?;
        }
        role.bound_claims = Some(bound);
    }

    if sent("claim_mappings") {
        let mappings: BTreeMap<String, String> = input
            .get("claim_mappings")
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                    .collect()
            })
            .unwrap_or_default();
        check_mappings(&mappings)?;
        role.claim_mappings = Some(mappings);
    }

    if sent("user_claim") {
        role.user_claim = string(&input, "user_claim");
    }
    if role.user_claim.is_empty() {
        return Err(LogicalError::user(
            "a user claim must be defined on the role",
        ));
    }
    if sent("user_claim_json_pointer") {
        role.user_claim_json_pointer = boolean(&input, "user_claim_json_pointer");
    }
    if sent("groups_claim") {
        role.groups_claim = string(&input, "groups_claim");
    }
    if sent("oidc_scopes") {
        role.oidc_scopes = Some(warden_logical::matching::string_list(&input, "oidc_scopes"));
    }
    if sent("allowed_redirect_uris") {
        role.allowed_redirect_uris = Some(warden_logical::matching::string_list(
            &input,
            "allowed_redirect_uris",
        ));
    }
    let no_redirects = role
        .allowed_redirect_uris
        .as_ref()
        .is_none_or(Vec::is_empty);
    if role.role_type == ROLE_TYPE_OIDC && no_redirects {
        return Err(LogicalError::user(
            "'allowed_redirect_uris' must be set if 'role_type' is 'oidc' or unspecified.",
        ));
    }
    if role.role_type != ROLE_TYPE_OIDC
        && role.audiences().is_empty()
        && role.token.token_bound_cidrs.is_empty()
        && role.bound_subject.is_empty()
        && role.bound_claims.as_ref().is_none_or(Map::is_empty)
    {
        return Err(LogicalError::user(
            "must have at least one bound constraint when creating/updating a role",
        ));
    }
    if role.token.token_max_ttl > 0 && role.token.token_ttl > role.token.token_max_ttl {
        return Err(LogicalError::user("ttl should not be greater than max ttl"));
    }

    let mut response = Response::default();
    if mount_max > 0 && role.token.token_max_ttl > mount_max {
        response.add_warning(
            "token max ttl is greater than the system or backend mount's maximum TTL value; issued tokens' max TTL value will be truncated",
        );
    }
    if role.verbose_oidc_logging {
        response.add_warning(
            "verbose_oidc_logging has been enabled for this role. This is not recommended in production since sensitive information may be present in OIDC responses.",
        );
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations() {
        assert_eq!(go_duration(0), "0s");
        assert_eq!(go_duration(3), "3s");
        assert_eq!(go_duration(90), "1m30s");
        assert_eq!(go_duration(2_764_800), "768h0m0s");
    }

    #[test]
    fn glob_values_must_be_strings() {
        let ok: Map = serde_json::from_value(json!({"a": "x*", "b": ["y", "z*"]})).unwrap();
        assert!(check_glob_values(&ok).is_ok());
        let num: Map = serde_json::from_value(json!({"bar": "baz", "foo": 25})).unwrap();
        assert_eq!(
            check_glob_values(&num).unwrap_err().to_string(),
            "claim is not a string: 25"
        );
        let list: Map = serde_json::from_value(json!({"foo": ["a", 10]})).unwrap();
        assert_eq!(
            check_glob_values(&list).unwrap_err().to_string(),
            "claim is not a string: 10"
        );
        let obj: Map = serde_json::from_value(json!({"foo": {"k": "v"}})).unwrap();
        assert_eq!(
            check_glob_values(&obj).unwrap_err().to_string(),
            "claim is not a string or list: map[k:v]"
        );
    }

    #[test]
    fn mapping_targets() {
        let mut m = BTreeMap::new();
        m.insert("a".to_owned(), "x".to_owned());
        m.insert("b".to_owned(), "x".to_owned());
        assert_eq!(
            check_mappings(&m).unwrap_err().to_string(),
            "multiple keys are mapped to metadata key \"x\""
        );
        let mut m = BTreeMap::new();
        m.insert("a".to_owned(), "role".to_owned());
        assert_eq!(
            check_mappings(&m).unwrap_err().to_string(),
            "metadata key \"role\" is reserved and may not be a mapping destination"
        );
    }
}
