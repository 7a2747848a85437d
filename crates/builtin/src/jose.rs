//! A strict compact-JWS verification layer over aws-lc-rs, shared by the `kubernetes` and `jwt`
//! auth methods.
//!
//! This layer decides whether a token is a well-formed, correctly signed compact JWS under one of
//! the caller's keys and algorithms. It makes no policy decision about the claims (issuer,
//! audience, times, bound claims): the auth methods own those rules and their client-visible
//! messages. What it does enforce (reference/security-and-reliability.md §2):
//!
//! * **Asymmetric algorithms only** ([`Alg`]): RS256/384/512, PS256/384/512, ES256/384/512 and
//!   EdDSA (Ed25519). `none` (in any spelling), HS\* and every other name are rejected as
//!   [`JoseError::UnsupportedAlg`]; a supported name outside the caller's per-call allow-list is
//!   [`JoseError::AlgNotAllowed`]. Names compare exactly (case-sensitive).
//! * **Compact serialisation only**, exactly three parts; a 5-part JWE or a JSON serialisation is
//!   rejected. The total length is checked against [`Limits::max_token_len`] before anything is
//!   split or decoded, the decoded header against [`Limits::max_header_len`], and JSON nesting
//!   against [`Limits::max_depth`].
//! * **Strict base64url** (RFC 7515 §2): no padding, no whitespace, no `+`/`/`, no non-zero unused
//!   trailing bits, no length ≡ 1 (mod 4). All three parts are decoded, even by
//!   [`decode_unverified`]; an empty signature is [`JoseError::MissingSignature`].
//! * **Strict JSON**: header and payload must be JSON objects; duplicate member names are rejected
//!   at every nesting level, and so is any member whose name is a case variant of a registered
//!   header or claim name (Go's `encoding/json` and mapstructure match names case-insensitively,
//!   so `Exp` or `ſub` would mean `exp`/`sub` to a Go consumer but not to us).
//! * **Header rules**: `crit` present → reject (we implement no extension); `b64` other than
//!   `true` → reject; `enc`/`zip` (JWE headers) → reject; `kid` must be a non-empty string of at
//!   most 256 printable-ASCII bytes, used only as an exact in-memory lookup key; `typ`/`cty` must
//!   be strings if present, and are not required.
//! * **Key-carrying headers are ignored**: `jku`, `x5u`, `jwk`, `x5c` (and `x5t`, `x5t#S256`) are
//!   never dereferenced and never used to select or build a key. Their presence is not an error
//!   (RFC 8725 §3.10 asks to ignore them; the signature must still verify under a configured
//!   key, so an attacker-chosen key gains nothing). [`Header`] reports their presence so a
//!   caller can log it.
//! * **Typed keys** ([`PublicKey`]): a key verifies only the algorithm family of its type and
//!   curve (an RSA key never verifies ES256, a P-256 key only ES256), and a key whose JWK `alg`
//!   is set verifies only that algorithm. RSA keys are 2048–8192 bits with an odd exponent ≥ 3
//!   and no ROCA fingerprint; EC points are validated by aws-lc. ECDSA signatures must be the
//!   fixed-size P1363 `r‖s` (a DER signature is rejected by length), and aws-lc's `*_FIXED`
//!   verifiers reject `r` or `s` outside `0 < r, s < n`.
//!
//! Entry points: [`verify`] (signature plus strict claims), [`verify_jws`] (signature only, any
//! payload), [`decode_unverified`] (the Kubernetes method's "no `pem_keys`" path: same parsing and
//! alg allow-list, no signature check). Keys come from [`PublicKey::from_pem`],
//! [`PublicKey::from_jwk`] and [`KeySet::from_jwks`] (which skips unusable keys and reports why).

mod claims;
mod compact;
mod der;
mod error;
mod json;
mod jwk;
mod key;
mod verify;

pub use claims::Claims;
pub use compact::{Header, Unverified, decode_unverified, decode_unverified_with};
pub use error::{JoseError, Part};
pub use jwk::{JwkParseReport, SkippedKey};
pub use key::{KeySet, KeyType, PublicKey};
pub use verify::{Verified, VerifiedJws, verify, verify_jws, verify_with};

use std::fmt;

