//! `cubbyhole/`: per-token private storage. Each token sees only its own folder (named by
//! its cubbyhole id, not its id), and the folder is deleted with the token.

use std::sync::Arc;

use serde::Deserialize;
use serde_json::{Value, json};
use warden_logical::framework::{
    Field, FieldType, FrameworkBackend, Path, existence, handler, match_all_regex,
};
use warden_logical::{
    BackendKind, LogicalBackend, LogicalError, Map, Operation, Request, Response, StorageEntry,
    StorageView,
};

use crate::view::BarrierView;

/// The barrier prefix under which cubbyholes live; the token store clears
/// `<prefix><cubbyhole id>/` when it revokes a token.
pub(crate) const CUBBYHOLE_PREFIX: &str = "sys/cubbyhole/";

const HELP: &str = "The cubbyhole backend reads and writes arbitrary secrets to the backend. \
The secrets are encrypted/decrypted by Vault: they are never stored unencrypted in the backend \
and the backend never has an opportunity to see the unencrypted value.\n\nThis backend differs \
from the 'kv' backend in that it is namespaced per-token. Tokens can only read and write their \
own values, with no sharing possible (per-token cubbyholes). When the token is revoked, the \
entire set of stored values for that token is also removed.";

#[derive(Debug)]
struct Cubbyhole {
    view: BarrierView,
}

#[derive(Debug, Deserialize)]
struct KeyPath {
    #[serde(default)]
    path: String,
}

impl Cubbyhole {
    /// The caller's folder; requests without a token (or with a batch token, which has no
    /// cubbyhole) fail like Vault's `client token empty`.
    fn folder(req: &Request) -> Result<String, LogicalError> {
        let id = req
            .token_entry
            .as_deref()
            .map(|entry| entry.cubbyhole_id.clone())
            .filter(|id| !id.is_empty())
            .ok_or_else(|| LogicalError::internal("client token empty"))?;
        Ok(format!("{id}/"))
    }

    async fn exists(self: Arc<Self>, req: Request, input: KeyPath) -> Result<bool, LogicalError> {
        let key = format!("{}{}", Self::folder(&req)?, input.path);
        Ok(self.view.get(&key).await?.is_some())
    }

    async fn read(
        self: Arc<Self>,
        req: Request,
        input: KeyPath,
    ) -> Result<Option<Response>, LogicalError> {
        let folder = Self::folder(&req)?;
        if input.path.is_empty() {
            return Err(LogicalError::internal("missing path"));
        }
        let Some(entry) = self.view.get(&format!("{folder}{}", input.path)).await? else {
            return Ok(None);
        };
        Ok(Some(Response::with_data(entry.decode()?)))
    }

    async fn write(
        self: Arc<Self>,
        req: Request,
        input: KeyPath,
    ) -> Result<Option<Response>, LogicalError> {
        let folder = Self::folder(&req)?;
        if req.data.is_empty() {
            return Err(LogicalError::internal("missing data fields"));
        }
        if input.path.is_empty() {
            return Err(LogicalError::internal("missing path"));
        }
        let key = format!("{folder}{}", input.path);
        self.view
            .put(StorageEntry::json(key, &Value::Object(req.data))?)
            .await?;
        Ok(None)
    }

    async fn delete(
        self: Arc<Self>,
        req: Request,
        input: KeyPath,
    ) -> Result<Option<Response>, LogicalError> {
        let folder = Self::folder(&req)?;
        self.view.delete(&format!("{folder}{}", input.path)).await?;
        Ok(None)
    }

    async fn list(
        self: Arc<Self>,
        req: Request,
        input: KeyPath,
    ) -> Result<Option<Response>, LogicalError> {
        let folder = Self::folder(&req)?;
        let mut path = input.path;
        if !path.is_empty() && !path.ends_with('/') {
            path.push('/');
        }
        let keys = self.view.list(&format!("{folder}{path}")).await?;
        let mut data = Map::new();
        data.insert("keys".into(), json!(keys));
        Ok(Some(Response::with_data(data)))
    }
}

/// Builds the cubbyhole backend over the barrier's cubbyhole prefix.
pub(crate) fn backend(view: BarrierView) -> Result<Arc<dyn LogicalBackend>, LogicalError> {
    let state = Arc::new(Cubbyhole { view });
    let path = Path::new(match_all_regex("path"))
        .field(
            Field::new("path", FieldType::String).description("Specifies the path of the secret."),
        )
        .takes_arbitrary_data()
        .existence_check(existence(&state, Cubbyhole::exists))
        .operation(Operation::Read, handler(&state, Cubbyhole::read))
        .operation(Operation::Create, handler(&state, Cubbyhole::write))
        .operation(Operation::Update, handler(&state, Cubbyhole::write))
        .operation(Operation::Delete, handler(&state, Cubbyhole::delete))
        .operation(Operation::List, handler(&state, Cubbyhole::list))
        .help(
            "Pass-through secret storage to a token-specific cubbyhole in the storage backend.",
            HELP,
        );
    let backend = FrameworkBackend::builder(BackendKind::Secret)
        .help(HELP)
        .path(path)
        .build()
        .map_err(LogicalError::internal)?;
    Ok(Arc::new(backend))
}
