//! The one error type of the JOSE layer.
//!
//! Every Display text is safe to show to a client or write to a log: it never contains the
//! token, a key, or any string taken from the token (a `kid`, an `alg` name, a member name).
//! Only fixed texts, registered names, [`Alg`] names and numbers appear.
//!
//! The auth methods own the client-visible messages. For mapping, the upstream strings are:
//!
//! * cap static keys (`jwt_validation_pubkeys`, and the Kubernetes method's `pem_keys`), for any
//!   signature failure: `error verifying token signature: no known key successfully validated
//!   the token signature` (the `jwt` method prefixes `error validating token: `; the Kubernetes
//!   method turns every error containing `verifying token signature` into `permission denied`).
//! * cap with a JWKS or OIDC discovery (go-oidc `RemoteKeySet`): `failed to verify id token
//!   signature`; go-jose's own primitive error reads `go-jose/go-jose: error in cryptographic
//!   primitive` (older `square/go-jose: error in cryptographic primitive`).
//! * cap algorithm check: `invalid algorithm (alg) header parameter: token signed with
//!   unexpected algorithm` ([`JoseError::AlgNotAllowed`], [`JoseError::UnsupportedAlg`]).
//! * `jwks_pairs` kid lookup: `token missing kid header parameter`, `error searching for key set
//!   with kid <k>: no key found with kid <k> in any JWKS endpoint` ([`JoseError::UnknownKid`]).

use std::fmt;

use super::Alg;

/// Which part of a token (or which input) an error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// The JOSE header (first part).
    Header,
    /// The payload (second part), i.e. the claims.
    Payload,
    /// The signature (third part).
    Signature,
    /// A JWK or JWK set document.
    Jwk,
}

impl fmt::Display for Part {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Part::Header => "header",
            Part::Payload => "payload",
            Part::Signature => "signature",
            Part::Jwk => "JWK",
        })
    }
}

