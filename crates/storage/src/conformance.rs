//! The conformance suite every [`Backend`] must pass (feature `test-util`).
//!
//! Modelled on Vault's `physical/testing.go` (`ExerciseBackend`, `ExerciseBackend_ListPrefix`,
//! `ExerciseTransactionalBackend`). Each `exercise_*` works under its own key prefix
//! (`conformance/<name>/`), deletes what it wrote before returning, and panics with a message
//! naming the broken rule, so the functions can run in any order on one backend. A backend's
//! tests call [`exercise_all`]:
//!
//! ```no_run
//! # use std::sync::Arc;
//! # use warden_storage::memory::MemoryBackend as MyBackend;
//! // In the backend's tests, under #[tokio::test]:
//! # async fn conformance() {
//! warden_storage::conformance::exercise_all(Arc::new(MyBackend::new())).await;
//! # }
//! ```

use std::fmt::Debug;
use std::sync::Arc;

use tokio::task::JoinSet;

use crate::{Backend, Entry, MAX_VALUE_SIZE, Result, StorageError, TxnOp};

/// Runs every exercise of the suite against `backend`.
pub async fn exercise_all(backend: Arc<dyn Backend>) {
    exercise_basic(&*backend).await;
    exercise_list(&*backend).await;
    exercise_odd_keys(&*backend).await;
    exercise_values(&*backend).await;
    exercise_transactions(&*backend).await;
    exercise_concurrency(backend).await;
}

/// Put, get, overwrite, delete, deleting a missing key, and rejected keys.
pub async fn exercise_basic(backend: &dyn Backend) {
    let key = "conformance/basic/foo";
    assert_eq!(ok(backend.get(key).await, "get of a missing key"), None);
    ok(
        backend.delete(key).await,
        "delete of a missing key must succeed",
    );

    ok(backend.put(Entry::new(key, *b"one")).await, "put");
    assert_eq!(
        ok(backend.get(key).await, "get"),
        Some(Entry::new(key, *b"one"))
    );
    ok(backend.put(Entry::new(key, *b"two")).await, "overwrite");
    assert_eq!(
        ok(backend.get(key).await, "get after overwrite"),
        Some(Entry::new(key, *b"two"))
    );

    ok(backend.delete(key).await, "delete");
    assert_eq!(ok(backend.get(key).await, "get after delete"), None);
    ok(backend.delete(key).await, "second delete of the same key");

    for bad in [
        "",
        "..",
        "conformance/basic/../escape",
        "conformance/basic/..",
    ] {
        invalid_key(backend.get(bad).await, "get", bad);
        invalid_key(backend.put(Entry::new(bad, *b"x")).await, "put", bad);
        invalid_key(backend.delete(bad).await, "delete", bad);
    }
    invalid_key(
        backend.list("conformance/../").await,
        "list",
        "conformance/../",
    );
    assert_eq!(ok(backend.get("conformance/escape").await, "get"), None);
    assert_empty(backend, "conformance/basic/").await;
}

