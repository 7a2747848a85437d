//! `sys/internal/auth-explain/<request_id>` (read) and `sys/internal/auth-explain`
//! (read or list, `?mount=kubernetes&limit=N`): why logins were refused, from the core's
//! denial store (`crate::explain`). Both are root paths: they need `sudo`, since a denial
//! shows what a role expects and what a client presented.

use std::sync::Arc;

use serde::Deserialize;
use serde_json::{Value, json};
use warden_logical::framework::{Field, FieldType, Path, handler};
use warden_logical::{LogicalError, Map, Operation, Request, Response};

use super::SysBackend;

/// The sudo-protected explain paths, for the sys backend's root paths.
pub(super) const ROOT_PATHS: [&str; 2] = ["internal/auth-explain", "internal/auth-explain/*"];

/// How many denials a listing returns unless `limit` says otherwise.
const DEFAULT_LIMIT: usize = 20;

pub(super) fn paths(state: &Arc<SysBackend>) -> Vec<Path> {
    vec![
        Path::new("internal/auth-explain/?")
            .fields([
                Field::new("mount", FieldType::String)
                    .description(
                        "Only denials of this auth mount (path like `kubernetes` or accessor).",
                    )
                    .query(),
                Field::new("limit", FieldType::Int)
                    .description("How many denials to return, newest first.")
                    .default(json!(DEFAULT_LIMIT))
                    .query(),
            ])
            .operation(Operation::Read, handler(state, latest))
            .operation(Operation::List, handler(state, latest))
            .help(
                "The latest refused logins, newest first.",
                "Each entry names the failed check, what was expected and seen, and a remedy.",
            ),
        Path::new("internal/auth-explain/(?P<request_id>[^/]+)")
            .field(
                Field::new("request_id", FieldType::String)
                    .description("The request id of the refused login."),
            )
            .operation(Operation::Read, handler(state, by_request))
            .help(
                "Why one login was refused.",
                "The request id is the `request_id` of the refused login's response.",
            ),
    ]
}

#[derive(Debug, Deserialize)]
struct LatestInput {
    #[serde(default)]
    mount: String,
    #[serde(default)]
    limit: i64,
}

async fn latest(
    sys: Arc<SysBackend>,
    _req: Request,
    input: LatestInput,
) -> Result<Option<Response>, LogicalError> {
    let core = sys.core()?;
    let limit = usize::try_from(input.limit)
        .ok()
        .filter(|l| *l > 0)
        .unwrap_or(DEFAULT_LIMIT);
    let mount = Some(input.mount.as_str()).filter(|m| !m.is_empty());
    let records = core.explain.latest(mount, limit);
    let keys: Vec<Value> = records.iter().map(|r| json!(r.request_id)).collect();
    let denials: Vec<Value> = records.iter().map(|r| r.to_json()).collect();
    let mut data = Map::new();
    data.insert("keys".into(), Value::Array(keys));
    data.insert("denials".into(), Value::Array(denials));
    Ok(Some(Response::with_data(data)))
}

#[derive(Debug, Deserialize)]
struct RequestInput {
    #[serde(default)]
    request_id: String,
}

async fn by_request(
    sys: Arc<SysBackend>,
    _req: Request,
    input: RequestInput,
) -> Result<Option<Response>, LogicalError> {
    let core = sys.core()?;
    let records = core.explain.by_request(&input.request_id);
    let Some(first) = records.first() else {
        return Ok(None);
    };
    let Value::Object(mut data) = first.to_json() else {
        return Err(LogicalError::internal("denial record is not an object"));
    };
    if records.len() > 1 {
        let all: Vec<Value> = records.iter().map(|r| r.to_json()).collect();
        data.insert("denials".into(), Value::Array(all));
    }
    Ok(Some(Response::with_data(data)))
}
