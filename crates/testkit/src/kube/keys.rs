//! Service-account signing keys: RS256 (RSA 2048) and ES256 (P-256). The key id is the one
//! kube-apiserver computes (base64url of the SHA-256 of the DER `SubjectPublicKeyInfo`), and
//! the JWK has the field order go-jose writes (`use, kty, kid, crv, alg, x, y, n, e`).

use std::fmt;
use std::sync::Arc;

use anyhow::{Context, bail};
use aws_lc_rs::digest::{SHA256, digest};
use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED, ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair as _,
    RSA_PKCS1_2048_8192_SHA256, RSA_PKCS1_SHA256, RsaKeyPair, UnparsedPublicKey,
};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::{Value, json};

/// A JWS signature algorithm the stand-in signs with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Alg {
    /// RSASSA-PKCS1-v1_5 with SHA-256 over an RSA 2048 key (the Kubernetes default).
    #[default]
    Rs256,
    /// ECDSA P-256 with SHA-256 (fixed-size `r || s` signature).
    Es256,
}

impl Alg {
    /// The JOSE name: `RS256` or `ES256`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Rs256 => "RS256",
            Self::Es256 => "ES256",
        }
    }
}

impl fmt::Display for Alg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

enum Material {
    Rsa(RsaKeyPair),
    Ec(EcdsaKeyPair),
}

struct KeyInner {
    alg: Alg,
    kid: String,
    spki_der: Vec<u8>,
    /// What aws-lc-rs verifies against: PKCS#1 `RSAPublicKey` DER or the uncompressed point.
    verify_bytes: Vec<u8>,
    jwk: Value,
    material: Material,
}

/// A signing key pair. Cheap to clone (shared); its `Debug` shows only the alg and kid.
#[derive(Clone)]
pub struct SigningKey {
    inner: Arc<KeyInner>,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("alg", &self.inner.alg)
            .field("kid", &self.inner.kid)
            .finish_non_exhaustive()
    }
}

