//! mapstructure's weakly typed decoding (`WeakDecode`, v1.5) as Vault's field types use it,
//! plus the list, map and header shapes of `field_data.go`.
//!
//! `name` is mapstructure's path of the value being decoded: `""` at the top, `"[0]"` for
//! the first list item, `"[key]"` for a map entry. It appears in the error messages.

use base64::Engine as _;
use serde_json::{Map, Value};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::framework::go;

fn unconvertible(name: &str, go_type: &str, raw: &Value) -> String {
    format!(
        "'{name}' expected type '{go_type}', got unconvertible type '{}', value: '{}'",
        go::type_name(raw),
        go::format_value(raw)
    )
}

/// mapstructure's `*Error` for errors gathered while decoding a list or map.
fn decoding_errors(mut errors: Vec<String>) -> String {
    let count = errors.len();
    for error in &mut errors {
        *error = format!("* {error}");
    }
    errors.sort();
    format!("{count} error(s) decoding:\n\n{}", errors.join("\n"))
}

/// Decoding into a Go `string`.
pub(super) fn weak_string(name: &str, raw: &Value) -> Result<String, String> {
    match raw {
        Value::Null => Ok(String::new()),
        Value::Bool(b) => Ok(if *b { "1" } else { "0" }.to_owned()),
        Value::String(_) | Value::Number(_) => Ok(go::string_kind(raw).unwrap_or_default()),
        Value::Array(_) | Value::Object(_) => Err(unconvertible(name, "string", raw)),
    }
}

/// Decoding into a Go `int`/`int64` (`strconv.ParseInt(s, 0, 64)` for strings and numbers).
pub(super) fn weak_int(name: &str, go_type: &str, raw: &Value) -> Result<i64, String> {
    match raw {
        Value::Null => Ok(0),
        Value::Bool(b) => Ok(i64::from(*b)),
        Value::String(_) | Value::Number(_) => {
            let text = go::string_kind(raw).unwrap_or_default();
            let text = if text.is_empty() {
                "0".to_owned()
            } else {
                text
            };
            go::parse_int(&text, true).map_err(|err| format!("cannot parse '{name}' as int: {err}"))
        }
        Value::Array(_) | Value::Object(_) => Err(unconvertible(name, go_type, raw)),
    }
}

/// Decoding into a Go `bool` (`strconv.ParseBool`, the empty string is false).
pub(super) fn weak_bool(name: &str, raw: &Value) -> Result<bool, String> {
    match raw {
        Value::Null => Ok(false),
        Value::Bool(b) => Ok(*b),
        Value::String(_) | Value::Number(_) => {
            let text = go::string_kind(raw).unwrap_or_default();
            match go::parse_bool(&text) {
                Ok(b) => Ok(b),
                Err(_) if text.is_empty() => Ok(false),
                Err(err) => Err(format!("cannot parse '{name}' as bool: {err}")),
            }
        }
        Value::Array(_) | Value::Object(_) => Err(unconvertible(name, "bool", raw)),
    }
}

/// Decoding into a Go `float64`.
pub(super) fn float(raw: &Value) -> Result<Value, String> {
    let value = match raw {
        Value::Null => 0.0,
        Value::Bool(b) => f64::from(u8::from(*b)),
        Value::String(_) | Value::Number(_) => {
            let text = go::string_kind(raw).unwrap_or_default();
            let text = if text.is_empty() {
                "0".to_owned()
            } else {
                text
            };
            go::parse_float(&text).map_err(|err| format!("cannot parse '' as float: {err}"))?
        }
        Value::Array(_) | Value::Object(_) => return Err(unconvertible("", "float64", raw)),
    };
    serde_json::Number::from_f64(value)
        .map(Value::Number)
        .ok_or_else(|| format!("cannot parse '' as float: {}", go::format_value(raw)))
}

/// Decoding into a Go `map[string]interface{}`: an object is taken as is; a list of objects
/// is merged in order (mapstructure's `decodeMapFromSlice`); `null` is an empty map.
pub(super) fn weak_map(
    name: &str,
    raw: &Value,
    mut acc: Map<String, Value>,
) -> Result<Map<String, Value>, String> {
    match raw {
        Value::Null => Ok(acc),
        Value::Object(map) => {
            acc.extend(map.iter().map(|(k, v)| (k.clone(), v.clone())));
            Ok(acc)
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                acc = weak_map(&format!("{name}[{i}]"), item, acc)?;
            }
            Ok(acc)
        }
        Value::Bool(_) | Value::String(_) | Value::Number(_) => Err(format!(
            "'{name}' expected a map, got '{}'",
            go::kind_name(raw)
        )),
    }
}

