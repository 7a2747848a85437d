//! Why a jwt login was refused: a [`Trace`] follows one login and, at the refusal, becomes a
//! [`Denial`] naming the failed check (signature and key lookup, issuer, subject, audience,
//! times, the CVE-2024-5798 audience rule, identity claims, bound claims) with a remedy.
//! The client still gets Vault's answer.

use serde_json::{Value, json};
use warden_logical::{Denial, LogicalError, Map, Request};

use super::KeySource;
use super::claims::get_claim;
use super::keyset::VerifyError;
use super::path_config::JwtConfig;
use super::path_role::JwtRole;
pub(super) use crate::auth::explain::cidr_denial;
use crate::auth::explain::{claim_check, summary};
use crate::jose::{self, Alg};

/// What one login learned on its way.
#[derive(Debug, Default)]
pub(super) struct Trace {
    pub(super) role_name: String,
    pub(super) role: Option<JwtRole>,
    pub(super) bound_issuer: String,
    /// The verified claims, or the unverified ones when the signature failed.
    pub(super) claims: Option<Map>,
    pub(super) denial: Option<Denial>,
}

impl Trace {
    /// Records why the login failed with `err`.
    pub(super) fn finish(self, req: &Request, err: &LogicalError) {
        let message = err.to_string();
        let claims = self.claims.unwrap_or_default();
        let role = self.role.unwrap_or_default();
        let denial = match self.denial {
            Some(denial) => Denial { message, ..denial },
            None => classify(&message, &claims, &role, &self.bound_issuer),
        };
        let denial = if denial.seen.is_empty() && !claims.is_empty() {
            Denial {
                seen: summary(&claims),
                ..denial
            }
        } else {
            denial
        };
        req.record_denial(Denial {
            role: self.role_name,
            ..denial
        });
    }
}

fn classify(message: &str, claims: &Map, role: &JwtRole, bound_issuer: &str) -> Denial {
    if let Some(denial) = claim_check(
        message,
        claims,
        bound_issuer,
        role.audiences(),
        "bound_audiences",
    ) {
        return denial;
    }
    let text = message.trim_start_matches("error validating token: ");
    let sub = claims.get("sub").cloned().unwrap_or(Value::Null);
    match text {
        "missing role" => Denial::new("missing_role", message).remedy("Send `role`, or set the mount's default_role."),
        "missing token" => Denial::new("missing_jwt", message).remedy("Send the JWT in `jwt`."),
        "could not load configuration" => Denial::new("not_configured", message)
            .remedy("Write auth/<mount>/config (oidc_discovery_url, jwks_url or jwt_validation_pubkeys)."),
        "role with oidc role_type is not allowed" => Denial::new("oidc_role", message)
            .remedy("The role is an OIDC (browser) role: use a role with role_type=jwt."),
        "invalid subject (sub) claim" => Denial::new("bound_subject_mismatch", message)
            .expected("bound_subject", role.bound_subject.as_str())
            .seen("sub", sub.clone())
            .remedy(format!(
                "The token's sub {sub} is not the role's bound_subject {:?}: for Kubernetes tokens it is \
                 system:serviceaccount:<namespace>:<name>. Fix bound_subject or use the intended service account.",
                role.bound_subject
            )),
        "no issued at (iat), not before (nbf), or expiration time (exp) claims in token" => {
            Denial::new("missing_time_claims", message)
                .remedy("The token has no iat, nbf or exp: use a short-lived (projected) token.")
        }
        "audience claim found in JWT but no audiences bound to the role" => {
            let aud = claims.get("aud").cloned().unwrap_or(Value::Null);
            Denial::new("audience_not_bound", message)
                .expected("bound_audiences", json!([]))
                .seen("aud", aud.clone())
                .remedy(format!(
                    "The token carries aud {aud} but the role binds no audiences, which Vault refuses \
                     (CVE-2024-5798). Set the role's bound_audiences to the audience the tokens are minted for."
                ))
        }
        t if t.starts_with("role ") && t.ends_with("could not be found") => Denial::new("role_not_found", message)
            .remedy("The role does not exist: list them with `warden list auth/<mount>/role`."),
        t if t.starts_with("error configuring token validator") => Denial::new("jwks_unreachable", message)
            .remedy("The keys could not be loaded (discovery document or JWKS): check oidc_discovery_url / jwks_url, their CA (oidc_discovery_ca_pem, jwks_ca_pem), and that warden can reach them; on Kubernetes, anonymous access needs the system:service-account-issuer-discovery binding."),
        t if t.starts_with("error validating claims: ") => bound_claims(message, claims, role),
        t if t.starts_with("claim ") && t.contains("not found in token") => Denial::new("user_claim_missing", message)
            .expected("user_claim", role.user_claim.as_str())
            .remedy("The role's user_claim is not in the token: set user_claim to a claim the tokens carry (sub for Kubernetes)."),
        t if t.contains("groups") => Denial::new("groups_claim_invalid", message)
            .expected("groups_claim", role.groups_claim.as_str())
            .remedy("The role's groups_claim is missing from the token or not a list of strings."),
        _ => Denial::new("unclassified", message),
    }
}

