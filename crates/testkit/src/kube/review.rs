//! Service-account token authentication, in kube-apiserver v1.24's order: issuer sniff,
//! JWS parse, signature against every key, audience intersection, then the projected or
//! legacy validator (times with 60 s leeway, SA/Secret/Pod lookups).

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};

use super::cluster::{Cluster, LEGACY_ISSUER};

/// go-jose's `DefaultLeeway`.
const LEEWAY: i64 = 60;
const CRYPTO_FAILURE: &str = "square/go-jose: error in cryptographic primitive";

/// An authenticated service account.
#[derive(Debug, Clone)]
pub(crate) struct UserInfo {
    pub(crate) namespace: String,
    pub(crate) name: String,
    pub(crate) uid: String,
    pub(crate) extra: BTreeMap<String, Vec<String>>,
}

impl UserInfo {
    pub(crate) fn username(&self) -> String {
        format!("system:serviceaccount:{}:{}", self.namespace, self.name)
    }

    pub(crate) fn groups(&self) -> Vec<String> {
        vec![
            "system:serviceaccounts".to_owned(),
            format!("system:serviceaccounts:{}", self.namespace),
            "system:authenticated".to_owned(),
        ]
    }
}

/// A successful review: the user and the audiences the token is valid for.
#[derive(Debug, Clone)]
pub(crate) struct Authenticated {
    pub(crate) user: UserInfo,
    pub(crate) audiences: Vec<String>,
}

/// A failed review: the errors of the authenticators (none when no authenticator recognised
/// the token).
#[derive(Debug, Clone)]
pub(crate) struct Failure(Vec<String>);

impl Failure {
    fn one(message: impl Into<String>) -> Self {
        Self(vec![message.into()])
    }

    /// `status.error`: the request authenticators' aggregate, as `utilerrors.NewAggregate`
    /// prints it (deduplicated; bracketed when more than one).
    pub(crate) fn status_error(&self) -> String {
        let mut seen: Vec<&str> = vec!["invalid bearer token"];
        for message in &self.0 {
            if !seen.contains(&message.as_str()) {
                seen.push(message);
            }
        }
        if seen.len() == 1 {
            seen[0].to_owned()
        } else {
            format!("[{}]", seen.join(", "))
        }
    }
}

/// Go's `%q` of a string (enough of `strconv.Quote` for names and audiences).
pub(crate) fn go_quote(item: &str) -> String {
    let mut out = String::from('"');
    for c in item.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Go's `%q` of a `[]string`: `["a" "b"]`.
fn go_quote_list(items: &[String]) -> String {
    let quoted: Vec<String> = items.iter().map(|item| go_quote(item)).collect();
    format!("[{}]", quoted.join(" "))
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Decoded registered claims (go-jose `jwt.Claims`).
struct Registered {
    aud: Vec<String>,
    exp: Option<i64>,
    iat: Option<i64>,
    nbf: Option<i64>,
    sub: String,
}

fn decode_registered(claims: &Map<String, Value>) -> Result<Registered, String> {
    let aud = match claims.get("aud") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| v.as_str().map(str::to_owned))
            .collect::<Option<Vec<_>>>()
            .ok_or("square/go-jose/jwt: expected string or array value to unmarshal to Audience")?,
        Some(_) => {
            return Err(
                "square/go-jose/jwt: expected string or array value to unmarshal to Audience"
                    .to_owned(),
            );
        }
    };
    let date = |name: &str| -> Result<Option<i64>, String> {
        match claims.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) => Ok(n.as_i64().or_else(|| n.as_f64().map(|f| f as i64))),
            Some(_) => {
                Err("square/go-jose/jwt: expected number value to unmarshal NumericDate".to_owned())
            }
        }
    };
    let sub = match claims.get("sub") {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => {
            return Err(format!(
                "json: cannot unmarshal {} into Go struct field Claims.sub of type string",
                json_type(other)
            ));
        }
    };
    Ok(Registered {
        aud,
        exp: date("exp")?,
        iat: date("iat")?,
        nbf: date("nbf")?,
        sub,
    })
}

fn string_at<'a>(value: &'a Value, path: &[&str]) -> &'a str {
    let mut current = value;
    for segment in path {
        match current.get(segment) {
            Some(next) => current = next,
            None => return "",
        }
    }
    current.as_str().unwrap_or("")
}

