//! What the token store keeps per token: Vault's token entry plus its lease times.

use serde::{Deserialize, Serialize};
use warden_logical::TokenEntry;

/// Nanoseconds since the Unix epoch.
pub type UnixNanos = i64;

/// The lease of a token: when it was issued, when it expires, and whether it may be renewed.
/// Tokens with no TTL (root tokens) have no lease.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenLease {
    /// When the token was issued.
    pub issue_time: UnixNanos,
    /// When the token expires.
    pub expire_time: UnixNanos,
    /// The last successful renewal, if any.
    #[serde(default)]
    pub last_renewal: Option<UnixNanos>,
    /// Whether renewals are allowed.
    pub renewable: bool,
    /// The TTL the backend (role) asked for, used again on renewal.
    #[serde(default)]
    pub backend_ttl: u64,
    /// The backend's (role's) maximum TTL, used again on renewal.
    #[serde(default)]
    pub backend_max_ttl: u64,
}

/// A stored token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenRecord {
    /// Vault's token entry.
    pub entry: TokenEntry,
    /// The lease, absent for tokens that never expire.
    #[serde(default)]
    pub lease: Option<TokenLease>,
    /// Set while the token is being revoked: it is no longer usable, and a crash in the middle
    /// leaves a marker the expiration sweep finishes.
    #[serde(default)]
    pub revoking: bool,
}

impl TokenRecord {
    /// Whether the token is past its expiry at `now`.
    pub fn expired_at(&self, now: UnixNanos) -> bool {
        self.lease
            .as_ref()
            .is_some_and(|lease| lease.expire_time <= now)
    }

    /// Whole seconds left at `now`; 0 without a lease.
    pub fn remaining_secs(&self, now: UnixNanos) -> u64 {
        self.lease.as_ref().map_or(0, |lease| {
            u64::try_from((lease.expire_time - now).max(0) / 1_000_000_000).unwrap_or(0)
        })
    }
}

/// Now, in nanoseconds since the Unix epoch.
pub fn now_nanos() -> UnixNanos {
    i64::try_from(time::OffsetDateTime::now_utc().unix_timestamp_nanos()).unwrap_or(i64::MAX)
}

/// RFC 3339 with nanoseconds, as Go prints `time.Time` in JSON.
pub fn rfc3339(nanos: UnixNanos) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(nanos))
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}
