//! The TLS listener: HTTPS with certificates from the config, and client-certificate
//! verification when `tls_require_and_verify_client_cert` is set.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers fail loudly"
)]

use warden_server::config::{Config, Format};
use warden_testkit::{TestPki, TestServer};

fn tls_config(pki: &TestPki, require_client_cert: bool) -> Config {
    let text = format!(
        r#"
storage "inmem" {{}}
listener "tcp" {{
  address = "127.0.0.1:0"
  tls_cert_file = "{}"
  tls_key_file = "{}"
  tls_client_ca_file = "{}"
  tls_require_and_verify_client_cert = {}
}}
"#,
        pki.server_cert_file.display(),
        pki.server_key_file.display(),
        pki.ca_file.display(),
        require_client_cert,
    );
    Config::parse_str(&text, Format::Hcl).unwrap()
}

fn client(pki: &TestPki, with_identity: bool) -> reqwest::Client {
    let ca = reqwest::Certificate::from_pem(pki.ca_pem.as_bytes()).unwrap();
    let mut builder = reqwest::Client::builder().tls_certs_only([ca]);
    if with_identity {
        builder = builder
            .identity(reqwest::Identity::from_pem(pki.client_identity_pem.as_bytes()).unwrap());
    }
    builder.build().unwrap()
}

#[tokio::test]
async fn serves_https_with_the_configured_certificate() {
    let pki = TestPki::new().unwrap();
    let server = TestServer::start(tls_config(&pki, false)).await.unwrap();
    let url = format!("https://localhost:{}/v1/sys/health", server.addr.port());
    let response = client(&pki, false).get(&url).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 501, "uninitialized server");
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["initialized"], false);

    // A client that does not trust the CA fails the handshake.
    let untrusting = reqwest::Client::builder()
        .tls_certs_only([
            reqwest::Certificate::from_pem(TestPki::new().unwrap().ca_pem.as_bytes()).unwrap(),
        ])
        .build()
        .unwrap();
    assert!(untrusting.get(&url).send().await.is_err());
}

#[tokio::test]
async fn required_client_certificates_are_verified() {
    let pki = TestPki::new().unwrap();
    let server = TestServer::start(tls_config(&pki, true)).await.unwrap();
    let url = format!(
        "https://localhost:{}/v1/sys/seal-status",
        server.addr.port()
    );
    let with_cert = client(&pki, true).get(&url).send().await.unwrap();
    assert_eq!(with_cert.status().as_u16(), 200);
    let without_cert = client(&pki, false).get(&url).send().await;
    assert!(
        without_cert.is_err(),
        "a client without a certificate must be refused"
    );
}
