//! Turning an HTTP request into a logical one, Vault's way: method to operation, `LIST` and
//! `?list=true`, the token headers, query or JSON/form body, and the size and JSON limits.

use axum::body::Body;
use http::{HeaderMap, Method, Response, StatusCode, header};
use http_body_util::{BodyExt, Limited};
use serde_json::Value;
use warden_core::CoreError;
use warden_logical::{Connection, Map, Operation, Request, SecretString};

use super::{Limits, PeerAddr, respond};

/// JSON nesting deeper than this is refused (Vault's `max_json_depth` is 300; serde_json
/// stops at 128 on its own, which is the effective limit).
const MAX_JSON_DEPTH: usize = 300;
/// Entries one JSON object may have (Vault's `max_json_object_entry_count`).
const MAX_JSON_OBJECT_ENTRIES: usize = 10_000;
/// Elements one JSON array may have (Vault's `max_json_array_element_count`).
const MAX_JSON_ARRAY_ELEMENTS: usize = 10_000;

/// A parsed request and the path as the client sent it (before `LIST` added its `/`).
#[derive(Debug)]
pub(super) struct ParsedRequest {
    pub(super) request: Request,
    pub(super) original_path: String,
}

/// Percent-decodes a URL path (Go's `URL.Path` is decoded too).
pub(super) fn decode_path(path: &str) -> String {
    percent_encoding::percent_decode_str(path)
        .decode_utf8_lossy()
        .into_owned()
}

/// Vault CE has only the root namespace; naming any other is refused rather than ignored.
pub(super) fn check_namespace(headers: &HeaderMap) -> Result<(), CoreError> {
    let Some(value) = headers.get("x-vault-namespace") else {
        return Ok(());
    };
    match value.to_str().map(|v| v.trim().trim_matches('/')) {
        Ok("" | "root") => Ok(()),
        _ => Err(CoreError::NamespacesNotEnabled),
    }
}

/// The token: `X-Vault-Token` first, then the first `Authorization: Bearer`.
pub(super) fn client_token(headers: &HeaderMap) -> Option<SecretString> {
    if let Some(token) = headers.get("x-vault-token").and_then(|v| v.to_str().ok()) {
        return Some(SecretString::new(token.trim()));
    }
    headers
        .get_all(header::AUTHORIZATION)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find_map(|value| {
            let (scheme, token) = value.split_once(' ')?;
            scheme
                .eq_ignore_ascii_case("bearer")
                .then(|| SecretString::new(token.trim()))
        })
}

/// Query parameters as request data: repeated keys become lists.
pub(super) fn query_data(query: Option<&str>) -> Map {
    let mut data = Map::new();
    for (key, value) in form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        let value = Value::String(value.into_owned());
        match data.get_mut(key.as_ref()) {
            Some(Value::Array(values)) => values.push(value),
            Some(existing) => {
                let first = existing.take();
                *existing = Value::Array(vec![first, value]);
            }
            None => {
                data.insert(key.into_owned(), value);
            }
        }
    }
    data
}

fn bad_request(message: impl Into<String>) -> Response<Body> {
    respond::error(&CoreError::User(message.into()))
}

