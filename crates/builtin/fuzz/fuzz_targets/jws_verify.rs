//! Fuzzes the strict JWS parser and verifier, the JWK set parser and the PEM parser.
//!
//! Every input is tried as a compact token (`decode_unverified`, `verify` against RSA, P-256
//! and Ed25519 keys whose private halves were dropped, so no input can legitimately verify),
//! as a JWK set, as one JWK and as PEM.
#![no_main]

use std::sync::OnceLock;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair as RsaKeyPair, KeySize};
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _,
};
use libfuzzer_sys::fuzz_target;
use warden_builtin::jose::{Alg, KeySet, PublicKey, decode_unverified, verify};

fn keys() -> &'static KeySet {
    static KEYS: OnceLock<KeySet> = OnceLock::new();
    KEYS.get_or_init(|| {
        let rsa = RsaKeyPair::generate(KeySize::Rsa2048).unwrap();
        let pkcs8 =
            EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new())
                .unwrap();
        let ec =
            EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref()).unwrap();
        let ed = Ed25519KeyPair::generate().unwrap();
        let spkis = [
            rsa.public_key().as_der().unwrap().as_ref().to_vec(),
            ec.public_key().as_der().unwrap().as_ref().to_vec(),
            ed.public_key().as_der().unwrap().as_ref().to_vec(),
        ];
        KeySet::new([
            PublicKey::from_spki_der(&spkis[0]).unwrap(),
            PublicKey::from_spki_der(&spkis[1])
                .unwrap()
                .with_kid("ec")
                .unwrap(),
            PublicKey::from_spki_der(&spkis[2]).unwrap(),
        ])
    })
}

fuzz_target!(|data: &[u8]| {
    let _ = warden_builtin::jose::KeySet::from_jwks(data);
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = decode_unverified(text, &Alg::ALL);
    assert!(
        verify(text, keys(), &Alg::ALL).is_err(),
        "accepted a token not signed by a configured key"
    );
    let _ = PublicKey::from_jwk(text);
    let _ = PublicKey::from_pem(text);
});
