//! Per-request HTTP metrics: a counter by method, route and status code, and a latency
//! histogram by method and route. The route is a mount path or a raw sys endpoint
//! ([`warden_core::Core::route_label`]), never the client's path, so the label set stays
//! as small as the mount table.

use std::time::Instant;

use http::{Method, StatusCode};

/// Vault's method names, including `LIST`; anything else is `other`.
fn method_label(method: &Method) -> &'static str {
    match method.as_str() {
        "GET" => "GET",
        "PUT" => "PUT",
        "POST" => "POST",
        "DELETE" => "DELETE",
        "PATCH" => "PATCH",
        "LIST" => "LIST",
        "HEAD" => "HEAD",
        "OPTIONS" => "OPTIONS",
        _ => "other",
    }
}

/// Records one answered request.
pub(super) fn record(method: &Method, route: String, status: StatusCode, started: Instant) {
    let method = method_label(method);
    metrics::counter!(
        "warden_http_requests_total",
        "method" => method,
        "route" => route.clone(),
        "code" => status.as_str().to_owned(),
    )
    .increment(1);
    metrics::histogram!(
        "warden_http_request_duration_seconds",
        "method" => method,
        "route" => route,
    )
    .record(started.elapsed().as_secs_f64());
}
