//! JWK (RFC 7517/7518/8037) and JWK set parsing into [`PublicKey`]s.
//!
//! A JWK set is parsed with the same strict JSON as tokens (a duplicate member anywhere rejects
//! the whole document). Inside a valid document, each key that cannot be used is **skipped**
//! with its reason (reference/security-and-reliability.md §2 row 21), so one odd key does not
//! take down logins for the others:
//!
//! * `kty` not `RSA`/`EC`/`OKP` (symmetric `oct` keys included), `crv` not P-256/P-384/P-521/
//!   Ed25519, `alg` unknown or not fitting the key (`ES521`, `ES256` on P-384, `RS256` on EC);
//! * `use` other than `sig`, `key_ops` that does not allow `verify` (or allows anything but
//!   `sign`/`verify`);
//! * private members (`d`, `p`, `q`, `dp`, `dq`, `qi`, `oth`, `k`);
//! * bad parameters: missing or non-base64url `n`/`e`/`x`/`y`, EC coordinates of the wrong
//!   length, a point not on the curve (aws-lc), RSA below 2048 or above 8192 bits, `e` even or
//!   1, ROCA moduli;
//! * a `kid` that is not 1–256 printable-ASCII bytes;
//! * every key whose `kid` is shared with another usable key (ambiguous; RFC 7517 §4.5).

use base64::Engine as _;
use serde_json::{Map, Value};

use super::compact::{B64URL, valid_kid};
use super::error::{JoseError, Part};
use super::json::parse_object;
use super::key::{KeySet, KeyType, PublicKey};
use super::{Alg, Limits};

/// Members that only a private or symmetric key has.
const PRIVATE_MEMBERS: &[&str] = &["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/// The result of parsing a JWK set: the usable keys, and the keys skipped with the reason.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct JwkParseReport {
    /// The usable keys, in document order.
    pub keys: KeySet,
    /// The keys that were skipped.
    pub skipped: Vec<SkippedKey>,
}

/// One skipped entry of a JWK set.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SkippedKey {
    /// Position in the `keys` array.
    pub index: usize,
    /// Its `kid`, when that is a valid kid.
    pub kid: Option<String>,
    /// Why it was skipped.
    pub reason: JoseError,
}

impl KeySet {
    /// Parses a JWK set document `{"keys": [ … ]}`, skipping unusable keys (see the module
    /// documentation of `jose::jwk` for the rules). Fails only when the document itself is
    /// not a strict JSON object with a `keys` array.
    pub fn from_jwks(document: &[u8]) -> Result<JwkParseReport, JoseError> {
        let mut root = parse_object(document, Limits::default().max_depth, Part::Jwk)?;
        let Some(Value::Array(entries)) = root.remove("keys") else {
            return Err(JoseError::InvalidJwks("no \"keys\" array"));
        };
        let mut usable: Vec<(usize, PublicKey)> = Vec::new();
        let mut skipped = Vec::new();
        for (index, entry) in entries.iter().enumerate() {
            let kid = entry
                .get("kid")
                .and_then(Value::as_str)
                .filter(|kid| valid_kid(kid))
                .map(str::to_owned);
            let parsed = match entry {
                Value::Object(map) => PublicKey::from_jwk_map(map),
                _ => Err(JoseError::InvalidJwks("a key is not a JSON object")),
            };
            match parsed {
                Ok(key) => usable.push((index, key)),
                Err(reason) => skipped.push(SkippedKey { index, kid, reason }),
            }
        }
        let shared = |kid: &str| usable.iter().filter(|(_, k)| k.kid() == Some(kid)).count() > 1;
        let (duplicates, unique): (Vec<_>, Vec<_>) = usable
            .iter()
            .cloned()
            .partition(|(_, key)| key.kid().is_some_and(shared));
        for (index, key) in duplicates {
            skipped.push(SkippedKey {
                index,
                kid: key.kid().map(str::to_owned),
                reason: JoseError::DuplicateKid,
            });
        }
        skipped.sort_by_key(|s| s.index);
        Ok(JwkParseReport {
            keys: KeySet::new(unique.into_iter().map(|(_, key)| key)),
            skipped,
        })
    }
}

