//! `auth/<mount>/login`, in Vault's order (`path_login.go`): role, CIDRs, local JWT checks,
//! name and namespace, alias name, TokenReview, annotations; and token renewal.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Deserialize;
use warden_logical::framework::{Field, FieldType, NoInput, Path, handler};
use warden_logical::{Alias, Auth, LogicalError, Map, Operation, Request, Response};

use super::KubeAuth;
use super::claims::{self, ServiceAccount};
use super::explain::{self, BearerSource, ReviewContext, Trace};
use super::path_config::Runtime;
use super::path_role::{ALIAS_SOURCE_NAME, KubeRole, load_role, parse_selector};
use super::token_review::{self, interpret};
use crate::jose;

/// Annotations with this prefix become alias metadata (prefix stripped).
const ANNOTATION_PREFIX: &str = "vault.hashicorp.com/alias-metadata-";
/// Alias metadata keys the method sets itself.
const RESERVED_KEYS: [&str; 4] = [
    "service_account_uid",
    "service_account_name",
    "service_account_namespace",
    "service_account_secret_name",
];

pub(super) fn path(state: &Arc<KubeAuth>) -> Path {
    Path::new("login")
        .fields([
            Field::new("role", FieldType::String)
                .description("Name of the role against which the login is being attempted."),
            Field::new("jwt", FieldType::String)
                .description("A signed JWT for authenticating a service account."),
        ])
        .operation(Operation::Update, handler(state, login))
        .help("Authenticates Kubernetes service accounts with Vault.", "")
}

#[derive(Debug, Deserialize)]
struct LoginInput {
    #[serde(default)]
    role: String,
    #[serde(default)]
    jwt: String,
}

fn denied() -> LogicalError {
    LogicalError::coded(403, "permission denied")
}

fn matches_any(patterns: &[String], value: &str) -> bool {
    warden_logical::matching::go_glob_any(patterns, value)
}

async fn login(
    state: Arc<KubeAuth>,
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
    state: &Arc<KubeAuth>,
    req: &Request,
    input: &LoginInput,
    trace: &mut Trace,
) -> Result<Option<Response>, LogicalError> {
    if input.role.is_empty() {
        return Err(LogicalError::user("missing role"));
    }
    if input.jwt.is_empty() {
        return Err(LogicalError::user("missing jwt"));
    }
    let Some(role) = load_role(state, &input.role).await? else {
        return Err(LogicalError::user(format!(
            "invalid role name {:?}",
            input.role
        )));
    };
    trace.role = Some(role.clone());
    if !role
        .token
        .login_allowed_from(req.connection.as_ref().map(|c| c.remote_addr))
    {
        trace.denial = Some(explain::cidr_denial(&role.token.token_bound_cidrs, req));
        return Err(denied());
    }
    let runtime = state
        .runtime()
        .await?
        .ok_or_else(|| LogicalError::internal("could not load backend configuration"))?;

    // Local checks, before any network call.
    let claims = parse_claims(state, &runtime, &input.jwt, trace)?;
    trace.claims = Some(claims.clone());
    let config = &runtime.config;
    let issuer = (!config.disable_iss_validation && !config.issuer.is_empty())
        .then_some(config.issuer.as_str());
    trace.issuer = issuer.unwrap_or_default().to_owned();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    claims::validate(&claims, issuer, &role.audience, now)?;
    let sa = ServiceAccount::from_claims(&claims);
    let any_name =
        role.bound_service_account_names.len() == 1 && role.bound_service_account_names[0] == "*";
    if !(any_name || matches_any(&role.bound_service_account_names, &sa.name)) {
        return Err(LogicalError::coded(
            403,
            "service account name not authorized",
        ));
    }
    check_namespace(state, &runtime, &role, &sa, &input.jwt, trace).await?;
    let alias_name = alias_name(&role, &sa)?;

    // The TokenReview is the real authenticator.
    let audiences = if role.audience.is_empty() {
        claims::audiences(&claims)
    } else {
        vec![role.audience.clone()]
    };
    let bearer = state.reviewer_bearer(config, &input.jwt);
    let started = std::time::Instant::now();
    let answer = runtime
        .api
        .token_review(bearer.expose(), &input.jwt, &audiences)
        .await;
    let reviewed = answer.and_then(|raw| interpret(&raw, &audiences));
    token_review::record_review(&state.mount_path, started, &reviewed);
    let reviewed = match reviewed {
        Ok(user) => user,
        Err(err) => {
            state.log_unauthorized(&err.message);
            let context = ReviewContext {
                host: &config.kubernetes_host,
                ca_configured: !config.kubernetes_ca_cert.is_empty(),
                source: BearerSource::of(config, bearer.expose(), &input.jwt),
                bearer: bearer.expose(),
                audiences: &audiences,
            };
            trace.denial = Some(explain::review_denial(&err, &context));
            return Err(denied());
        }
    };
    let mismatch = if reviewed.name != sa.name {
        Some("JWT names did not match")
    } else if reviewed.uid != sa.uid {
        Some("JWT UIDs did not match")
    } else if reviewed.namespace != sa.namespace {
        Some("JWT namepaces did not match")
    } else {
        None
    };
    if let Some(err) = mismatch {
        state.log_unauthorized(err);
        trace.denial = Some(explain::identity_mismatch(err, &sa, &reviewed));
        return Err(denied());
    }

    let mut alias_metadata = BTreeMap::new();
    if config.use_annotations_as_alias_metadata {
        let bearer = state.reviewer_bearer(config, &input.jwt);
        let annotations = runtime
            .api
            .service_account_annotations(bearer.expose(), &sa.namespace, &sa.name)
            .await
            .map_err(LogicalError::internal)?;
        let mut reserved = Vec::new();
        for (key, value) in annotations {
            if let Some(key) = key.strip_prefix(ANNOTATION_PREFIX) {
                if RESERVED_KEYS.contains(&key) {
                    reserved.push(format!("{key:?}"));
                }
                alias_metadata.insert(key.to_owned(), value);
            }
        }
        if !reserved.is_empty() {
            return Err(LogicalError::user(format!(
                "entity alias metadata keys for only internal use found from the client token's associated service account annotations: keys=[{}]",
                reserved.join(",")
            )));
        }
    }
    if sa.uid.is_empty() {
        return Err(LogicalError::internal("could not parse UID from claims"));
    }
    let mut metadata = BTreeMap::new();
    metadata.insert("service_account_uid".to_owned(), sa.uid.clone());
    metadata.insert("service_account_name".to_owned(), sa.name.clone());
    metadata.insert("service_account_namespace".to_owned(), sa.namespace.clone());
    metadata.insert(
        "service_account_secret_name".to_owned(),
        sa.secret_name.clone(),
    );
    alias_metadata.extend(metadata.clone());
    metadata.insert("role".to_owned(), input.role.clone());

    let mut internal_data = Map::new();
    internal_data.insert("role".into(), serde_json::json!(input.role));
    let mut auth = Auth {
        internal_data,
        display_name: format!("{}-{}", sa.namespace, sa.name),
        metadata,
        alias: Some(Alias {
            name: alias_name,
            metadata: alias_metadata,
            ..Alias::default()
        }),
        ..Auth::default()
    };
    role.token.populate_auth(&mut auth);
    Ok(Some(Response {
        auth: Some(auth),
        ..Response::default()
    }))
}

