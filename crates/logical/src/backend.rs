use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use crate::{LogicalError, Request, Response, StorageView};

/// A boxed, sendable future, the return type of factories and type-erased handlers.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Whether a backend is an auth method or a secrets engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BackendKind {
    /// Mounted under `auth/`; may answer logins with an [`crate::Auth`].
    Credential,
    /// Mounted at the top level; serves secrets.
    Secret,
}

/// Paths of a backend that get special treatment from the core. A pattern is an exact path,
/// or ends in `*` to match every path with that prefix; a `+` segment matches any one segment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SpecialPaths {
    /// Paths that need `sudo` on top of the operation's capability.
    pub root: Vec<String>,
    /// Paths that need no token at all (logins).
    pub unauthenticated: Vec<String>,
}

/// What a backend may ask the core about its mount and the system.
pub trait SystemView: Send + Sync + fmt::Debug {
    /// The mount's default lease TTL (tuned value, else the system value).
    fn default_lease_ttl(&self) -> Duration;

    /// The mount's maximum lease TTL (tuned value, else the system value).
    fn max_lease_ttl(&self) -> Duration;
}

/// Identifies the mount a backend serves.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MountInfo {
    /// The mount path with its trailing slash (`secret/`, `auth/kubernetes/`).
    pub path: String,
    /// The backend type (`kv`, `kubernetes`).
    pub mount_type: String,
    /// The accessor (`kv_1a2b3c4d`).
    pub accessor: String,
    /// The mount's UUID.
    pub uuid: String,
}

/// Everything a factory gets to build a backend for one mount.
#[derive(Debug, Clone)]
pub struct BackendConfig {
    /// The mount's private storage.
    pub storage: Arc<dyn StorageView>,
    /// The core's view of the mount's settings.
    pub system: Arc<dyn SystemView>,
    /// The mount's `options` (e.g. `version = "2"` for KV).
    pub options: BTreeMap<String, String>,
    /// Which mount this is.
    pub mount: MountInfo,
}

/// Builds a backend for a mount; registered with the core by type name.
pub type Factory = Arc<
    dyn Fn(BackendConfig) -> BoxFuture<'static, Result<Arc<dyn LogicalBackend>, LogicalError>>
        + Send
        + Sync,
>;

/// A mounted secrets engine or auth method.
#[async_trait]
pub trait LogicalBackend: Send + Sync + fmt::Debug {
    /// Serves one request. `Ok(None)` means "nothing to return".
    async fn handle_request(&self, req: Request) -> Result<Option<Response>, LogicalError>;

    /// Decides whether a write creates or updates: `Some(exists)` when the matched path has an
    /// existence check, `None` when it has none (every write is then an update).
    async fn existence_check(&self, req: &Request) -> Result<Option<bool>, LogicalError>;

    /// Paths that need sudo or no token.
    fn special_paths(&self) -> SpecialPaths;

    /// Auth method or secrets engine.
    fn kind(&self) -> BackendKind;

    /// Runs once after the mount is set up (at enable and at every unseal).
    async fn initialize(&self) -> Result<(), LogicalError> {
        Ok(())
    }

    /// Runs when the mount is disabled or the server seals.
    async fn cleanup(&self) {}

    /// Tells the backend that a storage key changed underneath it (for caches).
    fn invalidate(&self, _key: &str) {}
}
