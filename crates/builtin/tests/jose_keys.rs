//! Key parsing from PEM (SPKI, PKCS#1, X.509 certificate) and JWK / JWK sets, with keys
//! generated at run time by aws-lc-rs (and certificates by rcgen), each checked by verifying a
//! token signed with the matching private key.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers fail loudly"
)]

#[path = "jose_support/keys.rs"]
mod keys;

use keys::{TestKey, b64, k8s_claims, pem, rsa, rsa_other, sign};
use serde_json::json;
use warden_builtin::jose::{Alg, JoseError, KeySet, KeyType, PublicKey, verify};

fn assert_verifies(key: PublicKey, signer: &TestKey, alg: Alg) {
    let set = KeySet::new([key]);
    let token = sign(signer, alg, json!({}), k8s_claims());
    assert!(verify(&token, &set, &[alg]).is_ok(), "{alg}");
}

#[test]
fn spki_pem_for_every_key_type() {
    let rsa_key = PublicKey::from_pem(&rsa().public_pem()).unwrap();
    assert_eq!(rsa_key.key_type(), KeyType::Rsa { bits: 2048 });
    assert_eq!((rsa_key.kid(), rsa_key.alg()), (None, None));
    for alg in [
        Alg::Rs256,
        Alg::Rs384,
        Alg::Rs512,
        Alg::Ps256,
        Alg::Ps384,
        Alg::Ps512,
    ] {
        assert_verifies(rsa_key.clone(), rsa(), alg);
    }
    for (alg, key_type) in [
        (Alg::Es256, KeyType::EcP256),
        (Alg::Es384, KeyType::EcP384),
        (Alg::Es512, KeyType::EcP521),
    ] {
        let signer = TestKey::ec(alg);
        let key = PublicKey::from_pem(&signer.public_pem()).unwrap();
        assert_eq!(key.key_type(), key_type);
        assert!(Alg::ALL.iter().all(|a| key.supports(*a) == (*a == alg)));
        assert_verifies(key, &signer, alg);
    }
    let ed = TestKey::ed25519();
    let key = PublicKey::from_pem(&ed.public_pem()).unwrap();
    assert_eq!(key.key_type(), KeyType::Ed25519);
    assert_verifies(key, &ed, Alg::EdDsa);
}

#[test]
fn pkcs1_rsa_public_key_pem() {
    let key = PublicKey::from_pem(&rsa().rsa_public_pem()).unwrap();
    assert_eq!(key.key_type(), KeyType::Rsa { bits: 2048 });
    assert_verifies(key, rsa(), Alg::Rs256);
}

#[test]
fn certificate_pem_yields_its_public_key() {
    let cert = rsa_other().certificate_pem();
    assert!(cert.starts_with("-----BEGIN CERTIFICATE-----"));
    let key = PublicKey::from_pem(&cert).unwrap();
    assert_verifies(key.clone(), rsa_other(), Alg::Rs256);
    // Not the other RSA key.
    let token = sign(rsa(), Alg::Rs256, json!({}), k8s_claims());
    assert_eq!(
        verify(&token, &KeySet::new([key]), &Alg::ALL).unwrap_err(),
        JoseError::BadSignature
    );
}

#[test]
fn pem_framing_follows_vault() {
    // Leading text is skipped and only the first block is used, as Go's pem.Decode and
    // Vault's ParsePublicKeyPEM do.
    let text = format!(
        "# cluster key\n{}{}",
        rsa().public_pem(),
        rsa_other().public_pem()
    );
    assert_verifies(PublicKey::from_pem(&text).unwrap(), rsa(), Alg::Rs256);
    let crlf = rsa().public_pem().replace('\n', "\r\n");
    assert!(PublicKey::from_pem(&crlf).is_ok());
    assert_eq!(
        PublicKey::from_pem(&pem("PRIVATE KEY", &rsa().pkcs8())).unwrap_err(),
        JoseError::PrivateKeyMaterial
    );
    assert!(matches!(
        PublicKey::from_pem("not a key").unwrap_err(),
        JoseError::InvalidPem(_)
    ));
    assert!(matches!(
        PublicKey::from_pem(&pem("X509 CRL", &[0x30, 0x00])).unwrap_err(),
        JoseError::InvalidPem(_)
    ));
    assert_eq!(
        PublicKey::from_pem(&pem("PUBLIC KEY", &[0x30, 0x03, 0x02, 0x01])).unwrap_err(),
        JoseError::InvalidDer
    );
    // Trailing garbage inside the DER is rejected.
    let mut der = rsa().spki_der();
    der.push(0);
    assert_eq!(
        PublicKey::from_pem(&pem("PUBLIC KEY", &der)).unwrap_err(),
        JoseError::InvalidDer
    );
}

