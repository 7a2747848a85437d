//! The sys endpoints Vault serves outside its router, because they work while sealed:
//! `sys/init`, `sys/seal-status`, `sys/unseal`, `sys/seal`, `sys/health`, `sys/leader`.

use axum::body::Body;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use http::{Method, Response, StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};
use warden_core::CoreError;

use super::{ApiState, request, respond};

/// The endpoints below, each its own `route` label in the HTTP metrics.
pub(super) const RAW_ENDPOINTS: [&str; 7] = [
    "sys/init",
    "sys/seal-status",
    "sys/unseal",
    "sys/seal",
    "sys/health",
    "sys/leader",
    "sys/metrics",
];

/// Serves `path` if it is one of the raw sys endpoints; otherwise hands the request back
/// for the router.
pub(super) async fn handle(
    state: &ApiState,
    path: &str,
    request: axum::extract::Request,
) -> Result<Response<Body>, axum::extract::Request> {
    let method = request.method().clone();
    let response = match path {
        "sys/init" => init(state, &method, request).await,
        "sys/seal-status" if method == Method::GET => seal_status(state).await,
        "sys/unseal" if is_write(&method) => unseal(state, request).await,
        "sys/seal" if is_write(&method) => {
            let token = request::client_token(request.headers());
            seal(state, token).await
        }
        "sys/health" if method == Method::GET || method == Method::HEAD => {
            let query = request.uri().query().map(str::to_owned);
            health(state, &method, query.as_deref()).await
        }
        "sys/leader" if method == Method::GET => leader(state),
        "sys/metrics" if method == Method::GET && state.unauthenticated_metrics => {
            open_metrics(state, &request)
        }
        _ => return Err(request),
    };
    Ok(response)
}

/// `sys/metrics` on a listener with `unauthenticated_metrics_access`: no token, no audit
/// entry (as in Vault, where this handler bypasses the router).
fn open_metrics(state: &ApiState, request: &axum::extract::Request) -> Response<Body> {
    let query = request::query_data(request.uri().query());
    let format = query
        .get("format")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let accept = request::accept_values(request.headers());
    let format = warden_core::MetricsFormat::from_request(format, &accept);
    let (status, raw) = state.core.metrics_response(&format);
    respond::raw(status, raw)
}

fn is_write(method: &Method) -> bool {
    method == Method::PUT || method == Method::POST
}

fn ok_json(body: &Value) -> Response<Body> {
    respond::json_response(StatusCode::OK, body)
}

fn result_json<T: serde::Serialize>(result: Result<T, CoreError>) -> Response<Body> {
    match result.and_then(|value| serde_json::to_value(value).map_err(CoreError::internal)) {
        Ok(value) => ok_json(&value),
        Err(err) => respond::error(&err),
    }
}

/// Reads the JSON body of a raw endpoint (small bodies; the listener's limit applies).
async fn body_json<T: for<'de> Deserialize<'de> + Default>(
    state: &ApiState,
    request: axum::extract::Request,
) -> Result<T, Response<Body>> {
    let (parts, body) = request.into_parts();
    let bytes = request::read_bytes(&parts.headers, body, &state.limits).await?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(&bytes).map_err(|err| {
        respond::error(&CoreError::User(format!(
            "failed to decode JSON input: {err}"
        )))
    })
}

/// Go decodes JSON `null` into a field's zero value; clients (hvac) send nulls for unset
/// fields.
fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct InitRequest {
    #[serde(deserialize_with = "null_as_default")]
    secret_shares: i64,
    #[serde(deserialize_with = "null_as_default")]
    secret_threshold: i64,
    #[serde(deserialize_with = "null_as_default")]
    pgp_keys: Vec<String>,
    #[serde(deserialize_with = "null_as_default")]
    root_token_pgp_key: String,
}

async fn init(
    state: &ApiState,
    method: &Method,
    request: axum::extract::Request,
) -> Response<Body> {
    if method == Method::GET {
        return result_json(
            state
                .core
                .initialized()
                .await
                .map(|i| json!({ "initialized": i })),
        );
    }
    if !is_write(method) {
        return respond::empty_error(StatusCode::METHOD_NOT_ALLOWED);
    }
    let body: InitRequest = match body_json(state, request).await {
        Ok(body) => body,
        Err(response) => return response,
    };
    if !body.pgp_keys.is_empty()
        && i64::try_from(body.pgp_keys.len()).ok() != Some(body.secret_shares)
    {
        return respond::error(&CoreError::User(
            "count mismatch between number of provided PGP keys and number of shares".into(),
        ));
    }
    if !body.pgp_keys.is_empty() || !body.root_token_pgp_key.is_empty() {
        return respond::error(&CoreError::User(
            "PGP-encrypted unseal keys and root tokens are not supported by this server".into(),
        ));
    }
    match state
        .core
        .initialize(body.secret_shares, body.secret_threshold)
        .await
    {
        Ok(result) => {
            let keys: Vec<String> = result
                .keys
                .iter()
                .map(|k| hex::encode(k.expose()))
                .collect();
            let keys_base64: Vec<String> = result
                .keys
                .iter()
                .map(|k| BASE64.encode(k.expose()))
                .collect();
            ok_json(&json!({
                "keys": keys,
                "keys_base64": keys_base64,
                "root_token": result.root_token.expose(),
            }))
        }
        Err(err) => respond::error(&err),
    }
}

