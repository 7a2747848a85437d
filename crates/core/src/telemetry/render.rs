//! `sys/metrics` answers: Prometheus text, or Vault's generic JSON (its in-memory sink's
//! `Gauges` / `Counters` / `Samples` shape) built from the same registry.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};
use warden_logical::RawBody;

/// The `Content-Type` of Prometheus's text exposition format.
const PROMETHEUS_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Which rendering a `sys/metrics` request asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MetricsFormat {
    /// `format=prometheus`, or an `Accept` naming OpenMetrics or `prometheus/telemetry`.
    Prometheus,
    /// No format: Vault's JSON summary.
    Generic,
    /// Anything else, kept for the error message.
    Unknown(String),
}

impl MetricsFormat {
    /// Vault's rule: the `format` parameter wins; without it, the `Accept` header may ask for
    /// Prometheus.
    pub fn from_request(format: &str, accept: &[String]) -> Self {
        match format {
            "prometheus" => Self::Prometheus,
            "" if accept
                .first()
                .is_some_and(|a| a.starts_with("application/openmetrics-text"))
                || accept.iter().any(|a| a.contains("prometheus/telemetry")) =>
            {
                Self::Prometheus
            }
            "" => Self::Generic,
            other => Self::Unknown(other.to_owned()),
        }
    }
}

/// The answer to one `sys/metrics` request: status and raw body, as Vault sends them
/// (errors are `text/plain` with status 400).
pub(crate) fn respond(format: &MetricsFormat, prometheus_enabled: bool) -> (u16, RawBody) {
    let error = |message: String| {
        (
            400,
            RawBody {
                content_type: "text/plain".into(),
                body: message.into_bytes(),
            },
        )
    };
    if *format == MetricsFormat::Prometheus && !prometheus_enabled {
        return error("prometheus is not enabled".into());
    }
    let Some(text) = super::render_prometheus() else {
        return error("prometheus is not enabled".into());
    };
    match format {
        MetricsFormat::Prometheus => (
            200,
            RawBody {
                content_type: PROMETHEUS_CONTENT_TYPE.into(),
                body: text.into_bytes(),
            },
        ),
        MetricsFormat::Generic => (
            200,
            RawBody {
                content_type: "application/json".into(),
                body: generic_json(&text).to_string().into_bytes(),
            },
        ),
        MetricsFormat::Unknown(format) => {
            error(format!("metric response format \"{format}\" unknown"))
        }
    }
}

/// One sample line of the text format.
#[derive(Debug, PartialEq)]
struct Sample {
    name: String,
    labels: Map<String, Value>,
    value: f64,
}

/// Parses `name{a="b",c="d"} 1.5`; label values use the format's `\\`, `\"`, `\n` escapes.
fn parse_sample(line: &str) -> Option<Sample> {
    let (head, value) = line.rsplit_once(' ')?;
    let value = match value {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        other => other.parse().ok()?,
    };
    let Some((name, rest)) = head.split_once('{') else {
        return Some(Sample {
            name: head.to_owned(),
            labels: Map::new(),
            value,
        });
    };
    let mut labels = Map::new();
    let mut chars = rest.chars();
    loop {
        let key: String = chars.by_ref().take_while(|c| *c != '=').collect();
        let key = key.trim_start_matches(',').to_owned();
        if key.is_empty() || key == "}" {
            break;
        }
        if chars.next() != Some('"') {
            return None;
        }
        let mut label = String::new();
        loop {
            match chars.next()? {
                '\\' => match chars.next()? {
                    'n' => label.push('\n'),
                    other => label.push(other),
                },
                '"' => break,
                other => label.push(other),
            }
        }
        labels.insert(key, Value::String(label));
    }
    Some(Sample {
        name: name.to_owned(),
        labels,
        value,
    })
}

/// One histogram's totals.
struct Histogram {
    labels: Map<String, Value>,
    count: f64,
    sum: f64,
}

