use serde_json::{Value, json};
use warden_logical::{BackendKind, LogicalError, Map, Operation, Request};

use super::{Configuration, KeyMetadata, KvV2};
use crate::kv::testing::{Harness, mount_config};
use crate::kv::timefmt::Timestamp;

fn map(value: Value) -> Map {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

#[tokio::test]
async fn the_version_option_picks_the_engine() {
    for version in [None, Some(""), Some("1")] {
        let (config, storage) = mount_config(version);
        let backend = crate::kv::factory()(config).await.unwrap();
        assert_eq!(backend.kind(), BackendKind::Secret);
        let written = backend
            .handle_request(Request::new(Operation::Update, "a", map(json!({"x": 1}))))
            .await
            .unwrap();
        assert!(written.is_none(), "KV v1 answers writes with 204");
        assert_eq!(storage.json("a"), Some(json!({"x": 1})));
    }
    let (config, storage) = mount_config(Some("2"));
    let backend = crate::kv::factory()(config).await.unwrap();
    let written = backend
        .handle_request(Request::new(
            Operation::Create,
            "data/a",
            map(json!({"data": {"x": 1}})),
        ))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(written.data.unwrap()["version"], 1);
    assert!(storage.json("metadata/a").is_some());

    let (config, _) = mount_config(Some("3"));
    let err = crate::kv::factory()(config).await.unwrap_err();
    assert_eq!(
        err,
        LogicalError::user("KV version 3 is not supported; use version 1 or 2")
    );
}

#[test]
fn add_version_slides_the_window_like_vault() {
    let mut meta = KeyMetadata::new("k");
    let t = Timestamp(0);
    assert!(meta.add_version(t, None, 2).is_empty());
    assert_eq!((meta.current_version, meta.oldest_version), (1, 0));
    // The window is full: oldest becomes 1, nothing to delete yet.
    assert!(meta.add_version(t, None, 2).is_empty());
    assert_eq!((meta.current_version, meta.oldest_version), (2, 1));
    assert_eq!(meta.add_version(t, None, 2), [1]);
    assert_eq!((meta.current_version, meta.oldest_version), (3, 2));
    assert_eq!(meta.versions.keys().copied().collect::<Vec<_>>(), [2, 3]);
    // Lowering max_versions prunes several at once on the next write.
    for _ in 0..3 {
        meta.add_version(t, None, 5);
    }
    assert_eq!(meta.add_version(t, None, 1), [2, 3, 4, 5, 6]);
    assert_eq!(meta.versions.keys().copied().collect::<Vec<_>>(), [7]);
    assert_eq!(meta.oldest_version, 7);
}

#[test]
fn deletion_time_takes_the_smaller_non_zero_setting() {
    let from = Timestamp(0);
    let at = |mount: Option<i64>, key: Option<i64>| {
        let config = Configuration {
            delete_version_after: mount,
            ..Configuration::default()
        };
        let meta = KeyMetadata {
            delete_version_after: key,
            ..KeyMetadata::default()
        };
        KvV2::deletion_time(from, &config, &meta).map(|t| t.0 / 1_000_000_000)
    };
    assert_eq!(at(None, None), None);
    assert_eq!(at(Some(60), None), Some(60));
    assert_eq!(at(None, Some(30)), Some(30));
    assert_eq!(at(Some(60), Some(30)), Some(30));
    assert_eq!(at(Some(30), Some(60)), Some(30));
    assert_eq!(at(Some(-1), Some(60)), None);
}

#[tokio::test]
async fn misused_paths_answer_404_with_a_hint() {
    let h = Harness::new();
    let root = h.read("data").await.response();
    assert_eq!(root.status_code, Some(404));
    assert_eq!(
        root.warnings,
        ["Non-listing operations on the root of a K/V v2 mount are not supported."]
    );
    let cases = [
        (Operation::Read, "app", "get"),
        (Operation::Update, "app", "put"),
        (Operation::Patch, "app", "patch"),
        (Operation::Delete, "app", "delete"),
        (Operation::List, "data/dir/", "list"),
        (Operation::List, "", "list"),
    ];
    for (operation, path, command) in cases {
        let response = h.call(operation, path, json!({"x": 1})).await.response();
        assert_eq!(response.status_code, Some(404), "{operation} {path}");
        assert_eq!(
            response.warnings,
            [format!(
                "Invalid path for a versioned K/V secrets engine. See the API docs for the \
                 appropriate API endpoints to use. If using the Vault CLI, use 'vault kv \
                 {command}' for this operation."
            )]
        );
    }
    // The data path has no trailing slash, so a write there is a misuse too.
    let slashed = h.write("data/dir/", json!({"data": {}})).await.response();
    assert_eq!(slashed.status_code, Some(404));
}
