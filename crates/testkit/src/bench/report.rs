//! The JSON report: one object per phase, the targets with met/missed, and the settings.

use serde_json::{Map, Value, json};

use super::Args;
use super::load::Outcome;
use super::probe::{self, round};

/// One phase's figures: throughput, p50, p99, ratio to the baseline, errors, profile, plus
/// `extra` fields.
pub(crate) fn phase(outcome: &Outcome, baseline: f64, extra: Value) -> Value {
    let throughput = outcome.throughput();
    let mut out = json!({
        "throughput_rps": round(throughput, 0),
        "p50_ms": round(outcome.quantile_ms(0.50), 3),
        "p99_ms": round(outcome.quantile_ms(0.99), 3),
        "ratio_to_baseline": (baseline > 0.0).then(|| round(throughput / baseline, 3)),
        "requests": outcome.ok,
        "errors": outcome.errors,
        "measured_seconds": round(outcome.elapsed.as_secs_f64(), 2),
    });
    if let Some(error) = &outcome.first_error {
        out["first_error"] = json!(error);
    }
    if let (Value::Object(out), Value::Object(extra)) = (&mut out, extra) {
        out.extend(extra);
    }
    out["profile"] = probe::profile(&outcome.start, &outcome.end, outcome.ok + outcome.errors);
    out
}

fn ratio(results: &Value, a: &str, b: &str) -> Option<f64> {
    let a = results[a]["throughput_rps"].as_f64()?;
    let b = results[b]["throughput_rps"].as_f64()?;
    Some(a / b.max(1e-9))
}

fn target(name: &str, value: Option<f64>, bound: f64, at_least: bool, unit: &str) -> Value {
    let met = value.map(|v| if at_least { v >= bound } else { v <= bound });
    json!({
        "target": name,
        "value": value.map(|v| round(v, 3)),
        "bound": bound,
        "unit": unit,
        "met": met,
    })
}

/// The targets of issue 8, evaluated on `results`.
pub(crate) fn targets(results: &Value) -> Vec<Value> {
    let mut out = vec![
        target(
            "b: jwt login RS256 >= 20% of health",
            ratio(results, "b_jwt_login_rs256", "a_health"),
            0.20,
            true,
            "ratio",
        ),
        target(
            "c: jwt login ES256 >= 20% of health",
            ratio(results, "c_jwt_login_es256", "a_health"),
            0.20,
            true,
            "ratio",
        ),
        target(
            "d: kubernetes login >= 80% of raw TokenReview",
            ratio(results, "d_kubernetes_login", "d_tokenreview_raw"),
            0.80,
            true,
            "ratio",
        ),
        target(
            "e: lookup-self >= 50% of health",
            ratio(results, "e_token_lookup_self", "a_health"),
            0.50,
            true,
            "ratio",
        ),
    ];
    let g = &results["g_memory_and_restart"];
    if !g.is_null() {
        let extrapolated = g["rss_at_1m_is_extrapolated"].as_bool().unwrap_or(true);
        let rss_name = if extrapolated {
            "g: RSS with 1M live service tokens <= 1 GiB (EXTRAPOLATED from a smaller count)"
        } else {
            "g: RSS with 1M live service tokens <= 1 GiB"
        };
        let rss = g["rss_mib_at_1m_tokens"].as_f64().map(|m| m / 1024.0);
        out.push(target(rss_name, rss, 1.0, false, "GiB"));
        let restart_name = format!(
            "g: restart + unseal to first login <= 5 s (measured with {} tokens stored)",
            g["live_service_tokens"]
        );
        out.push(target(
            &restart_name,
            g["restart"]["first_login_s"].as_f64(),
            5.0,
            false,
            "s",
        ));
    }
    out
}

/// The whole report.
pub(crate) fn assemble(
    args: &Args,
    results: Value,
    mut notes: Vec<String>,
    audit_log_bytes: u64,
) -> Value {
    let targets = targets(&results);
    let missed: Vec<&str> = targets
        .iter()
        .filter(|t| t["met"] == false)
        .filter_map(|t| t["target"].as_str())
        .collect();
    if !missed.is_empty() {
        notes.push(format!("targets missed: {}", missed.join("; ")));
    }
    for (name, phase) in results.as_object().into_iter().flatten() {
        if phase["errors"].as_u64().unwrap_or(0) > 0 {
            notes.push(format!(
                "{name} had {} errors; first: {}",
                phase["errors"], phase["first_error"]
            ));
        }
        if phase["tokens"]["every_request_distinct"] == false {
            notes.push(format!(
                "{name}: the token pool ran out, some requests reused a token"
            ));
        }
    }
    let mut settings = Map::new();
    settings.insert("concurrency".into(), json!(args.concurrency));
    settings.insert("duration_s".into(), json!(args.duration.as_secs_f64()));
    settings.insert("probe_s".into(), json!(args.probe.as_secs_f64()));
    settings.insert("server_threads".into(), json!(args.server_threads));
    settings.insert("client_threads".into(), json!(args.client_threads));
    settings.insert("kube_threads".into(), json!(args.kube_threads));
    settings.insert("tokens".into(), json!(args.tokens));
    settings.insert("audit_device".into(), json!(!args.no_audit));
    settings.insert(
        "client".into(),
        json!("hyper 1 HTTP/1.1, one keep-alive connection per worker"),
    );
    json!({
        "bench": "warden-bench",
        "version": env!("CARGO_PKG_VERSION"),
        "machine": probe::machine(),
        "settings": settings,
        "results": results,
        "targets": targets,
        "audit_log_bytes": audit_log_bytes,
        "notes": notes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_compare_ratios_and_mark_extrapolation() {
        let results = json!({
            "a_health": {"throughput_rps": 1000.0},
            "b_jwt_login_rs256": {"throughput_rps": 300.0},
            "c_jwt_login_es256": {"throughput_rps": 100.0},
            "d_kubernetes_login": {"throughput_rps": 90.0},
            "d_tokenreview_raw": {"throughput_rps": 100.0},
            "e_token_lookup_self": {"throughput_rps": 600.0},
            "g_memory_and_restart": {"rss_mib_at_1m_tokens": 512.0, "rss_at_1m_is_extrapolated": true,
                "live_service_tokens": 1000, "restart": {"first_login_s": 6.0}},
        });
        let met: Vec<Value> = targets(&results).iter().map(|t| t["met"].clone()).collect();
        assert_eq!(
            met,
            [
                json!(true),
                json!(false),
                json!(true),
                json!(true),
                json!(true),
                json!(false)
            ]
        );
        assert!(
            targets(&results)[4]["target"]
                .as_str()
                .is_some_and(|t| t.contains("EXTRAPOLATED"))
        );
    }
}
