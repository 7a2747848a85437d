//! The top-level `telemetry` stanza. warden always keeps Prometheus metrics for
//! `sys/metrics`; of Vault's keys it honours `prometheus_retention_time` (zero turns the
//! Prometheus format off, as in Vault) and `usage_gauge_period` (how often live tokens and
//! leases are recounted; `none` stops it). Sinks warden does not have (statsd, statsite,
//! Circonus, DogStatsD, Stackdriver) and the other keys are warnings.

use std::time::Duration;

use serde_json::{Map, Value};

use super::source;
use super::{Invalid, invalid};

/// What the server does with its metrics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TelemetryConfig {
    /// Whether `sys/metrics?format=prometheus` answers (`prometheus_retention_time` ≠ 0).
    pub prometheus_enabled: bool,
    /// `usage_gauge_period`; zero when set to `none`.
    pub usage_gauge_period: Duration,
}

impl Default for TelemetryConfig {
    fn default() -> Self {
        Self {
            prometheus_enabled: true,
            usage_gauge_period: warden_core::DEFAULT_USAGE_GAUGE_PERIOD,
        }
    }
}

/// Keys that are accepted and change nothing in warden (its metric names carry no host
/// name and no prefix filters apply).
const NO_EFFECT: &[&str] = &[
    "disable_hostname",
    "enable_hostname_label",
    "filter_default",
    "prefix_filter",
    "metrics_prefix",
    "maximum_gauge_cardinality",
    "lease_metrics_epsilon",
    "num_lease_metrics_buckets",
    "add_lease_metrics_namespace_labels",
    "add_mount_point_rollback_metrics",
];

/// Parses `telemetry { … }` (absent: the defaults).
pub(super) fn parse(
    tree: &Map<String, Value>,
    warnings: &mut Vec<String>,
) -> Result<TelemetryConfig, Invalid> {
    let mut config = TelemetryConfig::default();
    let Some(value) = tree.get("telemetry") else {
        return Ok(config);
    };
    let body = match value {
        Value::Array(items) if items.len() == 1 => &items[0],
        Value::Array(_) => {
            return Err(invalid(
                "telemetry",
                "only one \"telemetry\" block is permitted",
            ));
        }
        other => other,
    };
    let Value::Object(body) = body else {
        return Err(invalid("telemetry", "\"telemetry\" must be a block"));
    };
    for (key, value) in body {
        let bad = |e: String| {
            invalid(
                format!("telemetry.{key}"),
                format!("invalid value for {key:?} in telemetry: {e}"),
            )
        };
        match key.as_str() {
            "prometheus_retention_time" => {
                config.prometheus_enabled = !source::as_duration(value).map_err(bad)?.is_zero();
            }
            "usage_gauge_period" => {
                config.usage_gauge_period = match value {
                    Value::String(s) if s.eq_ignore_ascii_case("none") => Duration::ZERO,
                    other => source::as_duration(other).map_err(bad)?,
                };
            }
            known if NO_EFFECT.contains(&known) => {}
            other => warnings.push(format!(
                "telemetry.{other} is not supported by warden and is ignored (warden serves \
                 metrics only at sys/metrics)"
            )),
        }
    }
    Ok(config)
}