#[test]
fn jwk_for_every_key_type_keeps_kid_and_alg() {
    let cases = [
        (TestKey::ec(Alg::Es256), Alg::Es256),
        (TestKey::ec(Alg::Es384), Alg::Es384),
        (TestKey::ec(Alg::Es512), Alg::Es512),
        (TestKey::ed25519(), Alg::EdDsa),
    ];
    for (signer, alg) in &cases {
        let jwk = signer.jwk_with(json!({"kid": "k", "alg": alg.as_str(), "use": "sig"}));
        let key = PublicKey::from_jwk(&jwk.to_string()).unwrap();
        assert_eq!((key.kid(), key.alg()), (Some("k"), Some(*alg)));
        assert_verifies(key, signer, *alg);
    }
    let jwk = rsa().jwk_with(json!({"kid": "r", "key_ops": ["verify"]}));
    let key = PublicKey::from_jwk(&jwk.to_string()).unwrap();
    assert_eq!((key.kid(), key.alg()), (Some("r"), None));
    assert_verifies(key, rsa(), Alg::Ps384);
    // A modulus with a leading zero octet (seen in the wild) is accepted.
    let mut padded = rsa().jwk();
    let n = base64::Engine::decode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        padded["n"].as_str().unwrap(),
    )
    .unwrap();
    padded["n"] = json!(b64([&[0u8][..], &n].concat()));
    assert_verifies(
        PublicKey::from_jwk(&padded.to_string()).unwrap(),
        rsa(),
        Alg::Rs256,
    );
}

#[test]
fn ec_points_are_validated() {
    let signer = TestKey::ec(Alg::Es256);
    let mut off_curve = signer.jwk();
    let mut y = base64::Engine::decode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        off_curve["y"].as_str().unwrap(),
    )
    .unwrap();
    y[31] ^= 1;
    off_curve["y"] = json!(b64(&y));
    assert_eq!(
        PublicKey::from_jwk(&off_curve.to_string()).unwrap_err(),
        JoseError::InvalidEcPoint
    );
    // P-256 coordinates labelled P-384 have the wrong length.
    let wrong_curve = signer.jwk_with(json!({"crv": "P-384"}));
    assert_eq!(
        PublicKey::from_jwk(&wrong_curve.to_string()).unwrap_err(),
        JoseError::InvalidKeyParam("x")
    );
    // alg that does not fit the curve.
    let wrong_alg = signer.jwk_with(json!({"alg": "ES384"}));
    assert_eq!(
        PublicKey::from_jwk(&wrong_alg.to_string()).unwrap_err(),
        JoseError::UnsupportedKeyAlg
    );
}

#[test]
fn rsa_keys_below_2048_bits_and_weak_exponents_are_refused() {
    let jwk = rsa().jwk();
    let n = base64::Engine::decode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        jwk["n"].as_str().unwrap(),
    )
    .unwrap();
    let mut small = n[..128].to_vec();
    small[127] |= 1;
    let small_jwk = json!({"kty": "RSA", "n": b64(&small), "e": "AQAB"});
    assert_eq!(
        PublicKey::from_jwk(&small_jwk.to_string()).unwrap_err(),
        JoseError::RsaKeyTooSmall { bits: 1024 }
    );
    for e in ["AQ", "Ag", "AAE"] {
        let weak = rsa().jwk_with(json!({"e": e}));
        assert_eq!(
            PublicKey::from_jwk(&weak.to_string()).unwrap_err(),
            JoseError::RsaInvalidKey,
            "{e}"
        );
    }
    let private = rsa().jwk_with(json!({"d": "AQAB"}));
    assert_eq!(
        PublicKey::from_jwk(&private.to_string()).unwrap_err(),
        JoseError::PrivateKeyMaterial
    );
}