/// Vault's generic format from the Prometheus text: counters and gauges as they are,
/// each histogram as one sample with its count, sum and mean.
pub(crate) fn generic_json(text: &str) -> Value {
    let mut types = BTreeMap::new();
    let mut samples = Vec::new();
    for line in text.lines() {
        if let Some(declared) = line.strip_prefix("# TYPE ") {
            if let Some((name, kind)) = declared.split_once(' ') {
                types.insert(name.to_owned(), kind.to_owned());
            }
        } else if !line.starts_with('#')
            && let Some(sample) = parse_sample(line)
        {
            samples.push(sample);
        }
    }
    let mut gauges = Vec::new();
    let mut counters = Vec::new();
    let mut histograms: BTreeMap<(String, String), Histogram> = BTreeMap::new();
    for sample in samples {
        let name = sample.name.replace('_', ".");
        match types.get(&sample.name).map(String::as_str) {
            Some("counter") => counters.push(json!({
                "Name": name, "Count": sample.value, "Sum": sample.value, "Labels": sample.labels,
            })),
            Some("gauge") => gauges.push(json!({
                "Name": name, "Value": sample.value, "Labels": sample.labels,
            })),
            _ => {
                let (base, is_sum) = if let Some(base) = sample.name.strip_suffix("_sum") {
                    (base, true)
                } else if let Some(base) = sample.name.strip_suffix("_count") {
                    (base, false)
                } else {
                    continue; // buckets are not part of the generic format
                };
                let key = (
                    base.to_owned(),
                    Value::Object(sample.labels.clone()).to_string(),
                );
                let entry = histograms.entry(key).or_insert_with(|| Histogram {
                    labels: sample.labels,
                    count: 0.0,
                    sum: 0.0,
                });
                if is_sum {
                    entry.sum = sample.value;
                } else {
                    entry.count = sample.value;
                }
            }
        }
    }
    let histogram_samples: Vec<Value> = histograms
        .into_iter()
        .map(|((base, _), Histogram { labels, count, sum })| {
            let mean = if count > 0.0 { sum / count } else { 0.0 };
            json!({
                "Name": base.replace('_', "."),
                "Count": count, "Sum": sum, "Mean": mean, "Labels": labels,
            })
        })
        .collect();
    let timestamp = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    json!({
        "Timestamp": timestamp,
        "Gauges": gauges,
        "Points": [],
        "Counters": counters,
        "Samples": histogram_samples,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sample_lines_parse_with_escaped_labels() {
        let sample = parse_sample(r#"x_total{a="b",c="q\"u\\o\nte"} 3"#).unwrap();
        assert_eq!(sample.name, "x_total");
        assert_eq!(sample.labels["a"], "b");
        assert_eq!(sample.labels["c"], "q\"u\\o\nte");
        assert_eq!(sample.value, 3.0);
        let bare = parse_sample("up 1").unwrap();
        assert!(bare.labels.is_empty());
        assert_eq!(
            parse_sample(r#"h_bucket{le="+Inf"} 2"#).unwrap().labels["le"],
            "+Inf"
        );
        assert!(parse_sample("garbage").is_none());
    }

    #[test]
    fn generic_json_has_vaults_shape() {
        let text = "# TYPE a_total counter\na_total{m=\"x\"} 2\n# TYPE g gauge\ng 5\n\
                    # TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 2\n\
                    h_sum 3\nh_count 2\n";
        let json = generic_json(text);
        assert_eq!(json["Counters"][0]["Name"], "a.total");
        assert_eq!(json["Counters"][0]["Count"], 2.0);
        assert_eq!(json["Counters"][0]["Labels"]["m"], "x");
        assert_eq!(json["Gauges"][0]["Value"], 5.0);
        assert_eq!(json["Samples"][0]["Name"], "h");
        assert_eq!(json["Samples"][0]["Count"], 2.0);
        assert_eq!(json["Samples"][0]["Mean"], 1.5);
        assert_eq!(json["Points"], json!([]));
    }

    #[test]
    fn format_follows_parameter_then_accept() {
        let none: [String; 0] = [];
        assert_eq!(
            MetricsFormat::from_request("prometheus", &none),
            MetricsFormat::Prometheus
        );
        assert_eq!(
            MetricsFormat::from_request("", &none),
            MetricsFormat::Generic
        );
        let open = ["application/openmetrics-text; version=1.0.0".to_owned()];
        assert_eq!(
            MetricsFormat::from_request("", &open),
            MetricsFormat::Prometheus
        );
        let tele = ["text/html".to_owned(), "prometheus/telemetry".to_owned()];
        assert_eq!(
            MetricsFormat::from_request("", &tele),
            MetricsFormat::Prometheus
        );
        assert_eq!(
            MetricsFormat::from_request("xml", &none),
            MetricsFormat::Unknown("xml".into())
        );
    }
}
