//! `auth/<mount>/config`: where the cluster is and how to reach it. Writes replace the whole
//! configuration, as Vault's do: an omitted field reverts to its default.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::json;
use warden_logical::framework::{Field, FieldType, Input, NoInput, Path, handler};
use warden_logical::{LogicalError, Map, Operation, Request, Response, SecretString, StorageEntry};

use super::KubeAuth;
use super::token_review::{HttpKubeApi, KubeApi};
use crate::jose::{KeySet, PublicKey};

/// The stored configuration.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct KubeConfig {
    pub(crate) kubernetes_host: String,
    pub(crate) kubernetes_ca_cert: String,
    pub(crate) token_reviewer_jwt: SecretString,
    pub(crate) pem_keys: Vec<String>,
    pub(crate) issuer: String,
    pub(crate) disable_iss_validation: bool,
    pub(crate) disable_local_ca_jwt: bool,
    pub(crate) use_annotations_as_alias_metadata: bool,
}

/// The configuration as logins use it: keys parsed and the API client built once.
#[derive(Debug)]
pub(crate) struct Runtime {
    pub(crate) config: KubeConfig,
    pub(crate) keys: KeySet,
    pub(crate) api: Arc<dyn KubeApi>,
    /// The CA the client trusts, to notice a rotated local CA file.
    ca: Option<String>,
}

pub(super) fn path(state: &Arc<KubeAuth>) -> Path {
    Path::new("config")
        .fields([
            Field::new("kubernetes_host", FieldType::String)
                .description("Host must be a host string, a host:port pair, or a URL to the base of the Kubernetes API server."),
            Field::new("kubernetes_ca_cert", FieldType::String)
                .description("PEM encoded CA cert for use by the TLS client used to talk with the API."),
            Field::new("token_reviewer_jwt", FieldType::String)
                .description("A service account JWT (or other token) used as a bearer token to access the TokenReview API."),
            Field::new("pem_keys", FieldType::CommaStringSlice)
                .description("Optional list of PEM-formated public keys or certificates used to verify the signatures of kubernetes service account JWTs."),
            Field::new("issuer", FieldType::String).description("Optional JWT issuer.").deprecated(),
            Field::new("disable_iss_validation", FieldType::Bool).default(json!(true)).deprecated(),
            Field::new("disable_local_ca_jwt", FieldType::Bool).default(json!(false)),
            Field::new("use_annotations_as_alias_metadata", FieldType::Bool).default(json!(false)),
        ])
        .operation(Operation::Read, handler(state, read))
        .operation(Operation::Update, handler(state, write))
        .help("Configures the JWT Public Key and Kubernetes API information.", "")
}

async fn read(
    state: Arc<KubeAuth>,
    _req: Request,
    _input: NoInput,
) -> Result<Option<Response>, LogicalError> {
    let Some(config) = load(&state).await? else {
        return Ok(None);
    };
    let mut data = Map::new();
    data.insert("kubernetes_host".into(), json!(config.kubernetes_host));
    data.insert(
        "kubernetes_ca_cert".into(),
        json!(config.kubernetes_ca_cert),
    );
    data.insert("pem_keys".into(), json!(config.pem_keys));
    data.insert("issuer".into(), json!(config.issuer));
    data.insert(
        "disable_iss_validation".into(),
        json!(config.disable_iss_validation),
    );
    data.insert(
        "disable_local_ca_jwt".into(),
        json!(config.disable_local_ca_jwt),
    );
    data.insert(
        "token_reviewer_jwt_set".into(),
        json!(!config.token_reviewer_jwt.is_empty()),
    );
    data.insert(
        "use_annotations_as_alias_metadata".into(),
        json!(config.use_annotations_as_alias_metadata),
    );
    Ok(Some(Response::with_data(data)))
}

#[derive(Debug, Deserialize)]
struct WriteConfig {
    #[serde(default)]
    kubernetes_host: String,
    #[serde(default)]
    kubernetes_ca_cert: String,
    #[serde(default)]
    token_reviewer_jwt: String,
    #[serde(default)]
    pem_keys: Vec<String>,
    #[serde(default)]
    issuer: String,
    #[serde(default = "yes")]
    disable_iss_validation: bool,
    #[serde(default)]
    disable_local_ca_jwt: bool,
    #[serde(default)]
    use_annotations_as_alias_metadata: bool,
}

fn yes() -> bool {
    true
}