#[test]
fn jwk_set_skips_unusable_keys_and_reports_why() {
    let ec = TestKey::ec(Alg::Es256);
    let ed = TestKey::ed25519();
    let document = json!({"keys": [
        rsa().jwk_with(json!({"kid": "good-rsa", "use": "sig", "alg": "RS256"})),
        {"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"},
        {"kty": "EC", "kid": "k256", "crv": "secp256k1", "x": "AA", "y": "AA"},
        {"kty": "OKP", "kid": "x", "crv": "X25519", "x": b64([9u8; 32])},
        ec.jwk_with(json!({"kid": "enc", "use": "enc"})),
        rsa_other().jwk_with(json!({"kid": "dup"})),
        ec.jwk_with(json!({"kid": "dup"})),
        ed.jwk_with(json!({"kid": "good-ed"})),
        {"kty": "RSA", "kid": "priv", "n": "AQAB", "e": "AQAB", "d": "AQAB"},
        "not an object",
        {"kty": "PQ", "kid": "future"},
    ]});
    let report = KeySet::from_jwks(document.to_string().as_bytes()).unwrap();
    let kept: Vec<_> = report.keys.iter().map(|k| k.kid().unwrap()).collect();
    assert_eq!(kept, ["good-rsa", "good-ed"]);
    let reasons: Vec<_> = report
        .skipped
        .iter()
        .map(|s| (s.index, s.kid.as_deref(), s.reason.clone()))
        .collect();
    assert_eq!(
        reasons,
        [
            (1, Some("hmac"), JoseError::UnsupportedKeyType),
            (2, Some("k256"), JoseError::UnsupportedCurve),
            (3, Some("x"), JoseError::UnsupportedCurve),
            (4, Some("enc"), JoseError::NotASigningKey),
            (5, Some("dup"), JoseError::DuplicateKid),
            (6, Some("dup"), JoseError::DuplicateKid),
            (8, Some("priv"), JoseError::PrivateKeyMaterial),
            (
                9,
                None,
                JoseError::InvalidJwks("a key is not a JSON object")
            ),
            (10, Some("future"), JoseError::UnsupportedKeyType),
        ]
    );
    // Nothing verifies under a skipped key; the kept keys work.
    for (signer, alg, kid) in [
        (&ec, Alg::Es256, "enc"),
        (rsa_other(), Alg::Rs256, "dup"),
        (&ec, Alg::Es256, "dup"),
    ] {
        let token = sign(signer, alg, json!({"kid": kid}), k8s_claims());
        assert_eq!(
            verify(&token, &report.keys, &Alg::ALL).unwrap_err(),
            JoseError::UnknownKid
        );
        let no_kid = sign(signer, alg, json!({}), k8s_claims());
        assert!(verify(&no_kid, &report.keys, &Alg::ALL).is_err());
    }
    let token = sign(&ed, Alg::EdDsa, json!({"kid": "good-ed"}), k8s_claims());
    assert_eq!(
        verify(&token, &report.keys, &Alg::ALL).unwrap().key_index,
        1
    );
    // The JWK's alg is kept: RS256 only.
    let ps = sign(rsa(), Alg::Ps256, json!({"kid": "good-rsa"}), k8s_claims());
    assert_eq!(
        verify(&ps, &report.keys, &Alg::ALL).unwrap_err(),
        JoseError::KeyAlgMismatch(Alg::Ps256)
    );
}

#[test]
fn with_kid_and_with_alg_on_pem_keys() {
    let key = PublicKey::from_pem(&rsa().public_pem()).unwrap();
    let restricted = key
        .clone()
        .with_alg(Alg::Ps256)
        .unwrap()
        .with_kid("pem-1")
        .unwrap();
    assert_eq!(
        (restricted.kid(), restricted.alg()),
        (Some("pem-1"), Some(Alg::Ps256))
    );
    assert!(!restricted.supports(Alg::Rs256));
    assert_eq!(
        key.clone().with_alg(Alg::Es256).unwrap_err(),
        JoseError::UnsupportedKeyAlg
    );
    assert_eq!(key.with_kid("bad\nkid").unwrap_err(), JoseError::InvalidKid);
    let debug = format!("{restricted:?}");
    assert!(debug.contains("pem-1") && debug.len() < 200, "{debug}");
}
