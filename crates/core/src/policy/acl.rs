//! The ACL of a set of policies (Vault's `NewACL`, `AllowOperation`, `Capabilities`,
//! `CheckAllowedFromNonExactPaths` and the system backend's `hasMountAccess`).
//!
//! Rules for the same pattern are merged; a request is decided by exactly one merged
//! pattern: the exact rule, else the highest-priority of the longest prefix rule and the
//! matching segment-wildcard rules. So a `deny` on `secret/*` does not stop an allow on the
//! exact path `secret/foo`: `deny` wins only inside one pattern.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use time::OffsetDateTime;
use warden_logical::{Map, Operation};

use super::params::{allowed, denied};
use super::result::{AclResult, Denial, MatchedRule, RuleKind};
use super::template::TemplateContext;
use super::{Capabilities, PathRule, Policy, PolicyError};

/// The merged permissions of one pattern (Vault's `ACLPermissions`).
#[derive(Debug, Clone, Default)]
struct Permissions {
    capabilities: Capabilities,
    min_wrapping_ttl: Duration,
    max_wrapping_ttl: Duration,
    allowed_parameters: BTreeMap<String, Vec<Value>>,
    denied_parameters: BTreeMap<String, Vec<Value>>,
    required_parameters: Vec<String>,
    /// Per single capability, the policies that grant it.
    granting: BTreeMap<u32, Vec<String>>,
}

impl Permissions {
    fn grant(&mut self, policy: &str, capabilities: Capabilities) {
        for cap in capabilities.each() {
            self.granting
                .entry(cap.bits())
                .or_default()
                .push(policy.to_owned());
        }
    }

    fn from_rule(policy: &str, rule: &PathRule) -> Self {
        let mut perms = Self {
            capabilities: rule.capabilities,
            min_wrapping_ttl: rule.min_wrapping_ttl,
            max_wrapping_ttl: rule.max_wrapping_ttl,
            allowed_parameters: rule.allowed_parameters.clone(),
            denied_parameters: rule.denied_parameters.clone(),
            required_parameters: rule.required_parameters.clone(),
            granting: BTreeMap::new(),
        };
        perms.grant(policy, rule.capabilities);
        perms
    }

    /// Merges a later rule for the same pattern into this one.
    fn merge(&mut self, policy: &str, rule: &PathRule) {
        if self.capabilities.contains(Capabilities::DENY) {
            return;
        }
        if rule.capabilities.contains(Capabilities::DENY) {
            self.capabilities = Capabilities::DENY;
            self.allowed_parameters.clear();
            self.denied_parameters.clear();
            return;
        }
        self.capabilities = self.capabilities | rule.capabilities;
        self.grant(policy, rule.capabilities);
        // The smaller positive value wins for each bound.
        let smaller = |current: Duration, new: Duration| {
            if !new.is_zero() && (current.is_zero() || new < current) {
                new
            } else {
                current
            }
        };
        self.max_wrapping_ttl = smaller(self.max_wrapping_ttl, rule.max_wrapping_ttl);
        self.min_wrapping_ttl = smaller(self.min_wrapping_ttl, rule.min_wrapping_ttl);
        merge_parameters(&mut self.allowed_parameters, &rule.allowed_parameters);
        merge_parameters(&mut self.denied_parameters, &rule.denied_parameters);
        for name in &rule.required_parameters {
            if !self.required_parameters.contains(name) {
                self.required_parameters.push(name.clone());
            }
        }
    }
}

/// Unions value lists; an empty list ("any value") on either side wins.
fn merge_parameters(into: &mut BTreeMap<String, Vec<Value>>, from: &BTreeMap<String, Vec<Value>>) {
    for (key, values) in from {
        match into.get_mut(key) {
            Some(existing) if existing.is_empty() => {}
            Some(existing) if values.is_empty() => existing.clear(),
            Some(existing) => {
                let mut merged = values.clone();
                merged.append(existing);
                *existing = merged;
            }
            None => {
                into.insert(key.clone(), values.clone());
            }
        }
    }
}

#[derive(Debug, Default)]
struct Rules {
    root: bool,
    exact: BTreeMap<String, Permissions>,
    prefix: BTreeMap<String, Permissions>,
    segment: BTreeMap<String, Permissions>,
}

/// The compiled ACL of a token's policies. Cloning is cheap.
#[derive(Debug, Clone)]
pub struct Acl {
    rules: Arc<Rules>,
}

