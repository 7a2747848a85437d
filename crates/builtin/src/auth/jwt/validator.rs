//! The claim checks of cap's `jwt.Validator.Validate` (`jwt/jwt.go`), applied after the
//! signature verified: issuer, subject, audience, then the time claims with Vault's leeway
//! rules (reference/kubernetes-and-jwt-auth.md §2.6):
//!
//! - at least one of `iat`, `nbf`, `exp` must be present (a value of 0 counts as absent);
//! - no `exp`: `exp = max(iat, nbf) + expiration_leeway` (0 ⇒ 150 s, negative ⇒ 0);
//! - no `nbf`: `nbf = iat` if present, else `exp − not_before_leeway` (0 ⇒ 150 s, negative ⇒ 0);
//! - `clock_skew_leeway` (0 ⇒ 60 s, negative ⇒ 0) widens the three checks
//!   `now + skew ≥ nbf`, `now − skew ≤ exp`, `now + skew ≥ iat`.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::jose::Claims;

/// cap's `DefaultLeewaySeconds`, for the synthetic `exp` and `nbf`.
pub(crate) const DEFAULT_LEEWAY: i64 = 150;
/// go-jose's `jwt.DefaultLeeway`, for clock skew.
pub(crate) const DEFAULT_CLOCK_SKEW: i64 = 60;

/// What a token must satisfy (cap's `jwt.Expected`). Empty strings and lists mean "any".
#[derive(Debug, Clone, Copy)]
pub(crate) struct Expected<'a> {
    /// `bound_issuer`.
    pub(crate) issuer: &'a str,
    /// `bound_subject`.
    pub(crate) subject: &'a str,
    /// `bound_audiences`.
    pub(crate) audiences: &'a [String],
    /// The role's `not_before_leeway`, seconds as stored.
    pub(crate) not_before_leeway: i64,
    /// The role's `expiration_leeway`, seconds as stored.
    pub(crate) expiration_leeway: i64,
    /// The role's `clock_skew_leeway`, seconds as stored.
    pub(crate) clock_skew_leeway: i64,
    /// The time of the check.
    pub(crate) now: SystemTime,
}

fn effective(leeway: i64, default: i64) -> i64 {
    match leeway {
        0 => default,
        l if l < 0 => 0,
        l => l,
    }
}

/// Nanoseconds since the epoch (negative before it).
fn nanos(time: SystemTime) -> i128 {
    match time.duration_since(UNIX_EPOCH) {
        Ok(d) => i128::try_from(d.as_nanos()).unwrap_or(i128::MAX),
        Err(e) => -i128::try_from(e.duration().as_nanos()).unwrap_or(i128::MAX),
    }
}

const NANOS: i128 = 1_000_000_000;

