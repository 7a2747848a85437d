//! Troubleshooting commands (the seed articles' manual steps, built in):
//!
//! - `debug token-review [-mount=kubernetes] [-role=R] jwt=@token [reviewer_jwt=@…]`: the
//!   server performs the TokenReview exactly as a login would (`auth/<mount>/debug/token-review`,
//!   needs `sudo`) and answers with the Kubernetes answer and a diagnosis;
//! - `debug jwt [-format=json] @token|TOKEN|-`: decodes a JWT locally **without verifying
//!   it** and points out expiry, audience and issuer.

use std::io::Read;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value, json};

use super::args_data;
use super::base::{Ctx, EXIT_API, EXIT_LOCAL, arg_count_error, error, output, sanitize_path};
use super::flags::{FIELD, FORMAT, FlagSet, HTTP};
use super::format::{HOPE_DELIM, go_json, go_value, table_output};
use super::logical::{client_or_return, parse_or_return, write_output};

/// `debug token-review`.
pub(crate) async fn token_review(args: Vec<String>) -> u8 {
    let mut flags = FlagSet::new(HTTP | FORMAT | FIELD);
    flags.string("mount", "kubernetes").string("role", "");
    let usage = "debug token-review [options] jwt=@TOKEN_FILE [reviewer_jwt=@FILE]";
    let (ctx, args) = parse_or_return!(flags, args, usage, false);
    if args.is_empty() {
        return arg_count_error("at least 1", 0, false);
    }
    let mut data = match args_data::parse(&args, ctx.non_interactive) {
        Ok(data) => data,
        Err(e) => {
            error(&format!("Failed to parse K=V data: {e}"));
            return EXIT_LOCAL;
        }
    };
    // Token files end with a newline; the API wants the bare token.
    for key in ["jwt", "reviewer_jwt"] {
        if let Some(Value::String(text)) = data.get_mut(key) {
            *text = text.trim().to_owned();
        }
    }
    if !ctx.flags.str("role").is_empty() {
        data.insert("role".into(), json!(ctx.flags.str("role")));
    }
    let client = client_or_return!(ctx);
    let path = format!(
        "auth/{}/debug/token-review",
        sanitize_path(&ctx.flags.str("mount"))
    );
    let result = client.write(&path, Value::Object(data)).await;
    write_output(&ctx, &path, result)
}

/// Reads the token argument: `@file`, `-` (stdin) or the token itself.
fn read_token(arg: &str) -> Result<String, String> {
    let text = if let Some(file) = arg.strip_prefix('@') {
        std::fs::read_to_string(file)
            .map_err(|e| format!("error reading file: open {file}: {e}"))?
    } else if arg == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| e.to_string())?;
        text
    } else {
        arg.to_owned()
    };
    Ok(text.trim().to_owned())
}

fn decode_part(part: &str, what: &str) -> Result<Value, String> {
    let bytes = URL_SAFE_NO_PAD
        .decode(part.trim_end_matches('='))
        .map_err(|e| format!("the {what} is not base64url: {e}"))?;
    serde_json::from_slice(&bytes).map_err(|e| format!("the {what} is not JSON: {e}"))
}

/// Header and claims of a compact JWS, unverified.
pub(crate) fn decode(token: &str) -> Result<(Value, Value), String> {
    let parts: Vec<&str> = token.split('.').collect();
    if parts.len() != 3 {
        return Err(format!(
            "a JWT has 3 dot-separated parts, this has {}",
            parts.len()
        ));
    }
    Ok((
        decode_part(parts[0], "header")?,
        decode_part(parts[1], "payload")?,
    ))
}

fn when(secs: i64, now: i64) -> String {
    let at = time::OffsetDateTime::from_unix_timestamp(secs)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| secs.to_string());
    let delta = secs - now;
    let span = |s: i64| match s {
        s if s >= 86_400 => format!("{}d{}h", s / 86_400, (s % 86_400) / 3600),
        s if s >= 3600 => format!("{}h{}m", s / 3600, (s % 3600) / 60),
        s if s >= 60 => format!("{}m{}s", s / 60, s % 60),
        s => format!("{s}s"),
    };
    if delta >= 0 {
        format!("{at} (in {})", span(delta))
    } else {
        format!("{at} ({} ago)", span(-delta))
    }
}

