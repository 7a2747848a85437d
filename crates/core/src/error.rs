use warden_logical::LogicalError;

use crate::barrier::BarrierError;
use crate::seal::SealError;

/// Why the core refused or failed a request.
///
/// Variants are classes with the client-visible message, never a status code:
/// `warden-server`'s `respond.rs` is the one place that maps them to Vault's statuses and
/// `{"errors":[…]}` bodies.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CoreError {
    /// The barrier is sealed (or the server was never initialized).
    #[error("Vault is sealed")]
    Sealed,
    /// An operation that needs an initialized server ran on an uninitialized one.
    #[error("Vault is not initialized")]
    NotInitialized,
    /// The token is valid but its policies do not allow the request.
    #[error("permission denied")]
    PermissionDenied,
    /// No token, or one that is unknown, expired or revoked.
    #[error("invalid token")]
    InvalidToken,
    /// No mount serves the path.
    #[error("no handler for route {path:?}. route entry not found.")]
    NoRoute {
        /// The logical path that was requested.
        path: String,
    },
    /// A backend (or the sys backend) refused or failed the request.
    #[error("{error}")]
    Backend {
        /// What the backend said.
        error: LogicalError,
        /// Login requests return backend errors as they are; every other request wraps
        /// non-user errors in Vault's multierror text.
        login: bool,
    },
    /// The seal refused an init or unseal call.
    #[error(transparent)]
    Seal(#[from] SealError),
    /// The caller's input is wrong (400, message shown verbatim).
    #[error("{0}")]
    User(String),
    /// A non-root namespace was named; warden, like Vault CE, has only the root namespace.
    #[error("namespaces feature not enabled")]
    NamespacesNotEnabled,
    /// Something failed that is not the caller's fault; the message is logged, and shown
    /// to the client wrapped like Vault's internal errors, so it must not hold secrets.
    #[error("{0}")]
    Internal(String),
    /// Audit devices are enabled and none could record the request or its response: the
    /// request fails closed, and the client sees only Vault's `internal error`.
    #[error("internal error")]
    AuditFailed,
}

impl CoreError {
    /// An internal failure with a message that is safe to show.
    pub fn internal(message: impl std::fmt::Display) -> Self {
        Self::Internal(message.to_string())
    }

    /// A backend error on a non-login request.
    pub fn backend(error: LogicalError) -> Self {
        Self::Backend {
            error,
            login: false,
        }
    }
}

impl From<BarrierError> for CoreError {
    fn from(error: BarrierError) -> Self {
        if matches!(error, BarrierError::Sealed) {
            Self::Sealed
        } else {
            Self::Internal(error.to_string())
        }
    }
}

impl From<LogicalError> for CoreError {
    fn from(error: LogicalError) -> Self {
        Self::backend(error)
    }
}
