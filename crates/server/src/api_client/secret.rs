//! The Go client's `api.Secret`: the response envelope as a typed value, and back to JSON in
//! Go's field order (maps sorted, as `encoding/json` writes them).

use serde_json::{Map, Value, json};

/// The envelope of a logical response.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Secret {
    /// `request_id`.
    pub request_id: String,
    /// `lease_id`.
    pub lease_id: String,
    /// `lease_duration` in seconds.
    pub lease_duration: i64,
    /// `renewable`.
    pub renewable: bool,
    /// `data` (`None` for `null`).
    pub data: Option<Map<String, Value>>,
    /// `warnings` (`None` for `null`).
    pub warnings: Option<Vec<String>>,
    /// `auth`.
    pub auth: Option<SecretAuth>,
    /// `wrap_info`.
    pub wrap_info: Option<WrapInfo>,
    /// `mount_type` (Vault only).
    pub mount_type: String,
}

/// The `auth` block.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SecretAuth {
    /// `client_token`.
    pub client_token: String,
    /// `accessor`.
    pub accessor: String,
    /// `policies`.
    pub policies: Option<Vec<String>>,
    /// `token_policies`.
    pub token_policies: Option<Vec<String>>,
    /// `identity_policies`.
    pub identity_policies: Option<Vec<String>>,
    /// `metadata`.
    pub metadata: Option<Map<String, Value>>,
    /// `orphan`.
    pub orphan: bool,
    /// `entity_id`.
    pub entity_id: String,
    /// `lease_duration` in seconds.
    pub lease_duration: i64,
    /// `renewable`.
    pub renewable: bool,
    /// `mfa_requirement`, kept as sent.
    pub mfa_requirement: Value,
}

/// The `wrap_info` block.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WrapInfo {
    /// `token`.
    pub token: String,
    /// `accessor`.
    pub accessor: String,
    /// `ttl` in seconds.
    pub ttl: i64,
    /// `creation_time` (RFC 3339).
    pub creation_time: String,
    /// `creation_path`.
    pub creation_path: String,
    /// `wrapped_accessor`.
    pub wrapped_accessor: String,
}

