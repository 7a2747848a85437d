use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;

use crate::{Auth, Map, SecretString, TokenEntry};

/// What a request asks a backend to do, with Vault's names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Operation {
    /// Look up the entity alias a login would use, before any token exists.
    AliasLookahead,
    /// Write to a path that does not exist yet (decided by the existence check).
    Create,
    /// Remove what is at the path.
    Delete,
    /// Vault's HEAD-style header operation.
    Header,
    /// Describe the path (`?help=1`).
    Help,
    /// List the keys under a path.
    List,
    /// Apply a JSON merge patch.
    Patch,
    /// Read what is at the path.
    Read,
    /// Renew a lease or a token issued by this backend.
    Renew,
    /// Resolve the role named in a login request, for quotas.
    ResolveRole,
    /// Revoke a lease issued by this backend.
    Revoke,
    /// Roll back a failed write.
    Rollback,
    /// Write to a path that exists, or to a path without an existence check.
    Update,
}

impl Operation {
    /// Vault's name for the operation, as it appears in audit entries.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AliasLookahead => "alias-lookahead",
            Self::Create => "create",
            Self::Delete => "delete",
            Self::Header => "header",
            Self::Help => "help",
            Self::List => "list",
            Self::Patch => "patch",
            Self::Read => "read",
            Self::Renew => "renew",
            Self::ResolveRole => "resolve-role",
            Self::Revoke => "revoke",
            Self::Rollback => "rollback",
            Self::Update => "update",
        }
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a request came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection {
    /// The client address (the TCP peer, or the trusted forwarded-for address).
    pub remote_addr: IpAddr,
    /// The client port.
    pub remote_port: u16,
}

/// One request, as a backend sees it.
///
/// Before routing, `path` is the full logical path (`secret/data/app`); the router rewrites it
/// to be relative to the mount (`data/app`) and fills in the `mount_*` fields.
#[derive(Clone)]
pub struct Request {
    /// The request id, a UUID, echoed as `request_id`.
    pub id: String,
    /// The operation.
    pub operation: Operation,
    /// The path, relative to the mount once routed.
    pub path: String,
    /// Body fields (or query parameters for reads and lists).
    pub data: Map,
    /// The caller's token, if it sent one.
    pub client_token: Option<SecretString>,
    /// The accessor of the caller's token, once the token was looked up.
    pub client_token_accessor: String,
    /// The caller's token entry, once looked up (absent on unauthenticated paths).
    pub token_entry: Option<Arc<TokenEntry>>,
    /// The entity the caller's token belongs to, or empty.
    pub entity_id: String,
    /// Where the request came from, when known.
    pub connection: Option<Connection>,
    /// Request headers passed through to the backend, keyed by lower-case name.
    pub headers: BTreeMap<String, Vec<String>>,
    /// The mount path, with its trailing slash (`secret/`, `auth/kubernetes/`).
    pub mount_point: String,
    /// The mount's type (`kv`, `kubernetes`).
    pub mount_type: String,
    /// The mount's accessor (`kv_1a2b3c4d`, `auth_kubernetes_1a2b3c4d`).
    pub mount_accessor: String,
    /// For renewals: the auth being renewed, as it was issued.
    pub auth: Option<Auth>,
    /// True when the path needs no token.
    pub unauthenticated: bool,
    /// The response-wrapping TTL the client asked for (`X-Vault-Wrap-TTL`).
    pub wrap_ttl: Option<std::time::Duration>,
    /// Set by the core on login requests: where the auth method records why it refused.
    pub denials: Option<Arc<dyn crate::DenialSink>>,
}

impl Request {
    /// A request with the given operation, path and data, and nothing else set.
    pub fn new(operation: Operation, path: impl Into<String>, data: Map) -> Self {
        Self {
            id: String::new(),
            operation,
            path: path.into(),
            data,
            client_token: None,
            client_token_accessor: String::new(),
            token_entry: None,
            entity_id: String::new(),
            connection: None,
            headers: BTreeMap::new(),
            mount_point: String::new(),
            mount_type: String::new(),
            mount_accessor: String::new(),
            auth: None,
            unauthenticated: false,
            wrap_ttl: None,
            denials: None,
        }
    }
}

impl fmt::Debug for Request {
    // Request data can hold credentials (a login's `jwt`), so only the field names are shown.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Request")
            .field("id", &self.id)
            .field("operation", &self.operation)
            .field("path", &self.path)
            .field("data_keys", &self.data.keys().collect::<Vec<_>>())
            .field("mount_point", &self.mount_point)
            .field("mount_accessor", &self.mount_accessor)
            .field("connection", &self.connection)
            .finish_non_exhaustive()
    }
}
