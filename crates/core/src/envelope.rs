//! Vault's JSON response envelope. The HTTP layer sends it; response wrapping stores it in
//! the wrapping token's cubbyhole so that `sys/wrapping/unwrap` can return it verbatim.

use serde_json::{Map, Value, json};
use warden_logical::{Auth, Response, WrapInfo};

/// Legacy sys routes whose `data` keys Vault also copies to the top level of the body.
pub fn injects_data(path: &str) -> bool {
    const PREFIXES: [&str; 10] = [
        "sys/audit",
        "sys/auth",
        "sys/capabilities",
        "sys/config/auditing/request-headers",
        "sys/mounts",
        "sys/policy",
        "sys/rotate",
        "sys/wrapping/wrap",
        "sys/remount",
        "sys/rekey/backup",
    ];
    const EXACT: [&str; 3] = ["sys/config/cors", "sys/ha-status", "sys/key-status"];
    PREFIXES.iter().any(|prefix| path.starts_with(prefix)) || EXACT.contains(&path)
}

/// The `auth` block of a login or token-creation response (Vault's `HTTPAuth`).
pub fn auth_block(auth: &Auth) -> Value {
    let metadata = if auth.metadata.is_empty() {
        Value::Null
    } else {
        json!(auth.metadata)
    };
    let mut block = Map::new();
    block.insert(
        "client_token".into(),
        json!(
            auth.client_token
                .as_ref()
                .map(|t| t.expose())
                .unwrap_or_default()
        ),
    );
    block.insert("accessor".into(), json!(auth.accessor));
    block.insert("policies".into(), json!(auth.policies));
    block.insert("token_policies".into(), json!(auth.token_policies));
    if !auth.identity_policies.is_empty() {
        block.insert("identity_policies".into(), json!(auth.identity_policies));
    }
    block.insert("metadata".into(), metadata);
    block.insert("lease_duration".into(), json!(auth.lease.ttl.as_secs()));
    block.insert("renewable".into(), json!(auth.lease.renewable));
    block.insert("entity_id".into(), json!(auth.entity_id));
    block.insert("token_type".into(), json!(auth.token_type.as_str()));
    block.insert("orphan".into(), json!(auth.orphan));
    block.insert("mfa_requirement".into(), Value::Null);
    block.insert("num_uses".into(), json!(auth.num_uses.max(0)));
    Value::Object(block)
}

/// The `wrap_info` object.
pub fn wrap_info_block(info: &WrapInfo) -> Value {
    json!({
        "token": info.token.expose(),
        "accessor": info.accessor,
        "ttl": info.ttl.as_secs(),
        "creation_time": info.creation_time,
        "creation_path": info.creation_path,
        "wrapped_accessor": info.wrapped_accessor,
    })
}

/// The whole body of a successful response: `{request_id, lease_id, renewable,
/// lease_duration, data, wrap_info, warnings, auth, mount_type}` (plus the legacy top-level
/// copy of `data` on some sys routes). A wrapped response shows only its `wrap_info`, with
/// an empty `request_id`, as Vault does.
pub fn envelope(request_id: &str, path: &str, mount_type: &str, resp: &Response) -> Value {
    envelope_with_data(request_id, path, mount_type, resp, resp.data.clone())
}

/// [`envelope`] with the response's `data` handed over (taken out of `resp` by a caller that
/// owns it), so that it is moved into the body rather than copied.
pub fn envelope_with_data(
    request_id: &str,
    path: &str,
    mount_type: &str,
    resp: &Response,
    data: Option<warden_logical::Map>,
) -> Value {
    if let Some(info) = &resp.wrap_info {
        return json!({
            "request_id": "",
            "lease_id": "",
            "renewable": false,
            "lease_duration": 0,
            "data": null,
            "wrap_info": wrap_info_block(info),
            "warnings": if resp.warnings.is_empty() { Value::Null } else { json!(resp.warnings) },
            "auth": null,
            "mount_type": "",
        });
    }
    let (lease_id, renewable, lease_duration) = match &resp.secret {
        Some(secret) => (
            secret.lease_id.clone(),
            secret.lease.renewable,
            secret.lease.ttl.as_secs(),
        ),
        None => (String::new(), false, 0),
    };
    let warnings = if resp.warnings.is_empty() {
        Value::Null
    } else {
        json!(resp.warnings)
    };
    let mut body = Map::new();
    if injects_data(path)
        && let Some(data) = &data
    {
        for (key, value) in data {
            body.insert(key.clone(), value.clone());
        }
    }
    body.insert("request_id".into(), json!(request_id));
    body.insert("lease_id".into(), json!(lease_id));
    body.insert("renewable".into(), json!(renewable));
    body.insert("lease_duration".into(), json!(lease_duration));
    body.insert("data".into(), data.map_or(Value::Null, Value::Object));
    body.insert("wrap_info".into(), Value::Null);
    body.insert("warnings".into(), warnings);
    body.insert(
        "auth".into(),
        resp.auth.as_ref().map_or(Value::Null, auth_block),
    );
    body.insert("mount_type".into(), json!(mount_type));
    Value::Object(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legacy_sys_routes_inject_data() {
        assert!(injects_data("sys/mounts"));
        assert!(injects_data("sys/auth/kubernetes/tune"));
        assert!(injects_data("sys/key-status"));
        assert!(!injects_data("sys/internal/ui/mounts/secret"));
        assert!(!injects_data("secret/foo"));
    }

    #[test]
    fn envelope_has_every_key_clients_require() {
        let body = envelope("id-1", "secret/x", "kv", &Response::default());
        for key in [
            "request_id",
            "lease_id",
            "renewable",
            "lease_duration",
            "data",
            "wrap_info",
            "warnings",
            "auth",
            "mount_type",
        ] {
            assert!(body.get(key).is_some(), "missing {key}");
        }
    }
}
