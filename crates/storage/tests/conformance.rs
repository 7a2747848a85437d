//! Every backend of this crate runs the shared conformance suite.

use std::sync::Arc;

use warden_storage::conformance;
use warden_storage::embedded::EmbeddedBackend;
use warden_storage::memory::MemoryBackend;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn memory_backend_passes_the_suite() {
    conformance::exercise_all(Arc::new(MemoryBackend::new())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn embedded_backend_passes_the_suite() {
    let dir = tempfile::tempdir().unwrap();
    let backend = Arc::new(EmbeddedBackend::open(dir.path()).unwrap());
    conformance::exercise_all(backend.clone()).await;
    let stats = backend.stats();
    assert!(
        stats.commits < stats.writes,
        "concurrent writes should share commits: {stats:?}"
    );
}

#[tokio::test]
async fn suite_passes_on_a_current_thread_runtime() {
    conformance::exercise_all(Arc::new(MemoryBackend::new())).await;
    let dir = tempfile::tempdir().unwrap();
    conformance::exercise_all(Arc::new(EmbeddedBackend::open(dir.path()).unwrap())).await;
}

#[tokio::test]
async fn suite_passes_twice_on_one_backend() {
    let dir = tempfile::tempdir().unwrap();
    let backend: Arc<dyn warden_storage::Backend> =
        Arc::new(EmbeddedBackend::open(dir.path()).unwrap());
    conformance::exercise_all(backend.clone()).await;
    conformance::exercise_all(backend.clone()).await;
    assert!(
        backend.list("").await.unwrap().is_empty(),
        "the suite cleans up after itself"
    );
}