/// Reads the JWT's claims: verified against `pem_keys` when configured, unverified
/// otherwise (the TokenReview then authenticates). Any parse or signature failure is a
/// plain `permission denied`; the detail goes to the operator log.
fn parse_claims(
    state: &KubeAuth,
    runtime: &Runtime,
    jwt: &str,
    trace: &mut Trace,
) -> Result<Map, LogicalError> {
    let result = if runtime.keys.is_empty() {
        jose::decode_unverified(jwt, &jose::Alg::KUBERNETES).map(|token| token.claims)
    } else {
        jose::verify(jwt, &runtime.keys, &jose::Alg::KUBERNETES).map(|token| token.claims)
    };
    match result {
        Ok(claims) => Ok(claims.into_map()),
        Err(err) => {
            state.log_unauthorized(&format!("error verifying token signature: {err}"));
            trace.denial = Some(explain::parse_failure(
                &err.to_string(),
                jwt,
                runtime.keys.len(),
            ));
            Err(denied())
        }
    }
}

async fn check_namespace(
    state: &KubeAuth,
    runtime: &Runtime,
    role: &KubeRole,
    sa: &ServiceAccount,
    client_jwt: &str,
    trace: &mut Trace,
) -> Result<(), LogicalError> {
    let namespaces = &role.bound_service_account_namespaces;
    if namespaces.first().is_some_and(|n| n == "*") || matches_any(namespaces, &sa.namespace) {
        return Ok(());
    }
    let selector = &role.bound_service_account_namespace_selector;
    if selector.is_empty() {
        return Err(LogicalError::coded(403, "namespace not authorized"));
    }
    let config = &runtime.config;
    let bearer = state.reviewer_bearer(config, client_jwt);
    let lookup = if bearer.expose() == client_jwt {
        Err("namespace lookup failed: TokenReviewer JWT needs to be configured to use namespace selectors".to_owned())
    } else {
        runtime
            .api
            .namespace_labels(bearer.expose(), &sa.namespace)
            .await
    };
    match lookup {
        Ok(labels) => {
            let wanted = parse_selector(selector).unwrap_or_default();
            if wanted.iter().all(|(k, v)| labels.get(k) == Some(v)) {
                Ok(())
            } else {
                let seen = serde_json::json!(labels);
                let message = "namespace not authorized";
                trace.denial = Some(explain::namespace_denial(
                    message,
                    &sa.namespace,
                    selector,
                    Some(&seen),
                ));
                Err(LogicalError::coded(403, message))
            }
        }
        Err(err) => {
            let message = format!("namespace not authorized err={err}");
            trace.denial = Some(explain::namespace_denial(
                &message,
                &sa.namespace,
                selector,
                None,
            ));
            Err(LogicalError::coded(403, message))
        }
    }
}

fn alias_name(role: &KubeRole, sa: &ServiceAccount) -> Result<String, LogicalError> {
    if role.alias_name_source == ALIAS_SOURCE_NAME {
        if sa.namespace.is_empty() || sa.name.is_empty() {
            return Err(LogicalError::internal(
                "service account namespace and name must be set",
            ));
        }
        return Ok(format!("{}/{}", sa.namespace, sa.name));
    }
    if sa.uid.is_empty() {
        return Err(LogicalError::internal("could not parse UID from claims"));
    }
    Ok(sa.uid.clone())
}

/// Renewal: the role must still exist; TTLs come from it again. The JWT is not re-checked.
pub(super) async fn renew(
    state: Arc<KubeAuth>,
    req: Request,
    _input: NoInput,
) -> Result<Option<Response>, LogicalError> {
    let Some(mut auth) = req.auth else {
        return Err(LogicalError::internal("request auth was nil"));
    };
    let role_name = auth
        .internal_data
        .get("role")
        .and_then(|v| v.as_str())
        .unwrap_or_default()
        .to_owned();
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