fn parse_bool(value: &Value) -> Option<bool> {
    match value {
        Value::Bool(b) => Some(*b),
        Value::String(s) => match s.as_str() {
            "1" | "t" | "T" | "true" | "TRUE" | "True" => Some(true),
            "0" | "f" | "F" | "false" | "FALSE" | "False" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

/// Parses the request; on failure returns the finished error response.
pub(super) async fn parse(
    request: axum::extract::Request,
    path: String,
    limits: &Limits,
) -> Result<ParsedRequest, Response<Body>> {
    let (parts, body) = request.into_parts();
    let mut query = query_data(parts.uri.query());
    let help = query
        .remove("help")
        .is_some_and(|v| parse_bool(&v).unwrap_or(true));

    let mut operation = match parts.method.as_str() {
        "GET" => Operation::Read,
        "POST" | "PUT" => Operation::Update,
        "DELETE" => Operation::Delete,
        "PATCH" => Operation::Patch,
        "LIST" => Operation::List,
        "HEAD" => Operation::Header,
        "HELP" => Operation::Help,
        _ => return Err(respond::empty_error(StatusCode::METHOD_NOT_ALLOWED)),
    };
    if operation == Operation::Read
        && let Some(list) = query.remove("list")
    {
        match parse_bool(&list) {
            Some(true) => operation = Operation::List,
            Some(false) => {}
            None => return Err(bad_request("invalid value for list parameter")),
        }
    }
    if operation == Operation::Patch {
        let content_type = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        if !content_type.starts_with("application/merge-patch+json") {
            return Err(respond::error_with_status(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                format!(
                    "PATCH requires Content-Type of application/merge-patch+json, provided {content_type}"
                ),
            ));
        }
    }

    let data = match parts.method {
        Method::POST | Method::PUT | Method::PATCH => {
            read_body(&parts.headers, body, limits).await?
        }
        _ => query,
    };

    let mut logical_path = path.clone();
    if operation == Operation::List && !logical_path.ends_with('/') {
        logical_path.push('/');
    }
    if help {
        operation = Operation::Help;
    }
    let wrap_ttl = wrap_ttl(&parts.headers).map_err(bad_request)?;
    let mut request = Request::new(operation, logical_path, data);
    request.wrap_ttl = wrap_ttl;
    request.id = uuid::Uuid::new_v4().to_string();
    request.client_token = client_token(&parts.headers);
    request.headers = passed_headers(&parts.headers);
    request.connection = parts.extensions.get::<PeerAddr>().map(|peer| Connection {
        remote_addr: peer.0.ip(),
        remote_port: peer.0.port(),
    });
    Ok(ParsedRequest {
        request,
        original_path: path,
    })
}

/// Headers the core's own endpoints read (`sys/metrics` picks its format from `Accept`).
/// Mounts' `passthrough_request_headers` are not implemented, so nothing else is passed.
fn passed_headers(headers: &HeaderMap) -> std::collections::BTreeMap<String, Vec<String>> {
    let mut passed = std::collections::BTreeMap::new();
    let accept = accept_values(headers);
    if !accept.is_empty() {
        passed.insert("accept".to_owned(), accept);
    }
    passed
}

/// Every `Accept` header value, in order.
pub(super) fn accept_values(headers: &HeaderMap) -> Vec<String> {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok().map(str::to_owned))
        .collect()
}

/// Reads a whole body, refusing it with 413 as soon as it passes the listener's limit (a
/// declared `Content-Length` above the limit is refused before anything is read).
pub(super) async fn read_bytes(
    headers: &HeaderMap,
    body: Body,
    limits: &Limits,
) -> Result<bytes::Bytes, Response<Body>> {
    if let Some(max) = limits.max_request_size {
        let declared = headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|length| length > max) {
            return Err(too_large());
        }
    }
    match limits.max_request_size {
        Some(max) => {
            let limit = usize::try_from(max).unwrap_or(usize::MAX);
            match Limited::new(body, limit).collect().await {
                Ok(collected) => Ok(collected.to_bytes()),
                Err(err) if err.is::<http_body_util::LengthLimitError>() => Err(too_large()),
                Err(_) => Err(bad_request("error reading data")),
            }
        }
        None => match body.collect().await {
            Ok(collected) => Ok(collected.to_bytes()),
            Err(_) => Err(bad_request("error reading data")),
        },
    }
}

async fn read_body(
    headers: &HeaderMap,
    body: Body,
    limits: &Limits,
) -> Result<Map, Response<Body>> {
    let bytes = read_bytes(headers, body, limits).await?;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let trimmed = bytes.trim_ascii_start();
    if trimmed.is_empty() {
        return Ok(Map::new());
    }
    let looks_like_json = matches!(trimmed.first(), Some(b'{' | b'['));
    if content_type.starts_with("application/x-www-form-urlencoded") && !looks_like_json {
        return Ok(query_data(std::str::from_utf8(&bytes).ok()));
    }
    let value: Value = serde_json::from_slice(&bytes)
        .map_err(|err| bad_request(format!("failed to decode JSON input: {err}")))?;
    check_complexity(&value, 0)
        .map_err(|err| bad_request(format!("refused JSON input due to high complexity: {err}")))?;
    match value {
        Value::Object(map) => Ok(map),
        Value::Null => Ok(Map::new()),
        _ => Err(bad_request(
            "failed to decode JSON input: the body must be a JSON object",
        )),
    }
}

/// `X-Vault-Wrap-TTL`: a duration (`5m`) or seconds; negative values are refused.
fn wrap_ttl(headers: &HeaderMap) -> Result<Option<std::time::Duration>, String> {
    let Some(raw) = headers
        .get("x-vault-wrap-ttl")
        .and_then(|v| v.to_str().ok())
    else {
        return Ok(None);
    };
    if raw.trim().is_empty() {
        return Ok(None);
    }
    let parsed =
        warden_logical::framework::parse_duration_second(&Value::String(raw.trim().to_owned()))?;
    match parsed {
        Some(seconds) if seconds < 0 => Err("requested wrap ttl cannot be negative".to_owned()),
        Some(seconds) => Ok(Some(std::time::Duration::from_secs(seconds.unsigned_abs()))),
        None => Ok(None),
    }
}

fn too_large() -> Response<Body> {
    respond::error_with_status(
        StatusCode::PAYLOAD_TOO_LARGE,
        "http: request body too large".into(),
    )
}

fn check_complexity(value: &Value, depth: usize) -> Result<(), &'static str> {
    if depth > MAX_JSON_DEPTH {
        return Err("exceeded maximum nesting depth");
    }
    match value {
        Value::Object(map) => {
            if map.len() > MAX_JSON_OBJECT_ENTRIES {
                return Err("exceeded maximum number of object entries");
            }
            map.values()
                .try_for_each(|v| check_complexity(v, depth + 1))
        }
        Value::Array(items) => {
            if items.len() > MAX_JSON_ARRAY_ELEMENTS {
                return Err("exceeded maximum number of array elements");
            }
            items
                .iter()
                .try_for_each(|v| check_complexity(v, depth + 1))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_query_keys_become_lists() {
        let data = query_data(Some("a=1&b=2&a=3&c=x%20y"));
        assert_eq!(data["a"], serde_json::json!(["1", "3"]));
        assert_eq!(data["b"], "2");
        assert_eq!(data["c"], "x y");
    }

    #[test]
    fn token_comes_from_vault_header_then_bearer() {
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, "Bearer abc".parse().unwrap());
        assert_eq!(client_token(&headers).unwrap().expose(), "abc");
        headers.insert("x-vault-token", "hvs.x".parse().unwrap());
        assert_eq!(client_token(&headers).unwrap().expose(), "hvs.x");
        let mut basic = HeaderMap::new();
        basic.insert(header::AUTHORIZATION, "Basic abc".parse().unwrap());
        assert!(client_token(&basic).is_none());
    }

    #[test]
    fn namespaces_other_than_root_are_refused() {
        let mut headers = HeaderMap::new();
        assert!(check_namespace(&headers).is_ok());
        headers.insert("x-vault-namespace", "root/".parse().unwrap());
        assert!(check_namespace(&headers).is_ok());
        headers.insert("x-vault-namespace", "team-a".parse().unwrap());
        assert!(matches!(
            check_namespace(&headers),
            Err(CoreError::NamespacesNotEnabled)
        ));
    }

    #[test]
    fn wide_json_is_refused() {
        let wide = Value::Array(vec![Value::Null; MAX_JSON_ARRAY_ELEMENTS + 1]);
        assert!(check_complexity(&wide, 0).is_err());
        assert!(check_complexity(&serde_json::json!({"a": [1, 2, {"b": 3}]}), 0).is_ok());
    }
}
