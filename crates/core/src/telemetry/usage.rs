//! Point-in-time gauges: live tokens and leases, recounted from storage every
//! `usage_gauge_period` as Vault's usage gauges are (a count reads every key of the token
//! store, so it is not done per scrape), and whether the core is unsealed.

use std::time::{Duration, Instant};

use warden_logical::RawBody;

use super::MetricsFormat;
use crate::lifecycle::Core;
use crate::token_store::TokenStore;

/// When the next recount is due.
#[derive(Debug)]
pub(crate) struct UsageGauges {
    period: Duration,
    next: Instant,
}

impl UsageGauges {
    /// Counts at the first tick, then every `period`.
    pub(crate) fn new(period: Duration) -> Self {
        Self {
            period,
            next: Instant::now(),
        }
    }

    /// Recounts if the period is over. A failed count keeps the last values.
    pub(crate) async fn tick(&mut self, tokens: &TokenStore) {
        if Instant::now() < self.next || self.period.is_zero() {
            return;
        }
        self.next = Instant::now() + self.period;
        match tokens.count_live().await {
            Ok((tokens, leases)) => {
                metrics::gauge!("warden_tokens_live").set(tokens as f64);
                metrics::gauge!("warden_leases_live").set(leases as f64);
            }
            Err(err) => tracing::warn!(error = %err, "counting tokens and leases failed"),
        }
    }
}

impl Core {
    /// The `route` label of a request for the logical `path`: the path of the mount that
    /// serves it (`auth/kubernetes/`, `secret/`, `sys/`), or `unmatched`. Bounded by the
    /// mount table, whatever paths clients send (the HTTP layer labels its raw sys
    /// endpoints itself).
    pub fn route_label(&self, path: &str) -> String {
        self.active_state()
            .and_then(|active| active.router.matching(path))
            .map_or_else(
                || "unmatched".to_owned(),
                |(route, _)| route.entry.route_path(),
            )
    }

    /// The `sys/metrics` answer for `format`: status and raw body.
    pub fn metrics_response(&self, format: &MetricsFormat) -> (u16, RawBody) {
        metrics::gauge!("warden_core_unsealed").set(if self.is_sealed() { 0.0 } else { 1.0 });
        super::upkeep();
        super::respond(format, self.config.prometheus_enabled)
    }
}
