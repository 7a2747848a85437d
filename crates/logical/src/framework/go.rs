//! The pieces of Go's standard library whose behaviour (and error text) clients see through
//! Vault's field coercions: `strconv.ParseInt`/`ParseBool`/`ParseFloat`, `strconv.Quote`, and
//! `fmt`'s `%v` of a decoded JSON value.
//!
//! Vault decodes request bodies with `json.Decoder.UseNumber`, so every JSON number reaches the
//! coercions as a `json.Number` (a Go *string* kind holding the literal); [`number_text`] is that
//! literal here.

use serde_json::{Number, Value};

/// Why a `strconv` parse failed, as Go's `strconv.ErrSyntax` / `strconv.ErrRange`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NumErrorKind {
    /// `invalid syntax`
    Syntax,
    /// `value out of range`
    Range,
}

/// Formats a Go `*strconv.NumError`: `strconv.ParseInt: parsing "x": invalid syntax`.
pub(crate) fn num_error(func: &str, input: &str, kind: NumErrorKind) -> String {
    let reason = match kind {
        NumErrorKind::Syntax => "invalid syntax",
        NumErrorKind::Range => "value out of range",
    };
    format!("strconv.{func}: parsing {}: {reason}", quote(input))
}

/// Go's `strconv.ParseInt(s, base, 64)` for base 10 or base 0 (prefixes `0x`, `0o`, `0b`, a
/// leading `0` for octal, and `_` digit separators).
pub(crate) fn parse_int(s: &str, base0: bool) -> Result<i64, String> {
    let error = |kind| num_error("ParseInt", s, kind);
    let (negative, unsigned) = match s.as_bytes().first() {
        Some(b'+') => (false, &s[1..]),
        Some(b'-') => (true, &s[1..]),
        _ => (false, s),
    };
    let magnitude = parse_uint(unsigned, base0).map_err(error)?;
    const CUTOFF: u64 = 1 << 63;
    if negative {
        if magnitude > CUTOFF {
            return Err(error(NumErrorKind::Range));
        }
        Ok(0_i64.wrapping_sub_unsigned(magnitude))
    } else {
        i64::try_from(magnitude).map_err(|_| error(NumErrorKind::Range))
    }
}

/// Go's `strconv.ParseUint(s, base, 64)` for base 10 or base 0; errors carry only their kind.
fn parse_uint(s: &str, base0: bool) -> Result<u64, NumErrorKind> {
    if s.is_empty() {
        return Err(NumErrorKind::Syntax);
    }
    let bytes = s.as_bytes();
    let (base, digits): (u64, &[u8]) = if base0 && bytes[0] == b'0' {
        match bytes.get(1).map(u8::to_ascii_lowercase) {
            Some(b'b') if bytes.len() >= 3 => (2, &bytes[2..]),
            Some(b'o') if bytes.len() >= 3 => (8, &bytes[2..]),
            Some(b'x') if bytes.len() >= 3 => (16, &bytes[2..]),
            _ => (8, &bytes[1..]),
        }
    } else {
        (10, bytes)
    };
    let cutoff = u64::MAX / base + 1;
    let mut underscores = false;
    let mut n: u64 = 0;
    for &c in digits {
        let d = match c {
            b'_' if base0 => {
                underscores = true;
                continue;
            }
            b'0'..=b'9' => u64::from(c - b'0'),
            b'a'..=b'z' | b'A'..=b'Z' => u64::from(c.to_ascii_lowercase() - b'a') + 10,
            _ => return Err(NumErrorKind::Syntax),
        };
        if d >= base {
            return Err(NumErrorKind::Syntax);
        }
        if n >= cutoff {
            return Err(NumErrorKind::Range);
        }
        n = (n * base).checked_add(d).ok_or(NumErrorKind::Range)?;
    }
    if underscores && !underscore_ok(s) {
        return Err(NumErrorKind::Syntax);
    }
    Ok(n)
}

/// Go's `strconv.underscoreOK`: underscores only between digits (or after a base prefix).
fn underscore_ok(s: &str) -> bool {
    let mut bytes = s.as_bytes();
    if let Some(b'+' | b'-') = bytes.first() {
        bytes = &bytes[1..];
    }
    let mut saw = b'^';
    let mut i = 0;
    let mut hex = false;
    if bytes.len() >= 2
        && bytes[0] == b'0'
        && matches!(bytes[1].to_ascii_lowercase(), b'b' | b'o' | b'x')
    {
        i = 2;
        saw = b'0';
        hex = bytes[1].eq_ignore_ascii_case(&b'x');
    }
    for &c in &bytes[i..] {
        if c.is_ascii_digit() || (hex && c.is_ascii_hexdigit()) {
            saw = b'0';
            continue;
        }
        if c == b'_' {
            if saw != b'0' {
                return false;
            }
            saw = b'_';
            continue;
        }
        if saw == b'_' {
            return false;
        }
        saw = b'!';
    }
    saw != b'_'
}

