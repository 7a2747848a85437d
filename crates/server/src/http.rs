//! The Vault-compatible HTTP API: `/v1/…` requests in, Vault's envelopes and error bodies
//! out. Routing is not done here: every `/v1/` request is parsed into a logical request and
//! handed to the core, except the raw sys endpoints (`sys/init`, `sys/seal-status`, …) that
//! Vault also serves outside its router.

mod listener;
mod metrics_layer;
mod request;
mod respond;
mod sys_raw;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use http::{HeaderValue, Response, StatusCode, header};
use warden_core::{Core, CoreError};

pub use listener::{ListenerHandle, serve_listener};
use request::ParsedRequest;

/// Limits of one listener.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// The largest accepted body; `None` disables the check.
    pub max_request_size: Option<u64>,
    /// How long one request may run before it is abandoned.
    pub max_request_duration: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_request_size: Some(32 * 1024 * 1024),
            max_request_duration: Duration::from_secs(90),
        }
    }
}

/// What every request handler shares.
#[derive(Debug, Clone)]
pub struct ApiState {
    /// The core requests go to.
    pub core: Arc<Core>,
    /// This listener's limits.
    pub limits: Limits,
    /// `telemetry { unauthenticated_metrics_access }`: `sys/metrics` needs no token.
    pub unauthenticated_metrics: bool,
}

/// The client's address, attached to each request by the listener.
#[derive(Debug, Clone, Copy)]
pub struct PeerAddr(pub SocketAddr);

/// The axum router of the API: one fallback handler, since Vault's methods include `LIST`,
/// which no method router knows.
pub fn router(state: ApiState) -> axum::Router {
    axum::Router::new().fallback(handle).with_state(state)
}

async fn handle(
    axum::extract::State(state): axum::extract::State<ApiState>,
    request: axum::extract::Request,
) -> Response<Body> {
    let started = Instant::now();
    let method = request.method().clone();
    let path = request
        .uri()
        .path()
        .strip_prefix("/v1/")
        .map(request::decode_path);
    let duration = state.limits.max_request_duration;
    let served = dispatch(&state, path.clone(), request);
    let mut response = match tokio::time::timeout(duration, served).await {
        Ok(response) => response,
        Err(_) => respond::error(&CoreError::internal("context deadline exceeded")),
    };
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    let route = match path {
        None => "other".to_owned(),
        Some(p) if sys_raw::RAW_ENDPOINTS.contains(&p.as_str()) => p,
        Some(p) => state.core.route_label(&p),
    };
    metrics_layer::record(&method, route, response.status(), started);
    response
}

async fn dispatch(
    state: &ApiState,
    path: Option<String>,
    request: axum::extract::Request,
) -> Response<Body> {
    let Some(path) = path else {
        return respond::empty_error(StatusCode::NOT_FOUND);
    };
    if let Err(err) = request::check_namespace(request.headers()) {
        return respond::error(&err);
    }
    let request = match sys_raw::handle(state, &path, request).await {
        Ok(response) => return response,
        Err(request) => request,
    };
    let parsed = match request::parse(request, path, &state.limits).await {
        Ok(parsed) => parsed,
        Err(response) => return response,
    };
    logical(state, parsed).await
}

async fn logical(state: &ApiState, parsed: ParsedRequest) -> Response<Body> {
    let ParsedRequest {
        request,
        original_path,
    } = parsed;
    let operation = request.operation;
    let request_id = request.id.clone();
    match state.core.handle_request(request).await {
        Ok(handled) => respond::logical(&request_id, operation, &original_path, handled),
        Err(err) => respond::error(&err),
    }
}
