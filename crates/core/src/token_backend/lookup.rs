//! `lookup`, `lookup-self`, `lookup-accessor` and `accessors/`.

use std::sync::Arc;

use serde::Deserialize;
use serde_json::{Value, json};
use warden_logical::framework::NoInput;
use warden_logical::{LogicalError, Map, Request, Response};

use super::{TokenBackend, find, to_logical};
use crate::token_store::{TokenRecord, now_nanos, rfc3339};

#[derive(Debug, Deserialize)]
pub(super) struct TokenInput {
    #[serde(default)]
    token: String,
}

#[derive(Debug, Deserialize)]
pub(super) struct AccessorInput {
    #[serde(default)]
    accessor: String,
}

/// The `data` of a token lookup, with Vault's keys.
pub(crate) fn lookup_data(record: &TokenRecord, identity_policies: &[String]) -> Map {
    let entry = &record.entry;
    let meta = if entry.meta.is_empty() {
        Value::Null
    } else {
        json!(entry.meta)
    };
    let now = now_nanos();
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
    if !entry.role.is_empty() {
        data.insert("role".into(), json!(entry.role));
    }
    if entry.period != 0 {
        data.insert("period".into(), json!(entry.period));
    }
    if !entry.bound_cidrs.is_empty() {
        data.insert("bound_cidrs".into(), json!(entry.bound_cidrs));
    }
    if let Some(lease) = &record.lease {
        data.insert("expire_time".into(), json!(rfc3339(lease.expire_time)));
        data.insert("ttl".into(), json!(record.remaining_secs(now)));
        data.insert("issue_time".into(), json!(rfc3339(lease.issue_time)));
        data.insert("renewable".into(), json!(lease.renewable));
        if let Some(renewed) = lease.last_renewal {
            data.insert("last_renewal_time".into(), json!(renewed / 1_000_000_000));
            data.insert("last_renewal".into(), json!(rfc3339(renewed)));
        }
    }
    if !identity_policies.is_empty() {
        data.insert("identity_policies".into(), json!(identity_policies));
    }
    data
}

async fn respond(
    state: &TokenBackend,
    record: Option<TokenRecord>,
    hide_id: bool,
) -> Result<Option<Response>, LogicalError> {
    let Some(record) = record else {
        return Err(LogicalError::coded(403, "bad token"));
    };
    let (_, active) = state.active()?;
    let identity_policies = if record.entry.entity_id.is_empty() {
        Vec::new()
    } else {
        active
            .identity
            .entity_policies(&record.entry.entity_id)
            .await
    };
    let mut data = lookup_data(&record, &identity_policies);
    if hide_id {
        data.insert("id".into(), json!(""));
    }
    Ok(Some(Response::with_data(data)))
}

pub(super) async fn lookup(
    state: Arc<TokenBackend>,
    req: Request,
    input: TokenInput,
) -> Result<Option<Response>, LogicalError> {
    let (_, active) = state.active()?;
    let id = if input.token.is_empty() {
        req.client_token
            .as_ref()
            .map(|t| t.expose().to_owned())
            .unwrap_or_default()
    } else {
        input.token
    };
    if id.is_empty() {
        return Err(LogicalError::user("missing token ID"));
    }
    let record = find(&active, &id).await?;
    respond(&state, record, false).await
}

pub(super) async fn lookup_self(
    state: Arc<TokenBackend>,
    req: Request,
    _input: TokenInput,
) -> Result<Option<Response>, LogicalError> {
    let (_, active) = state.active()?;
    let id = req
        .client_token
        .as_ref()
        .map(|t| t.expose().to_owned())
        .unwrap_or_default();
    if id.is_empty() {
        return Err(LogicalError::user("missing token ID"));
    }
    let record = find(&active, &id).await?;
    respond(&state, record, false).await
}

pub(super) async fn lookup_accessor(
    state: Arc<TokenBackend>,
    _req: Request,
    input: AccessorInput,
) -> Result<Option<Response>, LogicalError> {
    let (_, active) = state.active()?;
    if input.accessor.is_empty() {
        return Err(LogicalError::user("missing accessor"));
    }
    let record = active
        .token_store
        .lookup_accessor(&input.accessor)
        .await
        .map_err(to_logical)?;
    if record.is_none() {
        return Err(LogicalError::user("invalid accessor"));
    }
    respond(&state, record, true).await
}

pub(super) async fn list_accessors(
    state: Arc<TokenBackend>,
    _req: Request,
    _input: NoInput,
) -> Result<Option<Response>, LogicalError> {
    let (_, active) = state.active()?;
    let keys = active.token_store.accessors().await.map_err(to_logical)?;
    let mut data = Map::new();
    data.insert("keys".into(), json!(keys));
    Ok(Some(Response::with_data(data)))
}
