//! The endpoint handlers, with kube-apiserver's exact bodies: TokenReview, namespace and
//! service-account reads, OIDC discovery and JWKS, and the `metav1.Status` failures
//! (RBAC forbidden, not found, 401, 406, injected faults).

use bytes::Bytes;
use http::header::{ACCEPT, CACHE_CONTROL, CONTENT_TYPE, USER_AGENT};
use http::{HeaderMap, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::Shared;
use super::cluster::Key;
use super::review::{UserInfo, go_quote, review};

/// kube-apiserver's request body limit (3 MiB).
const BODY_LIMIT: usize = 3 * 1024 * 1024;

pub(super) type Reply = Response<Full<Bytes>>;

fn reply(status: u16, content_type: &str, cache: &str, body: &Value) -> Reply {
    let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
    *response.status_mut() =
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let headers = response.headers_mut();
    if let Ok(value) = content_type.parse() {
        headers.insert(CONTENT_TYPE, value);
    }
    if let Ok(value) = cache.parse() {
        headers.insert(CACHE_CONTROL, value);
    }
    response
}

fn api(status: u16, body: &Value) -> Reply {
    reply(status, "application/json", "no-cache, private", body)
}

/// A `metav1.Status` failure body; `details: None` omits the field (400/401 do).
pub(super) fn status(code: u16, reason: &str, message: &str, details: Option<Value>) -> Reply {
    let mut body = json!({
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": message,
    });
    if !reason.is_empty() {
        body["reason"] = json!(reason);
    }
    if let Some(details) = details {
        body["details"] = details;
    }
    body["code"] = json!(code);
    api(code, &body)
}

fn not_found(kind: &str, name: &str) -> Reply {
    let message = format!("{kind} {} not found", go_quote(name));
    status(
        404,
        "NotFound",
        &message,
        Some(json!({"name": name, "kind": kind})),
    )
}

pub(super) fn no_route() -> Reply {
    let message = "the server could not find the requested resource";
    status(404, "NotFound", message, Some(json!({})))
}

pub(super) fn method_not_allowed() -> Reply {
    let message = "the server does not allow this method on the requested resource";
    status(405, "MethodNotAllowed", message, Some(json!({})))
}

fn user_key(user: Option<&UserInfo>) -> Option<Key> {
    user.map(|u| (u.namespace.clone(), u.name.clone()))
}

fn username(user: Option<&UserInfo>) -> String {
    user.map_or_else(|| "system:anonymous".to_owned(), UserInfo::username)
}

/// RBAC's forbidden answer for a resource request (`responsewriters.ForbiddenStatusError`).
fn forbidden(
    user: Option<&UserInfo>,
    verb: &str,
    group: &str,
    resource: &str,
    target: Option<(&str, &str)>,
) -> Reply {
    let who = go_quote(&username(user));
    let qualified = if group.is_empty() {
        resource.to_owned()
    } else {
        format!("{resource}.{group}")
    };
    let (message, details) = match target {
        None => (
            format!(
                "{qualified} is forbidden: User {who} cannot {verb} resource {} in API group {} at the cluster scope",
                go_quote(resource),
                go_quote(group)
            ),
            json!({"group": group, "kind": resource}),
        ),
        Some((namespace, name)) => (
            format!(
                "{qualified} {} is forbidden: User {who} cannot {verb} resource {} in API group {} in the namespace {}",
                go_quote(name),
                go_quote(resource),
                go_quote(group),
                go_quote(namespace)
            ),
            json!({"name": name, "kind": resource}),
        ),
    };
    status(403, "Forbidden", &message, Some(details))
}

pub(super) fn fault_reply(code: u16) -> Reply {
    if code == 500 {
        let details = json!({"causes": [{"message": "injected fault"}]});
        return status(
            500,
            "InternalError",
            "Internal error occurred: injected fault",
            Some(details),
        );
    }
    let reason = match code {
        400 => "BadRequest",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "NotFound",
        409 => "Conflict",
        429 => "TooManyRequests",
        503 => "ServiceUnavailable",
        504 => "Timeout",
        _ => "",
    };
    status(code, reason, "injected fault", Some(json!({})))
}

fn rfc3339(seconds: i64) -> String {
    OffsetDateTime::from_unix_timestamp(seconds)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_default()
}

/// go-restful's Accept matching: empty or `*/*` matches, else an exact media type.
fn accepts(headers: &HeaderMap, produces: &str) -> bool {
    let accept = headers
        .get(ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    accept.trim().is_empty()
        || accept.split(',').any(|part| {
            let mime = part.split(';').next().unwrap_or("").trim();
            mime == "*/*" || mime == produces
        })
}

pub(super) async fn token_review(
    shared: &Shared,
    user: Option<&UserInfo>,
    request: Request<Incoming>,
) -> Reply {
    let allowed = shared.cluster().allowed(
        user_key(user).as_ref(),
        "create",
        "authentication.k8s.io",
        "tokenreviews",
    );
    if !allowed {
        return forbidden(
            user,
            "create",
            "authentication.k8s.io",
            "tokenreviews",
            None,
        );
    }
    let content_type = request
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if !content_type.is_empty() && content_type != "application/json" {
        let message = "the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf";
        return status(415, "UnsupportedMediaType", message, Some(json!({})));
    }
    let user_agent = request
        .headers()
        .get(USER_AGENT)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .unwrap_or_default();
    let body = match Limited::new(request.into_body(), BODY_LIMIT)
        .collect()
        .await
    {
        Ok(body) => body.to_bytes(),
        Err(err) => {
            return status(
                400,
                "BadRequest",
                &format!("error reading request body: {err}"),
                None,
            );
        }
    };
    let parsed: Value = match serde_json::from_slice(&body) {
        Ok(parsed) => parsed,
        Err(err) => {
            let message = format!("couldn't get version/kind; json parse error: {err}");
            return status(400, "BadRequest", &message, None);
        }
    };
    let spec = parsed.get("spec").cloned().unwrap_or(Value::Null);
    let token = spec.get("token").and_then(Value::as_str).unwrap_or("");
    if token.is_empty() {
        return status(
            400,
            "BadRequest",
            "token is required for TokenReview in authentication",
            None,
        );
    }
    let audiences: Vec<String> = spec
        .get("audiences")
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(|a| a.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();

    let now = shared.now();
    let outcome = {
        let cluster = shared.cluster();
        review(
            &cluster,
            &shared.issuer,
            &shared.api_audiences,
            now,
            token,
            &audiences,
        )
    };
    let status = match outcome {
        Ok(authenticated) => {
            let user = &authenticated.user;
            let mut info =
                json!({"username": user.username(), "uid": user.uid, "groups": user.groups()});
            if !user.extra.is_empty() {
                info["extra"] = json!(user.extra);
            }
            let mut status = json!({"authenticated": true, "user": info});
            if !authenticated.audiences.is_empty() {
                status["audiences"] = json!(authenticated.audiences);
            }
            status
        }
        Err(failure) => json!({"user": {}, "error": failure.status_error()}),
    };
    let mut echo = json!({"token": token});
    let mut fields = json!({});
    if !audiences.is_empty() {
        echo["audiences"] = json!(audiences);
        fields["f:audiences"] = json!({});
    }
    fields["f:token"] = json!({});
    let mut managed = json!({});
    let manager: String = user_agent
        .split('/')
        .next()
        .unwrap_or("")
        .chars()
        .filter(|c| !c.is_control())
        .take(128)
        .collect();
    if !manager.is_empty() {
        managed["manager"] = json!(manager);
    }
    for (name, value) in [
        ("operation", json!("Update")),
        ("apiVersion", json!("authentication.k8s.io/v1")),
        ("time", json!(rfc3339(now))),
        ("fieldsType", json!("FieldsV1")),
        ("fieldsV1", json!({"f:spec": fields})),
    ] {
        managed[name] = value;
    }
    let body = json!({
        "kind": "TokenReview",
        "apiVersion": "authentication.k8s.io/v1",
        "metadata": {"creationTimestamp": null, "managedFields": [managed]},
        "spec": echo,
        "status": status,
    });
    api(201, &body)
}

pub(super) fn get_namespace(shared: &Shared, user: Option<&UserInfo>, name: &str) -> Reply {
    let cluster = shared.cluster();
    if !cluster.allowed(user_key(user).as_ref(), "get", "", "namespaces") {
        return forbidden(user, "get", "", "namespaces", Some((name, name)));
    }
    let Some(namespace) = cluster.namespaces.get(name) else {
        return not_found("namespaces", name);
    };
    let body = json!({
        "kind": "Namespace",
        "apiVersion": "v1",
        "metadata": {
            "name": name,
            "uid": namespace.uid,
            "resourceVersion": namespace.resource_version.to_string(),
            "creationTimestamp": rfc3339(namespace.created),
            "labels": namespace.labels,
        },
        "spec": {"finalizers": ["kubernetes"]},
        "status": {"phase": "Active"},
    });
    api(200, &body)
}

pub(super) fn get_service_account(
    shared: &Shared,
    user: Option<&UserInfo>,
    namespace: &str,
    name: &str,
) -> Reply {
    let cluster = shared.cluster();
    if !cluster.allowed(user_key(user).as_ref(), "get", "", "serviceaccounts") {
        return forbidden(user, "get", "", "serviceaccounts", Some((namespace, name)));
    }
    let Some(sa) = cluster
        .service_accounts
        .get(&(namespace.to_owned(), name.to_owned()))
    else {
        return not_found("serviceaccounts", name);
    };
    let mut metadata = json!({
        "name": name,
        "namespace": namespace,
        "uid": sa.uid,
        "resourceVersion": sa.resource_version.to_string(),
        "creationTimestamp": rfc3339(sa.created),
    });
    if !sa.annotations.is_empty() {
        metadata["annotations"] = json!(sa.annotations);
    }
    let mut body = json!({"kind": "ServiceAccount", "apiVersion": "v1", "metadata": metadata});
    if !sa.secrets.is_empty() {
        let secrets: Vec<Value> = sa.secrets.iter().map(|s| json!({"name": s})).collect();
        body["secrets"] = json!(secrets);
    }
    api(200, &body)
}

/// `/.well-known/openid-configuration` and `/openid/v1/jwks`.
pub(super) fn oidc(
    shared: &Shared,
    user: Option<&UserInfo>,
    headers: &HeaderMap,
    jwks: bool,
) -> Reply {
    let path = if jwks {
        "/openid/v1/jwks"
    } else {
        "/.well-known/openid-configuration"
    };
    let cluster = shared.cluster();
    if !cluster.discovery_allowed(user_key(user).as_ref()) {
        let message = format!(
            "forbidden: User {} cannot get path {}",
            go_quote(&username(user)),
            go_quote(path)
        );
        return status(403, "Forbidden", &message, Some(json!({})));
    }
    // The apiserver serves discovery only for an https issuer URL.
    if !shared.issuer.starts_with("https://") {
        return no_route();
    }
    let produces = if jwks {
        "application/jwk-set+json"
    } else {
        "application/json"
    };
    if !accepts(headers, produces) {
        return status(406, "NotAcceptable", "406: Not Acceptable", Some(json!({})));
    }
    let body = if jwks {
        let keys: Vec<Value> = cluster.keys.iter().map(|k| k.public_jwk()).collect();
        json!({"keys": keys})
    } else {
        let mut algs: Vec<&str> = cluster.keys.iter().map(|k| k.alg().as_str()).collect();
        algs.sort_unstable();
        algs.dedup();
        json!({
            "issuer": shared.issuer,
            "jwks_uri": shared.jwks_uri,
            "response_types_supported": ["id_token"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": algs,
        })
    };
    reply(200, produces, "public, max-age=3600", &body)
}
