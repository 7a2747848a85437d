//! Turning a successful login (a backend response carrying an `Auth`) into a token, as
//! Vault's `LoginCreateToken` does: identity, policies, token type, TTL, display name.

use std::collections::BTreeMap;
use std::time::Duration;

use warden_logical::{Auth, Connection, LogicalError, TokenType};

use crate::CoreError;
use crate::lifecycle::{Active, Core};
use crate::router::Route;
use crate::token_store::NewToken;
use crate::ttl::{TtlInputs, calculate_ttl};

/// Where a login's backend-private data is kept on the token, for renewals.
pub(crate) const INTERNAL_DATA_KEY: &str = "__auth_internal_data";

/// Vault's `SanitizePolicies`: trimmed, lower-cased, without duplicates or empties, sorted,
/// with `default` added when asked.
pub(crate) fn sanitize_policies(policies: &[String], add_default: bool) -> Vec<String> {
    let mut out: Vec<String> = policies
        .iter()
        .map(|p| p.trim().to_lowercase())
        .filter(|p| !p.is_empty())
        .collect();
    if add_default && !out.iter().any(|p| p == "default") && !out.iter().any(|p| p == "root") {
        out.push("default".into());
    }
    out.sort();
    out.dedup();
    out
}

/// The display name of a login token: the mount path with `/` as `-`, then the backend's
/// name, without a trailing `-` (`kubernetes-default-app`).
fn display_name(route: &Route, backend_name: &str) -> String {
    let source = route.entry.path.replace('/', "-");
    let full = format!("{source}{backend_name}");
    full.trim_end_matches('-').to_owned()
}

/// The token type a login gets: the mount's tuning decides, the role may pick within a
/// `default-*` setting.
fn login_token_type(mount_setting: &str, asked: TokenType) -> TokenType {
    match mount_setting {
        "service" => TokenType::Service,
        "batch" => TokenType::Batch,
        "default-batch" => match asked {
            TokenType::Service => TokenType::Service,
            _ => TokenType::Batch,
        },
        _ => match asked {
            TokenType::Batch => TokenType::Batch,
            _ => TokenType::Service,
        },
    }
}

impl Core {
    /// Mints the token for a login and fills in the `Auth` the client will see. Returns the
    /// TTL warnings.
    pub(crate) async fn mint_login_token(
        &self,
        active: &Active,
        route: &Route,
        full_path: &str,
        auth: &mut Auth,
        _connection: Option<Connection>,
    ) -> Result<Vec<String>, CoreError> {
        let token_policies = sanitize_policies(&auth.policies, !auth.no_default_policy);
        if token_policies.iter().any(|p| p == "root") {
            return Err(CoreError::User(
                "auth methods cannot create root tokens".into(),
            ));
        }
        if token_policies.iter().any(|p| p == "response-wrapping") {
            return Err(CoreError::User(
                "cannot assign policy \"response-wrapping\"".into(),
            ));
        }

        let mut entity_id = String::new();
        let mut identity_policies = Vec::new();
        if let Some(alias) = auth.alias.as_mut() {
            alias.mount_accessor = route.entry.accessor.clone();
            alias.mount_type = route.entry.mount_type.clone();
            let entity = active.identity.entity_for_login(alias).await?;
            if entity.disabled {
                return Err(CoreError::backend(LogicalError::PermissionDenied));
            }
            entity_id = entity.id.clone();
            identity_policies = sanitize_policies(&entity.policies, false);
        }
        let mut all = token_policies.clone();
        all.extend(identity_policies.iter().cloned());
        let policies = sanitize_policies(&all, false);

        let token_type = login_token_type(&route.entry.config.token_type, auth.token_type);
        let system = self.mount_ttls(&route.entry.config);
        let ttl = calculate_ttl(
            &TtlInputs {
                mount_default: system.0,
                mount_max: system.1,
                increment: Duration::ZERO,
                backend_ttl: auth.lease.ttl,
                period: auth.period,
                backend_max: auth.lease.max_ttl,
                explicit_max: auth.explicit_max_ttl,
            },
            Duration::ZERO,
        )?;
        if token_type == TokenType::Batch && (!auth.period.is_zero() || auth.num_uses > 0) {
            return Err(CoreError::User(
                "batch tokens cannot be periodic or have a limited use count".into(),
            ));
        }

        let mut internal_meta = BTreeMap::new();
        if !auth.internal_data.is_empty() {
            let encoded =
                serde_json::to_string(&auth.internal_data).map_err(CoreError::internal)?;
            internal_meta.insert(INTERNAL_DATA_KEY.to_owned(), encoded);
        }
        let record = active
            .token_store
            .create(NewToken {
                token_type,
                id: None,
                policies: token_policies.clone(),
                parent: None,
                path: full_path.to_owned(),
                meta: auth.metadata.clone(),
                internal_meta,
                display_name: display_name(route, &auth.display_name),
                num_uses: auth.num_uses,
                ttl: ttl.ttl.as_secs(),
                explicit_max_ttl: auth.explicit_max_ttl.as_secs(),
                period: auth.period.as_secs(),
                renewable: token_type == TokenType::Service && auth.lease.renewable,
                backend_ttl: auth.lease.ttl.as_secs(),
                backend_max_ttl: auth.lease.max_ttl.as_secs(),
                entity_id: entity_id.clone(),
                bound_cidrs: auth.bound_cidrs.clone(),
                no_identity_policies: false,
                role: String::new(),
            })
            .await?;
        auth.client_token = Some(record.entry.id.clone());
        auth.accessor = record.entry.accessor.clone();
        // Vault prefixes the mount to the display name on the login's `Auth` itself, so the
        // audit entry shows `kubernetes-default-app` too.
        auth.display_name = record.entry.display_name.clone();
        auth.entity_id = entity_id;
        auth.token_policies = token_policies;
        auth.identity_policies = identity_policies;
        auth.policies = policies;
        auth.token_type = token_type;
        auth.lease.ttl = ttl.ttl;
        auth.lease.renewable = record.lease.as_ref().is_some_and(|lease| lease.renewable);
        auth.orphan = true;
        Ok(ttl.warnings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policies_are_sanitized_like_vaults() {
        let input = vec![
            " App ".to_owned(),
            "team".into(),
            "app".into(),
            String::new(),
        ];
        assert_eq!(sanitize_policies(&input, true), ["app", "default", "team"]);
        assert_eq!(sanitize_policies(&input, false), ["app", "team"]);
        assert_eq!(sanitize_policies(&["root".into()], true), ["root"]);
    }

    #[test]
    fn mount_tuning_decides_the_token_type() {
        assert_eq!(login_token_type("", TokenType::Default), TokenType::Service);
        assert_eq!(
            login_token_type("default-service", TokenType::Batch),
            TokenType::Batch
        );
        assert_eq!(
            login_token_type("default-batch", TokenType::Default),
            TokenType::Batch
        );
        assert_eq!(
            login_token_type("default-batch", TokenType::Service),
            TokenType::Service
        );
        assert_eq!(
            login_token_type("service", TokenType::Batch),
            TokenType::Service
        );
        assert_eq!(
            login_token_type("batch", TokenType::Service),
            TokenType::Batch
        );
    }
}
