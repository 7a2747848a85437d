use serde_json::{Value, json};
use warden_logical::{LogicalError, Operation};

use super::merge_patch;
use crate::kv::backend::{metadata_key, version_key};
use crate::kv::testing::Harness;

#[tokio::test]
async fn write_then_read_versions_with_vaults_shapes() {
    let h = Harness::new();
    assert_eq!(h.write_operation("data/app").await, Operation::Create);
    let written = h
        .write("data/app", json!({"data": {"user": "a"}}))
        .await
        .response();
    assert!(written.warnings.is_empty());
    assert_eq!(written.status_code, None);
    let body = Value::Object(written.data.unwrap());
    assert_eq!(
        body,
        json!({
            "created_time": "2024-01-02T03:04:05.5Z",
            "custom_metadata": null,
            "deletion_time": "",
            "destroyed": false,
            "version": 1,
        })
    );
    let keys: Vec<&String> = body.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "created_time",
            "custom_metadata",
            "deletion_time",
            "destroyed",
            "version"
        ]
    );

    assert_eq!(h.write_operation("data/app").await, Operation::Update);
    h.clock.advance(1);
    assert_eq!(h.put("app", json!({"user": "b"})).await, 2);

    let latest = h.read("data/app").await.data();
    assert_eq!(latest["data"], json!({"user": "b"}));
    assert_eq!(latest["metadata"]["version"], 2);
    assert_eq!(latest["metadata"]["created_time"], "2024-01-02T03:04:06.5Z");

    let first = h
        .call(Operation::Read, "data/app", json!({"version": "1"}))
        .await
        .data();
    assert_eq!(first["data"], json!({"user": "a"}));
    assert_eq!(first["metadata"]["version"], 1);

    // Version 0 means the latest; an unknown version or key is a plain 404.
    let zero = h
        .call(Operation::Read, "data/app", json!({"version": 0}))
        .await
        .data();
    assert_eq!(zero["metadata"]["version"], 2);
    assert!(
        h.call(Operation::Read, "data/app", json!({"version": 3}))
            .await
            .is_empty()
    );
    assert!(h.read("data/nothing").await.is_empty());
}

#[tokio::test]
async fn writes_need_a_data_object() {
    let h = Harness::new();
    let err = h.write("data/app", json!({"foo": "bar"})).await.error();
    assert_eq!(err, LogicalError::user("no data provided"));
    let err = h.write("data/app", json!({"data": "text"})).await.error();
    // The existence check coerces first, so its message (without Vault's prefix) wins.
    assert!(
        matches!(&err, LogicalError::User(m) if m.starts_with("error converting input text for field \"data\"")),
        "{err:?}"
    );
    assert!(h.storage.keys().is_empty());
}

#[tokio::test]
async fn unknown_fields_are_warned_about() {
    let h = Harness::new();
    let written = h
        .write("data/app", json!({"data": {"a": 1}, "extra": true}))
        .await
        .response();
    assert_eq!(
        written.warnings,
        ["Endpoint ignored these unrecognized parameters: [extra]"]
    );
}

#[tokio::test]
async fn check_and_set_follows_vault() {
    let h = Harness::new();
    let mismatch = "check-and-set parameter did not match the current version";
    // cas 0 creates a new key only.
    let ok = h
        .write("data/app", json!({"options": {"cas": 0}, "data": {"a": 1}}))
        .await
        .data();
    assert_eq!(ok["version"], 1);
    let err = h
        .write("data/app", json!({"options": {"cas": 0}, "data": {"a": 2}}))
        .await
        .error();
    assert_eq!(err, LogicalError::user(mismatch));
    let err = h
        .write(
            "data/app",
            json!({"options": {"cas": -1}, "data": {"a": 2}}),
        )
        .await
        .error();
    assert_eq!(err, LogicalError::user(mismatch));
    let ok = h
        .write(
            "data/app",
            json!({"options": {"cas": "1"}, "data": {"a": 2}}),
        )
        .await
        .data();
    assert_eq!(ok["version"], 2);
    let err = h
        .write(
            "data/app",
            json!({"options": {"cas": 1.5}, "data": {"a": 3}}),
        )
        .await
        .error();
    assert_eq!(
        err,
        LogicalError::user("error parsing check-and-set parameter")
    );
    let err = h
        .write(
            "data/app",
            json!({"options": {"cas": "two"}, "data": {"a": 3}}),
        )
        .await
        .error();
    assert_eq!(
        err,
        LogicalError::user("error parsing check-and-set parameter")
    );

    // cas_required on the mount, then on the key.
    let required = "check-and-set parameter required for this call";
    h.write("config", json!({"cas_required": true})).await;
    let err = h.write("data/app", json!({"data": {"a": 3}})).await.error();
    assert_eq!(err, LogicalError::user(required));
    let err = h
        .write("data/other", json!({"data": {"a": 3}}))
        .await
        .error();
    assert_eq!(err, LogicalError::user(required));
    h.write("config", json!({"cas_required": false})).await;
    h.write("metadata/app", json!({"cas_required": true})).await;
    let err = h.write("data/app", json!({"data": {"a": 3}})).await.error();
    assert_eq!(err, LogicalError::user(required));
    assert_eq!(h.put("other", json!({"a": 1})).await, 1);
    let ok = h
        .write("data/app", json!({"options": {"cas": 2}, "data": {"a": 3}}))
        .await
        .data();
    assert_eq!(ok["version"], 3);
}

