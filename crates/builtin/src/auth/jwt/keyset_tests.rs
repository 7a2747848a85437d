//! Key caching: refresh on a miss, de-duplication, rate limit, maximum age, jwks_pairs.

use std::sync::Arc;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use super::*;
use crate::auth::jwt::fetch::fake::{FakeClock, FakeFetcher};
use crate::jose::PublicKey;

const URL: &str = "https://issuer.test/keys";

struct Signer {
    pair: EcdsaKeyPair,
    kid: String,
}

impl Signer {
    fn new(kid: &str) -> Self {
        let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).unwrap();
        Self {
            pair,
            kid: kid.to_owned(),
        }
    }

    fn jwk(&self) -> Value {
        let point = self.pair.public_key().as_ref();
        json!({
            "kty": "EC", "crv": "P-256", "kid": self.kid, "use": "sig", "alg": "ES256",
            "x": URL_SAFE_NO_PAD.encode(&point[1..33]), "y": URL_SAFE_NO_PAD.encode(&point[33..65]),
        })
    }

    fn token_with(&self, header: Value) -> String {
        let claims = json!({"sub": "s", "exp": 4_000_000_000u64});
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(&header).unwrap()),
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).unwrap())
        );
        let sig = self
            .pair
            .sign(&SystemRandom::new(), input.as_bytes())
            .unwrap();
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig.as_ref()))
    }

    fn token(&self) -> String {
        self.token_with(json!({"alg": "ES256", "kid": self.kid}))
    }
}

fn jwks(signers: &[&Signer]) -> Result<Vec<u8>, String> {
    let keys: Vec<Value> = signers.iter().map(|s| s.jwk()).collect();
    Ok(serde_json::to_vec(&json!({ "keys": keys })).unwrap())
}

fn setup() -> (Arc<FakeFetcher>, Arc<FakeClock>, Arc<RemoteKeys>) {
    let fetcher = Arc::new(FakeFetcher::default());
    let clock = Arc::new(FakeClock::at(1_000_000));
    let keys = Arc::new(RemoteKeys::new(
        URL,
        Arc::clone(&fetcher) as Arc<dyn KeyFetcher>,
        Arc::clone(&clock) as Arc<dyn Clock>,
        RefreshPolicy::default(),
    ));
    (fetcher, clock, keys)
}

const ALGS: &[Alg] = &[Alg::Es256];

#[tokio::test]
async fn first_use_loads_then_serves_from_cache() {
    let (fetcher, _clock, keys) = setup();
    let k1 = Signer::new("k1");
    fetcher.set(URL, jwks(&[&k1]));
    for _ in 0..5 {
        keys.verify(&k1.token(), ALGS).await.unwrap();
    }
    assert_eq!(fetcher.calls(), 1);
}

#[tokio::test]
async fn rotation_is_picked_up_with_one_fetch() {
    let (fetcher, clock, keys) = setup();
    let (k1, k2) = (Signer::new("k1"), Signer::new("k2"));
    fetcher.set(URL, jwks(&[&k1]));
    keys.load().await.unwrap();
    fetcher.set(URL, jwks(&[&k1, &k2]));
    keys.verify(&k2.token(), ALGS).await.unwrap();
    assert_eq!(fetcher.calls(), 2);
    // A token without kid signed by a new key also triggers the refresh.
    let k3 = Signer::new("k3");
    fetcher.set(URL, jwks(&[&k1, &k2, &k3]));
    clock.advance(10);
    keys.verify(&k3.token_with(json!({"alg": "ES256"})), ALGS)
        .await
        .unwrap();
    assert_eq!(fetcher.calls(), 3);
}

