//! Response wrapping: the response goes into the cubbyhole of a fresh single-use token and
//! the client gets only that token (`X-Vault-Wrap-TTL`, `sys/wrapping/*`).

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use warden_logical::{Response, StorageEntry, StorageView, TokenType, WrapInfo};

use crate::CoreError;
use crate::cubbyhole::CUBBYHOLE_PREFIX;
use crate::lifecycle::{Active, Core};
use crate::token_store::{NewToken, TokenRecord, now_nanos, rfc3339};
use crate::view::BarrierView;

/// The policy every wrapping token carries, and only it.
pub(crate) const WRAPPING_POLICY: &str = "response-wrapping";
/// The error for anything that is not a live wrapping token.
pub(crate) const INVALID_WRAPPING_TOKEN: &str = "wrapping token is not valid or does not exist";

/// What is kept next to the wrapped response.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct WrapRecord {
    /// The wrapped response body, as the client would have received it.
    pub(crate) response: String,
    /// The path whose response was wrapped.
    pub(crate) creation_path: String,
    /// When the wrapping token was made.
    pub(crate) creation_time: String,
    /// The wrapping token's TTL in seconds.
    pub(crate) creation_ttl: u64,
}

impl Core {
    /// Stores `body` in a new wrapping token's cubbyhole and returns the `wrap_info`.
    pub(crate) async fn wrap(
        &self,
        active: &Active,
        creation_path: &str,
        body: &Value,
        ttl: Duration,
        wrapped_accessor: String,
    ) -> Result<WrapInfo, CoreError> {
        let ttl = Duration::from_secs(ttl.as_secs().max(1));
        let token = active
            .token_store
            .create(NewToken {
                token_type: TokenType::Service,
                policies: vec![WRAPPING_POLICY.into()],
                path: creation_path.to_owned(),
                num_uses: 1,
                ttl: ttl.as_secs(),
                explicit_max_ttl: ttl.as_secs(),
                renewable: false,
                ..NewToken::default()
            })
            .await?;
        let created = token
            .lease
            .as_ref()
            .map(|l| l.issue_time)
            .unwrap_or_else(now_nanos);
        let record = WrapRecord {
            response: body.to_string(),
            creation_path: creation_path.to_owned(),
            creation_time: rfc3339(created),
            creation_ttl: ttl.as_secs(),
        };
        let key = format!("{}/response", token.entry.cubbyhole_id);
        self.cubbyholes()
            .put(StorageEntry::json(key, &record)?)
            .await?;
        Ok(WrapInfo {
            token: token.entry.id.clone(),
            accessor: token.entry.accessor.clone(),
            ttl,
            creation_time: record.creation_time,
            creation_path: record.creation_path,
            wrapped_accessor,
        })
    }

    /// Wraps a finished response if the request asked for it.
    pub(crate) async fn wrap_response(
        &self,
        active: &Active,
        request_id: &str,
        full_path: &str,
        mount_type: &str,
        mut resp: Response,
        ttl: Duration,
    ) -> Result<Response, CoreError> {
        let body = crate::envelope::envelope(request_id, full_path, mount_type, &resp);
        let wrapped_accessor = resp
            .auth
            .as_ref()
            .map(|a| a.accessor.clone())
            .unwrap_or_default();
        let info = self
            .wrap(active, full_path, &body, ttl, wrapped_accessor)
            .await?;
        resp.wrap_info = Some(info);
        Ok(resp)
    }

    /// The wrap record of a live wrapping token.
    pub(crate) async fn wrap_record(
        &self,
        token: &TokenRecord,
    ) -> Result<Option<WrapRecord>, CoreError> {
        if token.entry.policies != [WRAPPING_POLICY] {
            return Ok(None);
        }
        let key = format!("{}/response", token.entry.cubbyhole_id);
        let view: &dyn StorageView = &self.cubbyholes();
        Ok(view.get_json(&key).await?)
    }

    fn cubbyholes(&self) -> BarrierView {
        BarrierView::new(std::sync::Arc::clone(&self.barrier), CUBBYHOLE_PREFIX)
    }
}
