//! Test helpers: an in-memory [`StorageView`], a settable clock, and a harness that sends
//! requests through the framework backend the way the core does (existence check first).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use serde_json::Value;
use warden_logical::framework::FrameworkBackend;
use warden_logical::{
    BackendConfig, LogicalBackend, LogicalError, Map, MountInfo, Operation, Request, Response,
    StorageEntry, StorageOp, StorageView, SystemView,
};

use super::backend::{Clock, build_backend};
use super::timefmt::Timestamp;

/// Storage in a map.
#[derive(Debug, Default)]
pub(super) struct MemStorage {
    entries: Mutex<BTreeMap<String, Vec<u8>>>,
    /// When set, every transaction fails (to show that nothing was half-written).
    pub(super) fail_transactions: std::sync::atomic::AtomicBool,
}

impl MemStorage {
    /// Every key, sorted.
    pub(super) fn keys(&self) -> Vec<String> {
        self.entries.lock().unwrap().keys().cloned().collect()
    }

    /// One value as JSON.
    pub(super) fn json(&self, key: &str) -> Option<Value> {
        let entries = self.entries.lock().unwrap();
        entries.get(key).map(|v| serde_json::from_slice(v).unwrap())
    }
}

#[async_trait]
impl StorageView for MemStorage {
    async fn get(&self, key: &str) -> Result<Option<StorageEntry>, LogicalError> {
        let entries = self.entries.lock().unwrap();
        Ok(entries.get(key).map(|value| StorageEntry {
            key: key.to_owned(),
            value: value.clone(),
        }))
    }

    async fn put(&self, entry: StorageEntry) -> Result<(), LogicalError> {
        self.entries.lock().unwrap().insert(entry.key, entry.value);
        Ok(())
    }

    async fn delete(&self, key: &str) -> Result<(), LogicalError> {
        self.entries.lock().unwrap().remove(key);
        Ok(())
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>, LogicalError> {
        let entries = self.entries.lock().unwrap();
        let mut out: Vec<String> = Vec::new();
        for key in entries.keys().filter(|k| k.starts_with(prefix)) {
            let rest = &key[prefix.len()..];
            let item = match rest.find('/') {
                Some(i) => rest[..=i].to_owned(),
                None => rest.to_owned(),
            };
            if out.last() != Some(&item) && !out.contains(&item) {
                out.push(item);
            }
        }
        out.sort();
        Ok(out)
    }

    async fn transaction(&self, ops: Vec<StorageOp>) -> Result<(), LogicalError> {
        if self.fail_transactions.load(Ordering::SeqCst) {
            return Err(LogicalError::internal("storage unavailable"));
        }
        let mut entries = self.entries.lock().unwrap();
        for op in ops {
            match op {
                StorageOp::Put(entry) => {
                    entries.insert(entry.key, entry.value);
                }
                StorageOp::Delete(key) => {
                    entries.remove(&key);
                }
            }
        }
        Ok(())
    }
}

/// A clock that only moves when told to.
#[derive(Debug)]
pub(super) struct ManualClock(AtomicI64);

impl ManualClock {
    /// Moves the clock forward.
    pub(super) fn advance(&self, seconds: i64) {
        self.0.fetch_add(seconds * 1_000_000_000, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        Timestamp(self.0.load(Ordering::SeqCst))
    }
}

/// A KV v2 backend over [`MemStorage`] and a [`ManualClock`] at 2024-01-02T03:04:05.5Z.
pub(super) struct Harness {
    pub(super) backend: FrameworkBackend,
    pub(super) storage: Arc<MemStorage>,
    pub(super) clock: Arc<ManualClock>,
}

/// What a request answered, flattened for assertions.
#[derive(Debug)]
pub(super) enum Outcome {
    /// `Ok(None)`.
    Empty,
    /// `Ok(Some(response))`.
    Response(Box<Response>),
    /// `Err(error)`.
    Error(LogicalError),
}

impl Outcome {
    /// The response, or a panic.
    pub(super) fn response(self) -> Response {
        match self {
            Self::Response(response) => *response,
            other => panic!("expected a response, got {other:?}"),
        }
    }

