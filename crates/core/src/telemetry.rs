//! Metrics: one process-wide Prometheus recorder behind the `metrics` facade, so every layer
//! (HTTP, core, storage, the auth methods) records with the facade's macros and
//! `sys/metrics` renders what they recorded.
//!
//! The recorder is global because the facade is: two servers in one process (tests, the
//! benchmark) share one registry. Histograms are real Prometheus histograms with fixed
//! latency buckets in seconds; their samples are folded into the buckets by
//! [`upkeep`], which the core's background task calls every second, so an unscraped server
//! does not accumulate samples.
//!
//! Names and labels are API for dashboards; `docs/metrics.md` lists them.

mod render;
mod storage;
mod usage;

use std::sync::OnceLock;
use std::time::Duration;

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

pub use render::MetricsFormat;
use render::respond;
pub(crate) use storage::MeteredBackend;
pub(crate) use usage::UsageGauges;

/// Latency buckets in seconds: 50 µs to 10 s, enough resolution for a 100 µs KV read and a
/// TokenReview that waits on a slow apiserver.
const LATENCY_BUCKETS: [f64; 16] = [
    0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
    1.0, 2.5, 10.0,
];

static RECORDER: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// The process's recorder, installed on first use; `None` when something else installed a
/// global recorder first (then `sys/metrics` says prometheus is not enabled).
pub(crate) fn handle() -> Option<&'static PrometheusHandle> {
    RECORDER
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets(&LATENCY_BUCKETS)
                .ok()?
                .build_recorder();
            let handle = recorder.handle();
            metrics::set_global_recorder(recorder).ok()?;
            describe();
            Some(handle)
        })
        .as_ref()
}

/// Folds recorded histogram samples into their buckets.
pub(crate) fn upkeep() {
    if let Some(handle) = handle() {
        handle.run_upkeep();
    }
}

/// The recorded metrics in Prometheus's text format.
pub(crate) fn render_prometheus() -> Option<String> {
    handle().map(PrometheusHandle::render)
}

/// Help texts, shown as `# HELP` lines.
fn describe() {
    use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
    describe_counter!(
        "warden_http_requests_total",
        "HTTP requests by method, route (mount path or raw sys endpoint) and status code"
    );
    describe_histogram!(
        "warden_http_request_duration_seconds",
        Unit::Seconds,
        "Time to answer an HTTP request, by method and route"
    );
    describe_counter!(
        "warden_logins_total",
        "Login attempts by auth mount and outcome (success, denied, failed)"
    );
    describe_counter!(
        "warden_login_denials_total",
        "Refused logins by auth mount and the check that refused them (see sys/internal/auth-explain)"
    );
    describe_counter!(
        "warden_tokens_created_total",
        "Tokens created, by token type"
    );
    describe_gauge!(
        "warden_tokens_live",
        "Stored service tokens, counted every usage_gauge_period"
    );
    describe_gauge!(
        "warden_leases_live",
        "Leases in the expiry index, counted every usage_gauge_period"
    );
    describe_gauge!("warden_core_unsealed", "1 while unsealed, 0 while sealed");
    describe_histogram!(
        "warden_storage_operation_duration_seconds",
        Unit::Seconds,
        "Physical storage operation latency, by operation"
    );
    describe_counter!(
        "warden_storage_errors_total",
        "Physical storage operations that failed, by operation"
    );
    describe_histogram!(
        "warden_kubernetes_token_review_duration_seconds",
        Unit::Seconds,
        "TokenReview round trips of kubernetes logins, by mount"
    );
    describe_counter!(
        "warden_kubernetes_token_reviews_total",
        "TokenReviews by mount and result (authenticated, rejected, unauthorized, forbidden, api_error, timeout, tls, unreachable)"
    );
    describe_counter!(
        "warden_jwt_jwks_refreshes_total",
        "JWKS fetches by URL, reason (config, stale, miss) and outcome (ok, error)"
    );
    describe_counter!(
        "warden_audit_failures_total",
        "Audit entries no enabled device could write (the request failed)"
    );
}

/// How often the usage gauges (live tokens and leases) are recounted by default: Vault's
/// `usage_gauge_period`.
pub const DEFAULT_USAGE_GAUGE_PERIOD: Duration = Duration::from_secs(600);
