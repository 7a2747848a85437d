//! `subkeys/<path>` (Vault's `path_subkeys.go`): the shape of a version's data, every leaf
//! value replaced by `null`, optionally cut at a depth.

use std::sync::Arc;

use serde::Deserialize;
use serde_json::Value;
use warden_logical::framework::{Field, FieldType, Path, handler, match_all_regex};
use warden_logical::{LogicalError, Map, Operation, Request, Response};

use super::backend::{KvV2, not_found_with};

const DESCRIPTION: &str = "This endpoint provides the subkeys within a secret entry that exists \
at the requested path. The secret entry at this path will be retrieved and stripped of all data \
by replacing underlying values of leaf keys (i.e. non-map keys or map keys with no underlying \
subkeys) with null.\n\n\
The \"version\" parameter specifies which version of the secret to read when generating the \
subkeys structure. If not provided, the current version will be used.\n\n\
The \"depth\" parameter specifies the deepest nesting level to provide in the output. The \
default value 0 will not impose any limit. If non-zero, keys that reside at the specified depth \
value will be artificially treated as leaves and will thus be null even if further underlying \
subkeys exist.";

/// The `subkeys/<path>` path.
pub(super) fn path(state: &Arc<KvV2>) -> Path {
    Path::new(format!("subkeys/{}", match_all_regex("path")))
        .field(Field::new("path", FieldType::String).description("Location of the secret."))
        .field(Field::new("depth", FieldType::Int).description(
            "The maximum depth to traverse. No limit will be imposed if not provided or if 0.",
        ))
        .field(Field::new("version", FieldType::Int).description(
            "Specifies which version to retrieve. If not provided, the current version will be \
             used.",
        ))
        .operation(Operation::Read, handler(state, KvV2::read_subkeys))
        .help(
            "Read the structure of a secret entry from the Key-Value store with the values \
             removed.",
            DESCRIPTION,
        )
}

#[derive(Debug, Deserialize)]
struct SubkeysRead {
    #[serde(default)]
    path: String,
    #[serde(default)]
    depth: i64,
    #[serde(default)]
    version: i64,
}

/// Vault's `removeValues`: leaves (non-objects and empty objects) become `null`; objects at
/// `max_depth` (when it is not 0) become `null` as well, so no value below it leaks.
fn remove_values(data: &mut Map, max_depth: i64) {
    fn walk(map: &mut Map, depth: i64, max_depth: i64) {
        for value in map.values_mut() {
            let next = depth + 1;
            match value {
                Value::Object(inner)
                    if (max_depth == 0 || next <= max_depth) && !inner.is_empty() =>
                {
                    walk(inner, next, max_depth);
                }
                other => *other = Value::Null,
            }
        }
    }
    walk(data, 1, max_depth);
}

impl KvV2 {
    async fn read_subkeys(
        self: Arc<Self>,
        _req: Request,
        input: SubkeysRead,
    ) -> Result<Option<Response>, LogicalError> {
        let _guard = self.lock(&input.path).read().await;
        let Some(meta) = self.metadata(&input.path).await? else {
            return Ok(None);
        };
        let number = match u64::try_from(input.version) {
            Ok(version) if version > 0 => version,
            _ => meta.current_version,
        };
        let Some(version) = meta.versions.get(&number) else {
            return Ok(None);
        };
        let mut data = Map::new();
        data.insert("metadata".into(), meta.version_json(number, version));
        data.insert("subkeys".into(), Value::Null);
        if version.is_unreadable(self.now()) {
            return Ok(Some(not_found_with(data)));
        }
        let mut stored = self.expect_version(&input.path, number).await?.data;
        remove_values(&mut stored, input.depth);
        data.insert("subkeys".into(), Value::Object(stored));
        Ok(Some(Response::with_data(data)))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::remove_values;
    use crate::kv::backend::into_map;
    use crate::kv::testing::Harness;

    fn secret() -> serde_json::Value {
        json!({"foo": "abc", "bar": {"baz": 1, "qux": {"deep": true}, "empty": {}}, "list": [1, 2]})
    }

    #[test]
    fn depth_limits_follow_vault() {
        let mut unlimited = into_map(secret());
        remove_values(&mut unlimited, 0);
        assert_eq!(
            serde_json::Value::Object(unlimited),
            json!({"foo": null, "bar": {"baz": null, "qux": {"deep": null}, "empty": null}, "list": null})
        );
        let mut one = into_map(secret());
        remove_values(&mut one, 1);
        assert_eq!(
            serde_json::Value::Object(one),
            json!({"foo": null, "bar": null, "list": null})
        );
        let mut two = into_map(secret());
        remove_values(&mut two, 2);
        assert_eq!(
            serde_json::Value::Object(two),
            json!({"foo": null, "bar": {"baz": null, "qux": null, "empty": null}, "list": null})
        );
    }

    #[tokio::test]
    async fn subkeys_of_versions_and_deleted_versions() {
        let h = Harness::new();
        h.put("app", secret()).await;
        h.put("app", json!({"only": "one"})).await;
        let latest = h.read("subkeys/app").await.data();
        assert_eq!(latest["subkeys"], json!({"only": null}));
        assert_eq!(latest["metadata"]["version"], 2);
        assert_eq!(latest["metadata"]["custom_metadata"], json!(null));

        let first = h
            .call(
                warden_logical::Operation::Read,
                "subkeys/app",
                json!({"version": "1", "depth": 1}),
            )
            .await
            .data();
        assert_eq!(
            first["subkeys"],
            json!({"foo": null, "bar": null, "list": null})
        );

        h.write("delete/app", json!({"versions": [2]})).await;
        h.clock.advance(1);
        let deleted = h.read("subkeys/app").await;
        assert_eq!(deleted.status(), Some(404));
        let body = deleted.data();
        assert_eq!(body["subkeys"], json!(null));
        assert_ne!(body["metadata"]["deletion_time"], "");

        assert!(h.read("subkeys/none").await.is_empty());
        let missing_version = h
            .call(
                warden_logical::Operation::Read,
                "subkeys/app",
                json!({"version": 9}),
            )
            .await;
        assert!(missing_version.is_empty());
    }
}
