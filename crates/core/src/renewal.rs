//! Renewing tokens: the auth method that issued a login token gets a say first (it
//! re-reads its role), then Vault's TTL rule runs again from the original issue time.

use std::time::Duration;

use warden_logical::{Auth, LeaseOptions, Map, Operation, Request, TokenType};

use crate::CoreError;
use crate::lifecycle::{Active, Core};
use crate::login::INTERNAL_DATA_KEY;
use crate::token_store::{TokenRecord, now_nanos};
use crate::ttl::{TtlInputs, calculate_ttl};

impl Core {
    /// Renews a token by `increment` (zero: the backend's TTL) and returns the `Auth` block
    /// and warnings to show.
    pub(crate) async fn renew_token(
        &self,
        active: &Active,
        record: &TokenRecord,
        increment: Duration,
    ) -> Result<(Auth, Vec<String>), CoreError> {
        if record.entry.token_type == TokenType::Batch {
            return Err(CoreError::User("batch tokens cannot be renewed".into()));
        }
        let Some(lease) = record.lease.as_ref().filter(|lease| lease.renewable) else {
            return Err(CoreError::User("lease is not renewable".into()));
        };
        let now = now_nanos();
        if lease.expire_time <= now {
            return Err(CoreError::User("lease expired".into()));
        }
        let mut auth = auth_of(record);
        let (route, relative) = active
            .router
            .matching(&record.entry.path)
            .ok_or_else(|| CoreError::User("lease not found".into()))?;
        let (mount_default, mount_max) = self.mount_ttls(&route.entry.config);
        let (backend_ttl, backend_max, period) = if record.entry.path.starts_with("auth/token/") {
            (
                Duration::from_secs(record.entry.ttl.max(lease.backend_ttl)),
                Duration::ZERO,
                Duration::from_secs(record.entry.period),
            )
        } else {
            // The issuing auth method re-checks the login (its role may be gone or changed).
            let mut req = Request::new(Operation::Renew, relative, Map::new());
            req.mount_point = route.entry.route_path();
            req.mount_type = route.entry.mount_type.clone();
            req.mount_accessor = route.entry.accessor.clone();
            req.token_entry = Some(std::sync::Arc::new(record.entry.clone()));
            auth.lease.increment = increment;
            req.auth = Some(auth.clone());
            let response = route
                .backend
                .handle_request(req)
                .await
                .map_err(CoreError::backend)?;
            let renewed = response.and_then(|resp| resp.auth).ok_or_else(|| {
                CoreError::internal("the auth method returned no auth for the renewal")
            })?;
            (renewed.lease.ttl, renewed.lease.max_ttl, renewed.period)
        };
        let elapsed_nanos = (now - lease.issue_time).max(0);
        let elapsed = Duration::from_nanos(u64::try_from(elapsed_nanos).unwrap_or(0));
        let outcome = calculate_ttl(
            &TtlInputs {
                mount_default,
                mount_max,
                increment,
                backend_ttl,
                period,
                backend_max,
                explicit_max: Duration::from_secs(record.entry.explicit_max_ttl),
            },
            elapsed,
        )?;
        let renewed = active
            .token_store
            .renew(record.entry.id.expose(), outcome.ttl.as_secs(), now)
            .await?;
        let mut auth = auth_of(&renewed);
        auth.lease.ttl = outcome.ttl;
        if !renewed.entry.entity_id.is_empty() {
            auth.identity_policies = active
                .identity
                .entity_policies(&renewed.entry.entity_id)
                .await;
            let mut all = auth.token_policies.clone();
            all.extend(auth.identity_policies.iter().cloned());
            auth.policies = crate::login::sanitize_policies(&all, false);
        }
        Ok((auth, outcome.warnings))
    }
}

/// The `Auth` block describing a stored token.
pub(crate) fn auth_of(record: &TokenRecord) -> Auth {
    let entry = &record.entry;
    let internal_data = entry
        .internal_meta
        .get(INTERNAL_DATA_KEY)
        .and_then(|raw| serde_json::from_str(raw).ok())
        .unwrap_or_default();
    Auth {
        lease: LeaseOptions {
            ttl: Duration::from_secs(record.remaining_secs(now_nanos())),
            max_ttl: Duration::from_secs(record.lease.as_ref().map_or(0, |l| l.backend_max_ttl)),
            renewable: record.lease.as_ref().is_some_and(|l| l.renewable),
            increment: Duration::ZERO,
            issue_time: None,
        },
        token_type: entry.token_type,
        internal_data,
        display_name: entry.display_name.clone(),
        policies: entry.policies.clone(),
        token_policies: entry.policies.clone(),
        identity_policies: Vec::new(),
        no_default_policy: false,
        metadata: entry.meta.clone(),
        client_token: Some(entry.id.clone()),
        accessor: entry.accessor.clone(),
        period: Duration::from_secs(entry.period),
        explicit_max_ttl: Duration::from_secs(entry.explicit_max_ttl),
        num_uses: entry.num_uses,
        entity_id: entry.entity_id.clone(),
        alias: None,
        group_aliases: Vec::new(),
        bound_cidrs: entry.bound_cidrs.clone(),
        orphan: entry.parent.is_empty(),
    }
}
