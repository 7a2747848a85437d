//! TLS tests: certificates generated with rcgen into a temporary directory, every key encoding,
//! every client-certificate mode, the error paths, and real handshakes over 127.0.0.1.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use base64::Engine as _;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SignatureAlgorithm,
};
use rustls::pki_types::ServerName;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};

use super::*;

struct Pki {
    dir: tempfile::TempDir,
    issuer: Issuer<'static, KeyPair>,
}

impl Pki {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(DnType::CommonName, "warden test CA");
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let cert = params.self_signed(&key).unwrap();
        std::fs::write(dir.path().join("ca.pem"), cert.pem()).unwrap();
        Self {
            dir,
            issuer: Issuer::new(params, key),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn write(&self, name: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let path = self.path(name);
        std::fs::write(&path, contents).unwrap();
        path
    }

    /// A leaf certificate for localhost/127.0.0.1; returns (cert path, PKCS#8 key path, key).
    fn leaf(
        &self,
        name: &str,
        alg: &'static SignatureAlgorithm,
        usage: ExtendedKeyUsagePurpose,
    ) -> (PathBuf, PathBuf, KeyPair) {
        let key = KeyPair::generate_for(alg).unwrap();
        let mut params =
            CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()]).unwrap();
        params.distinguished_name.push(DnType::CommonName, name);
        params.extended_key_usages = vec![usage];
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        let cert_path = self.write(&format!("{name}.pem"), cert.pem());
        let key_path = self.write(&format!("{name}-key.pem"), key.serialize_pem());
        (cert_path, key_path, key)
    }

    fn server(&self) -> (PathBuf, PathBuf) {
        let (c, k, _) = self.leaf(
            "server",
            &rcgen::PKCS_ECDSA_P256_SHA256,
            ExtendedKeyUsagePurpose::ServerAuth,
        );
        (c, k)
    }
}

fn tls(cert: &Path, key: &Path) -> ListenerTls {
    ListenerTls {
        cert_file: cert.to_owned(),
        key_file: key.to_owned(),
        client_ca_file: None,
        client_auth: ClientAuth::None,
        min_version: TlsVersion::Tls12,
        max_version: TlsVersion::Tls13,
    }
}

fn pem(label: &str, der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let body: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    format!(
        "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
        body.join("\n")
    )
}

/// One DER element: (tag, whole element, contents).
fn der_element(data: &[u8]) -> (u8, &[u8], &[u8]) {
    let tag = data[0];
    let (len, header) = match data[1] {
        n if n < 0x80 => (usize::from(n), 2),
        n => {
            let count = usize::from(n & 0x7f);
            let len = data[2..2 + count]
                .iter()
                .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
            (len, 2 + count)
        }
    };
    (tag, &data[..header + len], &data[header..header + len])
}

fn der_children(mut contents: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    while !contents.is_empty() {
        let (_, whole, _) = der_element(contents);
        out.push(whole);
        contents = &contents[whole.len()..];
    }
    out
}

fn der_encode(tag: u8, contents: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    match contents.len() {
        n if n < 0x80 => out.push(u8::try_from(n).unwrap()),
        n if n < 0x100 => out.extend([0x81, u8::try_from(n).unwrap()]),
        n => out.extend([
            0x82,
            u8::try_from(n >> 8).unwrap(),
            u8::try_from(n & 0xff).unwrap(),
        ]),
    }
    out.extend_from_slice(contents);
    out
}

/// PKCS#8 `PrivateKeyInfo` → (algorithm parameters element, inner private key DER).
fn unwrap_pkcs8(pkcs8: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let (_, _, info) = der_element(pkcs8);
    let parts = der_children(info);
    let (_, _, alg) = der_element(parts[1]);
    let alg_parts = der_children(alg);
    let (_, _, inner) = der_element(parts[2]);
    (
        alg_parts.get(1).map(|p| p.to_vec()).unwrap_or_default(),
        inner.to_vec(),
    )
}

/// PKCS#8 EC key → SEC1 `ECPrivateKey` with the curve parameters ([0]) it needs standing alone.
fn pkcs8_to_sec1(pkcs8: &[u8]) -> Vec<u8> {
    let (curve, inner) = unwrap_pkcs8(pkcs8);
    let (_, _, contents) = der_element(&inner);
    let parts = der_children(contents);
    let mut rebuilt = Vec::new();
    rebuilt.extend_from_slice(parts[0]); // version
    rebuilt.extend_from_slice(parts[1]); // privateKey
    rebuilt.extend(der_encode(0xa0, &curve));
    for part in &parts[2..] {
        if part[0] != 0xa0 {
            rebuilt.extend_from_slice(part);
        }
    }
    der_encode(0x30, &rebuilt)
}

