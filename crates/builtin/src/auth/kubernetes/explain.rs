//! Why a kubernetes login was refused: a [`Trace`] follows one login, and at the refusal
//! becomes a [`Denial`] with the precise cause and remedy — the client still gets Vault's
//! answer. TokenReview failures are explained from their [`ReviewError`] class and the
//! Kubernetes answer (e.g. the reviewer's service account parsed from a `Forbidden`).

use serde_json::{Value, json};
use warden_logical::{Denial, LogicalError, Map, Request};

use super::claims::ServiceAccount;
use super::path_config::KubeConfig;
use super::path_role::KubeRole;
use super::token_review::{API_TIMEOUT, ReviewError, ReviewFailure, ReviewedUser};
pub(super) use crate::auth::explain::cidr_denial;
use crate::auth::explain::{claim_check, rfc3339, summary};
use crate::jose;

/// Which credential the TokenReview was made with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BearerSource {
    /// `token_reviewer_jwt` of the config.
    Configured,
    /// The pod's own service-account token (warden runs in the cluster).
    LocalToken,
    /// The client's JWT reviews itself.
    ClientJwt,
}

impl BearerSource {
    pub(crate) fn of(config: &KubeConfig, bearer: &str, client_jwt: &str) -> Self {
        if !config.token_reviewer_jwt.is_empty() {
            Self::Configured
        } else if bearer == client_jwt {
            Self::ClientJwt
        } else {
            Self::LocalToken
        }
    }

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Configured => "token_reviewer_jwt",
            Self::LocalToken => "local service-account token",
            Self::ClientJwt => "the client's JWT",
        }
    }
}

/// What one login learned on its way, for explaining its refusal.
#[derive(Debug, Default)]
pub(super) struct Trace {
    pub(super) role_name: String,
    pub(super) role: Option<KubeRole>,
    pub(super) issuer: String,
    pub(super) claims: Option<Map>,
    /// Set where the cause is known precisely (TokenReview, namespace lookup, CIDR).
    pub(super) denial: Option<Denial>,
}

impl Trace {
    /// Records why the login failed with `err`.
    pub(super) fn finish(self, req: &Request, err: &LogicalError) {
        let message = err.to_string();
        let claims = self.claims.clone().unwrap_or_default();
        let role = self.role.clone().unwrap_or_default();
        let denial = match self.denial {
            Some(denial) => denial,
            None => classify(&message, &claims, &role, &self.issuer),
        };
        let denial = Denial {
            role: self.role_name,
            ..denial
        };
        let denial = if denial.seen.is_empty() && !claims.is_empty() {
            Denial {
                seen: summary(&claims),
                ..denial
            }
        } else {
            denial
        };
        req.record_denial(if denial.message.is_empty() {
            Denial { message, ..denial }
        } else {
            denial
        });
    }
}

/// Denials recognised by the message the client gets.
fn classify(message: &str, claims: &Map, role: &KubeRole, issuer: &str) -> Denial {
    let audience = if role.audience.is_empty() {
        Vec::new()
    } else {
        vec![role.audience.clone()]
    };
    if let Some(denial) = claim_check(message, claims, issuer, &audience, "audience") {
        return denial;
    }
    let sa = ServiceAccount::from_claims(claims);
    match message {
        "missing role" => Denial::new("missing_role", message).remedy("Send the role name in `role`."),
        "missing jwt" => Denial::new("missing_jwt", message).remedy("Send the service-account token in `jwt`."),
        "service account name not authorized" => Denial::new("service_account_name_not_bound", message)
            .expected("bound_service_account_names", json!(role.bound_service_account_names))
            .seen("service_account_name", sa.name.as_str())
            .seen("service_account_namespace", sa.namespace.as_str())
            .remedy(format!(
                "The token belongs to service account {}/{}, which the role does not bind. Add {:?} \
                 to the role's bound_service_account_names, or run the pod as one of {:?}.",
                sa.namespace, sa.name, sa.name, role.bound_service_account_names
            )),
        "namespace not authorized" => Denial::new("namespace_not_bound", message)
            .expected("bound_service_account_namespaces", json!(role.bound_service_account_namespaces))
            .seen("service_account_namespace", sa.namespace.as_str())
            .remedy(format!(
                "The token's namespace {:?} is not in the role's bound_service_account_namespaces {:?} \
                 (and the role has no namespace selector). Add it, or set \
                 bound_service_account_namespace_selector.",
                sa.namespace, role.bound_service_account_namespaces
            )),
        "could not load backend configuration" => Denial::new("not_configured", message)
            .remedy("Write auth/<mount>/config (kubernetes_host, kubernetes_ca_cert, token_reviewer_jwt)."),
        m if m.starts_with("invalid role name") => Denial::new("role_not_found", message)
            .remedy("The role does not exist: list them with `warden list auth/<mount>/role`."),
        _ => Denial::new("unclassified", message),
    }
}

