//! The one place that knows status codes: core and backend errors become Vault's statuses
//! and `{"errors":[…]}` bodies; responses become Vault's envelope.

use axum::body::Body;
use http::{HeaderValue, Response, StatusCode, header};
use serde_json::{Value, json};
use warden_core::{CoreError, Handled};
use warden_logical::{LogicalError, Operation};

/// Vault's multierror rendering of one error, used for non-login route errors.
fn wrapped(message: &str) -> String {
    format!("1 error occurred:\n\t* {message}\n\n")
}

/// The status and the `errors` list for an error.
pub(crate) fn status_and_errors(err: &CoreError) -> (StatusCode, Vec<String>) {
    use StatusCode as S;
    match err {
        CoreError::Sealed => (S::SERVICE_UNAVAILABLE, vec![err.to_string()]),
        CoreError::NotInitialized => (S::BAD_REQUEST, vec![err.to_string()]),
        CoreError::PermissionDenied => (S::FORBIDDEN, vec![wrapped("permission denied")]),
        CoreError::InvalidToken => (
            S::FORBIDDEN,
            vec!["2 errors occurred:\n\t* permission denied\n\t* invalid token\n\n".to_owned()],
        ),
        CoreError::NoRoute { .. } => (S::NOT_FOUND, vec![err.to_string()]),
        CoreError::Backend { error, login } => backend_status(error, *login),
        CoreError::Seal(seal) => {
            let status = if seal.is_user_error() {
                S::BAD_REQUEST
            } else {
                S::INTERNAL_SERVER_ERROR
            };
            (status, vec![seal.to_string()])
        }
        CoreError::User(message) => (S::BAD_REQUEST, vec![message.clone()]),
        CoreError::NamespacesNotEnabled => (S::FORBIDDEN, vec![err.to_string()]),
        CoreError::Internal(message) => (S::INTERNAL_SERVER_ERROR, vec![wrapped(message)]),
        CoreError::AuditFailed => (S::INTERNAL_SERVER_ERROR, vec![err.to_string()]),
        _ => (S::INTERNAL_SERVER_ERROR, vec![wrapped(&err.to_string())]),
    }
}

fn backend_status(error: &LogicalError, login: bool) -> (StatusCode, Vec<String>) {
    use StatusCode as S;
    let shown = |message: &str| {
        if login {
            message.to_owned()
        } else {
            wrapped(message)
        }
    };
    match error {
        // `logical.ErrorResponse` texts and coded errors are never wrapped.
        LogicalError::User(message) => (S::BAD_REQUEST, vec![message.clone()]),
        LogicalError::Coded { status, message } => (
            S::from_u16(*status).unwrap_or(S::INTERNAL_SERVER_ERROR),
            vec![message.clone()],
        ),
        LogicalError::PermissionDenied => (S::FORBIDDEN, vec![shown("permission denied")]),
        LogicalError::UnsupportedOperation => {
            (S::METHOD_NOT_ALLOWED, vec![shown("unsupported operation")])
        }
        LogicalError::UnsupportedPath => (S::NOT_FOUND, vec![shown("unsupported path")]),
        LogicalError::InvalidRequest => (S::BAD_REQUEST, vec![shown("invalid request")]),
        LogicalError::Sealed => (S::SERVICE_UNAVAILABLE, vec!["Vault is sealed".to_owned()]),
        LogicalError::Internal(message) => (S::INTERNAL_SERVER_ERROR, vec![shown(message)]),
        other => (S::INTERNAL_SERVER_ERROR, vec![shown(&other.to_string())]),
    }
}

/// The response for an error.
pub(crate) fn error(err: &CoreError) -> Response<Body> {
    let (status, errors) = status_and_errors(err);
    if status.is_server_error() {
        tracing::error!(error = %err, "request failed");
    } else {
        tracing::debug!(error = %err, status = status.as_u16(), "request refused");
    }
    json_response(status, &json!({ "errors": errors }))
}

/// An error response with an explicit status and one message.
pub(crate) fn error_with_status(status: StatusCode, message: String) -> Response<Body> {
    json_response(status, &json!({ "errors": [message] }))
}

