//! ACL results beyond allowed/denied: sudo, granting policies, denial reasons, capability
//! listings and mount access.

use std::time::Duration;

use warden_logical::{Map, Operation};

use super::golden_tests::{acl, policy};
use super::*;

use Operation::{Read, Update};

#[test]
fn results_carry_sudo_granting_policies_and_reasons() {
    let exact = acl("exact");
    let r = exact.allow_operation(Read, "sys/mounts/kv", None, None);
    assert!(r.allowed && r.root_privs && !r.is_root);
    assert_eq!(r.granting_policies, ["exact"]);
    assert_eq!(
        r.matched,
        Some(MatchedRule {
            pattern: "sys/mounts/*".into(),
            kind: RuleKind::Prefix
        })
    );
    assert!(
        !exact
            .allow_operation(Read, "sys/auth", None, None)
            .root_privs
    );
    let denied = exact.allow_operation(Read, "secret/x", None, None);
    assert_eq!(denied.denial, Some(Denial::ExplicitDeny));
    let missing = exact.allow_operation(Update, "secret/foo", None, None);
    assert_eq!(missing.denial, Some(Denial::MissingCapability("update")));
    assert_eq!(missing.matched.map(|m| m.kind), Some(RuleKind::Exact));
    let none = exact.allow_operation(Read, "nope", None, None);
    assert_eq!(none.denial, Some(Denial::NoMatchingRule));
    let header = exact.allow_operation(Operation::Header, "secret/foo", None, None);
    assert_eq!(
        header.denial,
        Some(Denial::UnsupportedOperation(Operation::Header))
    );

    let merged = acl("merged");
    let r = merged.allow_operation(Update, "shared/x", None, None);
    assert_eq!(r.granting_policies, ["b"]);
    assert_eq!(
        merged
            .allow_operation(Read, "shared/x", None, None)
            .granting_policies,
        ["a"]
    );
    let wrap = merged.allow_operation(Read, "w/conf", None, Some(Duration::from_secs(400)));
    assert_eq!(
        wrap.denial,
        Some(Denial::WrappingTtlTooLong(Duration::from_secs(300)))
    );

    let root = acl("root");
    let r = root.allow_operation(Read, "x", None, None);
    assert!(r.is_root && r.root_privs);
    assert_eq!(r.granting_policies, ["root"]);
    let segment = acl("priority").allow_operation(Read, "seg/one", None, None);
    assert_eq!(segment.matched.map(|m| m.pattern), Some("seg/+".to_owned()));
    let params = acl("params");
    let data: Map = serde_json::from_str(r#"{"foo":"qux"}"#).unwrap();
    let r = params.allow_operation(Update, "params/allowed", Some(&data), None);
    assert_eq!(
        r.denial,
        Some(Denial::ParameterValueNotAllowed("foo".into()))
    );
    assert_eq!(
        r.denial.map(|d| d.to_string()).unwrap(),
        "the value of parameter \"foo\" is not allowed"
    );
}

#[test]
fn capabilities_listing() {
    let exact = acl("exact");
    assert_eq!(exact.capabilities("secret/foo"), ["read"]);
    assert_eq!(exact.capabilities("secret/x"), ["deny"]);
    assert_eq!(exact.capabilities("nothing"), ["deny"]);
    assert_eq!(
        exact.capabilities("secret/open/x"),
        ["read", "list", "update", "delete", "create", "patch"]
    );
    assert_eq!(exact.capabilities("sys/mounts/x"), ["sudo", "read"]);
    assert_eq!(acl("root").capabilities("x"), ["root"]);
    // Capabilities use LIST's lookup: the slash-less exact rule answers for `team/folder/`.
    assert_eq!(acl("listing").capabilities("team/folder/"), ["list"]);
}

#[test]
fn mount_access() {
    let exact = acl("exact");
    assert!(exact.has_mount_access("secret/"));
    assert!(exact.has_mount_access("legacy/"));
    assert!(exact.has_mount_access("sys/"));
    assert!(!exact.has_mount_access("other/"));
    let only_deny = Acl::new(
        &[policy("d", "path \"kv/*\" { capabilities = [\"deny\"] }")],
        None,
    )
    .unwrap();
    assert!(!only_deny.has_mount_access("kv/"));
    let segment = Acl::new(
        &[policy(
            "s",
            "path \"kv/+/app\" { capabilities = [\"read\"] }",
        )],
        None,
    )
    .unwrap();
    assert!(segment.has_mount_access("kv/"));
    assert!(!segment.has_mount_access("other/"));
    let wildcard_mount = Acl::new(
        &[policy(
            "s",
            "path \"+/data/x\" { capabilities = [\"read\"] }",
        )],
        None,
    )
    .unwrap();
    assert!(wildcard_mount.has_mount_access("anything/"));
    assert!(acl("root").has_mount_access("x/"));
}

#[test]
fn root_must_be_alone() {
    let err = Acl::new(
        &[policy("root", ""), policy("default", DEFAULT_POLICY)],
        None,
    )
    .unwrap_err();
    assert_eq!(err.0, "other policies present along with root");
    assert!(Acl::root().is_root());
    assert!(Acl::new(&[], None).unwrap().capabilities("x") == ["deny"]);
}
