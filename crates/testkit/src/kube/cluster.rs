//! The stand-in's cluster state: namespaces, service accounts, pods, secrets, cluster role
//! bindings of service accounts, and the service-account signing keys.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{Context, bail};
use serde_json::{Map, Value};

use super::keys::{Alg, SigningKey};

/// The legacy (Secret-based) token issuer.
pub(crate) const LEGACY_ISSUER: &str = "kubernetes/serviceaccount";

/// Cluster roles the stand-in knows, with the permissions it models.
pub(crate) const KNOWN_ROLES: [&str; 4] = [
    "system:auth-delegator",
    "system:controller:namespace-controller",
    "view",
    "cluster-admin",
];

pub(crate) type Key = (String, String);

pub(crate) fn key(namespace: &str, name: &str) -> Key {
    (namespace.to_owned(), name.to_owned())
}

#[derive(Debug, Clone)]
pub(crate) struct Namespace {
    pub(crate) uid: String,
    pub(crate) labels: BTreeMap<String, String>,
    pub(crate) created: i64,
    pub(crate) resource_version: u64,
}

#[derive(Debug, Clone)]
pub(crate) struct ServiceAccount {
    pub(crate) uid: String,
    pub(crate) annotations: BTreeMap<String, String>,
    pub(crate) secrets: Vec<String>,
    pub(crate) created: i64,
    pub(crate) resource_version: u64,
}

#[derive(Debug, Clone)]
pub(crate) struct Pod {
    pub(crate) uid: String,
    pub(crate) service_account: String,
}

#[derive(Debug, Clone)]
pub(crate) struct Secret {
    pub(crate) uid: String,
    /// For `kubernetes.io/service-account-token` secrets: the SA name and the token.
    pub(crate) legacy: Option<(String, String)>,
}

/// Everything the stand-in knows. Kept behind one mutex, never held across an await.
#[derive(Debug, Default)]
pub(crate) struct Cluster {
    pub(crate) namespaces: BTreeMap<String, Namespace>,
    pub(crate) service_accounts: BTreeMap<Key, ServiceAccount>,
    pub(crate) pods: BTreeMap<Key, Pod>,
    pub(crate) secrets: BTreeMap<Key, Secret>,
    /// Cluster role bindings: service account → cluster roles.
    pub(crate) bindings: BTreeMap<Key, BTreeSet<String>>,
    /// Keys in the JWKS (and accepted for verification), oldest first.
    pub(crate) keys: Vec<SigningKey>,
    /// Keys removed with `retire_key`, still usable for forging.
    pub(crate) retired: Vec<SigningKey>,
    pub(crate) anonymous_discovery: bool,
    pub(crate) resource_version: u64,
}

/// The random suffix alphabet of Kubernetes' `utilrand.String`.
const SUFFIX_ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

pub(crate) fn random_suffix() -> String {
    let mut bytes = [0u8; 5];
    // A failing system RNG leaves zeros: still a valid (if predictable) test name.
    let _ = aws_lc_rs::rand::fill(&mut bytes);
    bytes
        .iter()
        .map(|b| SUFFIX_ALPHABET[usize::from(*b) % SUFFIX_ALPHABET.len()] as char)
        .collect()
}

fn new_uid() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// Recursively sorts object keys (Go marshals claim maps in key order).
pub(crate) fn sorted(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<_> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(
                entries
                    .into_iter()
                    .map(|(k, v)| (k, sorted(v)))
                    .collect::<Map<_, _>>(),
            )
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sorted).collect()),
        other => other,
    }
}

impl Cluster {
    fn next_version(&mut self) -> u64 {
        self.resource_version += 1;
        self.resource_version
    }

    pub(crate) fn create_namespace(
        &mut self,
        name: &str,
        labels: &[(&str, &str)],
        now: i64,
    ) -> anyhow::Result<String> {
        if self.namespaces.contains_key(name) {
            bail!("namespaces \"{name}\" already exists");
        }
        let mut all: BTreeMap<String, String> = labels
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        all.insert("kubernetes.io/metadata.name".to_owned(), name.to_owned());
        let uid = new_uid();
        let resource_version = self.next_version();
        self.namespaces.insert(
            name.to_owned(),
            Namespace {
                uid: uid.clone(),
                labels: all,
                created: now,
                resource_version,
            },
        );
        Ok(uid)
    }

    pub(crate) fn delete_namespace(&mut self, name: &str) -> anyhow::Result<()> {
        self.namespaces
            .remove(name)
            .with_context(|| format!("namespaces \"{name}\" not found"))?;
        self.service_accounts.retain(|(ns, _), _| ns != name);
        self.pods.retain(|(ns, _), _| ns != name);
        self.secrets.retain(|(ns, _), _| ns != name);
        Ok(())
    }