/// Reviews `token` for `requested` audiences (the API audiences when empty), at `now`.
pub(crate) fn review(
    cluster: &Cluster,
    issuer: &str,
    api_audiences: &[String],
    now: i64,
    token: &str,
    requested: &[String],
) -> Result<Authenticated, Failure> {
    // hasCorrectIssuer: unverified payload sniff.
    let parts: Vec<&str> = token.split('.').collect();
    if parts.len() != 3 {
        return Err(Failure(Vec::new()));
    }
    let decode = |part: &str| URL_SAFE_NO_PAD.decode(part).ok();
    let Some(payload) = decode(parts[1]) else {
        return Err(Failure(Vec::new()));
    };
    let Ok(Value::Object(claims)) = serde_json::from_slice::<Value>(&payload) else {
        return Err(Failure(Vec::new()));
    };
    let legacy = match claims.get("iss") {
        Some(Value::String(iss)) if iss == issuer => false,
        Some(Value::String(iss)) if iss == LEGACY_ISSUER => true,
        _ => return Err(Failure(Vec::new())),
    };
    // jwt.ParseSigned
    let (Some(header), Some(signature)) = (decode(parts[0]), decode(parts[2])) else {
        return Err(Failure(Vec::new()));
    };
    let Ok(Value::Object(header)) = serde_json::from_slice::<Value>(&header) else {
        return Err(Failure(Vec::new()));
    };
    let alg = header.get("alg").and_then(Value::as_str).unwrap_or("");
    let input = format!("{}.{}", parts[0], parts[1]);
    // Every key is tried in turn; the errors of the failed ones are aggregated.
    let mut errors = Vec::new();
    let mut registered = None;
    for key in &cluster.keys {
        if header.contains_key("crit") || !key.verify(alg, input.as_bytes(), &signature) {
            errors.push(CRYPTO_FAILURE.to_owned());
            continue;
        }
        match decode_registered(&claims) {
            Ok(decoded) => {
                registered = Some(decoded);
                break;
            }
            Err(err) => errors.push(err),
        }
    }
    // With no keys at all the aggregate is nil: the token is simply not recognised.
    let Some(registered) = registered else {
        return Err(Failure(errors));
    };

    let token_audiences = if registered.aud.is_empty() {
        api_audiences.to_vec()
    } else {
        registered.aud.clone()
    };
    let requested = if requested.is_empty() {
        api_audiences.to_vec()
    } else {
        requested.to_vec()
    };
    let audiences: Vec<String> = token_audiences
        .iter()
        .filter(|a| requested.contains(a))
        .cloned()
        .collect();
    if audiences.is_empty() && !api_audiences.is_empty() {
        return Err(Failure::one(format!(
            "token audiences {} is invalid for the target audiences {}",
            go_quote_list(&token_audiences),
            go_quote_list(&requested)
        )));
    }
    let claims = Value::Object(claims);
    let user = if legacy {
        validate_legacy(cluster, token, &registered, &claims)
    } else {
        validate_projected(cluster, now, &registered, &claims)
    }
    .map_err(Failure::one)?;
    Ok(Authenticated { user, audiences })
}

