//! `auth/<mount>/debug/token-review` (warden extension, needs `sudo`): performs the
//! TokenReview exactly as a login would — same host, CA, audiences and bearer choice —
//! and answers with the Kubernetes answer (the echoed token removed) and a diagnosis. The
//! seed article's manual `curl …/tokenreviews`, built in.

use std::sync::Arc;

use serde::Deserialize;
use serde_json::{Value, json};
use warden_logical::framework::{Field, FieldType, Path, handler};
use warden_logical::{LogicalError, Map, Operation, Request, Response, SecretString};

use super::KubeAuth;
use super::claims;
use super::explain::{self, BearerSource, ReviewContext};
use super::path_role::load_role;
use super::token_review::interpret;
use crate::auth::explain::summary;
use crate::jose;

pub(super) fn path(state: &Arc<KubeAuth>) -> Path {
    Path::new("debug/token-review")
        .fields([
            Field::new("jwt", FieldType::String).description("The service-account JWT to review."),
            Field::new("reviewer_jwt", FieldType::String)
                .description("Review with this bearer instead of the one a login would use."),
            Field::new("role", FieldType::String)
                .description("Use this role's audience, as a login against it would."),
        ])
        .operation(Operation::Update, handler(state, review))
        .help(
            "Perform a login's TokenReview and explain its outcome.",
            "Uses the mount's kubernetes_host, kubernetes_ca_cert and reviewer bearer.",
        )
}

#[derive(Debug, Deserialize)]
struct DebugInput {
    #[serde(default)]
    jwt: String,
    #[serde(default)]
    reviewer_jwt: String,
    #[serde(default)]
    role: String,
}

async fn review(
    state: Arc<KubeAuth>,
    _req: Request,
    input: DebugInput,
) -> Result<Option<Response>, LogicalError> {
    if input.jwt.is_empty() {
        return Err(LogicalError::user("missing jwt"));
    }
    let runtime = state
        .runtime()
        .await?
        .ok_or_else(|| LogicalError::user("could not load backend configuration"))?;
    let config = &runtime.config;
    let claims =
        jose::decode_unverified(&input.jwt, &jose::Alg::KUBERNETES).map(|t| t.claims.into_map());
    let role_audience = if input.role.is_empty() {
        String::new()
    } else {
        let Some(role) = load_role(&state, &input.role).await? else {
            return Err(LogicalError::user(format!(
                "invalid role name {:?}",
                input.role
            )));
        };
        role.audience
    };
    let audiences = match (&claims, role_audience.is_empty()) {
        (_, false) => vec![role_audience],
        (Ok(claims), true) => claims::audiences(claims),
        (Err(_), true) => Vec::new(),
    };
    let (bearer, source) = if input.reviewer_jwt.is_empty() {
        let bearer = state.reviewer_bearer(config, &input.jwt);
        let source = BearerSource::of(config, bearer.expose(), &input.jwt);
        (bearer, source.as_str())
    } else {
        (
            SecretString::new(input.reviewer_jwt.clone()),
            "reviewer_jwt parameter",
        )
    };
    let mut data = Map::new();
    data.insert("kubernetes_host".into(), json!(config.kubernetes_host));
    data.insert(
        "kubernetes_ca_cert_set".into(),
        json!(!config.kubernetes_ca_cert.is_empty()),
    );
    data.insert("bearer".into(), json!(source));
    data.insert("audiences".into(), json!(audiences));
    match &claims {
        Ok(claims) => data.insert("claims".into(), Value::Object(summary(claims))),
        Err(err) => data.insert(
            "claims_error".into(),
            json!(format!("the jwt could not be decoded: {err}")),
        ),
    };
    let answer = runtime
        .api
        .token_review(bearer.expose(), &input.jwt, &audiences)
        .await;
    if let Ok(raw) = &answer {
        data.insert("http_status".into(), json!(raw.code));
        data.insert("response".into(), raw.body.clone());
    }
    match answer.and_then(|raw| interpret(&raw, &audiences)) {
        Ok(user) => {
            data.insert("authenticated".into(), json!(true));
            data.insert("check".into(), json!("ok"));
            data.insert(
                "diagnosis".into(),
                json!(format!(
                    "The TokenReview authenticated system:serviceaccount:{}:{} (uid {}). A login can still be refused by the role's bindings.",
                    user.namespace, user.name, user.uid
                )),
            );
        }
        Err(err) => {
            let context = ReviewContext {
                host: &config.kubernetes_host,
                ca_configured: !config.kubernetes_ca_cert.is_empty(),
                source: if input.reviewer_jwt.is_empty() {
                    BearerSource::of(config, bearer.expose(), &input.jwt)
                } else {
                    BearerSource::Configured
                },
                bearer: bearer.expose(),
                audiences: &audiences,
            };
            let denial = explain::review_denial(&err, &context);
            data.insert("authenticated".into(), json!(false));
            data.insert("check".into(), json!(denial.check));
            data.insert("error".into(), json!(err.message));
            data.insert("diagnosis".into(), json!(denial.remedy));
            if let Some(binding) = denial.expected.get("cluster_role_binding") {
                data.insert("cluster_role_binding".into(), binding.clone());
            }
            if let Some(reviewer) = denial.seen.get("reviewer") {
                data.insert("reviewer".into(), reviewer.clone());
            }
        }
    }
    Ok(Some(Response::with_data(data)))
}
