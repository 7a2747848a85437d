//! ACL policies: parsing, templating, evaluation and the policy store.
//!
//! This follows Vault's `vault/policy.go`, `vault/acl.go`, `vault/policy_store.go` and
//! `sdk/helper/identitytpl` (read through OpenBao's copies and current Vault's files):
//!
//! - [`Policy::parse`] reads HCL (Vault's HCL1 dialect, see [`hcl`]) or JSON into
//!   [`PathRule`]s with Vault's validation and error strings;
//! - [`TemplateContext`] carries the identity data that `{{identity.entity.…}}` paths are
//!   rendered with;
//! - [`Acl`] merges the rules of a token's policies and answers
//!   [`Acl::allow_operation`], [`Acl::capabilities`] and [`Acl::has_mount_access`] with Vault's
//!   precedence rules (exact, then the best of the longest prefix and the segment-wildcard
//!   rules; `deny` only wins inside one merged pattern);
//! - [`PolicyStore`] keeps policies behind the barrier, with the built-in `default`, `root`
//!   and `response-wrapping` policies.
//!
//! Deliberate differences from Vault are listed on the items they concern: templated values
//! may not contain `/` (Vault only refuses `*` and `+` unless configured), and numeric
//! parameter values compare by value.

mod acl;
mod glue;
mod hcl;
mod hcl1;
mod params;
mod parse;
mod result;
mod store;
mod template;

#[cfg(test)]
mod acl_tests;
#[cfg(test)]
mod golden_tests;

use std::fmt;
use std::ops::BitOr;

pub use acl::Acl;
pub use parse::{PathRule, Policy};
pub use result::{AclResult, Denial, MatchedRule, RuleKind};
pub use store::{DEFAULT_POLICY, PolicyStore, RESPONSE_WRAPPING_POLICY};
pub use template::{AliasContext, GroupContext, TemplateContext};

/// A policy that failed to parse or an ACL that could not be built; the message is Vault's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct PolicyError(pub String);

/// A set of capabilities (Vault's capabilities bitmap).
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Capabilities(u32);

impl Capabilities {
    /// No capability.
    pub const NONE: Self = Self(0);
    /// `deny`: wipes every other capability of its rule.
    pub const DENY: Self = Self(1);
    /// `create`.
    pub const CREATE: Self = Self(1 << 1);
    /// `read`.
    pub const READ: Self = Self(1 << 2);
    /// `update`.
    pub const UPDATE: Self = Self(1 << 3);
    /// `delete`.
    pub const DELETE: Self = Self(1 << 4);
    /// `list`.
    pub const LIST: Self = Self(1 << 5);
    /// `sudo`: needed, besides the operation's capability, on root-protected paths.
    pub const SUDO: Self = Self(1 << 6);
    /// `patch`.
    pub const PATCH: Self = Self(1 << 7);
    /// `subscribe` (Vault's event subscriptions; accepted, unused by warden).
    pub const SUBSCRIBE: Self = Self(1 << 8);
    /// `recover` (Vault 1.20 snapshot recovery; accepted, unused by warden).
    pub const RECOVER: Self = Self(1 << 9);

    /// Every named capability, in the order Vault lists them in `sys/capabilities`.
    const LISTING: [(Self, &'static str); 9] = [
        (Self::SUDO, "sudo"),
        (Self::READ, "read"),
        (Self::LIST, "list"),
        (Self::UPDATE, "update"),
        (Self::DELETE, "delete"),
        (Self::CREATE, "create"),
        (Self::PATCH, "patch"),
        (Self::SUBSCRIBE, "subscribe"),
        (Self::RECOVER, "recover"),
    ];

    /// The capability named `name` (`deny` included), if it is one.
    pub fn from_name(name: &str) -> Option<Self> {
        if name == "deny" {
            return Some(Self::DENY);
        }
        Self::LISTING
            .iter()
            .find(|(_, n)| *n == name)
            .map(|(cap, _)| *cap)
    }

    /// Whether every capability of `other` is in `self`.
    pub fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0 && other.0 != 0
    }

    /// Whether the set is empty.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The raw bitmap.
    pub fn bits(self) -> u32 {
        self.0
    }

    /// Each single capability in the set.
    pub(crate) fn each(self) -> impl Iterator<Item = Self> {
        (0..10)
            .map(|bit| Self(1 << bit))
            .filter(move |cap| self.contains(*cap))
    }

    /// The names in Vault's listing order: `["deny"]` for an explicit deny or an empty set.
    pub fn names(self) -> Vec<&'static str> {
        let names: Vec<&'static str> = Self::LISTING
            .iter()
            .filter(|(cap, _)| self.contains(*cap))
            .map(|(_, name)| *name)
            .collect();
        if self.contains(Self::DENY) || names.is_empty() {
            vec!["deny"]
        } else {
            names
        }
    }

    /// The name of a single capability.
    pub fn name(self) -> &'static str {
        if self == Self::DENY {
            return "deny";
        }
        Self::LISTING
            .iter()
            .find(|(cap, _)| *cap == self)
            .map_or("unknown", |(_, name)| *name)
    }
}

impl BitOr for Capabilities {
    type Output = Self;

    fn bitor(self, rhs: Self) -> Self {
        Self(self.0 | rhs.0)
    }
}

impl fmt::Debug for Capabilities {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return f.write_str("[]");
        }
        let mut names: Vec<&str> = Vec::new();
        if self.contains(Self::DENY) {
            names.push("deny");
        }
        names.extend(
            Self::LISTING
                .iter()
                .filter(|(cap, _)| self.contains(*cap))
                .map(|(_, name)| *name),
        );
        f.debug_list().entries(names).finish()
    }
}

/// go-multierror's text for a list of errors (`1 error occurred:\n\t* …\n\n`).
pub(crate) fn multierror(errors: &[String]) -> String {
    if errors.len() == 1 {
        return format!("1 error occurred:\n\t* {}\n\n", errors[0]);
    }
    let points: Vec<String> = errors.iter().map(|e| format!("* {e}")).collect();
    format!(
        "{} errors occurred:\n\t{}\n\n",
        errors.len(),
        points.join("\n\t")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capability_names_follow_vault_order() {
        let caps = Capabilities::CREATE | Capabilities::READ | Capabilities::SUDO;
        assert_eq!(caps.names(), ["sudo", "read", "create"]);
        assert_eq!(Capabilities::NONE.names(), ["deny"]);
        assert_eq!(Capabilities::DENY.names(), ["deny"]);
        assert_eq!(Capabilities::from_name("patch"), Some(Capabilities::PATCH));
        assert_eq!(Capabilities::from_name("write"), None);
        assert_eq!(caps.each().count(), 3);
        assert_eq!(format!("{caps:?}"), "[\"sudo\", \"read\", \"create\"]");
    }

    #[test]
    fn multierror_text() {
        assert_eq!(multierror(&["a".into()]), "1 error occurred:\n\t* a\n\n");
        assert_eq!(
            multierror(&["a".into(), "b".into()]),
            "2 errors occurred:\n\t* a\n\t* b\n\n"
        );
    }
}
