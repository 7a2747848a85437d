//! Policy documents into path rules, with Vault's validation (`parseACLPolicyWithTemplating`
//! and `parsePaths` of `vault/policy.go`). Every error is Vault's text, prefixed
//! `failed to parse policy: ` as `ParseACLPolicy` returns it.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use warden_logical::framework::parse_duration_second;

use super::hcl::{Item, Node, parse_document};
use super::template::{TemplateContext, has_templating, render};
use super::{Capabilities, PolicyError, multierror};

/// A parsed ACL policy.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    /// The policy's name (lower-case).
    pub name: String,
    /// The text it was parsed from, as the client sent it.
    pub raw: String,
    /// Its path rules, in document order (repeated paths kept separate; the ACL merges them).
    pub rules: Vec<PathRule>,
    /// Whether some path holds identity template directives; such a policy is re-parsed per
    /// request with [`Policy::render`].
    pub templated: bool,
}

/// One `path "…" { … }` block.
#[derive(Debug, Clone, PartialEq)]
pub struct PathRule {
    /// The path with its leading `/` removed and, for a prefix rule, its trailing `*` removed
    /// (segment-wildcard paths keep a trailing `*`).
    pub path: String,
    /// A trailing-`*` rule without `+` segments: matches every path starting with `path`.
    pub is_prefix: bool,
    /// The path has `+` segments (`+`, `…/+/…`, `+/…`).
    pub has_segment_wildcards: bool,
    /// The capabilities granted (only [`Capabilities::DENY`] when `deny` was listed).
    pub capabilities: Capabilities,
    /// `min_wrapping_ttl` (zero when unset).
    pub min_wrapping_ttl: Duration,
    /// `max_wrapping_ttl` (zero when unset).
    pub max_wrapping_ttl: Duration,
    /// `allowed_parameters`, keys lower-cased; an empty value list allows any value.
    pub allowed_parameters: BTreeMap<String, Vec<Value>>,
    /// `denied_parameters`, keys lower-cased; an empty value list denies any value.
    pub denied_parameters: BTreeMap<String, Vec<Value>>,
    /// `required_parameters`.
    pub required_parameters: Vec<String>,
    /// `expiration`: after it, the rule no longer applies.
    pub expiration: Option<OffsetDateTime>,
}

const PATH_KEYS: [&str; 13] = [
    "comment",
    "policy",
    "capabilities",
    "allowed_parameters",
    "denied_parameters",
    "required_parameters",
    "min_wrapping_ttl",
    "max_wrapping_ttl",
    "mfa_methods",
    "control_group",
    "subscribe_event_types",
    "expiration",
    "pagination_limit",
];

enum Mode<'a> {
    Check,
    Render(Option<&'a TemplateContext>),
}

impl Policy {
    /// Parses `raw` (HCL or JSON) as the policy `name`.
    pub fn parse(name: &str, raw: &str) -> Result<Self, PolicyError> {
        let (rules, templated) = parse_rules(raw, &Mode::Check)
            .map_err(|err| PolicyError(format!("failed to parse policy: {err}")))?;
        Ok(Self {
            name: name.to_owned(),
            raw: raw.to_owned(),
            rules,
            templated,
        })
    }

    /// The policy with its templated paths rendered for `ctx`; paths whose templates do not
    /// resolve are dropped. A policy without templating is returned as is.
    pub fn render(&self, ctx: Option<&TemplateContext>) -> Result<Self, PolicyError> {
        if !self.templated {
            return Ok(self.clone());
        }
        let (rules, _) = parse_rules(&self.raw, &Mode::Render(ctx)).map_err(|err| {
            PolicyError(format!(
                "error parsing templated policy {:?}: failed to parse policy: {err}",
                self.name
            ))
        })?;
        Ok(Self {
            rules,
            ..self.clone()
        })
    }
}

fn parse_rules(raw: &str, mode: &Mode<'_>) -> Result<(Vec<PathRule>, bool), String> {
    let items = parse_document(raw)?;
    let invalid: Vec<String> = items
        .iter()
        .filter(|item| !matches!(item.keys[0].as_str(), "name" | "path"))
        .map(|item| format!("invalid key {:?} on line {}", item.keys[0], item.line))
        .collect();
    if !invalid.is_empty() {
        return Err(multierror(&invalid));
    }
    let mut templated = false;
    let mut rules = Vec::new();
    for item in &items {
        match item.keys[0].as_str() {
            "name" if !matches!(item.value, Node::String(_)) => {
                return Err(format!("name: expected a string on line {}", item.line));
            }
            "path" => {
                for (key, body) in path_blocks(item)? {
                    let key = match mode {
                        Mode::Check => {
                            templated |= has_templating(&key).map_err(|err| {
                                format!("failed to validate policy templating: {err}")
                            })?;
                            key
                        }
                        Mode::Render(ctx) => match render(&key, *ctx) {
                            Ok(rendered) => rendered,
                            Err(_) => continue,
                        },
                    };
                    if let Some(rule) = path_rule(&key, &body)? {
                        rules.push(rule);
                    }
                }
            }
            _ => {}
        }
    }
    Ok((rules, templated))
}

