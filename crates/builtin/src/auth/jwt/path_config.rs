//! `auth/<mount>/config`: where the signing keys come from. Every write replaces the whole
//! configuration (only `namespace_in_state` keeps its value when omitted), validates in
//! Vault's order with Vault's messages (`path_config.go`), fetches remote sources, and
//! replaces the parsed keys the mount verifies with.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use warden_logical::framework::{Field, FieldType, Input, NoInput, Path, handler};
use warden_logical::{LogicalError, Map, Operation, Request, Response, SecretString, StorageView};

use super::keyset::{self, RemoteKeys};
use super::{JwtAuth, KeySource, Runtime};
use crate::jose::{Alg, JoseError, KeySet, PublicKey};

/// The stored configuration, with Vault's field names.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct JwtConfig {
    pub(crate) oidc_discovery_url: String,
    pub(crate) oidc_discovery_ca_pem: String,
    pub(crate) oidc_client_id: String,
    pub(crate) oidc_client_secret: SecretString,
    pub(crate) oidc_response_mode: String,
    pub(crate) oidc_response_types: Vec<String>,
    pub(crate) jwks_url: String,
    pub(crate) jwks_ca_pem: String,
    pub(crate) jwks_pairs: Vec<Value>,
    pub(crate) jwt_validation_pubkeys: Vec<String>,
    pub(crate) jwt_supported_algs: Vec<String>,
    pub(crate) bound_issuer: String,
    pub(crate) default_role: String,
    pub(crate) provider_config: Map,
    pub(crate) namespace_in_state: bool,
    pub(crate) unsupported_critical_cert_extensions: Vec<String>,
}

/// One entry of `jwks_pairs`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct JwksPair {
    pub(crate) jwks_url: String,
    pub(crate) jwks_ca_pem: String,
}

const PAIRS_SHAPE: &str = "jwks_pairs must be provided as a list of json objects with the fields jwks_url and jwks_ca_pem";

impl JwtConfig {
    /// Vault's `NewJWKSPairsConfig`.
    pub(crate) fn pairs(&self) -> Result<Vec<JwksPair>, String> {
        self.jwks_pairs
            .iter()
            .map(|raw| {
                let object = raw.as_object().ok_or_else(|| PAIRS_SHAPE.to_owned())?;
                let field = |name: &str| match object.get(name) {
                    None | Some(Value::Null) => Ok(String::new()),
                    Some(Value::String(s)) => Ok(s.clone()),
                    Some(other) => Err(format!(
                        "'{name}' expected type 'string', got unconvertible type, value: '{other}'"
                    )),
                };
                Ok(JwksPair {
                    jwks_url: field("jwks_url")?,
                    jwks_ca_pem: field("jwks_ca_pem")?,
                })
            })
            .collect()
    }

    /// The algorithms logins accept: `jwt_supported_algs`, or all ten when empty.
    pub(crate) fn algs(&self) -> Result<Vec<Alg>, String> {
        if self.jwt_supported_algs.is_empty() {
            return Ok(Alg::ALL.to_vec());
        }
        self.jwt_supported_algs
            .iter()
            .map(|name| {
                Alg::from_name(name)
                    .ok_or_else(|| format!("unsupported signing algorithm {name:?}"))
            })
            .collect()
    }

    fn has_response_type(&self, kind: &str) -> bool {
        (self.oidc_response_types.is_empty() && kind == "code")
            || self.oidc_response_types.iter().any(|t| t == kind)
    }
}

