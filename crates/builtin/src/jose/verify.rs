//! Signature verification of compact JWS tokens against a [`KeySet`].

use super::claims::Claims;
use super::compact::{self, Header};
use super::error::JoseError;
use super::key::KeySet;
use super::{Alg, Limits};

/// A token whose signature verified under one of the caller's keys, with strict claims.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Verified {
    /// The checked header.
    pub header: Header,
    /// The claims (strict JSON; registered claims have valid types). No claim *policy* (time,
    /// issuer, audience) has been applied.
    pub claims: Claims,
    /// The `kid` of the key that verified the signature, if it has one.
    pub key_kid: Option<String>,
    /// The position of that key in the [`KeySet`].
    pub key_index: usize,
}

/// A JWS whose signature verified, with its payload as bytes (not necessarily JSON).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct VerifiedJws {
    /// The checked header.
    pub header: Header,
    /// The decoded payload.
    pub payload: Vec<u8>,
    /// The `kid` of the key that verified the signature, if it has one.
    pub key_kid: Option<String>,
    /// The position of that key in the [`KeySet`].
    pub key_index: usize,
}

/// Verifies a compact JWS carrying a JWT claims set, with the default [`Limits`].
///
/// Order: size limit; structure and strict base64url of the three parts; strict JSON header and
/// header rules; `alg` ∈ `allowed_algs` (per call; an empty list rejects everything); key
/// selection (by `kid` when present, else every key that fits the `alg`, see
/// [`KeySet::contains_kid`] and [`JoseError::UnknownKid`]); signature length and verification;
/// then the payload is parsed as strict claims. The claims are parsed only after the signature
/// verified.
pub fn verify(token: &str, keys: &KeySet, allowed_algs: &[Alg]) -> Result<Verified, JoseError> {
    verify_with(token, keys, allowed_algs, &Limits::default())
}

/// [`verify`] with explicit [`Limits`].
pub fn verify_with(
    token: &str,
    keys: &KeySet,
    allowed_algs: &[Alg],
    limits: &Limits,
) -> Result<Verified, JoseError> {
    let jws = verify_jws(token, keys, allowed_algs, limits)?;
    let claims = Claims::parse(&jws.payload, limits)?;
    Ok(Verified {
        header: jws.header,
        claims,
        key_kid: jws.key_kid,
        key_index: jws.key_index,
    })
}

/// Verifies a compact JWS and returns its payload bytes without interpreting them (the
/// signature layer alone; [`verify`] adds the claims). Same rules as [`verify`] otherwise.
pub fn verify_jws(
    token: &str,
    keys: &KeySet,
    allowed_algs: &[Alg],
    limits: &Limits,
) -> Result<VerifiedJws, JoseError> {
    let parsed = compact::parse(token, allowed_algs, limits)?;
    let alg = parsed.header.alg;
    // A wrong length under every candidate is reported as such; any real failed verification
    // makes the result a bad signature.
    let mut length_error = None;
    let mut bad_signature = false;
    for (index, key) in keys.candidates(&parsed.header)? {
        match key.verify(alg, parsed.signing_input, &parsed.signature) {
            Ok(()) => {
                return Ok(VerifiedJws {
                    header: parsed.header,
                    payload: parsed.payload,
                    key_kid: key.kid().map(str::to_owned),
                    key_index: index,
                });
            }
            Err(err @ JoseError::SignatureLength { .. }) => length_error = Some(err),
            Err(_) => bad_signature = true,
        }
    }
    match length_error {
        Some(err) if !bad_signature => Err(err),
        _ => Err(JoseError::BadSignature),
    }
}
