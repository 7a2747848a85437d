//! The load generator: `concurrency` workers, each with its own keep-alive HTTP/1.1
//! connection (plain or TLS), sending requests back to back like `wrk -c<concurrency>`.
//!
//! A run has a warm-up window (requests sent, nothing recorded), then a measured window
//! bounded by time, or a fixed number of requests with no warm-up. Latency is recorded per
//! request that started inside the measured window.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use bytes::Bytes;
use http::{Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use rustls_pki_types::ServerName;
use tokio::net::TcpStream;
use tokio::sync::Mutex;
use tokio_rustls::TlsConnector;

use super::probe::{Sample, Sampler};

/// Builds request number `n` (numbers are global across workers, starting at 0).
pub(crate) type MakeRequest = Arc<dyn Fn(u64) -> Request<Full<Bytes>> + Send + Sync>;
/// Whether an answer counts as a success.
pub(crate) type Check = fn(StatusCode, &Bytes) -> bool;

/// Where the workers connect.
#[derive(Clone)]
pub(crate) struct Target {
    /// The server's address.
    pub(crate) addr: SocketAddr,
    /// TLS connector and server name, for HTTPS targets.
    pub(crate) tls: Option<(TlsConnector, ServerName<'static>)>,
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Target")
            .field("addr", &self.addr)
            .field("tls", &self.tls.is_some())
            .finish()
    }
}

/// When the measured part of a run ends.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Stop {
    /// After a warm-up of the first duration, measure for the second.
    Timed(Duration, Duration),
    /// Send exactly this many requests (no warm-up); all of them are measured.
    Count(u64),
}

/// What a run measured.
#[derive(Debug, Clone)]
pub(crate) struct Outcome {
    /// Successful requests in the measured window.
    pub(crate) ok: u64,
    /// Failed requests (bad status, failed check, connection errors) in the measured window.
    pub(crate) errors: u64,
    /// The first failure seen, for the report.
    pub(crate) first_error: Option<String>,
    /// Requests issued in total, warm-up included (how many request numbers were used).
    pub(crate) issued: u64,
    /// Request numbers used before the measured window began.
    pub(crate) issued_before_measure: u64,
    /// Wall time of the measured window.
    pub(crate) elapsed: Duration,
    /// Latencies of successful measured requests, in nanoseconds, sorted.
    pub(crate) latencies_ns: Vec<u64>,
    /// Probe samples at the start and the end of the measured window.
    pub(crate) start: Sample,
    /// See `start`.
    pub(crate) end: Sample,
}

impl Outcome {
    /// Successful requests per second.
    pub(crate) fn throughput(&self) -> f64 {
        let secs = self.elapsed.as_secs_f64();
        if secs > 0.0 {
            self.ok as f64 / secs
        } else {
            0.0
        }
    }

    /// The `q` quantile (0..=1) of latency, in milliseconds.
    pub(crate) fn quantile_ms(&self, q: f64) -> f64 {
        quantile_ms(&self.latencies_ns, q)
    }
}

/// The `q` quantile of sorted nanosecond samples, in milliseconds (nearest rank).
pub(crate) fn quantile_ms(sorted_ns: &[u64], q: f64) -> f64 {
    if sorted_ns.is_empty() {
        return 0.0;
    }
    let rank = (q * sorted_ns.len() as f64).ceil() as usize;
    let index = rank.clamp(1, sorted_ns.len()) - 1;
    sorted_ns[index] as f64 / 1e6
}

/// State the workers share.
struct Shared {
    next: AtomicU64,
    measuring: AtomicBool,
    stop: AtomicBool,
    limit: u64,
    errors: AtomicU64,
    first_error: Mutex<Option<String>>,
}

async fn connect(target: &Target) -> anyhow::Result<SendRequest<Full<Bytes>>> {
    let tcp = TcpStream::connect(target.addr)
        .await
        .with_context(|| format!("connect {}", target.addr))?;
    tcp.set_nodelay(true)?;
    match &target.tls {
        None => {
            let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp)).await?;
            tokio::spawn(conn);
            Ok(sender)
        }
        Some((connector, name)) => {
            let tls = connector.connect(name.clone(), tcp).await?;
            let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls)).await?;
            tokio::spawn(conn);
            Ok(sender)
        }
    }
}

async fn record_error(shared: &Shared, message: String) {
    shared.errors.fetch_add(1, Ordering::Relaxed);
    let mut first = shared.first_error.lock().await;
    if first.is_none() {
        *first = Some(message);
    }
}

