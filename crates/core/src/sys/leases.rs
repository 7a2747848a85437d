//! `sys/leases/lookup|renew|revoke|revoke-prefix`. The only leases warden issues are the
//! ones of tokens (`<creation path>/<salted token id>`).

use std::sync::Arc;

use serde::Deserialize;
use serde_json::json;
use warden_logical::framework::{Field, FieldType, NoInput, Path, handler};
use warden_logical::{LogicalError, Map, Operation, Request, Response};

use super::{SysBackend, to_logical};
use crate::lifecycle::Active;
use crate::token_store::{TokenRecord, rfc3339};

pub(super) fn paths(state: &Arc<SysBackend>) -> Vec<Path> {
    let lease_id = || Field::new("lease_id", FieldType::String).description("The lease ID.");
    let url_lease_id = || Field::new("url_lease_id", FieldType::String);
    vec![
        Path::new("leases/lookup")
            .field(lease_id())
            .operation(Operation::Update, handler(state, lookup))
            .help("Look up a lease.", ""),
        Path::new("leases/lookup/")
            .operation(Operation::List, handler(state, list_prefix))
            .field(Field::new("prefix", FieldType::String))
            .help("List leases with a prefix.", ""),
        Path::new("leases/lookup/(?P<prefix>.+?)/?")
            .field(Field::new("prefix", FieldType::String))
            .operation(Operation::List, handler(state, list_prefix))
            .help("List leases with a prefix.", ""),
        Path::new("(leases/)?renew(/(?P<url_lease_id>.+))?")
            .fields([
                lease_id(),
                url_lease_id(),
                Field::new("increment", FieldType::DurationSecond),
            ])
            .operation(Operation::Update, handler(state, renew))
            .help("Renew a lease.", ""),
        Path::new("(leases/)?revoke(/(?P<url_lease_id>.+))?")
            .fields([
                lease_id(),
                url_lease_id(),
                Field::new("sync", FieldType::Bool),
            ])
            .operation(Operation::Update, handler(state, revoke))
            .help("Revoke a lease.", ""),
        Path::new("(leases/)?revoke-prefix/(?P<prefix>.+)")
            .fields([
                Field::new("prefix", FieldType::String),
                Field::new("sync", FieldType::Bool),
            ])
            .operation(Operation::Update, handler(state, revoke_prefix))
            .help("Revoke every lease with a prefix.", ""),
    ]
}

#[derive(Debug, Deserialize)]
struct LeaseInput {
    #[serde(default)]
    lease_id: String,
    #[serde(default)]
    url_lease_id: String,
}

impl LeaseInput {
    fn id(&self) -> &str {
        if self.lease_id.is_empty() {
            &self.url_lease_id
        } else {
            &self.lease_id
        }
    }
}

#[derive(Debug, Deserialize)]
struct PrefixInput {
    #[serde(default)]
    prefix: String,
}

/// The token behind a lease id, if the id names one.
async fn token_of_lease(
    active: &Active,
    lease_id: &str,
) -> Result<Option<TokenRecord>, LogicalError> {
    let Some((path, salted)) = lease_id.rsplit_once('/') else {
        return Ok(None);
    };
    let record = active
        .token_store
        .load_salted(salted)
        .await
        .map_err(to_logical)?;
    Ok(record.filter(|r| r.entry.path == path && !r.revoking))
}

async fn lookup(
    sys: Arc<SysBackend>,
    _req: Request,
    input: LeaseInput,
) -> Result<Option<Response>, LogicalError> {
    if input.id().is_empty() {
        return Err(LogicalError::user("lease_id must be specified"));
    }
    let core = sys.core()?;
    let active = core.require_active().map_err(to_logical)?;
    let Some(record) = token_of_lease(&active, input.id()).await? else {
        return Err(LogicalError::user("invalid lease"));
    };
    let lease = record
        .lease
        .clone()
        .ok_or_else(|| LogicalError::user("invalid lease"))?;
    let now = crate::token_store::now_nanos();
    let mut data = Map::new();
    data.insert("id".into(), json!(input.id()));
    data.insert("issue_time".into(), json!(rfc3339(lease.issue_time)));
    data.insert("expire_time".into(), json!(rfc3339(lease.expire_time)));
    data.insert(
        "last_renewal".into(),
        lease
            .last_renewal
            .map_or(json!(null), |t| json!(rfc3339(t))),
    );
    data.insert("renewable".into(), json!(lease.renewable));
    data.insert("ttl".into(), json!(record.remaining_secs(now)));
    data.insert("path".into(), json!(record.entry.path));
    Ok(Some(Response::with_data(data)))
}

async fn renew(
    sys: Arc<SysBackend>,
    _req: Request,
    input: LeaseInput,
) -> Result<Option<Response>, LogicalError> {
    if input.id().is_empty() {
        return Err(LogicalError::user("lease_id must be specified"));
    }
    let core = sys.core()?;
    let active = core.require_active().map_err(to_logical)?;
    if token_of_lease(&active, input.id()).await?.is_some() {
        return Err(LogicalError::user(
            "tokens cannot be renewed through this endpoint",
        ));
    }
    Err(LogicalError::user("lease not found"))
}

async fn revoke(
    sys: Arc<SysBackend>,
    _req: Request,
    input: LeaseInput,
) -> Result<Option<Response>, LogicalError> {
    if input.id().is_empty() {
        return Err(LogicalError::user("lease_id must be specified"));
    }
    let core = sys.core()?;
    let active = core.require_active().map_err(to_logical)?;
    if let Some(record) = token_of_lease(&active, input.id()).await? {
        let salted = active.token_store.salt_id(record.entry.id.expose());
        active
            .token_store
            .revoke_salted_tree(&salted)
            .await
            .map_err(to_logical)?;
    }
    Ok(None)
}

async fn revoke_prefix(
    sys: Arc<SysBackend>,
    _req: Request,
    input: PrefixInput,
) -> Result<Option<Response>, LogicalError> {
    let core = sys.core()?;
    let active = core.require_active().map_err(to_logical)?;
    for (salted, _) in active
        .token_store
        .leases_with_prefix(&input.prefix)
        .await
        .map_err(to_logical)?
    {
        active
            .token_store
            .revoke_salted_tree(&salted)
            .await
            .map_err(to_logical)?;
    }
    Ok(None)
}

async fn list_prefix(
    sys: Arc<SysBackend>,
    req: Request,
    _input: NoInput,
) -> Result<Option<Response>, LogicalError> {
    let core = sys.core()?;
    let active = core.require_active().map_err(to_logical)?;
    let prefix = req
        .path
        .trim_start_matches("leases/lookup")
        .trim_start_matches('/');
    let prefix = if prefix.is_empty() || prefix.ends_with('/') {
        prefix.to_owned()
    } else {
        format!("{prefix}/")
    };
    let mut keys: Vec<String> = Vec::new();
    for (salted, path) in active
        .token_store
        .leases_with_prefix(&prefix)
        .await
        .map_err(to_logical)?
    {
        let rest = format!("{path}/{salted}");
        let rest = rest.strip_prefix(&prefix).unwrap_or(&rest).to_owned();
        let key = match rest.split_once('/') {
            Some((folder, _)) => format!("{folder}/"),
            None => rest,
        };
        if !keys.contains(&key) {
            keys.push(key);
        }
    }
    keys.sort();
    let mut data = Map::new();
    data.insert("keys".into(), json!(keys));
    Ok(Some(Response::with_data(data)))
}