/// The `(path, body)` pairs of one top-level `path` item: `path "x" {…}` in HCL, or
/// `"path": {"x": {…}, …}` (or a list of such objects) in JSON.
fn path_blocks(item: &Item) -> Result<Vec<(String, Vec<Item>)>, String> {
    fn body(node: &Node, key: &str) -> Result<Vec<Item>, String> {
        match node {
            Node::Object(items) => Ok(items.clone()),
            Node::List(list) => {
                let mut items = Vec::new();
                for node in list {
                    items.extend(body(node, key)?);
                }
                Ok(items)
            }
            _ => Err(format!("path {key:?}: expected an object")),
        }
    }
    if let Some(label) = item.keys.get(1) {
        return Ok(vec![(label.clone(), body(&item.value, label)?)]);
    }
    let mut out = Vec::new();
    let objects = match &item.value {
        Node::List(list) => list.iter().collect(),
        node => vec![node],
    };
    for object in objects {
        let Node::Object(children) = object else {
            return Err("path: expected an object".to_owned());
        };
        for child in children {
            out.push((child.keys[0].clone(), body(&child.value, &child.keys[0])?));
        }
    }
    Ok(out)
}

fn strings(node: &Node, key: &str, field: &str) -> Result<Vec<String>, String> {
    let one = |node: &Node| match node {
        Node::String(s) => Ok(s.clone()),
        Node::Number(n) => Ok(n.to_string()),
        Node::Bool(b) => Ok(b.to_string()),
        _ => Err(format!("path {key:?}: {field}: expected a list of strings")),
    };
    match node {
        Node::List(items) => items.iter().map(one).collect(),
        other => Ok(vec![one(other)?]),
    }
}

fn parameters(
    node: &Node,
    key: &str,
    path: &str,
    field: &str,
) -> Result<BTreeMap<String, Vec<Value>>, String> {
    let Node::Object(items) = node else {
        return Err(format!("path {key:?}: {field}: expected an object"));
    };
    let mut out = BTreeMap::new();
    for item in items {
        let name = &item.keys[0];
        if name.contains('*') && name != "*" {
            return Err(format!(
                "path {path:?}: {field}: parameter key {name:?} cannot contain non-tail wildcards"
            ));
        }
        let values = match &item.value {
            Node::List(values) => values.iter().map(Node::to_json).collect(),
            other => vec![other.to_json()],
        };
        out.insert(name.to_lowercase(), values);
    }
    Ok(out)
}

fn wrapping_ttl(node: &Node, field: &str) -> Result<Duration, String> {
    let seconds = parse_duration_second(&node.to_json())
        .map_err(|err| format!("error parsing {field}: {err}"))?
        .unwrap_or_default();
    Ok(Duration::from_secs(u64::try_from(seconds).unwrap_or(0)))
}