    /// The response's data as JSON.
    pub(super) fn data(self) -> Value {
        Value::Object(self.response().data.unwrap_or_default())
    }

    /// The error, or a panic.
    pub(super) fn error(self) -> LogicalError {
        match self {
            Self::Error(error) => error,
            other => panic!("expected an error, got {other:?}"),
        }
    }

    /// Whether the answer was `Ok(None)`.
    pub(super) fn is_empty(&self) -> bool {
        matches!(self, Self::Empty)
    }

    /// The status code a response overrides, if any.
    pub(super) fn status(&self) -> Option<u16> {
        match self {
            Self::Response(response) => response.status_code,
            _ => None,
        }
    }
}

impl Harness {
    pub(super) fn new() -> Self {
        let storage = Arc::new(MemStorage::default());
        let clock = Arc::new(ManualClock(AtomicI64::new(1_704_164_645_500_000_000)));
        let backend = build_backend(storage.clone(), clock.clone()).unwrap();
        Self {
            backend,
            storage,
            clock,
        }
    }

    /// Sends one request; a write goes through the existence check as in the core.
    pub(super) async fn call(&self, operation: Operation, path: &str, data: Value) -> Outcome {
        let data: Map = match data {
            Value::Object(map) => map,
            Value::Null => Map::new(),
            other => panic!("request data must be an object, not {other}"),
        };
        let mut req = Request::new(operation, path, data);
        if operation == Operation::Update {
            match self.backend.existence_check(&req).await {
                Ok(Some(false)) => req.operation = Operation::Create,
                Ok(_) => {}
                Err(err) => return Outcome::Error(err),
            }
        }
        match self.backend.handle_request(req).await {
            Ok(None) => Outcome::Empty,
            Ok(Some(response)) => Outcome::Response(Box::new(response)),
            Err(err) => Outcome::Error(err),
        }
    }

    /// The operation the core would use for a write to `path`.
    pub(super) async fn write_operation(&self, path: &str) -> Operation {
        let req = Request::new(Operation::Update, path, Map::new());
        match self.backend.existence_check(&req).await.unwrap() {
            Some(false) => Operation::Create,
            _ => Operation::Update,
        }
    }

    /// The harness clock's current time.
    pub(super) fn clock_now(&self) -> Timestamp {
        self.clock.now()
    }

    pub(super) async fn read(&self, path: &str) -> Outcome {
        self.call(Operation::Read, path, Value::Null).await
    }

    pub(super) async fn write(&self, path: &str, data: Value) -> Outcome {
        self.call(Operation::Update, path, data).await
    }

    /// Writes `data/<key>` with `{"data": data}` and returns the new version.
    pub(super) async fn put(&self, key: &str, data: Value) -> u64 {
        let written = self
            .write(&format!("data/{key}"), serde_json::json!({ "data": data }))
            .await
            .data();
        written["version"].as_u64().unwrap()
    }
}

/// A system view with Vault's default TTLs (32 days).
#[derive(Debug)]
pub(super) struct Ttls;

impl SystemView for Ttls {
    fn default_lease_ttl(&self) -> Duration {
        Duration::from_secs(2_764_800)
    }

    fn max_lease_ttl(&self) -> Duration {
        Duration::from_secs(2_764_800)
    }
}

/// A mount's backend config over fresh [`MemStorage`], with `version` set if given.
pub(super) fn mount_config(version: Option<&str>) -> (BackendConfig, Arc<MemStorage>) {
    let storage = Arc::new(MemStorage::default());
    let mut options = BTreeMap::new();
    if let Some(version) = version {
        options.insert("version".to_owned(), version.to_owned());
    }
    let config = BackendConfig {
        storage: storage.clone(),
        system: Arc::new(Ttls),
        options,
        mount: MountInfo::default(),
    };
    (config, storage)
}