/// One-level listing: folders once with a trailing `/`, keys sharing prefixes, sorted output,
/// empty results for missing prefixes, folders vanishing with their last key.
pub async fn exercise_list(backend: &dyn Backend) {
    const NS: &str = "conformance/list/";
    let keys = [
        "a-b",
        "a/x",
        "a/y/z",
        "a0",
        "fo",
        "foo",
        "foo/",
        "foo/bar",
        "foo/baz/qux",
        "foob",
        "z",
    ];
    for key in keys {
        ok(
            backend
                .put(Entry::new(format!("{NS}{key}"), key.as_bytes()))
                .await,
            "put",
        );
    }
    let list = |prefix: String| async move { ok(backend.list(&prefix).await, "list") };
    assert_eq!(
        list(NS.into()).await,
        ["a-b", "a/", "a0", "fo", "foo", "foo/", "foob", "z"],
        "one level below {NS}, each folder once, sorted"
    );
    assert_eq!(list(format!("{NS}a/")).await, ["x", "y/"]);
    assert_eq!(
        list(format!("{NS}foo/")).await,
        ["bar", "baz/"],
        "the key `foo/` is not below itself"
    );
    assert_eq!(list(format!("{NS}foo/baz/")).await, ["qux"]);
    assert!(
        list(format!("{NS}missing/")).await.is_empty(),
        "a missing prefix lists nothing"
    );
    assert!(
        list(format!("{NS}foo/bar/")).await.is_empty(),
        "a key is not a folder"
    );

    let root = list(String::new()).await;
    assert!(
        is_sorted_unique(&root),
        "root listing must be sorted without duplicates: {root:?}"
    );
    assert_eq!(
        root.iter().filter(|name| *name == "conformance/").count(),
        1,
        "{root:?}"
    );

    // Many sibling folders: each is listed once however many keys it holds.
    for i in 0..40 {
        for j in 0..5 {
            ok(
                backend
                    .put(Entry::new(format!("{NS}many/{i:02}/{j}"), [0]))
                    .await,
                "put",
            );
        }
    }
    let many = list(format!("{NS}many/")).await;
    let expected: Vec<String> = (0..40).map(|i| format!("{i:02}/")).collect();
    assert_eq!(many, expected);

    // A folder disappears with its last key.
    ok(backend.delete(&format!("{NS}foo/baz/qux")).await, "delete");
    assert_eq!(list(format!("{NS}foo/")).await, ["bar"]);

    for key in keys {
        ok(backend.delete(&format!("{NS}{key}")).await, "delete");
    }
    for i in 0..40 {
        for j in 0..5 {
            ok(
                backend.delete(&format!("{NS}many/{i:02}/{j}")).await,
                "delete",
            );
        }
    }
    assert_empty(backend, NS).await;
}

/// Keys with spaces, Unicode, percent signs, control characters, dots and colons round-trip
/// and list under their exact names.
pub async fn exercise_odd_keys(backend: &dyn Backend) {
    const NS: &str = "conformance/odd/";
    let mut names = vec![
        "with space",
        "ключ",
        "emoji🔑",
        "%2F",
        "a\\b",
        "tab\tnew\nline",
        ".",
        "...",
        ".hidden",
        "x:y@z",
        "q?a=1&b=2",
        "\u{7f}",
        "UPPER",
        "lower",
    ];
    for name in &names {
        let key = format!("{NS}{name}");
        ok(
            backend.put(Entry::new(key.clone(), name.as_bytes())).await,
            "put of an odd key",
        );
        let got = ok(backend.get(&key).await, "get of an odd key");
        assert_eq!(
            got,
            Some(Entry::new(key, name.as_bytes())),
            "odd key {name:?}"
        );
    }
    names.sort_unstable();
    assert_eq!(
        ok(backend.list(NS).await, "list"),
        names,
        "odd keys list by byte order"
    );
    for name in &names {
        ok(backend.delete(&format!("{NS}{name}")).await, "delete");
    }
    assert_empty(backend, NS).await;
}

