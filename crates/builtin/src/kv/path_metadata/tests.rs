use serde_json::{Value, json};
use warden_logical::{LogicalError, Operation};

use super::{multierror, validate_custom_metadata};
use crate::kv::backend::{metadata_key, version_key};
use crate::kv::testing::Harness;

#[tokio::test]
async fn read_shows_every_version_and_setting() {
    let h = Harness::new();
    h.put("app", json!({"a": 1})).await;
    h.clock.advance(2);
    h.put("app", json!({"a": 2})).await;
    let meta = h.read("metadata/app").await.data();
    assert_eq!(
        meta,
        json!({
            "cas_required": false,
            "created_time": "2024-01-02T03:04:05.5Z",
            "current_version": 2,
            "custom_metadata": null,
            "delete_version_after": "0s",
            "max_versions": 0,
            "oldest_version": 0,
            "updated_time": "2024-01-02T03:04:07.5Z",
            "versions": {
                "1": {"created_time": "2024-01-02T03:04:05.5Z", "deletion_time": "", "destroyed": false},
                "2": {"created_time": "2024-01-02T03:04:07.5Z", "deletion_time": "", "destroyed": false},
            },
        })
    );
    assert!(h.read("metadata/none").await.is_empty());
}

#[tokio::test]
async fn write_creates_or_updates_settings() {
    let h = Harness::new();
    assert_eq!(h.write_operation("metadata/app").await, Operation::Create);
    // Nothing to change: nothing is created.
    assert!(h.write("metadata/app", json!({})).await.is_empty());
    assert!(h.storage.keys().is_empty());

    let written = h
        .write(
            "metadata/app",
            json!({
                "max_versions": 3,
                "cas_required": true,
                "delete_version_after": "3h",
                "custom_metadata": {"owner": "team-a", "n": 5, "flag": true},
            }),
        )
        .await;
    assert!(written.is_empty());
    assert_eq!(h.write_operation("metadata/app").await, Operation::Update);
    let meta = h.read("metadata/app").await.data();
    assert_eq!(meta["max_versions"], 3);
    assert_eq!(meta["cas_required"], true);
    assert_eq!(meta["delete_version_after"], "3h0m0s");
    assert_eq!(
        meta["custom_metadata"],
        json!({"flag": "1", "n": "5", "owner": "team-a"})
    );
    assert_eq!(meta["current_version"], 0);
    assert_eq!(meta["versions"], json!({}));
    assert_eq!(meta["created_time"], "2024-01-02T03:04:05.5Z");
    // A key with metadata but no version reads as missing, and its first write is an update.
    assert!(h.read("data/app").await.is_empty());
    assert_eq!(h.write_operation("data/app").await, Operation::Update);

    // custom_metadata replaces the whole map on a write; it shows up in data responses.
    h.write("metadata/app", json!({"custom_metadata": {"k": "v"}}))
        .await;
    let put = h
        .write("data/app", json!({"options": {"cas": 0}, "data": {"a": 1}}))
        .await
        .data();
    assert_eq!(put["custom_metadata"], json!({"k": "v"}));
    let meta = h.read("metadata/app").await.data();
    assert_eq!(meta["max_versions"], 3);
    assert_eq!(meta["custom_metadata"], json!({"k": "v"}));

    let err = h
        .write("metadata/app", json!({"delete_version_after": "-1s"}))
        .await
        .error();
    assert!(
        matches!(&err, LogicalError::User(m) if m.contains("cannot provide negative value")),
        "{err:?}"
    );
}

#[tokio::test]
async fn cas_required_false_is_warned_about_when_the_mount_requires_it() {
    let h = Harness::new();
    h.write("config", json!({"cas_required": true})).await;
    let written = h
        .write("metadata/app", json!({"cas_required": false}))
        .await
        .response();
    assert_eq!(
        written.warnings,
        [
            "\"cas_required\" set to false, but is mandated by backend config. This value will be ignored."
        ]
    );
    assert_eq!(written.data, None);
}

#[test]
fn custom_metadata_limits_and_messages() {
    let mut many = std::collections::BTreeMap::new();
    for i in 0..65 {
        many.insert(format!("k{i}"), "v".to_owned());
    }
    assert_eq!(
        validate_custom_metadata(&many).unwrap_err(),
        "1 error occurred:\n\t* custom_metadata validation failed: payload must contain at most \
         64 keys, provided 65\n\n"
    );
    let mut bad = std::collections::BTreeMap::new();
    bad.insert("a".repeat(129), "v".to_owned());
    bad.insert("empty".to_owned(), String::new());
    bad.insert("tab\t".to_owned(), "x\u{1}".to_owned());
    let long_key = "a".repeat(129);
    assert_eq!(
        validate_custom_metadata(&bad).unwrap_err(),
        multierror(&[
            format!(
                "custom_metadata validation failed: length of key \"{long_key}\" is 129 but must \
                 be 0 < len(key) <= 128"
            ),
            "custom_metadata validation failed: length of value for key \"empty\" is 0 but must \
             be 0 < len(value) <= 512"
                .to_owned(),
            "custom_metadata validation failed: key \"tab\\t\" (tab\t) contains unprintable \
             characters"
                .to_owned(),
            "custom_metadata validation failed: value for key \"tab\\t\" contains unprintable \
             characters"
                .to_owned(),
        ])
    );
    assert!(multierror(&["a".into(), "b".into()]).starts_with("2 errors occurred:\n\t* a\n\t* b"));
}

