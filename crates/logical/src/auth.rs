use std::collections::BTreeMap;
use std::fmt;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use crate::{Map, SecretString};

/// The kind of token a login or a token role produces.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TokenType {
    /// Batch tokens: encrypted, self-contained, never stored.
    #[serde(rename = "batch")]
    Batch,
    /// Whatever the mount's default is.
    #[default]
    #[serde(rename = "default")]
    Default,
    /// Batch unless the role asks for service.
    #[serde(rename = "default-batch")]
    DefaultBatch,
    /// Service unless the role asks for batch (the default for auth mounts).
    #[serde(rename = "default-service")]
    DefaultService,
    /// Service tokens: stored, renewable, with accessors.
    #[serde(rename = "service")]
    Service,
}

impl TokenType {
    /// Vault's name for the type.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Batch => "batch",
            Self::Default => "default",
            Self::DefaultBatch => "default-batch",
            Self::DefaultService => "default-service",
            Self::Service => "service",
        }
    }

    /// Parses Vault's names; `""` means [`TokenType::Default`].
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "" | "default" => Some(Self::Default),
            "batch" => Some(Self::Batch),
            "default-batch" => Some(Self::DefaultBatch),
            "default-service" => Some(Self::DefaultService),
            "service" => Some(Self::Service),
            _ => None,
        }
    }
}

impl fmt::Display for TokenType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Lease timing shared by tokens and leased secrets. A zero duration means "not set": the
/// core's TTL calculation then falls back to the mount and system values.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LeaseOptions {
    /// The requested TTL.
    pub ttl: Duration,
    /// The backend's maximum TTL for this lease.
    pub max_ttl: Duration,
    /// Whether the lease may be renewed.
    pub renewable: bool,
    /// On renewal: the increment the client asked for.
    pub increment: Duration,
    /// When the lease was first issued (set by the core).
    pub issue_time: Option<SystemTime>,
}

/// An identity alias: the name under which an auth method knows the caller.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alias {
    /// The alias name (a service account UID, a JWT `sub`, a group name).
    pub name: String,
    /// The auth mount's type, filled in by the core.
    #[serde(default)]
    pub mount_type: String,
    /// The auth mount's accessor, filled in by the core.
    #[serde(default)]
    pub mount_accessor: String,
    /// Alias metadata, usable in policy templates.
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
}

/// What a successful login (or a token renewal) returns: the properties of the token the core
/// will mint. Mirrors Vault's `logical.Auth`.
#[derive(Debug, Clone, Default)]
pub struct Auth {
    /// TTL, max TTL and renewability.
    pub lease: LeaseOptions,
    /// The token type the backend asks for.
    pub token_type: TokenType,
    /// Data kept with the token, never shown to the client (e.g. the role name for renewal).
    pub internal_data: Map,
    /// Becomes the token's display name (prefixed with the mount path).
    pub display_name: String,
    /// All policies (token plus identity), sorted, as returned to the client.
    pub policies: Vec<String>,
    /// Policies attached to the token itself.
    pub token_policies: Vec<String>,
    /// Policies that come from the entity and its groups.
    pub identity_policies: Vec<String>,
    /// When true, `default` is not added to the token's policies.
    pub no_default_policy: bool,
    /// Metadata shown to the client and kept on the token (`role`, service account fields…).
    pub metadata: BTreeMap<String, String>,
    /// The minted token, filled in by the core.
    pub client_token: Option<SecretString>,
    /// The minted token's accessor, filled in by the core.
    pub accessor: String,
    /// For periodic tokens: the period.
    pub period: Duration,
    /// A hard limit on the token's lifetime, whatever renewals happen.
    pub explicit_max_ttl: Duration,
    /// How many uses the token has; 0 is unlimited.
    pub num_uses: i64,
    /// The entity the token belongs to, filled in by the core.
    pub entity_id: String,
    /// The alias that identifies the caller to the identity store.
    pub alias: Option<Alias>,
    /// Group aliases (e.g. from a JWT `groups` claim).
    pub group_aliases: Vec<Alias>,
    /// CIDR blocks the token may be used from.
    pub bound_cidrs: Vec<String>,
    /// Whether the token has no parent; true for every login.
    pub orphan: bool,
}