/// A candidate of the non-exact lookup (Vault's `wcPathDescr`).
struct Candidate<'a> {
    first_wildcard: usize,
    wildcards: usize,
    is_prefix: bool,
    path: &'a str,
    perms: &'a Permissions,
    matched: MatchedRule,
}

/// Vault's priority order; `Greater` means `a` wins.
fn priority(a: &Candidate<'_>, b: &Candidate<'_>) -> Ordering {
    a.first_wildcard
        .cmp(&b.first_wildcard)
        .then_with(|| b.is_prefix.cmp(&a.is_prefix))
        .then_with(|| b.wildcards.cmp(&a.wildcards))
        .then_with(|| a.path.len().cmp(&b.path.len()))
        .then_with(|| a.path.cmp(b.path))
}

impl Acl {
    /// Builds the ACL of `policies`; templated policies are rendered with `ctx` first.
    pub fn new(
        policies: &[Arc<Policy>],
        ctx: Option<&TemplateContext>,
    ) -> Result<Self, PolicyError> {
        let mut rules = Rules::default();
        let now = OffsetDateTime::now_utc();
        for policy in policies {
            if policy.name == "root" {
                if policies.len() != 1 {
                    return Err(PolicyError(
                        "other policies present along with root".to_owned(),
                    ));
                }
                rules.root = true;
            }
            let rendered;
            let policy_rules = if policy.templated {
                rendered = policy.render(ctx)?;
                &rendered.rules
            } else {
                &policy.rules
            };
            for rule in policy_rules {
                if rule.expiration.is_some_and(|at| now > at) {
                    continue;
                }
                let map = if rule.has_segment_wildcards {
                    &mut rules.segment
                } else if rule.is_prefix {
                    &mut rules.prefix
                } else {
                    &mut rules.exact
                };
                match map.get_mut(&rule.path) {
                    Some(existing) => existing.merge(&policy.name, rule),
                    None => {
                        map.insert(
                            rule.path.clone(),
                            Permissions::from_rule(&policy.name, rule),
                        );
                    }
                }
            }
        }
        Ok(Self {
            rules: Arc::new(rules),
        })
    }

    /// The ACL of the `root` policy.
    pub fn root() -> Self {
        Self {
            rules: Arc::new(Rules {
                root: true,
                ..Rules::default()
            }),
        }
    }

    /// Whether this is the root ACL.
    pub fn is_root(&self) -> bool {
        self.rules.root
    }

