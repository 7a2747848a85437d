//! Test certificates made at run time: a CA, a server certificate for localhost and
//! 127.0.0.1, and a client certificate, written as PEM files into a temporary directory.

use std::path::PathBuf;

use anyhow::Context;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};

/// A throw-away PKI. Files live as long as the value.
#[derive(Debug)]
pub struct TestPki {
    dir: tempfile::TempDir,
    /// The CA certificate (PEM).
    pub ca_pem: String,
    /// The CA certificate's file.
    pub ca_file: PathBuf,
    /// The server certificate's file (valid for `localhost` and `127.0.0.1`).
    pub server_cert_file: PathBuf,
    /// The server key's file (PKCS#8).
    pub server_key_file: PathBuf,
    /// The client certificate and key, concatenated (for reqwest's `Identity::from_pem`).
    pub client_identity_pem: String,
}

impl TestPki {
    /// Makes a CA and signs a server and a client certificate with it.
    pub fn new() -> anyhow::Result<Self> {
        let dir = tempfile::tempdir().context("tempdir")?;
        let ca_key = KeyPair::generate()?;
        let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "warden test CA");
        ca_params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let ca_cert = ca_params.self_signed(&ca_key)?;
        let ca_pem = ca_cert.pem();
        let issuer = Issuer::new(ca_params, ca_key);

        let leaf =
            |name: &str, usage: ExtendedKeyUsagePurpose| -> anyhow::Result<(String, String)> {
                let key = KeyPair::generate()?;
                let mut params =
                    CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])?;
                params.distinguished_name.push(DnType::CommonName, name);
                params.extended_key_usages = vec![usage];
                let cert = params.signed_by(&key, &issuer)?;
                Ok((cert.pem(), key.serialize_pem()))
            };
        let (server_cert, server_key) =
            leaf("warden test server", ExtendedKeyUsagePurpose::ServerAuth)?;
        let (client_cert, client_key) =
            leaf("warden test client", ExtendedKeyUsagePurpose::ClientAuth)?;

        let write = |name: &str, contents: &str| -> anyhow::Result<PathBuf> {
            let path = dir.path().join(name);
            std::fs::write(&path, contents).with_context(|| format!("write {name}"))?;
            Ok(path)
        };
        Ok(Self {
            ca_file: write("ca.pem", &ca_pem)?,
            server_cert_file: write("server.pem", &server_cert)?,
            server_key_file: write("server-key.pem", &server_key)?,
            client_identity_pem: format!("{client_cert}{client_key}"),
            ca_pem,
            dir,
        })
    }

    /// The directory holding the files.
    pub fn dir(&self) -> &std::path::Path {
        self.dir.path()
    }
}
