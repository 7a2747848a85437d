//! The JWT attack classes of reference/security-and-reliability.md §2 and checklist §4.1
//! (J3–J12) and §4.3 (W1), as they apply to the verification layer, one named test each. Keys
//! are generated at run time.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers fail loudly"
)]

#[path = "jose_support/keys.rs"]
mod keys;

use std::net::TcpListener;
use std::time::{Duration, Instant};

use aws_lc_rs::hmac;
use keys::{TestKey, b64, k8s_claims, rsa, rsa_other, sign, sign_raw, signing_input};
use serde_json::json;
use warden_builtin::jose::{Alg, JoseError, KeySet, Part, PublicKey, decode_unverified, verify};

fn pem_key(key: &TestKey) -> PublicKey {
    PublicKey::from_pem(&key.public_pem()).unwrap()
}

fn jwk_key(key: &TestKey, extra: serde_json::Value) -> PublicKey {
    PublicKey::from_jwk(&key.jwk_with(extra).to_string()).unwrap()
}

fn rsa_set() -> KeySet {
    KeySet::new([pem_key(rsa())])
}

#[test]
fn valid_tokens_verify_for_every_algorithm() {
    let ec = [
        TestKey::ec(Alg::Es256),
        TestKey::ec(Alg::Es384),
        TestKey::ec(Alg::Es512),
    ];
    let ed = TestKey::ed25519();
    let mut cases: Vec<(&TestKey, Alg)> = [Alg::Rs256, Alg::Rs384, Alg::Rs512, Alg::Ps256]
        .into_iter()
        .chain([Alg::Ps384, Alg::Ps512])
        .map(|alg| (rsa(), alg))
        .collect();
    cases.extend([
        (&ec[0], Alg::Es256),
        (&ec[1], Alg::Es384),
        (&ec[2], Alg::Es512),
    ]);
    cases.push((&ed, Alg::EdDsa));
    for (key, alg) in cases {
        let set = KeySet::new([jwk_key(key, json!({"kid": "k1"}))]);
        let token = sign(key, alg, json!({"kid": "k1", "typ": "JWT"}), k8s_claims());
        let verified = verify(&token, &set, &Alg::ALL).unwrap();
        assert_eq!(verified.header.alg, alg);
        assert_eq!(verified.key_kid.as_deref(), Some("k1"));
        assert_eq!(
            verified.claims.sub(),
            Some("system:serviceaccount:default:app")
        );
        assert_eq!(verified.claims.audiences(), ["vault"]);
        assert_eq!(verified.claims.exp(), Some(4_000_000_000));
        // Tampering with the payload breaks it.
        let (h, rest) = token.split_once('.').unwrap();
        let (_, s) = rest.split_once('.').unwrap();
        let forged = format!(
            "{h}.{}.{s}",
            b64(json!({"sub": "system:admin"}).to_string())
        );
        assert_eq!(
            verify(&forged, &set, &Alg::ALL).unwrap_err(),
            JoseError::BadSignature
        );
    }
}

