//! Typed public keys, parsed once into aws-lc `ParsedPublicKey`s, and key sets with `kid`
//! lookup.

use std::fmt;

use aws_lc_rs::signature::{
    self, ECDSA_P256_SHA256_FIXED, ECDSA_P384_SHA384_FIXED, ECDSA_P521_SHA512_FIXED, ED25519,
    ParsedPublicKey, RSA_PKCS1_2048_8192_SHA256, RSA_PKCS1_2048_8192_SHA384,
    RSA_PKCS1_2048_8192_SHA512, RSA_PSS_2048_8192_SHA256, RSA_PSS_2048_8192_SHA384,
    RSA_PSS_2048_8192_SHA512, RsaParameters, RsaPublicKeyComponents,
};

use super::Alg;
use super::compact::{Header, valid_kid};
use super::der::{self, EcCurve, SpkiKey};
use super::error::JoseError;

/// Smallest accepted RSA modulus.
pub(crate) const RSA_MIN_BITS: usize = 2048;
/// Largest accepted RSA modulus (aws-lc's verification limit).
pub(crate) const RSA_MAX_BITS: usize = 8192;

/// The type (and curve) of a public key, which fixes the algorithms it can verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyType {
    /// RSA with a modulus of `bits` bits: RS256/384/512 and PS256/384/512.
    Rsa {
        /// Modulus length in bits (2048–8192).
        bits: usize,
    },
    /// ECDSA P-256: ES256 only.
    EcP256,
    /// ECDSA P-384: ES384 only.
    EcP384,
    /// ECDSA P-521: ES512 only.
    EcP521,
    /// Ed25519: EdDSA only.
    Ed25519,
}

impl KeyType {
    /// The algorithms a key of this type can verify.
    pub fn algs(self) -> &'static [Alg] {
        match self {
            KeyType::Rsa { .. } => &[
                Alg::Rs256,
                Alg::Rs384,
                Alg::Rs512,
                Alg::Ps256,
                Alg::Ps384,
                Alg::Ps512,
            ],
            KeyType::EcP256 => &[Alg::Es256],
            KeyType::EcP384 => &[Alg::Es384],
            KeyType::EcP521 => &[Alg::Es512],
            KeyType::Ed25519 => &[Alg::EdDsa],
        }
    }

    /// The exact signature length for `alg` with a key of this type.
    fn signature_len(self) -> usize {
        match self {
            KeyType::Rsa { bits } => bits.div_ceil(8),
            KeyType::EcP256 => 64,
            KeyType::EcP384 => 96,
            KeyType::EcP521 => 132,
            KeyType::Ed25519 => 64,
        }
    }
}

/// A public key that verifies JWS signatures, parsed once (at config write or JWKS fetch) and
/// kept parsed: one aws-lc `ParsedPublicKey` per algorithm it may verify.
#[derive(Clone)]
pub struct PublicKey {
    key_type: KeyType,
    kid: Option<String>,
    alg: Option<Alg>,
    verifiers: Vec<(Alg, ParsedPublicKey)>,
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PublicKey")
            .field("key_type", &self.key_type)
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

impl PublicKey {
    /// Parses the first PEM block of `pem`, as Vault's `ParsePublicKeyPEM` does (text before it
    /// and later blocks are ignored): `PUBLIC KEY` (SPKI: RSA, EC P-256/P-384/P-521, Ed25519),
    /// `RSA PUBLIC KEY` (PKCS#1) or `CERTIFICATE` (its SPKI; validity is not checked). A
    /// private-key block is refused with [`JoseError::PrivateKeyMaterial`].
    pub fn from_pem(pem: &str) -> Result<PublicKey, JoseError> {
        let block = der::first_pem_block(pem)?;
        match block.label.as_str() {
            "PUBLIC KEY" => PublicKey::from_spki_der(&block.der),
            "RSA PUBLIC KEY" => {
                let (n, e) = der::parse_pkcs1(&block.der)?;
                PublicKey::rsa(n, e, None)
            }
            "CERTIFICATE" => PublicKey::from_spki_der(der::certificate_spki(&block.der)?),
            label if label.contains("PRIVATE KEY") => Err(JoseError::PrivateKeyMaterial),
            _ => Err(JoseError::InvalidPem("not a public key or certificate")),
        }
    }

    /// Parses a DER SubjectPublicKeyInfo.
    pub fn from_spki_der(der: &[u8]) -> Result<PublicKey, JoseError> {
        match der::parse_spki(der)? {
            SpkiKey::Rsa { n, e } => PublicKey::rsa(n, e, None),
            SpkiKey::Ec { curve, spki } => {
                let key_type = match curve {
                    EcCurve::P256 => KeyType::EcP256,
                    EcCurve::P384 => KeyType::EcP384,
                    EcCurve::P521 => KeyType::EcP521,
                };
                PublicKey::ec(key_type, spki, None)
            }
            SpkiKey::Ed25519 { raw } => PublicKey::ed25519(raw, None),
        }
    }

