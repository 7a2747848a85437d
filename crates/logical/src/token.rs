use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::{SecretString, TokenType};

/// A token as the token store keeps it (Vault's `logical.TokenEntry`).
///
/// Durations are whole seconds; `creation_time` is Unix seconds. The entry is stored behind the
/// barrier under a salted hash of `id`, never under the id itself.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenEntry {
    /// `service` or `batch`.
    #[serde(rename = "type")]
    pub token_type: TokenType,
    /// The token the client presents.
    pub id: SecretString,
    /// The accessor, a second handle that can look up and revoke but not use the token.
    #[serde(default)]
    pub accessor: String,
    /// The parent token's id, or empty for orphans.
    #[serde(default)]
    pub parent: SecretString,
    /// Policies attached to the token, sorted.
    #[serde(default)]
    pub policies: Vec<String>,
    /// The path that created the token (`auth/token/create`, `auth/kubernetes/login`).
    #[serde(default)]
    pub path: String,
    /// Metadata shown in lookups.
    #[serde(default)]
    pub meta: BTreeMap<String, String>,
    /// Metadata kept for the core and the issuing backend, never shown.
    #[serde(default)]
    pub internal_meta: BTreeMap<String, String>,
    /// The display name (`root`, `token`, `kubernetes-default-app`).
    #[serde(default)]
    pub display_name: String,
    /// Remaining uses; 0 is unlimited, -1 marks a token being revoked after its last use.
    #[serde(default)]
    pub num_uses: i64,
    /// Creation time, Unix seconds.
    #[serde(default)]
    pub creation_time: i64,
    /// The TTL the token was created with, in seconds; 0 only for root tokens.
    #[serde(default)]
    pub ttl: u64,
    /// A hard limit on the token's life in seconds; 0 is none.
    #[serde(default)]
    pub explicit_max_ttl: u64,
    /// The token role used to create the token, if any.
    #[serde(default)]
    pub role: String,
    /// The renewal period in seconds for periodic tokens; 0 is not periodic.
    #[serde(default)]
    pub period: u64,
    /// The identity entity the token belongs to.
    #[serde(default)]
    pub entity_id: String,
    /// When true, entity and group policies do not apply to this token.
    #[serde(default)]
    pub no_identity_policies: bool,
    /// CIDR blocks the token may be used from.
    #[serde(default)]
    pub bound_cidrs: Vec<String>,
    /// The namespace, always `root` here.
    #[serde(default)]
    pub namespace_id: String,
    /// The id of the token's private cubbyhole storage.
    #[serde(default)]
    pub cubbyhole_id: String,
}

impl TokenEntry {
    /// Whether the token carries the `root` policy.
    pub fn is_root(&self) -> bool {
        self.policies.iter().any(|policy| policy == "root")
    }
}
