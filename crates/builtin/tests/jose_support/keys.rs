//! Test keys generated at run time with aws-lc-rs (no pasted key blobs), their PEM/JWK forms,
//! and token signing. Included by the `jose_*` tests with `#[path]`.
#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    reason = "shared test helpers"
)]

use std::sync::OnceLock;

use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der, PublicKeyX509Der};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair as RsaKeyPair, KeySize};
use aws_lc_rs::signature::{
    self, ECDSA_P256_SHA256_FIXED_SIGNING, ECDSA_P384_SHA384_FIXED_SIGNING,
    ECDSA_P521_SHA512_FIXED_SIGNING, EcdsaKeyPair, EcdsaSigningAlgorithm, Ed25519KeyPair,
    KeyPair as _, RsaPublicKeyComponents,
};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::{Value, json};
use warden_builtin::jose::Alg;

/// A private key for signing test tokens.
pub enum TestKey {
    Rsa(RsaKeyPair),
    Ec(EcdsaKeyPair, Alg),
    Ed25519(Ed25519KeyPair),
}

pub fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

pub fn pem(label: &str, der: &[u8]) -> String {
    let body = STANDARD.encode(der);
    let lines: Vec<&str> = body
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    format!(
        "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
        lines.join("\n")
    )
}

/// One shared 2048-bit RSA key per test binary (generation is the slow part).
pub fn rsa() -> &'static TestKey {
    static KEY: OnceLock<TestKey> = OnceLock::new();
    KEY.get_or_init(|| TestKey::Rsa(RsaKeyPair::generate(KeySize::Rsa2048).unwrap()))
}

/// A second, distinct RSA key.
pub fn rsa_other() -> &'static TestKey {
    static KEY: OnceLock<TestKey> = OnceLock::new();
    KEY.get_or_init(|| TestKey::Rsa(RsaKeyPair::generate(KeySize::Rsa2048).unwrap()))
}