/// Binary, empty and large values round-trip exactly; values above [`MAX_VALUE_SIZE`] fail
/// with [`StorageError::EntryTooLarge`] and change nothing.
pub async fn exercise_values(backend: &dyn Backend) {
    const NS: &str = "conformance/values/";
    let every_byte: Vec<u8> = (0..=255u8).collect();
    let large: Vec<u8> = (0..1024 * 1024u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let cases: [(&str, Vec<u8>); 4] = [
        ("empty", Vec::new()),
        ("every-byte", every_byte),
        ("nuls", vec![0; 64]),
        ("one-mebibyte", large),
    ];
    for (name, value) in &cases {
        let key = format!("{NS}{name}");
        ok(
            backend.put(Entry::new(key.clone(), value.clone())).await,
            "put of a binary value",
        );
        let got = ok(backend.get(&key).await, "get of a binary value");
        assert!(
            got.as_ref().is_some_and(|e| &e.value == value),
            "value {name} changed"
        );
    }

    let key = format!("{NS}too-large");
    ok(backend.put(Entry::new(key.clone(), *b"small")).await, "put");
    let err = backend
        .put(Entry::new(key.clone(), vec![0; MAX_VALUE_SIZE + 1]))
        .await;
    assert!(
        matches!(err, Err(StorageError::EntryTooLarge { size, max, .. }) if size == MAX_VALUE_SIZE + 1 && max <= MAX_VALUE_SIZE),
        "a value above MAX_VALUE_SIZE must fail with EntryTooLarge, got {err:?}"
    );
    let got = ok(backend.get(&key).await, "get");
    assert_eq!(
        got,
        Some(Entry::new(key.clone(), *b"small")),
        "a rejected put changed the value"
    );

    for (name, _) in &cases {
        ok(backend.delete(&format!("{NS}{name}")).await, "delete");
    }
    ok(backend.delete(&key).await, "delete");
    assert_empty(backend, NS).await;
}

/// Transactions apply all steps in order (a later step on a key wins) or, when any step is
/// invalid, none of them.
pub async fn exercise_transactions(backend: &dyn Backend) {
    const NS: &str = "conformance/txn/";
    let key = |name: &str| format!("{NS}{name}");
    let put = |name: &str, value: &str| TxnOp::Put(Entry::new(key(name), value.as_bytes()));
    let delete = |name: &str| TxnOp::Delete(key(name));
    let value = |name: &'static str| async move {
        ok(backend.get(&key(name)).await, "get").map(|entry| entry.value)
    };

    ok(
        backend.transaction(Vec::new()).await,
        "an empty transaction succeeds",
    );
    ok(backend.put(Entry::new(key("c"), *b"old")).await, "put");
    ok(backend.put(Entry::new(key("keep"), *b"keep")).await, "put");

    let ops = vec![
        put("a", "1"),
        put("b", "2"),
        delete("c"),
        put("a", "3"),
        put("d", "x"),
        delete("d"),
    ];
    ok(backend.transaction(ops).await, "transaction");
    assert_eq!(
        value("a").await.as_deref(),
        Some(&b"3"[..]),
        "a later step on the same key wins"
    );
    assert_eq!(value("b").await.as_deref(), Some(&b"2"[..]));
    assert_eq!(value("c").await, None, "delete inside a transaction");
    assert_eq!(value("d").await, None, "put then delete leaves nothing");
    ok(
        backend.transaction(vec![delete("never-existed")]).await,
        "deleting a missing key",
    );

    // An invalid step anywhere fails the whole transaction and applies nothing.
    let failing: [(Vec<TxnOp>, &str); 3] = [
        (
            vec![
                put("a", "bad"),
                delete("keep"),
                TxnOp::Put(Entry::new("", *b"x")),
            ],
            "empty key",
        ),
        (
            vec![
                put("b", "bad"),
                TxnOp::Delete(format!("{NS}../escape")),
                put("e", "e"),
            ],
            "`..` key",
        ),
        (
            vec![
                delete("keep"),
                TxnOp::Put(Entry::new(key("big"), vec![0; MAX_VALUE_SIZE + 1])),
            ],
            "oversized value",
        ),
    ];
    for (ops, why) in failing {
        let result = backend.transaction(ops).await;
        assert!(
            matches!(
                result,
                Err(StorageError::InvalidKey { .. } | StorageError::EntryTooLarge { .. })
            ),
            "a transaction with an {why} must fail, got {result:?}"
        );
        assert_eq!(
            value("a").await.as_deref(),
            Some(&b"3"[..]),
            "{why}: nothing may be applied"
        );
        assert_eq!(
            value("b").await.as_deref(),
            Some(&b"2"[..]),
            "{why}: nothing may be applied"
        );
        assert_eq!(
            value("keep").await.as_deref(),
            Some(&b"keep"[..]),
            "{why}: nothing applied"
        );
        assert_eq!(value("e").await, None, "{why}: nothing may be applied");
        assert_eq!(value("big").await, None, "{why}: nothing may be applied");
    }

    ok(
        backend
            .transaction(vec![delete("a"), delete("b"), delete("keep")])
            .await,
        "cleanup",
    );
    assert_empty(backend, NS).await;
}