    pub(crate) fn create_service_account(
        &mut self,
        namespace: &str,
        name: &str,
        now: i64,
    ) -> anyhow::Result<String> {
        if !self.namespaces.contains_key(namespace) {
            bail!("namespaces \"{namespace}\" not found");
        }
        let k = key(namespace, name);
        if self.service_accounts.contains_key(&k) {
            bail!("serviceaccounts \"{name}\" already exists");
        }
        let uid = new_uid();
        let resource_version = self.next_version();
        self.service_accounts.insert(
            k,
            ServiceAccount {
                uid: uid.clone(),
                annotations: BTreeMap::new(),
                secrets: Vec::new(),
                created: now,
                resource_version,
            },
        );
        Ok(uid)
    }

    /// Deletes the SA and, like the tokens controller, its legacy token secrets. Cluster role
    /// bindings name the subject, so they survive (a re-created SA is bound again).
    pub(crate) fn delete_service_account(
        &mut self,
        namespace: &str,
        name: &str,
    ) -> anyhow::Result<()> {
        self.service_accounts
            .remove(&key(namespace, name))
            .with_context(|| format!("serviceaccounts \"{name}\" not found"))?;
        self.secrets.retain(|(ns, _), secret| {
            ns != namespace || secret.legacy.as_ref().is_none_or(|(sa, _)| sa != name)
        });
        Ok(())
    }

    pub(crate) fn service_account_mut(
        &mut self,
        namespace: &str,
        name: &str,
    ) -> anyhow::Result<&mut ServiceAccount> {
        self.service_accounts
            .get_mut(&key(namespace, name))
            .with_context(|| format!("serviceaccounts \"{name}\" not found"))
    }

    pub(crate) fn create_pod(
        &mut self,
        namespace: &str,
        name: &str,
        service_account: &str,
    ) -> anyhow::Result<String> {
        if !self.namespaces.contains_key(namespace) {
            bail!("namespaces \"{namespace}\" not found");
        }
        let k = key(namespace, name);
        if self.pods.contains_key(&k) {
            bail!("pods \"{name}\" already exists");
        }
        let uid = new_uid();
        let pod = Pod {
            uid: uid.clone(),
            service_account: service_account.to_owned(),
        };
        self.pods.insert(k, pod);
        Ok(uid)
    }

    pub(crate) fn create_secret(
        &mut self,
        namespace: &str,
        name: &str,
        legacy: Option<(String, String)>,
    ) -> anyhow::Result<String> {
        if !self.namespaces.contains_key(namespace) {
            bail!("namespaces \"{namespace}\" not found");
        }
        let k = key(namespace, name);
        if self.secrets.contains_key(&k) {
            bail!("secrets \"{name}\" already exists");
        }
        let uid = new_uid();
        self.secrets.insert(
            k,
            Secret {
                uid: uid.clone(),
                legacy,
            },
        );
        Ok(uid)
    }

    /// The signing key for `alg`: the newest key of that algorithm in the JWKS.
    pub(crate) fn signing_key(&self, alg: Alg) -> anyhow::Result<SigningKey> {
        self.keys
            .iter()
            .rev()
            .find(|k| k.alg() == alg)
            .cloned()
            .with_context(|| format!("no {alg} signing key (add one with add_key)"))
    }

    /// RBAC: may the service account (or anonymous, `None`) do `verb` on `group/resource`?
    pub(crate) fn allowed(
        &self,
        user: Option<&Key>,
        verb: &str,
        group: &str,
        resource: &str,
    ) -> bool {
        let Some(user) = user else {
            return false;
        };
        self.bindings
            .get(user)
            .is_some_and(|roles| roles.iter().any(|r| role_allows(r, verb, group, resource)))
    }

    /// RBAC for the OIDC discovery paths (`system:service-account-issuer-discovery`, bound by
    /// default to `system:serviceaccounts`, and to `system:unauthenticated` when anonymous
    /// discovery is on).
    pub(crate) fn discovery_allowed(&self, user: Option<&Key>) -> bool {
        user.is_some() || self.anonymous_discovery
    }
}

fn role_allows(role: &str, verb: &str, group: &str, resource: &str) -> bool {
    let read = matches!(verb, "get" | "list" | "watch");
    match role {
        "cluster-admin" => true,
        "system:auth-delegator" => {
            verb == "create"
                && matches!(
                    (group, resource),
                    ("authentication.k8s.io", "tokenreviews")
                        | ("authorization.k8s.io", "subjectaccessreviews")
                )
        }
        "system:controller:namespace-controller" => {
            group.is_empty() && resource == "namespaces" && (read || verb == "delete")
        }
        "view" => {
            group.is_empty()
                && read
                && matches!(resource, "namespaces" | "serviceaccounts" | "pods")
        }
        _ => false,
    }
}