/// A malformed token or a signature that no `pem_keys` key verifies.
pub(super) fn parse_failure(detail: &str, jwt: &str, pem_keys: usize) -> Denial {
    let unverified = jose::decode_unverified(jwt, &jose::Alg::KUBERNETES).ok();
    let denial = match (&unverified, pem_keys) {
        (None, _) => Denial::new("malformed_token", "permission denied")
            .remedy("The jwt is not a well-formed signed JWT: send the service-account token file's content unchanged."),
        (Some(_), _) => Denial::new("signature_invalid", "permission denied")
            .expected("pem_keys", pem_keys)
            .remedy(
                "No configured pem_keys key verifies the token's signature: the cluster's signing key \
                 changed or the token comes from another cluster. Update pem_keys from the cluster's \
                 JWKS (kubectl get --raw /openid/v1/jwks), or remove pem_keys to let the TokenReview decide.",
            ),
    };
    let denial = denial.detail(format!("error verifying token signature: {detail}"));
    match unverified {
        Some(token) => {
            let mut seen = summary(token.claims.as_map());
            seen.insert("kid".into(), json!(token.header.kid));
            seen.insert("alg".into(), json!(token.header.alg.as_str()));
            seen.insert("verified".into(), json!(false));
            Denial { seen, ..denial }
        }
        None => denial,
    }
}

/// The namespace selector did not match, or the namespace could not be read.
pub(super) fn namespace_denial(
    message: &str,
    namespace: &str,
    selector: &str,
    labels: Option<&Value>,
) -> Denial {
    let base = match labels {
        Some(labels) => Denial::new("namespace_selector_mismatch", message)
            .seen("namespace_labels", labels.clone())
            .remedy(format!(
                "Namespace {namespace:?} is neither bound by name nor matched by the role's selector. \
                 Label it (kubectl label namespace {namespace} <key>=<value>) or widen the selector."
            )),
        None => Denial::new("namespace_lookup_failed", message).remedy(
            "The namespace's labels could not be read to check the selector: the reviewer needs \
             `get` on namespaces (a ClusterRole with namespaces/get bound to it), and a \
             token_reviewer_jwt must be configured.",
        ),
    };
    base.expected("bound_service_account_namespace_selector", selector)
        .seen("service_account_namespace", namespace)
}

/// What a TokenReview was made with, for explaining its failure.
#[derive(Debug)]
pub(crate) struct ReviewContext<'a> {
    pub(crate) host: &'a str,
    pub(crate) ca_configured: bool,
    pub(crate) source: BearerSource,
    pub(crate) bearer: &'a str,
    pub(crate) audiences: &'a [String],
}

/// The reviewer's identity from its token's claims (never the token): `sub`, `exp`, `aud`.
fn reviewer_claims(bearer: &str) -> Map {
    let mut out = Map::new();
    if let Ok(token) = jose::decode_unverified(bearer.trim(), &jose::Alg::KUBERNETES) {
        let claims = token.claims.as_map();
        for key in ["sub", "aud", "iss"] {
            if let Some(value) = claims.get(key) {
                out.insert(key.to_owned(), value.clone());
            }
        }
        if let Some(exp) = claims.get("exp").and_then(Value::as_i64) {
            out.insert("exp".into(), json!(exp));
            out.insert("exp_time".into(), json!(rfc3339(exp)));
        }
        if let Some(sa) = claims.get("kubernetes.io/serviceaccount/service-account.name") {
            out.insert("service_account_name".into(), sa.clone());
        }
    }
    out
}

/// `system:serviceaccount:<ns>:<name>` out of RBAC's `User "…" cannot create resource …`.
pub(crate) fn forbidden_user(message: &str) -> Option<String> {
    let rest = message.split_once("User \"")?.1;
    Some(rest.split_once('"')?.0.to_owned())
}