    /// The key type.
    pub fn key_type(&self) -> KeyType {
        self.key_type
    }

    /// The key id (a JWK's `kid`, or one set with [`PublicKey::with_kid`]).
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// The one algorithm this key is restricted to (a JWK's `alg`), if any.
    pub fn alg(&self) -> Option<Alg> {
        self.alg
    }

    /// Whether this key may verify `alg`: its type and curve fit, and its `alg`, if set, is
    /// `alg`.
    pub fn supports(&self, alg: Alg) -> bool {
        self.verifiers.iter().any(|(a, _)| *a == alg)
    }

    /// Sets the key id (1–256 printable-ASCII bytes), e.g. for a PEM key.
    pub fn with_kid(mut self, kid: impl Into<String>) -> Result<PublicKey, JoseError> {
        let kid = kid.into();
        if !valid_kid(&kid) {
            return Err(JoseError::InvalidKid);
        }
        self.kid = Some(kid);
        Ok(self)
    }

    /// Restricts the key to one algorithm, which must fit its type.
    pub fn with_alg(mut self, alg: Alg) -> Result<PublicKey, JoseError> {
        if !self.supports(alg) {
            return Err(JoseError::UnsupportedKeyAlg);
        }
        self.verifiers.retain(|(a, _)| *a == alg);
        self.alg = Some(alg);
        Ok(self)
    }

    pub(crate) fn set_kid(&mut self, kid: Option<String>) {
        self.kid = kid;
    }

    /// Verifies `signature` over `message` with `alg`.
    pub(crate) fn verify(&self, alg: Alg, message: &[u8], sig: &[u8]) -> Result<(), JoseError> {
        let (_, parsed) = self
            .verifiers
            .iter()
            .find(|(a, _)| *a == alg)
            .ok_or(JoseError::KeyAlgMismatch(alg))?;
        let expected = self.key_type.signature_len();
        if sig.len() != expected {
            return Err(JoseError::SignatureLength {
                alg,
                expected,
                actual: sig.len(),
            });
        }
        parsed
            .verify_sig(message, sig)
            .map_err(|_| JoseError::BadSignature)
    }

    /// An RSA key from big-endian `n` and `e` (leading zeros allowed), restricted to `only`.
    pub(crate) fn rsa(n: &[u8], e: &[u8], only: Option<Alg>) -> Result<PublicKey, JoseError> {
        let n = strip_leading_zeros(n);
        let e = strip_leading_zeros(e);
        let Some(&top) = n.first() else {
            return Err(JoseError::InvalidKeyParam("n"));
        };
        let bits = (n.len() - 1) * 8 + (8 - top.leading_zeros() as usize);
        if bits < RSA_MIN_BITS {
            return Err(JoseError::RsaKeyTooSmall { bits });
        }
        if bits > RSA_MAX_BITS {
            return Err(JoseError::RsaKeyTooLarge { bits });
        }
        let odd = |x: &[u8]| x.last().is_some_and(|b| b & 1 == 1);
        if !odd(n) || !odd(e) || e == [1] || e.len() > 8 {
            return Err(JoseError::RsaInvalidKey);
        }
        if has_roca_fingerprint(n) {
            return Err(JoseError::RsaRocaKey);
        }
        let key_type = KeyType::Rsa { bits };
        let components = RsaPublicKeyComponents { n, e };
        let mut verifiers = Vec::new();
        for &alg in algs_for(key_type, only)? {
            let parsed = components
                .to_parsed_public_key(rsa_params(alg))
                .map_err(|_| JoseError::RsaInvalidKey)?;
            verifiers.push((alg, parsed));
        }
        Ok(PublicKey {
            key_type,
            kid: None,
            alg: only,
            verifiers,
        })
    }

