//! KV version 1 (Vault's `passthrough.go`): whatever JSON object is written to a path is
//! stored as it is and read back with a refresh interval (`ttl` or `lease` in the data, else
//! the mount's default lease TTL) as `lease_duration`.

use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;
use warden_logical::framework::{
    Field, FieldType, FrameworkBackend, Path, existence, handler, match_all_regex,
    parse_duration_second,
};
use warden_logical::{
    BackendConfig, BackendKind, LeaseOptions, LogicalBackend, LogicalError, Map, Operation,
    Request, Response, Secret, StorageEntry, StorageView, SystemView,
};

const HELP: &str = "The kv backend reads and writes arbitrary secrets to the backend. The \
secrets are encrypted/decrypted by Vault: they are never stored unencrypted in the backend \
and the backend never has an opportunity to see the unencrypted value.";

/// Builds the version 1 engine for a mount.
pub(super) fn build(config: BackendConfig) -> Result<Arc<dyn LogicalBackend>, LogicalError> {
    let state = Arc::new(KvV1 {
        storage: config.storage,
        system: config.system,
    });
    let path = Path::new(match_all_regex("path"))
        .field(Field::new("path", FieldType::String).description("Location of the secret."))
        .takes_arbitrary_data()
        .existence_check(existence(&state, KvV1::exists))
        .operation(Operation::Read, handler(&state, KvV1::read))
        .operation(Operation::Create, handler(&state, KvV1::write))
        .operation(Operation::Update, handler(&state, KvV1::write))
        .operation(Operation::Delete, handler(&state, KvV1::delete))
        .operation(Operation::List, handler(&state, KvV1::list))
        .help(
            "Pass-through secret storage to the storage backend, allowing you to read/write \
             arbitrary data into secret storage.",
            HELP,
        );
    let backend = FrameworkBackend::builder(BackendKind::Secret)
        .help(HELP)
        .path(path)
        .build()
        .map_err(LogicalError::internal)?;
    Ok(Arc::new(backend))
}

#[derive(Debug)]
struct KvV1 {
    storage: Arc<dyn StorageView>,
    system: Arc<dyn SystemView>,
}

#[derive(Debug, Deserialize)]
struct KeyPath {
    #[serde(default)]
    path: String,
}

impl KvV1 {
    async fn exists(self: Arc<Self>, _req: Request, input: KeyPath) -> Result<bool, LogicalError> {
        Ok(self.storage.get(&input.path).await?.is_some())
    }

    async fn read(
        self: Arc<Self>,
        _req: Request,
        input: KeyPath,
    ) -> Result<Option<Response>, LogicalError> {
        let Some(entry) = self.storage.get(&input.path).await? else {
            return Ok(None);
        };
        let data: Map = entry.decode()?;
        let ttl = data
            .get("ttl")
            .or_else(|| data.get("lease"))
            .and_then(|raw| parse_duration_second(raw).ok().flatten())
            .and_then(|seconds| u64::try_from(seconds).ok())
            .map_or_else(|| self.system.default_lease_ttl(), Duration::from_secs);
        let mut response = Response::with_data(data);
        response.secret = Some(Secret {
            lease: LeaseOptions {
                ttl,
                renewable: false,
                ..LeaseOptions::default()
            },
            ..Secret::default()
        });
        Ok(Some(response))
    }

    async fn write(
        self: Arc<Self>,
        req: Request,
        input: KeyPath,
    ) -> Result<Option<Response>, LogicalError> {
        if input.path.is_empty() {
            return Err(LogicalError::user("missing path"));
        }
        // The stored object is the request body as sent; the path is not part of it.
        let data = req.data;
        if data.is_empty() {
            return Err(LogicalError::user("missing data fields"));
        }
        self.storage
            .put(StorageEntry::json(input.path, &Value::Object(data))?)
            .await?;
        Ok(None)
    }

    async fn delete(
        self: Arc<Self>,
        _req: Request,
        input: KeyPath,
    ) -> Result<Option<Response>, LogicalError> {
        self.storage.delete(&input.path).await?;
        Ok(None)
    }

    async fn list(
        self: Arc<Self>,
        _req: Request,
        input: KeyPath,
    ) -> Result<Option<Response>, LogicalError> {
        let mut prefix = input.path;
        if !prefix.is_empty() && !prefix.ends_with('/') {
            prefix.push('/');
        }
        let keys = self.storage.list(&prefix).await?;
        let mut data = Map::new();
        data.insert("keys".into(), Value::from(keys));
        Ok(Some(Response::with_data(data)))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use serde_json::{Value, json};
    use warden_logical::{LogicalError, Map, Operation, Request};

    use crate::kv::testing::mount_config;

    fn map(value: Value) -> Map {
        match value {
            Value::Object(map) => map,
            _ => Map::new(),
        }
    }

    #[tokio::test]
    async fn kv_v1_keeps_its_behaviour() {
        let (config, _) = mount_config(Some("1"));
        let backend = crate::kv::factory()(config).await.unwrap();
        let req = Request::new(
            Operation::Update,
            "app",
            map(json!({"ttl": "1h", "k": "v"})),
        );
        assert_eq!(backend.existence_check(&req).await.unwrap(), Some(false));
        backend.handle_request(req).await.unwrap();
        let read = backend
            .handle_request(Request::new(Operation::Read, "app", Map::new()))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(read.secret.unwrap().lease.ttl, Duration::from_secs(3600));
        let err = backend
            .handle_request(Request::new(Operation::Update, "empty", Map::new()))
            .await
            .unwrap_err();
        assert_eq!(err, LogicalError::user("missing data fields"));
        let listed = backend
            .handle_request(Request::new(Operation::List, "", Map::new()))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(listed.data.unwrap()["keys"], json!(["app"]));
    }

    #[tokio::test]
    async fn reads_use_the_mount_ttl_without_a_ttl_field_and_deletes_are_idempotent() {
        let (config, storage) = mount_config(None);
        let backend = crate::kv::factory()(config).await.unwrap();
        let req = Request::new(Operation::Update, "dir/app", map(json!({"k": "v"})));
        backend.handle_request(req).await.unwrap();
        assert_eq!(storage.json("dir/app"), Some(json!({"k": "v"})));
        let read = backend
            .handle_request(Request::new(Operation::Read, "dir/app", Map::new()))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            read.secret.unwrap().lease.ttl,
            Duration::from_secs(2_764_800)
        );
        let listed = backend
            .handle_request(Request::new(Operation::List, "dir", Map::new()))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(listed.data.unwrap()["keys"], json!(["app"]));
        for _ in 0..2 {
            let deleted = backend
                .handle_request(Request::new(Operation::Delete, "dir/app", Map::new()))
                .await
                .unwrap();
            assert!(deleted.is_none());
        }
        assert!(storage.keys().is_empty());
        let missing = backend
            .handle_request(Request::new(Operation::Read, "dir/app", Map::new()))
            .await
            .unwrap();
        assert!(missing.is_none());
    }
}