/// The ClusterRoleBinding that lets `user` create TokenReviews: the kubectl command and the
/// YAML.
pub(crate) fn auth_delegator_binding(user: &str) -> (String, String) {
    let parts: Vec<&str> = user.split(':').collect();
    if let ["system", "serviceaccount", namespace, name] = parts.as_slice() {
        let binding = format!("{name}-tokenreview-binding");
        let command = format!(
            "kubectl create clusterrolebinding {binding} --clusterrole=system:auth-delegator --serviceaccount={namespace}:{name}"
        );
        let yaml = format!(
            "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata:\n  name: {binding}\nroleRef:\n  apiGroup: rbac.authorization.k8s.io\n  kind: ClusterRole\n  name: system:auth-delegator\nsubjects:\n- kind: ServiceAccount\n  name: {name}\n  namespace: {namespace}\n"
        );
        return (command, yaml);
    }
    let command = format!(
        "kubectl create clusterrolebinding warden-tokenreview-binding --clusterrole=system:auth-delegator --user={user}"
    );
    let yaml = format!(
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata:\n  name: warden-tokenreview-binding\nroleRef:\n  apiGroup: rbac.authorization.k8s.io\n  kind: ClusterRole\n  name: system:auth-delegator\nsubjects:\n- kind: User\n  name: {user}\n"
    );
    (command, yaml)
}

/// The denial of a failed TokenReview.
pub(crate) fn review_denial(err: &ReviewError, ctx: &ReviewContext<'_>) -> Denial {
    let reviewer = reviewer_claims(ctx.bearer);
    let text = err.message.as_str();
    let status_text = err
        .status
        .get("error")
        .and_then(Value::as_str)
        .unwrap_or(text)
        .to_owned();
    let denial = match err.kind {
        ReviewFailure::Forbidden => {
            let user = forbidden_user(text).unwrap_or_else(|| "<the reviewer>".to_owned());
            let (command, yaml) = auth_delegator_binding(&user);
            let who = if ctx.source == BearerSource::ClientJwt {
                " warden reviews with the client's own JWT (no token_reviewer_jwt and no local token), so every client service account would need this binding; better, configure a token_reviewer_jwt of one bound service account."
            } else {
                ""
            };
            Denial::new("reviewer_lacks_auth_delegator", "permission denied")
                .seen("reviewer", user.as_str())
                .expected("cluster_role", "system:auth-delegator")
                .expected("cluster_role_binding", yaml)
                .remedy(format!("The reviewer {user} may not create TokenReviews. Bind it to system:auth-delegator: {command}.{who}"))
        }
        ReviewFailure::Unauthorized => {
            let expired = reviewer.get("exp").and_then(Value::as_i64).is_some_and(|exp| exp < crate::auth::explain::now());
            let cause = if expired {
                "it has expired (a short-lived token used as token_reviewer_jwt stops working when it expires: use a long-lived token Secret, or run warden in the cluster with its local token)".to_owned()
            } else {
                "it is not valid for the API server's audience (--api-audiences, usually https://kubernetes.default.svc.cluster.local), or its service account was deleted or re-created".to_owned()
            };
            Denial::new("reviewer_token_rejected", "permission denied")
                .seen("reviewer", Value::Object(reviewer))
                .remedy(format!(
                    "The API server rejected the TokenReview's bearer ({}, 401 Unauthorized): {cause}. Issue a new reviewer token (kubectl create token <reviewer> -n <namespace> --duration=8760h) and write it to token_reviewer_jwt.",
                    ctx.source.as_str()
                ))
        }
        ReviewFailure::Timeout => Denial::new("apiserver_timeout", "permission denied")
            .expected("kubernetes_host", ctx.host)
            .expected("timeout_seconds", API_TIMEOUT.as_secs())
            .remedy(format!(
                "The API server at {} did not answer within {} s. Check that warden can reach it (kubectl cluster-info from warden's network) and that it is healthy.",
                ctx.host,
                API_TIMEOUT.as_secs()
            )),
        ReviewFailure::Tls => Denial::new("apiserver_tls_failed", "permission denied")
            .expected("kubernetes_host", ctx.host)
            .expected("kubernetes_ca_cert_set", ctx.ca_configured)
            .remedy(format!(
                "The TLS handshake with {} failed: its certificate is not signed by kubernetes_ca_cert (or the host name does not match it). Set kubernetes_ca_cert to the cluster CA (kubectl config view --raw --minify -o jsonpath='{{.clusters[0].cluster.certificate-authority-data}}' | base64 -d).",
                ctx.host
            )),
        ReviewFailure::Unreachable => Denial::new("apiserver_unreachable", "permission denied")
            .expected("kubernetes_host", ctx.host)
            .remedy(format!(
                "warden could not connect to {}. Check kubernetes_host (kubectl cluster-info shows the address), DNS and network policies between warden and the API server.",
                ctx.host
            )),
        ReviewFailure::ApiError => Denial::new("apiserver_error", "permission denied")
            .seen("http_status", json!(err.code))
            .remedy("The API server refused the TokenReview with an error: see detail and the API server's logs."),
        ReviewFailure::TokenInvalid => token_invalid(&status_text),
        ReviewFailure::NotAuthenticated => Denial::new("token_not_authenticated", "permission denied")
            .remedy("The API server did not authenticate the token: it is not a token of this cluster, or was revoked."),
        ReviewFailure::Audience => Denial::new("token_review_audience_mismatch", "permission denied")
            .expected("audiences", json!(ctx.audiences))
            .seen("token_review_audiences", err.status.get("audiences").cloned().unwrap_or(Value::Null))
            .remedy("The token is valid, but not for the audiences warden asked for (the role's audience, else the token's own). Mint it with the role's audience, or change the role's audience."),
        ReviewFailure::NotServiceAccount => Denial::new("not_a_service_account", "permission denied")
            .seen("user", err.status.get("user").cloned().unwrap_or(Value::Null))
            .remedy("The token authenticates a user that is not a service account: log in with a service-account token."),
    };
    let denial = denial.detail(text).expected("bearer", ctx.source.as_str());
    if err.status.is_object() && denial.seen.get("token_review_status").is_none() {
        denial.seen("token_review_status", err.status.clone())
    } else {
        denial
    }
}

