//! Strict JSON for JOSE headers, claims and JWK sets.
//!
//! `serde_json::Value` keeps the *last* of two duplicate member names silently. This module
//! deserializes through a visitor that rejects duplicates at every nesting level and limits the
//! nesting depth, then (for headers and claims) rejects member names that are case variants of
//! registered names.

use std::cell::Cell;
use std::fmt;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

use super::error::{JoseError, Part};

/// Registered JOSE header parameter names (RFC 7515 §4.1, RFC 7516 §4.1, RFC 7797).
pub(crate) const HEADER_NAMES: &[&str] = &[
    "alg", "kid", "typ", "cty", "crit", "jku", "jwk", "x5u", "x5c", "x5t", "x5t#S256", "b64",
    "enc", "zip",
];

/// Registered claim names (RFC 7519 §4.1), plus the top-level Kubernetes service-account claims
/// that the Kubernetes method decodes by name (Go's mapstructure matches them case-insensitively).
pub(crate) const CLAIM_NAMES: &[&str] = &[
    "iss",
    "sub",
    "aud",
    "exp",
    "nbf",
    "iat",
    "jti",
    "kubernetes.io",
    "kubernetes.io/serviceaccount/namespace",
    "kubernetes.io/serviceaccount/secret.name",
    "kubernetes.io/serviceaccount/service-account.name",
    "kubernetes.io/serviceaccount/service-account.uid",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    Duplicate,
    TooDeep,
    NonFinite,
}

/// Parses `bytes` as one JSON object with no duplicate member names anywhere and at most
/// `max_depth` levels of nesting (the top-level object is level 1).
pub(crate) fn parse_object(
    bytes: &[u8],
    max_depth: usize,
    part: Part,
) -> Result<Map<String, Value>, JoseError> {
    let fault = Cell::new(None);
    let seed = Strict {
        depth_left: max_depth,
        fault: &fault,
    };
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let parsed = seed
        .deserialize(&mut de)
        .and_then(|value| de.end().map(|()| value));
    match (parsed, fault.get()) {
        (Ok(Value::Object(map)), _) => Ok(map),
        (Ok(_), _) => Err(JoseError::NotAnObject(part)),
        (Err(_), Some(Fault::Duplicate)) => Err(JoseError::DuplicateMember(part)),
        (Err(_), Some(Fault::TooDeep)) => Err(JoseError::TooDeep(part)),
        (Err(_), Some(Fault::NonFinite) | None) => Err(JoseError::Json(part)),
    }
}

/// Rejects any top-level member name that is not exactly one of `registered` but equals one
/// under Unicode simple case folding (what Go's `strings.EqualFold` and `encoding/json` use):
/// ASCII case, plus U+017F `ſ` ~ `s` and U+212A KELVIN SIGN ~ `k`, the only non-ASCII characters
/// whose fold orbit contains an ASCII letter.
pub(crate) fn reject_case_variants(
    map: &Map<String, Value>,
    registered: &'static [&'static str],
    part: Part,
) -> Result<(), JoseError> {
    for key in map.keys() {
        if registered.contains(&key.as_str()) {
            continue;
        }
        if let Some(name) = registered.iter().find(|name| fold_eq(key, name)) {
            return Err(JoseError::CaseVariantName { part, name });
        }
    }
    Ok(())
}

fn fold_eq(candidate: &str, ascii_name: &str) -> bool {
    let mut chars = candidate.chars();
    for expected in ascii_name.chars() {
        let folded = match chars.next() {
            Some('\u{017F}') => 's',
            Some('\u{212A}') => 'k',
            Some(c) => c.to_ascii_lowercase(),
            None => return false,
        };
        if folded != expected.to_ascii_lowercase() {
            return false;
        }
    }
    chars.next().is_none()
}

#[derive(Clone, Copy)]
struct Strict<'a> {
    depth_left: usize,
    fault: &'a Cell<Option<Fault>>,
}

impl Strict<'_> {
    fn nested<E: de::Error>(self) -> Result<Self, E> {
        if self.depth_left == 0 {
            self.fault.set(Some(Fault::TooDeep));
            return Err(E::custom("nesting too deep"));
        }
        Ok(Strict {
            depth_left: self.depth_left - 1,
            fault: self.fault,
        })
    }
}