    /// An EC key from an SPKI or an uncompressed SEC1 point; aws-lc checks the curve and that
    /// the point is on it.
    pub(crate) fn ec(
        key_type: KeyType,
        bytes: &[u8],
        only: Option<Alg>,
    ) -> Result<PublicKey, JoseError> {
        let (alg, verifier): (Alg, &'static dyn signature::VerificationAlgorithm) = match key_type {
            KeyType::EcP256 => (Alg::Es256, &ECDSA_P256_SHA256_FIXED),
            KeyType::EcP384 => (Alg::Es384, &ECDSA_P384_SHA384_FIXED),
            KeyType::EcP521 => (Alg::Es512, &ECDSA_P521_SHA512_FIXED),
            KeyType::Rsa { .. } | KeyType::Ed25519 => return Err(JoseError::UnsupportedKeyType),
        };
        algs_for(key_type, only)?;
        let parsed =
            ParsedPublicKey::new(verifier, bytes).map_err(|_| JoseError::InvalidEcPoint)?;
        Ok(PublicKey {
            key_type,
            kid: None,
            alg: only,
            verifiers: vec![(alg, parsed)],
        })
    }

    /// An Ed25519 key from its 32 raw bytes.
    pub(crate) fn ed25519(raw: &[u8], only: Option<Alg>) -> Result<PublicKey, JoseError> {
        if raw.len() != 32 {
            return Err(JoseError::InvalidKeyParam("x"));
        }
        algs_for(KeyType::Ed25519, only)?;
        let parsed =
            ParsedPublicKey::new(&ED25519, raw).map_err(|_| JoseError::InvalidKeyParam("x"))?;
        Ok(PublicKey {
            key_type: KeyType::Ed25519,
            kid: None,
            alg: only,
            verifiers: vec![(Alg::EdDsa, parsed)],
        })
    }
}

fn algs_for(key_type: KeyType, only: Option<Alg>) -> Result<&'static [Alg], JoseError> {
    let all = key_type.algs();
    match only {
        None => Ok(all),
        Some(alg) => {
            let index = all
                .iter()
                .position(|a| *a == alg)
                .ok_or(JoseError::UnsupportedKeyAlg)?;
            Ok(&all[index..=index])
        }
    }
}

fn rsa_params(alg: Alg) -> &'static RsaParameters {
    match alg {
        Alg::Rs384 => &RSA_PKCS1_2048_8192_SHA384,
        Alg::Rs512 => &RSA_PKCS1_2048_8192_SHA512,
        Alg::Ps256 => &RSA_PSS_2048_8192_SHA256,
        Alg::Ps384 => &RSA_PSS_2048_8192_SHA384,
        Alg::Ps512 => &RSA_PSS_2048_8192_SHA512,
        // Only RSA algorithms reach here (see `KeyType::algs`).
        _ => &RSA_PKCS1_2048_8192_SHA256,
    }
}

fn strip_leading_zeros(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
    &bytes[start..]
}

/// The ROCA (CVE-2017-15361, Infineon RSALib) fingerprint: such moduli are `k·M + (65537^a mod
/// M)`, so for every prime `p` dividing `M`, `n mod p` lies in the subgroup generated by 65537.
/// For keys of 1984–3936 bits `M` is the product of the first 126 primes (up to 701), and the
/// larger `M`s contain those, so testing the odd primes up to 701 detects every ROCA key we
/// could accept. A random modulus passes by chance with probability about 2^-167.
fn has_roca_fingerprint(n: &[u8]) -> bool {
    (3u32..=701)
        .filter(|p| (2..*p).take_while(|d| d * d <= *p).all(|d| p % d != 0))
        .all(|p| {
            let residue = n
                .iter()
                .fold(0u32, |acc, b| (acc * 256 + u32::from(*b)) % p);
            let generator = 65537 % p;
            let mut x = 1;
            loop {
                if x == residue {
                    return true;
                }
                x = x * generator % p;
                if x == 1 {
                    return false;
                }
            }
        })
}

/// A set of verification keys. Keys with the same `kid` are all tried; [`KeySet::from_jwks`]
/// skips such duplicates instead.
#[derive(Debug, Clone, Default)]
pub struct KeySet {
    keys: Vec<PublicKey>,
}