#[tokio::test]
async fn unknown_kids_are_rate_limited() {
    let (fetcher, clock, keys) = setup();
    let k1 = Signer::new("k1");
    fetcher.set(URL, jwks(&[&k1]));
    keys.load().await.unwrap();
    for i in 0..50 {
        let forged = Signer::new(&format!("unknown-{i}"));
        let err = keys.verify(&forged.token(), ALGS).await.unwrap_err();
        assert_eq!(
            err.message(),
            "error verifying token signature: failed to verify id token signature"
        );
    }
    assert_eq!(fetcher.calls(), 2, "one load and one miss refresh");
    clock.advance(11);
    let _ = keys.verify(&Signer::new("again").token(), ALGS).await;
    assert_eq!(fetcher.calls(), 3);
    // Known keys keep working throughout.
    keys.verify(&k1.token(), ALGS).await.unwrap();
    assert_eq!(fetcher.calls(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_misses_share_one_fetch() {
    let (fetcher, _clock, keys) = setup();
    let (k1, k2) = (Signer::new("k1"), Signer::new("k2"));
    fetcher.set(URL, jwks(&[&k1]));
    keys.load().await.unwrap();
    fetcher.set(URL, jwks(&[&k1, &k2]));
    let token = k2.token();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..32 {
        let (keys, token) = (Arc::clone(&keys), token.clone());
        tasks.spawn(async move { keys.verify(&token, ALGS).await.map(|_| ()) });
    }
    while let Some(result) = tasks.join_next().await {
        result.unwrap().unwrap();
    }
    assert_eq!(fetcher.calls(), 2);
}

#[tokio::test]
async fn removed_key_stops_verifying_after_max_age() {
    let (fetcher, clock, keys) = setup();
    let (k1, k2) = (Signer::new("k1"), Signer::new("k2"));
    fetcher.set(URL, jwks(&[&k1, &k2]));
    keys.load().await.unwrap();
    fetcher.set(URL, jwks(&[&k2]));
    keys.verify(&k1.token(), ALGS).await.unwrap();
    clock.advance(3600);
    let err = keys.verify(&k1.token(), ALGS).await.unwrap_err();
    assert_eq!(err, VerifyError::Signature(REMOTE_MISS.into()));
    keys.verify(&k2.token(), ALGS).await.unwrap();
}

#[tokio::test]
async fn endpoint_failure_keeps_cached_keys() {
    let (fetcher, clock, keys) = setup();
    let k1 = Signer::new("k1");
    fetcher.set(URL, jwks(&[&k1]));
    keys.load().await.unwrap();
    fetcher.set(
        URL,
        Err("get https://issuer.test/keys: 500 Internal Server Error".into()),
    );
    clock.advance(7200);
    keys.verify(&k1.token(), ALGS).await.unwrap();
    let err = keys
        .verify(&Signer::new("new").token(), ALGS)
        .await
        .unwrap_err();
    assert_eq!(
        err.message(),
        "error verifying token signature: fetching keys oidc: get keys failed: get https://issuer.test/keys: 500 Internal Server Error"
    );
}

#[tokio::test]
async fn never_loaded_failure_is_reported_and_rate_limited() {
    let (fetcher, _clock, keys) = setup();
    let k1 = Signer::new("k1");
    fetcher.set(URL, Err("boom".into()));
    for _ in 0..5 {
        let err = keys.verify(&k1.token(), ALGS).await.unwrap_err();
        assert_eq!(
            err.message(),
            "error verifying token signature: fetching keys oidc: get keys failed: boom"
        );
    }
    assert_eq!(fetcher.calls(), 1);
}

#[tokio::test]
async fn unusable_keys_are_skipped() {
    let (fetcher, _clock, keys) = setup();
    let k1 = Signer::new("k1");
    let body = json!({"keys": [
        {"kty": "oct", "k": "c2VjcmV0", "kid": "hmac"},
        {"kty": "EC", "crv": "P-999", "x": "AA", "y": "AA", "kid": "odd"},
        k1.jwk(),
    ]});
    fetcher.set(URL, Ok(serde_json::to_vec(&body).unwrap()));
    keys.load().await.unwrap();
    keys.verify(&k1.token(), ALGS).await.unwrap();
    fetcher.set(URL, Ok(b"not json".to_vec()));
    let fresh = RemoteKeys::new(
        URL,
        fetcher.clone(),
        Arc::new(FakeClock::at(0)),
        RefreshPolicy::default(),
    );
    assert!(
        fresh
            .load()
            .await
            .unwrap_err()
            .starts_with("failed to decode keys")
    );
}

#[tokio::test]
async fn disallowed_alg_does_not_fetch() {
    let (fetcher, _clock, keys) = setup();
    let k1 = Signer::new("k1");
    fetcher.set(URL, jwks(&[&k1]));
    keys.load().await.unwrap();
    let err = keys
        .verify(&Signer::new("x").token(), &[Alg::Rs256])
        .await
        .unwrap_err();
    assert_eq!(err, VerifyError::Algorithm);
    assert_eq!(fetcher.calls(), 1);
}

#[test]
fn static_keys_messages() {
    let k1 = Signer::new("k1");
    let k2 = Signer::new("k2");
    let set = KeySet::new([PublicKey::from_jwk(&k1.jwk().to_string()).unwrap()]);
    verify_static(&k1.token(), &set, ALGS).unwrap();
    let err = verify_static(&k2.token(), &set, ALGS).unwrap_err();
    assert_eq!(
        err.message(),
        "error verifying token signature: no known key successfully validated the token signature"
    );
    let err = verify_static("a.b", &set, ALGS).unwrap_err();
    assert!(
        err.message()
            .starts_with("error verifying token signature: "),
        "{err:?}"
    );
}

/// Ed25519 PEM keys verify EdDSA tokens, through the same parser as `jwt_validation_pubkeys`.
#[test]
fn ed25519_static_key() {
    use aws_lc_rs::encoding::AsDer;
    use aws_lc_rs::signature::Ed25519KeyPair;
    use base64::engine::general_purpose::STANDARD;
    let pair = Ed25519KeyPair::generate().unwrap();
    let der = pair.public_key().as_der().unwrap();
    let pem = format!(
        "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
        STANDARD.encode(der.as_ref())
    );
    let keys = crate::auth::jwt::path_config::parse_public_keys(&[pem]).unwrap();
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"EdDSA"}"#);
    let claims = URL_SAFE_NO_PAD.encode(br#"{"sub":"s","exp":4000000000}"#);
    let input = format!("{header}.{claims}");
    let sig = pair.sign(input.as_bytes());
    let token = format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig.as_ref()));
    verify_static(&token, &keys, &Alg::ALL).unwrap();
    assert_eq!(
        verify_static(&token, &keys, ALGS).unwrap_err(),
        VerifyError::Algorithm
    );
}

fn multi(fetcher: &Arc<FakeFetcher>, urls: &[&str]) -> Vec<Arc<RemoteKeys>> {
    urls.iter()
        .map(|url| {
            Arc::new(RemoteKeys::new(
                *url,
                Arc::clone(fetcher) as Arc<dyn KeyFetcher>,
                Arc::new(FakeClock::at(1_000_000)),
                RefreshPolicy::default(),
            ))
        })
        .collect()
}

#[tokio::test]
async fn jwks_pairs_select_by_kid() {
    let fetcher = Arc::new(FakeFetcher::default());
    let (a, b) = (Signer::new("a1"), Signer::new("b1"));
    fetcher.set("https://a/keys", jwks(&[&a]));
    fetcher.set("https://b/keys", jwks(&[&b]));
    let sets = multi(&fetcher, &["https://a/keys", "https://b/keys"]);
    verify_multi(&b.token(), &sets, ALGS).await.unwrap();
    assert_eq!(fetcher.calls(), 2, "cold caches: both refreshed once");
    verify_multi(&a.token(), &sets, ALGS).await.unwrap();
    verify_multi(&b.token(), &sets, ALGS).await.unwrap();
    assert_eq!(fetcher.calls(), 2, "warm caches: no HTTP");

    let no_kid = a.token_with(json!({"alg": "ES256"}));
    let err = verify_multi(&no_kid, &sets, ALGS).await.unwrap_err();
    assert_eq!(err.message(), "token missing kid header parameter");
    let err = verify_multi(&Signer::new("non-existent-key").token(), &sets, ALGS)
        .await
        .unwrap_err();
    assert_eq!(
        err.message(),
        "error searching for key set with kid non-existent-key: no key found with kid non-existent-key in any JWKS endpoint"
    );
}

#[tokio::test]
async fn jwks_pairs_all_unreachable() {
    let fetcher = Arc::new(FakeFetcher::default());
    let sets = multi(&fetcher, &["https://a/keys", "https://b/keys"]);
    let err = verify_multi(&Signer::new("k").token(), &sets, ALGS)
        .await
        .unwrap_err();
    assert_eq!(
        err.message(),
        "error searching for key set with kid k: failed to refresh all 2 JWKS caches - check network connectivity and JWKS endpoints"
    );
}

#[tokio::test]
async fn discovery_issuer_must_match_exactly() {
    let fetcher = FakeFetcher::default();
    let doc = |issuer: &str| {
        Ok(serde_json::to_vec(&json!({"issuer": issuer, "jwks_uri": "https://x/keys"})).unwrap())
    };
    fetcher.set(
        "https://x/.well-known/openid-configuration",
        doc("https://x/"),
    );
    assert_eq!(
        discover(&fetcher, "https://x").await.unwrap_err(),
        "issuer did not match the returned issuer, expected \"https://x\" got \"https://x/\""
    );
    assert_eq!(
        discover(&fetcher, "https://x/").await.unwrap(),
        "https://x/keys"
    );
    fetcher.set(
        "https://x/.well-known/openid-configuration",
        doc("https://x"),
    );
    assert_eq!(
        discover(&fetcher, "https://x").await.unwrap(),
        "https://x/keys"
    );
}