#[test]
fn alg_none_in_every_spelling_is_rejected() {
    for alg in ["none", "None", "NONE", "nOnE"] {
        let header = json!({"alg": alg}).to_string();
        let unsigned = format!("{}.", signing_input(&header, &k8s_claims().to_string()));
        assert_eq!(
            verify(&unsigned, &rsa_set(), &Alg::ALL).unwrap_err(),
            JoseError::UnsupportedAlg
        );
        assert_eq!(
            decode_unverified(&unsigned, &Alg::ALL).unwrap_err(),
            JoseError::UnsupportedAlg
        );
        let with_sig = format!("{}.{}", &unsigned[..unsigned.len() - 1], b64([1u8; 32]));
        assert_eq!(
            verify(&with_sig, &rsa_set(), &Alg::ALL).unwrap_err(),
            JoseError::UnsupportedAlg
        );
    }
    let empty_alg = sign_raw(rsa(), Alg::Rs256, r#"{"alg":""}"#, "{}");
    assert_eq!(
        verify(&empty_alg, &rsa_set(), &Alg::ALL).unwrap_err(),
        JoseError::UnsupportedAlg
    );
    let missing = sign_raw(rsa(), Alg::Rs256, r#"{"typ":"JWT"}"#, "{}");
    assert_eq!(
        verify(&missing, &rsa_set(), &Alg::ALL).unwrap_err(),
        JoseError::MissingAlg
    );
}

#[test]
fn hs256_signed_with_the_public_key_as_secret_is_rejected() {
    let pem = rsa().public_pem();
    let jwk = rsa().jwk().to_string();
    for secret in [pem.as_bytes(), jwk.as_bytes(), &rsa().spki_der()[..]] {
        for header in [
            json!({"alg": "HS256"}),
            json!({"alg": "HS256", "kid": "k1"}),
        ] {
            let input = signing_input(&header.to_string(), &k8s_claims().to_string());
            let mac = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, secret), input.as_bytes());
            let token = format!("{input}.{}", b64(mac.as_ref()));
            let set = KeySet::new([pem_key(rsa()).with_kid("k1").unwrap()]);
            assert_eq!(
                verify(&token, &set, &Alg::ALL).unwrap_err(),
                JoseError::UnsupportedAlg
            );
        }
    }
}

#[test]
fn key_confusion_rsa_and_ec_is_rejected() {
    let ec = TestKey::ec(Alg::Es256);
    let ec_only = KeySet::new([jwk_key(&ec, json!({"kid": "ec"}))]);
    let rs_token = sign(rsa(), Alg::Rs256, json!({}), k8s_claims());
    assert_eq!(
        verify(&rs_token, &ec_only, &Alg::ALL).unwrap_err(),
        JoseError::NoCompatibleKey(Alg::Rs256)
    );
    let rs_token_kid = sign(rsa(), Alg::Rs256, json!({"kid": "ec"}), k8s_claims());
    assert_eq!(
        verify(&rs_token_kid, &ec_only, &Alg::ALL).unwrap_err(),
        JoseError::KeyAlgMismatch(Alg::Rs256)
    );
    let es_token = sign(&ec, Alg::Es256, json!({}), k8s_claims());
    assert_eq!(
        verify(&es_token, &rsa_set(), &Alg::ALL).unwrap_err(),
        JoseError::NoCompatibleKey(Alg::Es256)
    );
    // A P-256 key never verifies ES384, and Ed25519 never ES256.
    let p384 = TestKey::ec(Alg::Es384);
    let es384 = sign(&p384, Alg::Es384, json!({}), k8s_claims());
    assert_eq!(
        verify(&es384, &ec_only, &Alg::ALL).unwrap_err(),
        JoseError::NoCompatibleKey(Alg::Es384)
    );
    let ed_only = KeySet::new([pem_key(&TestKey::ed25519())]);
    assert_eq!(
        verify(&es_token, &ed_only, &Alg::ALL).unwrap_err(),
        JoseError::NoCompatibleKey(Alg::Es256)
    );
}

#[test]
fn key_alg_parameter_restricts_the_algorithm() {
    // Wycheproof WrongPrimitive: a key published for PS512 must not verify RS256/PS256.
    let set = KeySet::new([jwk_key(rsa(), json!({"kid": "ps", "alg": "PS512"}))]);
    let ok = sign(rsa(), Alg::Ps512, json!({"kid": "ps"}), k8s_claims());
    assert!(verify(&ok, &set, &Alg::ALL).is_ok());
    for alg in [Alg::Rs256, Alg::Rs512, Alg::Ps256, Alg::Ps384] {
        let with_kid = sign(rsa(), alg, json!({"kid": "ps"}), k8s_claims());
        assert_eq!(
            verify(&with_kid, &set, &Alg::ALL).unwrap_err(),
            JoseError::KeyAlgMismatch(alg)
        );
        let without = sign(rsa(), alg, json!({}), k8s_claims());
        assert_eq!(
            verify(&without, &set, &Alg::ALL).unwrap_err(),
            JoseError::NoCompatibleKey(alg)
        );
    }
}