#[tokio::test]
async fn versions_are_pruned_beyond_max_versions() {
    let h = Harness::new();
    h.write("config", json!({"max_versions": 2})).await;
    for n in 1..=3 {
        h.put("app", json!({ "n": n })).await;
    }
    let meta = h.read("metadata/app").await.data();
    assert_eq!(meta["current_version"], 3);
    assert_eq!(meta["oldest_version"], 2);
    assert_eq!(
        meta["versions"]
            .as_object()
            .unwrap()
            .keys()
            .collect::<Vec<_>>(),
        ["2", "3"]
    );
    assert!(h.storage.json(&version_key("app", 1)).is_none());
    assert!(h.storage.json(&version_key("app", 2)).is_some());
    assert!(
        h.call(Operation::Read, "data/app", json!({"version": 1}))
            .await
            .is_empty()
    );

    // The key's max_versions cannot go below the mount's; a larger one wins.
    h.write("metadata/app", json!({"max_versions": 4})).await;
    for n in 4..=6 {
        h.put("app", json!({ "n": n })).await;
    }
    let meta = h.read("metadata/app").await.data();
    assert_eq!(meta["oldest_version"], 3);
    assert_eq!(meta["versions"].as_object().unwrap().len(), 4);
    assert!(h.storage.json(&version_key("app", 2)).is_none());
}

#[tokio::test]
async fn ten_versions_are_kept_by_default() {
    let h = Harness::new();
    for n in 1..=10 {
        h.put("app", json!({ "n": n })).await;
    }
    let meta = h.read("metadata/app").await.data();
    assert_eq!(meta["oldest_version"], 1);
    assert_eq!(meta["versions"].as_object().unwrap().len(), 10);
    h.put("app", json!({"n": 11})).await;
    let meta = h.read("metadata/app").await.data();
    assert_eq!(meta["oldest_version"], 2);
    assert!(meta["versions"].get("1").is_none());
    let versions: Vec<String> = h
        .storage
        .keys()
        .into_iter()
        .filter(|k| k.starts_with("versions/"))
        .collect();
    assert_eq!(versions.len(), 10);
}

