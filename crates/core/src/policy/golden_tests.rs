//! The golden ACL table: (policy set, operation, path, data, wrapping TTL) → allowed or not.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use warden_logical::{Map, Operation};

use super::*;

use Operation::{Create, Delete, Help, List, Patch, Read, Renew, Revoke, Update};

const EXACT_VS_GLOB: &str = r#"
path "secret/foo" { capabilities = ["read"] }
path "secret/*" { capabilities = ["deny"] }
path "secret/bar" { capabilities = ["deny"] }
path "secret/open/*" { capabilities = ["create", "read", "update", "delete", "list", "patch"] }
path "legacy/*" { policy = "read" }
path "legacy/write/*" { policy = "write" }
path "sys/mounts/*" { capabilities = ["read", "sudo"] }
path "sys/auth" { capabilities = ["read"] }
"#;

const DOCS_EXAMPLE: &str = r#"
path "secret/+/+/foo/*" { capabilities = ["read"] }
path "secret/*" { capabilities = ["update"] }
"#;

const PRIORITY: &str = r#"
path "r1/a*" { capabilities = ["read"] }
path "r1/+" { capabilities = ["list"] }
path "r1b/bar/+/baz" { capabilities = ["read"] }
path "r1b/+/bar/baz" { capabilities = ["list"] }
path "r2/+/bar" { capabilities = ["read"] }
path "r2/+/ba*" { capabilities = ["list"] }
path "r2b/+" { capabilities = ["read"] }
path "r2b/*" { capabilities = ["list"] }
path "r3/+/+/baz" { capabilities = ["list"] }
path "r3/+/bar/baz" { capabilities = ["read"] }
path "r4/+/bar/ba*" { capabilities = ["read"] }
path "r4/+/bar/b*" { capabilities = ["list"] }
path "r5/+/a/+" { capabilities = ["read"] }
path "r5/+/+/b" { capabilities = ["list"] }
path "seg/+" { capabilities = ["read"] }
path "seg/+/deep/*" { capabilities = ["update"] }
path "+/any" { capabilities = ["delete"] }
"#;

const LISTING: &str = r#"
path "kv/metadata/app/*" { capabilities = ["list"] }
path "kv/metadata/app" { capabilities = ["read"] }
path "team/folder" { capabilities = ["list"] }
path "apps/+/config" { capabilities = ["list"] }
path "apps/+/config/*" { capabilities = ["deny"] }
path "apps2/+/config" { capabilities = ["list"] }
path "meta/*" { capabilities = ["list"] }
path "meta/private/*" { capabilities = ["deny"] }
"#;

const PARAMS: &str = r#"
path "params/allowed" {
  capabilities = ["create", "update"]
  allowed_parameters {
    "foo" = ["bar", "baz*"]
    "num" = []
  }
}
path "params/denied" {
  capabilities = ["update"]
  denied_parameters = { "secret" = [], "mode" = ["admin"] }
}
path "params/star" {
  capabilities = ["update"]
  allowed_parameters = { "*" = [] }
}
path "params/denyall" {
  capabilities = ["update", "list"]
  denied_parameters = { "*" = [] }
}
path "params/required" {
  capabilities = ["update", "read", "delete"]
  required_parameters = ["id"]
}
path "params/mixed" {
  capabilities = ["update"]
  allowed_parameters = { "*" = [], "foo" = ["bar"] }
}
"#;

const WRAPPING: &str = r#"
path "wrap/max" { capabilities = ["read"] max_wrapping_ttl = "1h" }
path "wrap/min" { capabilities = ["read"] min_wrapping_ttl = 60 }
path "wrap/range" {
  capabilities = ["read"]
  min_wrapping_ttl = 60
  max_wrapping_ttl = 300
}
"#;