pub(super) fn path(state: &Arc<JwtAuth>) -> Path {
    let string =
        |name: &str, text: &str| Field::new(name, FieldType::String).description(text.to_owned());
    let list = |name: &str, text: &str| {
        Field::new(name, FieldType::CommaStringSlice).description(text.to_owned())
    };
    Path::new("config")
        .fields([
            string("oidc_discovery_url", "OIDC Discovery URL, without any .well-known component (base path). Cannot be used with \"jwks_url\" or \"jwt_validation_pubkeys\"."),
            string("oidc_discovery_ca_pem", "The CA certificate or chain of certificates, in PEM format, to use to validate connections to the OIDC Discovery URL. If not set, system certificates are used."),
            string("oidc_client_id", "The OAuth Client ID configured with your OIDC provider."),
            string("oidc_client_secret", "The OAuth Client Secret configured with your OIDC provider."),
            string("oidc_response_mode", "The response mode to be used in the OAuth2 request. Allowed values are 'query' and 'form_post'."),
            list("oidc_response_types", "The response types to request. Allowed values are 'code' and 'id_token'. Defaults to 'code'."),
            string("jwks_url", "JWKS URL to use to authenticate signatures. Cannot be used with \"oidc_discovery_url\" or \"jwt_validation_pubkeys\"."),
            string("jwks_ca_pem", "The CA certificate or chain of certificates, in PEM format, to use to validate connections to the JWKS URL. If not set, system certificates are used."),
            Field::new("jwks_pairs", FieldType::Slice).description("Set of JWKS Url and CA certificate (or chain of certificates) pairs. CA certificates must be in PEM format. Cannot be used with \"jwks_url\" or \"jwks_ca_pem\"."),
            Field::new("default_role", FieldType::LowerCaseString).description("The default role to use if none is provided during login. If not set, a role is required during login."),
            list("jwt_validation_pubkeys", "A list of PEM-encoded public keys to use to authenticate signatures locally. Cannot be used with \"jwks_url\" or \"oidc_discovery_url\"."),
            list("jwt_supported_algs", "A list of supported signing algorithms. Defaults to RS256."),
            string("bound_issuer", "The value against which to match the 'iss' claim in a JWT. Optional."),
            Field::new("provider_config", FieldType::Map).description("Provider-specific configuration. Optional."),
            Field::new("namespace_in_state", FieldType::Bool).description("Pass namespace in the OIDC state parameter instead of as a separate query parameter. Defaults to true for new configs."),
            list("unsupported_critical_cert_extensions", "A list of ASN1 OIDs of certificate extensions marked Critical that are unsupported by Vault and should be ignored."),
        ])
        .operation(Operation::Read, handler(state, read))
        .operation(Operation::Update, handler(state, write))
        .help(
            "Configures the JWT authentication backend.",
            "The JWT authentication backend validates JWTs (or OIDC) using the configured credentials. If using OIDC Discovery, the URL must be provided, along with (optionally) the CA cert to use for the connection. If performing JWT validation locally, a set of public keys must be provided.",
        )
}

pub(super) async fn load(state: &JwtAuth) -> Result<Option<JwtConfig>, LogicalError> {
    let storage: &dyn StorageView = state.storage.as_ref();
    storage.get_json("config").await
}

async fn read(
    state: Arc<JwtAuth>,
    _req: Request,
    _input: NoInput,
) -> Result<Option<Response>, LogicalError> {
    let Some(config) = load(&state).await? else {
        return Ok(None);
    };
    let mut data = Map::new();
    data.insert(
        "oidc_discovery_url".into(),
        json!(config.oidc_discovery_url),
    );
    data.insert(
        "oidc_discovery_ca_pem".into(),
        json!(config.oidc_discovery_ca_pem),
    );
    data.insert("oidc_client_id".into(), json!(config.oidc_client_id));
    data.insert(
        "oidc_response_mode".into(),
        json!(config.oidc_response_mode),
    );
    data.insert(
        "oidc_response_types".into(),
        json!(config.oidc_response_types),
    );
    data.insert("default_role".into(), json!(config.default_role));
    data.insert(
        "jwt_validation_pubkeys".into(),
        json!(config.jwt_validation_pubkeys),
    );
    data.insert(
        "jwt_supported_algs".into(),
        json!(config.jwt_supported_algs),
    );
    data.insert("jwks_url".into(), json!(config.jwks_url));
    data.insert("jwks_pairs".into(), json!(config.jwks_pairs));
    data.insert("jwks_ca_pem".into(), json!(config.jwks_ca_pem));
    data.insert("bound_issuer".into(), json!(config.bound_issuer));
    // No provider is supported, so there are no sensitive provider keys to strip.
    data.insert("provider_config".into(), json!({}));
    data.insert(
        "namespace_in_state".into(),
        json!(config.namespace_in_state),
    );
    data.insert(
        "unsupported_critical_cert_extensions".into(),
        json!(config.unsupported_critical_cert_extensions),
    );
    Ok(Some(Response::with_data(data)))
}

