//! What both auth methods share to explain a refused login (see
//! [`warden_logical::Denial`]): a credential-free summary of a token's claims, and the
//! denials of the claim checks whose messages are cap's in both methods (issuer, audience,
//! time claims).

use serde_json::{Value, json};
use warden_logical::{Denial, Map, Request};

/// The claims worth showing to an operator. Claims are not secret (the signature is what
/// makes a token a credential), but only identity and validity claims are copied.
pub(crate) fn summary(claims: &Map) -> Map {
    const KEYS: [&str; 12] = [
        "iss",
        "sub",
        "aud",
        "exp",
        "nbf",
        "iat",
        "azp",
        "kubernetes.io",
        "kubernetes.io/serviceaccount/namespace",
        "kubernetes.io/serviceaccount/service-account.name",
        "kubernetes.io/serviceaccount/service-account.uid",
        "kubernetes.io/serviceaccount/secret.name",
    ];
    let mut out = Map::new();
    for key in KEYS {
        if let Some(value) = claims.get(key) {
            out.insert(key.to_owned(), value.clone());
        }
    }
    for key in ["exp", "nbf", "iat"] {
        if let Some(secs) = claims.get(key).and_then(Value::as_i64) {
            out.insert(format!("{key}_time"), json!(rfc3339(secs)));
        }
    }
    out
}

/// A login from an address outside the role's `token_bound_cidrs`.
pub(crate) fn cidr_denial(cidrs: &[String], req: &Request) -> Denial {
    let addr = req
        .connection
        .as_ref()
        .map(|c| c.remote_addr.to_string())
        .unwrap_or_default();
    Denial::new("source_address_not_allowed", "permission denied")
        .expected("token_bound_cidrs", json!(cidrs))
        .seen("remote_address", addr.as_str())
        .remedy(format!(
            "The client address {addr:?} is outside the role's token_bound_cidrs {cidrs:?}: add its \
             network, or check which address warden sees behind proxies (x_forwarded_for settings)."
        ))
}

/// Unix seconds as RFC 3339 (UTC).
pub(crate) fn rfc3339(secs: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(secs)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| secs.to_string())
}

/// The current time in Unix seconds.
pub(crate) fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// The token's `aud` as a list (a string is a one-item list).
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

/// The denial of one of cap's claim checks, recognised by its message (which is API and
/// golden-tested, so stable): issuer, audience, `exp`, `nbf`, `iat`. `expected_issuer` and
/// `expected_audiences` are what the configuration asked for; `audience_field` names the
/// role field (`audience` or `bound_audiences`).
pub(crate) fn claim_check(
    message: &str,
    claims: &Map,
    expected_issuer: &str,
    expected_audiences: &[String],
    audience_field: &str,
) -> Option<Denial> {
    let seen = |denial: Denial| Denial {
        seen: summary(claims),
        ..denial
    };
    let now = now();
    let text = message.trim_start_matches("error validating token: ");
    let denial = if text.starts_with("invalid issuer (iss) claim") {
        let iss = claims
            .get("iss")
            .and_then(Value::as_str)
            .unwrap_or_default();
        seen(Denial::new("issuer_mismatch", message))
            .expected("iss", expected_issuer)
            .remedy(format!(
                "The token was issued by {iss:?}, the configuration expects {expected_issuer:?}. Set the \
                 expected issuer to the cluster's service-account issuer (kubectl get --raw \
                 /.well-known/openid-configuration | jq -r .issuer), or check that the token comes \
                 from the intended cluster."
            ))
    } else if text.starts_with("invalid audience (aud) claim") {
        let aud = audiences(claims);
        seen(Denial::new("audience_mismatch", message))
            .expected(audience_field, json!(expected_audiences))
            .remedy(format!(
                "The token's audiences {aud:?} contain none of the role's {audience_field} \
                 {expected_audiences:?}. Mint the token for that audience (a projected \
                 serviceAccountToken volume with `audience: {}`, or `kubectl create token <sa> \
                 --audience {}`), or set the role's {audience_field} to one of {aud:?}.",
                expected_audiences.first().map_or("", String::as_str),
                expected_audiences.first().map_or("", String::as_str),
            ))
    } else if text.starts_with("invalid expiration time (exp) claim") {
        let exp = claims.get("exp").and_then(Value::as_i64);
        let when = exp.map_or_else(
            || "(no exp: iat/nbf plus the default leeway)".to_owned(),
            rfc3339,
        );
        seen(Denial::new("token_expired", message))
            .expected("exp_after", rfc3339(now))
            .remedy(format!(
                "The token expired at {when}. Pods must re-read their projected token file (the \
                 kubelet rotates it); a copied token must be minted again (kubectl create token). \
                 If clocks disagree, check NTP on warden's host."
            ))
    } else if text.starts_with("invalid not before (nbf) claim") {
        seen(Denial::new("token_not_yet_valid", message))
            .expected("nbf_before", rfc3339(now))
            .remedy("The token is not valid yet: the issuer's clock is ahead of warden's. Check NTP on both.")
    } else if text.starts_with("invalid issued at (iat) claim") {
        seen(Denial::new("token_issued_in_future", message))
            .expected("iat_before", rfc3339(now))
            .remedy("The token claims to be issued in the future: the issuer's clock is ahead of warden's. Check NTP on both.")
    } else {
        return None;
    };
    Some(denial)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claim_checks_are_named_by_their_message() {
        let claims =
            json!({"iss": "https://a", "aud": ["x"], "exp": 100, "sub": "s", "secret": "no"});
        let claims = claims.as_object().cloned().unwrap_or_default();
        let d = claim_check(
            "invalid issuer (iss) claim",
            &claims,
            "https://b",
            &[],
            "audience",
        )
        .unwrap();
        assert_eq!(
            (d.check, d.expected["iss"].as_str()),
            ("issuer_mismatch", Some("https://b"))
        );
        assert!(
            d.seen.get("secret").is_none(),
            "only identity and validity claims are copied"
        );
        assert_eq!(d.seen["exp_time"], "1970-01-01T00:01:40Z");
        let aud = ["vault".to_owned()];
        let message =
            "invalid audience (aud) claim: audience claim does not match any expected audience";
        let d = claim_check(message, &claims, "", &aud, "audience").unwrap();
        assert_eq!(d.check, "audience_mismatch");
        assert!(d.remedy.contains("--audience vault"), "{}", d.remedy);
        let d = claim_check(
            "error validating token: invalid expiration time (exp) claim: token is expired",
            &claims,
            "",
            &[],
            "",
        )
        .unwrap();
        assert_eq!(d.check, "token_expired");
        assert!(claim_check("something else", &claims, "", &[], "").is_none());
    }
}
