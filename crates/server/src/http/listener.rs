//! Accepting connections: plain TCP or TLS (rustls), HTTP/1.1 and HTTP/2, with the client
//! address attached to every request.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

use super::PeerAddr;

/// A running listener; dropping the handle does not stop it, [`ListenerHandle::shutdown`]
/// does.
#[derive(Debug)]
pub struct ListenerHandle {
    /// The bound address (useful with port 0).
    pub local_addr: SocketAddr,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl ListenerHandle {
    /// Stops accepting connections, closes the open ones and waits until all have ended.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

/// Serves `router` on `listener` until shut down.
pub fn serve_listener(
    listener: TcpListener,
    tls: Option<Arc<rustls::ServerConfig>>,
    router: axum::Router,
    header_read_timeout: Duration,
) -> std::io::Result<ListenerHandle> {
    let local_addr = listener.local_addr()?;
    let (stop, mut stopped) = watch::channel(false);
    let acceptor = tls.map(TlsAcceptor::from);
    let task = tokio::spawn(async move {
        // Connection tasks are kept so that shutdown can wait for them: each holds the core
        // (and so its storage) until it has seen the stop signal and ended.
        let mut connections = tokio::task::JoinSet::new();
        loop {
            let accepted = tokio::select! {
                accepted = listener.accept() => accepted,
                _ = stopped.changed() => break,
                Some(_) = connections.join_next(), if !connections.is_empty() => continue,
            };
            let (stream, peer) = match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    // Out of file descriptors and similar: back off instead of spinning.
                    tracing::warn!(error = %err, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            let _ = stream.set_nodelay(true);
            let router = router.clone();
            let acceptor = acceptor.clone();
            let mut connection_stopped = stopped.clone();
            connections.spawn(async move {
                let service =
                    router.map_request(move |request: http::Request<hyper::body::Incoming>| {
                        let mut request = request.map(axum::body::Body::new);
                        request.extensions_mut().insert(PeerAddr(peer));
                        request
                    });
                let service = TowerToHyperService::new(service);
                let mut builder = auto::Builder::new(TokioExecutor::new());
                builder
                    .http1()
                    .timer(TokioTimer::new())
                    .header_read_timeout(header_read_timeout);
                let serve = async {
                    match acceptor {
                        Some(acceptor) => match acceptor.accept(stream).await {
                            Ok(tls) => {
                                builder
                                    .serve_connection_with_upgrades(TokioIo::new(tls), service)
                                    .await
                            }
                            Err(err) => {
                                tracing::debug!(%peer, error = %err, "TLS handshake failed");
                                Ok(())
                            }
                        },
                        None => {
                            builder
                                .serve_connection_with_upgrades(TokioIo::new(stream), service)
                                .await
                        }
                    }
                };
                // A stopped listener closes its open connections too, so that nothing keeps
                // the core (and its storage) alive after shutdown.
                tokio::select! {
                    result = serve => {
                        if let Err(err) = result {
                            tracing::trace!(%peer, error = %err, "connection ended with an error");
                        }
                    }
                    _ = connection_stopped.changed() => {}
                }
            });
        }
        while connections.join_next().await.is_some() {}
    });
    Ok(ListenerHandle {
        local_addr,
        stop,
        task,
    })
}
