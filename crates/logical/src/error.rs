/// Why a backend refused or failed a request.
///
/// The variants are classes, not status codes: `warden-server`'s `respond.rs` is the one place
/// that turns them into Vault's status codes and `{"errors":[…]}` bodies. Messages clients see
/// are Vault's exact strings.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LogicalError {
    /// An error with an explicit status and message (Vault's `logical.CodedError`), e.g. the
    /// kubernetes method's 403 `service account name not authorized`.
    #[error("{message}")]
    Coded {
        /// The HTTP status the client gets.
        status: u16,
        /// The message, shown verbatim.
        message: String,
    },
    /// A failure that is not the caller's fault (storage, a bug). The message is shown to the
    /// client, as Vault does, so it must never contain a secret.
    #[error("{0}")]
    Internal(String),
    /// The request is malformed in a way Vault reports as `invalid request`.
    #[error("invalid request")]
    InvalidRequest,
    /// The caller may not do this (Vault's `logical.ErrPermissionDenied`).
    #[error("permission denied")]
    PermissionDenied,
    /// The server is sealed; storage behind the barrier cannot be read.
    #[error("Vault is sealed")]
    Sealed,
    /// The path exists but does not support the operation.
    #[error("unsupported operation")]
    UnsupportedOperation,
    /// No path of the backend matches.
    #[error("unsupported path")]
    UnsupportedPath,
    /// The caller's input is wrong (Vault's `logical.ErrorResponse`): status 400, message
    /// shown verbatim and never wrapped.
    #[error("{0}")]
    User(String),
}

impl LogicalError {
    /// A 400 error with a message, like Vault's `logical.ErrorResponse`.
    pub fn user(message: impl Into<String>) -> Self {
        Self::User(message.into())
    }

    /// An error with an explicit status, like Vault's `logical.CodedError`.
    pub fn coded(status: u16, message: impl Into<String>) -> Self {
        Self::Coded {
            status,
            message: message.into(),
        }
    }

    /// An internal failure with a message that is safe to show.
    pub fn internal(message: impl std::fmt::Display) -> Self {
        Self::Internal(message.to_string())
    }
}
