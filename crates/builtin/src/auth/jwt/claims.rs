//! Claim lookup and matching, as Vault's `claims.go`: plain keys or RFC 6901 JSON pointers,
//! metadata from `claim_mappings`, and `bound_claims` in `string` or `glob` mode.
//!
//! One deliberate difference: numbers compare by value. Vault truncates a float claim to an
//! integer before comparing (`1.9` matches a bound `1`), and never matches a number inside a
//! list claim against a bound number (Go's `float64` against `json.Number`). Here `1.9` does
//! not match `1`, and `[123, 456]` matches a bound `123`.

use std::collections::BTreeMap;

use serde_json::Value;
use warden_logical::Map;

/// `bound_claims_type` values.
pub(crate) const BOUND_CLAIMS_TYPE_STRING: &str = "string";
/// Globbing bound claims (`*` only).
pub(crate) const BOUND_CLAIMS_TYPE_GLOB: &str = "glob";

/// The claim `claim` of `claims`: a JSON pointer when it starts with `/`, else a plain key.
/// `None` when absent (or `null`, which Go's `nil` cannot tell apart).
pub(crate) fn get_claim<'a>(claims: &'a Map, claim: &str) -> Option<&'a Value> {
    let value = if claim.starts_with('/') {
        pointer(claims, claim)
    } else {
        claims.get(claim)
    };
    value.filter(|v| !v.is_null())
}

/// RFC 6901 lookup from the claims object (`~1` is `/`, `~0` is `~`; array indexes by number).
fn pointer<'a>(claims: &'a Map, pointer: &str) -> Option<&'a Value> {
    let mut segments = pointer.split('/').skip(1);
    let first = unescape(segments.next()?);
    let mut current = claims.get(&first)?;
    for segment in segments {
        let segment = unescape(segment);
        current = match current {
            Value::Object(map) => map.get(&segment)?,
            Value::Array(items) => items.get(segment.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(current)
}

fn unescape(segment: &str) -> String {
    segment.replace("~1", "/").replace("~0", "~")
}

/// Go's `%v` of a decoded JSON value, for error messages (`map[a:1]`, `[x y]`, `<nil>`).
pub(crate) fn go_format(value: &Value) -> String {
    match value {
        Value::Null => "<nil>".to_owned(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(go_format).collect();
            format!("[{}]", items.join(" "))
        }
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            let items: Vec<String> = keys
                .into_iter()
                .map(|k| format!("{k}:{}", go_format(&map[k])))
                .collect();
            format!("map[{}]", items.join(" "))
        }
    }
}

/// Vault's `normalizeList`: a list as is; a string, bool or number as a one-item list;
/// anything else (an object, `null`) is not a list.
pub(crate) fn normalize_list(value: &Value) -> Option<Vec<&Value>> {
    match value {
        Value::Array(items) => Some(items.iter().collect()),
        Value::String(_) | Value::Bool(_) | Value::Number(_) => Some(vec![value]),
        _ => None,
    }
}

/// Builds alias metadata from `claim_mappings` (claim → metadata key). A missing claim is
/// skipped; a present claim that is not a string is an error.
pub(crate) fn extract_metadata(
    claims: &Map,
    mappings: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>, String> {
    let mut metadata = BTreeMap::new();
    for (source, target) in mappings {
        if let Some(value) = get_claim(claims, source) {
            let Some(text) = value.as_str() else {
                return Err(format!("error converting claim '{source}' to string"));
            };
            metadata.insert(target.clone(), text.to_owned());
        }
    }
    Ok(metadata)
}

/// Checks every `claim: value(s)` requirement of the role against the token's claims.
pub(crate) fn validate_bound_claims(
    bound_claims_type: &str,
    bound_claims: &Map,
    claims: &Map,
) -> Result<(), String> {
    let use_globs = bound_claims_type == BOUND_CLAIMS_TYPE_GLOB;
    for (claim, expected) in bound_claims {
        let Some(actual) = get_claim(claims, claim) else {
            return Err(format!("claim {claim:?} is missing"));
        };
        let Some(actual_values) = normalize_list(actual) else {
            return Err(format!(
                "received claim is not a string, bool, int or list: {}",
                go_format(actual)
            ));
        };
        let Some(expected_values) = normalize_list(expected) else {
            return Err(format!(
                "bound claim is not a string, bool, int or list: {}",
                go_format(expected)
            ));
        };
        if !match_found(&expected_values, &actual_values, use_globs)? {
            return Err(format!(
                "claim {claim:?} does not match any associated bound claim values"
            ));
        }
    }
    Ok(())
}

fn match_found(expected: &[&Value], actual: &[&Value], use_globs: bool) -> Result<bool, String> {
    for exp in expected {
        for act in actual {
            if use_globs {
                let Some(pattern) = exp.as_str() else {
                    return Err(format!(
                        "received claim is not a glob string: {}",
                        go_format(exp)
                    ));
                };
                // Only strings are globbed; other actual values are skipped.
                if act.as_str().is_some_and(|subject| glob(pattern, subject)) {
                    return Ok(true);
                }
            } else if same_value(exp, act) {
                return Ok(true);
            }
        }
    }
    Ok(false)
}

/// Equality of JSON scalars of the same type; numbers by value (integers exactly).
fn same_value(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(x), Some(y)) => x == y,
            _ => match (x.as_u64(), y.as_u64()) {
                (Some(x), Some(y)) => x == y,
                _ => x.as_f64().zip(y.as_f64()).is_some_and(|(x, y)| x == y),
            },
        },
        _ => a == b,
    }
}