impl TestKey {
    pub fn ec(alg: Alg) -> TestKey {
        let signing: &'static EcdsaSigningAlgorithm = match alg {
            Alg::Es256 => &ECDSA_P256_SHA256_FIXED_SIGNING,
            Alg::Es384 => &ECDSA_P384_SHA384_FIXED_SIGNING,
            Alg::Es512 => &ECDSA_P521_SHA512_FIXED_SIGNING,
            other => panic!("not an EC alg: {other}"),
        };
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(signing, &SystemRandom::new()).unwrap();
        TestKey::Ec(
            EcdsaKeyPair::from_pkcs8(signing, pkcs8.as_ref()).unwrap(),
            alg,
        )
    }

    pub fn ed25519() -> TestKey {
        TestKey::Ed25519(Ed25519KeyPair::generate().unwrap())
    }

    /// The DER SubjectPublicKeyInfo.
    pub fn spki_der(&self) -> Vec<u8> {
        let der: PublicKeyX509Der<'static> = match self {
            TestKey::Rsa(k) => k.public_key().as_der().unwrap(),
            TestKey::Ec(k, _) => k.public_key().as_der().unwrap(),
            TestKey::Ed25519(k) => k.public_key().as_der().unwrap(),
        };
        der.as_ref().to_vec()
    }

    /// `-----BEGIN PUBLIC KEY-----`.
    pub fn public_pem(&self) -> String {
        pem("PUBLIC KEY", &self.spki_der())
    }

    /// `-----BEGIN RSA PUBLIC KEY-----` (PKCS#1).
    pub fn rsa_public_pem(&self) -> String {
        match self {
            TestKey::Rsa(k) => pem("RSA PUBLIC KEY", k.public_key().as_ref()),
            _ => panic!("not RSA"),
        }
    }

    /// The private key as PKCS#8 DER.
    pub fn pkcs8(&self) -> Vec<u8> {
        match self {
            TestKey::Rsa(k) => {
                let der: Pkcs8V1Der<'static> = k.as_der().unwrap();
                der.as_ref().to_vec()
            }
            _ => panic!("only RSA keys keep their PKCS#8 here"),
        }
    }

    /// A self-signed certificate for this key, as PEM.
    pub fn certificate_pem(&self) -> String {
        let key_pair = rcgen::KeyPair::try_from(self.pkcs8().as_slice()).unwrap();
        rcgen::CertificateParams::new(vec!["warden.test".to_owned()])
            .unwrap()
            .self_signed(&key_pair)
            .unwrap()
            .pem()
    }

    /// The public JWK (no `kid`, no `alg`).
    pub fn jwk(&self) -> Value {
        match self {
            TestKey::Rsa(k) => {
                let c = RsaPublicKeyComponents::<Vec<u8>>::from(k.public_key());
                json!({"kty": "RSA", "n": b64(&c.n), "e": b64(&c.e)})
            }
            TestKey::Ec(k, alg) => {
                let point = k.public_key().as_ref();
                let len = (point.len() - 1) / 2;
                let crv = match alg {
                    Alg::Es256 => "P-256",
                    Alg::Es384 => "P-384",
                    _ => "P-521",
                };
                json!({
                    "kty": "EC", "crv": crv,
                    "x": b64(&point[1..=len]), "y": b64(&point[1 + len..]),
                })
            }
            TestKey::Ed25519(k) => {
                json!({"kty": "OKP", "crv": "Ed25519", "x": b64(k.public_key().as_ref())})
            }
        }
    }

    /// The JWK with extra members merged in.
    pub fn jwk_with(&self, extra: Value) -> Value {
        let mut jwk = self.jwk();
        for (k, v) in extra.as_object().unwrap() {
            jwk[k] = v.clone();
        }
        jwk
    }

    /// Signs `message` with `alg` (which must fit the key).
    pub fn sign(&self, alg: Alg, message: &[u8]) -> Vec<u8> {
        let rng = SystemRandom::new();
        match self {
            TestKey::Rsa(k) => {
                let padding: &'static dyn signature::RsaEncoding = match alg {
                    Alg::Rs256 => &signature::RSA_PKCS1_SHA256,
                    Alg::Rs384 => &signature::RSA_PKCS1_SHA384,
                    Alg::Rs512 => &signature::RSA_PKCS1_SHA512,
                    Alg::Ps256 => &signature::RSA_PSS_SHA256,
                    Alg::Ps384 => &signature::RSA_PSS_SHA384,
                    Alg::Ps512 => &signature::RSA_PSS_SHA512,
                    other => panic!("not an RSA alg: {other}"),
                };
                let mut sig = vec![0; k.public_modulus_len()];
                k.sign(padding, &rng, message, &mut sig).unwrap();
                sig
            }
            TestKey::Ec(k, _) => k.sign(&rng, message).unwrap().as_ref().to_vec(),
            TestKey::Ed25519(k) => k.sign(message).as_ref().to_vec(),
        }
    }

    /// A P-256 DER (ASN.1) signature, for the DER-vs-P1363 test.
    pub fn sign_es256_der(&self, message: &[u8]) -> Vec<u8> {
        let TestKey::Ec(_, Alg::Es256) = self else {
            panic!("needs a P-256 key")
        };
        // Sign with the FIXED signer and re-encode r‖s as a DER ECDSA-Sig-Value.
        let fixed = self.sign(Alg::Es256, message);
        let int = |bytes: &[u8]| {
            let mut v: Vec<u8> = bytes.iter().copied().skip_while(|b| *b == 0).collect();
            if v.first().is_none_or(|b| b & 0x80 != 0) {
                v.insert(0, 0);
            }
            let mut out = vec![0x02, u8::try_from(v.len()).unwrap()];
            out.extend(v);
            out
        };
        let mut body = int(&fixed[..32]);
        body.extend(int(&fixed[32..]));
        let mut der = vec![0x30, u8::try_from(body.len()).unwrap()];
        der.extend(body);
        der
    }
}

/// `header.payload` from JSON texts (exact bytes, so duplicates and odd spellings survive).
pub fn signing_input(header: &str, payload: &str) -> String {
    format!("{}.{}", b64(header), b64(payload))
}

/// A token with the given header and payload texts, signed by `key` with `alg`.
pub fn sign_raw(key: &TestKey, alg: Alg, header: &str, payload: &str) -> String {
    let input = signing_input(header, payload);
    let sig = key.sign(alg, input.as_bytes());
    format!("{input}.{}", b64(sig))
}

/// A token with `{"alg": alg, ...extra_header}` and the given claims.
pub fn sign(key: &TestKey, alg: Alg, extra_header: Value, claims: Value) -> String {
    let mut header = json!({"alg": alg.as_str()});
    for (k, v) in extra_header.as_object().unwrap() {
        header[k] = v.clone();
    }
    sign_raw(key, alg, &header.to_string(), &claims.to_string())
}

/// Typical Kubernetes projected-token claims.
pub fn k8s_claims() -> Value {
    json!({
        "iss": "https://kubernetes.default.svc.cluster.local",
        "sub": "system:serviceaccount:default:app",
        "aud": ["vault"],
        "exp": 4_000_000_000u64,
        "iat": 1_700_000_000u64,
        "nbf": 1_700_000_000u64,
        "kubernetes.io": {"namespace": "default", "serviceaccount": {"name": "app", "uid": "u-1"}},
    })
}
