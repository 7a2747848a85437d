//! What a service-account JWT says, and the local checks Vault's plugin runs on it before
//! any TokenReview: issuer, audience, and the time claims with cap's default leeways.

use serde_json::Value;
use warden_logical::{LogicalError, Map};

/// cap's default clock skew leeway.
const CLOCK_SKEW_LEEWAY: i64 = 60;
/// cap's default leeway used to synthesize a missing `exp` or `nbf`.
const SYNTHETIC_LEEWAY: i64 = 150;

/// The service account a token names (legacy secret tokens and projected tokens alike).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ServiceAccount {
    pub(crate) name: String,
    pub(crate) uid: String,
    pub(crate) namespace: String,
    /// Legacy tokens only: the Secret holding the token.
    pub(crate) secret_name: String,
    /// Projected tokens bound to a pod.
    pub(crate) pod_name: String,
    pub(crate) pod_uid: String,
}

fn text(claims: &Map, key: &str) -> String {
    claims
        .get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

fn nested<'a>(value: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(value, |v, key| v.get(*key))
}

impl ServiceAccount {
    /// Reads the identity claims; projected (`kubernetes.io`) values win over legacy ones.
    pub(crate) fn from_claims(claims: &Map) -> Self {
        let mut sa = Self {
            name: text(claims, "kubernetes.io/serviceaccount/service-account.name"),
            uid: text(claims, "kubernetes.io/serviceaccount/service-account.uid"),
            namespace: text(claims, "kubernetes.io/serviceaccount/namespace"),
            secret_name: text(claims, "kubernetes.io/serviceaccount/secret.name"),
            ..Self::default()
        };
        if let Some(projected) = claims.get("kubernetes.io").filter(|v| v.is_object()) {
            let get = |path: &[&str]| {
                nested(projected, path)
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned()
            };
            sa.namespace = get(&["namespace"]);
            sa.name = get(&["serviceaccount", "name"]);
            sa.uid = get(&["serviceaccount", "uid"]);
            sa.pod_name = get(&["pod", "name"]);
            sa.pod_uid = get(&["pod", "uid"]);
        }
        sa
    }
}

/// The token's `aud`: a string is a one-element list.
pub(crate) fn audiences(claims: &Map) -> Vec<String> {
    match claims.get("aud") {
        Some(Value::String(aud)) => vec![aud.clone()],
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    }
}

fn numeric(claims: &Map, key: &str) -> Result<Option<i64>, LogicalError> {
    match claims.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => {
            #[expect(
                clippy::cast_possible_truncation,
                reason = "NumericDate seconds are truncated, as go-jose does"
            )]
            let seconds = n.as_i64().or_else(|| n.as_f64().map(|f| f as i64));
            Ok(seconds)
        }
        Some(_) => Err(LogicalError::coded(403, "permission denied")),
    }
}

fn forbidden(message: &str) -> LogicalError {
    LogicalError::coded(403, message)
}

