use std::sync::Arc;

use warden_storage::Backend;
use warden_storage::memory::MemoryBackend;

use super::*;

fn new_seal(physical: &Arc<dyn Backend>) -> Seal {
    Seal::new(Arc::new(Barrier::new(physical.clone())))
}

async fn initialized(shares: i64, threshold: i64) -> (Seal, InitOutput, Arc<dyn Backend>) {
    let physical: Arc<dyn Backend> = Arc::new(MemoryBackend::new());
    let seal = new_seal(&physical);
    let out = seal.initialize(shares, threshold).await.unwrap();
    (seal, out, physical)
}

#[tokio::test]
async fn init_validation_messages_in_vaults_order() {
    let physical: Arc<dyn Backend> = Arc::new(MemoryBackend::new());
    let seal = new_seal(&physical);
    let cases: [(i64, i64, &str); 9] = [
        (0, 0, "shares must be at least one"),
        (-1, 3, "shares must be at least one"),
        (5, 0, "threshold must be at least one"),
        (
            5,
            1,
            "threshold must be greater than one for multiple shares",
        ),
        (256, 3, "shares must be less than 256"),
        (
            256,
            1,
            "threshold must be greater than one for multiple shares",
        ),
        (255, 256, "threshold must be less than 256"),
        (3, 5, "threshold cannot be larger than shares"),
        (1, 2, "threshold cannot be larger than shares"),
    ];
    for (shares, threshold, reason) in cases {
        let err = seal.initialize(shares, threshold).await.unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("invalid seal configuration: {reason}"),
            "initialize({shares}, {threshold})"
        );
        assert!(err.is_user_error());
    }
    assert!(!seal.initialized().await.unwrap());
    assert!(
        physical.list("").await.unwrap().is_empty(),
        "nothing written"
    );
}

#[tokio::test]
async fn init_writes_vaults_layout_and_stays_sealed() {
    let (seal, out, physical) = initialized(5, 3).await;
    assert_eq!(out.keys.len(), 5);
    for key in &out.keys {
        assert_eq!(key.as_bytes().len(), 33, "32-byte KEK plus x");
        assert_eq!(key.to_hex().len(), 66);
        assert_eq!(format!("{key:?}"), "UnsealKey(<redacted>)");
    }
    assert!(seal.initialized().await.unwrap());
    assert!(seal.barrier().is_sealed());

    let config = physical.get(SEAL_CONFIG_PATH).await.unwrap().unwrap().value;
    assert_eq!(
        config,
        br#"{"type":"shamir","secret_shares":5,"secret_threshold":3}"#
    );
    let stored = physical.get(STORED_KEYS_PATH).await.unwrap().unwrap().value;
    assert_eq!(&stored[..5], &[0, 0, 0, 1, 2], "term 1, version 2");
    assert!(
        physical
            .get(crate::barrier::KEYRING_PATH)
            .await
            .unwrap()
            .is_some()
    );

    let status = seal.status().await.unwrap();
    assert_eq!(
        status,
        UnsealProgress {
            sealed: true,
            t: 3,
            n: 5,
            progress: 0,
            nonce: String::new()
        }
    );

    // The KEK inside the barrier is what the shares combine to.
    seal.barrier().unseal(&out.root_key).await.unwrap();
    let kek = seal.barrier().get(SHAMIR_KEK_PATH).await.unwrap().unwrap();
    let parts: Vec<&[u8]> = out.keys[..3].iter().map(UnsealKey::as_bytes).collect();
    assert_eq!(shamir::combine(&parts).unwrap().as_bytes(), kek.as_slice());
}

#[tokio::test]
async fn init_twice_is_refused() {
    let (seal, _, physical) = initialized(1, 1).await;
    let err = seal.initialize(1, 1).await.unwrap_err();
    assert_eq!(err.to_string(), "Vault is already initialized");
    assert!(err.is_user_error());
    // Also through a fresh Seal over the same storage.
    let err = new_seal(&physical).initialize(3, 2).await.unwrap_err();
    assert!(matches!(err, SealError::AlreadyInitialized));
}

#[tokio::test]
async fn single_share_is_the_kek_itself() {
    let (seal, out, _) = initialized(1, 1).await;
    assert_eq!(out.keys.len(), 1);
    assert_eq!(out.keys[0].as_bytes().len(), 32, "no split, no x byte");
    let status = seal.submit_key(out.keys[0].as_bytes()).await.unwrap();
    assert!(!status.sealed);
    assert_eq!((status.t, status.n, status.progress), (1, 1, 0));
    assert_eq!(status.nonce, "");
}