#[tokio::test]
async fn delete_soft_deletes_the_latest_and_reads_answer_404_with_the_body() {
    let h = Harness::new();
    h.put("app", json!({"a": 1})).await;
    h.put("app", json!({"a": 2})).await;
    assert!(
        h.call(Operation::Delete, "data/app", Value::Null)
            .await
            .is_empty()
    );
    let read = h.read("data/app").await;
    // The deletion time is "now", which is not yet in the past.
    assert_eq!(read.status(), None);
    h.clock.advance(1);
    let read = h.read("data/app").await;
    assert_eq!(read.status(), Some(404));
    let body = read.data();
    assert_eq!(body["data"], Value::Null);
    assert_eq!(body["metadata"]["version"], 2);
    assert_eq!(body["metadata"]["deletion_time"], "2024-01-02T03:04:05.5Z");
    assert_eq!(body["metadata"]["destroyed"], false);
    // The data stays in storage (it can be undeleted), and version 1 still reads.
    assert!(h.storage.json(&version_key("app", 2)).is_some());
    let first = h
        .call(Operation::Read, "data/app", json!({"version": 1}))
        .await;
    assert_eq!(first.status(), None);
    // Deleting again does not move the deletion time; a missing key is fine.
    h.clock.advance(5);
    h.call(Operation::Delete, "data/app", Value::Null).await;
    let again = h.read("data/app").await.data();
    assert_eq!(again["metadata"]["deletion_time"], "2024-01-02T03:04:05.5Z");
    assert!(
        h.call(Operation::Delete, "data/none", Value::Null)
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn delete_version_after_takes_the_smaller_setting() {
    let h = Harness::new();
    h.write("config", json!({"delete_version_after": "1h"}))
        .await;
    let written = h.write("data/app", json!({"data": {"a": 1}})).await.data();
    assert_eq!(written["deletion_time"], "2024-01-02T04:04:05.5Z");
    h.write("metadata/app", json!({"delete_version_after": "10m"}))
        .await;
    let written = h.write("data/app", json!({"data": {"a": 2}})).await.data();
    assert_eq!(written["deletion_time"], "2024-01-02T03:14:05.5Z");
    assert_eq!(h.read("data/app").await.status(), None);
    h.clock.advance(601);
    let expired = h.read("data/app").await;
    assert_eq!(expired.status(), Some(404));
    assert_eq!(expired.data()["data"], Value::Null);

    // Disabled on the mount: no deletion time, whatever the key says.
    h.write("config", json!({"delete_version_after": -1})).await;
    let written = h.write("data/app", json!({"data": {"a": 3}})).await.data();
    assert_eq!(written["deletion_time"], "");
}

#[tokio::test]
async fn patch_merges_into_the_current_version() {
    let h = Harness::new();
    let missing = h
        .call(Operation::Patch, "data/app", json!({"data": {"a": 1}}))
        .await
        .response();
    assert_eq!(missing.status_code, Some(404));
    assert!(missing.raw.unwrap().body.is_empty());

    h.put(
        "app",
        json!({"keep": 1, "drop": 2, "nested": {"x": 1, "y": 2}}),
    )
    .await;
    let err = h
        .call(Operation::Patch, "data/app", json!({"options": {}}))
        .await
        .error();
    assert_eq!(err, LogicalError::user("no data provided"));
    let patched = h
        .call(
            Operation::Patch,
            "data/app",
            json!({"data": {"drop": null, "new": "v", "nested": {"y": null, "z": 3}}}),
        )
        .await
        .data();
    assert_eq!(patched["version"], 2);
    let read = h.read("data/app").await.data();
    assert_eq!(
        read["data"],
        json!({"keep": 1, "nested": {"x": 1, "z": 3}, "new": "v"})
    );

    let err = h
        .call(
            Operation::Patch,
            "data/app",
            json!({"options": {"cas": 1}, "data": {"a": 1}}),
        )
        .await
        .error();
    assert_eq!(
        err,
        LogicalError::user("check-and-set parameter did not match the current version")
    );

    // A deleted current version cannot be patched: 404 with the version's metadata, flat.
    h.call(Operation::Delete, "data/app", Value::Null).await;
    h.clock.advance(1);
    let deleted = h
        .call(Operation::Patch, "data/app", json!({"data": {"a": 1}}))
        .await;
    assert_eq!(deleted.status(), Some(404));
    let body = deleted.data();
    assert_eq!(body["version"], 2);
    assert_ne!(body["deletion_time"], "");
}

#[tokio::test]
async fn metadata_and_version_are_written_together() {
    let h = Harness::new();
    h.put("app", json!({"a": 1})).await;
    h.storage
        .fail_transactions
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let err = h.write("data/app", json!({"data": {"a": 2}})).await.error();
    assert_eq!(err, LogicalError::internal("storage unavailable"));
    h.storage
        .fail_transactions
        .store(false, std::sync::atomic::Ordering::SeqCst);
    let meta = h.storage.json(&metadata_key("app")).unwrap();
    assert_eq!(meta["current_version"], 1);
    assert!(h.storage.json(&version_key("app", 2)).is_none());
    assert_eq!(h.read("data/app").await.data()["data"], json!({"a": 1}));
}

/// The examples of RFC 7386 appendix A.
#[test]
fn rfc_7386_examples() {
    let cases = [
        (json!({"a":"b"}), json!({"a":"c"}), json!({"a":"c"})),
        (json!({"a":"b"}), json!({"b":"c"}), json!({"a":"b","b":"c"})),
        (json!({"a":"b"}), json!({"a":null}), json!({})),
        (
            json!({"a":"b","b":"c"}),
            json!({"a":null}),
            json!({"b":"c"}),
        ),
        (json!({"a":["b"]}), json!({"a":"c"}), json!({"a":"c"})),
        (json!({"a":"c"}), json!({"a":["b"]}), json!({"a":["b"]})),
        (
            json!({"a":{"b":"c"}}),
            json!({"a":{"b":"d","c":null}}),
            json!({"a":{"b":"d"}}),
        ),
        (json!({"a":[{"b":"c"}]}), json!({"a":[1]}), json!({"a":[1]})),
        (json!(["a", "b"]), json!(["c", "d"]), json!(["c", "d"])),
        (json!({"a":"b"}), json!(["c"]), json!(["c"])),
        (json!({"a":"foo"}), json!(null), json!(null)),
        (json!({"a":"foo"}), json!("bar"), json!("bar")),
        (json!({"e":null}), json!({"a":1}), json!({"e":null,"a":1})),
        (json!([1, 2]), json!({"a":"b","c":null}), json!({"a":"b"})),
        (
            json!({}),
            json!({"a":{"bb":{"ccc":null}}}),
            json!({"a":{"bb":{}}}),
        ),
    ];
    for (target, patch, expected) in cases {
        assert_eq!(
            merge_patch(target.clone(), patch.clone()),
            expected,
            "{target} + {patch}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writes_to_one_key_get_distinct_versions() {
    let h = std::sync::Arc::new(Harness::new());
    h.write("config", json!({"max_versions": 50})).await;
    let tasks: Vec<_> = (0..20)
        .map(|n| {
            let h = h.clone();
            tokio::spawn(async move { h.put("race", json!({ "n": n })).await })
        })
        .collect();
    let mut versions = Vec::new();
    for task in tasks {
        versions.push(task.await.unwrap());
    }
    versions.sort_unstable();
    assert_eq!(versions, (1..=20).collect::<Vec<u64>>());
    let meta = h.read("metadata/race").await.data();
    assert_eq!(meta["current_version"], 20);
    assert_eq!(meta["versions"].as_object().unwrap().len(), 20);
}