#[test]
fn allow_list_is_per_call() {
    let token = sign(rsa(), Alg::Ps256, json!({}), k8s_claims());
    assert!(verify(&token, &rsa_set(), &[Alg::Ps256]).is_ok());
    assert_eq!(
        verify(&token, &rsa_set(), &[Alg::Rs256]).unwrap_err(),
        JoseError::AlgNotAllowed(Alg::Ps256)
    );
    assert_eq!(
        verify(&token, &rsa_set(), &[]).unwrap_err(),
        JoseError::AlgNotAllowed(Alg::Ps256)
    );
    let ed = TestKey::ed25519();
    let ed_token = sign(&ed, Alg::EdDsa, json!({}), k8s_claims());
    assert_eq!(
        decode_unverified(&ed_token, &Alg::KUBERNETES).unwrap_err(),
        JoseError::AlgNotAllowed(Alg::EdDsa)
    );
}

#[test]
fn kid_injection_is_an_opaque_exact_lookup() {
    let set = KeySet::new([pem_key(rsa()).with_kid("real").unwrap()]);
    for kid in [
        "../../../../dev/null",
        "/dev/null",
        "|sleep 10",
        "x' UNION SELECT '1';--",
        "REAL",
        "real ",
    ] {
        let token = sign(rsa(), Alg::Rs256, json!({"kid": kid}), k8s_claims());
        let started = Instant::now();
        assert_eq!(
            verify(&token, &set, &Alg::ALL).unwrap_err(),
            JoseError::UnknownKid,
            "{kid}"
        );
        assert!(started.elapsed() < Duration::from_millis(100));
        // The same string as a configured kid is just data: an exact match verifies.
        let exact = KeySet::new([pem_key(rsa()).with_kid(kid).unwrap()]);
        assert!(verify(&token, &exact, &Alg::ALL).is_ok(), "{kid}");
    }
    for kid in [
        json!(""),
        json!("a\u{0}b"),
        json!("é"),
        json!("k".repeat(257)),
        json!(1),
        json!(null),
    ] {
        let token = sign(rsa(), Alg::Rs256, json!({"kid": kid}), k8s_claims());
        assert_eq!(
            verify(&token, &set, &Alg::ALL).unwrap_err(),
            JoseError::InvalidHeader("kid")
        );
    }
    let ten_kb = sign(
        rsa(),
        Alg::Rs256,
        json!({"kid": "k".repeat(10_000)}),
        k8s_claims(),
    );
    assert_eq!(
        verify(&ten_kb, &set, &Alg::ALL).unwrap_err(),
        JoseError::HeaderTooLarge { max: 4096 }
    );
}

#[test]
fn unknown_kid_is_distinct_so_the_caller_can_refresh() {
    let k1 = pem_key(rsa()).with_kid("k1").unwrap();
    let k2 = pem_key(rsa_other()).with_kid("k2").unwrap();
    let token = sign(rsa_other(), Alg::Rs256, json!({"kid": "k2"}), k8s_claims());
    let before = KeySet::new([k1.clone()]);
    assert!(!before.contains_kid("k2"));
    assert_eq!(
        verify(&token, &before, &Alg::ALL).unwrap_err(),
        JoseError::UnknownKid
    );
    let refreshed = KeySet::new([k1, k2]);
    let verified = verify(&token, &refreshed, &Alg::ALL).unwrap();
    assert_eq!(
        (verified.key_kid.as_deref(), verified.key_index),
        (Some("k2"), 1)
    );
    // Static PEM keys have no kid: Vault ignores the token's kid for them.
    let pems = KeySet::new([pem_key(rsa()), pem_key(rsa_other())]);
    let verified = verify(&token, &pems, &Alg::ALL).unwrap();
    assert_eq!((verified.key_kid, verified.key_index), (None, 1));
    // A kid-less token tries every compatible key.
    let no_kid = sign(rsa_other(), Alg::Rs256, json!({}), k8s_claims());
    assert_eq!(verify(&no_kid, &refreshed, &Alg::ALL).unwrap().key_index, 1);
}