fn validate_projected(
    cluster: &Cluster,
    now: i64,
    registered: &Registered,
    claims: &Value,
) -> Result<UserInfo, String> {
    if registered.nbf.is_some_and(|nbf| now + LEEWAY < nbf) {
        return Err("service account token is not valid yet".to_owned());
    }
    if registered.exp.is_some_and(|exp| now - LEEWAY > exp) {
        return Err("service account token has expired".to_owned());
    }
    if registered.iat.is_some_and(|iat| now + LEEWAY < iat) {
        return Err("service account token is issued in the future".to_owned());
    }
    let namespace = string_at(claims, &["kubernetes.io", "namespace"]);
    let name = string_at(claims, &["kubernetes.io", "serviceaccount", "name"]);
    let uid = string_at(claims, &["kubernetes.io", "serviceaccount", "uid"]);
    let sa = cluster
        .service_accounts
        .get(&(namespace.to_owned(), name.to_owned()))
        .ok_or_else(|| format!("serviceaccounts \"{name}\" not found"))?;
    if sa.uid != uid {
        return Err(format!(
            "service account UID ({}) does not match claim ({uid})",
            sa.uid
        ));
    }
    let k8s = &claims["kubernetes.io"];
    if k8s.get("secret").is_some_and(Value::is_object) {
        let secret_name = string_at(k8s, &["secret", "name"]);
        let secret_uid = string_at(k8s, &["secret", "uid"]);
        let secret = cluster
            .secrets
            .get(&(namespace.to_owned(), secret_name.to_owned()))
            .ok_or("service account token has been invalidated")?;
        if secret.uid != secret_uid {
            return Err(format!(
                "secret UID ({}) does not match claim ({secret_uid})",
                secret.uid
            ));
        }
    }
    let mut extra = BTreeMap::new();
    if k8s.get("pod").is_some_and(Value::is_object) {
        let pod_name = string_at(k8s, &["pod", "name"]);
        let pod_uid = string_at(k8s, &["pod", "uid"]);
        let pod = cluster
            .pods
            .get(&(namespace.to_owned(), pod_name.to_owned()))
            .ok_or("service account token has been invalidated")?;
        if pod.uid != pod_uid {
            return Err(format!(
                "pod UID ({}) does not match claim ({pod_uid})",
                pod.uid
            ));
        }
        extra.insert(
            "authentication.kubernetes.io/pod-name".to_owned(),
            vec![pod_name.to_owned()],
        );
        extra.insert(
            "authentication.kubernetes.io/pod-uid".to_owned(),
            vec![pod_uid.to_owned()],
        );
    }
    Ok(UserInfo {
        namespace: namespace.to_owned(),
        name: name.to_owned(),
        uid: uid.to_owned(),
        extra,
    })
}

fn validate_legacy(
    cluster: &Cluster,
    token: &str,
    registered: &Registered,
    claims: &Value,
) -> Result<UserInfo, String> {
    let claim = |name: &str| string_at(claims, &[&format!("kubernetes.io/serviceaccount/{name}")]);
    let (namespace, secret_name) = (claim("namespace"), claim("secret.name"));
    let (name, uid) = (claim("service-account.name"), claim("service-account.uid"));
    for (value, missing) in [
        (registered.sub.as_str(), "sub claim is missing"),
        (namespace, "namespace claim is missing"),
        (secret_name, "secretName claim is missing"),
        (name, "serviceAccountName claim is missing"),
        (uid, "serviceAccountUID claim is missing"),
    ] {
        if value.is_empty() {
            return Err(missing.to_owned());
        }
    }
    let subject_ok = registered
        .sub
        .strip_prefix("system:serviceaccount:")
        .and_then(|rest| rest.split_once(':'))
        .is_some_and(|(ns, sa)| ns == namespace && sa == name && !sa.contains(':'));
    if !subject_ok {
        return Err("sub claim is invalid".to_owned());
    }
    let secret = cluster
        .secrets
        .get(&(namespace.to_owned(), secret_name.to_owned()))
        .ok_or("Token has been invalidated")?;
    if secret
        .legacy
        .as_ref()
        .is_none_or(|(_, stored)| stored != token)
    {
        return Err("Token does not match server's copy".to_owned());
    }
    let sa = cluster
        .service_accounts
        .get(&(namespace.to_owned(), name.to_owned()))
        .ok_or_else(|| format!("serviceaccounts \"{name}\" not found"))?;
    if sa.uid != uid {
        // Upstream prints the claim first (sic).
        return Err(format!(
            "ServiceAccount UID ({uid}) does not match claim ({})",
            sa.uid
        ));
    }
    Ok(UserInfo {
        namespace: namespace.to_owned(),
        name: name.to_owned(),
        uid: uid.to_owned(),
        extra: BTreeMap::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aggregate_and_quoting_match_go() {
        assert_eq!(Failure(Vec::new()).status_error(), "invalid bearer token");
        assert_eq!(
            Failure(vec![CRYPTO_FAILURE.into(), CRYPTO_FAILURE.into()]).status_error(),
            "[invalid bearer token, square/go-jose: error in cryptographic primitive]"
        );
        assert_eq!(
            go_quote_list(&["nope".into(), "va\"ult".into()]),
            r#"["nope" "va\"ult"]"#
        );
    }
}