impl PublicKey {
    /// Parses one public JWK (strict JSON). The rules are those of [`KeySet::from_jwks`]; here a
    /// violation is an error instead of a skip. `kid` and `alg` are kept.
    pub fn from_jwk(jwk: &str) -> Result<PublicKey, JoseError> {
        let map = parse_object(jwk.as_bytes(), Limits::default().max_depth, Part::Jwk)?;
        PublicKey::from_jwk_map(&map)
    }

    /// Builds a key from an already parsed JWK object.
    pub fn from_jwk_map(jwk: &Map<String, Value>) -> Result<PublicKey, JoseError> {
        let kty = match jwk.get("kty") {
            Some(Value::String(kty)) => kty.as_str(),
            _ => return Err(JoseError::InvalidKeyParam("kty")),
        };
        if !matches!(kty, "RSA" | "EC" | "OKP") {
            return Err(JoseError::UnsupportedKeyType);
        }
        match jwk.get("use") {
            None => {}
            Some(Value::String(u)) if u == "sig" => {}
            Some(_) => return Err(JoseError::NotASigningKey),
        }
        if let Some(ops) = jwk.get("key_ops") {
            check_key_ops(ops)?;
        }
        let alg = match jwk.get("alg") {
            None => None,
            Some(Value::String(name)) => {
                Some(Alg::from_name(name).ok_or(JoseError::UnsupportedKeyAlg)?)
            }
            Some(_) => return Err(JoseError::UnsupportedKeyAlg),
        };
        let kid = match jwk.get("kid") {
            None => None,
            Some(Value::String(kid)) if valid_kid(kid) => Some(kid.clone()),
            Some(_) => return Err(JoseError::InvalidKid),
        };
        if PRIVATE_MEMBERS.iter().any(|m| jwk.contains_key(*m)) {
            return Err(JoseError::PrivateKeyMaterial);
        }
        let mut key = match kty {
            "RSA" => PublicKey::rsa(&param(jwk, "n")?, &param(jwk, "e")?, alg)?,
            "EC" => {
                let (key_type, len) = match jwk.get("crv").and_then(Value::as_str) {
                    Some("P-256") => (KeyType::EcP256, 32),
                    Some("P-384") => (KeyType::EcP384, 48),
                    Some("P-521") => (KeyType::EcP521, 66),
                    Some(_) => return Err(JoseError::UnsupportedCurve),
                    None => return Err(JoseError::InvalidKeyParam("crv")),
                };
                let x = param(jwk, "x")?;
                let y = param(jwk, "y")?;
                if x.len() != len {
                    return Err(JoseError::InvalidKeyParam("x"));
                }
                if y.len() != len {
                    return Err(JoseError::InvalidKeyParam("y"));
                }
                let mut point = Vec::with_capacity(1 + 2 * len);
                point.push(0x04);
                point.extend_from_slice(&x);
                point.extend_from_slice(&y);
                PublicKey::ec(key_type, &point, alg)?
            }
            _ => match jwk.get("crv").and_then(Value::as_str) {
                Some("Ed25519") => PublicKey::ed25519(&param(jwk, "x")?, alg)?,
                Some(_) => return Err(JoseError::UnsupportedCurve),
                None => return Err(JoseError::InvalidKeyParam("crv")),
            },
        };
        key.set_kid(kid);
        Ok(key)
    }
}

fn param(jwk: &Map<String, Value>, name: &'static str) -> Result<Vec<u8>, JoseError> {
    match jwk.get(name) {
        Some(Value::String(s)) => B64URL
            .decode(s)
            .map_err(|_| JoseError::InvalidKeyParam(name)),
        _ => Err(JoseError::InvalidKeyParam(name)),
    }
}