/// Parses PEM keys the way Vault does: each entry a public key or certificate.
fn parse_pem_keys(pem_keys: &[String]) -> Result<Vec<PublicKey>, LogicalError> {
    pem_keys
        .iter()
        .map(|pem| {
            PublicKey::from_pem(pem).map_err(|_| {
                LogicalError::user("data does not contain any valid RSA or ECDSA public keys")
            })
        })
        .collect()
}

fn check_ca(pem: &str) -> Result<(), LogicalError> {
    if pem.is_empty() {
        return Ok(());
    }
    use rustls_pki_types::pem::PemObject;
    let certs = rustls_pki_types::CertificateDer::pem_slice_iter(pem.as_bytes())
        .filter_map(Result::ok)
        .count();
    if certs == 0 {
        return Err(LogicalError::user(
            "The provided CA PEM data contains no valid certificates",
        ));
    }
    Ok(())
}

async fn write(
    state: Arc<KubeAuth>,
    _req: Request,
    input: Input<WriteConfig>,
) -> Result<Option<Response>, LogicalError> {
    let input = input.into_inner();
    if input.kubernetes_host.is_empty() {
        return Err(LogicalError::user("no host provided"));
    }
    check_ca(&input.kubernetes_ca_cert)?;
    parse_pem_keys(&input.pem_keys)?;
    let config = KubeConfig {
        kubernetes_host: input.kubernetes_host,
        kubernetes_ca_cert: input.kubernetes_ca_cert,
        token_reviewer_jwt: SecretString::new(input.token_reviewer_jwt),
        pem_keys: input.pem_keys,
        issuer: input.issuer,
        disable_iss_validation: input.disable_iss_validation,
        disable_local_ca_jwt: input.disable_local_ca_jwt,
        use_annotations_as_alias_metadata: input.use_annotations_as_alias_metadata,
    };
    // Outside a pod the CA must come from the config (or be disabled): Vault fails the
    // write with the file error.
    if config.kubernetes_ca_cert.is_empty() && !config.disable_local_ca_jwt {
        state.local.ca().map_err(LogicalError::User)?;
    }
    state
        .storage
        .put(StorageEntry::json("config", &config)?)
        .await?;
    state.set_runtime(None);
    Ok(None)
}

pub(super) async fn load(state: &KubeAuth) -> Result<Option<KubeConfig>, LogicalError> {
    let storage: &dyn warden_logical::StorageView = state.storage.as_ref();
    storage.get_json("config").await
}

impl KubeAuth {
    /// The runtime configuration, rebuilt after a config write or when the pod's CA file
    /// changed. `Ok(None)` when the mount was never configured.
    pub(crate) async fn runtime(&self) -> Result<Option<Arc<Runtime>>, LogicalError> {
        let local_ca = |config: &KubeConfig| -> Result<Option<String>, LogicalError> {
            if !config.kubernetes_ca_cert.is_empty() {
                return Ok(Some(config.kubernetes_ca_cert.clone()));
            }
            if config.disable_local_ca_jwt {
                return Ok(None);
            }
            self.local
                .ca()
                .map(|ca| Some(ca.expose().to_owned()))
                .map_err(LogicalError::internal)
        };
        if let Some(runtime) = self.cached_runtime()
            && local_ca(&runtime.config)? == runtime.ca
        {
            return Ok(Some(runtime));
        }
        let Some(config) = load(self).await? else {
            return Ok(None);
        };
        let ca = local_ca(&config)?;
        let keys = KeySet::new(parse_pem_keys(&config.pem_keys)?);
        let api = HttpKubeApi::new(&config.kubernetes_host, ca.as_deref())
            .map_err(LogicalError::internal)?;
        let runtime = Arc::new(Runtime {
            config,
            keys,
            api: Arc::new(api),
            ca,
        });
        self.set_runtime(Some(Arc::clone(&runtime)));
        Ok(Some(runtime))
    }

    /// The bearer the TokenReview is made with: the configured reviewer JWT, else the pod's
    /// own token, else (with `disable_local_ca_jwt`) the client's JWT.
    pub(crate) fn reviewer_bearer(&self, config: &KubeConfig, client_jwt: &str) -> SecretString {
        if !config.token_reviewer_jwt.is_empty() {
            return config.token_reviewer_jwt.clone();
        }
        if !config.disable_local_ca_jwt
            && let Ok(token) = self.local.token()
        {
            return token;
        }
        SecretString::new(client_jwt)
    }
}
