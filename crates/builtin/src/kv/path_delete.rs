//! `delete/<path>` and `undelete/<path>` (Vault's `path_delete.go`): soft-delete chosen
//! versions, or make them readable again.

use std::sync::Arc;

use serde::Deserialize;
use warden_logical::framework::{Field, FieldType, Path, handler, match_all_regex};
use warden_logical::{LogicalError, Operation, Request, Response};

use super::backend::{KvV2, put_metadata};

/// The `delete/` and `undelete/` paths.
pub(super) fn paths(state: &Arc<KvV2>) -> Vec<Path> {
    vec![
        Path::new(format!("delete/{}", match_all_regex("path")))
            .fields(fields("The versions to be archived. The versioned data will not be deleted, but it will no longer be returned in normal get requests."))
            .operation(Operation::Update, handler(state, KvV2::delete_versions))
            .help(
                "Marks one or more versions as deleted in the KV store.",
                "Deletes the data for the provided version and path in the key-value store. \
                 The versioned data will not be fully removed, but marked as deleted and will \
                 no longer be returned in normal get requests. This operation can be undone.",
            ),
        Path::new(format!("undelete/{}", match_all_regex("path")))
            .fields(fields("The versions to unarchive. The versions will be restored and their data will be returned on normal get requests."))
            .operation(Operation::Update, handler(state, KvV2::undelete_versions))
            .help(
                "Undeletes one or more versions from the KV store.",
                "Undeletes the data for the provided version and path in the key-value store. \
                 This restores the data, allowing it to be returned on get requests.",
            ),
    ]
}

/// `path` and `versions`, shared with `destroy/`.
pub(super) fn fields(versions: &str) -> [Field; 2] {
    [
        Field::new("path", FieldType::String).description("Location of the secret."),
        Field::new("versions", FieldType::CommaIntSlice).description(versions),
    ]
}

/// The input of `delete/`, `undelete/` and `destroy/`.
#[derive(Debug, Deserialize)]
pub(super) struct VersionsInput {
    #[serde(default)]
    pub(super) path: String,
    #[serde(default)]
    pub(super) versions: Vec<i64>,
}

impl VersionsInput {
    /// The versions as metadata numbers (a negative number names no version).
    pub(super) fn numbers(&self) -> impl Iterator<Item = u64> + '_ {
        self.versions.iter().filter_map(|&n| u64::try_from(n).ok())
    }
}

impl KvV2 {
    async fn delete_versions(
        self: Arc<Self>,
        _req: Request,
        input: VersionsInput,
    ) -> Result<Option<Response>, LogicalError> {
        if input.versions.is_empty() {
            return Err(LogicalError::user("No version number provided"));
        }
        let _guard = self.lock(&input.path).write().await;
        let Some(mut meta) = self.metadata(&input.path).await? else {
            return Ok(None);
        };
        let now = self.now();
        for number in input.numbers() {
            let Some(version) = meta.versions.get_mut(&number) else {
                continue;
            };
            if version.is_unreadable(now) {
                continue;
            }
            version.deletion_time = Some(now);
        }
        self.commit(vec![put_metadata(&meta)?]).await?;
        Ok(None)
    }

    async fn undelete_versions(
        self: Arc<Self>,
        _req: Request,
        input: VersionsInput,
    ) -> Result<Option<Response>, LogicalError> {
        if input.versions.is_empty() {
            return Err(LogicalError::user("No version number provided"));
        }
        let config = self.config().await?;
        let _guard = self.lock(&input.path).write().await;
        let Some(mut meta) = self.metadata(&input.path).await? else {
            return Ok(None);
        };
        // A restored version starts a new `delete_version_after` period from now.
        let deletion = Self::deletion_time(self.now(), &config, &meta);
        for number in input.numbers() {
            if let Some(version) = meta.versions.get_mut(&number)
                && !version.destroyed
            {
                version.deletion_time = deletion;
            }
        }
        self.commit(vec![put_metadata(&meta)?]).await?;
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use warden_logical::LogicalError;

    use crate::kv::testing::Harness;

    #[tokio::test]
    async fn delete_marks_versions_and_undelete_restores_them() {
        let h = Harness::new();
        for n in 1..=3 {
            h.put("app", json!({ "n": n })).await;
        }
        assert!(
            h.write("delete/app", json!({"versions": [1, 3, 7]}))
                .await
                .is_empty()
        );
        h.clock.advance(1);
        let meta = h.read("metadata/app").await.data();
        assert_ne!(meta["versions"]["1"]["deletion_time"], "");
        assert_eq!(meta["versions"]["2"]["deletion_time"], "");
        assert_ne!(meta["versions"]["3"]["deletion_time"], "");
        let read = h.read("data/app").await;
        assert_eq!(read.status(), Some(404));
        assert_eq!(read.data()["data"], json!(null));

        // Comma strings are accepted, as everywhere in Vault.
        assert!(
            h.write("undelete/app", json!({"versions": "1,3"}))
                .await
                .is_empty()
        );
        let meta = h.read("metadata/app").await.data();
        assert_eq!(meta["versions"]["1"]["deletion_time"], "");
        assert_eq!(meta["versions"]["3"]["deletion_time"], "");
        assert_eq!(h.read("data/app").await.data()["data"], json!({"n": 3}));
    }

    #[tokio::test]
    async fn a_deleted_version_keeps_its_first_deletion_time() {
        let h = Harness::new();
        h.put("app", json!({"a": 1})).await;
        h.write("delete/app", json!({"versions": [1]})).await;
        let first = h.read("metadata/app").await.data()["versions"]["1"]["deletion_time"].clone();
        h.clock.advance(5);
        h.write("delete/app", json!({"versions": [1]})).await;
        let second = h.read("metadata/app").await.data()["versions"]["1"]["deletion_time"].clone();
        assert_eq!(first, second);
    }

    #[tokio::test]
    async fn versions_are_required_and_missing_keys_are_fine() {
        let h = Harness::new();
        for path in ["delete/app", "undelete/app"] {
            let err = h.write(path, json!({})).await.error();
            assert_eq!(err, LogicalError::user("No version number provided"));
        }
        assert!(
            h.write("delete/nothing", json!({"versions": [1]}))
                .await
                .is_empty()
        );
        assert!(
            h.write("undelete/nothing", json!({"versions": [1]}))
                .await
                .is_empty()
        );
        assert!(h.storage.keys().is_empty());
    }

    #[tokio::test]
    async fn undelete_restarts_delete_version_after_but_not_for_destroyed_versions() {
        let h = Harness::new();
        h.put("app", json!({"a": 1})).await;
        h.put("app", json!({"a": 2})).await;
        h.write("destroy/app", json!({"versions": [2]})).await;
        h.write("delete/app", json!({"versions": [1]})).await;
        h.write("metadata/app", json!({"delete_version_after": "1h"}))
            .await;
        h.clock.advance(10);
        h.write("undelete/app", json!({"versions": [1, 2]})).await;
        let meta = h.read("metadata/app").await.data();
        let expected = (h.clock_now().plus_seconds(3600)).rfc3339_nano();
        assert_eq!(meta["versions"]["1"]["deletion_time"], expected);
        assert_eq!(meta["versions"]["2"]["deletion_time"], "");
        assert_eq!(meta["versions"]["2"]["destroyed"], true);
    }
}
