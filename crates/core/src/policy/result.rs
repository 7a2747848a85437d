//! What an ACL check answers: the decision, and why.

use std::fmt;
use std::time::Duration;

use warden_logical::Operation;

use super::Capabilities;

/// Which kind of rule decided a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleKind {
    /// A rule without wildcards, matching the path exactly.
    Exact,
    /// A trailing-`*` rule.
    Prefix,
    /// A rule with `+` segments.
    SegmentWildcard,
}

/// The pattern that decided a request, as written in the policies (`secret/*`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatchedRule {
    /// The pattern.
    pub pattern: String,
    /// Its kind.
    pub kind: RuleKind,
}

/// Why a request was denied (for explaining denials; clients only see `permission denied`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Denial {
    /// No rule of any policy matches the path.
    NoMatchingRule,
    /// The matching pattern has `deny`.
    ExplicitDeny,
    /// The matching pattern lacks the capability the operation needs.
    MissingCapability(&'static str),
    /// The operation is not subject to ACLs and is never allowed through them.
    UnsupportedOperation(Operation),
    /// `max_wrapping_ttl`/`min_wrapping_ttl` is set and the request is not wrapped.
    WrappingRequired,
    /// The requested wrapping TTL is above `max_wrapping_ttl`.
    WrappingTtlTooLong(Duration),
    /// The requested wrapping TTL is below `min_wrapping_ttl`.
    WrappingTtlTooShort(Duration),
    /// Merged policies left `max_wrapping_ttl` below `min_wrapping_ttl`.
    WrappingTtlConflict,
    /// A `required_parameters` entry is missing from the request.
    MissingRequiredParameter(String),
    /// `denied_parameters` has `"*"`.
    AllParametersDenied,
    /// The parameter (or its value) is in `denied_parameters`.
    DeniedParameter(String),
    /// The parameter is not in `allowed_parameters`.
    ParameterNotAllowed(String),
    /// The parameter's value is not in its `allowed_parameters` list.
    ParameterValueNotAllowed(String),
}

impl fmt::Display for Denial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoMatchingRule => f.write_str("no policy rule matches the path"),
            Self::ExplicitDeny => f.write_str("the matching rule denies the path"),
            Self::MissingCapability(cap) => write!(f, "the matching rule lacks {cap:?}"),
            Self::UnsupportedOperation(op) => write!(f, "operation {op} is not allowed by ACLs"),
            Self::WrappingRequired => f.write_str("the rule requires a wrapped response"),
            Self::WrappingTtlTooLong(max) => {
                write!(
                    f,
                    "the wrapping TTL exceeds max_wrapping_ttl ({}s)",
                    max.as_secs()
                )
            }
            Self::WrappingTtlTooShort(min) => {
                write!(
                    f,
                    "the wrapping TTL is below min_wrapping_ttl ({}s)",
                    min.as_secs()
                )
            }
            Self::WrappingTtlConflict => {
                f.write_str("merged policies set max_wrapping_ttl below min_wrapping_ttl")
            }
            Self::MissingRequiredParameter(p) => write!(f, "required parameter {p:?} is missing"),
            Self::AllParametersDenied => f.write_str("all parameters are denied"),
            Self::DeniedParameter(p) => write!(f, "parameter {p:?} is denied"),
            Self::ParameterNotAllowed(p) => write!(f, "parameter {p:?} is not allowed"),
            Self::ParameterValueNotAllowed(p) => {
                write!(f, "the value of parameter {p:?} is not allowed")
            }
        }
    }
}

/// The answer to [`Acl::allow_operation`] (Vault's `ACLResults`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AclResult {
    /// The operation is allowed.
    pub allowed: bool,
    /// The matching rule has `sudo` (or the ACL is root): root-protected paths are allowed.
    pub root_privs: bool,
    /// The ACL is the `root` policy's.
    pub is_root: bool,
    /// The capabilities of the matching rule.
    pub capabilities: Capabilities,
    /// The policies granting the operation's capability on the matching rule.
    pub granting_policies: Vec<String>,
    /// The rule that decided, if any matched.
    pub matched: Option<MatchedRule>,
    /// Why the operation was denied, when it was.
    pub denial: Option<Denial>,
}