#[tokio::test]
async fn three_of_five_in_any_order_unseal() {
    let orders: [[usize; 3]; 4] = [[0, 1, 2], [4, 2, 0], [3, 1, 4], [2, 4, 3]];
    for order in orders {
        let (seal, out, _) = initialized(5, 3).await;
        let first = seal
            .submit_key(out.keys[order[0]].as_bytes())
            .await
            .unwrap();
        assert!(first.sealed);
        assert_eq!(first.progress, 1);
        assert_eq!(
            uuid::Uuid::parse_str(&first.nonce)
                .unwrap()
                .get_version_num(),
            4
        );
        let second = seal
            .submit_key(out.keys[order[1]].as_bytes())
            .await
            .unwrap();
        assert_eq!(second.progress, 2);
        assert_eq!(second.nonce, first.nonce, "one nonce per attempt");
        let done = seal
            .submit_key(out.keys[order[2]].as_bytes())
            .await
            .unwrap();
        assert!(!done.sealed, "order {order:?}");
        assert_eq!((done.progress, done.nonce.as_str()), (0, ""));
        assert!(!seal.barrier().is_sealed());

        // Already unsealed: another key is a no-op success.
        let again = seal.submit_key(out.keys[0].as_bytes()).await.unwrap();
        assert!(!again.sealed);
        assert_eq!(again.progress, 0);
    }
}

#[tokio::test]
async fn duplicate_share_is_ignored_without_progress() {
    let (seal, out, _) = initialized(5, 3).await;
    let first = seal.submit_key(out.keys[0].as_bytes()).await.unwrap();
    let dup = seal.submit_key(out.keys[0].as_bytes()).await.unwrap();
    assert_eq!(dup, first, "same progress, same nonce, no error");
    assert_eq!(dup.progress, 1);
    seal.submit_key(out.keys[1].as_bytes()).await.unwrap();
    let dup = seal.submit_key(out.keys[1].as_bytes()).await.unwrap();
    assert_eq!(dup.progress, 2);
    assert!(
        seal.submit_key(out.keys[2].as_bytes())
            .await
            .unwrap()
            .sealed
            .eq(&false)
    );
}

#[tokio::test]
async fn wrong_shares_fail_with_vaults_error_and_reset_progress() {
    let (seal, out, _) = initialized(5, 3).await;
    let (_, other, _) = initialized(5, 3).await;
    seal.submit_key(out.keys[0].as_bytes()).await.unwrap();
    seal.submit_key(out.keys[1].as_bytes()).await.unwrap();
    let err = seal.submit_key(other.keys[2].as_bytes()).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "unable to retrieve stored keys: invalid key: failed to decrypt keys from storage: \
         cipher: message authentication failed"
    );
    assert!(err.is_user_error(), "400 on sys/unseal");
    assert!(seal.barrier().is_sealed());
    assert_eq!(
        seal.progress(),
        (0, String::new()),
        "progress reset after the failure"
    );

    // A fresh attempt with the right shares works.
    for key in &out.keys[2..] {
        seal.submit_key(key.as_bytes()).await.unwrap();
    }
    assert!(!seal.barrier().is_sealed());
}

#[tokio::test]
async fn shares_with_the_same_x_fail_to_combine() {
    let (seal, out, _) = initialized(3, 2).await;
    let mut forged = out.keys[0].as_bytes().to_vec();
    forged[0] ^= 0xFF; // same x, different y: not byte-equal, so recorded
    seal.submit_key(out.keys[0].as_bytes()).await.unwrap();
    let err = seal.submit_key(&forged).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid key: failed to compute combined key: duplicate part detected"
    );
    assert_eq!(seal.progress().0, 0);
}