/// `key_ops` must be an array of distinct strings that contains `verify` and nothing but
/// `sign`/`verify`.
fn check_key_ops(ops: &Value) -> Result<(), JoseError> {
    let Value::Array(ops) = ops else {
        return Err(JoseError::NotASigningKey);
    };
    let mut seen: Vec<&str> = Vec::new();
    for op in ops {
        match op.as_str() {
            Some(op @ ("sign" | "verify")) if !seen.contains(&op) => seen.push(op),
            _ => return Err(JoseError::NotASigningKey),
        }
    }
    if seen.contains(&"verify") {
        Ok(())
    } else {
        Err(JoseError::NotASigningKey)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn key_ops_rules() {
        assert!(check_key_ops(&json!(["verify"])).is_ok());
        assert!(check_key_ops(&json!(["sign", "verify"])).is_ok());
        for bad in [
            json!([]),
            json!(["sign"]),
            json!(["encrypt"]),
            json!(["verify", "verify"]),
            json!(["verify", "decrypt"]),
            json!("verify"),
            json!([1]),
        ] {
            assert_eq!(check_key_ops(&bad), Err(JoseError::NotASigningKey), "{bad}");
        }
    }

    #[test]
    fn jwk_shape_errors() {
        let err = |v: Value| PublicKey::from_jwk(&v.to_string()).unwrap_err();
        assert_eq!(err(json!({})), JoseError::InvalidKeyParam("kty"));
        assert_eq!(
            err(json!({"kty": "oct", "k": "AAAA"})),
            JoseError::UnsupportedKeyType
        );
        assert_eq!(
            err(json!({"kty": "RSA", "use": "enc"})),
            JoseError::NotASigningKey
        );
        assert_eq!(
            err(json!({"kty": "RSA", "alg": "RSA1_5"})),
            JoseError::UnsupportedKeyAlg
        );
        assert_eq!(err(json!({"kty": "RSA", "kid": ""})), JoseError::InvalidKid);
        assert_eq!(
            err(json!({"kty": "RSA", "d": "AQ"})),
            JoseError::PrivateKeyMaterial
        );
        assert_eq!(
            err(json!({"kty": "RSA", "e": "AQAB"})),
            JoseError::InvalidKeyParam("n")
        );
        assert_eq!(
            err(json!({"kty": "RSA", "n": "AQAB=", "e": "AQAB"})),
            JoseError::InvalidKeyParam("n")
        );
        assert_eq!(
            err(json!({"kty": "EC", "crv": "secp256k1"})),
            JoseError::UnsupportedCurve
        );
        assert_eq!(
            err(json!({"kty": "OKP", "crv": "Ed448"})),
            JoseError::UnsupportedCurve
        );
        assert_eq!(
            err(json!({"kty": "OKP", "crv": "X25519"})),
            JoseError::UnsupportedCurve
        );
        assert_eq!(
            err(json!({"kty": "EC", "crv": "P-256", "x": "AAAA", "y": "AAAA"})),
            JoseError::InvalidKeyParam("x")
        );
        assert_eq!(
            PublicKey::from_jwk(r#"{"kty":"RSA","kty":"RSA"}"#).unwrap_err(),
            JoseError::DuplicateMember(Part::Jwk)
        );
    }

    #[test]
    fn jwks_document_errors() {
        assert_eq!(
            KeySet::from_jwks(b"[]").unwrap_err(),
            JoseError::NotAnObject(Part::Jwk)
        );
        assert_eq!(
            KeySet::from_jwks(br#"{"keys":{}}"#).unwrap_err(),
            JoseError::InvalidJwks("no \"keys\" array")
        );
        let report = KeySet::from_jwks(br#"{"keys":[1,{"kty":"oct","kid":"a"}]}"#).unwrap();
        assert!(report.keys.is_empty());
        assert_eq!(report.skipped.len(), 2);
        assert_eq!(report.skipped[1].kid.as_deref(), Some("a"));
        assert_eq!(report.skipped[1].reason, JoseError::UnsupportedKeyType);
    }
}