#[test]
fn jku_and_x5u_headers_are_never_dereferenced() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let url = format!("http://{}/jwks.json", listener.local_addr().unwrap());
    let attacker = rsa_other();
    let header = json!({"jku": url, "x5u": url, "kid": "attacker"});
    let forged = sign(attacker, Alg::Rs256, header.clone(), k8s_claims());
    let set = rsa_set();
    assert_eq!(
        verify(&forged, &set, &Alg::ALL).unwrap_err(),
        JoseError::BadSignature
    );
    // Their presence alone is not an error; the header reports it.
    let legit = sign(rsa(), Alg::Rs256, header, k8s_claims());
    let verified = verify(&legit, &set, &Alg::ALL).unwrap();
    assert!(verified.header.has_jku && verified.header.has_x5u);
    std::thread::yield_now();
    let accepted = listener.accept();
    assert!(
        matches!(&accepted, Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
        "the listener got a connection"
    );
}

#[test]
fn embedded_jwk_and_x5c_are_ignored() {
    let attacker = TestKey::ec(Alg::Es256);
    let configured = KeySet::new([jwk_key(
        &TestKey::ec(Alg::Es256),
        json!({"kid": "kid-ec-sign"}),
    )]);
    let embedded =
        json!({"kid": "kid-ec-sign", "jwk": attacker.jwk_with(json!({"kid": "kid-ec-sign"}))});
    let forged = sign(&attacker, Alg::Es256, embedded, k8s_claims());
    assert_eq!(
        verify(&forged, &configured, &Alg::ALL).unwrap_err(),
        JoseError::BadSignature
    );
    let cert = rsa_other().certificate_pem();
    let der_b64: String = cert.lines().filter(|l| !l.starts_with("-----")).collect();
    let x5c = sign(
        rsa_other(),
        Alg::Rs256,
        json!({"x5c": [der_b64]}),
        k8s_claims(),
    );
    assert_eq!(
        verify(&x5c, &rsa_set(), &Alg::ALL).unwrap_err(),
        JoseError::BadSignature
    );
}

#[test]
fn crit_header_is_rejected() {
    for crit in [
        json!(["exp"]),
        json!(["b64"]),
        json!([]),
        json!(["x"]),
        json!("x"),
    ] {
        let token = sign(
            rsa(),
            Alg::Rs256,
            json!({"crit": crit, "exp": 1, "x": 1}),
            k8s_claims(),
        );
        assert_eq!(
            verify(&token, &rsa_set(), &Alg::ALL).unwrap_err(),
            JoseError::CriticalHeader
        );
    }
}

#[test]
fn unencoded_payload_b64_false_is_rejected() {
    let token = sign(rsa(), Alg::Rs256, json!({"b64": false}), k8s_claims());
    assert_eq!(
        verify(&token, &rsa_set(), &Alg::ALL).unwrap_err(),
        JoseError::UnencodedPayload
    );
}

#[test]
fn duplicate_claims_and_case_variants_are_rejected() {
    let header = r#"{"alg":"RS256"}"#;
    let set = rsa_set();
    let check = |payload: &str| {
        verify(
            &sign_raw(rsa(), Alg::Rs256, header, payload),
            &set,
            &Alg::ALL,
        )
    };
    assert_eq!(
        check(r#"{"sub":"a","sub":"b"}"#).unwrap_err(),
        JoseError::DuplicateMember(Part::Payload)
    );
    let variant = |name| JoseError::CaseVariantName {
        part: Part::Payload,
        name,
    };
    assert_eq!(
        check(r#"{"sub":"a","ſub":"b"}"#).unwrap_err(),
        variant("sub")
    );
    assert_eq!(
        check(r#"{"aud":"x","AUD":"y"}"#).unwrap_err(),
        variant("aud")
    );
    assert_eq!(check(r#"{"exp":1,"Exp":2}"#).unwrap_err(), variant("exp"));
    assert!(check(r#"{"sub":"a","custom":1}"#).is_ok());
    let dup_alg = sign_raw(rsa(), Alg::Rs256, r#"{"alg":"RS256","alg":"none"}"#, "{}");
    assert_eq!(
        verify(&dup_alg, &set, &Alg::ALL).unwrap_err(),
        JoseError::DuplicateMember(Part::Header)
    );
}
