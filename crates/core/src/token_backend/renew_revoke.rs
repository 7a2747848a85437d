//! `renew`, `renew-self`, `renew-accessor`, `revoke`, `revoke-self`, `revoke-accessor`,
//! `revoke-orphan` and `tidy`.

use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use warden_logical::framework::NoInput;
use warden_logical::{LogicalError, Request, Response, SecretString, TokenType};

use super::{TokenBackend, caller, find, is_sudo, to_logical};
use crate::token_store::TokenRecord;

#[derive(Debug, Deserialize)]
pub(super) struct RenewInput {
    #[serde(default)]
    token: String,
    #[serde(default)]
    accessor: String,
    #[serde(default)]
    increment: u64,
}

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

async fn renew_record(
    state: &TokenBackend,
    record: Option<TokenRecord>,
    increment: u64,
    hide_token: bool,
) -> Result<Option<Response>, LogicalError> {
    let (core, active) = state.active()?;
    let Some(record) = record else {
        return Err(LogicalError::user("token not found"));
    };
    if record.entry.token_type == TokenType::Batch {
        return Err(LogicalError::user("batch tokens cannot be renewed"));
    }
    let (mut auth, warnings) = core
        .renew_token(&active, &record, Duration::from_secs(increment))
        .await
        .map_err(to_logical)?;
    if hide_token {
        auth.client_token = Some(SecretString::new(""));
    }
    Ok(Some(Response {
        auth: Some(auth),
        warnings,
        ..Response::default()
    }))
}

pub(super) async fn renew(
    state: Arc<TokenBackend>,
    _req: Request,
    input: RenewInput,
) -> Result<Option<Response>, LogicalError> {
    if input.token.is_empty() {
        return Err(LogicalError::user("missing token ID"));
    }
    let (_, active) = state.active()?;
    let record = find(&active, &input.token).await?;
    renew_record(&state, record, input.increment, false).await
}

pub(super) async fn renew_self(
    state: Arc<TokenBackend>,
    req: Request,
    input: RenewInput,
) -> Result<Option<Response>, LogicalError> {
    let (_, active) = state.active()?;
    let id = caller(&req)?.id.expose().to_owned();
    let record = find(&active, &id).await?;
    renew_record(&state, record, input.increment, false).await
}

pub(super) async fn renew_accessor(
    state: Arc<TokenBackend>,
    _req: Request,
    input: RenewInput,
) -> Result<Option<Response>, LogicalError> {
    if input.accessor.is_empty() {
        return Err(LogicalError::user("missing accessor"));
    }
    let (_, active) = state.active()?;
    let record = active
        .token_store
        .lookup_accessor(&input.accessor)
        .await
        .map_err(to_logical)?;
    if record.is_none() {
        return Err(LogicalError::user("invalid accessor"));
    }
    renew_record(&state, record, input.increment, true).await
}

pub(super) async fn revoke(
    state: Arc<TokenBackend>,
    _req: Request,
    input: TokenInput,
) -> Result<Option<Response>, LogicalError> {
    if input.token.is_empty() {
        return Err(LogicalError::user("missing token ID"));
    }
    let (_, active) = state.active()?;
    if let Some(record) = active
        .token_store
        .load(&input.token)
        .await
        .map_err(to_logical)?
    {
        if record.entry.token_type == TokenType::Batch {
            return Err(LogicalError::user("batch tokens cannot be revoked"));
        }
        active
            .token_store
            .revoke_tree(&input.token)
            .await
            .map_err(to_logical)?;
    }
    Ok(None)
}

pub(super) async fn revoke_self(
    state: Arc<TokenBackend>,
    req: Request,
    _input: NoInput,
) -> Result<Option<Response>, LogicalError> {
    let (_, active) = state.active()?;
    let entry = caller(&req)?;
    if entry.token_type == TokenType::Batch {
        return Err(LogicalError::user("batch tokens cannot be revoked"));
    }
    active
        .token_store
        .revoke_tree(entry.id.expose())
        .await
        .map_err(to_logical)?;
    Ok(None)
}

pub(super) async fn revoke_accessor(
    state: Arc<TokenBackend>,
    _req: Request,
    input: AccessorInput,
) -> Result<Option<Response>, LogicalError> {
    if input.accessor.is_empty() {
        return Err(LogicalError::user("missing accessor"));
    }
    let (_, active) = state.active()?;
    let target = active
        .token_store
        .accessor_target(&input.accessor)
        .await
        .map_err(to_logical)?;
    let Some(token) = target else {
        let mut response = Response::default();
        response.add_warning("No token found with this accessor");
        return Ok(Some(response));
    };
    active
        .token_store
        .revoke_tree(token.expose())
        .await
        .map_err(to_logical)?;
    Ok(None)
}

pub(super) async fn revoke_orphan(
    state: Arc<TokenBackend>,
    req: Request,
    input: TokenInput,
) -> Result<Option<Response>, LogicalError> {
    if input.token.is_empty() {
        return Err(LogicalError::user("missing token ID"));
    }
    if !is_sudo(&state, &req).await? {
        return Err(LogicalError::user(
            "root or sudo privileges required to revoke and orphan",
        ));
    }
    let (_, active) = state.active()?;
    let Some(record) = active
        .token_store
        .load(&input.token)
        .await
        .map_err(to_logical)?
    else {
        return Err(LogicalError::user("token to revoke not found"));
    };
    if record.entry.token_type == TokenType::Batch {
        return Err(LogicalError::user("batch tokens cannot be revoked"));
    }
    active
        .token_store
        .revoke_orphan(&input.token)
        .await
        .map_err(to_logical)?;
    Ok(None)
}

pub(super) async fn tidy(
    state: Arc<TokenBackend>,
    _req: Request,
    _input: NoInput,
) -> Result<Option<Response>, LogicalError> {
    let (_, active) = state.active()?;
    let active = Arc::clone(&active);
    tokio::spawn(async move {
        match active.token_store.tidy().await {
            Ok(report) => tracing::info!(?report, "token tidy finished"),
            Err(err) => tracing::warn!(error = %err, "token tidy failed"),
        }
    });
    let mut response = Response::default();
    response.add_warning(
        "Tidy operation successfully started in the background. Check the server logs for the \
         tidy report.",
    );
    response.status_code = Some(202);
    Ok(Some(response))
}