fn string(object: &Map<String, Value>, key: &str) -> String {
    object
        .get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

fn int(object: &Map<String, Value>, key: &str) -> i64 {
    match object.get(key) {
        Some(Value::Number(n)) => n
            .as_i64()
            .or_else(|| n.as_f64().map(|f| f as i64))
            .unwrap_or_default(),
        _ => 0,
    }
}

fn boolean(object: &Map<String, Value>, key: &str) -> bool {
    object.get(key).and_then(Value::as_bool).unwrap_or_default()
}

fn strings(object: &Map<String, Value>, key: &str) -> Option<Vec<String>> {
    object.get(key).and_then(Value::as_array).map(|items| {
        items
            .iter()
            .filter_map(|i| i.as_str().map(str::to_owned))
            .collect()
    })
}

fn map(object: &Map<String, Value>, key: &str) -> Option<Map<String, Value>> {
    object.get(key).and_then(Value::as_object).cloned()
}

fn opt_strings(value: &Option<Vec<String>>) -> Value {
    value.as_ref().map_or(Value::Null, |v| json!(v))
}

/// A copy of `value` with every object's keys sorted, as Go marshals `map[string]any`.
pub fn sorted_keys(value: &Value) -> Value {
    match value {
        Value::Object(object) => {
            let mut keys: Vec<&String> = object.keys().collect();
            keys.sort();
            Value::Object(
                keys.into_iter()
                    .map(|k| (k.clone(), sorted_keys(&object[k])))
                    .collect(),
            )
        }
        Value::Array(items) => Value::Array(items.iter().map(sorted_keys).collect()),
        other => other.clone(),
    }
}

impl Secret {
    /// `api.ParseSecret`: an empty body is `None`; anything else must be a JSON object.
    pub fn parse(body: &[u8]) -> Result<Option<Self>, String> {
        if body.is_empty() {
            return Ok(None);
        }
        let value: Value = serde_json::from_slice(body).map_err(|e| e.to_string())?;
        match value {
            Value::Object(object) => Ok(Some(Self::from_object(&object))),
            Value::Null => Ok(Some(Self::default())),
            _ => Err("json: cannot unmarshal into Go value of type api.Secret".into()),
        }
    }

    /// The envelope from a decoded JSON object.
    pub fn from_object(object: &Map<String, Value>) -> Self {
        let auth = object
            .get("auth")
            .and_then(Value::as_object)
            .map(|a| SecretAuth {
                client_token: string(a, "client_token"),
                accessor: string(a, "accessor"),
                policies: strings(a, "policies"),
                token_policies: strings(a, "token_policies"),
                identity_policies: strings(a, "identity_policies"),
                metadata: map(a, "metadata"),
                orphan: boolean(a, "orphan"),
                entity_id: string(a, "entity_id"),
                lease_duration: int(a, "lease_duration"),
                renewable: boolean(a, "renewable"),
                mfa_requirement: a.get("mfa_requirement").cloned().unwrap_or(Value::Null),
            });
        let wrap_info = object
            .get("wrap_info")
            .and_then(Value::as_object)
            .map(|w| WrapInfo {
                token: string(w, "token"),
                accessor: string(w, "accessor"),
                ttl: int(w, "ttl"),
                creation_time: string(w, "creation_time"),
                creation_path: string(w, "creation_path"),
                wrapped_accessor: string(w, "wrapped_accessor"),
            });
        Self {
            request_id: string(object, "request_id"),
            lease_id: string(object, "lease_id"),
            lease_duration: int(object, "lease_duration"),
            renewable: boolean(object, "renewable"),
            data: map(object, "data"),
            warnings: strings(object, "warnings"),
            auth,
            wrap_info,
            mount_type: string(object, "mount_type"),
        }
    }

    /// Whether a 404 body counts as an answer: it has warnings or data.
    pub fn has_content(&self) -> bool {
        self.warnings.as_ref().is_some_and(|w| !w.is_empty())
            || self.data.as_ref().is_some_and(|d| !d.is_empty())
    }

    /// The `data` map, empty when there is none.
    pub fn data_map(&self) -> Map<String, Value> {
        self.data.clone().unwrap_or_default()
    }

    /// One `data` field.
    pub fn data_field(&self, key: &str) -> Option<&Value> {
        self.data.as_ref().and_then(|d| d.get(key))
    }

    /// The JSON the Go CLI prints for `-format=json`: `api.Secret`'s fields in order,
    /// `auth`, `wrap_info` and `mount_type` only when set.
    pub fn to_json(&self) -> Value {
        let mut out = Map::new();
        out.insert("request_id".into(), json!(self.request_id));
        out.insert("lease_id".into(), json!(self.lease_id));
        out.insert("lease_duration".into(), json!(self.lease_duration));
        out.insert("renewable".into(), json!(self.renewable));
        out.insert(
            "data".into(),
            self.data
                .as_ref()
                .map_or(Value::Null, |d| sorted_keys(&Value::Object(d.clone()))),
        );
        out.insert("warnings".into(), opt_strings(&self.warnings));
        if let Some(auth) = &self.auth {
            out.insert("auth".into(), auth.to_json());
        }
        if let Some(wrap) = &self.wrap_info {
            out.insert(
                "wrap_info".into(),
                json!({
                    "token": wrap.token,
                    "accessor": wrap.accessor,
                    "ttl": wrap.ttl,
                    "creation_time": wrap.creation_time,
                    "creation_path": wrap.creation_path,
                    "wrapped_accessor": wrap.wrapped_accessor,
                }),
            );
        }
        if !self.mount_type.is_empty() {
            out.insert("mount_type".into(), json!(self.mount_type));
        }
        Value::Object(out)
    }
}

impl SecretAuth {
    /// `api.SecretAuth` as Go marshals it.
    pub fn to_json(&self) -> Value {
        json!({
            "client_token": self.client_token,
            "accessor": self.accessor,
            "policies": opt_strings(&self.policies),
            "token_policies": opt_strings(&self.token_policies),
            "identity_policies": opt_strings(&self.identity_policies),
            "metadata": self.metadata.as_ref().map_or(Value::Null, |m| sorted_keys(&Value::Object(m.clone()))),
            "orphan": self.orphan,
            "entity_id": self.entity_id,
            "lease_duration": self.lease_duration,
            "renewable": self.renewable,
            "mfa_requirement": self.mfa_requirement,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_in_go_order() {
        let body = br#"{"request_id":"r","lease_id":"","renewable":false,"lease_duration":0,
            "data":{"b":1,"a":{"y":2,"x":1}},"wrap_info":null,"warnings":null,"auth":null}"#;
        let secret = Secret::parse(body).unwrap().unwrap();
        assert!(secret.has_content());
        let text = serde_json::to_string(&secret.to_json()).unwrap();
        assert_eq!(
            text,
            r#"{"request_id":"r","lease_id":"","lease_duration":0,"renewable":false,"data":{"a":{"x":1,"y":2},"b":1},"warnings":null}"#
        );
        assert_eq!(Secret::parse(b"").unwrap(), None);
        let empty = Secret::parse(br#"{"errors":[]}"#).unwrap().unwrap();
        assert!(!empty.has_content());
    }
}
