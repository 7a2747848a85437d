//! Typed access to the registered claims of a strictly parsed claims set.
//!
//! A [`Claims`] value always has registered claims of the right type: the check happens when it
//! is built, so every accessor is infallible and no caller can forget it
//! (reference/security-and-reliability.md §2 row 11; the CVE-2026-25537 class). No policy is
//! decided here: whether `exp` is required, which leeway applies, which audiences are bound is
//! the auth method's business.
//!
//! Types, as go-jose's typed `jwt.Claims` decode them (which is what cap and both Vault plugins
//! use):
//! * `exp`, `nbf`, `iat`: a JSON number (integer or fraction, go-jose's `NumericDate` accepts
//!   floats and truncates them to whole seconds), finite, ≥ 0 and < 2^63. Strings, `null`,
//!   booleans, negatives and values out of range are rejected.
//! * `aud`: a string or an array of strings.
//! * `iss`, `sub`, `jti`: strings.

use serde_json::{Map, Value};

use super::Limits;
use super::error::{JoseError, Part};
use super::json::{CLAIM_NAMES, parse_object, reject_case_variants};

/// 2^63 as f64: the first value that no longer fits an `i64` second count.
const TWO_POW_63: f64 = 9_223_372_036_854_775_808.0;

/// A claims set whose registered claims have valid types.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Claims(Map<String, Value>);

impl Claims {
    /// Checks the registered claims of `map` and wraps it. Use this for claims that did not come
    /// through [`verify`](super::verify) or [`decode_unverified`](super::decode_unverified)
    /// (which already return [`Claims`]). Case variants of registered names are not checked
    /// here; they are rejected while parsing a token.
    pub fn from_map(map: Map<String, Value>) -> Result<Claims, JoseError> {
        for claim in ["exp", "nbf", "iat"] {
            if let Some(value) = map.get(claim) {
                numeric_date(claim, value)?;
            }
        }
        for claim in ["iss", "sub", "jti"] {
            match map.get(claim) {
                None | Some(Value::String(_)) => {}
                Some(_) => {
                    return Err(JoseError::InvalidClaim {
                        claim: static_name(claim),
                        expected: "a string",
                    });
                }
            }
        }
        match map.get("aud") {
            None | Some(Value::String(_)) => {}
            Some(Value::Array(items)) if items.iter().all(Value::is_string) => {}
            Some(_) => {
                return Err(JoseError::InvalidClaim {
                    claim: "aud",
                    expected: "a string or an array of strings",
                });
            }
        }
        Ok(Claims(map))
    }

    /// Parses a payload: strict JSON object, no duplicates, depth limit, no case variants of
    /// registered names, registered claim types.
    pub(crate) fn parse(payload: &[u8], limits: &Limits) -> Result<Claims, JoseError> {
        let map = parse_object(payload, limits.max_depth, Part::Payload)?;
        reject_case_variants(&map, CLAIM_NAMES, Part::Payload)?;
        Claims::from_map(map)
    }

    /// All claims.
    pub fn as_map(&self) -> &Map<String, Value> {
        &self.0
    }

    /// All claims, by value.
    pub fn into_map(self) -> Map<String, Value> {
        self.0
    }

    /// One claim by exact name.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.0.get(name)
    }

    /// `iss`, if present.
    pub fn iss(&self) -> Option<&str> {
        self.0.get("iss").and_then(Value::as_str)
    }

    /// `sub`, if present.
    pub fn sub(&self) -> Option<&str> {
        self.0.get("sub").and_then(Value::as_str)
    }

    /// `jti`, if present.
    pub fn jti(&self) -> Option<&str> {
        self.0.get("jti").and_then(Value::as_str)
    }

    /// `aud` normalised to a list (§2 row 13): absent → `[]`, `"x"` → `["x"]`, `""` → `[]`,
    /// an array → its elements in order (each a string, checked at construction).
    pub fn audiences(&self) -> Vec<&str> {
        match self.0.get("aud") {
            Some(Value::String(s)) if s.is_empty() => Vec::new(),
            Some(Value::String(s)) => vec![s.as_str()],
            Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        }
    }

    /// `exp` in whole seconds since the epoch (fractions truncated), if present.
    pub fn exp(&self) -> Option<i64> {
        self.date("exp")
    }

    /// `nbf` in whole seconds since the epoch (fractions truncated), if present.
    pub fn nbf(&self) -> Option<i64> {
        self.date("nbf")
    }

    /// `iat` in whole seconds since the epoch (fractions truncated), if present.
    pub fn iat(&self) -> Option<i64> {
        self.date("iat")
    }

    fn date(&self, claim: &'static str) -> Option<i64> {
        self.0
            .get(claim)
            .and_then(|value| numeric_date(claim, value).ok())
    }
}

impl From<Claims> for Map<String, Value> {
    fn from(claims: Claims) -> Self {
        claims.0
    }
}