fn bound_claims(message: &str, claims: &Map, role: &JwtRole) -> Denial {
    let bound = role.bound_claims.clone().unwrap_or_default();
    let seen: Map = bound
        .keys()
        .map(|name| {
            (
                name.clone(),
                get_claim(claims, name).cloned().unwrap_or(Value::Null),
            )
        })
        .collect();
    Denial::new("bound_claim_mismatch", message)
        .expected("bound_claims", Value::Object(bound))
        .expected("bound_claims_type", role.bound_claims_type.as_str())
        .seen("claims", Value::Object(seen))
        .remedy("A claim the role binds (bound_claims) is missing or has another value: compare expected and seen, then fix the role or the token's issuer configuration.")
}

/// A signature or key failure, told apart with the token's (unverified) header and the key
/// source: JWKS unreachable, unknown `kid`, no key verifies, algorithm not allowed.
pub(super) fn verify_denial(
    err: &VerifyError,
    jwt: &str,
    keys: &KeySource,
    algs: &[Alg],
    config: &JwtConfig,
    trace: &mut Trace,
) -> Denial {
    let unverified = jose::decode_unverified(jwt, &Alg::ALL).ok();
    let kid = unverified.as_ref().and_then(|t| t.header.kid.clone());
    let alg = unverified.as_ref().map(|t| t.header.alg.as_str());
    if let Some(token) = &unverified {
        trace.claims = Some(token.claims.as_map().clone());
    }
    let text = err.message();
    let source = if !config.jwt_validation_pubkeys.is_empty() {
        "jwt_validation_pubkeys"
    } else if !config.jwks_pairs.is_empty() {
        "jwks_pairs"
    } else if !config.jwks_url.is_empty() {
        "jwks_url"
    } else {
        "oidc_discovery_url"
    };
    let known_kid = kid.as_deref().map(|kid| match keys {
        KeySource::Remote(set) => set.has_kid(kid),
        KeySource::Multi(sets) => sets.iter().any(|set| set.has_kid(kid)),
        KeySource::Static(_) | KeySource::Unsupported => true,
    });
    let denial = if unverified.is_none() && !matches!(err, VerifyError::Algorithm) {
        Denial::new("malformed_token", "")
            .remedy("The jwt is not a well-formed signed JWT: send it unchanged.")
    } else if matches!(err, VerifyError::Algorithm) {
        Denial::new("algorithm_not_allowed", "")
            .expected("jwt_supported_algs", json!(algs.iter().map(|a| a.as_str()).collect::<Vec<_>>()))
            .remedy("The token is signed with an algorithm the mount does not allow: add it to jwt_supported_algs.")
    } else if text.contains("fetching keys") || text.contains("failed to refresh all") {
        Denial::new("jwks_unreachable", "").expected("key_source", source).remedy(
            "The JWKS could not be fetched: check that warden reaches the JWKS / discovery URL, its CA, and (on Kubernetes) the system:service-account-issuer-discovery binding for anonymous access.",
        )
    } else if text.contains("token missing kid") {
        Denial::new("missing_kid", "")
            .expected("key_source", source)
            .remedy("With jwks_pairs, tokens must carry a kid header.")
    } else if known_kid == Some(false) {
        Denial::new("unknown_kid", "")
            .expected("key_source", source)
            .remedy(format!(
                "No key in the JWKS has kid {:?} (the JWKS was re-fetched, rate-limited to one refresh per interval). The token was signed by a key the issuer no longer (or never) published: another cluster, a rotated-out key, or a forged token.",
                kid.clone().unwrap_or_default()
            ))
    } else if text.contains("error verifying token signature") {
        Denial::new("signature_invalid", "").expected("key_source", source).remedy(
            "No configured key verifies the signature: update jwt_validation_pubkeys (or the JWKS) to the issuer's current keys.",
        )
    } else {
        Denial::new("token_invalid", "").remedy("The token's claims are malformed: see detail.")
    };
    let mut seen = trace.claims.as_ref().map(summary).unwrap_or_default();
    seen.insert("kid".into(), json!(kid));
    seen.insert("alg".into(), json!(alg));
    seen.insert("verified".into(), json!(false));
    Denial {
        seen,
        ..denial.detail(text)
    }
}