/// Concurrent writers, transactions and listers: every acknowledged write is visible at once
/// (to its writer and to everyone after), transactions stay atomic, and a failing
/// transaction among concurrent writes affects only itself.
pub async fn exercise_concurrency(backend: Arc<dyn Backend>) {
    const NS: &str = "conformance/concurrency/";
    const WRITERS: usize = 64;
    const WRITES: usize = 50;
    const TXN_WRITERS: usize = 16;
    const TXNS: usize = 20;

    let mut tasks = JoinSet::new();
    for w in 0..WRITERS {
        let backend = Arc::clone(&backend);
        tasks.spawn(async move {
            for i in 0..WRITES {
                let entry = Entry::new(format!("{NS}w{w:02}/{i:02}"), format!("{w}:{i}"));
                ok(backend.put(entry.clone()).await, "concurrent put");
                let got = ok(backend.get(&entry.key).await, "get after concurrent put");
                assert_eq!(
                    got.as_ref(),
                    Some(&entry),
                    "an acknowledged write must be visible"
                );
            }
        });
    }
    for t in 0..TXN_WRITERS {
        let backend = Arc::clone(&backend);
        tasks.spawn(async move {
            for i in 0..TXNS {
                let value = format!("{t}-{i}");
                let ops = ["a", "b", "shared"]
                    .map(|name| {
                        TxnOp::Put(Entry::new(format!("{NS}txn/{name}{t}"), value.as_bytes()))
                    })
                    .into_iter()
                    .chain([TxnOp::Put(Entry::new(
                        format!("{NS}txn/last"),
                        value.as_bytes(),
                    ))])
                    .collect();
                ok(backend.transaction(ops).await, "concurrent transaction");
                let bad = vec![
                    TxnOp::Put(Entry::new(format!("{NS}bad/{t}-{i}"), *b"x")),
                    TxnOp::Delete(String::new()),
                ];
                let result = backend.transaction(bad).await;
                assert!(
                    matches!(result, Err(StorageError::InvalidKey { .. })),
                    "{result:?}"
                );
            }
        });
    }
    for _ in 0..4 {
        let backend = Arc::clone(&backend);
        tasks.spawn(async move {
            for _ in 0..20 {
                let names = ok(backend.list(NS).await, "concurrent list");
                assert!(
                    is_sorted_unique(&names),
                    "list under concurrent writes: {names:?}"
                );
                tokio::task::yield_now().await;
            }
        });
    }
    while let Some(joined) = tasks.join_next().await {
        if let Err(err) = joined {
            std::panic::resume_unwind(err.into_panic());
        }
    }

    let writers = ok(backend.list(NS).await, "list");
    assert_eq!(
        writers.len(),
        WRITERS + 1,
        "one folder per writer plus txn/: {writers:?}"
    );
    for w in 0..WRITERS {
        let names = ok(backend.list(&format!("{NS}w{w:02}/")).await, "list");
        assert_eq!(names.len(), WRITES, "writer {w} lost writes: {names:?}");
    }
    let last = ok(backend.get(&format!("{NS}txn/last")).await, "get").map(|e| e.value);
    let finals: Vec<Vec<u8>> = (0..TXN_WRITERS)
        .map(|t| format!("{t}-{}", TXNS - 1).into_bytes())
        .collect();
    assert!(
        last.as_ref().is_some_and(|v| finals.contains(v)),
        "the last transaction wins"
    );
    for t in 0..TXN_WRITERS {
        let expected = Some(format!("{t}-{}", TXNS - 1).into_bytes());
        for name in ["a", "b", "shared"] {
            let got = ok(backend.get(&format!("{NS}txn/{name}{t}")).await, "get").map(|e| e.value);
            assert_eq!(got, expected, "transactions of writer {t} on {name}");
        }
    }

    let mut cleanup: Vec<TxnOp> = (0..WRITERS)
        .flat_map(|w| (0..WRITES).map(move |i| TxnOp::Delete(format!("{NS}w{w:02}/{i:02}"))))
        .collect();
    for t in 0..TXN_WRITERS {
        for name in ["a", "b", "shared"] {
            cleanup.push(TxnOp::Delete(format!("{NS}txn/{name}{t}")));
        }
    }
    cleanup.push(TxnOp::Delete(format!("{NS}txn/last")));
    ok(backend.transaction(cleanup).await, "cleanup transaction");
    assert_empty(&*backend, NS).await;
}

fn ok<T>(result: Result<T>, what: &str) -> T {
    match result {
        Ok(value) => value,
        Err(err) => panic!("{what}: {err}"),
    }
}

fn invalid_key<T: Debug>(result: Result<T>, op: &str, key: &str) {
    assert!(
        matches!(result, Err(StorageError::InvalidKey { .. })),
        "{op} of {key:?} must fail with InvalidKey, got {result:?}"
    );
}

async fn assert_empty(backend: &dyn Backend, prefix: &str) {
    let left = ok(backend.list(prefix).await, "list");
    assert!(
        left.is_empty(),
        "{prefix} should be empty after cleanup: {left:?}"
    );
}

fn is_sorted_unique(names: &[String]) -> bool {
    names.windows(2).all(|pair| pair[0] < pair[1])
}
