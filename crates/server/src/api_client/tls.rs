//! The HTTP client's TLS settings: `VAULT_CACERT`/`VAULT_CAPATH` replace the system roots,
//! `VAULT_CLIENT_CERT`/`VAULT_CLIENT_KEY` add a client identity, `VAULT_SKIP_VERIFY` turns
//! verification off.

use std::path::Path;

use super::{ClientConfig, ClientError};

fn read(path: &Path, what: &str) -> Result<Vec<u8>, ClientError> {
    std::fs::read(path).map_err(|e| {
        ClientError::Config(format!(
            "Error loading {what}: open {}: {}",
            path.display(),
            io_text(&e)
        ))
    })
}

/// The text Go's `*PathError` shows for common errors.
pub(crate) fn io_text(error: &std::io::Error) -> String {
    match error.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory".to_owned(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_owned(),
        std::io::ErrorKind::IsADirectory => "is a directory".to_owned(),
        _ => error.to_string(),
    }
}

fn certificates(pem: &[u8], what: &str) -> Result<Vec<reqwest::Certificate>, ClientError> {
    let certs = reqwest::Certificate::from_pem_bundle(pem)
        .map_err(|e| ClientError::Config(format!("Error loading {what}: {e}")))?;
    if certs.is_empty() {
        return Err(ClientError::Config(format!(
            "Error loading {what}: no PEM certificates found"
        )));
    }
    Ok(certs)
}

/// Builds the pooled HTTP client for one CLI run.
pub(super) fn build(config: &ClientConfig) -> Result<reqwest::Client, ClientError> {
    let mut builder = reqwest::Client::builder().timeout(config.timeout);
    let mut roots = Vec::new();
    if let Some(file) = &config.ca_cert {
        roots.extend(certificates(&read(file, "CA File")?, "CA File")?);
    } else if let Some(dir) = &config.ca_path {
        let entries = std::fs::read_dir(dir).map_err(|e| {
            ClientError::Config(format!(
                "Error loading CA Path: open {}: {}",
                dir.display(),
                io_text(&e)
            ))
        })?;
        let mut paths: Vec<_> = entries
            .filter_map(Result::ok)
            .map(|entry| entry.path())
            .filter(|path| path.is_file())
            .collect();
        paths.sort();
        for path in paths {
            roots.extend(certificates(&read(&path, "CA Path")?, "CA Path")?);
        }
    }
    if !roots.is_empty() {
        builder = builder.tls_certs_only(roots);
    }
    match (&config.client_cert, &config.client_key) {
        (Some(cert), Some(key)) => {
            let mut pem = read(cert, "client certificate")?;
            pem.push(b'\n');
            pem.extend(read(key, "client key")?);
            let identity = reqwest::Identity::from_pem(&pem).map_err(|e| {
                ClientError::Config(format!("Error loading client certificate: {e}"))
            })?;
            builder = builder.identity(identity);
        }
        (None, None) => {}
        _ => {
            return Err(ClientError::Config(
                "both client cert and client key must be provided".into(),
            ));
        }
    }
    if config.skip_verify {
        builder = builder.tls_danger_accept_invalid_certs(true);
    }
    builder
        .build()
        .map_err(|e| ClientError::Config(format!("Error building the HTTP client: {e}")))
}