const MERGE_A: &str = r#"
path "shared/*" { capabilities = ["read"] }
path "denied/x" { capabilities = ["read", "update"] }
path "p/x" {
  capabilities = ["update"]
  allowed_parameters = { "foo" = ["a"] }
}
path "p/any" {
  capabilities = ["update"]
  allowed_parameters = { "foo" = ["a"] }
}
path "w/conf" { capabilities = ["read"] min_wrapping_ttl = 600 }
path "w/min" { capabilities = ["read"] max_wrapping_ttl = 600 }
path "req/x" { capabilities = ["update"] required_parameters = ["a"] }
"#;

const MERGE_B: &str = r#"
path "shared/*" { capabilities = ["update"] }
path "denied/x" { capabilities = ["deny"] }
path "p/x" {
  capabilities = ["update"]
  allowed_parameters = { "foo" = ["b"] }
}
path "p/any" {
  capabilities = ["update"]
  allowed_parameters = { "foo" = [] }
}
path "w/conf" { capabilities = ["read"] max_wrapping_ttl = 300 }
path "w/min" { capabilities = ["read"] max_wrapping_ttl = 60 }
path "req/x" { capabilities = ["update"] required_parameters = ["b"] }
path "same/x" { capabilities = ["read"] }
path "same/x" { capabilities = ["deny"] }
"#;

const TEMPLATED: &str = r#"
path "secret/data/{{identity.entity.aliases.auth_k8s.metadata.service_account_namespace}}/*" {
  capabilities = ["read"]
}
path "users/{{identity.entity.name}}" { capabilities = ["update"] }
path "static/*" { capabilities = ["read"] }
"#;

pub(super) fn policy(name: &str, raw: &str) -> Arc<Policy> {
    Arc::new(Policy::parse(name, raw).unwrap_or_else(|e| panic!("{name}: {e}")))
}

fn ctx(namespace: &str) -> TemplateContext {
    TemplateContext {
        entity_id: "ent-1".into(),
        entity_name: "alice".into(),
        aliases: vec![AliasContext {
            mount_accessor: "auth_k8s".into(),
            metadata: BTreeMap::from([("service_account_namespace".into(), namespace.into())]),
            ..AliasContext::default()
        }],
        ..TemplateContext::default()
    }
}

pub(super) fn acl(set: &str) -> Acl {
    let one = |name: &str, raw: &str| Acl::new(&[policy(name, raw)], None).unwrap();
    match set {
        "exact" => one("exact", EXACT_VS_GLOB),
        "docs" => one("docs", DOCS_EXAMPLE),
        "priority" => one("priority", PRIORITY),
        "listing" => one("listing", LISTING),
        "params" => one("params", PARAMS),
        "wrapping" => one("wrapping", WRAPPING),
        "merged" => Acl::new(&[policy("a", MERGE_A), policy("b", MERGE_B)], None).unwrap(),
        "root" => Acl::new(&[policy("root", "")], None).unwrap(),
        "default" => Acl::new(&[policy("default", DEFAULT_POLICY)], Some(&ctx("prod"))).unwrap(),
        "tpl-prod" => Acl::new(&[policy("t", TEMPLATED)], Some(&ctx("prod"))).unwrap(),
        "tpl-star" => Acl::new(&[policy("t", TEMPLATED)], Some(&ctx("*"))).unwrap(),
        "tpl-plus" => Acl::new(&[policy("t", TEMPLATED)], Some(&ctx("+"))).unwrap(),
        "tpl-slash" => Acl::new(&[policy("t", TEMPLATED)], Some(&ctx("prod/x"))).unwrap(),
        "tpl-none" => Acl::new(&[policy("t", TEMPLATED)], None).unwrap(),
        other => panic!("unknown set {other}"),
    }
}

/// (set, operation, path, data as JSON or "", wrap TTL seconds or 0, allowed)
type Case = (
    &'static str,
    Operation,
    &'static str,
    &'static str,
    u64,
    bool,
);

