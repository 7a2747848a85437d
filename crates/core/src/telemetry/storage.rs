//! Storage latency: a [`Backend`] wrapper that times every physical operation.

use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use metrics::{Counter, Histogram};
use warden_storage::{Backend, Entry, Result, TxnOp};

/// One operation's handles, registered once so the hot path does no registry lookup.
#[derive(Debug, Clone)]
struct OperationMetrics {
    duration: Histogram,
    errors: Counter,
}

impl OperationMetrics {
    fn new(operation: &'static str) -> Self {
        Self {
            duration: metrics::histogram!(
                "warden_storage_operation_duration_seconds",
                "operation" => operation
            ),
            errors: metrics::counter!("warden_storage_errors_total", "operation" => operation),
        }
    }

    fn observe<T>(&self, started: Instant, result: &Result<T>) {
        self.duration.record(started.elapsed().as_secs_f64());
        if result.is_err() {
            self.errors.increment(1);
        }
    }
}

/// Times the operations of the backend it wraps; otherwise transparent.
#[derive(Debug)]
pub(crate) struct MeteredBackend {
    inner: Arc<dyn Backend>,
    get: OperationMetrics,
    put: OperationMetrics,
    delete: OperationMetrics,
    list: OperationMetrics,
    transaction: OperationMetrics,
}

impl MeteredBackend {
    /// Wraps `inner`; the recorder is installed first so the handles are live.
    pub(crate) fn wrap(inner: Arc<dyn Backend>) -> Arc<dyn Backend> {
        super::handle();
        Arc::new(Self {
            inner,
            get: OperationMetrics::new("get"),
            put: OperationMetrics::new("put"),
            delete: OperationMetrics::new("delete"),
            list: OperationMetrics::new("list"),
            transaction: OperationMetrics::new("transaction"),
        })
    }
}

#[async_trait]
impl Backend for MeteredBackend {
    async fn get(&self, key: &str) -> Result<Option<Entry>> {
        let started = Instant::now();
        let result = self.inner.get(key).await;
        self.get.observe(started, &result);
        result
    }

    async fn put(&self, entry: Entry) -> Result<()> {
        let started = Instant::now();
        let result = self.inner.put(entry).await;
        self.put.observe(started, &result);
        result
    }

    async fn delete(&self, key: &str) -> Result<()> {
        let started = Instant::now();
        let result = self.inner.delete(key).await;
        self.delete.observe(started, &result);
        result
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>> {
        let started = Instant::now();
        let result = self.inner.list(prefix).await;
        self.list.observe(started, &result);
        result
    }

    async fn transaction(&self, ops: Vec<TxnOp>) -> Result<()> {
        let started = Instant::now();
        let result = self.inner.transaction(ops).await;
        self.transaction.observe(started, &result);
        result
    }

    fn kind(&self) -> &'static str {
        self.inner.kind()
    }
}