#[test]
fn builds_from_pkcs8_ec_key_with_alpn() {
    let pki = Pki::new();
    let (cert, key) = pki.server();
    let config = server_config_for(&tls(&cert, &key)).unwrap();
    assert_eq!(
        config.alpn_protocols,
        vec![b"h2".to_vec(), b"http/1.1".to_vec()]
    );
    let mut listener = ListenerConfig::plain("127.0.0.1:8200");
    listener.tls = Some(tls(&cert, &key));
    assert!(server_config(&listener).is_ok());
}

#[test]
fn accepts_pkcs1_rsa_and_sec1_ec_keys() {
    let pki = Pki::new();
    let (cert, key_path, key) = pki.leaf(
        "rsa",
        &rcgen::PKCS_RSA_SHA256,
        ExtendedKeyUsagePurpose::ServerAuth,
    );
    server_config_for(&tls(&cert, &key_path)).unwrap();
    let (_, pkcs1) = unwrap_pkcs8(&key.serialize_der());
    let pkcs1_path = pki.write("rsa-pkcs1.pem", pem("RSA PRIVATE KEY", &pkcs1));
    server_config_for(&tls(&cert, &pkcs1_path)).unwrap();

    let (cert, _, key) = pki.leaf(
        "ec384",
        &rcgen::PKCS_ECDSA_P384_SHA384,
        ExtendedKeyUsagePurpose::ServerAuth,
    );
    let sec1_path = pki.write(
        "ec-sec1.pem",
        pem("EC PRIVATE KEY", &pkcs8_to_sec1(&key.serialize_der())),
    );
    server_config_for(&tls(&cert, &sec1_path)).unwrap();
}

#[test]
fn client_ca_variants() {
    let pki = Pki::new();
    let (cert, key) = pki.server();
    for auth in [ClientAuth::Optional, ClientAuth::Required] {
        let mut t = tls(&cert, &key);
        t.client_auth = auth;
        t.client_ca_file = Some(pki.path("ca.pem"));
        server_config_for(&t).unwrap();
    }
    for (min, max) in [
        (TlsVersion::Tls12, TlsVersion::Tls12),
        (TlsVersion::Tls13, TlsVersion::Tls13),
    ] {
        let mut t = tls(&cert, &key);
        (t.min_version, t.max_version) = (min, max);
        server_config_for(&t).unwrap();
    }
}

#[test]
fn file_errors_name_the_setting_and_path() {
    let pki = Pki::new();
    let (cert, key) = pki.server();
    let missing = pki.path("nope.pem");
    let garbage = pki.write("garbage.pem", "not a pem file\n");

    let err = server_config_for(&tls(&missing, &key)).unwrap_err();
    assert!(
        matches!(
            err,
            TlsError::Read {
                setting: "tls_cert_file",
                ..
            }
        ),
        "{err}"
    );
    assert!(
        err.to_string().starts_with(&format!(
            "failed to read tls_cert_file {}: ",
            missing.display()
        )),
        "{err}"
    );

    let err = server_config_for(&tls(&cert, &missing)).unwrap_err();
    assert!(
        matches!(
            err,
            TlsError::Read {
                setting: "tls_key_file",
                ..
            }
        ),
        "{err}"
    );

    let err = server_config_for(&tls(&garbage, &key)).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "no PEM certificate found in tls_cert_file {}",
            garbage.display()
        )
    );

    let err = server_config_for(&tls(&cert, &garbage)).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "no PEM private key (PRIVATE KEY, RSA PRIVATE KEY or EC PRIVATE KEY) found in \
             tls_key_file {}",
            garbage.display()
        )
    );

    // A key block whose contents are not a key.
    let bad_key = pki.write("bad-key.pem", pem("PRIVATE KEY", b"definitely not DER"));
    let err = server_config_for(&tls(&cert, &bad_key)).unwrap_err();
    assert!(
        err.to_string().starts_with("error loading TLS cert: "),
        "{err}"
    );

    let encrypted = pki.write("enc.pem", pem("ENCRYPTED PRIVATE KEY", b"\x30\x00"));
    let err = server_config_for(&tls(&cert, &encrypted)).unwrap_err();
    assert!(
        err.to_string()
            .contains("encrypted private keys are not supported"),
        "{err}"
    );

    // A key that is not the certificate's.
    let (_, other_key) = pki.server();
    let (cert2, _, _) = pki.leaf(
        "other",
        &rcgen::PKCS_ECDSA_P256_SHA256,
        ExtendedKeyUsagePurpose::ServerAuth,
    );
    let err = server_config_for(&tls(&cert2, &other_key)).unwrap_err();
    assert!(
        matches!(err, TlsError::Rustls(rustls::Error::InconsistentKeys(_))),
        "{err}"
    );

    let mut t = tls(&cert, &key);
    t.client_auth = ClientAuth::Required;
    t.client_ca_file = Some(garbage);
    let err = server_config_for(&t).unwrap_err();
    assert!(err.to_string().contains("tls_client_ca_file"), "{err}");

    let err = server_config(&ListenerConfig::plain("127.0.0.1:8200")).unwrap_err();
    assert_eq!(err.to_string(), "listener 127.0.0.1:8200 has TLS disabled");
}