fn b64url(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// kube-apiserver's `keyIDFromPublicKey`: base64url(SHA-256(DER SubjectPublicKeyInfo)).
fn kid_of(spki_der: &[u8]) -> String {
    b64url(digest(&SHA256, spki_der).as_ref())
}

impl SigningKey {
    /// Generates a fresh key: RSA 2048 for RS256, P-256 for ES256.
    pub fn generate(alg: Alg) -> anyhow::Result<Self> {
        let name = alg.as_str();
        let (material, spki_der, verify_bytes, jwk) = match alg {
            Alg::Rs256 => {
                let pair = RsaKeyPair::generate(KeySize::Rsa2048)
                    .map_err(|_| anyhow::anyhow!("RSA key generation failed"))?;
                let public = pair.public_key();
                let spki = public
                    .as_der()
                    .map_err(|_| anyhow::anyhow!("RSA public key encoding failed"))?
                    .as_ref()
                    .to_vec();
                let n = b64url(public.modulus().big_endian_without_leading_zero());
                let e = b64url(public.exponent().big_endian_without_leading_zero());
                let jwk = json!({
                    "use": "sig", "kty": "RSA", "kid": kid_of(&spki), "alg": name, "n": n, "e": e,
                });
                let verify = public.as_ref().to_vec();
                (Material::Rsa(pair), spki, verify, jwk)
            }
            Alg::Es256 => {
                let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING)
                    .map_err(|_| anyhow::anyhow!("P-256 key generation failed"))?;
                let public = pair.public_key();
                let spki = public
                    .as_der()
                    .map_err(|_| anyhow::anyhow!("EC public key encoding failed"))?
                    .as_ref()
                    .to_vec();
                let point = public.as_ref().to_vec();
                if point.len() != 65 || point[0] != 4 {
                    bail!("unexpected P-256 public key encoding");
                }
                let jwk = json!({
                    "use": "sig", "kty": "EC", "kid": kid_of(&spki), "crv": "P-256", "alg": name,
                    "x": b64url(&point[1..33]), "y": b64url(&point[33..65]),
                });
                (Material::Ec(pair), spki, point, jwk)
            }
        };
        Ok(Self {
            inner: Arc::new(KeyInner {
                alg,
                kid: kid_of(&spki_der),
                spki_der,
                verify_bytes,
                jwk,
                material,
            }),
        })
    }

    /// The key's algorithm.
    pub fn alg(&self) -> Alg {
        self.inner.alg
    }

    /// The key id: base64url (no padding) of the SHA-256 of the DER public key, as
    /// kube-apiserver computes it.
    pub fn kid(&self) -> &str {
        &self.inner.kid
    }

    /// The public JWK as the JWKS endpoint publishes it.
    pub fn public_jwk(&self) -> Value {
        self.inner.jwk.clone()
    }

    /// The public key as a PEM `PUBLIC KEY` block (for `pem_keys` / `jwt_validation_pubkeys`).
    pub fn public_key_pem(&self) -> String {
        let body = STANDARD.encode(&self.inner.spki_der);
        let mut pem = String::from("-----BEGIN PUBLIC KEY-----\n");
        for line in body.as_bytes().chunks(64) {
            pem.push_str(&String::from_utf8_lossy(line));
            pem.push('\n');
        }
        pem.push_str("-----END PUBLIC KEY-----\n");
        pem
    }

    /// Signs `claims` as a compact JWS with the header `{"alg":…,"kid":…}` (Kubernetes'
    /// header).
    pub fn sign(&self, claims: &Value) -> anyhow::Result<String> {
        let header = json!({"alg": self.inner.alg.as_str(), "kid": self.inner.kid});
        self.sign_with_header(&header, claims)
    }

    /// Signs `claims` under an arbitrary header (for forged tokens: other `alg`, no `kid`,
    /// `crit`, …). The signature is always made with this key's own algorithm.
    pub fn sign_with_header(&self, header: &Value, claims: &Value) -> anyhow::Result<String> {
        let header = serde_json::to_vec(header).context("encode header")?;
        let claims = serde_json::to_vec(claims).context("encode claims")?;
        let input = format!("{}.{}", b64url(&header), b64url(&claims));
        let signature = self.sign_bytes(input.as_bytes())?;
        Ok(format!("{input}.{}", b64url(&signature)))
    }

    fn sign_bytes(&self, message: &[u8]) -> anyhow::Result<Vec<u8>> {
        let rng = SystemRandom::new();
        match &self.inner.material {
            Material::Rsa(pair) => {
                let mut signature = vec![0; pair.public_modulus_len()];
                pair.sign(&RSA_PKCS1_SHA256, &rng, message, &mut signature)
                    .map_err(|_| anyhow::anyhow!("RSA signing failed"))?;
                Ok(signature)
            }
            Material::Ec(pair) => {
                let signature = pair
                    .sign(&rng, message)
                    .map_err(|_| anyhow::anyhow!("ECDSA signing failed"))?;
                Ok(signature.as_ref().to_vec())
            }
        }
    }

    /// Whether `signature` over `input` verifies under this key for the header's `alg`
    /// (a header alg other than the key's own fails, as in go-jose).
    pub(crate) fn verify(&self, header_alg: &str, input: &[u8], signature: &[u8]) -> bool {
        if header_alg != self.inner.alg.as_str() {
            return false;
        }
        let key = match self.inner.alg {
            Alg::Rs256 => {
                UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, &self.inner.verify_bytes)
            }
            Alg::Es256 => {
                UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, &self.inner.verify_bytes)
            }
        };
        key.verify(input, signature).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kid_is_sha256_of_spki_and_signatures_verify() {
        for alg in [Alg::Rs256, Alg::Es256] {
            let key = SigningKey::generate(alg).unwrap();
            assert_eq!(key.kid().len(), 43);
            assert_eq!(key.public_jwk()["kid"], key.kid());
            let token = key.sign(&json!({"sub": "x"})).unwrap();
            let (input, signature) = token.rsplit_once('.').unwrap();
            let signature = URL_SAFE_NO_PAD.decode(signature).unwrap();
            assert!(key.verify(alg.as_str(), input.as_bytes(), &signature));
            assert!(!key.verify("HS256", input.as_bytes(), &signature));
            let other = SigningKey::generate(alg).unwrap();
            assert!(!other.verify(alg.as_str(), input.as_bytes(), &signature));
            assert!(
                key.public_key_pem()
                    .starts_with("-----BEGIN PUBLIC KEY-----\n")
            );
        }
    }

    #[test]
    fn jwk_field_order_is_go_jose() {
        let rsa = SigningKey::generate(Alg::Rs256).unwrap();
        let keys: Vec<_> = rsa
            .public_jwk()
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        assert_eq!(keys, ["use", "kty", "kid", "alg", "n", "e"]);
        assert_eq!(rsa.public_jwk()["e"], "AQAB");
        let ec = SigningKey::generate(Alg::Es256).unwrap();
        let keys: Vec<_> = ec
            .public_jwk()
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        assert_eq!(keys, ["use", "kty", "kid", "crv", "alg", "x", "y"]);
    }
}