fn static_name(claim: &str) -> &'static str {
    CLAIM_NAMES
        .iter()
        .find(|name| **name == claim)
        .copied()
        .unwrap_or("?")
}

fn numeric_date(claim: &'static str, value: &Value) -> Result<i64, JoseError> {
    let invalid = JoseError::InvalidClaim {
        claim,
        expected: "a non-negative number of seconds below 2^63",
    };
    let Value::Number(number) = value else {
        return Err(invalid);
    };
    if let Some(i) = number.as_i64() {
        return if i >= 0 { Ok(i) } else { Err(invalid) };
    }
    if number.as_u64().is_some() {
        // A u64 that is not an i64 is ≥ 2^63.
        return Err(invalid);
    }
    match number.as_f64() {
        // 0 <= f < 2^63, so truncation toward zero fits an i64.
        Some(f) if (0.0..TWO_POW_63).contains(&f) => Ok(f.trunc() as i64),
        _ => Err(invalid),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn claims(v: Value) -> Result<Claims, JoseError> {
        match v {
            Value::Object(map) => Claims::from_map(map),
            _ => unreachable!(),
        }
    }

    #[test]
    fn times_accept_integers_and_floats() {
        let c = claims(json!({"exp": 1700000000, "nbf": 1.9, "iat": 0})).unwrap();
        assert_eq!(c.exp(), Some(1_700_000_000));
        assert_eq!(c.nbf(), Some(1));
        assert_eq!(c.iat(), Some(0));
        let c = claims(json!({"exp": 9.0e18})).unwrap();
        assert_eq!(c.exp(), Some(9_000_000_000_000_000_000));
        assert_eq!(claims(json!({})).unwrap().exp(), None);
    }

    #[test]
    fn times_of_wrong_type_or_range_rejected() {
        for bad in [
            json!("never"),
            json!("99999999999"),
            json!(null),
            json!(true),
            json!(-1),
            json!(-0.5),
            json!(1e300),
            json!(18446744073709551615u64),
            json!([1]),
            json!({"a": 1}),
        ] {
            for claim in ["exp", "nbf", "iat"] {
                let err = claims(json!({ claim: bad.clone() })).unwrap_err();
                assert!(
                    matches!(err, JoseError::InvalidClaim { claim: c, .. } if c == claim),
                    "{claim}={bad}"
                );
            }
        }
    }

    #[test]
    fn audience_normalisation() {
        let aud = |v: Value| claims(json!({ "aud": v })).unwrap().audiences().join(",");
        assert_eq!(aud(json!("a")), "a");
        assert_eq!(aud(json!("")), "");
        assert_eq!(aud(json!([])), "");
        assert_eq!(aud(json!(["b", "a"])), "b,a");
        assert!(claims(json!({})).unwrap().audiences().is_empty());
        for bad in [
            json!({"a": 1}),
            json!(["a", 1]),
            json!(null),
            json!(5),
            json!([["a"]]),
        ] {
            assert_eq!(
                claims(json!({ "aud": bad })).unwrap_err(),
                JoseError::InvalidClaim {
                    claim: "aud",
                    expected: "a string or an array of strings"
                }
            );
        }
    }

    #[test]
    fn string_claims() {
        let c = claims(json!({"iss": "https://k8s", "sub": "system:serviceaccount:a:b"})).unwrap();
        assert_eq!(c.iss(), Some("https://k8s"));
        assert_eq!(c.sub(), Some("system:serviceaccount:a:b"));
        assert_eq!(c.jti(), None);
        for claim in ["iss", "sub", "jti"] {
            assert!(matches!(
                claims(json!({ claim: 1 })).unwrap_err(),
                JoseError::InvalidClaim { claim: c, expected: "a string" } if c == claim
            ));
        }
        let c = claims(json!({"custom": {"x": 1}})).unwrap();
        assert_eq!(c.get("custom"), Some(&json!({"x": 1})));
        assert_eq!(Map::from(c.clone()), c.into_map());
    }

    #[test]
    fn parse_rejects_case_variants_and_duplicates() {
        let limits = Limits::default();
        assert!(Claims::parse(br#"{"sub":"a"}"#, &limits).is_ok());
        assert!(matches!(
            Claims::parse(br#"{"sub":"a","SUB":"b"}"#, &limits),
            Err(JoseError::CaseVariantName { name: "sub", .. })
        ));
        assert_eq!(
            Claims::parse(br#"{"sub":"a","sub":"b"}"#, &limits),
            Err(JoseError::DuplicateMember(Part::Payload))
        );
        assert_eq!(
            Claims::parse(br#"{"nbf":"99999999999"}"#, &limits).unwrap_err(),
            JoseError::InvalidClaim {
                claim: "nbf",
                expected: "a non-negative number of seconds below 2^63"
            }
        );
    }
}