impl<'de> DeserializeSeed<'de> for Strict<'_> {
    type Value = Value;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Strict<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        match Number::from_f64(v) {
            Some(n) => Ok(Value::Number(n)),
            None => {
                self.fault.set(Some(Fault::NonFinite));
                Err(E::custom("non-finite number"))
            }
        }
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let child = self.nested()?;
        let mut out = Vec::new();
        while let Some(value) = seq.next_element_seed(child)? {
            out.push(value);
        }
        Ok(Value::Array(out))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        let child = self.nested()?;
        let mut out = Map::new();
        while let Some(key) = access.next_key::<String>()? {
            if out.contains_key(&key) {
                self.fault.set(Some(Fault::Duplicate));
                return Err(de::Error::custom("duplicate member"));
            }
            let value = access.next_value_seed(child)?;
            out.insert(key, value);
        }
        Ok(Value::Object(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<Map<String, Value>, JoseError> {
        parse_object(s.as_bytes(), 64, Part::Payload)
    }

    #[test]
    fn accepts_plain_objects_with_whitespace() {
        let map = parse(" {\"a\" : 1,\n\t\"b\":[true,null,\"x\",1.5,{\"c\":{}}]} ").unwrap();
        assert_eq!(map.len(), 2);
        assert_eq!(map["b"][3], serde_json::json!(1.5));
    }

    #[test]
    fn duplicates_rejected_at_every_level() {
        let dup = Err(JoseError::DuplicateMember(Part::Payload));
        assert_eq!(parse(r#"{"sub":"a","sub":"b"}"#), dup);
        assert_eq!(parse(r#"{"x":{"a":1,"a":1}}"#), dup);
        assert_eq!(parse(r#"{"x":[{"a":1,"a":2}]}"#), dup);
        // Escapes decode before comparison: "s\u0075b" is "sub".
        assert_eq!(parse(r#"{"sub":"a","s\u0075b":"b"}"#), dup);
        assert!(parse(r#"{"sub":"a","Sub":"b"}"#).is_ok());
    }

    #[test]
    fn non_objects_and_bad_json_rejected() {
        assert_eq!(parse("[]"), Err(JoseError::NotAnObject(Part::Payload)));
        assert_eq!(parse("\"foo\""), Err(JoseError::NotAnObject(Part::Payload)));
        assert_eq!(parse("foo"), Err(JoseError::Json(Part::Payload)));
        assert_eq!(parse("{} {}"), Err(JoseError::Json(Part::Payload)));
        assert_eq!(parse(r#"{"a":1e400}"#), Err(JoseError::Json(Part::Payload)));
        assert_eq!(
            parse(r#"{"a":"\ud800"}"#),
            Err(JoseError::Json(Part::Payload))
        );
        assert_eq!(
            parse_object(b"{\"a\":\"\xff\"}", 64, Part::Payload),
            Err(JoseError::Json(Part::Payload))
        );
    }

    #[test]
    fn depth_is_limited() {
        let ok = format!("{{\"a\":{}1{}}}", "[".repeat(63), "]".repeat(63));
        assert!(parse(&ok).is_ok());
        let deep = format!("{{\"a\":{}1{}}}", "[".repeat(64), "]".repeat(64));
        assert_eq!(parse(&deep), Err(JoseError::TooDeep(Part::Payload)));
        let huge = format!("{{\"a\":{}", "[".repeat(100_000));
        assert_eq!(parse(&huge), Err(JoseError::TooDeep(Part::Payload)));
    }

    #[test]
    fn case_variants_of_registered_names() {
        let check = |s: &str| reject_case_variants(&parse(s).unwrap(), CLAIM_NAMES, Part::Payload);
        assert!(check(r#"{"sub":"a","exp":1,"custom":"x","Custom":"y"}"#).is_ok());
        for (json, name) in [
            (r#"{"exp":1,"Exp":2}"#, "exp"),
            (r#"{"aud":"x","AUD":"y"}"#, "aud"),
            (r#"{"sub":"a","ſub":"b"}"#, "sub"),
            (r#"{"Sub":"a"}"#, "sub"),
            (r#"{"Kubernetes.IO":{}}"#, "kubernetes.io"),
            ("{\"\u{212A}ubernetes.io\":{}}", "kubernetes.io"),
        ] {
            assert_eq!(
                check(json),
                Err(JoseError::CaseVariantName {
                    part: Part::Payload,
                    name
                }),
                "{json}"
            );
        }
        assert!(fold_eq("X5T#s256", "x5t#S256"));
        assert!(!fold_eq("subx", "sub"));
        assert!(!fold_eq("su", "sub"));
    }
}