/// What an operator should notice about a token: expiry, audience, issuer, identity.
pub(crate) fn notes(header: &Value, claims: &Value, now: i64) -> Vec<String> {
    let mut notes = Vec::new();
    let int = |key: &str| claims.get(key).and_then(Value::as_i64);
    match int("exp") {
        Some(exp) if exp < now => notes.push(format!("EXPIRED: exp {}", when(exp, now))),
        Some(exp) => notes.push(format!("expires {}", when(exp, now))),
        None => notes.push(
            "no exp: a legacy (non-expiring) service-account token, or a token without expiry"
                .into(),
        ),
    }
    if let Some(nbf) = int("nbf").filter(|nbf| *nbf > now) {
        notes.push(format!("NOT YET VALID: nbf {}", when(nbf, now)));
    }
    match claims.get("aud") {
        None => notes.push("no aud: roles that bind an audience refuse it".into()),
        Some(aud) => notes.push(format!(
            "aud {}: a role's audience / bound_audiences must name one of these",
            go_value(aud)
        )),
    }
    match claims.get("iss").and_then(Value::as_str) {
        Some(iss) => notes.push(format!(
            "iss {iss:?}: must equal the configured issuer / bound_issuer when one is set"
        )),
        None => notes.push("no iss".into()),
    }
    if let Some(k8s) = claims.get("kubernetes.io") {
        let s = |p: &str| {
            k8s.pointer(p)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        notes.push(format!(
            "service account {}/{} (uid {}){}",
            s("/namespace"),
            s("/serviceaccount/name"),
            s("/serviceaccount/uid"),
            if s("/pod/name").is_empty() {
                String::new()
            } else {
                format!(", bound to pod {}", s("/pod/name"))
            }
        ));
    } else if let Some(name) = claims
        .get("kubernetes.io/serviceaccount/service-account.name")
        .and_then(Value::as_str)
    {
        notes.push(format!(
            "legacy service-account token of {name} (a Secret-based token, never expires)"
        ));
    }
    if header.get("kid").is_none() {
        notes.push("no kid header: jwks_pairs mounts refuse it".into());
    }
    notes.push("the signature was NOT verified".into());
    notes
}

/// `debug jwt`.
pub(crate) async fn jwt(args: Vec<String>) -> u8 {
    let flags = FlagSet::new(FORMAT);
    let (ctx, args) = parse_or_return!(
        flags,
        args,
        "debug jwt [options] @TOKEN_FILE | TOKEN | -",
        false
    );
    if args.len() != 1 {
        return arg_count_error("1", args.len(), !args.is_empty());
    }
    let decoded = read_token(&args[0]).and_then(|token| decode(&token));
    let (header, claims) = match decoded {
        Ok(decoded) => decoded,
        Err(e) => {
            error(&format!("Error decoding the JWT: {e}"));
            return EXIT_LOCAL;
        }
    };
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let notes = notes(&header, &claims, now);
    if !ctx.is_table() {
        output(&go_json(
            &json!({ "header": header, "claims": claims, "notes": notes, "verified": false }),
        ));
        return 0;
    }
    let mut rows = vec![format!("Key{HOPE_DELIM}Value")];
    let mut add = |prefix: &str, map: Option<&Map<String, Value>>| {
        let mut keys: Vec<&String> = map.map(|m| m.keys().collect()).unwrap_or_default();
        keys.sort();
        for key in keys {
            let value = &map.map_or(&Value::Null, |m| &m[key]);
            rows.push(format!("{prefix}{key} {HOPE_DELIM} {}", go_value(value)));
        }
    };
    add("header.", header.as_object());
    add("", claims.as_object());
    output(&table_output(rows, HOPE_DELIM));
    output("");
    for note in notes {
        output(&format!("* {note}"));
    }
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_and_notes_expiry_audience_issuer() {
        let enc = |v: Value| URL_SAFE_NO_PAD.encode(v.to_string());
        let token = format!(
            "{}.{}.sig",
            enc(json!({"alg": "RS256", "kid": "k1"})),
            enc(
                json!({"iss": "https://k8s", "aud": ["vault"], "exp": 1000, "kubernetes.io": {"namespace": "apps", "serviceaccount": {"name": "app", "uid": "u"}}})
            )
        );
        let (header, claims) = decode(&token).unwrap();
        assert_eq!(header["kid"], "k1");
        let notes = notes(&header, &claims, 2000);
        assert!(
            notes[0].starts_with("EXPIRED: exp 1970-01-01T00:16:40Z (16m40s ago)"),
            "{notes:?}"
        );
        assert!(
            notes.iter().any(|n| n.starts_with("aud [vault]")),
            "{notes:?}"
        );
        assert!(
            notes.iter().any(|n| n.contains("service account apps/app")),
            "{notes:?}"
        );
        assert!(decode("a.b").is_err());
    }
}