/// The items mapstructure's `decodeSlice` walks: a list's items; an empty map is no items;
/// any other value (a non-empty map included) is lifted into a one-item list.
fn slice_items(raw: &Value) -> Vec<Value> {
    match raw {
        Value::Null => Vec::new(),
        Value::Array(items) => items.clone(),
        Value::Object(map) if map.is_empty() => Vec::new(),
        other => vec![other.clone()],
    }
}

/// Decodes each item with `decode`, gathering errors like mapstructure.
fn decode_items<T>(
    items: &[Value],
    mut decode: impl FnMut(&str, &Value) -> Result<T, String>,
) -> Result<Vec<T>, String> {
    let mut out = Vec::with_capacity(items.len());
    let mut errors = Vec::new();
    for (i, item) in items.iter().enumerate() {
        match decode(&format!("[{i}]"), item) {
            Ok(value) => out.push(value),
            Err(err) => errors.push(err),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(decoding_errors(errors))
    }
}

fn string_list(strings: Vec<String>) -> Value {
    Value::Array(strings.into_iter().map(Value::String).collect())
}

/// `TypeSlice`: items are kept as sent.
pub(super) fn slice(raw: &Value) -> Value {
    Value::Array(slice_items(raw))
}

/// `TypeStringSlice`: the empty string is an empty list; items trimmed; no comma splitting.
pub(super) fn string_slice(raw: &Value) -> Result<Value, String> {
    if raw.as_str() == Some("") {
        return Ok(Value::Array(Vec::new()));
    }
    let strings = decode_items(&slice_items(raw), weak_string)?;
    Ok(string_list(
        strings.iter().map(|s| s.trim().to_owned()).collect(),
    ))
}

/// mapstructure's `StringToSliceHookFunc(",")` on a string or `json.Number`: `""` is no
/// items, otherwise the comma-separated parts (not trimmed).
fn comma_items(raw: &Value) -> Vec<Value> {
    match go::string_kind(raw) {
        Some(text) if text.is_empty() => Vec::new(),
        Some(text) => text
            .split(',')
            .map(|part| Value::String(part.to_owned()))
            .collect(),
        None => slice_items(raw),
    }
}

/// `TypeCommaStringSlice` (`parseutil.ParseCommaStringSlice`): items trimmed, empty items kept.
pub(super) fn comma_string_slice(raw: &Value) -> Result<Value, String> {
    let strings = decode_items(&comma_items(raw), weak_string)?;
    Ok(string_list(
        strings.iter().map(|s| s.trim().to_owned()).collect(),
    ))
}

/// `TypeCommaIntSlice`: parts are not trimmed (`"1, 2"` fails); an empty part is 0.
pub(super) fn comma_int_slice(raw: &Value) -> Result<Value, String> {
    let ints = decode_items(&comma_items(raw), |name, item| weak_int(name, "int", item))?;
    Ok(Value::Array(ints.into_iter().map(Value::from).collect()))
}

/// Decoding into a Go `map[string]string`.
fn string_map(
    name: &str,
    raw: &Value,
    mut acc: Map<String, Value>,
) -> Result<Map<String, Value>, String> {
    match raw {
        Value::Null => Ok(acc),
        Value::Object(map) => {
            let mut errors = Vec::new();
            for (key, value) in map {
                match weak_string(&format!("{name}[{key}]"), value) {
                    Ok(text) => {
                        acc.insert(key.clone(), Value::String(text));
                    }
                    Err(err) => errors.push(err),
                }
            }
            if errors.is_empty() {
                Ok(acc)
            } else {
                Err(decoding_errors(errors))
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                acc = string_map(&format!("{name}[{i}]"), item, acc)?;
            }
            Ok(acc)
        }
        Value::Bool(_) | Value::String(_) | Value::Number(_) => Err(format!(
            "'{name}' expected a map, got '{}'",
            go::kind_name(raw)
        )),
    }
}

/// `TypeKVPairs`: an object of strings, else a list of `key=value` strings.
pub(super) fn kv_pairs(raw: &Value) -> Result<Value, String> {
    if let Ok(map) = string_map("", raw, Map::new()) {
        return Ok(Value::Object(map));
    }
    let pairs = decode_items(&slice_items(raw), weak_string)?;
    let mut map = Map::new();
    for pair in pairs {
        match pair.split_once('=') {
            Some((key, value)) if !key.is_empty() => {
                map.insert(key.to_owned(), Value::String(value.to_owned()));
            }
            _ => return Err(format!("invalid key pair {}", go::quote(&pair))),
        }
    }
    Ok(Value::Object(map))
}

/// Go's `textproto.CanonicalMIMEHeaderKey`.
fn canonical_header_key(key: &str) -> String {
    let token = |c: u8| c.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&c);
    if !key.bytes().all(token) {
        return key.to_owned();
    }
    let mut upper = true;
    key.bytes()
        .map(|c| {
            let out = if upper {
                c.to_ascii_uppercase()
            } else {
                c.to_ascii_lowercase()
            };
            upper = c == b'-';
            char::from(out)
        })
        .collect()
}

