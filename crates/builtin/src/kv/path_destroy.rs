//! `destroy/<path>` (Vault's `path_destroy.go`): remove the data of chosen versions for good;
//! the metadata keeps them, marked `destroyed`.

use std::sync::Arc;

use warden_logical::framework::{Path, handler, match_all_regex};
use warden_logical::{LogicalError, Operation, Request, Response, StorageOp};

use super::backend::{KvV2, put_metadata, version_key};
use super::path_delete::{VersionsInput, fields};

/// The `destroy/` path.
pub(super) fn path(state: &Arc<KvV2>) -> Path {
    Path::new(format!("destroy/{}", match_all_regex("path")))
        .fields(fields(
            "The versions to destroy. Their data will be permanently deleted.",
        ))
        .operation(Operation::Update, handler(state, KvV2::destroy_versions))
        .help(
            "Permanently removes one or more versions in the KV store",
            "Permanently removes the specified version data for the provided key and version \
             numbers from the key-value store.",
        )
}

impl KvV2 {
    async fn destroy_versions(
        self: Arc<Self>,
        _req: Request,
        input: VersionsInput,
    ) -> Result<Option<Response>, LogicalError> {
        if input.versions.is_empty() {
            return Err(LogicalError::user("no version number provided"));
        }
        let _guard = self.lock(&input.path).write().await;
        let Some(mut meta) = self.metadata(&input.path).await? else {
            return Ok(None);
        };
        for number in input.numbers() {
            if let Some(version) = meta.versions.get_mut(&number) {
                version.destroyed = true;
            }
        }
        let mut ops = vec![put_metadata(&meta)?];
        let mut numbers: Vec<u64> = input.numbers().collect();
        numbers.sort_unstable();
        numbers.dedup();
        ops.extend(
            numbers
                .into_iter()
                .map(|number| StorageOp::Delete(version_key(&input.path, number))),
        );
        self.commit(ops).await?;
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering;

    use serde_json::json;
    use warden_logical::LogicalError;

    use crate::kv::backend::version_key;
    use crate::kv::testing::Harness;

    #[tokio::test]
    async fn destroyed_versions_lose_their_data_and_read_as_404_with_metadata() {
        let h = Harness::new();
        h.put("app", json!({"a": 1})).await;
        h.put("app", json!({"a": 2})).await;
        assert!(h.storage.json(&version_key("app", 2)).is_some());
        assert!(
            h.write("destroy/app", json!({"versions": [2, 9]}))
                .await
                .is_empty()
        );
        assert!(h.storage.json(&version_key("app", 2)).is_none());
        assert!(h.storage.json(&version_key("app", 1)).is_some());

        let read = h.read("data/app").await;
        assert_eq!(read.status(), Some(404));
        let body = read.data();
        assert_eq!(body["data"], json!(null));
        assert_eq!(body["metadata"]["destroyed"], true);
        assert_eq!(body["metadata"]["version"], 2);
        assert_eq!(body["metadata"]["deletion_time"], "");

        let meta = h.read("metadata/app").await.data();
        assert_eq!(meta["versions"]["2"]["destroyed"], true);
        assert_eq!(meta["versions"]["1"]["destroyed"], false);
        assert!(meta["versions"].get("9").is_none());

        // A destroyed version cannot be undeleted or deleted.
        h.write("undelete/app", json!({"versions": [2]})).await;
        h.write("delete/app", json!({"versions": [2]})).await;
        let meta = h.read("metadata/app").await.data();
        assert_eq!(meta["versions"]["2"]["deletion_time"], "");
        assert_eq!(meta["versions"]["2"]["destroyed"], true);
    }

    #[tokio::test]
    async fn versions_are_required_in_lower_case_and_missing_keys_are_fine() {
        let h = Harness::new();
        let err = h
            .write("destroy/app", json!({"versions": []}))
            .await
            .error();
        assert_eq!(err, LogicalError::user("no version number provided"));
        assert!(
            h.write("destroy/none", json!({"versions": "1"}))
                .await
                .is_empty()
        );
    }

    #[tokio::test]
    async fn a_failed_transaction_changes_nothing() {
        let h = Harness::new();
        h.put("app", json!({"a": 1})).await;
        let before = h.storage.keys();
        h.storage.fail_transactions.store(true, Ordering::SeqCst);
        let err = h
            .write("destroy/app", json!({"versions": [1]}))
            .await
            .error();
        assert_eq!(err, LogicalError::internal("storage unavailable"));
        h.storage.fail_transactions.store(false, Ordering::SeqCst);
        assert_eq!(h.storage.keys(), before);
        assert_eq!(h.read("data/app").await.data()["data"], json!({"a": 1}));
    }

    #[tokio::test]
    async fn a_deleted_version_can_be_destroyed_and_listing_still_shows_the_key() {
        let h = Harness::new();
        h.put("app", json!({"a": 1})).await;
        h.call(warden_logical::Operation::Delete, "data/app", json!(null))
            .await;
        assert!(
            h.write("destroy/app", json!({"versions": "1"}))
                .await
                .is_empty()
        );
        let meta = h.read("metadata/app").await.data();
        assert_eq!(meta["versions"]["1"]["destroyed"], true);
        assert_ne!(meta["versions"]["1"]["deletion_time"], "");
        assert!(h.storage.json(&version_key("app", 1)).is_none());
        let listed = h
            .call(warden_logical::Operation::List, "metadata/", json!(null))
            .await
            .data();
        assert_eq!(listed["keys"], json!(["app"]));
    }
}