async fn seal_status(state: &ApiState) -> Response<Body> {
    result_json(state.core.seal_status().await)
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct UnsealRequest {
    #[serde(deserialize_with = "null_as_default")]
    key: String,
    #[serde(deserialize_with = "null_as_default")]
    reset: bool,
    #[serde(deserialize_with = "null_as_default")]
    migrate: bool,
}

async fn unseal(state: &ApiState, request: axum::extract::Request) -> Response<Body> {
    let body: UnsealRequest = match body_json(state, request).await {
        Ok(body) => body,
        Err(response) => return response,
    };
    if body.migrate {
        return respond::error(&CoreError::User("seal migration is not supported".into()));
    }
    if body.reset {
        return result_json(state.core.reset_unseal().await);
    }
    if body.key.is_empty() {
        return respond::error(&CoreError::User(
            "'key' must be specified in request body as JSON, or 'reset' set to true".into(),
        ));
    }
    let key = match hex::decode(&body.key).or_else(|_| BASE64.decode(&body.key)) {
        Ok(key) => zeroize::Zeroizing::new(key),
        Err(_) => {
            return respond::error(&CoreError::User(
                "'key' must be a valid hex or base64 string".into(),
            ));
        }
    };
    result_json(state.core.unseal(&key).await)
}

async fn seal(state: &ApiState, token: Option<warden_logical::SecretString>) -> Response<Body> {
    if let Err(err) = state
        .core
        .check_sudo(token.as_ref().map(|t| t.expose()), "sys/seal")
        .await
    {
        return respond::error(&err);
    }
    state.core.seal_now().await;
    respond::no_content()
}

/// Status codes of `sys/health`, each overridable by a query parameter.
struct HealthCodes {
    active: u16,
    standby: u16,
    sealed: u16,
    uninit: u16,
}

fn health_codes(query: &serde_json::Map<String, Value>) -> Result<HealthCodes, ()> {
    let code = |name: &str, default: u16| -> Result<u16, ()> {
        match query.get(name) {
            None => Ok(default),
            Some(Value::String(value)) => value.parse().map_err(|_| ()),
            Some(Value::Array(values)) => values
                .first()
                .and_then(Value::as_str)
                .ok_or(())?
                .parse()
                .map_err(|_| ()),
            Some(_) => Err(()),
        }
    };
    Ok(HealthCodes {
        active: code("activecode", 200)?,
        standby: code("standbycode", 429)?,
        sealed: code("sealedcode", 503)?,
        uninit: code("uninitcode", 501)?,
    })
}

async fn health(state: &ApiState, method: &Method, query: Option<&str>) -> Response<Body> {
    let query = request::query_data(query);
    let Ok(codes) = health_codes(&query) else {
        return respond::empty_error(StatusCode::BAD_REQUEST);
    };
    let initialized = match state.core.initialized().await {
        Ok(initialized) => initialized,
        Err(err) => return respond::error(&err),
    };
    let sealed = state.core.is_sealed();
    // A single node is never a standby, so `standbyok` and `standbycode` never apply.
    let _ = codes.standby;
    let code = if !initialized {
        codes.uninit
    } else if sealed {
        codes.sealed
    } else {
        codes.active
    };
    let status = StatusCode::from_u16(code).unwrap_or(StatusCode::OK);
    if method == Method::HEAD {
        let mut response = respond::no_content();
        *response.status_mut() = status;
        return response;
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let mut body = json!({
        "initialized": initialized,
        "sealed": sealed,
        "standby": false,
        "performance_standby": false,
        "replication_performance_mode": "disabled",
        "replication_dr_mode": "disabled",
        "server_time_utc": now,
        "version": warden_core::API_VERSION,
        "enterprise": false,
        "echo_duration_ms": 0,
        "clock_skew_ms": 0,
    });
    if let (Some((name, id)), Some(object)) = (state.core.cluster_identity(), body.as_object_mut())
    {
        object.insert("cluster_name".into(), json!(name));
        object.insert("cluster_id".into(), json!(id));
    }
    respond::json_response(status, &body)
}

fn leader(state: &ApiState) -> Response<Body> {
    if state.core.is_sealed() {
        return respond::error(&CoreError::Sealed);
    }
    ok_json(&json!({
        "ha_enabled": false,
        "is_self": false,
        "active_time": "0001-01-01T00:00:00Z",
        "leader_address": "",
        "leader_cluster_address": "",
        "performance_standby": false,
        "performance_standby_last_remote_wal": 0,
    }))
}
