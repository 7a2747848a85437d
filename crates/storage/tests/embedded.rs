//! Behaviour specific to the embedded (redb) backend: persistence across reopen and group
//! commit.

use std::sync::Arc;

use tokio::task::JoinSet;
use warden_storage::embedded::EmbeddedBackend;
use warden_storage::{Backend, Entry, TxnOp};

#[tokio::test]
async fn data_survives_drop_and_reopen() {
    let dir = tempfile::tempdir().unwrap();
    {
        let backend = EmbeddedBackend::open(dir.path()).unwrap();
        backend
            .put(Entry::new("core/keyring", *b"ring"))
            .await
            .unwrap();
        backend
            .put(Entry::new("logical/a/b", *b"ab"))
            .await
            .unwrap();
        backend.put(Entry::new("gone", *b"x")).await.unwrap();
        backend
            .transaction(vec![
                TxnOp::Delete("gone".into()),
                TxnOp::Put(Entry::new("logical/a/c", *b"ac")),
            ])
            .await
            .unwrap();
    }
    let backend = EmbeddedBackend::open(dir.path()).unwrap();
    assert_eq!(
        backend.get("core/keyring").await.unwrap(),
        Some(Entry::new("core/keyring", *b"ring"))
    );
    assert_eq!(backend.get("gone").await.unwrap(), None);
    assert_eq!(backend.list("").await.unwrap(), ["core/", "logical/"]);
    assert_eq!(backend.list("logical/a/").await.unwrap(), ["b", "c"]);
    assert_eq!(backend.stats().commits, 0, "counters start at open");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writes_share_commits() {
    const WRITES: u64 = 200;
    let dir = tempfile::tempdir().unwrap();
    let backend = Arc::new(EmbeddedBackend::open(dir.path()).unwrap());
    let start = Arc::new(tokio::sync::Barrier::new(WRITES as usize));
    let mut tasks = JoinSet::new();
    for i in 0..WRITES {
        let (backend, start) = (backend.clone(), start.clone());
        tasks.spawn(async move {
            start.wait().await;
            backend
                .put(Entry::new(format!("k/{i:03}"), i.to_be_bytes()))
                .await
                .unwrap();
        });
    }
    tasks.join_all().await;
    let stats = backend.stats();
    assert_eq!(stats.writes, WRITES);
    assert!(
        stats.commits < WRITES,
        "{WRITES} concurrent writes took {} commits",
        stats.commits
    );
    assert!(stats.largest_group > 1, "{stats:?}");
    assert_eq!(backend.list("k/").await.unwrap().len(), WRITES as usize);
}

#[tokio::test]
async fn writes_after_reopen_continue_the_same_store() {
    let dir = tempfile::tempdir().unwrap();
    for round in 0..3u8 {
        let backend = EmbeddedBackend::open(dir.path()).unwrap();
        assert_eq!(backend.list("r/").await.unwrap().len(), usize::from(round));
        backend
            .put(Entry::new(format!("r/{round}"), [round]))
            .await
            .unwrap();
    }
}