/// The TokenReview authenticated a different service account than the claims name: the
/// account was re-created (new UID), or the claims were altered.
pub(super) fn identity_mismatch(
    err: &str,
    claimed: &ServiceAccount,
    reviewed: &ReviewedUser,
) -> Denial {
    let check = if err == "JWT UIDs did not match" {
        "service_account_recreated"
    } else {
        "token_review_identity_mismatch"
    };
    Denial::new(check, "permission denied")
        .detail(err)
        .expected("service_account", json!({"namespace": claimed.namespace, "name": claimed.name, "uid": claimed.uid}))
        .seen("token_review_user", json!({"namespace": reviewed.namespace, "name": reviewed.name, "uid": reviewed.uid}))
        .remedy(if check == "service_account_recreated" {
            "The service account was deleted and re-created: its UID differs from the token's. Restart the pod or mint a new token."
        } else {
            "The TokenReview names another service account than the token's claims: the token was altered, or the apiserver is not the token's issuer."
        })
}

/// A review whose `status.error` says the token is no longer valid.
fn token_invalid(error: &str) -> Denial {
    let denial = Denial::new("token_review_rejected", "permission denied");
    if error.contains("not found") && error.contains("serviceaccount") {
        Denial { check: "service_account_deleted", ..denial }.remedy(
            "The token's service account no longer exists: re-create it, then restart the pod (or mint a new token) so that it gets a token of the new account.",
        )
    } else if error.contains("does not match claim") {
        Denial { check: "service_account_recreated", ..denial }.remedy(
            "The service account (or the pod or Secret the token is bound to) was deleted and re-created with a new UID; tokens of the old one are invalid. Restart the pod or mint a new token.",
        )
    } else if error.contains("invalidated") {
        Denial {
            check: "token_invalidated",
            ..denial
        }
        .remedy("The pod or Secret the token was bound to is gone: use a token of a running pod.")
    } else if error.contains("expired") {
        Denial { check: "token_expired", ..denial }.remedy(
            "The API server says the token expired: pods must re-read their projected token; copied tokens must be minted again.",
        )
    } else if error.contains("audience") {
        Denial { check: "token_review_audience_mismatch", ..denial }.remedy(
            "The API server does not accept the token for the audiences asked for: set the role's audience to the token's audience, or mint the token for the API server's audience.",
        )
    } else {
        denial.remedy("The API server rejected the token: see detail.")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forbidden_messages_name_the_reviewer_and_the_binding() {
        let message = "tokenreviews.authentication.k8s.io is forbidden: User \"system:serviceaccount:default:internal-app\" cannot create resource \"tokenreviews\" in API group \"authentication.k8s.io\" at the cluster scope";
        let user = forbidden_user(message).unwrap();
        assert_eq!(user, "system:serviceaccount:default:internal-app");
        let (command, yaml) = auth_delegator_binding(&user);
        assert_eq!(
            command,
            "kubectl create clusterrolebinding internal-app-tokenreview-binding --clusterrole=system:auth-delegator --serviceaccount=default:internal-app"
        );
        assert!(
            yaml.contains("  name: internal-app\n  namespace: default\n"),
            "{yaml}"
        );
    }

    #[test]
    fn token_review_errors_are_told_apart() {
        assert_eq!(
            token_invalid("[invalid bearer token, serviceaccounts \"app\" not found]").check,
            "service_account_deleted"
        );
        assert_eq!(
            token_invalid("service account UID (a) does not match claim (b)").check,
            "service_account_recreated"
        );
        assert_eq!(token_invalid("other").check, "token_review_rejected");
    }
}
