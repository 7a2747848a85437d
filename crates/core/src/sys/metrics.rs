//! `sys/metrics` (read, `?format=prometheus`): the process's metrics, through the router, so
//! the caller needs `read` on `sys/metrics` and the request is audited. A listener with
//! `telemetry { unauthenticated_metrics_access = true }` serves the same answer without a
//! token ([`crate::Core::metrics_response`]).

use std::sync::Arc;

use serde::Deserialize;
use warden_logical::framework::{Field, FieldType, Path, handler};
use warden_logical::{LogicalError, Operation, Request, Response};

use super::SysBackend;
use crate::telemetry::MetricsFormat;

pub(super) fn paths(state: &Arc<SysBackend>) -> Vec<Path> {
    vec![
        Path::new("metrics")
            .field(
                Field::new("format", FieldType::String)
                    .description("Format to export metrics into: `prometheus`, or empty for JSON.")
                    .query(),
            )
            .operation(Operation::Read, handler(state, read))
            .help(
                "Export the metrics aggregated for telemetry purpose.",
                "Counters, gauges and histograms of HTTP requests, logins, denials, storage, \
                 TokenReviews and JWKS refreshes.",
            ),
    ]
}

#[derive(Debug, Deserialize)]
struct MetricsInput {
    #[serde(default)]
    format: String,
}

async fn read(
    sys: Arc<SysBackend>,
    req: Request,
    input: MetricsInput,
) -> Result<Option<Response>, LogicalError> {
    let core = sys.core()?;
    let accept = req
        .headers
        .get("accept")
        .map(Vec::as_slice)
        .unwrap_or_default();
    let format = MetricsFormat::from_request(&input.format, accept);
    let (status, raw) = core.metrics_response(&format);
    Ok(Some(Response {
        status_code: Some(status),
        raw: Some(raw),
        ..Response::default()
    }))
}
