use std::sync::Arc;

use warden_storage::memory::MemoryBackend;
use warden_storage::{Backend, Entry};

use super::*;

fn physical() -> Arc<dyn Backend> {
    Arc::new(MemoryBackend::new())
}

async fn unsealed() -> (Barrier, RootKey, Arc<dyn Backend>) {
    let physical = physical();
    let barrier = Barrier::new(physical.clone());
    let root = RootKey::generate().unwrap();
    barrier.initialize(&root).await.unwrap();
    barrier.unseal(&root).await.unwrap();
    (barrier, root, physical)
}

#[tokio::test]
async fn initialize_then_unseal_round_trips() {
    let physical = physical();
    let barrier = Barrier::new(physical.clone());
    assert!(!barrier.initialized().await.unwrap());
    assert!(barrier.is_sealed());

    let root = RootKey::generate().unwrap();
    barrier.initialize(&root).await.unwrap();
    assert!(barrier.initialized().await.unwrap());
    assert!(barrier.is_sealed(), "initialize leaves the barrier sealed");

    barrier.unseal(&root).await.unwrap();
    assert!(!barrier.is_sealed());
    barrier.put("secret/foo", b"bar".to_vec()).await.unwrap();
    assert_eq!(
        barrier.get("secret/foo").await.unwrap().as_deref(),
        Some(&b"bar"[..])
    );
    assert_eq!(barrier.get("secret/missing").await.unwrap(), None);
    assert_eq!(
        barrier.list("secret/").await.unwrap(),
        vec!["foo".to_owned()]
    );
    barrier.delete("secret/foo").await.unwrap();
    assert_eq!(barrier.get("secret/foo").await.unwrap(), None);

    // Unseal twice is a no-op.
    barrier.unseal(&root).await.unwrap();
    assert_eq!(barrier.active_term().unwrap(), 1);
}

#[tokio::test]
async fn initialize_twice_fails() {
    let (barrier, root, _) = unsealed().await;
    let err = barrier.initialize(&root).await.unwrap_err();
    assert!(matches!(err, BarrierError::AlreadyInitialized));
    assert_eq!(err.to_string(), "Vault is already initialized");
}

#[tokio::test]
async fn unseal_before_initialize_fails() {
    let barrier = Barrier::new(physical());
    let err = barrier
        .unseal(&RootKey::generate().unwrap())
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), "Vault is not initialized");
}

#[tokio::test]
async fn wrong_root_key_is_rejected_and_stays_sealed() {
    let physical = physical();
    let barrier = Barrier::new(physical);
    barrier
        .initialize(&RootKey::generate().unwrap())
        .await
        .unwrap();
    let err = barrier
        .unseal(&RootKey::generate().unwrap())
        .await
        .unwrap_err();
    assert!(matches!(err, BarrierError::InvalidKey), "{err:?}");
    assert_eq!(err.to_string(), "Unseal failed, invalid key");
    assert!(barrier.is_sealed());
}

#[tokio::test]
async fn values_are_stored_encrypted_in_vaults_v2_format() {
    let (barrier, _, physical) = unsealed().await;
    let plain = b"a very recognisable plaintext".to_vec();
    barrier.put("secret/x", plain.clone()).await.unwrap();
    let stored = physical.get("secret/x").await.unwrap().unwrap().value;
    assert_eq!(&stored[..4], &1u32.to_be_bytes(), "term, big-endian");
    assert_eq!(stored[4], 2, "version byte");
    assert_eq!(stored.len(), 4 + 1 + 12 + plain.len() + 16);
    assert!(!stored.windows(plain.len()).any(|w| w == plain.as_slice()));

    // Two writes of the same value use different nonces.
    barrier.put("secret/y", plain.clone()).await.unwrap();
    let other = physical.get("secret/y").await.unwrap().unwrap().value;
    assert_ne!(stored[5..17], other[5..17]);

    // The keyring is encrypted under the root key with term 1.
    let keyring = physical.get(KEYRING_PATH).await.unwrap().unwrap().value;
    assert_eq!(&keyring[..5], &[0, 0, 0, 1, 2]);
    assert!(physical.get(ROOT_KEY_PATH).await.unwrap().is_some());
}