/// A JWS signature algorithm this layer can verify. Every variant is asymmetric; there is no
/// `none` and no HMAC variant by construction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Alg {
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    Rs256,
    /// RSASSA-PKCS1-v1_5 with SHA-384.
    Rs384,
    /// RSASSA-PKCS1-v1_5 with SHA-512.
    Rs512,
    /// RSASSA-PSS with SHA-256 (MGF1 SHA-256, salt length 32).
    Ps256,
    /// RSASSA-PSS with SHA-384 (MGF1 SHA-384, salt length 48).
    Ps384,
    /// RSASSA-PSS with SHA-512 (MGF1 SHA-512, salt length 64).
    Ps512,
    /// ECDSA on P-256 with SHA-256, 64-byte P1363 signature.
    Es256,
    /// ECDSA on P-384 with SHA-384, 96-byte P1363 signature.
    Es384,
    /// ECDSA on P-521 with SHA-512, 132-byte P1363 signature.
    Es512,
    /// EdDSA with Ed25519 (the only `OKP` curve supported).
    EdDsa,
}

impl Alg {
    /// All ten algorithms, in the order Vault's `jwt` method uses when `jwt_supported_algs` is
    /// empty (RS, ES, PS, EdDSA).
    pub const ALL: [Alg; 10] = [
        Alg::Rs256,
        Alg::Rs384,
        Alg::Rs512,
        Alg::Es256,
        Alg::Es384,
        Alg::Es512,
        Alg::Ps256,
        Alg::Ps384,
        Alg::Ps512,
        Alg::EdDsa,
    ];

    /// The nine algorithms Vault's `kubernetes` method allows (no EdDSA).
    pub const KUBERNETES: [Alg; 9] = [
        Alg::Rs256,
        Alg::Rs384,
        Alg::Rs512,
        Alg::Es256,
        Alg::Es384,
        Alg::Es512,
        Alg::Ps256,
        Alg::Ps384,
        Alg::Ps512,
    ];

    /// The JOSE name (`"RS256"`, …, `"EdDSA"`).
    pub fn as_str(self) -> &'static str {
        match self {
            Alg::Rs256 => "RS256",
            Alg::Rs384 => "RS384",
            Alg::Rs512 => "RS512",
            Alg::Ps256 => "PS256",
            Alg::Ps384 => "PS384",
            Alg::Ps512 => "PS512",
            Alg::Es256 => "ES256",
            Alg::Es384 => "ES384",
            Alg::Es512 => "ES512",
            Alg::EdDsa => "EdDSA",
        }
    }

    /// Parses a JOSE name, exactly and case-sensitively. `none`, `HS256` and any unknown name
    /// give `None`.
    pub fn from_name(name: &str) -> Option<Alg> {
        Alg::ALL.into_iter().find(|alg| alg.as_str() == name)
    }

    /// Whether this is an RSA algorithm (PKCS#1 v1.5 or PSS).
    pub fn is_rsa(self) -> bool {
        matches!(
            self,
            Alg::Rs256 | Alg::Rs384 | Alg::Rs512 | Alg::Ps256 | Alg::Ps384 | Alg::Ps512
        )
    }
}

impl fmt::Display for Alg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Alg {
    type Err = JoseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Alg::from_name(s).ok_or(JoseError::UnsupportedAlg)
    }
}

/// Size and depth limits applied before and during parsing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Maximum length of the whole compact token in bytes, checked before any split or decode.
    /// Default 16 KiB (reference/security-and-reliability.md §2 row 16; Kubernetes projected
    /// tokens are about 1–2 KiB).
    pub max_token_len: usize,
    /// Maximum length of the decoded header in bytes. Default 4 KiB.
    pub max_header_len: usize,
    /// Maximum nesting of JSON arrays and objects in the header and the claims (the top-level
    /// object counts as 1). Default 64.
    pub max_depth: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_token_len: 16 * 1024,
            max_header_len: 4 * 1024,
            max_depth: 64,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alg_names_round_trip_exactly() {
        for alg in Alg::ALL {
            assert_eq!(Alg::from_name(alg.as_str()), Some(alg));
            assert_eq!(alg.as_str().parse::<Alg>(), Ok(alg));
        }
        for name in [
            "none", "None", "NONE", "nOnE", "HS256", "rs256", "Rs256", "ES521", "",
        ] {
            assert_eq!(Alg::from_name(name), None, "{name}");
        }
        assert!(!Alg::KUBERNETES.contains(&Alg::EdDsa));
    }

    #[test]
    fn default_limits() {
        let limits = Limits::default();
        assert_eq!(limits.max_token_len, 16384);
        assert_eq!(limits.max_header_len, 4096);
        assert_eq!(limits.max_depth, 64);
    }
}