async fn worker(
    target: Target,
    shared: Arc<Shared>,
    make: MakeRequest,
    check: Check,
    mut sender: SendRequest<Full<Bytes>>,
) -> (u64, Vec<u64>) {
    let mut ok = 0u64;
    let mut latencies = Vec::with_capacity(16 * 1024);
    while !shared.stop.load(Ordering::Relaxed) {
        let n = shared.next.fetch_add(1, Ordering::Relaxed);
        if n >= shared.limit {
            break;
        }
        let measured = shared.measuring.load(Ordering::Relaxed);
        let started = Instant::now();
        let result = async {
            sender.ready().await?;
            let response = sender.send_request(make(n)).await?;
            let status = response.status();
            let body = response.into_body().collect().await?.to_bytes();
            anyhow::Ok((status, body))
        }
        .await;
        let took = started.elapsed();
        match result {
            Ok((status, body)) if check(status, &body) => {
                if measured {
                    ok += 1;
                    latencies.push(u64::try_from(took.as_nanos()).unwrap_or(u64::MAX));
                }
            }
            Ok((status, body)) => {
                if measured {
                    let text = String::from_utf8_lossy(&body[..body.len().min(300)]).into_owned();
                    record_error(&shared, format!("HTTP {status}: {text}")).await;
                }
            }
            Err(err) => {
                if measured {
                    record_error(&shared, format!("transport: {err:#}")).await;
                }
                // The connection is unusable: open a new one (give up if that fails).
                match connect(&target).await {
                    Ok(fresh) => sender = fresh,
                    Err(err) => {
                        record_error(&shared, format!("reconnect: {err:#}")).await;
                        break;
                    }
                }
            }
        }
    }
    (ok, latencies)
}

/// Runs one load: connects every worker first (connection setup is not measured), then
/// sends requests until `stop`.
pub(crate) async fn run(
    target: &Target,
    concurrency: usize,
    stop: Stop,
    make: MakeRequest,
    check: Check,
    sampler: &Sampler,
) -> anyhow::Result<Outcome> {
    let limit = match stop {
        Stop::Timed(..) => u64::MAX,
        Stop::Count(n) => n,
    };
    let shared = Arc::new(Shared {
        next: AtomicU64::new(0),
        measuring: AtomicBool::new(matches!(stop, Stop::Count(_))),
        stop: AtomicBool::new(false),
        limit,
        errors: AtomicU64::new(0),
        first_error: Mutex::new(None),
    });
    let mut senders = Vec::with_capacity(concurrency);
    for _ in 0..concurrency.max(1) {
        senders.push(connect(target).await?);
    }
    let mut start = sampler.sample();
    let mut issued_before_measure = 0;
    let mut measure_started = Instant::now();
    let workers: Vec<_> = senders
        .into_iter()
        .map(|sender| {
            tokio::spawn(worker(
                target.clone(),
                shared.clone(),
                make.clone(),
                check,
                sender,
            ))
        })
        .collect();
    let mut timed_end = None;
    if let Stop::Timed(warmup, measure) = stop {
        tokio::time::sleep(warmup).await;
        start = sampler.sample();
        measure_started = Instant::now();
        issued_before_measure = shared.next.load(Ordering::Relaxed);
        shared.measuring.store(true, Ordering::Relaxed);
        tokio::time::sleep(measure).await;
        shared.measuring.store(false, Ordering::Relaxed);
        shared.stop.store(true, Ordering::Relaxed);
        // Requests still in flight finish and count (at most `concurrency` of them).
        timed_end = Some((sampler.sample(), measure_started.elapsed()));
    }
    let mut ok = 0;
    let mut latencies_ns = Vec::new();
    for handle in workers {
        let (n, lat) = handle.await.context("load worker panicked")?;
        ok += n;
        latencies_ns.extend(lat);
    }
    let (end, elapsed) = timed_end.unwrap_or_else(|| (sampler.sample(), measure_started.elapsed()));
    latencies_ns.sort_unstable();
    let issued = shared.next.load(Ordering::Relaxed).min(limit);
    let errors = shared.errors.load(Ordering::Relaxed);
    let first_error = shared.first_error.lock().await.clone();
    Ok(Outcome {
        ok,
        errors,
        first_error,
        issued,
        issued_before_measure,
        elapsed,
        latencies_ns,
        start,
        end,
    })
}

/// Success: any 2xx status.
pub(crate) fn check_2xx(status: StatusCode, _body: &Bytes) -> bool {
    status.is_success()
}

/// Success: a 2xx TokenReview answer that authenticated the token.
pub(crate) fn check_authenticated(status: StatusCode, body: &Bytes) -> bool {
    status.is_success() && body.windows(20).any(|w| w == b"\"authenticated\":true")
}