/// Go's `strconv.ParseBool`.
pub(crate) fn parse_bool(s: &str) -> Result<bool, String> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Ok(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Ok(false),
        _ => Err(num_error("ParseBool", s, NumErrorKind::Syntax)),
    }
}

/// Go's `strconv.ParseFloat(s, 64)` for decimal input. Infinities and NaN, which Go accepts,
/// are refused as `invalid syntax` because they have no JSON form; hexadecimal floats and `_`
/// separators are refused too.
pub(crate) fn parse_float(s: &str) -> Result<f64, String> {
    let syntax = || num_error("ParseFloat", s, NumErrorKind::Syntax);
    let decimal = s
        .bytes()
        .all(|c| c.is_ascii_digit() || matches!(c, b'.' | b'e' | b'E' | b'+' | b'-'));
    if !decimal {
        return Err(syntax());
    }
    let value: f64 = s.parse().map_err(|_| syntax())?;
    if value.is_finite() {
        Ok(value)
    } else {
        Err(num_error("ParseFloat", s, NumErrorKind::Range))
    }
}

/// Go's `strconv.Quote` (what `%q` prints) for the characters requests carry.
pub(crate) fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            c if u32::from(c) < 0x20 || c == '\u{7f}' => {
                out.push_str(&format!("\\x{:02x}", u32::from(c)));
            }
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The literal of a JSON number, as Go's `json.Number` holds it.
pub(crate) fn number_text(n: &Number) -> String {
    n.to_string()
}

/// The text of a scalar that Go's weakly typed decoding reads as a string (`string` and
/// `json.Number`), or `None` for other kinds.
pub(crate) fn string_kind(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(number_text(n)),
        _ => None,
    }
}

/// Go's `%v` of a value decoded from JSON: `abc`, `1.5`, `true`, `<nil>`, `[a b]`, `map[k:v]`
/// (map keys sorted, as `fmt` prints them).
pub(crate) fn format_value(value: &Value) -> String {
    match value {
        Value::Null => "<nil>".to_owned(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => number_text(n),
        Value::String(s) => s.clone(),
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(format_value).collect();
            format!("[{}]", items.join(" "))
        }
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            let entries: Vec<String> = entries
                .into_iter()
                .map(|(k, v)| format!("{k}:{}", format_value(v)))
                .collect();
            format!("map[{}]", entries.join(" "))
        }
    }
}

/// The Go type name `reflect` prints for a value decoded from JSON.
pub(crate) fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "<nil>",
        Value::Bool(_) => "bool",
        Value::Number(_) => "json.Number",
        Value::String(_) => "string",
        Value::Array(_) => "[]interface {}",
        Value::Object(_) => "map[string]interface {}",
    }
}

/// The Go `reflect.Kind` name of a value decoded from JSON (`json.Number` is a string kind).
pub(crate) fn kind_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "invalid",
        Value::Bool(_) => "bool",
        Value::Number(_) | Value::String(_) => "string",
        Value::Array(_) => "slice",
        Value::Object(_) => "map",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_int_follows_strconv() {
        assert_eq!(parse_int("42", false), Ok(42));
        assert_eq!(parse_int("+7", false), Ok(7));
        assert_eq!(parse_int("-9223372036854775808", false), Ok(i64::MIN));
        assert_eq!(parse_int("0x1f", true), Ok(31));
        assert_eq!(parse_int("017", true), Ok(15));
        assert_eq!(parse_int("1_000", true), Ok(1000));
        assert_eq!(parse_int("0", true), Ok(0));
        assert_eq!(
            parse_int("1_000", false).unwrap_err(),
            r#"strconv.ParseInt: parsing "1_000": invalid syntax"#
        );
        assert_eq!(
            parse_int("_1", true).unwrap_err(),
            r#"strconv.ParseInt: parsing "_1": invalid syntax"#
        );
        assert_eq!(
            parse_int("9223372036854775808", false).unwrap_err(),
            r#"strconv.ParseInt: parsing "9223372036854775808": value out of range"#
        );
        assert_eq!(
            parse_int("", false).unwrap_err(),
            r#"strconv.ParseInt: parsing "": invalid syntax"#
        );
        assert_eq!(
            parse_int("08", true).unwrap_err(),
            r#"strconv.ParseInt: parsing "08": invalid syntax"#
        );
    }

    #[test]
    fn quote_and_format_follow_go() {
        assert_eq!(quote("a\"b\n"), r#""a\"b\n""#);
        assert_eq!(quote("é"), "\"é\"");
        let value = serde_json::json!({"b": [1, "x", null], "a": true});
        assert_eq!(format_value(&value), "map[a:true b:[1 x <nil>]]");
    }
}
