//! `sys/wrapping/wrap|unwrap|lookup|rewrap`.

use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use serde_json::json;
use warden_logical::framework::{Field, FieldType, Path, handler};
use warden_logical::{LogicalError, Map, Operation, RawBody, Request, Response};

use super::{SysBackend, to_logical};
use crate::token_store::TokenRecord;
use crate::wrapping::INVALID_WRAPPING_TOKEN;

pub(super) fn paths(state: &Arc<SysBackend>) -> Vec<Path> {
    let token = || Field::new("token", FieldType::String).description("The wrapping token.");
    vec![
        Path::new("wrapping/lookup")
            .field(token())
            .operation(Operation::Update, handler(state, lookup))
            .operation(Operation::Read, handler(state, lookup))
            .help("Look up properties of a wrapping token.", ""),
        Path::new("wrapping/unwrap")
            .field(token())
            .operation(Operation::Update, handler(state, unwrap))
            .help("Unwrap a wrapped response.", ""),
        Path::new("wrapping/wrap")
            .takes_arbitrary_data()
            .operation(Operation::Update, handler(state, wrap))
            .help("Response-wraps an arbitrary JSON object.", ""),
        Path::new("wrapping/rewrap")
            .field(token())
            .operation(Operation::Update, handler(state, rewrap))
            .help("Rotates a response-wrapped token.", ""),
    ]
}

#[derive(Debug, Deserialize)]
struct TokenInput {
    #[serde(default)]
    token: String,
}

fn invalid() -> LogicalError {
    LogicalError::user(INVALID_WRAPPING_TOKEN)
}

/// The wrapping token named in the body, or else the caller's own token.
async fn wrapping_token(
    sys: &SysBackend,
    req: &Request,
    body_token: &str,
) -> Result<(TokenRecord, bool), LogicalError> {
    let core = sys.core()?;
    let active = core.require_active().map_err(to_logical)?;
    if !body_token.is_empty() {
        let record = active
            .token_store
            .lookup(body_token)
            .await
            .map_err(to_logical)?;
        return record.map(|r| (r, true)).ok_or_else(invalid);
    }
    let entry = req.token_entry.as_deref().ok_or_else(invalid)?;
    let record = TokenRecord {
        entry: entry.clone(),
        lease: None,
        revoking: false,
    };
    Ok((record, false))
}

async fn lookup(
    sys: Arc<SysBackend>,
    req: Request,
    input: TokenInput,
) -> Result<Option<Response>, LogicalError> {
    if input.token.is_empty() && req.token_entry.is_none() {
        return Err(LogicalError::user("missing \"token\" value in input"));
    }
    let (record, _) = wrapping_token(&sys, &req, &input.token).await?;
    let core = sys.core()?;
    let wrap = core
        .wrap_record(&record)
        .await
        .map_err(to_logical)?
        .ok_or_else(invalid)?;
    let mut data = Map::new();
    data.insert("creation_path".into(), json!(wrap.creation_path));
    data.insert("creation_time".into(), json!(wrap.creation_time));
    data.insert("creation_ttl".into(), json!(wrap.creation_ttl));
    Ok(Some(Response::with_data(data)))
}

async fn unwrap(
    sys: Arc<SysBackend>,
    req: Request,
    input: TokenInput,
) -> Result<Option<Response>, LogicalError> {
    let (record, from_body) = wrapping_token(&sys, &req, &input.token).await?;
    let core = sys.core()?;
    let wrap = core
        .wrap_record(&record)
        .await
        .map_err(to_logical)?
        .ok_or_else(invalid)?;
    if from_body {
        // A token used through the header is revoked by the core after this request.
        let active = core.require_active().map_err(to_logical)?;
        active
            .token_store
            .revoke_tree(record.entry.id.expose())
            .await
            .map_err(to_logical)?;
    }
    let raw = RawBody {
        content_type: "application/json".into(),
        body: wrap.response.into_bytes(),
    };
    Ok(Some(Response {
        raw: Some(raw),
        ..Response::default()
    }))
}

async fn wrap(
    _sys: Arc<SysBackend>,
    req: Request,
    _input: warden_logical::framework::NoInput,
) -> Result<Option<Response>, LogicalError> {
    if req.wrap_ttl.is_none_or(|ttl| ttl.is_zero()) {
        return Err(LogicalError::user(
            "endpoint requires response wrapping to be used",
        ));
    }
    Ok(Some(Response::with_data(req.data)))
}

async fn rewrap(
    sys: Arc<SysBackend>,
    req: Request,
    input: TokenInput,
) -> Result<Option<Response>, LogicalError> {
    let (record, from_body) = wrapping_token(&sys, &req, &input.token).await?;
    let core = sys.core()?;
    let active = core.require_active().map_err(to_logical)?;
    let wrap = core
        .wrap_record(&record)
        .await
        .map_err(to_logical)?
        .ok_or_else(invalid)?;
    let body: serde_json::Value =
        serde_json::from_str(&wrap.response).map_err(LogicalError::internal)?;
    let info = core
        .wrap(
            &active,
            &wrap.creation_path,
            &body,
            Duration::from_secs(wrap.creation_ttl),
            String::new(),
        )
        .await
        .map_err(to_logical)?;
    if from_body {
        active
            .token_store
            .revoke_tree(record.entry.id.expose())
            .await
            .map_err(to_logical)?;
    }
    Ok(Some(Response {
        wrap_info: Some(info),
        ..Response::default()
    }))
}