fn string(data: &Map, key: &str) -> String {
    data.get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

/// certutil's `ParsePublicKeyPEM` as warden's strict layer does it.
pub(crate) fn parse_public_key(pem: &str) -> Result<PublicKey, String> {
    PublicKey::from_pem(pem).map_err(|err| match err {
        JoseError::InvalidPem(_) => "data does not contain any valid public keys".to_owned(),
        other => other.to_string(),
    })
}

/// Parses every `jwt_validation_pubkeys` entry (kid-less keys: every one is tried).
pub(crate) fn parse_public_keys(pems: &[String]) -> Result<KeySet, String> {
    pems.iter()
        .map(|pem| parse_public_key(pem))
        .collect::<Result<Vec<_>, _>>()
        .map(KeySet::new)
}

fn user(message: impl Into<String>) -> LogicalError {
    LogicalError::user(message)
}

async fn write(
    state: Arc<JwtAuth>,
    _req: Request,
    input: Input<Map>,
) -> Result<Option<Response>, LogicalError> {
    let existing = load(&state).await?;
    let mut config = JwtConfig {
        oidc_discovery_url: string(&input, "oidc_discovery_url"),
        oidc_discovery_ca_pem: string(&input, "oidc_discovery_ca_pem"),
        oidc_client_id: string(&input, "oidc_client_id"),
        oidc_client_secret: SecretString::new(string(&input, "oidc_client_secret")),
        oidc_response_mode: string(&input, "oidc_response_mode"),
        oidc_response_types: warden_logical::matching::string_list(&input, "oidc_response_types"),
        jwks_url: string(&input, "jwks_url"),
        jwks_ca_pem: string(&input, "jwks_ca_pem"),
        jwks_pairs: input
            .get("jwks_pairs")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default(),
        jwt_validation_pubkeys: warden_logical::matching::string_list(
            &input,
            "jwt_validation_pubkeys",
        ),
        jwt_supported_algs: warden_logical::matching::string_list(&input, "jwt_supported_algs"),
        bound_issuer: string(&input, "bound_issuer"),
        default_role: string(&input, "default_role"),
        provider_config: input
            .get("provider_config")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default(),
        namespace_in_state: true,
        unsupported_critical_cert_extensions: warden_logical::matching::string_list(
            &input,
            "unsupported_critical_cert_extensions",
        ),
    };
    config.namespace_in_state = if input.provided("namespace_in_state") {
        input
            .get("namespace_in_state")
            .and_then(Value::as_bool)
            .unwrap_or(false)
    } else {
        existing.as_ref().is_none_or(|c| c.namespace_in_state)
    };

    let keys = check_key_source(&state, &config).await?;

    if let Err(err) = config.algs() {
        return Err(user(format!("invalid jwt_supported_algs: {err}")));
    }
    if config
        .oidc_response_types
        .iter()
        .any(|t| t != "code" && t != "id_token")
    {
        return Err(user(format!(
            "invalid response_types [{}]. 'code' and 'id_token' are allowed",
            config.oidc_response_types.join(" ")
        )));
    }
    match config.oidc_response_mode.as_str() {
        "" | "query" if config.has_response_type("id_token") => {
            return Err(user(
                "query response_mode may not be used with an id_token response_type",
            ));
        }
        "" | "query" | "form_post" => {}
        other => return Err(user(format!("invalid response_mode: {other:?}"))),
    }
    check_provider_config(&config.provider_config)
        .map_err(|err| user(format!("invalid provider_config: {err}")))?;

    state.storage.put_json("config", &config).await?;
    let runtime = Runtime::new(config).map_err(LogicalError::internal)?;
    let _ = runtime.keys.set(keys);
    state.replace_runtime(Some(Arc::new(runtime)));
    Ok(None)
}

/// Vault's `NewProviderConfig`. No provider-specific group or user-info fetching is
/// implemented, so naming any provider is refused rather than silently ignored.
fn check_provider_config(provider_config: &Map) -> Result<(), String> {
    if provider_config.is_empty() {
        return Ok(());
    }
    let Some(provider) = provider_config.get("provider").and_then(Value::as_str) else {
        return Err("'provider' field not found in provider_config".into());
    };
    if !["azure", "gsuite", "secureauth", "ibmisam", "okta"].contains(&provider) {
        return Err(format!(
            "provider {provider:?} not found in custom providers"
        ));
    }
    Err(format!(
        "error initializing {provider:?} provider_config: provider-specific fetching is not supported by warden"
    ))
}

/// The first-match `switch` of Vault's `pathConfigWrite`: exactly one key source, its
/// parameters, and a fetch of remote sources. Returns the key source, ready to use.
async fn check_key_source(
    state: &Arc<JwtAuth>,
    config: &JwtConfig,
) -> Result<KeySource, LogicalError> {
    let methods = [
        !config.oidc_discovery_url.is_empty(),
        !config.jwt_validation_pubkeys.is_empty(),
        !config.jwks_url.is_empty(),
        !config.jwks_pairs.is_empty(),
    ];
    let has_id = !config.oidc_client_id.is_empty();
    let has_secret = !config.oidc_client_secret.is_empty();
    if methods.iter().filter(|set| **set).count() != 1 {
        return Err(user(
            "exactly one of 'jwt_validation_pubkeys', 'jwks_url', 'jwks_pairs' or 'oidc_discovery_url' must be set",
        ));
    }
    if has_id != has_secret {
        return Err(user(
            "both 'oidc_client_id' and 'oidc_client_secret' must be set for OIDC",
        ));
    }
    if !config.oidc_discovery_url.is_empty() {
        return match state.discovery_source(config).await {
            Ok(source) => Ok(source),
            Err(err) => {
                tracing::error!(error = %err, "error checking oidc discovery URL");
                Err(user("error checking oidc discovery URL"))
            }
        };
    }
    if has_id {
        return Err(user("'oidc_discovery_url' must be set for OIDC"));
    }
    if !config.jwks_ca_pem.is_empty() && !config.jwks_pairs.is_empty() {
        return Err(user(
            "CA PEMs must be provided as part of the 'jwks_pairs' when using multiple JWKS URLs",
        ));
    }
    if !config.jwks_pairs.is_empty() && !config.bound_issuer.is_empty() {
        return Err(user(
            "Bound issuer is not supported for use with 'jwks_pairs'",
        ));
    }
    if !config.jwks_url.is_empty() {
        let keys = probe_jwks(state, &config.jwks_url, &config.jwks_ca_pem).await?;
        return Ok(KeySource::Remote(keys));
    }
    if !config.jwks_pairs.is_empty() {
        let pairs = config
            .pairs()
            .map_err(|err| user(format!("invalid jwks_pairs: {err}")))?;
        let mut probes = tokio::task::JoinSet::new();
        for (index, pair) in pairs.into_iter().enumerate() {
            let state = Arc::clone(state);
            probes.spawn(async move {
                (
                    index,
                    probe_jwks(&state, &pair.jwks_url, &pair.jwks_ca_pem).await,
                )
            });
        }
        let mut results = Vec::new();
        while let Some(joined) = probes.join_next().await {
            results.push(joined.map_err(LogicalError::internal)?);
        }
        results.sort_by_key(|(index, _)| *index);
        let sets = results
            .into_iter()
            .map(|(_, r)| r)
            .collect::<Result<Vec<_>, _>>()?;
        return Ok(KeySource::Multi(sets));
    }
    let keys = parse_public_keys(&config.jwt_validation_pubkeys)
        .map_err(|err| user(format!("error parsing public key: {err}")))?;
    Ok(KeySource::Static(keys))
}

/// Vault's `validateJWKSURL`: the set must be fetchable and parse.
async fn probe_jwks(
    state: &JwtAuth,
    url: &str,
    ca_pem: &str,
) -> Result<Arc<RemoteKeys>, LogicalError> {
    let keys = match state.remote_keys(url, ca_pem) {
        Ok(keys) => keys,
        Err(err) => {
            tracing::error!(error = %err, "error checking jwks_ca_pem");
            return Err(user("error checking jwks_ca_pem"));
        }
    };
    if let Err(err) = keys.load().await {
        tracing::error!(url, error = %err, "error checking jwks URL");
        return Err(user(format!("error checking jwks URL {url}")));
    }
    Ok(keys)
}

impl JwtAuth {
    /// Fetches the discovery document (checking its issuer) and returns the key source for
    /// its `jwks_uri`; a config with a client secret is the OIDC browser flow, which JWT
    /// logins do not support (Vault's `unsupported config type`).
    pub(crate) async fn discovery_source(&self, config: &JwtConfig) -> Result<KeySource, String> {
        let fetcher = (self.make_fetcher)(&config.oidc_discovery_ca_pem)?;
        let jwks_uri = keyset::discover(fetcher.as_ref(), &config.oidc_discovery_url).await?;
        if !config.oidc_client_secret.is_empty() {
            return Ok(KeySource::Unsupported);
        }
        Ok(KeySource::Remote(Arc::new(RemoteKeys::new(
            jwks_uri,
            fetcher,
            Arc::clone(&self.clock),
            self.policy,
        ))))
    }

    /// An empty cache for a JWK set, with its own client trusting `ca_pem`.
    pub(crate) fn remote_keys(&self, url: &str, ca_pem: &str) -> Result<Arc<RemoteKeys>, String> {
        let fetcher = (self.make_fetcher)(ca_pem)?;
        Ok(Arc::new(RemoteKeys::new(
            url,
            fetcher,
            Arc::clone(&self.clock),
            self.policy,
        )))
    }

    /// Builds the key source of a stored configuration (after a restart or an
    /// invalidation); errors are Vault's `keyset configuration error: …` texts.
    pub(crate) async fn build_key_source(&self, config: &JwtConfig) -> Result<KeySource, String> {
        let wrap = |err: String| format!("keyset configuration error: {err}");
        if !config.jwt_validation_pubkeys.is_empty() {
            return parse_public_keys(&config.jwt_validation_pubkeys)
                .map(KeySource::Static)
                .map_err(|err| format!("error parsing public key: {err}"));
        }
        if !config.jwks_url.is_empty() {
            return self
                .remote_keys(&config.jwks_url, &config.jwks_ca_pem)
                .map(KeySource::Remote)
                .map_err(wrap);
        }
        if !config.jwks_pairs.is_empty() {
            let pairs = config
                .pairs()
                .map_err(|err| format!("error parsing JWKS pairs: {err}"))?;
            let sets = pairs
                .iter()
                .map(|p| self.remote_keys(&p.jwks_url, &p.jwks_ca_pem))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|err| format!("error initializing key set caches: {err}"))?;
            return Ok(KeySource::Multi(sets));
        }
        if !config.oidc_discovery_url.is_empty() {
            return self.discovery_source(config).await.map_err(wrap);
        }
        Ok(KeySource::Unsupported)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_shape() {
        let config = JwtConfig {
            jwks_pairs: vec![
                json!({"jwks_url": "https://a", "jwks_ca_pem": "x"}),
                json!({"jwks_url": "https://b"}),
            ],
            ..JwtConfig::default()
        };
        let pairs = config.pairs().unwrap();
        assert_eq!(pairs.len(), 2);
        assert_eq!(pairs[1].jwks_ca_pem, "");
        let bad = JwtConfig {
            jwks_pairs: vec![json!("https://a")],
            ..JwtConfig::default()
        };
        assert_eq!(bad.pairs().unwrap_err(), PAIRS_SHAPE);
    }

    #[test]
    fn supported_algs() {
        let config = JwtConfig::default();
        assert_eq!(config.algs().unwrap().len(), 10);
        let config = JwtConfig {
            jwt_supported_algs: vec!["ES256".into(), "EdDSA".into()],
            ..JwtConfig::default()
        };
        assert_eq!(config.algs().unwrap(), vec![Alg::Es256, Alg::EdDsa]);
        let config = JwtConfig {
            jwt_supported_algs: vec!["HS256".into()],
            ..JwtConfig::default()
        };
        assert_eq!(
            config.algs().unwrap_err(),
            "unsupported signing algorithm \"HS256\""
        );
    }

    #[test]
    fn provider_config_messages() {
        assert!(check_provider_config(&Map::new()).is_ok());
        let mut map = Map::new();
        map.insert("foo".into(), json!("bar"));
        assert_eq!(
            check_provider_config(&map).unwrap_err(),
            "'provider' field not found in provider_config"
        );
        map.insert("provider".into(), json!("unknown"));
        assert_eq!(
            check_provider_config(&map).unwrap_err(),
            "provider \"unknown\" not found in custom providers"
        );
    }

    #[test]
    fn bad_pem_message() {
        assert_eq!(
            parse_public_key("garbage").unwrap_err(),
            "data does not contain any valid public keys"
        );
    }
}
