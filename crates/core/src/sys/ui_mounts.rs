//! `sys/internal/ui/mounts` and `sys/internal/ui/mounts/<path>`: the preflight every
//! `vault kv …` command makes to learn a mount's KV version.

use std::sync::Arc;

use serde::Deserialize;
use serde_json::{Value, json};
use warden_logical::framework::{Field, FieldType, NoInput, Path, handler};
use warden_logical::{LogicalError, Map, Operation, Request, Response, TokenEntry};

use super::{SysBackend, to_logical};
use crate::mount::{MountEntry, MountTable};

pub(super) fn paths(state: &Arc<SysBackend>) -> Vec<Path> {
    vec![
        Path::new("internal/ui/mounts")
            .operation(Operation::Read, handler(state, list_mounts))
            .help("Lists the mounts the caller may see.", ""),
        Path::new("internal/ui/mounts/(?P<path>.+)")
            .field(Field::new("path", FieldType::String).description("A path inside a mount."))
            .operation(Operation::Read, handler(state, read_mount))
            .help("Describes the mount that serves a path.", ""),
    ]
}

/// Whether the caller may see a mount: any non-deny capability on any path under it.
async fn has_mount_access(
    sys: &SysBackend,
    token: Option<&TokenEntry>,
    route_path: &str,
) -> Result<bool, LogicalError> {
    let Some(token) = token else {
        return Ok(false);
    };
    let acl = sys.core()?.acl_for_token(token).await.map_err(to_logical)?;
    Ok(acl.has_mount_access(route_path))
}

async fn list_mounts(
    sys: Arc<SysBackend>,
    req: Request,
    _input: NoInput,
) -> Result<Option<Response>, LogicalError> {
    let core = sys.core()?;
    let token = req.token_entry.as_deref();
    let authed = token.is_some();
    let acl = match token {
        Some(token) => Some(core.acl_for_token(token).await.map_err(to_logical)?),
        None => None,
    };
    let visible = |entry: &MountEntry| {
        entry.config.listing_visibility == "unauth"
            || acl
                .as_ref()
                .is_some_and(|acl| acl.has_mount_access(&entry.route_path()))
    };
    let describe = |entry: &MountEntry| {
        if authed {
            entry.info()
        } else {
            let options = if entry.options.is_empty() {
                Value::Null
            } else {
                json!(entry.options)
            };
            json!({ "type": entry.mount_type, "description": entry.description, "options": options })
        }
    };
    let mut data = Map::new();
    for (name, table) in [("secret", MountTable::Secrets), ("auth", MountTable::Auth)] {
        let entries: Map = core
            .mount_entries(table)
            .map_err(to_logical)?
            .iter()
            .filter(|entry| visible(entry))
            .map(|entry| (entry.path.clone(), describe(entry)))
            .collect();
        data.insert(name.into(), Value::Object(entries));
    }
    Ok(Some(Response::with_data(data)))
}

#[derive(Debug, Deserialize)]
struct MountPath {
    path: String,
}

async fn read_mount(
    sys: Arc<SysBackend>,
    req: Request,
    input: MountPath,
) -> Result<Option<Response>, LogicalError> {
    let core = sys.core()?;
    let path = crate::mount::sanitize_path(&input.path);
    let denied = || {
        LogicalError::coded(
            403,
            format!(
                "preflight capability check returned 403, please ensure client's policies grant access to path {path:?}"
            ),
        )
    };
    let token = req.token_entry.as_deref();
    if token.is_none() {
        return Err(LogicalError::PermissionDenied);
    }
    let Some(entry) = core.mount_for_path(&path).map_err(to_logical)? else {
        return Err(denied());
    };
    if !has_mount_access(&sys, token, &entry.route_path()).await?
        && entry.config.listing_visibility != "unauth"
    {
        return Err(denied());
    }
    let mut data = match entry.info() {
        Value::Object(map) => map,
        _ => Map::new(),
    };
    data.insert("path".into(), json!(entry.path));
    Ok(Some(Response::with_data(data)))
}