const CASES: &[Case] = &[
    // Exact beats glob; deny is per pattern.
    ("exact", Read, "secret/foo", "", 0, true),
    ("exact", Read, "/secret/foo", "", 0, true),
    ("exact", Read, "//secret/foo", "", 0, true),
    ("exact", Update, "secret/foo", "", 0, false),
    ("exact", List, "secret/foo", "", 0, false),
    ("exact", Read, "secret/foo/", "", 0, false),
    ("exact", Read, "secret/foo2", "", 0, false),
    ("exact", Read, "secret/x", "", 0, false),
    ("exact", Read, "secret/bar", "", 0, false),
    ("exact", Read, "secret", "", 0, false),
    ("exact", Read, "secret/", "", 0, false),
    ("exact", Read, "other/x", "", 0, false),
    ("exact", Read, "secret/open/a", "", 0, true),
    ("exact", Create, "secret/open/a/b", "", 0, true),
    ("exact", Update, "secret/open/a", "", 0, true),
    ("exact", Patch, "secret/open/a", "", 0, true),
    ("exact", Delete, "secret/open/a", "", 0, true),
    ("exact", List, "secret/open/", "", 0, true),
    ("exact", List, "secret/open", "", 0, false),
    ("exact", Revoke, "secret/open/a", "", 0, true),
    ("exact", Renew, "secret/open/a", "", 0, true),
    ("exact", Help, "secret/x", "", 0, true),
    ("exact", Help, "nothing/at/all", "", 0, true),
    ("exact", Read, "legacy/a", "", 0, true),
    ("exact", List, "legacy/a/", "", 0, true),
    ("exact", Update, "legacy/a", "", 0, false),
    ("exact", Create, "legacy/write/a", "", 0, true),
    ("exact", Delete, "legacy/write/a", "", 0, true),
    ("exact", Read, "sys/mounts/kv", "", 0, true),
    ("exact", Update, "sys/mounts/kv", "", 0, false),
    ("exact", Read, "sys/auth", "", 0, true),
    // The docs' example: secret/+/+/foo/* loses to secret/* (more + segments).
    ("docs", Read, "secret/a/b/foo/c", "", 0, false),
    ("docs", Update, "secret/a/b/foo/c", "", 0, true),
    ("docs", Update, "secret/x", "", 0, true),
    ("docs", Read, "secret/x", "", 0, false),
    // Priority rule 1: the later first wildcard wins.
    ("priority", Read, "r1/ab", "", 0, true),
    ("priority", List, "r1/ab", "", 0, false),
    ("priority", Read, "r1/bb", "", 0, false),
    ("priority", List, "r1/bb", "", 0, true),
    ("priority", Read, "r1b/bar/bar/baz", "", 0, true),
    ("priority", List, "r1b/bar/bar/baz", "", 0, false),
    ("priority", List, "r1b/x/bar/baz", "", 0, true),
    // Rule 2: a non-prefix pattern beats a prefix one.
    ("priority", Read, "r2/x/bar", "", 0, true),
    ("priority", List, "r2/x/bar", "", 0, false),
    ("priority", List, "r2/x/baz", "", 0, true),
    ("priority", Read, "r2b/x", "", 0, true),
    ("priority", List, "r2b/x", "", 0, false),
    ("priority", List, "r2b/x/y", "", 0, true),
    ("priority", Read, "r2b/x/y", "", 0, false),
    // Rule 3: fewer + segments win.
    ("priority", Read, "r3/a/bar/baz", "", 0, true),
    ("priority", List, "r3/a/bar/baz", "", 0, false),
    ("priority", List, "r3/a/zzz/baz", "", 0, true),
    // Rule 4: the longer pattern wins.
    ("priority", Read, "r4/x/bar/baz", "", 0, true),
    ("priority", List, "r4/x/bar/baz", "", 0, false),
    ("priority", List, "r4/x/bar/bz", "", 0, true),
    // Rule 5: the lexicographically greater pattern wins.
    ("priority", Read, "r5/x/a/b", "", 0, true),
    ("priority", List, "r5/x/a/b", "", 0, false),
    ("priority", List, "r5/x/c/b", "", 0, true),
    // Segment wildcards match exactly one segment.
    ("priority", Read, "seg/one", "", 0, true),
    ("priority", Read, "seg/one/two", "", 0, false),
    ("priority", Read, "seg", "", 0, false),
    ("priority", Read, "seg/", "", 0, true),
    ("priority", Update, "seg/one/deep/er/est", "", 0, true),
    ("priority", Update, "seg/one/deep/", "", 0, true),
    ("priority", Update, "seg/one/deep", "", 0, false),
    ("priority", Delete, "x/any", "", 0, true),
    ("priority", Delete, "any", "", 0, false),
    ("priority", Delete, "x/y/any", "", 0, false),
    // LIST: exact, exact without the slash, wildcards, wildcards without the slash.
    ("listing", List, "kv/metadata/app/", "", 0, false),
    ("listing", Read, "kv/metadata/app", "", 0, true),
    ("listing", List, "kv/metadata/app/sub/", "", 0, true),
    ("listing", List, "kv/metadata/app/x", "", 0, true),
    ("listing", List, "team/folder/", "", 0, true),
    ("listing", List, "team/folder", "", 0, true),
    ("listing", Read, "team/folder/", "", 0, false),
    ("listing", List, "team/folder//", "", 0, false),
    ("listing", List, "apps/x/config/", "", 0, false),
    ("listing", List, "apps2/x/config/", "", 0, true),
    ("listing", List, "apps2/x/config", "", 0, true),
    ("listing", Read, "apps2/x/config", "", 0, false),
    ("listing", List, "apps/x/config", "", 0, true),
    ("listing", Read, "apps/x/config/", "", 0, false),
    ("listing", List, "apps/x/config/y/", "", 0, false),
    ("listing", List, "meta/", "", 0, true),
    ("listing", List, "meta/public/", "", 0, true),
    // Listing the denied folder itself: the full path hits `meta/private/*` first (current
    // Vault tries `meta/private` first and allows; see `Acl::lookup`).
    ("listing", List, "meta/private/", "", 0, false),
    ("listing", List, "meta/private/sub/", "", 0, false),
    ("listing", Read, "meta/private/x", "", 0, false),
    // Parameter constraints.
    ("params", Update, "params/allowed", "", 0, true),
    ("params", Update, "params/allowed", r#"{}"#, 0, true),
    (
        "params",
        Update,
        "params/allowed",
        r#"{"foo":"bar"}"#,
        0,
        true,
    ),
    (
        "params",
        Update,
        "params/allowed",
        r#"{"FOO":"bar"}"#,
        0,
        true,
    ),
    (
        "params",
        Update,
        "params/allowed",
        r#"{"foo":"bazooka"}"#,
        0,
        true,
    ),
    (
        "params",
        Update,
        "params/allowed",
        r#"{"foo":"qux"}"#,
        0,
        false,
    ),
    (
        "params",
        Update,
        "params/allowed",
        r#"{"foo":["bar","baz1"]}"#,
        0,
        true,
    ),
    (
        "params",
        Update,
        "params/allowed",
        r#"{"foo":["bar","qux"]}"#,
        0,
        false,
    ),
    (
        "params",
        Update,
        "params/allowed",
        r#"{"foo":"bar,baz2"}"#,
        0,
        true,
    ),
    (
        "params",
        Update,
        "params/allowed",
        r#"{"foo":"bar,qux"}"#,
        0,
        false,
    ),
    (
        "params",
        Update,
        "params/allowed",
        r#"{"num":12345}"#,
        0,
        true,
    ),
    (
        "params",
        Update,
        "params/allowed",
        r#"{"foo":"bar","other":1}"#,
        0,
        false,
    ),
    (
        "params",
        Create,
        "params/allowed",
        r#"{"other":1}"#,
        0,
        false,
    ),
    (
        "params",
        Update,
        "params/denied",
        r#"{"public":"x"}"#,
        0,
        true,
    ),
    (
        "params",
        Update,
        "params/denied",
        r#"{"secret":"x"}"#,
        0,
        false,
    ),
    (
        "params",
        Update,
        "params/denied",
        r#"{"Secret":"x"}"#,
        0,
        false,
    ),
    (
        "params",
        Update,
        "params/denied",
        r#"{"mode":"user"}"#,
        0,
        true,
    ),
    (
        "params",
        Update,
        "params/denied",
        r#"{"mode":"admin"}"#,
        0,
        false,
    ),
    (
        "params",
        Update,
        "params/denied",
        r#"{"mode":["user","admin"]}"#,
        0,
        false,
    ),
    (
        "params",
        Update,
        "params/denied",
        r#"{"mode":"user,admin"}"#,
        0,
        false,
    ),
    (
        "params",
        Update,
        "params/star",
        r#"{"anything":"goes"}"#,
        0,
        true,
    ),
    ("params", Update, "params/denyall", r#"{"a":1}"#, 0, false),
    ("params", Update, "params/denyall", "", 0, true),
    ("params", List, "params/denyall", r#"{"a":1}"#, 0, true),
    (
        "params",
        Update,
        "params/required",
        r#"{"id":"1"}"#,
        0,
        true,
    ),
    (
        "params",
        Update,
        "params/required",
        r#"{"other":"1"}"#,
        0,
        false,
    ),
    ("params", Update, "params/required", "", 0, false),
    ("params", Read, "params/required", "", 0, false),
    ("params", Read, "params/required", r#"{"id":"1"}"#, 0, true),
    ("params", Delete, "params/required", "", 0, true),
    (
        "params",
        Update,
        "params/mixed",
        r#"{"other":"x"}"#,
        0,
        true,
    ),
    (
        "params",
        Update,
        "params/mixed",
        r#"{"foo":"bar"}"#,
        0,
        true,
    ),
    (
        "params",
        Update,
        "params/mixed",
        r#"{"foo":"nope"}"#,
        0,
        false,
    ),
    // Wrapping TTLs.
    ("wrapping", Read, "wrap/max", "", 0, false),
    ("wrapping", Read, "wrap/max", "", 60, true),
    ("wrapping", Read, "wrap/max", "", 3600, true),
    ("wrapping", Read, "wrap/max", "", 3601, false),
    ("wrapping", Read, "wrap/min", "", 0, false),
    ("wrapping", Read, "wrap/min", "", 59, false),
    ("wrapping", Read, "wrap/min", "", 60, true),
    ("wrapping", Read, "wrap/min", "", 86400, true),
    ("wrapping", Read, "wrap/range", "", 30, false),
    ("wrapping", Read, "wrap/range", "", 120, true),
    ("wrapping", Read, "wrap/range", "", 301, false),
    // Merged policies.
    ("merged", Read, "shared/x", "", 0, true),
    ("merged", Update, "shared/x", "", 0, true),
    ("merged", Delete, "shared/x", "", 0, false),
    ("merged", Read, "denied/x", "", 0, false),
    ("merged", Update, "denied/x", "", 0, false),
    ("merged", Read, "same/x", "", 0, false),
    ("merged", Update, "p/x", r#"{"foo":"a"}"#, 0, true),
    ("merged", Update, "p/x", r#"{"foo":"b"}"#, 0, true),
    ("merged", Update, "p/x", r#"{"foo":"c"}"#, 0, false),
    ("merged", Update, "p/any", r#"{"foo":"c"}"#, 0, true),
    ("merged", Read, "w/conf", "", 400, false),
    ("merged", Read, "w/conf", "", 200, false),
    ("merged", Read, "w/min", "", 60, true),
    ("merged", Read, "w/min", "", 120, false),
    ("merged", Update, "req/x", r#"{"a":1}"#, 0, false),
    ("merged", Update, "req/x", r#"{"a":1,"b":2}"#, 0, true),
    // Root.
    ("root", Read, "anything", "", 0, true),
    ("root", Delete, "sys/raw/x", "", 0, true),
    ("root", List, "x/", "", 0, true),
    // The default policy.
    ("default", Read, "auth/token/lookup-self", "", 0, true),
    ("default", Update, "auth/token/lookup-self", "", 0, false),
    ("default", Update, "auth/token/renew-self", "", 0, true),
    ("default", Update, "auth/token/revoke-self", "", 0, true),
    ("default", Update, "sys/capabilities-self", "", 0, true),
    ("default", Read, "identity/entity/id/ent-1", "", 0, true),
    ("default", Read, "identity/entity/id/ent-2", "", 0, false),
    ("default", Read, "identity/entity/name/alice", "", 0, true),
    (
        "default",
        Read,
        "sys/internal/ui/resultant-acl",
        "",
        0,
        true,
    ),
    ("default", Update, "sys/leases/renew", "", 0, true),
    ("default", Update, "sys/leases/lookup", "", 0, true),
    ("default", Create, "cubbyhole/x", "", 0, true),
    ("default", List, "cubbyhole/", "", 0, true),
    ("default", Update, "sys/wrapping/wrap", "", 0, true),
    ("default", Update, "sys/wrapping/unwrap", "", 0, true),
    ("default", Update, "sys/tools/hash/sha2-256", "", 0, true),
    ("default", Update, "sys/tools/hash", "", 0, true),
    ("default", Update, "sys/control-group/request", "", 0, true),
    (
        "default",
        Read,
        "identity/oidc/provider/p/authorize",
        "",
        0,
        true,
    ),
    (
        "default",
        Read,
        "identity/oidc/provider/p/token",
        "",
        0,
        false,
    ),
    ("default", Read, "secret/data/x", "", 0, false),
    ("default", Update, "auth/token/create", "", 0, false),
    // Templating, and the no-widening rule.
    ("tpl-prod", Read, "secret/data/prod/app", "", 0, true),
    ("tpl-prod", Read, "secret/data/dev/app", "", 0, false),
    ("tpl-prod", Update, "users/alice", "", 0, true),
    ("tpl-prod", Read, "static/x", "", 0, true),
    ("tpl-star", Read, "secret/data/dev/app", "", 0, false),
    ("tpl-star", Read, "secret/data/*/app", "", 0, false),
    ("tpl-star", Read, "static/x", "", 0, true),
    ("tpl-plus", Read, "secret/data/dev/app", "", 0, false),
    ("tpl-plus", Read, "secret/data/+/app", "", 0, false),
    ("tpl-slash", Read, "secret/data/prod/x/app", "", 0, false),
    ("tpl-slash", Read, "secret/data/prod/app", "", 0, false),
    ("tpl-none", Read, "secret/data/prod/app", "", 0, false),
    ("tpl-none", Update, "users/alice", "", 0, false),
    ("tpl-none", Read, "static/x", "", 0, true),
];

#[test]
fn golden_table() {
    assert!(CASES.len() >= 150, "only {} cases", CASES.len());
    let mut failures = Vec::new();
    for &(set, op, path, data, wrap, expected) in CASES {
        let data: Option<Map> = (!data.is_empty()).then(|| serde_json::from_str(data).unwrap());
        let wrap = (wrap > 0).then(|| Duration::from_secs(wrap));
        let result = acl(set).allow_operation(op, path, data.as_ref(), wrap);
        if result.allowed != expected {
            failures.push(format!(
                "{set}: {op} {path} {data:?} {wrap:?}: got {result:?}"
            ));
        }
        assert_eq!(result.allowed, result.denial.is_none(), "{set} {op} {path}");
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
