//! How the request flow calls the audit log.
//!
//! `Core::handle_request` captures an [`AuditInput`] as the request arrives, completes it as
//! routing and the token check learn the mount and the caller, calls
//! [`Core::audit_request`] just before the backend runs and [`Core::audit_response`] with the
//! final result. A request refused before the backend ran (bad token, ACL) gets its request
//! entry from `audit_response`, with `error` set.

use warden_logical::{LogicalError, Request};

use super::AuditInput;
use super::entry::Outcome;
use crate::CoreError;
use crate::lifecycle::{Active, Core};
use crate::request_handling::Handled;

/// Paths Vault never audits (they are also served outside the router).
const NEVER_AUDITED: [&str; 5] = [
    "sys/init",
    "sys/seal-status",
    "sys/unseal",
    "sys/leader",
    "sys/health",
];

fn never_audited(path: &str) -> bool {
    NEVER_AUDITED.contains(&path.trim_end_matches('/'))
}

/// Vault's multierror rendering of one error.
fn wrapped(message: &str) -> String {
    format!("1 error occurred:\n\t* {message}\n\n")
}

/// Whether the error is a refusal of the caller (a bad token or an ACL denial): its audit
/// failures are only logged, the client keeps its 403.
fn is_denial(err: &CoreError) -> bool {
    matches!(
        err,
        CoreError::PermissionDenied
            | CoreError::InvalidToken
            | CoreError::Backend {
                error: LogicalError::PermissionDenied | LogicalError::Coded { status: 403, .. },
                ..
            }
    )
}

/// The request entry of a request refused before the backend ran: `error` and
/// `policy_results` as Vault's `CheckToken` leaves them.
fn refused_request(err: &CoreError) -> (String, Option<bool>) {
    match err {
        // The token check failed before producing an `auth`: no policy results.
        CoreError::InvalidToken => ("permission denied".to_owned(), None),
        CoreError::PermissionDenied => (wrapped("permission denied"), Some(false)),
        CoreError::Backend {
            error:
                LogicalError::Coded {
                    status: 403,
                    message,
                },
            ..
        } => (message.clone(), None),
        other => (response_error(other).0, None),
    }
}

/// The response entry's `error`, and the message an error response carries in
/// `response.data.error` (HMAC'd: user errors may echo input, CVE-2025-4166).
fn response_error(err: &CoreError) -> (String, Option<String>) {
    let shown = |message: &str, login: bool| {
        if login {
            message.to_owned()
        } else {
            wrapped(message)
        }
    };
    match err {
        CoreError::InvalidToken | CoreError::PermissionDenied => {
            (wrapped("permission denied"), None)
        }
        CoreError::Backend {
            error: LogicalError::User(message),
            login,
        } => (shown("invalid request", *login), Some(message.clone())),
        CoreError::User(message) => (wrapped("invalid request"), Some(message.clone())),
        CoreError::Backend { error, login } => (shown(&error.to_string(), *login), None),
        CoreError::AuditFailed => (wrapped("internal error"), None),
        CoreError::Sealed | CoreError::NotInitialized | CoreError::NamespacesNotEnabled => {
            (err.to_string(), None)
        }
        other => (wrapped(&other.to_string()), None),
    }
}

impl Core {
    /// Writes the request entry, just before the backend runs; `req` is the routed request
    /// (its operation after the existence check is the one logged). With devices enabled
    /// and none able to write, the request must fail: [`CoreError::AuditFailed`].
    pub(crate) async fn audit_request(
        &self,
        active: &Active,
        audit: &mut AuditInput,
        req: &Request,
    ) -> Result<(), CoreError> {
        audit.operation = req.operation;
        audit.request_logged = true;
        if never_audited(&audit.path) || active.audit.is_empty() {
            return Ok(());
        }
        active.audit.log_request(audit, "").await
    }

    /// Writes the response entry for the final result of a request (and, for a request
    /// refused before the backend ran, its request entry first). Returns
    /// [`CoreError::AuditFailed`] when devices are enabled and none recorded the response,
    /// except for requests refused (bad token, ACL) before the backend ran, whose audit
    /// failures are only logged so that the client keeps its 403.
    pub(crate) async fn audit_response(
        &self,
        active: &Active,
        audit: &mut AuditInput,
        result: &Result<Handled, CoreError>,
    ) -> Result<(), CoreError> {
        if never_audited(&audit.path) || active.audit.is_empty() {
            return Ok(());
        }
        let refused = !audit.request_logged;
        let outcome = match result {
            Ok(handled) => Outcome {
                response: handled.response.as_ref(),
                ..Outcome::default()
            },
            Err(err) => {
                if !audit.request_logged {
                    audit.request_logged = true;
                    let (error, allowed) = refused_request(err);
                    audit.allowed = allowed;
                    if active.audit.log_request(audit, &error).await.is_err() {
                        tracing::error!(path = %audit.path, "failed to audit request");
                    }
                }
                let (error, error_data) = response_error(err);
                Outcome {
                    response: None,
                    error,
                    error_data,
                }
            }
        };
        match active.audit.log_response(audit, &outcome).await {
            Err(err) if refused && result.as_ref().is_err_and(is_denial) => {
                tracing::error!(path = %audit.path, error = %err, "failed to audit response");
                Ok(())
            }
            Err(err) => {
                tracing::error!(path = %audit.path, error = %err, "failed to audit response");
                Err(err)
            }
            Ok(()) => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_read_as_vaults_check_token_leaves_them() {
        assert_eq!(
            refused_request(&CoreError::InvalidToken),
            ("permission denied".into(), None)
        );
        assert_eq!(
            refused_request(&CoreError::PermissionDenied),
            (wrapped("permission denied"), Some(false))
        );
        assert!(is_denial(&CoreError::InvalidToken));
        assert!(!is_denial(&CoreError::AuditFailed));
        let user = CoreError::backend(LogicalError::user("bad input s3cret"));
        assert_eq!(
            response_error(&user),
            (wrapped("invalid request"), Some("bad input s3cret".into()))
        );
        let login = CoreError::Backend {
            error: LogicalError::coded(403, "service account name not authorized"),
            login: true,
        };
        assert_eq!(
            response_error(&login).0,
            "service account name not authorized"
        );
        assert!(never_audited("sys/health") && never_audited("sys/init/"));
        assert!(!never_audited("sys/seal"));
    }
}
