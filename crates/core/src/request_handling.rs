//! One request through the core: route, authenticate, authorize, dispatch.

use std::sync::Arc;

use warden_logical::{Operation, Request, Response, TokenEntry};

use crate::CoreError;
use crate::lifecycle::{Active, Core};
use crate::router::Route;

/// A backend's answer with the type of the mount that gave it (Vault's `mount_type`).
#[derive(Debug)]
pub struct Handled {
    /// What the backend returned; `None` means "nothing to return".
    pub response: Option<Response>,
    /// The type of the mount that served the request.
    pub mount_type: String,
}

/// Operations that write, and so may not name a folder.
fn is_write(operation: Operation) -> bool {
    matches!(
        operation,
        Operation::Create | Operation::Update | Operation::Patch
    )
}

impl Core {
    /// Serves one logical request. `req.path` is the full logical path (`sys/mounts`,
    /// `auth/kubernetes/login`); `Ok(None)` means "nothing to return" (204 for writes, 404
    /// for reads).
    pub async fn handle_request(&self, mut req: Request) -> Result<Handled, CoreError> {
        let active = self.require_active()?;
        if is_write(req.operation) && req.path.ends_with('/') {
            return Err(CoreError::User(
                "cannot write to a path ending in '/'".into(),
            ));
        }
        let routed = active.router.matching(&req.path);
        let unauthenticated = routed
            .as_ref()
            .is_some_and(|(route, relative)| route.is_unauthenticated(relative));

        let token = self.resolve_token(&active, &req).await?;
        if token.is_none() && !unauthenticated {
            return Err(CoreError::InvalidToken);
        }
        let Some((route, relative)) = routed else {
            return Err(match token {
                Some(token) if token.is_root() => CoreError::NoRoute { path: req.path },
                _ => CoreError::PermissionDenied,
            });
        };
        let login = unauthenticated && route.entry.table == crate::mount::MountTable::Auth;

        let full_path = std::mem::replace(&mut req.path, relative);
        fill_mount_fields(&mut req, &route, token.as_ref(), unauthenticated);

        if matches!(req.operation, Operation::Update | Operation::Create) {
            req.operation = match route.backend.existence_check(&req).await {
                Ok(Some(true)) | Ok(None) => Operation::Update,
                Ok(Some(false)) => Operation::Create,
                Err(error) => return Err(CoreError::Backend { error, login }),
            };
        }
        if !unauthenticated {
            let token = token.as_ref().ok_or(CoreError::InvalidToken)?;
            authorize(token, &route, &req.path, &full_path)?;
        }

        let response = route
            .backend
            .handle_request(req)
            .await
            .map_err(|error| CoreError::Backend { error, login })?;
        if response.as_ref().is_some_and(|resp| resp.auth.is_some()) {
            // Minting tokens from login responses arrives with the token store's full
            // lifecycle; until then no backend may claim to have logged someone in.
            return Err(CoreError::internal(
                "this server cannot issue tokens for auth responses yet",
            ));
        }
        Ok(Handled {
            response,
            mount_type: route.entry.mount_type.clone(),
        })
    }

    /// Looks up the caller's token, if it sent one. An unknown token is `InvalidToken`.
    async fn resolve_token(
        &self,
        active: &Active,
        req: &Request,
    ) -> Result<Option<Arc<TokenEntry>>, CoreError> {
        let Some(presented) = req.client_token.as_ref().filter(|t| !t.is_empty()) else {
            return Ok(None);
        };
        match active.token_store.lookup(presented.expose()).await? {
            Some(entry) => Ok(Some(Arc::new(entry))),
            None => Err(CoreError::InvalidToken),
        }
    }

    /// Checks that `token` is a valid token with the `sudo` capability on `path` (used by
    /// `sys/seal` and the other raw endpoints that bypass the router).
    pub async fn check_sudo(&self, token: Option<&str>, path: &str) -> Result<(), CoreError> {
        let active = self.require_active()?;
        let Some(token) = token.filter(|t| !t.is_empty()) else {
            return Err(CoreError::InvalidToken);
        };
        let entry = active
            .token_store
            .lookup(token)
            .await?
            .ok_or(CoreError::InvalidToken)?;
        if allows(&entry, path) {
            Ok(())
        } else {
            Err(CoreError::PermissionDenied)
        }
    }

    /// Replaces the initial root token with one whose id the operator chose (dev mode's
    /// `-dev-root-token-id`): creates the new one, then revokes the old.
    pub async fn replace_root_token(&self, old: &str, new_id: &str) -> Result<(), CoreError> {
        let active = self.require_active()?;
        active.token_store.create_root(Some(new_id)).await?;
        active.token_store.revoke(old).await
    }
}

fn fill_mount_fields(
    req: &mut Request,
    route: &Route,
    token: Option<&Arc<TokenEntry>>,
    unauthenticated: bool,
) {
    req.mount_point = route.entry.route_path();
    req.mount_type = route.entry.mount_type.clone();
    req.mount_accessor = route.entry.accessor.clone();
    req.unauthenticated = unauthenticated;
    if let Some(token) = token {
        req.client_token_accessor = token.accessor.clone();
        req.entity_id = token.entity_id.clone();
        req.token_entry = Some(Arc::clone(token));
    }
}

/// The ACL decision. Until the policy store exists, only the `root` policy grants anything:
/// root tokens are the only tokens this server can mint so far, so every other token is
/// denied rather than guessed at.
fn allows(token: &TokenEntry, _path: &str) -> bool {
    token.is_root()
}

fn authorize(
    token: &TokenEntry,
    route: &Route,
    relative: &str,
    full_path: &str,
) -> Result<(), CoreError> {
    if !allows(token, full_path) {
        return Err(CoreError::PermissionDenied);
    }
    if route.requires_sudo(relative) && !token.is_root() {
        return Err(CoreError::PermissionDenied);
    }
    Ok(())
}