#[tokio::test]
async fn invalid_custom_metadata_is_a_400() {
    let h = Harness::new();
    let err = h
        .write(
            "metadata/app",
            json!({"custom_metadata": {"k": {"nested": 1}}}),
        )
        .await
        .error();
    assert_eq!(
        err,
        LogicalError::user(
            "custom_metadata validation failed: '' expected type 'string', got unconvertible \
             type 'map[string]interface {}', value: 'map[nested:1]'"
        )
    );
    let err = h
        .write("metadata/app", json!({"custom_metadata": {"k": ""}}))
        .await
        .error();
    assert!(
        matches!(err, LogicalError::User(m) if m.starts_with("1 error occurred:\n\t* custom_metadata validation failed: length of value"))
    );
    assert!(h.storage.keys().is_empty());
}

#[tokio::test]
async fn patch_merges_settings_and_custom_metadata() {
    let h = Harness::new();
    let missing = h
        .call(Operation::Patch, "metadata/app", json!({"max_versions": 1}))
        .await
        .response();
    assert_eq!(missing.status_code, Some(404));

    h.write(
        "metadata/app",
        json!({"max_versions": 5, "custom_metadata": {"a": "1", "b": "2"}}),
    )
    .await;
    let patched = h
        .call(
            Operation::Patch,
            "metadata/app",
            json!({"cas_required": true, "custom_metadata": {"a": null, "c": "3"}}),
        )
        .await;
    assert!(patched.is_empty());
    let meta = h.read("metadata/app").await.data();
    assert_eq!(meta["max_versions"], 5);
    assert_eq!(meta["cas_required"], true);
    assert_eq!(meta["custom_metadata"], json!({"b": "2", "c": "3"}));

    h.call(
        Operation::Patch,
        "metadata/app",
        json!({"custom_metadata": null, "delete_version_after": "30s"}),
    )
    .await;
    let meta = h.read("metadata/app").await.data();
    assert_eq!(meta["custom_metadata"], Value::Null);
    assert_eq!(meta["delete_version_after"], "30s");
}

#[tokio::test]
async fn list_shows_keys_and_folders() {
    let h = Harness::new();
    for key in ["b", "a", "dir/x", "dir/y/z", "a/inner"] {
        h.put(key, json!({"v": key})).await;
    }
    let root = h
        .call(Operation::List, "metadata/", Value::Null)
        .await
        .data();
    assert_eq!(root, json!({"keys": ["a", "a/", "b", "dir/"]}));
    let dir = h
        .call(Operation::List, "metadata/dir/", Value::Null)
        .await
        .data();
    assert_eq!(dir, json!({"keys": ["x", "y/"]}));
    let none = h
        .call(Operation::List, "metadata/none/", Value::Null)
        .await
        .data();
    assert_eq!(none, json!({"keys": []}));

    h.call(Operation::Delete, "data/b", Value::Null).await;
    let kept = h
        .call(
            Operation::List,
            "metadata/",
            json!({"exclude_deleted": true}),
        )
        .await
        .data();
    assert_eq!(kept, json!({"keys": ["a", "a/", "dir/"]}));
}

#[tokio::test]
async fn delete_removes_the_key_and_every_version() {
    let h = Harness::new();
    h.put("app", json!({"a": 1})).await;
    h.put("app", json!({"a": 2})).await;
    h.put("other", json!({"a": 1})).await;
    assert!(
        h.call(Operation::Delete, "metadata/app", Value::Null)
            .await
            .is_empty()
    );
    assert!(h.storage.json(&metadata_key("app")).is_none());
    assert!(h.storage.json(&version_key("app", 1)).is_none());
    assert!(h.storage.json(&version_key("app", 2)).is_none());
    assert!(h.storage.json(&metadata_key("other")).is_some());
    assert!(h.read("data/app").await.is_empty());
    assert!(h.read("metadata/app").await.is_empty());
    // A new write starts again at version 1, as a create.
    assert_eq!(h.write_operation("data/app").await, Operation::Create);
    assert_eq!(h.put("app", json!({"a": 3})).await, 1);
    assert!(
        h.call(Operation::Delete, "metadata/none", Value::Null)
            .await
            .is_empty()
    );
}
