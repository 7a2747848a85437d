//! Parameter constraints: Vault's `valueInAllowedParameterList`, `valueInDeniedParameterList`,
//! `valueInParameterList` (current `vault/acl.go`) and `strutil.GlobbedStringsMatch`.

use serde_json::Value;

/// go-secure-stdlib's `GlobbedStringsMatch`: `item` may start and/or end with `*`. An item
/// shorter than two characters matches only itself, so `"*"` alone matches only `"*"`.
pub(crate) fn globbed_strings_match(item: &str, val: &str) -> bool {
    if item.len() < 2 {
        return val == item;
    }
    let (prefix, suffix) = (item.starts_with('*'), item.ends_with('*'));
    match (prefix, suffix) {
        (true, true) => val.contains(&item[1..item.len() - 1]),
        (true, false) => val.ends_with(&item[1..]),
        (false, true) => val.starts_with(&item[..item.len() - 1]),
        (false, false) => val == item,
    }
}

/// `reflect.DeepEqual`, except that numbers compare by value (warden: a policy's `5` matches a
/// request's `5`, which never happens in Vault, whose JSON numbers are `json.Number`).
fn deep_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

/// `valueInParameterList`: strings glob-match, `null` matches `null`, anything else must be
/// equal.
fn in_list(value: &Value, list: &[Value]) -> bool {
    list.iter().any(|el| match (el, value) {
        (Value::Null, _) | (_, Value::Null) => el == value,
        (Value::String(item), Value::String(val)) => globbed_strings_match(item, val),
        (Value::String(_), _) => false,
        _ => deep_equal(el, value),
    })
}

/// `parseutil.ParseCommaStringSlice` on a string: `""` is no element, otherwise split on `,`
/// with each element trimmed.
fn comma_elements(text: &str) -> Vec<Value> {
    if text.is_empty() {
        return Vec::new();
    }
    text.split(',')
        .map(|part| Value::String(part.trim().to_owned()))
        .collect()
}

/// Whether `value` is allowed by `list`: an empty list allows anything; a list (or a comma
/// string) is allowed when every element is.
pub(crate) fn allowed(value: &Value, list: &[Value]) -> bool {
    if list.is_empty() || in_list(value, list) {
        return true;
    }
    match value {
        Value::Array(items) => items.iter().all(|v| in_list(v, list)),
        Value::String(text) => comma_elements(text).iter().all(|v| in_list(v, list)),
        _ => false,
    }
}

/// Whether `value` is denied by `list`: an empty list denies anything; a list (or a comma
/// string) is denied when any element is.
pub(crate) fn denied(value: &Value, list: &[Value]) -> bool {
    if list.is_empty() || in_list(value, list) {
        return true;
    }
    match value {
        Value::Array(items) => items.iter().any(|v| in_list(v, list)),
        Value::String(text) => comma_elements(text).iter().any(|v| in_list(v, list)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn globbing_is_vaults() {
        assert!(globbed_strings_match("foo", "foo"));
        assert!(!globbed_strings_match("foo", "foobar"));
        assert!(globbed_strings_match("foo*", "foobar"));
        assert!(globbed_strings_match("*bar", "foobar"));
        assert!(globbed_strings_match("*ob*", "foobar"));
        assert!(!globbed_strings_match("*x*", "foobar"));
        assert!(globbed_strings_match("*", "*"));
        assert!(!globbed_strings_match("*", "anything"));
        assert!(globbed_strings_match("**", "anything"));
    }

    #[test]
    fn allowed_and_denied_lists() {
        let list = [json!("a"), json!("b*"), json!(true), json!(5)];
        assert!(allowed(&json!("a"), &list));
        assert!(allowed(&json!("bee"), &list));
        assert!(allowed(&json!(true), &list));
        assert!(allowed(&json!(5.0), &list));
        assert!(!allowed(&json!("c"), &list));
        assert!(allowed(&json!(["a", "bx"]), &list));
        assert!(!allowed(&json!(["a", "c"]), &list));
        assert!(allowed(&json!("a, bz"), &list));
        assert!(!allowed(&json!("a,c"), &list));
        assert!(allowed(&json!("anything"), &[]));
        assert!(denied(&json!("anything"), &[]));
        assert!(denied(&json!(["c", "a"]), &list));
        assert!(denied(&json!("c,a"), &list));
        assert!(!denied(&json!(["c"]), &list));
        assert!(in_list(&Value::Null, &[Value::Null]));
        assert!(!in_list(&json!("x"), &[Value::Null]));
    }
}