    fn non_exact<'a>(&'a self, path: &str) -> Option<(&'a Permissions, MatchedRule)> {
        let rules = &*self.rules;
        let mut candidates = Vec::new();
        let longest = (0..=path.len())
            .rev()
            .filter(|&i| path.is_char_boundary(i))
            .find_map(|i| rules.prefix.get_key_value(&path[..i]));
        if let Some((prefix, perms)) = longest {
            let matched = MatchedRule {
                pattern: format!("{prefix}*"),
                kind: RuleKind::Prefix,
            };
            if rules.segment.is_empty() {
                return Some((perms, matched));
            }
            candidates.push(Candidate {
                first_wildcard: prefix.len(),
                wildcards: 0,
                is_prefix: true,
                path: prefix,
                perms,
                matched,
            });
        }
        let parts: Vec<&str> = path.split('/').collect();
        'rules: for (full, perms) in &rules.segment {
            if full.is_empty() {
                continue;
            }
            let (current, is_prefix) = match full.strip_suffix('*') {
                Some(stripped) => (stripped, true),
                None => (full.as_str(), false),
            };
            let acl_parts: Vec<&str> = current.split('/').collect();
            if parts.len() < acl_parts.len() || (!is_prefix && acl_parts.len() != parts.len()) {
                continue;
            }
            let mut wildcards = 0;
            for (i, acl_part) in acl_parts.iter().enumerate() {
                if *acl_part == "+" {
                    wildcards += 1;
                } else if *acl_part != parts[i]
                    && !(is_prefix && i == acl_parts.len() - 1 && parts[i].starts_with(acl_part))
                {
                    continue 'rules;
                }
            }
            candidates.push(Candidate {
                first_wildcard: full.find('+').unwrap_or(full.len()),
                wildcards,
                is_prefix,
                path: current,
                perms,
                matched: MatchedRule {
                    pattern: full.clone(),
                    kind: RuleKind::SegmentWildcard,
                },
            });
        }
        candidates
            .into_iter()
            .max_by(priority)
            .map(|c| (c.perms, c.matched))
    }

    /// Vault's lookup order for one path.
    fn lookup<'a>(&'a self, path: &str, list: bool) -> Option<(&'a Permissions, MatchedRule)> {
        let exact = |p: &str| {
            self.rules.exact.get(p).map(|perms| {
                let matched = MatchedRule {
                    pattern: p.to_owned(),
                    kind: RuleKind::Exact,
                };
                (perms, matched)
            })
        };
        if let Some(found) = exact(path) {
            return Some(found);
        }
        let trimmed = path.strip_suffix('/');
        if list && let Some(found) = trimmed.and_then(exact) {
            return Some(found);
        }
        if let Some(found) = self.non_exact(path) {
            return Some(found);
        }
        // Vault PR #23874: LIST retries the wildcard rules without the trailing slash, so
        // `+/sys/policies/acl` allows `LIST ns/sys/policies/acl/`. Current Vault tries the
        // slash-less path *before* the full one; warden (like OpenBao) tries it after, so
        // the more specific rule decides: `meta/*` list with `meta/private/*` deny denies
        // `LIST meta/private/` (Vault allows it), and `secret/*` deny with `secret/open/*`
        // list allows `LIST secret/open/` (Vault denies it).
        if list {
            return trimmed.and_then(|p| self.non_exact(p));
        }
        None
    }

    /// Decides one request: `data` is its body or query, `wrap_ttl` the requested
    /// response-wrapping TTL (`X-Vault-Wrap-TTL`), if any.
    pub fn allow_operation(
        &self,
        op: Operation,
        path: &str,
        data: Option<&Map>,
        wrap_ttl: Option<Duration>,
    ) -> AclResult {
        let mut ret = AclResult::default();
        if self.rules.root {
            ret.allowed = true;
            ret.root_privs = true;
            ret.is_root = true;
            ret.granting_policies = vec!["root".to_owned()];
            return ret;
        }
        if op == Operation::Help {
            ret.allowed = true;
            return ret;
        }
        let path = path.trim_start_matches('/');
        let Some((perms, matched)) = self.lookup(path, op == Operation::List) else {
            ret.denial = Some(Denial::NoMatchingRule);
            return ret;
        };
        ret.capabilities = perms.capabilities;
        ret.root_privs = perms.capabilities.contains(Capabilities::SUDO);
        ret.matched = Some(matched);
        let needed = match op {
            Operation::Read => Capabilities::READ,
            Operation::List => Capabilities::LIST,
            Operation::Update | Operation::Revoke | Operation::Renew | Operation::Rollback => {
                Capabilities::UPDATE
            }
            Operation::Delete => Capabilities::DELETE,
            Operation::Create => Capabilities::CREATE,
            Operation::Patch => Capabilities::PATCH,
            other => {
                ret.denial = Some(Denial::UnsupportedOperation(other));
                return ret;
            }
        };
        if !perms.capabilities.contains(needed) {
            ret.denial = Some(if perms.capabilities.contains(Capabilities::DENY) {
                Denial::ExplicitDeny
            } else {
                Denial::MissingCapability(needed.name())
            });
            return ret;
        }
        ret.granting_policies = perms
            .granting
            .get(&needed.bits())
            .cloned()
            .unwrap_or_default();
        if let Some(denial) = check_wrapping(perms, wrap_ttl).or_else(|| {
            matches!(
                op,
                Operation::Read | Operation::Update | Operation::Create | Operation::Patch
            )
            .then(|| check_parameters(perms, data))
            .flatten()
        }) {
            ret.denial = Some(denial);
            return ret;
        }
        ret.allowed = true;
        ret
    }

    /// The capabilities on `path` as `sys/capabilities` reports them: `["root"]` for root,
    /// `["deny"]` for none, else Vault's order (sudo, read, list, update, delete, create,
    /// patch, …).
    pub fn capabilities(&self, path: &str) -> Vec<String> {
        if self.rules.root {
            return vec!["root".to_owned()];
        }
        let caps = self
            .lookup(path.trim_start_matches('/'), true)
            .map_or(Capabilities::NONE, |(perms, _)| perms.capabilities);
        caps.names().into_iter().map(str::to_owned).collect()
    }

    /// Vault's `hasMountAccess`: whether the ACL grants any non-deny capability on the mount
    /// path (`secret/`) or on any path under it.
    pub fn has_mount_access(&self, mount_path: &str) -> bool {
        if !self.capabilities(mount_path).iter().any(|c| c == "deny") {
            return true;
        }
        let grants = |perms: &Permissions| {
            !perms.capabilities.contains(Capabilities::DENY) && !perms.capabilities.is_empty()
        };
        let under = |map: &BTreeMap<String, Permissions>| {
            map.range(mount_path.to_owned()..)
                .take_while(|(key, _)| key.starts_with(mount_path))
                .any(|(_, perms)| grants(perms))
        };
        if under(&self.rules.exact) || under(&self.rules.prefix) {
            return true;
        }
        self.segment_mount_access(mount_path)
    }

    /// The bare-mount branch of `CheckAllowedFromNonExactPaths`.
    fn segment_mount_access(&self, mount_path: &str) -> bool {
        let parts: Vec<&str> = mount_path.split('/').collect();
        if parts.len() < 2 {
            return false;
        }
        for (full, perms) in &self.rules.segment {
            if full.is_empty() {
                continue;
            }
            let (current, is_prefix) = match full.strip_suffix('*') {
                Some(stripped) => (stripped, true),
                None => (full.as_str(), false),
            };
            let acl_parts: Vec<&str> = current.split('/').collect();
            let mut segments: Vec<&str> = Vec::new();
            for (i, acl_part) in acl_parts.iter().enumerate() {
                if *acl_part == "+" || *acl_part == parts[i] {
                    segments.push(parts[i]);
                } else if is_prefix && i == acl_parts.len() - 1 && parts[i].starts_with(acl_part) {
                    segments.extend(&parts[i..]);
                }
                if i == parts.len() - 2 {
                    let joined = format!("{}/", segments.join("/"));
                    if joined.starts_with(mount_path)
                        && !perms.capabilities.contains(Capabilities::DENY)
                        && !perms.capabilities.is_empty()
                    {
                        return true;
                    }
                    break;
                }
            }
        }
        false
    }
}

