//! What `kubectl create token` takes, and what the tokens controller makes for legacy
//! Secret-based tokens.

use std::time::Duration;

use anyhow::{Context, bail};
use serde_json::{Value, json};

use super::cluster::{Cluster, LEGACY_ISSUER, key, random_suffix, sorted};
use super::keys::Alg;

/// The object a projected token is bound to (`--bound-object-kind`/`--bound-object-name`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BoundObject {
    /// A pod in the token's namespace, running as the token's service account.
    Pod(String),
    /// A secret in the token's namespace.
    Secret(String),
}

/// What `kubectl create token` takes.
#[derive(Debug, Clone)]
pub struct TokenRequest {
    /// The service account's namespace.
    pub namespace: String,
    /// The service account's name.
    pub service_account: String,
    /// `--audience` (repeatable); empty means the API audiences.
    pub audiences: Vec<String>,
    /// `--duration`; default one hour.
    pub duration: Duration,
    /// `--bound-object-kind/-name`.
    pub bound: Option<BoundObject>,
    /// Which of the stand-in's current signing keys signs.
    pub alg: Alg,
}

impl TokenRequest {
    /// A one-hour token for the API audiences, signed RS256, not bound to an object.
    pub fn new(namespace: &str, service_account: &str) -> Self {
        Self {
            namespace: namespace.to_owned(),
            service_account: service_account.to_owned(),
            audiences: Vec::new(),
            duration: Duration::from_secs(3600),
            bound: None,
            alg: Alg::Rs256,
        }
    }

    /// Adds an audience.
    pub fn audience(mut self, audience: &str) -> Self {
        self.audiences.push(audience.to_owned());
        self
    }

    /// Sets the duration.
    pub fn duration(mut self, duration: Duration) -> Self {
        self.duration = duration;
        self
    }

    /// Binds the token to a pod.
    pub fn bound_pod(mut self, pod: &str) -> Self {
        self.bound = Some(BoundObject::Pod(pod.to_owned()));
        self
    }

    /// Binds the token to a secret.
    pub fn bound_secret(mut self, secret: &str) -> Self {
        self.bound = Some(BoundObject::Secret(secret.to_owned()));
        self
    }

    /// Chooses the signing algorithm.
    pub fn alg(mut self, alg: Alg) -> Self {
        self.alg = alg;
        self
    }
}

/// A legacy service-account token and the Secret holding it.
#[derive(Debug, Clone)]
pub struct LegacyToken {
    /// The Secret's name (`<sa>-token-<5 chars>`).
    pub secret_name: String,
    /// The JWT.
    pub token: String,
}

impl Cluster {
    /// The claims `kubectl create token` would get (TokenRequest API), keys sorted.
    pub(crate) fn projected_claims(
        &self,
        request: &TokenRequest,
        issuer: &str,
        api_audiences: &[String],
        now: i64,
    ) -> anyhow::Result<Value> {
        let (ns, name) = (&request.namespace, &request.service_account);
        let sa = self
            .service_accounts
            .get(&key(ns, name))
            .with_context(|| format!("serviceaccounts \"{name}\" not found"))?;
        let audiences = if request.audiences.is_empty() {
            api_audiences.to_vec()
        } else {
            request.audiences.clone()
        };
        let mut k8s = json!({
            "namespace": ns,
            "serviceaccount": {"name": name, "uid": sa.uid},
        });
        match &request.bound {
            None => {}
            Some(BoundObject::Pod(pod_name)) => {
                let pod = self
                    .pods
                    .get(&key(ns, pod_name))
                    .with_context(|| format!("pods \"{pod_name}\" not found"))?;
                if &pod.service_account != name {
                    bail!(
                        "cannot bind token for serviceaccount \"{name}\" to pod running with different serviceaccount name."
                    );
                }
                k8s["pod"] = json!({"name": pod_name, "uid": pod.uid});
            }
            Some(BoundObject::Secret(secret_name)) => {
                let secret = self
                    .secrets
                    .get(&key(ns, secret_name))
                    .with_context(|| format!("secrets \"{secret_name}\" not found"))?;
                k8s["secret"] = json!({"name": secret_name, "uid": secret.uid});
            }
        }
        let exp = now + i64::try_from(request.duration.as_secs()).unwrap_or(i64::MAX / 2);
        Ok(sorted(json!({
            "aud": audiences,
            "exp": exp,
            "iat": now,
            "iss": issuer,
            "kubernetes.io": k8s,
            "nbf": now,
            "sub": format!("system:serviceaccount:{ns}:{name}"),
        })))
    }

    /// Creates a `kubernetes.io/service-account-token` Secret for the SA, signs its legacy
    /// token with the newest RS256 key, and lists the secret on the SA. Returns (secret, token).
    pub(crate) fn create_legacy_token(
        &mut self,
        namespace: &str,
        name: &str,
    ) -> anyhow::Result<(String, String)> {
        let uid = self.service_account_mut(namespace, name)?.uid.clone();
        let secret_name = format!("{name}-token-{}", random_suffix());
        let claims = json!({
            "iss": LEGACY_ISSUER,
            "kubernetes.io/serviceaccount/namespace": namespace,
            "kubernetes.io/serviceaccount/secret.name": secret_name,
            "kubernetes.io/serviceaccount/service-account.name": name,
            "kubernetes.io/serviceaccount/service-account.uid": uid,
            "sub": format!("system:serviceaccount:{namespace}:{name}"),
        });
        let token = self.signing_key(Alg::Rs256)?.sign(&claims)?;
        self.create_secret(
            namespace,
            &secret_name,
            Some((name.to_owned(), token.clone())),
        )?;
        self.service_account_mut(namespace, name)?
            .secrets
            .push(secret_name.clone());
        Ok((secret_name, token))
    }
}