/// Runs the checks in cap's order; the error is cap's text (the caller prefixes
/// `error validating token: `).
pub(crate) fn validate(claims: &Claims, expected: &Expected<'_>) -> Result<(), String> {
    if !expected.issuer.is_empty() && claims.iss().unwrap_or_default() != expected.issuer {
        return Err("invalid issuer (iss) claim".into());
    }
    if !expected.subject.is_empty() && claims.sub().unwrap_or_default() != expected.subject {
        return Err("invalid subject (sub) claim".into());
    }
    if !expected.audiences.is_empty() {
        let audiences = claims.audiences();
        if !expected
            .audiences
            .iter()
            .any(|bound| audiences.contains(&bound.as_str()))
        {
            return Err(
                "invalid audience (aud) claim: audience claim does not match any expected audience"
                    .into(),
            );
        }
    }

    let iat = i128::from(claims.iat().unwrap_or(0));
    let nbf = i128::from(claims.nbf().unwrap_or(0));
    let exp = i128::from(claims.exp().unwrap_or(0));
    if iat == 0 && nbf == 0 && exp == 0 {
        return Err(
            "no issued at (iat), not before (nbf), or expiration time (exp) claims in token".into(),
        );
    }
    let exp = if exp == 0 {
        iat.max(nbf) + i128::from(effective(expected.expiration_leeway, DEFAULT_LEEWAY))
    } else {
        exp
    };
    let nbf = match (nbf, iat) {
        (0, 0) => exp - i128::from(effective(expected.not_before_leeway, DEFAULT_LEEWAY)),
        (0, iat) => iat,
        (nbf, _) => nbf,
    };
    let skew = i128::from(effective(expected.clock_skew_leeway, DEFAULT_CLOCK_SKEW)) * NANOS;
    let now = nanos(expected.now);
    if now + skew < nbf * NANOS {
        return Err("invalid not before (nbf) claim: token not yet valid".into());
    }
    if now - skew > exp * NANOS {
        return Err("invalid expiration time (exp) claim: token is expired".into());
    }
    if iat != 0 && now + skew < iat * NANOS {
        return Err("invalid issued at (iat) claim: token issued in the future".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use serde_json::{Map, Value, json};

    use super::*;

    const NOW: u64 = 1_700_000_000;

    /// (name, valid, first time claim, second time claim, clock skew, leeway).
    type Case = (&'static str, bool, Option<i64>, Option<i64>, i64, i64);

    fn at(offset: i64) -> Option<i64> {
        Some(i64::try_from(NOW).unwrap() + offset)
    }

    fn claims(iat: Option<i64>, nbf: Option<i64>, exp: Option<i64>) -> Claims {
        let mut map = Map::new();
        map.insert("aud".into(), json!(["https://vault.plugin.auth.jwt.test"]));
        map.insert("iss".into(), json!("https://team-vault.auth0.com/"));
        map.insert(
            "sub".into(),
            json!("r3qXcK2bix9eFECzsU3Sbmh0K16fatW6@clients"),
        );
        for (name, value) in [("iat", iat), ("nbf", nbf), ("exp", exp)] {
            if let Some(v) = value {
                map.insert(name.into(), Value::from(v));
            }
        }
        Claims::from_map(map).unwrap()
    }

    fn check(c: &Claims, skew: i64, exp_leeway: i64, nbf_leeway: i64) -> Result<(), String> {
        let audiences = ["https://vault.plugin.auth.jwt.test".to_owned()];
        let expected = Expected {
            issuer: "",
            subject: "r3qXcK2bix9eFECzsU3Sbmh0K16fatW6@clients",
            audiences: &audiences,
            not_before_leeway: nbf_leeway,
            expiration_leeway: exp_leeway,
            clock_skew_leeway: skew,
            now: UNIX_EPOCH + Duration::from_secs(NOW),
        };
        validate(c, &expected)
    }

    /// Vault's `testLogin_ExpiryClaims` case list: (name, valid, iat, nbf, skew, exp leeway).
    #[test]
    #[rustfmt::skip]
    fn expiry_leeways() {
        let cases: &[Case] = &[
            ("auto expire leeway using iat with auto clock_skew_leeway", true, at(-205), None, 0, 0),
            ("expired auto expire leeway using iat with auto clock_skew_leeway", false, at(-215), None, 0, 0),
            ("auto expire leeway using iat with custom clock_skew_leeway", true, at(-150), None, 10, 0),
            ("expired auto expire leeway using iat with custom clock_skew_leeway", false, at(-165), None, 10, 0),
            ("auto expire leeway using iat with no clock_skew_leeway", true, at(-145), None, -1, 0),
            ("expired auto expire leeway using iat with no clock_skew_leeway", false, at(-155), None, -1, 0),
            ("auto expire leeway using nbf with auto clock_skew_leeway", true, None, at(-205), 0, 0),
            ("expired auto expire leeway using nbf with auto clock_skew_leeway", false, None, at(-215), 0, 0),
            ("auto expire leeway using nbf with custom clock_skew_leeway", true, None, at(-145), 10, 0),
            ("expired auto expire leeway using nbf with custom clock_skew_leeway", false, None, at(-165), 10, 0),
            ("auto expire leeway using nbf with no clock_skew_leeway", true, None, at(-145), -1, 0),
            ("expired auto expire leeway using nbf with no clock_skew_leeway", false, None, at(-155), -1, 0),
            ("custom expire leeway using iat with clock_skew_leeway", true, at(-65), None, 0, 10),
            ("expired custom expire leeway using iat with clock_skew_leeway", false, at(-75), None, 0, 10),
            ("custom expire leeway using iat with custom clock_skew_leeway", true, at(-5), None, 10, 10),
            ("expired custom expire leeway using iat with custom clock_skew_leeway", false, at(-25), None, 10, 10),
            ("no expire leeway using iat with clock_skew_leeway", true, at(-5), None, 10, -1),
            ("expired no expire leeway using iat with clock_skew_leeway", false, at(-15), None, 10, -1),
            ("custom expire leeway using nbf with clock_skew_leeway", true, None, at(-65), 0, 10),
            ("expired custom expire leeway using nbf with clock_skew_leeway", false, None, at(-75), 0, 10),
            ("custom expire leeway using nbf with custom clock_skew_leeway", true, None, at(-5), 10, 10),
            ("expired custom expire leeway using nbf with custom clock_skew_leeway", false, None, at(-25), 10, 10),
            ("no expire leeway using nbf with clock_skew_leeway", true, None, at(-5), 10, -1),
            ("no expire leeway using nbf with clock_skew_leeway (-100)", true, None, at(-5), 10, -100),
            ("expired no expire leeway using nbf with clock_skew_leeway", false, None, at(-15), 10, -1),
            ("expired no expire leeway using nbf with clock_skew_leeway (-100)", false, None, at(-15), 10, -100),
        ];
        for (name, valid, iat, nbf, skew, exp_leeway) in cases {
            let result = check(&claims(*iat, *nbf, None), *skew, *exp_leeway, 0);
            assert_eq!(result.is_ok(), *valid, "{name}: {result:?}");
            if !valid {
                assert_eq!(result.unwrap_err(), "invalid expiration time (exp) claim: token is expired");
            }
        }
    }

    /// Vault's `testLogin_NotBeforeClaims` case list: (name, valid, iat, exp, skew, nbf leeway).
    #[test]
    #[rustfmt::skip]
    fn not_before_leeways() {
        let cases: &[Case] = &[
            ("no nbf leeway using iat with auto clock_skew_leeway", true, at(55), at(0), 0, -1),
            ("not yet valid no nbf leeway using iat with auto clock_skew_leeway", false, at(65), at(0), 0, -1),
            ("no nbf leeway using iat with custom clock_skew_leeway", true, at(5), None, 10, -1),
            ("not yet valid no nbf leeway using iat with custom clock_skew_leeway", false, at(15), None, 10, -1),
            ("nbf leeway using iat with no clock_skew_leeway", true, at(0), None, -1, 5),
            ("not yet valid nbf leeway using iat with no clock_skew_leeway", false, at(6), None, -1, 5),
            ("auto nbf leeway using exp with auto clock_skew_leeway", true, None, at(205), 0, 0),
            ("not yet valid auto nbf leeway using exp with auto clock_skew_leeway", false, None, at(215), 0, 0),
            ("auto nbf leeway using exp with custom clock_skew_leeway", true, None, at(150), 10, 0),
            ("not yet valid auto nbf leeway using exp with custom clock_skew_leeway", false, None, at(165), 10, 0),
            ("auto nbf leeway using exp with no clock_skew_leeway", true, None, at(145), -1, 0),
            ("not yet valid auto nbf leeway using exp with no clock_skew_leeway", false, None, at(152), -1, 0),
            ("custom nbf leeway using exp with auto clock_skew_leeway", true, None, at(65), 0, 10),
            ("not yet valid custom nbf leeway using exp with auto clock_skew_leeway", false, None, at(75), 0, 10),
            ("custom nbf leeway using exp with custom clock_skew_leeway", true, None, at(15), 10, 10),
            ("not yet valid custom nbf leeway using exp with custom clock_skew_leeway", false, None, at(25), 10, 10),
            ("custom nbf leeway using exp with no clock_skew_leeway", true, None, at(3), -1, 5),
            ("custom nbf leeway using exp with no clock_skew_leeway (-100)", true, None, at(3), -100, 5),
            ("not yet valid custom nbf leeway using exp with no clock_skew_leeway", false, None, at(7), -1, 5),
            ("not yet valid custom nbf leeway using exp with no clock_skew_leeway (-100)", false, None, at(7), -100, 5),
        ];
        for (name, valid, iat, exp, skew, nbf_leeway) in cases {
            let result = check(&claims(*iat, None, *exp), *skew, 0, *nbf_leeway);
            assert_eq!(result.is_ok(), *valid, "{name}: {result:?}");
        }
    }

    #[test]
    fn messages_in_caps_order() {
        let audiences = ["a".to_owned()];
        let base = Expected {
            issuer: "https://issuer",
            subject: "me",
            audiences: &audiences,
            not_before_leeway: 0,
            expiration_leeway: 0,
            clock_skew_leeway: -1,
            now: UNIX_EPOCH + Duration::from_secs(NOW),
        };
        let token =
            |value: Value| Claims::from_map(serde_json::from_value(value).unwrap()).unwrap();
        let good = json!({"iss": "https://issuer", "sub": "me", "aud": "a", "exp": NOW + 10});
        assert_eq!(validate(&token(good.clone()), &base), Ok(()));
        let mut bad = good.clone();
        bad["iss"] = json!("https://issuer/");
        assert_eq!(
            validate(&token(bad), &base).unwrap_err(),
            "invalid issuer (iss) claim"
        );
        let mut bad = good.clone();
        bad["sub"] = json!("you");
        assert_eq!(
            validate(&token(bad), &base).unwrap_err(),
            "invalid subject (sub) claim"
        );
        let mut bad = good;
        bad["aud"] = json!(["b", "c"]);
        assert_eq!(
            validate(&token(bad), &base).unwrap_err(),
            "invalid audience (aud) claim: audience claim does not match any expected audience"
        );
        let none = json!({"iss": "https://issuer", "sub": "me", "aud": ["x", "a"], "iat": 0});
        assert_eq!(
            validate(&token(none), &base).unwrap_err(),
            "no issued at (iat), not before (nbf), or expiration time (exp) claims in token"
        );
        let future = json!({"iss": "https://issuer", "sub": "me", "aud": "a", "iat": NOW + 5, "nbf": NOW - 5, "exp": NOW + 60});
        assert_eq!(
            validate(&token(future), &base).unwrap_err(),
            "invalid issued at (iat) claim: token issued in the future"
        );
        let early = json!({"iss": "https://issuer", "sub": "me", "aud": "a", "nbf": NOW + 5});
        assert_eq!(
            validate(&token(early), &base).unwrap_err(),
            "invalid not before (nbf) claim: token not yet valid"
        );
    }

    #[test]
    fn boundary_is_inclusive_at_whole_seconds() {
        // exp exactly now − skew is still valid (After, not AtOrAfter).
        let c = claims(None, None, at(-60));
        assert!(check(&c, 0, 0, 0).is_ok());
        let c = claims(None, None, at(-61));
        assert!(check(&c, 0, 0, 0).is_err());
    }
}