fn add_header(header: &mut Map<String, Value>, key: &str, value: String) {
    let entry = header
        .entry(canonical_header_key(key))
        .or_insert_with(|| Value::Array(Vec::new()));
    if let Value::Array(values) = entry {
        values.push(Value::String(value));
    }
}

/// `toHeader` of `field_data.go`: values are strings, numbers, or lists of those.
fn to_header(map: &Map<String, Value>) -> Result<Value, String> {
    let mut header = Map::new();
    for (key, group) in map {
        match group {
            Value::String(_) | Value::Number(_) => {
                add_header(&mut header, key, go::string_kind(group).unwrap_or_default());
            }
            Value::Array(items) => {
                for item in items {
                    let Some(text) = go::string_kind(item) else {
                        return Err(format!(
                            "received non-string value for header key:{key}, val:{}",
                            go::format_value(group)
                        ));
                    };
                    add_header(&mut header, key, text);
                }
            }
            Value::Null | Value::Bool(_) | Value::Object(_) => {
                return Err(format!("unrecognized type for {}", go::format_value(group)));
            }
        }
    }
    Ok(Value::Object(header))
}

/// `TypeHeader`: an object; a JSON object in a string, maybe base64-encoded; or a list of
/// `Key:value` strings (from the CLI).
pub(super) fn header(raw: &Value) -> Result<Value, String> {
    if let Ok(map) = weak_map("", raw, Map::new()) {
        return to_header(&map);
    }
    if let Value::String(text) = raw {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(text)
            .unwrap_or_else(|_| text.clone().into_bytes());
        let map: Map<String, Value> =
            serde_json::from_slice(&bytes).map_err(|err| err.to_string())?;
        return to_header(&map);
    }
    let mut header = Map::new();
    for item in slice_items(raw) {
        let Value::String(pair) = item else {
            return Err(format!("invalid key pair {}", go::quote("")));
        };
        match pair.split_once(':') {
            Some((key, value)) if !key.is_empty() => add_header(&mut header, key, value.to_owned()),
            _ => return Err(format!("invalid key pair {}", go::quote(&pair))),
        }
    }
    Ok(Value::Object(header))
}

/// `TypeTime` (`parseutil.ParseAbsoluteTime`), as an RFC 3339 string in UTC.
pub(super) fn time(raw: &Value) -> Result<Option<String>, String> {
    let instant = match raw {
        Value::Null => return Ok(None),
        Value::String(text) => match OffsetDateTime::parse(text, &Rfc3339) {
            Ok(instant) => instant,
            Err(_) => go::parse_int(text, false)
                .ok()
                .and_then(|epoch| OffsetDateTime::from_unix_timestamp(epoch).ok())
                .ok_or_else(|| "could not parse string as date and time".to_owned())?,
        },
        Value::Number(n) => {
            let epoch = go::parse_int(&go::number_text(n), false)?;
            OffsetDateTime::from_unix_timestamp(epoch)
                .map_err(|_| "could not parse time from input type".to_owned())?
        }
        Value::Bool(_) | Value::Array(_) | Value::Object(_) => {
            return Err("could not parse time from input type".to_owned());
        }
    };
    instant
        .to_offset(time::UtcOffset::UTC)
        .format(&Rfc3339)
        .map(Some)
        .map_err(|err| err.to_string())
}