#[tokio::test]
async fn entry_moved_to_another_path_fails_to_decrypt() {
    let (barrier, _, physical) = unsealed().await;
    barrier.put("secret/a", b"value".to_vec()).await.unwrap();
    let stored = physical.get("secret/a").await.unwrap().unwrap().value;
    physical.put(Entry::new("secret/b", stored)).await.unwrap();
    let err = barrier.get("secret/b").await.unwrap_err();
    match err {
        BarrierError::Corrupted {
            ref key,
            ref reason,
        } => {
            assert_eq!(key, "secret/b");
            assert_eq!(reason, "cipher: message authentication failed");
        }
        other => panic!("expected Corrupted, got {other:?}"),
    }
    assert_eq!(
        err.to_string(),
        "decryption failed: cipher: message authentication failed"
    );
}

#[tokio::test]
async fn tampered_or_truncated_entries_are_corrupted_never_garbage() {
    let (barrier, _, physical) = unsealed().await;
    barrier.put("secret/t", b"value".to_vec()).await.unwrap();
    let stored = physical.get("secret/t").await.unwrap().unwrap().value;

    for index in [5, 17, stored.len() - 1] {
        let mut flipped = stored.clone();
        flipped[index] ^= 0x01;
        physical.put(Entry::new("secret/t", flipped)).await.unwrap();
        assert!(matches!(
            barrier.get("secret/t").await.unwrap_err(),
            BarrierError::Corrupted { .. }
        ));
    }

    let mut wrong_version = stored.clone();
    wrong_version[4] = 1;
    physical
        .put(Entry::new("secret/t", wrong_version))
        .await
        .unwrap();
    let err = barrier.get("secret/t").await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "decryption failed: version bytes mis-match"
    );

    physical
        .put(Entry::new("secret/t", stored[..20].to_vec()))
        .await
        .unwrap();
    assert!(matches!(
        barrier.get("secret/t").await.unwrap_err(),
        BarrierError::Corrupted { .. }
    ));

    let mut unknown_term = stored;
    unknown_term[..4].copy_from_slice(&9u32.to_be_bytes());
    physical
        .put(Entry::new("secret/t", unknown_term))
        .await
        .unwrap();
    let err = barrier.get("secret/t").await.unwrap_err();
    assert_eq!(err.to_string(), "no decryption key available for term 9");
}

#[tokio::test]
async fn sealed_barrier_refuses_everything() {
    let (barrier, _, _) = unsealed().await;
    barrier.put("secret/k", b"v".to_vec()).await.unwrap();
    barrier.seal();
    assert!(barrier.is_sealed());
    let errors = [
        barrier.get("secret/k").await.unwrap_err(),
        barrier.put("secret/k", b"v".to_vec()).await.unwrap_err(),
        barrier.delete("secret/k").await.unwrap_err(),
        barrier.list("secret/").await.unwrap_err(),
        barrier
            .transaction(vec![BarrierOp::Delete {
                key: "secret/k".into(),
            }])
            .await
            .unwrap_err(),
        barrier.rotate().await.unwrap_err(),
    ];
    for err in errors {
        assert!(matches!(err, BarrierError::Sealed), "{err:?}");
        assert_eq!(err.to_string(), "Vault is sealed");
    }
    assert!(matches!(
        barrier.active_term().unwrap_err(),
        BarrierError::Sealed
    ));
}