fn check_wrapping(perms: &Permissions, wrap_ttl: Option<Duration>) -> Option<Denial> {
    let (min, max) = (perms.min_wrapping_ttl, perms.max_wrapping_ttl);
    if !max.is_zero() {
        match wrap_ttl {
            None => return Some(Denial::WrappingRequired),
            Some(ttl) if ttl > max => return Some(Denial::WrappingTtlTooLong(max)),
            Some(_) => {}
        }
    }
    if !min.is_zero() {
        match wrap_ttl {
            None => return Some(Denial::WrappingRequired),
            Some(ttl) if ttl < min => return Some(Denial::WrappingTtlTooShort(min)),
            Some(_) => {}
        }
    }
    (!min.is_zero() && !max.is_zero() && max < min).then_some(Denial::WrappingTtlConflict)
}

fn check_parameters(perms: &Permissions, data: Option<&Map>) -> Option<Denial> {
    let empty = Map::new();
    let data = data.unwrap_or(&empty);
    for name in &perms.required_parameters {
        if !data.contains_key(&name.to_lowercase()) {
            return Some(Denial::MissingRequiredParameter(name.clone()));
        }
    }
    if data.is_empty() {
        return None;
    }
    if !perms.denied_parameters.is_empty() {
        if perms.denied_parameters.contains_key("*") {
            return Some(Denial::AllParametersDenied);
        }
        for (name, value) in data {
            if let Some(list) = perms.denied_parameters.get(&name.to_lowercase())
                && denied(value, list)
            {
                return Some(Denial::DeniedParameter(name.clone()));
            }
        }
    }
    if perms.allowed_parameters.is_empty() {
        return None;
    }
    let allowed_all = perms.allowed_parameters.contains_key("*");
    if allowed_all && perms.allowed_parameters.len() == 1 {
        return None;
    }
    for (name, value) in data {
        match perms.allowed_parameters.get(&name.to_lowercase()) {
            None if !allowed_all => return Some(Denial::ParameterNotAllowed(name.clone())),
            Some(list) if !allowed(value, list) => {
                return Some(Denial::ParameterValueNotAllowed(name.clone()));
            }
            _ => {}
        }
    }
    None
}