impl KeySet {
    /// A set of the given keys, in order (the order in which kid-less tokens try them).
    pub fn new(keys: impl IntoIterator<Item = PublicKey>) -> KeySet {
        KeySet {
            keys: keys.into_iter().collect(),
        }
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The keys, in order.
    pub fn iter(&self) -> impl Iterator<Item = &PublicKey> {
        self.keys.iter()
    }

    /// Whether some key has exactly this `kid`.
    pub fn contains_kid(&self, kid: &str) -> bool {
        self.keys.iter().any(|k| k.kid() == Some(kid))
    }

    /// The keys that may verify a token with this header, in order:
    ///
    /// * header with `kid`: the keys with exactly that `kid`, if any (none of them fits the
    ///   `alg` → [`JoseError::KeyAlgMismatch`]); otherwise the keys that have no `kid` at all
    ///   (PEM keys: Vault ignores `kid` for static keys); if there are none →
    ///   [`JoseError::UnknownKid`] (the caller may refresh its JWKS once and retry);
    /// * header without `kid`: every key that fits the `alg`.
    pub(crate) fn candidates(
        &self,
        header: &Header,
    ) -> Result<Vec<(usize, &PublicKey)>, JoseError> {
        let alg = header.alg;
        let indexed = || self.keys.iter().enumerate();
        fn fitting(keys: Vec<(usize, &PublicKey)>, alg: Alg) -> Vec<(usize, &PublicKey)> {
            keys.into_iter().filter(|(_, k)| k.supports(alg)).collect()
        }
        let (candidates, none_fit) = match header.kid.as_deref() {
            Some(kid) => {
                let matching: Vec<_> = indexed().filter(|(_, k)| k.kid() == Some(kid)).collect();
                if matching.is_empty() {
                    let kidless: Vec<_> = indexed().filter(|(_, k)| k.kid.is_none()).collect();
                    if kidless.is_empty() {
                        return Err(JoseError::UnknownKid);
                    }
                    (fitting(kidless, alg), JoseError::NoCompatibleKey(alg))
                } else {
                    (fitting(matching, alg), JoseError::KeyAlgMismatch(alg))
                }
            }
            None => (
                fitting(indexed().collect(), alg),
                JoseError::NoCompatibleKey(alg),
            ),
        };
        if candidates.is_empty() {
            Err(none_fit)
        } else {
            Ok(candidates)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roca_detector_is_quiet_on_ordinary_numbers() {
        // 2^2047 + 1 style numbers and small fixed patterns are not ROCA moduli.
        let mut n = vec![0xffu8; 256];
        n[255] = 0xfb;
        assert!(!has_roca_fingerprint(&n));
        // A number ≡ 1 mod every prime (1 is in every subgroup) trips it, showing the test runs.
        assert!(has_roca_fingerprint(&[1]));
    }

    #[test]
    fn rsa_key_checks() {
        let mut n = vec![0xffu8; 256];
        n[255] = 0xfb;
        assert_eq!(
            PublicKey::rsa(&n[..128], &[1, 0, 1], None).unwrap_err(),
            JoseError::RsaKeyTooSmall { bits: 1024 }
        );
        assert_eq!(
            PublicKey::rsa(&[0xff; 1025], &[1, 0, 1], None).unwrap_err(),
            JoseError::RsaKeyTooLarge { bits: 8200 }
        );
        assert_eq!(
            PublicKey::rsa(&n, &[1], None).unwrap_err(),
            JoseError::RsaInvalidKey
        );
        assert_eq!(
            PublicKey::rsa(&n, &[2], None).unwrap_err(),
            JoseError::RsaInvalidKey
        );
        assert_eq!(
            PublicKey::rsa(&n, &[], None).unwrap_err(),
            JoseError::RsaInvalidKey
        );
        assert_eq!(
            PublicKey::rsa(&[], &[3], None).unwrap_err(),
            JoseError::InvalidKeyParam("n")
        );
        let mut even = n.clone();
        even[255] = 0xfa;
        assert_eq!(
            PublicKey::rsa(&even, &[3], None).unwrap_err(),
            JoseError::RsaInvalidKey
        );
        let mut padded = vec![0, 0];
        padded.extend_from_slice(&n);
        let key = PublicKey::rsa(&padded, &[0, 1, 0, 1], None).unwrap();
        assert_eq!(key.key_type(), KeyType::Rsa { bits: 2048 });
        assert!(Alg::ALL.iter().all(|a| key.supports(*a) == a.is_rsa()));
        let only = PublicKey::rsa(&n, &[3], Some(Alg::Ps256)).unwrap();
        assert!(only.supports(Alg::Ps256) && !only.supports(Alg::Rs256));
        assert_eq!(
            PublicKey::rsa(&n, &[3], Some(Alg::Es256)).unwrap_err(),
            JoseError::UnsupportedKeyAlg
        );
        assert_eq!(
            key.clone().with_alg(Alg::EdDsa).unwrap_err(),
            JoseError::UnsupportedKeyAlg
        );
        assert_eq!(key.clone().with_kid("").unwrap_err(), JoseError::InvalidKid);
        assert_eq!(key.with_kid("k1").unwrap().kid(), Some("k1"));
    }

    #[test]
    fn ec_and_ed25519_reject_bad_points() {
        assert_eq!(
            PublicKey::ec(KeyType::EcP256, &[4; 65], None).unwrap_err(),
            JoseError::InvalidEcPoint
        );
        assert_eq!(
            PublicKey::ed25519(&[0; 31], None).unwrap_err(),
            JoseError::InvalidKeyParam("x")
        );
    }
}
