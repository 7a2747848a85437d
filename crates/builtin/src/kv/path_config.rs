//! `config` (Vault's `path_config.go`): the mount-wide `max_versions`, `cas_required` and
//! `delete_version_after`.

use std::sync::Arc;

use serde::Deserialize;
use serde_json::json;
use warden_logical::framework::{Field, FieldType, NoInput, Path, handler};
use warden_logical::{LogicalError, Operation, Request, Response};

use super::backend::{DELETE_VERSION_AFTER_DISABLED, KvV2, into_map};
use super::timefmt::GoDuration;

const SYNOPSIS: &str = "Configures settings for the KV store";
const DESCRIPTION: &str = "This path configures backend level settings that are applied to \
every key in the key-value store. This parameter accepts:\n\n\
\t* max_versions (int) - The number of versions to keep for each key. Defaults to 10\n\n\
\t* cas_required (bool) - If true, the backend will require the cas parameter to be set for \
each write\n\n\
\t* delete_version_after (duration) - If set, the length of time before a version is deleted. \
A negative duration disables the use of delete_version_after on all keys. A zero duration \
clears the current setting. Accepts a Go duration format string.";

/// The `config` path.
pub(super) fn path(state: &Arc<KvV2>) -> Path {
    Path::new("config$")
        .field(
            Field::new("max_versions", FieldType::Int)
                .description("The number of versions to keep for each key. Defaults to 10"),
        )
        .field(Field::new("cas_required", FieldType::Bool).description(
            "If true, the backend will require the cas parameter to be set for each write",
        ))
        .field(
            Field::new("delete_version_after", FieldType::SignedDurationSecond).description(
                "If set, the length of time before a version is deleted. A negative duration \
                 disables the use of delete_version_after on all keys. A zero duration clears \
                 the current setting. Accepts a Go duration format string.",
            ),
        )
        .operation(Operation::Read, handler(state, KvV2::read_config))
        .operation(Operation::Update, handler(state, KvV2::write_config))
        .help(SYNOPSIS, DESCRIPTION)
}

#[derive(Debug, Deserialize)]
struct ConfigWrite {
    max_versions: Option<i64>,
    cas_required: Option<bool>,
    delete_version_after: Option<i64>,
}

impl KvV2 {
    async fn read_config(
        self: Arc<Self>,
        _req: Request,
        _input: NoInput,
    ) -> Result<Option<Response>, LogicalError> {
        let config = self.config().await?;
        let data = json!({
            "cas_required": config.cas_required,
            "delete_version_after": GoDuration(config.delete_version_after.unwrap_or(0)).to_string(),
            "max_versions": config.max_versions,
        });
        Ok(Some(Response::with_data(into_map(data))))
    }

    async fn write_config(
        self: Arc<Self>,
        _req: Request,
        input: ConfigWrite,
    ) -> Result<Option<Response>, LogicalError> {
        if input.max_versions.is_none()
            && input.cas_required.is_none()
            && input.delete_version_after.is_none()
        {
            return Ok(None);
        }
        let mut config = self.config().await?;
        if let Some(max_versions) = input.max_versions {
            // Go's `uint32(int)`: the same wrap-around.
            config.max_versions = max_versions as u32;
        }
        if let Some(cas_required) = input.cas_required {
            config.cas_required = cas_required;
        }
        if let Some(seconds) = input.delete_version_after {
            config.delete_version_after = match seconds {
                s if s < 0 => Some(DELETE_VERSION_AFTER_DISABLED),
                0 => None,
                s => Some(s),
            };
        }
        self.put_config(&config).await?;
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use warden_logical::LogicalError;

    use crate::kv::testing::Harness;

    #[tokio::test]
    async fn defaults_then_written_values_read_back() {
        let h = Harness::new();
        let read = h.read("config").await.data();
        assert_eq!(
            read,
            json!({"cas_required": false, "delete_version_after": "0s", "max_versions": 0})
        );

        let written = h
            .write(
                "config",
                json!({"max_versions": 4, "cas_required": true, "delete_version_after": "3h"}),
            )
            .await;
        assert!(written.is_empty(), "a config write answers 204");
        let read = h.read("config").await.data();
        assert_eq!(
            read,
            json!({"cas_required": true, "delete_version_after": "3h0m0s", "max_versions": 4})
        );

        // Only what is sent changes; seconds work as well as Go durations.
        h.write("config", json!({"delete_version_after": 90})).await;
        let read = h.read("config").await.data();
        assert_eq!(read["delete_version_after"], "1m30s");
        assert_eq!(read["max_versions"], 4);
        assert_eq!(read["cas_required"], true);
    }

    #[tokio::test]
    async fn negative_disables_and_zero_clears_delete_version_after() {
        let h = Harness::new();
        h.write("config", json!({"delete_version_after": "-5m"}))
            .await;
        assert_eq!(h.read("config").await.data()["delete_version_after"], "-1s");
        h.write("config", json!({"delete_version_after": "0s"}))
            .await;
        assert_eq!(h.read("config").await.data()["delete_version_after"], "0s");
        assert!(
            h.storage
                .json("config")
                .unwrap()
                .get("delete_version_after")
                .is_none()
        );
    }

    #[tokio::test]
    async fn empty_write_changes_nothing_and_bad_values_fail() {
        let h = Harness::new();
        assert!(h.write("config", json!({})).await.is_empty());
        assert!(h.storage.json("config").is_none());
        let err = h
            .write("config", json!({"max_versions": "lots"}))
            .await
            .error();
        let LogicalError::User(message) = err else {
            panic!("expected a user error, got {err:?}");
        };
        assert!(
            message.starts_with(
                "Field validation failed: error converting input lots for field \"max_versions\""
            ),
            "{message}"
        );
        let unknown = h.read("config").await.response();
        assert!(unknown.warnings.is_empty());
    }
}