/// Checks issuer (only when `expected_issuer` is set), audience (only when the role has
/// one) and time claims, in cap's order and with its messages (each a 403).
pub(crate) fn validate(
    claims: &Map,
    expected_issuer: Option<&str>,
    role_audience: &str,
    now: i64,
) -> Result<(), LogicalError> {
    if let Some(issuer) = expected_issuer
        && text(claims, "iss") != issuer
    {
        return Err(forbidden("invalid issuer (iss) claim"));
    }
    if !role_audience.is_empty() && !audiences(claims).iter().any(|aud| aud == role_audience) {
        return Err(forbidden(
            "invalid audience (aud) claim: audience claim does not match any expected audience",
        ));
    }
    let (iat, nbf, exp) = (
        numeric(claims, "iat")?,
        numeric(claims, "nbf")?,
        numeric(claims, "exp")?,
    );
    if iat.is_none() && nbf.is_none() && exp.is_none() {
        // Legacy secret tokens carry no time claims; cap's ValidateAllowMissingIatNbfExp.
        return Ok(());
    }
    let exp = exp.unwrap_or_else(|| iat.max(nbf).unwrap_or(0) + SYNTHETIC_LEEWAY);
    let nbf = nbf.or(iat).unwrap_or(exp - SYNTHETIC_LEEWAY);
    if now + CLOCK_SKEW_LEEWAY < nbf {
        return Err(forbidden(
            "invalid not before (nbf) claim: token not yet valid",
        ));
    }
    if now - CLOCK_SKEW_LEEWAY > exp {
        return Err(forbidden(
            "invalid expiration time (exp) claim: token is expired",
        ));
    }
    if let Some(iat) = iat
        && now + CLOCK_SKEW_LEEWAY < iat
    {
        return Err(forbidden(
            "invalid issued at (iat) claim: token issued in the future",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(value: Value) -> Map {
        value.as_object().cloned().unwrap()
    }

    #[test]
    fn projected_claims_win_over_legacy_ones() {
        let claims = map(json!({
            "kubernetes.io/serviceaccount/service-account.name": "legacy",
            "kubernetes.io": {"namespace": "ns", "serviceaccount": {"name": "app", "uid": "u1"}, "pod": {"name": "p", "uid": "pu"}}
        }));
        let sa = ServiceAccount::from_claims(&claims);
        assert_eq!(
            (sa.name.as_str(), sa.uid.as_str(), sa.namespace.as_str()),
            ("app", "u1", "ns")
        );
        assert_eq!(sa.pod_name, "p");
        let legacy = map(json!({
            "kubernetes.io/serviceaccount/service-account.name": "vault-auth",
            "kubernetes.io/serviceaccount/service-account.uid": "u2",
            "kubernetes.io/serviceaccount/namespace": "default",
            "kubernetes.io/serviceaccount/secret.name": "vault-auth-token-x"
        }));
        let sa = ServiceAccount::from_claims(&legacy);
        assert_eq!(sa.secret_name, "vault-auth-token-x");
        assert_eq!(sa.namespace, "default");
    }

    #[test]
    fn time_claims_follow_caps_leeways() {
        let now = 1_000_000;
        let at = |iat: Option<i64>, nbf: Option<i64>, exp: Option<i64>| {
            let mut m = Map::new();
            for (k, v) in [("iat", iat), ("nbf", nbf), ("exp", exp)] {
                if let Some(v) = v {
                    m.insert(k.into(), json!(v));
                }
            }
            validate(&m, None, "", now).map_err(|e| e.to_string())
        };
        assert!(
            at(None, None, None).is_ok(),
            "legacy tokens have no time claims"
        );
        assert!(at(Some(now), Some(now), Some(now + 3600)).is_ok());
        assert!(at(None, None, Some(now - 59)).is_ok(), "60 s clock skew");
        assert_eq!(
            at(None, None, Some(now - 61)).unwrap_err(),
            "invalid expiration time (exp) claim: token is expired"
        );
        assert_eq!(
            at(Some(now - 300), None, None).unwrap_err(),
            "invalid expiration time (exp) claim: token is expired"
        );
        assert!(
            at(Some(now - 200), None, None).is_ok(),
            "synthetic exp = iat + 150 s, plus skew"
        );
        assert_eq!(
            at(None, Some(now + 61), Some(now + 3600)).unwrap_err(),
            "invalid not before (nbf) claim: token not yet valid"
        );
        assert_eq!(
            at(Some(now + 61), Some(now), Some(now + 3600)).unwrap_err(),
            "invalid issued at (iat) claim: token issued in the future"
        );
    }

    #[test]
    fn audience_and_issuer_messages() {
        let claims = map(json!({"aud": "vault", "iss": "https://k8s"}));
        assert!(validate(&claims, Some("https://k8s"), "vault", 0).is_ok());
        assert_eq!(
            validate(&claims, None, "other", 0).unwrap_err().to_string(),
            "invalid audience (aud) claim: audience claim does not match any expected audience"
        );
        assert_eq!(
            validate(&claims, Some("x"), "", 0).unwrap_err().to_string(),
            "invalid issuer (iss) claim"
        );
    }
}