/// One path block; `None` when it has expired.
fn path_rule(key: &str, body: &[Item]) -> Result<Option<PathRule>, String> {
    let invalid: Vec<String> = body
        .iter()
        .filter(|item| !PATH_KEYS.contains(&item.keys[0].as_str()))
        .map(|item| {
            format!(
                "path {key:?}: invalid key {:?} on line {}",
                item.keys[0], item.line
            )
        })
        .collect();
    if !invalid.is_empty() {
        return Err(multierror(&invalid));
    }
    let field = |name: &str| body.iter().rev().find(|item| item.keys[0] == name);

    if let Some(item) = field("expiration") {
        let Node::String(text) = &item.value else {
            return Err(format!("path {key:?}: invalid expiration time"));
        };
        let expiration = OffsetDateTime::parse(text, &Rfc3339)
            .map_err(|err| format!("path {key:?}: invalid expiration time: {err}"))?;
        if OffsetDateTime::now_utc() > expiration {
            return Ok(None);
        }
    }
    let expiration = field("expiration").and_then(|item| match &item.value {
        Node::String(text) => OffsetDateTime::parse(text, &Rfc3339).ok(),
        _ => None,
    });

    let mut path = key.strip_prefix('/').unwrap_or(key).to_owned();
    if path.contains("+*") {
        return Err(format!(
            "path {path:?}: invalid use of wildcards ('+*' is forbidden)"
        ));
    }
    let has_segment_wildcards = path == "+" || path.contains("/+") || path.starts_with("+/");
    let mut is_prefix = false;
    if !has_segment_wildcards && let Some(stripped) = path.strip_suffix('*') {
        path = stripped.to_owned();
        is_prefix = true;
    }

    let mut names = match field("capabilities") {
        Some(item) => strings(&item.value, key, "capabilities")?,
        None => Vec::new(),
    };
    if let Some(item) = field("policy") {
        let Node::String(legacy) = &item.value else {
            return Err(format!("path {key:?}: policy: expected a string"));
        };
        let caps: &[&str] = match legacy.as_str() {
            "deny" => {
                names.clear();
                &["deny"]
            }
            "read" => &["read", "list"],
            "write" => &["create", "read", "update", "delete", "list"],
            "sudo" => &["create", "read", "update", "delete", "list", "sudo"],
            other => return Err(format!("path {key:?}: invalid policy {other:?}")),
        };
        names.extend(caps.iter().map(|c| (*c).to_owned()));
    }

    let mut rule = PathRule {
        path,
        is_prefix,
        has_segment_wildcards,
        capabilities: Capabilities::NONE,
        min_wrapping_ttl: Duration::ZERO,
        max_wrapping_ttl: Duration::ZERO,
        allowed_parameters: BTreeMap::new(),
        denied_parameters: BTreeMap::new(),
        required_parameters: Vec::new(),
        expiration,
    };
    for name in &names {
        match Capabilities::from_name(name) {
            Some(Capabilities::DENY) => {
                rule.capabilities = Capabilities::DENY;
                return Ok(Some(rule));
            }
            Some(cap) => rule.capabilities = rule.capabilities | cap,
            None => return Err(format!("path {key:?}: invalid capability {name:?}")),
        }
    }
    if let Some(item) = field("allowed_parameters") {
        rule.allowed_parameters = parameters(&item.value, key, &rule.path, "allowed_parameters")?;
    }
    if let Some(item) = field("denied_parameters") {
        rule.denied_parameters = parameters(&item.value, key, &rule.path, "denied_parameters")?;
    }
    if let Some(item) = field("min_wrapping_ttl") {
        rule.min_wrapping_ttl = wrapping_ttl(&item.value, "min_wrapping_ttl")?;
    }
    if let Some(item) = field("max_wrapping_ttl") {
        rule.max_wrapping_ttl = wrapping_ttl(&item.value, "max_wrapping_ttl")?;
    }
    for name in ["mfa_methods", "subscribe_event_types"] {
        if let Some(item) = field(name) {
            strings(&item.value, key, name)?;
        }
    }
    if !rule.min_wrapping_ttl.is_zero()
        && !rule.max_wrapping_ttl.is_zero()
        && rule.max_wrapping_ttl < rule.min_wrapping_ttl
    {
        return Err("max_wrapping_ttl cannot be less than min_wrapping_ttl".to_owned());
    }
    if let Some(item) = field("required_parameters") {
        rule.required_parameters = strings(&item.value, key, "required_parameters")?;
    }
    Ok(Some(rule))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(raw: &str) -> String {
        Policy::parse("p", raw).unwrap_err().0
    }

    #[test]
    fn hcl1_brace_on_next_line_and_repeated_paths() {
        let raw = "# comment\npath \"secret/foo\"\n{\n  capabilities = [\"read\"]\n}\n\
                   path \"secret/foo\" {\n  capabilities = [\"list\"]\n}\n\
                   path \"/secret/bar/*\" { policy = \"write\" }\n";
        let p = Policy::parse("p", raw).unwrap();
        assert_eq!(p.rules.len(), 3);
        assert_eq!(p.rules[0].path, "secret/foo");
        assert_eq!(p.rules[0].capabilities, Capabilities::READ);
        assert_eq!(p.rules[1].capabilities, Capabilities::LIST);
        assert_eq!(p.rules[2].path, "secret/bar/");
        assert!(p.rules[2].is_prefix);
        assert_eq!(
            p.rules[2].capabilities.names(),
            ["read", "list", "update", "delete", "create"]
        );
        assert!(!p.templated);
    }

    #[test]
    fn json_policy() {
        let raw = r#"{"path":{"secret/foo":{"capabilities":["read"]},"secret/+/x/*":{"capabilities":["deny","read"]}}}"#;
        let p = Policy::parse("p", raw).unwrap();
        assert_eq!(p.rules[0].path, "secret/foo");
        assert_eq!(p.rules[1].path, "secret/+/x/*");
        assert!(p.rules[1].has_segment_wildcards && !p.rules[1].is_prefix);
        assert_eq!(p.rules[1].capabilities, Capabilities::DENY);
        let list = r#"{"path":[{"a":{"policy":"read"}},{"b":{"capabilities":"sudo"}}]}"#;
        let p = Policy::parse("p", list).unwrap();
        assert_eq!(p.rules[1].capabilities, Capabilities::SUDO);
    }

    #[test]
    fn parameters_ttls_and_templating() {
        let raw = "path \"auth/{{identity.entity.id}}/x\" {\n capabilities = [\"update\"]\n \
                   allowed_parameters {\n \"Foo\" = []\n \"bar\" = [\"a*\", 5]\n }\n \
                   denied_parameters = { \"baz\" = [\"x\"] }\n required_parameters = [\"foo\"]\n \
                   min_wrapping_ttl = 60\n max_wrapping_ttl = \"1h\"\n}\n";
        let p = Policy::parse("p", raw).unwrap();
        assert!(p.templated);
        let r = &p.rules[0];
        assert_eq!(r.allowed_parameters["foo"], Vec::<Value>::new());
        assert_eq!(
            r.allowed_parameters["bar"],
            [Value::from("a*"), Value::from(5)]
        );
        assert_eq!(r.denied_parameters["baz"], [Value::from("x")]);
        assert_eq!(r.required_parameters, ["foo"]);
        assert_eq!(r.min_wrapping_ttl, Duration::from_secs(60));
        assert_eq!(r.max_wrapping_ttl, Duration::from_secs(3600));
        let heredoc =
            "path \"a\" {\n capabilities = [\"read\"]\n comment = <<EOT\nhello ${x}\nEOT\n}\n";
        assert_eq!(Policy::parse("p", heredoc).unwrap().rules.len(), 1);
    }

    #[test]
    fn vault_error_messages() {
        assert_eq!(
            err("path \"a\" { capabilities = [\"fly\"] }"),
            "failed to parse policy: path \"a\": invalid capability \"fly\""
        );
        assert_eq!(
            err("path \"a/+*\" { capabilities = [\"read\"] }"),
            "failed to parse policy: path \"a/+*\": invalid use of wildcards ('+*' is forbidden)"
        );
        assert_eq!(
            err("path \"a\" {\n  capabilities = [\"read\"]\n  foo = 1\n}"),
            "failed to parse policy: 1 error occurred:\n\t* path \"a\": invalid key \"foo\" on line 3\n\n"
        );
        assert_eq!(
            err("foo = 1\nbar = 2\n"),
            "failed to parse policy: 2 errors occurred:\n\t* invalid key \"foo\" on line 1\n\t* invalid key \"bar\" on line 2\n\n"
        );
        assert_eq!(
            err("path \"a\" { policy = \"admin\" }"),
            "failed to parse policy: path \"a\": invalid policy \"admin\""
        );
        assert_eq!(
            err("path \"a\" {\n min_wrapping_ttl = 60\n max_wrapping_ttl = 30\n}"),
            "failed to parse policy: max_wrapping_ttl cannot be less than min_wrapping_ttl"
        );
        assert_eq!(
            err("path \"a\" { min_wrapping_ttl = \"abc\" }"),
            "failed to parse policy: error parsing min_wrapping_ttl: time: invalid duration \"abc\""
        );
        assert_eq!(
            err("path \"a/{{x\" { capabilities = [\"read\"] }"),
            "failed to parse policy: failed to validate policy templating: unbalanced templating characters"
        );
        assert_eq!(
            err("path \"a\" {\n allowed_parameters = { \"a*b\" = [] }\n}"),
            "failed to parse policy: path \"a\": allowed_parameters: parameter key \"a*b\" cannot contain non-tail wildcards"
        );
        assert!(err("path \"a\" {").starts_with("failed to parse policy: "));
    }

    #[test]
    fn deny_wipes_and_expiration_skips() {
        let p = Policy::parse(
            "p",
            "path \"a\" {\n capabilities = [\"read\", \"deny\"]\n allowed_parameters = { x = [] }\n}",
        )
        .unwrap();
        assert_eq!(p.rules[0].capabilities, Capabilities::DENY);
        assert!(p.rules[0].allowed_parameters.is_empty());
        let expired = "path \"a\" {\n capabilities = [\"read\"]\n expiration = \"2001-01-01T00:00:00Z\"\n}\n\
                       path \"b\" {\n capabilities = [\"read\"]\n expiration = \"2999-01-01T00:00:00Z\"\n}";
        let p = Policy::parse("p", expired).unwrap();
        assert_eq!(p.rules.len(), 1);
        assert_eq!(p.rules[0].path, "b");
        assert!(err("path \"a\" { expiration = \"soon\" }").contains("invalid expiration time"));
    }

    #[test]
    fn render_drops_unresolved_paths() {
        let raw = "path \"a/{{identity.entity.name}}\" { capabilities = [\"read\"] }\n\
                   path \"b\" { capabilities = [\"read\"] }";
        let p = Policy::parse("p", raw).unwrap();
        assert_eq!(p.render(None).unwrap().rules.len(), 1);
        let ctx = TemplateContext {
            entity_name: "app".into(),
            ..TemplateContext::default()
        };
        let rendered = p.render(Some(&ctx)).unwrap();
        assert_eq!(rendered.rules[0].path, "a/app");
    }
}
