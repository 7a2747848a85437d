use std::fmt;

use crate::{Auth, LeaseOptions, Map, SecretString};

/// A leased secret in a response (Vault's `logical.Secret`).
#[derive(Debug, Clone, Default)]
pub struct Secret {
    /// Lease timing.
    pub lease: LeaseOptions,
    /// Data the backend needs to renew or revoke the lease, never shown.
    pub internal_data: Map,
    /// The lease id, filled in by the core.
    pub lease_id: String,
}

/// A response that is not Vault's JSON envelope (metrics, OpenAPI documents).
#[derive(Clone, PartialEq, Eq)]
pub struct RawBody {
    /// The `Content-Type` to send.
    pub content_type: String,
    /// The body bytes.
    pub body: Vec<u8>,
}

impl fmt::Debug for RawBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RawBody")
            .field("content_type", &self.content_type)
            .field("len", &self.body.len())
            .finish()
    }
}

/// A backend's answer. `None` in place of a response means "nothing to say": a write answers
/// 204 and a read answers 404.
#[derive(Debug, Clone, Default)]
pub struct Response {
    /// The `data` object.
    pub data: Option<Map>,
    /// Warnings shown to the client.
    pub warnings: Vec<String>,
    /// Set by logins and token creation.
    pub auth: Option<Auth>,
    /// Set when the response carries a leased secret.
    pub secret: Option<Secret>,
    /// A path to redirect the client to.
    pub redirect: Option<String>,
    /// Overrides the status code of an otherwise normal response (Vault's
    /// `RespondWithStatusCode`, e.g. KV v2's 404 with the metadata of a deleted version).
    pub status_code: Option<u16>,
    /// Replaces the JSON envelope with a raw body.
    pub raw: Option<RawBody>,
    /// Set by the core when the response was wrapped: the client then sees only this.
    pub wrap_info: Option<WrapInfo>,
}

/// A wrapped response's handle (Vault's `wrap_info`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WrapInfo {
    /// The single-use wrapping token.
    pub token: SecretString,
    /// The wrapping token's accessor.
    pub accessor: String,
    /// How long the wrapping token lives.
    pub ttl: std::time::Duration,
    /// When it was made (RFC 3339 with nanoseconds).
    pub creation_time: String,
    /// The path whose response was wrapped.
    pub creation_path: String,
    /// The accessor of the token inside the wrapped response, if it holds one.
    pub wrapped_accessor: String,
}

impl Response {
    /// A response carrying only `data`.
    pub fn with_data(data: Map) -> Self {
        Self {
            data: Some(data),
            ..Self::default()
        }
    }

    /// Adds a warning.
    pub fn add_warning(&mut self, warning: impl Into<String>) {
        self.warnings.push(warning.into());
    }
}