#[tokio::test]
async fn rotate_adds_a_term_and_old_entries_stay_readable() {
    let (barrier, root, physical) = unsealed().await;
    barrier
        .put("secret/old", b"term one".to_vec())
        .await
        .unwrap();

    let before = barrier.active_key_info().unwrap();
    assert_eq!(before.term, 1);
    assert!(
        time::OffsetDateTime::parse(
            &before.install_time,
            &time::format_description::well_known::Rfc3339
        )
        .is_ok()
    );
    assert_eq!(barrier.rotate().await.unwrap(), 2);
    assert_eq!(barrier.active_term().unwrap(), 2);
    assert_eq!(barrier.active_key_info().unwrap().term, 2);
    barrier
        .put("secret/new", b"term two".to_vec())
        .await
        .unwrap();
    let stored = physical.get("secret/new").await.unwrap().unwrap().value;
    assert_eq!(&stored[..4], &2u32.to_be_bytes());
    assert_eq!(
        barrier.get("secret/old").await.unwrap().unwrap(),
        b"term one"
    );

    assert_eq!(barrier.rotate().await.unwrap(), 3);

    // The rotated keyring is what a fresh unseal reads back.
    let restarted = Barrier::new(physical);
    restarted.unseal(&root).await.unwrap();
    assert_eq!(restarted.active_term().unwrap(), 3);
    assert_eq!(
        restarted.get("secret/old").await.unwrap().unwrap(),
        b"term one"
    );
    assert_eq!(
        restarted.get("secret/new").await.unwrap().unwrap(),
        b"term two"
    );
}

#[tokio::test]
async fn transaction_applies_encrypted_puts_and_deletes() {
    let (barrier, _, physical) = unsealed().await;
    barrier.put("a/gone", b"x".to_vec()).await.unwrap();
    barrier
        .transaction(vec![
            BarrierOp::Put {
                key: "a/one".into(),
                value: b"1".to_vec(),
            },
            BarrierOp::Put {
                key: "a/two".into(),
                value: b"2".to_vec(),
            },
            BarrierOp::Delete {
                key: "a/gone".into(),
            },
        ])
        .await
        .unwrap();
    assert_eq!(barrier.get("a/one").await.unwrap().unwrap(), b"1");
    assert_eq!(barrier.get("a/two").await.unwrap().unwrap(), b"2");
    assert_eq!(barrier.get("a/gone").await.unwrap(), None);
    assert_ne!(physical.get("a/one").await.unwrap().unwrap().value, b"1");
}

#[tokio::test]
async fn data_survives_a_restart() {
    let (barrier, root, physical) = unsealed().await;
    barrier
        .put("secret/durable", b"still here".to_vec())
        .await
        .unwrap();
    drop(barrier);

    let restarted = Barrier::new(physical);
    assert!(restarted.initialized().await.unwrap());
    assert!(restarted.is_sealed());
    restarted
        .unseal(&RootKey::from_bytes(root.as_bytes()).unwrap())
        .await
        .unwrap();
    assert_eq!(
        restarted.get("secret/durable").await.unwrap().unwrap(),
        b"still here"
    );
}

#[test]
fn root_key_hygiene() {
    let key = RootKey::generate().unwrap();
    assert_eq!(format!("{key:?}"), "RootKey(<redacted>)");
    assert_eq!(RootKey::from_bytes(&key.to_bytes()).unwrap(), key);
    assert_ne!(RootKey::generate().unwrap(), key);
    let err = RootKey::from_bytes(&[0u8; 16]).unwrap_err();
    assert!(matches!(err, BarrierError::KeyLength { len: 16 }));
}

#[test]
fn keyring_json_has_vaults_shape_and_round_trips() {
    let keyring = Keyring::create(RootKey::generate().unwrap()).unwrap();
    let json = keyring.to_json().unwrap();
    let value: serde_json::Value = serde_json::from_slice(&json).unwrap();
    assert!(value["MasterKey"].is_string());
    let key = &value["Keys"][0];
    assert_eq!(key["Term"], 1);
    assert_eq!(key["Version"], 1);
    assert!(key["Value"].is_string());
    assert!(key["InstallTime"].is_string());

    let back = Keyring::from_json(&json).unwrap();
    assert_eq!(back.root_key, keyring.root_key);
    assert_eq!(back.active().unwrap().0, 1);
    assert_eq!(
        &*back.term(1).unwrap().value,
        &*keyring.term(1).unwrap().value
    );
    assert!(format!("{back:?}").starts_with("Keyring { terms: [1]"));
}
