//! TLS for listeners: a rustls `ServerConfig` from a listener's PEM files, on the aws-lc-rs
//! provider (passed explicitly, so no process-wide default provider is needed).
//!
//! As Vault's `listenerutil.TLSConfig`: ALPN `h2` then `http/1.1`; versions from
//! `tls_min_version`/`tls_max_version`. Client certificates follow
//! [`ClientAuth`](crate::config::ClientAuth): verified against `tls_client_ca_file`, required
//! with `tls_require_and_verify_client_cert`, optional otherwise.

#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::RootCertStore;
use rustls::ServerConfig;
use rustls::crypto::CryptoProvider;
use rustls::server::WebPkiClientVerifier;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use crate::config::{ClientAuth, ListenerConfig, ListenerTls, TlsVersion};

/// Why a listener's TLS configuration could not be built. Messages name the setting and file.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// The listener has `tls_disable` set.
    #[error("listener {address} has TLS disabled")]
    Disabled {
        /// The listener's address.
        address: String,
    },
    /// A file could not be read.
    #[error("failed to read {setting} {}: {source}", path.display())]
    Read {
        /// `tls_cert_file`, `tls_key_file` or `tls_client_ca_file`.
        setting: &'static str,
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A file was read but does not hold what the setting needs.
    #[error("{message} in {setting} {}", path.display())]
    Invalid {
        /// `tls_cert_file`, `tls_key_file` or `tls_client_ca_file`.
        setting: &'static str,
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// rustls refused the certificate and key (for example, they do not match).
    #[error("error loading TLS cert: {0}")]
    Rustls(#[from] rustls::Error),
    /// The client CA certificates could not be used to verify clients.
    #[error("failed to parse CA certificate in tls_client_ca_file {}: {message}", path.display())]
    ClientCa {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

/// The rustls server configuration for a TLS listener.
pub fn server_config(listener: &ListenerConfig) -> Result<Arc<ServerConfig>, TlsError> {
    match &listener.tls {
        Some(tls) => server_config_for(tls),
        None => Err(TlsError::Disabled {
            address: listener.address.clone(),
        }),
    }
}

/// The rustls server configuration for a listener's TLS settings.
pub fn server_config_for(tls: &ListenerTls) -> Result<Arc<ServerConfig>, TlsError> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let certs = load_certs("tls_cert_file", &tls.cert_file)?;
    let key = load_key(&tls.key_file)?;

    let versions: &[&'static rustls::SupportedProtocolVersion] =
        match (tls.min_version, tls.max_version) {
            (TlsVersion::Tls12, TlsVersion::Tls12) => &[&rustls::version::TLS12],
            (TlsVersion::Tls13, _) => &[&rustls::version::TLS13],
            (TlsVersion::Tls12, TlsVersion::Tls13) => {
                &[&rustls::version::TLS13, &rustls::version::TLS12]
            }
        };
    let builder =
        ServerConfig::builder_with_provider(provider.clone()).with_protocol_versions(versions)?;

    let builder = match (tls.client_auth, &tls.client_ca_file) {
        (ClientAuth::None, _) => builder.with_no_client_auth(),
        (auth, ca_file) => {
            let Some(ca_file) = ca_file else {
                return Err(TlsError::ClientCa {
                    path: PathBuf::new(),
                    message: "client certificates are enabled but no tls_client_ca_file is set"
                        .to_owned(),
                });
            };
            builder.with_client_cert_verifier(client_verifier(ca_file, auth, provider)?)
        }
    };

    let mut config = builder.with_single_cert(certs, key)?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

fn client_verifier(
    ca_file: &Path,
    auth: ClientAuth,
    provider: Arc<CryptoProvider>,
) -> Result<Arc<dyn rustls::server::danger::ClientCertVerifier>, TlsError> {
    let mut roots = RootCertStore::empty();
    for cert in load_certs("tls_client_ca_file", ca_file)? {
        roots.add(cert).map_err(|e| TlsError::ClientCa {
            path: ca_file.to_owned(),
            message: e.to_string(),
        })?;
    }
    let builder = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider);
    let builder = if auth == ClientAuth::Optional {
        builder.allow_unauthenticated()
    } else {
        builder
    };
    builder.build().map_err(|e| TlsError::ClientCa {
        path: ca_file.to_owned(),
        message: e.to_string(),
    })
}

fn read(setting: &'static str, path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Read {
        setting,
        path: path.to_owned(),
        source,
    })
}

/// Every `CERTIFICATE` block of a PEM file, in order; at least one.
fn load_certs(
    setting: &'static str,
    path: &Path,
) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let pem = read(setting, path)?;
    let invalid = |message: String| TlsError::Invalid {
        setting,
        path: path.to_owned(),
        message,
    };
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| invalid(format!("invalid PEM ({e})")))?;
    if certs.is_empty() {
        return Err(invalid("no PEM certificate found".to_owned()));
    }
    Ok(certs)
}

/// The first private key of a PEM file: `PRIVATE KEY` (PKCS#8), `RSA PRIVATE KEY` (PKCS#1) or
/// `EC PRIVATE KEY` (SEC1).
fn load_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    let setting = "tls_key_file";
    let pem = read(setting, path)?;
    let invalid = |message: &str| TlsError::Invalid {
        setting,
        path: path.to_owned(),
        message: message.to_owned(),
    };
    match PrivateKeyDer::from_pem_slice(&pem) {
        Ok(key) => Ok(key),
        Err(rustls_pki_types::pem::Error::NoItemsFound) => {
            if pem.windows(9).any(|w| w == b"ENCRYPTED") {
                Err(invalid(
                    "encrypted private keys are not supported; found an encrypted key",
                ))
            } else {
                Err(invalid(
                    "no PEM private key (PRIVATE KEY, RSA PRIVATE KEY or EC PRIVATE KEY) found",
                ))
            }
        }
        Err(e) => Err(invalid(&format!("invalid PEM ({e})"))),
    }
}
