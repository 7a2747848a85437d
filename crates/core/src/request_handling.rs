//! One request through the core: route, authenticate, authorize, dispatch, then mint the
//! token of a login.

use std::sync::Arc;

use warden_logical::{Operation, Request, Response, TokenEntry};

use crate::CoreError;
use crate::audit::AuditInput;
use crate::explain::LoginWatch;
use crate::lifecycle::{Active, Core};
use crate::mount::MountTable;
use crate::router::Route;
use crate::token_store::{TokenRecord, UseOutcome};

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
    pub async fn handle_request(&self, req: Request) -> Result<Handled, CoreError> {
        let active = self.require_active()?;
        let mut audit = AuditInput::new(&req);
        let result = self
            .route_request(Arc::clone(&active), req, &mut audit)
            .await;
        self.audit_response(&active, &mut audit, &result).await?;
        result
    }

    /// Routes, authenticates, authorizes and dispatches one request; `audit` learns the
    /// mount and the caller on the way, and the request entry is written just before the
    /// backend runs.
    async fn route_request(
        &self,
        active: Arc<Active>,
        mut req: Request,
        audit: &mut AuditInput,
    ) -> Result<Handled, CoreError> {
        if is_write(req.operation) && req.path.ends_with('/') {
            return Err(CoreError::User(
                "cannot write to a path ending in '/'".into(),
            ));
        }
        let routed = active.router.matching(&req.path);
        if let Some((route, _)) = &routed {
            audit.set_mount(&route.entry);
        }
        let unauthenticated = routed
            .as_ref()
            .is_some_and(|(route, relative)| route.is_unauthenticated(relative));

        let token = self.resolve_token(&active, &req).await?;
        if let Some(record) = &token {
            audit.set_token(&record.entry);
        }
        if token.is_none() && !unauthenticated {
            return Err(CoreError::InvalidToken);
        }
        let Some((route, relative)) = routed else {
            return Err(match token {
                Some(token) if token.entry.is_root() => CoreError::NoRoute { path: req.path },
                _ => CoreError::PermissionDenied,
            });
        };
        let login = unauthenticated && route.entry.table == MountTable::Auth;
        let mut login_watch = None;
        if login {
            let sink = self.explain.sink(&req, &route.entry);
            login_watch = Some(LoginWatch::new(Arc::clone(&sink)));
            req.denials = Some(sink);
        }

        let full_path = std::mem::replace(&mut req.path, relative);
        fill_mount_fields(&mut req, &route, token.as_ref(), unauthenticated);

        if matches!(req.operation, Operation::Update | Operation::Create) {
            req.operation = match route.backend.existence_check(&req).await {
                Ok(Some(true) | None) => Operation::Update,
                Ok(Some(false)) => Operation::Create,
                Err(error) => return Err(CoreError::Backend { error, login }),
            };
        }
        let mut last_use = false;
        if let Some(record) = token.as_ref().filter(|_| !unauthenticated) {
            check_bound_cidrs(&record.entry, &req)?;
            self.authorize(&record.entry, &route, &req, &full_path)
                .await?;
            last_use = active.token_store.use_token(record).await? == UseOutcome::LastUse;
        }

        if let Err(err) = self.audit_request(&active, audit, &req).await {
            if last_use && let Some(record) = &token {
                active
                    .token_store
                    .revoke_tree(record.entry.id.expose())
                    .await?;
            }
            return Err(err);
        }
        let connection = req.connection.clone();
        let wrap_ttl = req.wrap_ttl.filter(|ttl| !ttl.is_zero());
        let request_id = req.id.clone();
        let result = route.backend.handle_request(req).await;
        if last_use && let Some(record) = &token {
            active
                .token_store
                .revoke_tree(record.entry.id.expose())
                .await?;
        }
        let mut response = result.map_err(|error| CoreError::Backend { error, login })?;
        if let Some(resp) = response.as_mut()
            && let Some(auth) = resp.auth.as_mut()
            && auth.client_token.is_none()
        {
            let minted = self
                .mint_login_token(&active, &route, &full_path, auth, connection)
                .await;
            resp.warnings
                .extend(minted.map_err(|err| as_login_error(err, login))?);
            if let Some(watch) = login_watch.as_mut() {
                watch.succeeded();
            }
        }
        let mount_type = route.entry.mount_type.clone();
        if let Some(ttl) = wrap_ttl
            && response
                .as_ref()
                .is_some_and(|r| r.raw.is_none() && r.wrap_info.is_none())
            && let Some(resp) = response.take()
        {
            let wrapped = self
                .wrap_response(&active, &request_id, &full_path, &mount_type, resp, ttl)
                .await?;
            response = Some(wrapped);
        }
        Ok(Handled {
            response,
            mount_type,
        })
    }

    /// Looks up the caller's token, if it sent one. An unknown or expired token is
    /// `InvalidToken`.
    async fn resolve_token(
        &self,
        active: &Active,
        req: &Request,
    ) -> Result<Option<TokenRecord>, CoreError> {
        let Some(presented) = req.client_token.as_ref().filter(|t| !t.is_empty()) else {
            return Ok(None);
        };
        match active.token_store.lookup(presented.expose()).await? {
            Some(record) => Ok(Some(record)),
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
        let record = active
            .token_store
            .lookup(token)
            .await?
            .ok_or(CoreError::InvalidToken)?;
        let acl = self.acl_for_token(&record.entry).await?;
        let result = acl.allow_operation(Operation::Update, path, None, None);
        if result.allowed && result.root_privs {
            Ok(())
        } else {
            Err(CoreError::PermissionDenied)
        }
    }

    /// Whether `token` holds `sudo` on `path` (Vault's `SudoPrivilege`).
    pub(crate) async fn has_sudo(&self, token: &TokenEntry, path: &str) -> Result<bool, CoreError> {
        let acl = self.acl_for_token(token).await?;
        Ok(acl
            .capabilities(path)
            .iter()
            .any(|c| c == "sudo" || c == "root"))
    }

    /// The ACL decision for an authenticated request: the operation's capability on the
    /// full path, plus `sudo` on root-protected paths.
    async fn authorize(
        &self,
        token: &TokenEntry,
        route: &Route,
        req: &Request,
        full_path: &str,
    ) -> Result<(), CoreError> {
        let acl = self.acl_for_token(token).await?;
        let result = acl.allow_operation(req.operation, full_path, Some(&req.data), req.wrap_ttl);
        if !result.allowed {
            tracing::debug!(path = %full_path, operation = %req.operation, denial = ?result.denial, "permission denied");
            return Err(CoreError::PermissionDenied);
        }
        if route.requires_sudo(&req.path) && !result.root_privs {
            tracing::debug!(path = %full_path, "permission denied: sudo required");
            return Err(CoreError::PermissionDenied);
        }
        Ok(())
    }

    /// Replaces the initial root token with one whose id the operator chose (dev mode's
    /// `-dev-root-token-id`): creates the new one, then revokes the old.
    pub async fn replace_root_token(&self, old: &str, new_id: &str) -> Result<(), CoreError> {
        let active = self.require_active()?;
        active.token_store.create_root(Some(new_id)).await?;
        active.token_store.revoke_tree(old).await
    }
}