/// `{"errors":[]}` with a status (bare 404 and 405).
pub(crate) fn empty_error(status: StatusCode) -> Response<Body> {
    json_response(status, &json!({ "errors": [] }))
}

/// A JSON body with a status.
pub(crate) fn json_response(status: StatusCode, body: &Value) -> Response<Body> {
    let bytes = serde_json::to_vec(body).unwrap_or_else(|_| b"{}".to_vec());
    let mut response = Response::new(Body::from(bytes));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// 204 No Content.
pub(crate) fn no_content() -> Response<Body> {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = StatusCode::NO_CONTENT;
    response
}

/// The response to a successful logical request.
pub(crate) fn logical(
    request_id: &str,
    operation: Operation,
    path: &str,
    handled: Handled,
) -> Response<Body> {
    let Some(resp) = handled.response else {
        return match operation {
            Operation::Read | Operation::Header | Operation::List => {
                empty_error(StatusCode::NOT_FOUND)
            }
            _ => no_content(),
        };
    };
    if operation == Operation::Help {
        return json_response(
            StatusCode::OK,
            &resp.data.map_or(Value::Null, Value::Object),
        );
    }
    if let Some(body) = resp.raw {
        return raw(resp.status_code.unwrap_or(200), body);
    }
    if operation == Operation::List && resp.warnings.is_empty() {
        let has_keys = resp
            .data
            .as_ref()
            .and_then(|data| data.get("keys"))
            .is_some_and(|keys| keys.as_array().is_some_and(|keys| !keys.is_empty()));
        if !has_keys {
            return empty_error(StatusCode::NOT_FOUND);
        }
    }
    let mut resp = resp;
    let data = resp.data.take();
    let body = warden_core::envelope::envelope_with_data(
        request_id,
        path,
        &handled.mount_type,
        &resp,
        data,
    );
    let status = resp
        .status_code
        .and_then(|c| StatusCode::from_u16(c).ok())
        .unwrap_or(StatusCode::OK);
    json_response(status, &body)
}

/// A raw (non-envelope) answer: its status (200 when invalid) and content type.
pub(super) fn raw(status: u16, raw: warden_logical::RawBody) -> Response<Body> {
    let mut response = Response::new(Body::from(raw.body));
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    if let Ok(value) = HeaderValue::from_str(&raw.content_type) {
        response.headers_mut().insert(header::CONTENT_TYPE, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_map_to_vaults_statuses_and_texts() {
        let cases: Vec<(CoreError, u16, &str)> = vec![
            (CoreError::Sealed, 503, "Vault is sealed"),
            (
                CoreError::PermissionDenied,
                403,
                "1 error occurred:\n\t* permission denied\n\n",
            ),
            (
                CoreError::InvalidToken,
                403,
                "2 errors occurred:\n\t* permission denied\n\t* invalid token\n\n",
            ),
            (
                CoreError::NoRoute {
                    path: "foo/bar".into(),
                },
                404,
                "no handler for route \"foo/bar\". route entry not found.",
            ),
            (
                CoreError::backend(LogicalError::UnsupportedPath),
                404,
                "1 error occurred:\n\t* unsupported path\n\n",
            ),
            (
                CoreError::backend(LogicalError::UnsupportedOperation),
                405,
                "1 error occurred:\n\t* unsupported operation\n\n",
            ),
            (
                CoreError::backend(LogicalError::user("missing role")),
                400,
                "missing role",
            ),
            (
                CoreError::backend(LogicalError::coded(409, "path is already in use at a/")),
                409,
                "path is already in use at a/",
            ),
            (
                CoreError::Backend {
                    error: LogicalError::PermissionDenied,
                    login: true,
                },
                403,
                "permission denied",
            ),
            (
                CoreError::User("cannot write to a path ending in '/'".into()),
                400,
                "cannot write to a path ending in '/'",
            ),
            (
                CoreError::NamespacesNotEnabled,
                403,
                "namespaces feature not enabled",
            ),
        ];
        for (err, status, message) in cases {
            let (got_status, errors) = status_and_errors(&err);
            assert_eq!(got_status.as_u16(), status, "{err:?}");
            assert_eq!(errors, vec![message.to_owned()], "{err:?}");
        }
    }
}