fn client_config(
    pki: &Pki,
    client_cert: Option<(&Path, &Path)>,
    versions: &[&'static rustls::SupportedProtocolVersion],
) -> Arc<rustls::ClientConfig> {
    let mut roots = RootCertStore::empty();
    for cert in load_certs("ca", &pki.path("ca.pem")).unwrap() {
        roots.add(cert).unwrap();
    }
    let builder = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_protocol_versions(versions)
    .unwrap()
    .with_root_certificates(roots);
    let mut config = match client_cert {
        None => builder.with_no_client_auth(),
        Some((cert, key)) => builder
            .with_client_auth_cert(load_certs("c", cert).unwrap(), load_key(key).unwrap())
            .unwrap(),
    };
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Arc::new(config)
}

/// Serves one connection with `server` and connects with `client`; returns (server accepted,
/// client round trip worked, negotiated ALPN).
async fn handshake(
    server: Arc<ServerConfig>,
    client: Arc<rustls::ClientConfig>,
) -> (bool, bool, Option<Vec<u8>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(server);
    let server_task = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        match acceptor.accept(tcp).await {
            Ok(mut stream) => {
                let mut buf = [0u8; 4];
                if stream.read_exact(&mut buf).await.is_ok() {
                    let _ = stream.write_all(b"pong").await;
                    let _ = stream.shutdown().await;
                }
                true
            }
            Err(_) => false,
        }
    });
    let connector = tokio_rustls::TlsConnector::from(client);
    let tcp = TcpStream::connect(addr).await.unwrap();
    let name = ServerName::try_from("localhost").unwrap();
    let (round_trip, alpn) = match connector.connect(name, tcp).await {
        Ok(mut stream) => {
            let alpn = stream.get_ref().1.alpn_protocol().map(<[u8]>::to_vec);
            let mut buf = [0u8; 4];
            let ok = stream.write_all(b"ping").await.is_ok()
                && stream.read_exact(&mut buf).await.is_ok()
                && &buf == b"pong";
            (ok, alpn)
        }
        Err(_) => (false, None),
    };
    (server_task.await.unwrap(), round_trip, alpn)
}

#[tokio::test]
async fn handshakes_over_loopback() {
    let pki = Pki::new();
    let (cert, key) = pki.server();
    let (client_cert, client_key, _) = pki.leaf(
        "client",
        &rcgen::PKCS_ECDSA_P256_SHA256,
        ExtendedKeyUsagePurpose::ClientAuth,
    );
    let all = rustls::DEFAULT_VERSIONS;
    let client = Some((client_cert.as_path(), client_key.as_path()));

    // No client authentication: h2 is negotiated.
    let plain = server_config_for(&tls(&cert, &key)).unwrap();
    assert_eq!(
        handshake(plain.clone(), client_config(&pki, None, all)).await,
        (true, true, Some(b"h2".to_vec()))
    );

    // Required client certificates: without one the server refuses, with one it accepts.
    let mut required = tls(&cert, &key);
    required.client_auth = ClientAuth::Required;
    required.client_ca_file = Some(pki.path("ca.pem"));
    let required = server_config_for(&required).unwrap();
    let (accepted, round_trip, _) =
        handshake(required.clone(), client_config(&pki, None, all)).await;
    assert!(!accepted && !round_trip);
    let (accepted, round_trip, _) = handshake(required, client_config(&pki, client, all)).await;
    assert!(accepted && round_trip);

    // Optional: both work.
    let mut optional = tls(&cert, &key);
    optional.client_auth = ClientAuth::Optional;
    optional.client_ca_file = Some(pki.path("ca.pem"));
    let optional = server_config_for(&optional).unwrap();
    let (accepted, round_trip, _) =
        handshake(optional.clone(), client_config(&pki, None, all)).await;
    assert!(accepted && round_trip);
    let (accepted, round_trip, _) = handshake(optional, client_config(&pki, client, all)).await;
    assert!(accepted && round_trip);

    // tls_min_version = "tls13" refuses a TLS 1.2-only client.
    let mut tls13 = tls(&cert, &key);
    tls13.min_version = TlsVersion::Tls13;
    let tls13 = server_config_for(&tls13).unwrap();
    let (accepted, _, _) =
        handshake(tls13, client_config(&pki, None, &[&rustls::version::TLS12])).await;
    assert!(!accepted);
    let (accepted, round_trip, _) =
        handshake(plain, client_config(&pki, None, &[&rustls::version::TLS12])).await;
    assert!(accepted && round_trip);
}
