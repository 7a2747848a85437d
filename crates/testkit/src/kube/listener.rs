//! The stand-in's listener: TLS (rustls with aws-lc-rs, a CA and server certificate made by
//! rcgen), HTTP/1.1 and HTTP/2, and the per-request pipeline: route, count, inject the
//! fault, authenticate the caller, dispatch to a handler.

use std::sync::Arc;

use anyhow::Context;
use http::header::AUTHORIZATION;
use http::{HeaderMap, Method, Request};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use rustls::ServerConfig;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::net::TcpListener;
use tokio::sync::watch;

use super::handlers::{self, Reply};
use super::review::{UserInfo, review};
use super::{Endpoint, Fault, Shared};

/// A CA and a server certificate for `127.0.0.1`, `localhost` and the in-cluster names.
/// Returns the CA PEM and the server configuration.
pub(crate) fn tls_config() -> anyhow::Result<(String, Arc<ServerConfig>)> {
    let ca_key = KeyPair::generate()?;
    let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "kube-standin-ca");
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca_cert = ca_params.self_signed(&ca_key)?;
    let ca_pem = ca_cert.pem();
    let issuer = Issuer::new(ca_params, ca_key);

    let server_key = KeyPair::generate()?;
    let names = [
        "127.0.0.1",
        "localhost",
        "kubernetes",
        "kubernetes.default",
        "kubernetes.default.svc",
        "kubernetes.default.svc.cluster.local",
    ];
    let mut params = CertificateParams::new(names.map(str::to_owned).to_vec())?;
    params
        .distinguished_name
        .push(DnType::CommonName, "kube-apiserver");
    let server_cert = params.signed_by(&server_key, &issuer)?;

    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(server_key.serialize_der()));
    let chain: Vec<CertificateDer<'static>> = vec![server_cert.der().clone()];
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("TLS versions")?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .context("server certificate")?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok((ca_pem, Arc::new(config)))
}

/// The service's error: makes hyper drop the connection without an answer.
#[derive(Debug)]
struct InjectedClose;

impl std::fmt::Display for InjectedClose {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("injected connection close")
    }
}

impl std::error::Error for InjectedClose {}

/// Accepts connections until `stopped` flips; a stop also ends open connections.
pub(crate) async fn serve(
    listener: TcpListener,
    tls: Arc<ServerConfig>,
    shared: Arc<Shared>,
    mut stopped: watch::Receiver<bool>,
) {
    let acceptor = tokio_rustls::TlsAcceptor::from(tls);
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = stopped.changed() => break,
        };
        let Ok((stream, _peer)) = accepted else {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            continue;
        };
        let _ = stream.set_nodelay(true);
        let acceptor = acceptor.clone();
        let shared = shared.clone();
        let mut connection_stopped = stopped.clone();
        tokio::spawn(async move {
            let serve = async {
                let Ok(tls) = acceptor.accept(stream).await else {
                    return;
                };
                let service = hyper::service::service_fn(move |request| {
                    let shared = shared.clone();
                    async move { handle(&shared, request).await }
                });
                let _ = auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(tls), service)
                    .await;
            };
            tokio::select! {
                () = serve => {}
                _ = connection_stopped.changed() => {}
            }
        });
    }
}

enum Route {
    TokenReview,
    Namespace(String),
    ServiceAccount(String, String),
    Discovery,
    Jwks,
    Other,
}

impl Route {
    fn parse(path: &str) -> Self {
        let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        match segments.as_slice() {
            ["apis", "authentication.k8s.io", "v1", "tokenreviews"] => Self::TokenReview,
            ["api", "v1", "namespaces", ns] if !ns.is_empty() => Self::Namespace((*ns).to_owned()),
            ["api", "v1", "namespaces", ns, "serviceaccounts", name]
                if !ns.is_empty() && !name.is_empty() =>
            {
                Self::ServiceAccount((*ns).to_owned(), (*name).to_owned())
            }
            [".well-known", "openid-configuration"] => Self::Discovery,
            ["openid", "v1", "jwks"] => Self::Jwks,
            _ => Self::Other,
        }
    }

    fn endpoint(&self) -> Endpoint {
        match self {
            Self::TokenReview => Endpoint::TokenReview,
            Self::Namespace(_) => Endpoint::Namespace,
            Self::ServiceAccount(..) => Endpoint::ServiceAccount,
            Self::Discovery => Endpoint::Discovery,
            Self::Jwks => Endpoint::Jwks,
            Self::Other => Endpoint::Other,
        }
    }
}

/// A bearer token was sent and did not authenticate.
struct Unauthorized;

/// The request's user: `Ok(None)` for anonymous (no bearer), `Err` (401) for a bearer that
/// does not authenticate for the API audiences.
fn caller(shared: &Shared, headers: &HeaderMap) -> Result<Option<UserInfo>, Unauthorized> {
    let Some(value) = headers.get(AUTHORIZATION) else {
        return Ok(None);
    };
    let value = String::from_utf8_lossy(value.as_bytes());
    let parts: Vec<&str> = value.trim().splitn(3, ' ').collect();
    if parts.len() < 2 || !parts[0].eq_ignore_ascii_case("bearer") || parts[1].is_empty() {
        return Ok(None);
    }
    let cluster = shared.cluster();
    review(
        &cluster,
        &shared.issuer,
        &shared.api_audiences,
        shared.now(),
        parts[1],
        &[],
    )
    .map(|authenticated| Some(authenticated.user))
    .map_err(|_| Unauthorized)
}

async fn handle(shared: &Shared, request: Request<Incoming>) -> Result<Reply, InjectedClose> {
    let route = Route::parse(request.uri().path());
    shared.count(route.endpoint());
    match shared.take_fault(route.endpoint()) {
        Some(Fault::Delay(delay)) => tokio::time::sleep(delay).await,
        Some(Fault::Status(code)) => return Ok(handlers::fault_reply(code)),
        Some(Fault::Close) => return Err(InjectedClose),
        None => {}
    }
    let user = match caller(shared, request.headers()) {
        Ok(user) => user,
        Err(Unauthorized) => {
            return Ok(handlers::status(401, "Unauthorized", "Unauthorized", None));
        }
    };
    let is_get = matches!(*request.method(), Method::GET | Method::HEAD);
    Ok(match route {
        Route::TokenReview if request.method() == Method::POST => {
            handlers::token_review(shared, user.as_ref(), request).await
        }
        Route::Namespace(_) | Route::ServiceAccount(..) | Route::Discovery | Route::Jwks
            if !is_get =>
        {
            handlers::method_not_allowed()
        }
        Route::TokenReview => handlers::method_not_allowed(),
        Route::Namespace(name) => handlers::get_namespace(shared, user.as_ref(), &name),
        Route::ServiceAccount(namespace, name) => {
            handlers::get_service_account(shared, user.as_ref(), &namespace, &name)
        }
        Route::Discovery => handlers::oidc(shared, user.as_ref(), request.headers(), false),
        Route::Jwks => handlers::oidc(shared, user.as_ref(), request.headers(), true),
        Route::Other => handlers::no_route(),
    })
}
