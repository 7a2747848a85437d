//! Malformed-input attack classes of reference/security-and-reliability.md §2 (rows 11, 16,
//! 17, 19, 20) and checklist §4.1 (J3, J8, J11, J12): sizes, nesting, base64url, part counts,
//! signature encodings, registered claim types. Keys are generated at run time.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers fail loudly"
)]

#[path = "jose_support/keys.rs"]
mod keys;

use std::time::{Duration, Instant};

use keys::{TestKey, b64, k8s_claims, rsa, rsa_other, sign, sign_raw, signing_input};
use serde_json::json;
use warden_builtin::jose::{
    Alg, JoseError, KeySet, Limits, Part, PublicKey, decode_unverified, verify, verify_with,
};

fn pem_key(key: &TestKey) -> PublicKey {
    PublicKey::from_pem(&key.public_pem()).unwrap()
}

fn rsa_set() -> KeySet {
    KeySet::new([pem_key(rsa())])
}

/// Replaces the signature of `token`.
fn with_signature(token: &str, sig: &[u8]) -> String {
    let (input, _) = token.rsplit_once('.').unwrap();
    format!("{input}.{}", b64(sig))
}

#[test]
fn oversized_and_deeply_nested_tokens_are_rejected_quickly() {
    let set = rsa_set();
    let limits = Limits::default();
    let over = format!("{}.{}.{}", "a".repeat(8192), "b".repeat(8192), "c");
    let huge_header = format!(
        "{}.e30.c2ln",
        b64(format!(
            r#"{{"alg":"RS256","x":"{}"}}"#,
            "a".repeat(1 << 20)
        ))
    );
    let deep = sign_raw(
        rsa(),
        Alg::Rs256,
        r#"{"alg":"RS256"}"#,
        &format!(r#"{{"a":{}1{}}}"#, "[".repeat(100_000), "]".repeat(100_000)),
    );
    let dots = ".".repeat(500_000);
    for token in [&over, &dots, &huge_header, &deep] {
        let started = Instant::now();
        assert!(matches!(
            verify(token, &set, &Alg::ALL).unwrap_err(),
            JoseError::TokenTooLarge { max: 16384 }
        ));
        assert!(started.elapsed() < Duration::from_millis(50));
    }
    let roomy = Limits {
        max_token_len: 4 << 20,
        ..limits
    };
    assert_eq!(
        verify_with(&deep, &set, &Alg::ALL, &roomy).unwrap_err(),
        JoseError::TooDeep(Part::Payload)
    );
    assert_eq!(
        verify_with(&huge_header, &set, &Alg::ALL, &roomy).unwrap_err(),
        JoseError::HeaderTooLarge { max: 4096 }
    );
    assert!(matches!(
        verify_with(&dots, &set, &Alg::ALL, &roomy).unwrap_err(),
        JoseError::Malformed(_)
    ));
}

#[test]
fn non_canonical_base64url_is_rejected() {
    let token = sign(rsa(), Alg::Rs256, json!({}), k8s_claims());
    let set = rsa_set();
    assert!(verify(&token, &set, &Alg::ALL).is_ok());
    let parts: Vec<&str> = token.split('.').collect();
    for (index, part) in [Part::Header, Part::Payload, Part::Signature]
        .into_iter()
        .enumerate()
    {
        let original = parts[index];
        let mut trailing = original.to_owned();
        // Flip an unused low bit of the last character (the lengths here leave 2 or 4 spare bits
        // except when the length is a multiple of 4; then append a char, making length ≡ 1).
        let mutations = [
            format!("{original}="),
            format!("{original}=="),
            format!(" {original}"),
            format!("{}\n{}", &original[..4], &original[4..]),
            format!("{}+{}", &original[..4], &original[5..]),
            format!("{}/{}", &original[..4], &original[5..]),
            {
                if original.len().is_multiple_of(4) {
                    trailing.push('A');
                } else {
                    let last = trailing.pop().unwrap();
                    let alphabet =
                        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
                    let pos = alphabet.iter().position(|c| *c as char == last).unwrap();
                    trailing.push(alphabet[pos ^ 1] as char);
                }
                trailing
            },
        ];
        for mutated in mutations {
            let mut pieces = parts.clone();
            pieces[index] = &mutated;
            let bad = pieces.join(".");
            assert_eq!(
                verify(&bad, &set, &Alg::ALL).unwrap_err(),
                JoseError::Base64(part),
                "{part}: {mutated:?}"
            );
        }
    }
}

#[test]
fn es256_der_signature_is_rejected() {
    let key = TestKey::ec(Alg::Es256);
    let set = KeySet::new([pem_key(&key)]);
    let token = sign(&key, Alg::Es256, json!({}), k8s_claims());
    let (input, _) = token.rsplit_once('.').unwrap();
    let der = key.sign_es256_der(input.as_bytes());
    let forged = with_signature(&token, &der);
    assert!(matches!(
        verify(&forged, &set, &Alg::ALL).unwrap_err(),
        JoseError::SignatureLength {
            alg: Alg::Es256,
            expected: 64,
            ..
        }
    ));
    let short_rsa = with_signature(&sign(rsa(), Alg::Rs256, json!({}), k8s_claims()), &[1; 255]);
    assert_eq!(
        verify(&short_rsa, &rsa_set(), &Alg::ALL).unwrap_err(),
        JoseError::SignatureLength {
            alg: Alg::Rs256,
            expected: 256,
            actual: 255
        }
    );
}

#[test]
fn psychic_signatures_and_out_of_range_r_s_are_rejected() {
    // P-256 group order n.
    let n: Vec<u8> = (0..32)
        .map(|i| {
            u8::from_str_radix(
                &"FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551"
                    [2 * i..2 * i + 2],
                16,
            )
            .unwrap()
        })
        .collect();
    let zero = vec![0u8; 32];
    let mut one = zero.clone();
    one[31] = 1;
    let key = TestKey::ec(Alg::Es256);
    let set = KeySet::new([pem_key(&key)]);
    let token = sign(&key, Alg::Es256, json!({}), k8s_claims());
    for (r, s) in [
        (&zero, &zero),
        (&zero, &one),
        (&one, &zero),
        (&n, &n),
        (&n, &one),
        (&one, &n),
        (&zero, &n),
    ] {
        let sig = [r.as_slice(), s.as_slice()].concat();
        assert_eq!(
            verify(&with_signature(&token, &sig), &set, &Alg::ALL).unwrap_err(),
            JoseError::BadSignature
        );
    }
    for (alg, len) in [(Alg::Es384, 96), (Alg::Es512, 132)] {
        let key = TestKey::ec(alg);
        let set = KeySet::new([pem_key(&key)]);
        let token = with_signature(&sign(&key, alg, json!({}), k8s_claims()), &vec![0; len]);
        assert_eq!(
            verify(&token, &set, &Alg::ALL).unwrap_err(),
            JoseError::BadSignature
        );
    }
}

#[test]
fn jwe_json_serialization_and_wrong_part_counts_are_rejected() {
    let token = sign(rsa(), Alg::Rs256, json!({}), k8s_claims());
    let set = rsa_set();
    let jwe = format!("{}.a.b.c.d", b64(r#"{"alg":"RSA-OAEP","enc":"A128GCM"}"#));
    assert_eq!(
        verify(&jwe, &set, &Alg::ALL).unwrap_err(),
        JoseError::Malformed("JWE (five parts) is not supported")
    );
    let parts: Vec<&str> = token.split('.').collect();
    let json =
        json!({"payload": parts[1], "protected": parts[0], "signature": parts[2]}).to_string();
    assert_eq!(
        verify(&json, &set, &Alg::ALL).unwrap_err(),
        JoseError::Malformed("JSON serialization is not supported")
    );
    for bad in [
        format!("{}.{}", parts[0], parts[1]),
        format!("{token}."),
        format!("{token}.x"),
    ] {
        assert!(matches!(
            verify(&bad, &set, &Alg::ALL).unwrap_err(),
            JoseError::Malformed(_)
        ));
    }
    let empty_sig = format!("{}.{}.", parts[0], parts[1]);
    assert_eq!(
        verify(&empty_sig, &set, &Alg::ALL).unwrap_err(),
        JoseError::MissingSignature
    );
    let enc = sign(rsa(), Alg::Rs256, json!({"enc": "A128GCM"}), k8s_claims());
    assert_eq!(
        verify(&enc, &set, &Alg::ALL).unwrap_err(),
        JoseError::InvalidHeader("enc")
    );
}

#[test]
fn wrong_typed_registered_claims_are_rejected() {
    let set = rsa_set();
    for (claims, claim) in [
        (json!({"exp": "never"}), "exp"),
        (json!({"nbf": "99999999999"}), "nbf"),
        (json!({"iat": null}), "iat"),
        (json!({"exp": -1}), "exp"),
        (json!({"exp": 1e300}), "exp"),
        (json!({"aud": {}}), "aud"),
        (json!({"aud": ["a", 1]}), "aud"),
        (json!({"iss": 1}), "iss"),
        (json!({"sub": ["a"]}), "sub"),
    ] {
        let token = sign(rsa(), Alg::Rs256, json!({}), claims.clone());
        let err = verify(&token, &set, &Alg::ALL).unwrap_err();
        assert!(
            matches!(err, JoseError::InvalidClaim { claim: c, .. } if c == claim),
            "{claims}"
        );
        assert_eq!(decode_unverified(&token, &Alg::ALL).unwrap_err(), err);
    }
    let floats = sign(
        rsa(),
        Alg::Rs256,
        json!({}),
        json!({"exp": 4e9, "iat": 1.7e9, "aud": "a"}),
    );
    let verified = verify(&floats, &set, &Alg::ALL).unwrap();
    assert_eq!(
        (verified.claims.exp(), verified.claims.audiences()),
        (Some(4_000_000_000), vec!["a"])
    );
}

#[test]
fn claims_are_parsed_only_after_the_signature_verifies() {
    let forged = sign_raw(
        rsa_other(),
        Alg::Rs256,
        r#"{"alg":"RS256"}"#,
        r#"{"sub":"a","sub":"b"}"#,
    );
    assert_eq!(
        verify(&forged, &rsa_set(), &Alg::ALL).unwrap_err(),
        JoseError::BadSignature
    );
    // decode_unverified has no signature step, so it reports the payload problem.
    assert_eq!(
        decode_unverified(&forged, &Alg::ALL).unwrap_err(),
        JoseError::DuplicateMember(Part::Payload)
    );
}

#[test]
fn decode_unverified_reads_claims_with_the_same_strict_parsing() {
    let token = sign(rsa_other(), Alg::Rs256, json!({"kid": "x"}), k8s_claims());
    let unverified = decode_unverified(&token, &Alg::KUBERNETES).unwrap();
    assert_eq!(unverified.header.kid.as_deref(), Some("x"));
    assert_eq!(
        unverified.claims.iss(),
        Some("https://kubernetes.default.svc.cluster.local")
    );
    assert!(unverified.header.typ.is_none());
    let payload_str = sign_raw(rsa(), Alg::Rs256, r#"{"alg":"RS256"}"#, "foo");
    assert_eq!(
        decode_unverified(&payload_str, &Alg::ALL).unwrap_err(),
        JoseError::Json(Part::Payload)
    );
    let array = sign_raw(rsa(), Alg::Rs256, r#"{"alg":"RS256"}"#, "[]");
    assert_eq!(
        verify(&array, &rsa_set(), &Alg::ALL).unwrap_err(),
        JoseError::NotAnObject(Part::Payload)
    );
}

#[test]
fn error_texts_never_contain_token_material() {
    let kid = "secret-looking-kid-value";
    let token = sign(rsa(), Alg::Rs256, json!({"kid": kid}), k8s_claims());
    let set = KeySet::new([pem_key(rsa()).with_kid("other").unwrap()]);
    let err = verify(&token, &set, &Alg::ALL).unwrap_err().to_string();
    assert!(!err.contains(kid) && !err.contains(&token[..20]), "{err}");
    let none = format!("{}.", signing_input(r#"{"alg":"evil-alg-name"}"#, "{}"));
    let err = verify(&none, &set, &Alg::ALL).unwrap_err().to_string();
    assert!(!err.contains("evil"), "{err}");
}
