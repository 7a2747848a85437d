//! The `auth/token/` mount: creating, looking up, renewing and revoking tokens.

mod create;
mod lookup;
mod renew_revoke;
mod roles;

use std::sync::{Arc, Weak};

use serde_json::Value;
use warden_logical::framework::{Field, FieldType, FrameworkBackend, Path, handler};
use warden_logical::{BackendKind, LogicalBackend, LogicalError, Operation, Request};

use crate::CoreError;
use crate::lifecycle::{Active, Core};
use crate::token_store::TokenRecord;

/// The state of the token backend's handlers.
#[derive(Debug)]
pub(crate) struct TokenBackend {
    core: Weak<Core>,
}

impl TokenBackend {
    fn core(&self) -> Result<Arc<Core>, LogicalError> {
        self.core.upgrade().ok_or(LogicalError::Sealed)
    }

    fn active(&self) -> Result<(Arc<Core>, Arc<Active>), LogicalError> {
        let core = self.core()?;
        let active = core.require_active().map_err(to_logical)?;
        Ok((core, active))
    }
}

/// The caller's token, which every authenticated request carries.
fn caller(req: &Request) -> Result<&warden_logical::TokenEntry, LogicalError> {
    req.token_entry
        .as_deref()
        .ok_or(LogicalError::PermissionDenied)
}

/// Whether the caller holds `sudo` on the path it called (Vault's `SudoPrivilege`).
async fn is_sudo(state: &TokenBackend, req: &Request) -> Result<bool, LogicalError> {
    let Some(token) = req.token_entry.as_deref() else {
        return Ok(false);
    };
    let path = format!("{}{}", req.mount_point, req.path);
    state
        .core()?
        .has_sudo(token, &path)
        .await
        .map_err(to_logical)
}

pub(crate) fn to_logical(error: CoreError) -> LogicalError {
    crate::sys::to_logical(error)
}

/// Parses a duration field that Vault types as a string (`"1h"`, `"90"`, `90`).
fn duration_field(value: Option<&Value>) -> Result<Option<i64>, LogicalError> {
    match value {
        None => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(value) => {
            warden_logical::framework::parse_duration_second(value).map_err(LogicalError::User)
        }
    }
}

/// A usable token given by id.
async fn find(active: &Active, id: &str) -> Result<Option<TokenRecord>, LogicalError> {
    active.token_store.lookup(id).await.map_err(to_logical)
}

const HELP: &str = "The token credential backend is always enabled and builtin to Vault. \
Client tokens are used to identify a client and to allow Vault to associate policies and ACLs \
which are enforced on every request.";

/// Builds the token mount's backend.
pub(crate) fn backend(core: Weak<Core>) -> Result<Arc<dyn LogicalBackend>, LogicalError> {
    let state = Arc::new(TokenBackend { core });
    let token = || Field::new("token", FieldType::String).description("Token to act on.");
    let accessor =
        || Field::new("accessor", FieldType::String).description("Accessor of the token.");
    let increment = || {
        Field::new("increment", FieldType::DurationSecond)
            .default(serde_json::json!(0))
            .description("The desired increment in seconds to the token expiration.")
    };
    let paths = vec![
        create::path("create", &state, create::Kind::Normal),
        create::path("create-orphan", &state, create::Kind::Orphan),
        create::path("create/(?P<role_name>[^/]+)", &state, create::Kind::Role),
        Path::new("lookup")
            .field(token())
            .operation(Operation::Read, handler(&state, lookup::lookup))
            .operation(Operation::Update, handler(&state, lookup::lookup))
            .help("Look up a token's properties.", ""),
        Path::new("lookup-self")
            .field(token())
            .operation(Operation::Read, handler(&state, lookup::lookup_self))
            .operation(Operation::Update, handler(&state, lookup::lookup_self))
            .help("Look up the caller's token.", ""),
        Path::new("lookup-accessor")
            .field(accessor())
            .operation(Operation::Update, handler(&state, lookup::lookup_accessor))
            .help("Look up a token by its accessor.", ""),
        Path::new("accessors/?")
            .operation(Operation::List, handler(&state, lookup::list_accessors))
            .help("List token accessors.", ""),
        Path::new("renew")
            .fields([token(), increment()])
            .operation(Operation::Update, handler(&state, renew_revoke::renew))
            .help("Renew a token.", ""),
        Path::new("renew-self")
            .fields([token(), increment()])
            .operation(Operation::Update, handler(&state, renew_revoke::renew_self))
            .help("Renew the caller's token.", ""),
        Path::new("renew-accessor")
            .fields([accessor(), increment()])
            .operation(
                Operation::Update,
                handler(&state, renew_revoke::renew_accessor),
            )
            .help("Renew a token by its accessor.", ""),
        Path::new("revoke")
            .field(token())
            .operation(Operation::Update, handler(&state, renew_revoke::revoke))
            .help("Revoke a token and its children.", ""),
        Path::new("revoke-self")
            .operation(
                Operation::Update,
                handler(&state, renew_revoke::revoke_self),
            )
            .help("Revoke the caller's token and its children.", ""),
        Path::new("revoke-accessor")
            .field(accessor())
            .operation(
                Operation::Update,
                handler(&state, renew_revoke::revoke_accessor),
            )
            .help("Revoke a token by its accessor.", ""),
        Path::new("revoke-orphan")
            .field(token())
            .operation(
                Operation::Update,
                handler(&state, renew_revoke::revoke_orphan),
            )
            .help("Revoke a token, leaving its children as orphans.", ""),
        Path::new("tidy")
            .operation(Operation::Update, handler(&state, renew_revoke::tidy))
            .help("Clean up dangling token entries.", ""),
    ];
    let mut paths = paths;
    paths.extend(roles::paths(&state));
    let backend = FrameworkBackend::builder(BackendKind::Credential)
        .help(HELP)
        .root_paths(["revoke-orphan/*", "revoke-orphan", "accessors*"])
        .paths(paths)
        .build()
        .map_err(LogicalError::internal)?;
    Ok(Arc::new(backend))
}