#[tokio::test]
async fn key_length_and_encoding_errors() {
    let (seal, out, _) = initialized(3, 2).await;
    let err = seal.submit_key(&[1u8; 15]).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid key: key is shorter than minimum 16 bytes"
    );
    let err = seal.submit_key(&[1u8; 34]).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid key: key is longer than maximum 33 bytes"
    );
    assert_eq!(seal.progress().0, 0, "length errors record nothing");

    // A share of the wrong length for this seal (32 vs 33 bytes).
    seal.submit_key(out.keys[0].as_bytes()).await.unwrap();
    let err = seal
        .submit_key(&out.keys[1].as_bytes()[..32])
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid key: failed to compute combined key: all parts must be the same length"
    );

    // A 1-of-1 seal given a 33-byte share: Go's AES refuses the key size.
    let (single, _, _) = initialized(1, 1).await;
    let err = single.submit_key(out.keys[0].as_bytes()).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid key: failed to setup unseal key: crypto/aes: invalid key size 33"
    );

    let share = &out.keys[2];
    assert_eq!(
        *decode_unseal_key(&share.to_hex()).unwrap(),
        share.as_bytes()
    );
    assert_eq!(
        *decode_unseal_key(&share.to_base64()).unwrap(),
        share.as_bytes()
    );
    assert_eq!(
        *decode_unseal_key(&share.to_hex().to_uppercase()).unwrap(),
        share.as_bytes()
    );
    let err = decode_unseal_key("not a key!").unwrap_err();
    assert_eq!(
        err.to_string(),
        "'key' must be a valid hex or base64 string"
    );
    assert!(err.is_user_error());
    // 32 hex digits of a 16-byte key decode as hex, not base64.
    assert_eq!(decode_unseal_key(&"ab".repeat(16)).unwrap().len(), 16);
    // Hex that decodes too short is retried as base64 (Vault's rule).
    assert_eq!(decode_unseal_key("abcd").unwrap().len(), 3);
    // Go's non-strict base64 accepts non-zero trailing bits.
    assert_eq!(*decode_unseal_key("AB==").unwrap(), [0u8]);
}

#[tokio::test]
async fn not_initialized_and_reset() {
    let physical: Arc<dyn Backend> = Arc::new(MemoryBackend::new());
    let seal = new_seal(&physical);
    let err = seal.submit_key(&[0u8; 33]).await.unwrap_err();
    assert_eq!(err.to_string(), "Vault is not initialized");
    assert!(err.is_user_error());
    assert_eq!(
        seal.status().await.unwrap(),
        UnsealProgress {
            sealed: true,
            t: 0,
            n: 0,
            progress: 0,
            nonce: String::new()
        }
    );

    let (seal, out, _) = initialized(5, 3).await;
    seal.submit_key(out.keys[0].as_bytes()).await.unwrap();
    let (_, nonce) = seal.progress();
    seal.reset().unwrap();
    assert_eq!(seal.progress(), (0, String::new()));
    seal.submit_key(out.keys[1].as_bytes()).await.unwrap();
    assert_ne!(seal.progress().1, nonce, "a new attempt gets a new nonce");
    seal.submit_key(out.keys[2].as_bytes()).await.unwrap();
    seal.submit_key(out.keys[3].as_bytes()).await.unwrap();
    let err = seal.reset().unwrap_err();
    assert_eq!(err.to_string(), "vault is unsealed");
    assert!(err.is_user_error());

    seal.seal();
    assert!(seal.barrier().is_sealed());
    assert!(matches!(
        seal.barrier().get("x").await.unwrap_err(),
        BarrierError::Sealed
    ));
}

#[tokio::test]
async fn data_survives_a_restart() {
    let (seal, out, physical) = initialized(5, 3).await;
    for key in &out.keys[..3] {
        seal.submit_key(key.as_bytes()).await.unwrap();
    }
    seal.barrier()
        .put("secret/durable", b"kept".to_vec())
        .await
        .unwrap();
    seal.barrier().rotate().await.unwrap();
    seal.barrier()
        .put("secret/after-rotate", b"also".to_vec())
        .await
        .unwrap();
    drop(seal);

    // New Barrier and Seal objects over the same storage: sealed, and the config is read back.
    let restarted = new_seal(&physical);
    assert!(restarted.initialized().await.unwrap());
    let status = restarted.status().await.unwrap();
    assert!(status.sealed);
    assert_eq!((status.t, status.n), (3, 5));
    for key in &out.keys[2..] {
        restarted.submit_key(key.as_bytes()).await.unwrap();
    }
    assert!(!restarted.barrier().is_sealed());
    let barrier = restarted.barrier();
    assert_eq!(
        barrier.get("secret/durable").await.unwrap().unwrap(),
        b"kept"
    );
    assert_eq!(
        barrier.get("secret/after-rotate").await.unwrap().unwrap(),
        b"also"
    );
    assert_eq!(barrier.active_term().unwrap(), 2);
}

#[test]
fn user_error_classification() {
    assert!(SealError::KeyMissing.is_user_error());
    assert_eq!(
        SealError::KeyMissing.to_string(),
        "'key' must be specified in request body as JSON, or 'reset' set to true"
    );
    assert!(SealError::Barrier(BarrierError::InvalidKey).is_user_error());
    assert!(SealError::Barrier(BarrierError::Sealed).is_user_error());
    assert!(!SealError::Internal("x".into()).is_user_error());
    assert!(!SealError::StoredKeys(Box::new(SealError::Internal("x".into()))).is_user_error());
    assert!(!SealError::Barrier(BarrierError::Random).is_user_error());
}
