//! The `auth/token/` mount. So far it answers `lookup-self`, which clients call to check
//! that their token works (`vault login`, hvac's `is_authenticated`).

use std::sync::{Arc, Weak};

use serde_json::{Value, json};
use warden_logical::framework::{FrameworkBackend, NoInput, Path, handler};
use warden_logical::{
    BackendKind, LogicalBackend, LogicalError, Map, Operation, Request, Response, TokenEntry,
};

use crate::lifecycle::Core;

#[derive(Debug)]
struct TokenBackend {
    _core: Weak<Core>,
}

/// Builds the token mount's backend.
pub(crate) fn backend(core: Weak<Core>) -> Result<Arc<dyn LogicalBackend>, LogicalError> {
    let state = Arc::new(TokenBackend { _core: core });
    let builder = FrameworkBackend::builder(BackendKind::Credential)
        .help("The token credential backend is always enabled and builtin to Vault.")
        .root_paths(["revoke-orphan/*", "accessors*"])
        .path(
            Path::new("lookup-self")
                .operation(Operation::Read, handler(&state, lookup_self))
                .help("Look up the caller's token.", ""),
        );
    let backend = builder.build().map_err(LogicalError::internal)?;
    Ok(Arc::new(backend))
}

async fn lookup_self(
    _state: Arc<TokenBackend>,
    req: Request,
    _input: NoInput,
) -> Result<Option<Response>, LogicalError> {
    let Some(entry) = req.token_entry.as_deref() else {
        return Err(LogicalError::PermissionDenied);
    };
    Ok(Some(Response::with_data(lookup_data(entry))))
}

/// The `data` of a token lookup, with Vault's keys (§1.6 of the core reference).
pub(crate) fn lookup_data(entry: &TokenEntry) -> Map {
    let meta = if entry.meta.is_empty() {
        Value::Null
    } else {
        json!(entry.meta)
    };
    let mut data = Map::new();
    data.insert("accessor".into(), json!(entry.accessor));
    data.insert("creation_time".into(), json!(entry.creation_time));
    data.insert("creation_ttl".into(), json!(entry.ttl));
    data.insert("display_name".into(), json!(entry.display_name));
    data.insert("entity_id".into(), json!(entry.entity_id));
    data.insert("expire_time".into(), Value::Null);
    data.insert("explicit_max_ttl".into(), json!(entry.explicit_max_ttl));
    data.insert("id".into(), json!(entry.id.expose()));
    data.insert("meta".into(), meta);
    data.insert("num_uses".into(), json!(entry.num_uses.max(0)));
    data.insert("orphan".into(), json!(entry.parent.is_empty()));
    data.insert("path".into(), json!(entry.path));
    data.insert("policies".into(), json!(entry.policies));
    data.insert("ttl".into(), json!(0));
    data.insert("type".into(), json!(entry.token_type.as_str()));
    data
}