/// `ryanuber/go-glob` (see [`warden_logical::matching::go_glob`]).
pub(crate) fn glob(pattern: &str, subject: &str) -> bool {
    warden_logical::matching::go_glob(pattern, subject)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn map(value: Value) -> Map {
        match value {
            Value::Object(map) => map,
            other => panic!("not an object: {other}"),
        }
    }

    #[test]
    fn get_claim_plain_and_pointer() {
        let claims = map(json!({
            "a": "x",
            "https://vault/user": "u",
            "b": {"c": ["p", "q"], "d/e": 1, "f~g": true},
            "n": null,
        }));
        assert_eq!(get_claim(&claims, "a"), Some(&json!("x")));
        assert_eq!(get_claim(&claims, "https://vault/user"), Some(&json!("u")));
        assert_eq!(get_claim(&claims, "/b/c/1"), Some(&json!("q")));
        assert_eq!(get_claim(&claims, "/b/d~1e"), Some(&json!(1)));
        assert_eq!(get_claim(&claims, "/b/f~0g"), Some(&json!(true)));
        assert_eq!(get_claim(&claims, "/b/c/9"), None);
        assert_eq!(get_claim(&claims, "/b/x"), None);
        assert_eq!(get_claim(&claims, "/a/b"), None);
        assert_eq!(get_claim(&claims, "missing"), None);
        assert_eq!(get_claim(&claims, "n"), None);
        let nested = map(json!({"https://vault/groups": ["g"]}));
        assert_eq!(
            get_claim(&nested, "/https:~1~1vault~1groups"),
            Some(&json!(["g"]))
        );
    }

    #[test]
    fn extract_metadata_like_vault() {
        let claims = map(json!({"first_name": "jeff", "org": {"primary": "eng"}, "n": 3}));
        let mut mappings = BTreeMap::new();
        mappings.insert("first_name".to_owned(), "name".to_owned());
        mappings.insert("/org/primary".to_owned(), "primary_org".to_owned());
        mappings.insert("missing".to_owned(), "skipped".to_owned());
        let metadata = extract_metadata(&claims, &mappings).unwrap();
        assert_eq!(metadata.len(), 2);
        assert_eq!(metadata["name"], "jeff");
        assert_eq!(metadata["primary_org"], "eng");
        mappings.insert("n".to_owned(), "num".to_owned());
        assert_eq!(
            extract_metadata(&claims, &mappings).unwrap_err(),
            "error converting claim 'n' to string"
        );
    }

    #[test]
    fn normalize_list_cases() {
        assert_eq!(normalize_list(&json!("a")).unwrap().len(), 1);
        assert_eq!(normalize_list(&json!(true)).unwrap().len(), 1);
        assert_eq!(normalize_list(&json!(5)).unwrap().len(), 1);
        assert_eq!(normalize_list(&json!(["a", 1])).unwrap().len(), 2);
        assert!(normalize_list(&json!({"a": 1})).is_none());
        assert!(normalize_list(&Value::Null).is_none());
    }

    /// Ported case list of Vault's `TestValidateBoundClaims`.
    #[test]
    #[rustfmt::skip]
    fn bound_claims_matrix() {
        let cases: Vec<(&str, &str, Value, Value, bool)> = vec![
            ("valid", "string", json!({"foo": "a", "bar": "b"}), json!({"foo": "a", "bar": "b"}), true),
            ("valid - non-string claim", "string", json!({"foo": [42]}), json!({"foo": [42]}), true),
            ("valid - boolean claim", "string", json!({"email_verified": [false]}), json!({"email_verified": [false]}), true),
            ("valid - match within list", "string", json!({"foo": "a"}), json!({"foo": ["a", "b"]}), true),
            ("valid - match list against list", "string", json!({"foo": ["a", "b", "c"]}), json!({"foo": ["c", "d"]}), true),
            ("valid numeric claim", "string", json!({"foo": 123}), json!({"foo": 123.0}), true),
            ("invalid numeric claim", "string", json!({"foo": 456}), json!({"foo": 123}), false),
            ("invalid - no match within list", "string", json!({"foo": "c"}), json!({"foo": ["a", "b"]}), false),
            ("invalid - no match list against list", "string", json!({"foo": ["a", "b", "c"]}), json!({"foo": ["d", "e"]}), false),
            ("valid - extra data", "string", json!({"foo": "a", "bar": "b"}), json!({"foo": "a", "bar": "b", "color": "green"}), true),
            ("mismatched value", "string", json!({"foo": "a", "bar": "b"}), json!({"foo": "a", "bar": "wrong"}), false),
            ("missing claim", "string", json!({"foo": "a", "bar": "b"}), json!({"foo": "a"}), false),
            ("valid - JSONPointer", "string", json!({"foo": "a", "/bar/baz/1": "y"}), json!({"foo": "a", "bar": {"baz": ["x", "y", "z"]}}), true),
            ("invalid - JSONPointer value mismatch", "string", json!({"foo": "a", "/bar/baz/1": "q"}), json!({"foo": "a", "bar": {"baz": ["x", "y", "z"]}}), false),
            ("invalid - JSONPointer not found", "string", json!({"foo": "a", "/bar/XXX/1243": "q"}), json!({"foo": "a", "bar": {"baz": ["x", "y", "z"]}}), false),
            ("valid - match alternates", "string", json!({"email": ["a", "b", "c"], "color": "green"}), json!({"email": "c", "color": "green"}), true),
            ("invalid - no match alternates", "string", json!({"email": ["a", "b", "c"], "color": "green"}), json!({"email": "d", "color": "green"}), false),
            ("invalid bound claim expected value", "string", json!({"email": 42}), json!({"email": "d"}), false),
            ("invalid bound claim expected boolean value", "string", json!({"email_verified": true}), json!({"email_verified": "true"}), false),
            ("invalid received claim expected value", "string", json!({"email": "d"}), json!({"email": 42}), false),
            ("string bound does not match number", "string", json!({"n": "123"}), json!({"n": 123}), false),
            ("non-integral number is not truncated", "string", json!({"n": 1}), json!({"n": 1.9}), false),
            ("number in list claim", "string", json!({"ids": 123}), json!({"ids": [123, 456]}), true),
            ("matching glob", "glob", json!({"email": "4*"}), json!({"email": "42"}), true),
            ("invalid string value", "glob", json!({"email": "4*"}), json!({"email": 42}), false),
            ("not matching glob", "glob", json!({"email": "4*"}), json!({"email": "d42"}), false),
            ("not matching glob suffix", "glob", json!({"email": "*2"}), json!({"email": "42x"}), false),
            ("matching glob in list", "glob", json!({"email": ["4*d", "42*"]}), json!({"email": "42x"}), true),
            ("not matching glob in list", "glob", json!({"email": ["4*d", "42*"]}), json!({"email": "43x"}), false),
            ("non matching integer glob", "glob", json!({"email": "4*"}), json!({"email": 42}), false),
            ("valid complex glob", "glob", json!({"email": "*@*.com"}), json!({"email": "test@example.com"}), true),
            ("non matching complex glob", "glob", json!({"email": "*@*.com"}), json!({"email": "test@example.org"}), false),
            ("glob spans separators", "glob", json!({"sub": "repo:org/*"}), json!({"sub": "repo:org/x:ref:main"}), true),
        ];
        for (name, kind, bound, claims, ok) in cases {
            let result = validate_bound_claims(kind, &map(bound), &map(claims));
            assert_eq!(result.is_ok(), ok, "{name}: {result:?}");
        }
    }

    #[test]
    fn bound_claims_messages() {
        let check = |bound: Value, claims: Value| {
            validate_bound_claims("string", &map(bound), &map(claims)).unwrap_err()
        };
        assert_eq!(
            check(json!({"c": "x"}), json!({})),
            "claim \"c\" is missing"
        );
        assert_eq!(
            check(json!({"c": "x"}), json!({"c": {"k": 1}})),
            "received claim is not a string, bool, int or list: map[k:1]"
        );
        assert_eq!(
            check(json!({"c": {"k": "v"}}), json!({"c": "x"})),
            "bound claim is not a string, bool, int or list: map[k:v]"
        );
        assert_eq!(
            check(json!({"c": "x"}), json!({"c": "y"})),
            "claim \"c\" does not match any associated bound claim values"
        );
    }

    #[test]
    fn go_glob() {
        assert!(glob("*", ""));
        assert!(glob("", ""));
        assert!(!glob("", "a"));
        assert!(glob("vault-*", "vault-auth"));
        assert!(glob("*-svc", "app-svc"));
        assert!(glob("a*b*c", "axxbyyc"));
        assert!(!glob("a*b*c", "axxc"));
        assert!(!glob("a*a", "a"));
        assert!(glob("a*a", "aa"));
        assert!(!glob("vault-*", "vault"));
        assert!(glob("exact", "exact"));
        assert!(!glob("exact", "exactly"));
        assert!(glob("**", "anything"));
    }

    #[test]
    fn go_format_values() {
        assert_eq!(go_format(&json!(25)), "25");
        assert_eq!(go_format(&json!(["a", 1, true])), "[a 1 true]");
        assert_eq!(go_format(&json!({"b": 1, "a": "x"})), "map[a:x b:1]");
        assert_eq!(go_format(&Value::Null), "<nil>");
    }
}