/// Why a token, a key or a key set was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JoseError {
    // ---- token structure ----
    /// The token is longer than [`Limits::max_token_len`](super::Limits); nothing was decoded.
    #[error("token is larger than the {max}-byte limit")]
    TokenTooLarge {
        /// The limit in bytes.
        max: usize,
    },
    /// The decoded header is longer than [`Limits::max_header_len`](super::Limits).
    #[error("token header is larger than the {max}-byte limit")]
    HeaderTooLarge {
        /// The limit in bytes.
        max: usize,
    },
    /// Not a compact JWS: wrong number of parts, a JWE, or a JSON serialisation.
    #[error("token is not a compact JWS: {0}")]
    Malformed(&'static str),
    /// A part is not strict unpadded base64url.
    #[error("token {0} is not valid unpadded base64url")]
    Base64(Part),
    /// A part is not valid JSON (syntax, encoding, trailing data, number out of range).
    #[error("token {0} is not valid JSON")]
    Json(Part),
    /// A part is valid JSON but not an object.
    #[error("token {0} is not a JSON object")]
    NotAnObject(Part),
    /// An object in the part has the same member name twice.
    #[error("token {0} has a duplicate member name")]
    DuplicateMember(Part),
    /// A member name is a case variant of a registered name (e.g. `Exp`, `AUD`, `ſub`).
    #[error("token {part} has a member whose name is a case variant of `{name}`")]
    CaseVariantName {
        /// Which part.
        part: Part,
        /// The registered name it folds to.
        name: &'static str,
    },
    /// JSON nesting deeper than [`Limits::max_depth`](super::Limits).
    #[error("token {0} is nested too deeply")]
    TooDeep(Part),

    // ---- header ----
    /// The header has no `alg`.
    #[error("token header has no alg")]
    MissingAlg,
    /// `alg` is not one of the ten supported asymmetric algorithms: `none` (any case), HS\*,
    /// or unknown. Maps to cap's `token signed with unexpected algorithm`.
    #[error("token signed with an unsupported algorithm")]
    UnsupportedAlg,
    /// `alg` is supported but not in the caller's allow-list. Maps to cap's
    /// `invalid algorithm (alg) header parameter: token signed with unexpected algorithm`.
    #[error("token signed with unexpected algorithm {0}")]
    AlgNotAllowed(Alg),
    /// `crit` is present; no JWS extension is implemented, so any `crit` is rejected.
    #[error("token header has crit; no JWS extensions are supported")]
    CriticalHeader,
    /// `b64` is present with a value other than `true` (RFC 7797 unencoded payload).
    #[error("token uses an unencoded payload (b64), which is not supported")]
    UnencodedPayload,
    /// A header parameter has the wrong type or an invalid value (`kid`, `typ`, `cty`), or is a
    /// JWE parameter (`enc`, `zip`).
    #[error("token header parameter {0} is invalid")]
    InvalidHeader(&'static str),
    /// The signature part is empty.
    #[error("token is not signed")]
    MissingSignature,

    // ---- verification ----
    /// The header has a `kid` and no key in the set has it (and the set has no kid-less keys).
    /// Distinct so that a caller can refresh its JWKS once and retry.
    #[error("no key matches the token's kid")]
    UnknownKid,
    /// Keys with the token's `kid` exist, but none of them can verify its `alg` (wrong key type
    /// or curve, or the JWK's `alg` differs).
    #[error("the key selected by kid cannot verify {0}")]
    KeyAlgMismatch(Alg),
    /// No key in the set can verify this `alg` (the token has no `kid`).
    #[error("no configured key can verify {0}")]
    NoCompatibleKey(Alg),
    /// The signature has the wrong length for the algorithm (e.g. a DER-encoded ECDSA
    /// signature instead of P1363 `r‖s`).
    #[error("{alg} signature must be {expected} bytes, not {actual}")]
    SignatureLength {
        /// The header's algorithm.
        alg: Alg,
        /// The required length.
        expected: usize,
        /// The length received.
        actual: usize,
    },
    /// No candidate key verified the signature. Maps to cap's `no known key successfully
    /// validated the token signature` / go-oidc's `failed to verify id token signature`.
    #[error("token signature is invalid")]
    BadSignature,

    // ---- claims ----
    /// A registered claim has the wrong type or range: `exp`/`nbf`/`iat` not a non-negative
    /// finite number below 2^63, `aud` not a string or array of strings, `iss`/`sub`/`jti` not
    /// strings.
    #[error("claim {claim} must be {expected}")]
    InvalidClaim {
        /// The registered claim name.
        claim: &'static str,
        /// What it must be.
        expected: &'static str,
    },

    // ---- keys ----
    /// Unsupported key type (`oct`/symmetric keys, unknown `kty`, RSA-PSS-only SPKI, …).
    #[error("unsupported key type")]
    UnsupportedKeyType,
    /// Unsupported curve (anything but P-256, P-384, P-521 and Ed25519).
    #[error("unsupported curve")]
    UnsupportedCurve,
    /// The JWK's `alg` is unknown or does not fit its key type and curve.
    #[error("key alg is unsupported or does not match the key type")]
    UnsupportedKeyAlg,
    /// `use` is not `sig`, or `key_ops` does not allow `verify`.
    #[error("key is not for verifying signatures (use/key_ops)")]
    NotASigningKey,
    /// A JWK or JWK set carries private key material (`d`, `p`, `q`, `k`, …).
    #[error("key set contains private key material")]
    PrivateKeyMaterial,
    /// A key parameter is missing, not base64url, or has the wrong length.
    #[error("key parameter {0} is missing or invalid")]
    InvalidKeyParam(&'static str),
    /// RSA modulus shorter than 2048 bits.
    #[error("RSA key of {bits} bits is smaller than the 2048-bit minimum")]
    RsaKeyTooSmall {
        /// The modulus length.
        bits: usize,
    },
    /// RSA modulus longer than 8192 bits.
    #[error("RSA key of {bits} bits is larger than the 8192-bit maximum")]
    RsaKeyTooLarge {
        /// The modulus length.
        bits: usize,
    },
    /// RSA public exponent is even, 1, or longer than 64 bits; or the modulus is even.
    #[error("RSA key has an invalid public exponent or modulus")]
    RsaInvalidKey,
    /// RSA modulus carries the ROCA (CVE-2017-15361) fingerprint.
    #[error("RSA key is vulnerable to ROCA (CVE-2017-15361)")]
    RsaRocaKey,
    /// The EC point is not on the curve or is malformed (rejected by aws-lc).
    #[error("EC public key is not a valid point on its curve")]
    InvalidEcPoint,
    /// Two usable keys in a set have the same `kid`; both are skipped.
    #[error("key set has more than one key with this kid")]
    DuplicateKid,
    /// The `kid` of a JWK is not a string of 1–256 printable-ASCII bytes.
    #[error("key kid is invalid")]
    InvalidKid,
    /// PEM input has no usable block, or the block is malformed.
    #[error("invalid PEM: {0}")]
    InvalidPem(&'static str),
    /// The DER inside a PEM block is malformed or not the expected structure.
    #[error("invalid DER public key or certificate")]
    InvalidDer,
    /// A JWK set document is not `{"keys": [ … ]}`.
    #[error("invalid JWK set: {0}")]
    InvalidJwks(&'static str),
}