/// Login errors are shown as the backend's; everything else keeps its class.
fn as_login_error(err: CoreError, login: bool) -> CoreError {
    match err {
        CoreError::Backend { error, .. } => CoreError::Backend { error, login },
        other => other,
    }
}

fn fill_mount_fields(
    req: &mut Request,
    route: &Route,
    token: Option<&TokenRecord>,
    unauthenticated: bool,
) {
    req.mount_point = route.entry.route_path();
    req.mount_type = route.entry.mount_type.clone();
    req.mount_accessor = route.entry.accessor.clone();
    req.unauthenticated = unauthenticated;
    if let Some(record) = token {
        req.client_token_accessor = record.entry.accessor.clone();
        req.entity_id = record.entry.entity_id.clone();
        req.token_entry = Some(Arc::new(record.entry.clone()));
    }
}

/// `token_bound_cidrs`: a token bound to CIDRs works only from an address inside one of
/// them; an unknown address is refused (fail closed).
fn check_bound_cidrs(token: &TokenEntry, req: &Request) -> Result<(), CoreError> {
    if token.bound_cidrs.is_empty() {
        return Ok(());
    }
    // Vault answers a plain, unwrapped `permission denied` here.
    let denied = || {
        CoreError::backend(warden_logical::LogicalError::coded(
            403,
            "permission denied",
        ))
    };
    let addr = req
        .connection
        .as_ref()
        .map(|c| c.remote_addr)
        .ok_or_else(denied)?;
    if token
        .bound_cidrs
        .iter()
        .any(|cidr| warden_logical::matching::cidr_contains(cidr, addr))
    {
        Ok(())
    } else {
        Err(denied())
    }
}
