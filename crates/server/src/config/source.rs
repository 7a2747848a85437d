//! From configuration text to one tree: HCL and JSON both become a JSON object in the shape
//! Vault's HCL1 decoder gives them, so the typed parsing above sees a single form.
//!
//! HCL blocks become arrays of label-nested objects: `listener "tcp" { address = "x" }` turns into
//! `"listener": [{"tcp": {"address": "x"}}]`, which is also one of the JSON spellings Vault accepts.

use std::borrow::Cow;
use std::time::Duration;

use serde_json::{Map, Number, Value};

use super::duration;

/// A syntax error, with the position when the parser reports one.
#[derive(Debug)]
pub(crate) struct SyntaxError {
    pub(crate) line: Option<usize>,
    pub(crate) column: Option<usize>,
    pub(crate) message: String,
}

impl SyntaxError {
    fn plain(message: impl Into<String>) -> Self {
        Self {
            line: None,
            column: None,
            message: message.into(),
        }
    }
}

/// Parses JSON configuration text; the root must be an object.
pub(crate) fn parse_json(text: &str) -> Result<Map<String, Value>, SyntaxError> {
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(SyntaxError::plain(
            "the configuration must be a JSON object",
        )),
        Err(e) => Err(SyntaxError {
            line: Some(e.line()),
            column: Some(e.column()),
            message: e.to_string(),
        }),
    }
}

/// Parses HCL configuration text (HCL2 syntax as hcl-rs reads it, plus Vault's HCL1 habit of
/// putting a block's `{` on the line after its header).
pub(crate) fn parse_hcl(text: &str) -> Result<Map<String, Value>, SyntaxError> {
    let text = hoist_block_braces(text);
    let body = hcl::parse(&text).map_err(|e| match e {
        hcl::Error::Parse(p) => SyntaxError {
            line: Some(p.location().line()),
            column: Some(p.location().column()),
            message: format!("{}: {}", p.message(), p.line().trim_end()),
        },
        other => SyntaxError::plain(other.to_string()),
    })?;
    body_to_map(body).map_err(SyntaxError::plain)
}

fn body_to_map(body: hcl::Body) -> Result<Map<String, Value>, String> {
    let mut map = Map::new();
    for structure in body.into_inner() {
        match structure {
            hcl::Structure::Attribute(attr) => {
                let key = attr.key.to_string();
                let value = expr_to_value(attr.expr).map_err(|e| format!("{key:?}: {e}"))?;
                map.insert(key, value);
            }
            hcl::Structure::Block(block) => {
                let key = block.identifier.to_string();
                let mut value = Value::Object(body_to_map(block.body)?);
                for label in block.labels.into_iter().rev() {
                    let mut nested = Map::new();
                    nested.insert(label.into_inner(), value);
                    value = Value::Object(nested);
                }
                match map.get_mut(&key) {
                    Some(Value::Array(blocks)) => blocks.push(value),
                    Some(_) => {
                        return Err(format!("{key:?} is set both as a value and as a block"));
                    }
                    None => {
                        map.insert(key, Value::Array(vec![value]));
                    }
                }
            }
        }
    }
    Ok(map)
}

fn expr_to_value(expr: hcl::Expression) -> Result<Value, String> {
    use hcl::Expression as E;
    Ok(match expr {
        E::Null => Value::Null,
        E::Bool(b) => Value::Bool(b),
        E::Number(n) => number(&n)?,
        E::String(s) => Value::String(s),
        // HCL1 has no interpolation: a "${…}" string is the literal text.
        E::TemplateExpr(t) => Value::String(t.to_string()),
        E::Array(items) => Value::Array(
            items
                .into_iter()
                .map(expr_to_value)
                .collect::<Result<_, _>>()?,
        ),
        E::Object(object) => {
            let mut map = Map::new();
            for (key, value) in object {
                let key = match key {
                    hcl::ObjectKey::Identifier(id) => id.to_string(),
                    hcl::ObjectKey::Expression(E::String(s)) => s,
                    other => return Err(format!("unsupported object key {other}")),
                };
                map.insert(key, expr_to_value(value)?);
            }
            Value::Object(map)
        }
        E::Parenthesis(inner) => expr_to_value(*inner)?,
        other => {
            return Err(format!(
                "unsupported expression `{other}`: configuration values must be literals"
            ));
        }
    })
}

fn number(n: &hcl::Number) -> Result<Value, String> {
    if let Some(i) = n.as_i64() {
        return Ok(Value::Number(i.into()));
    }
    if let Some(u) = n.as_u64() {
        return Ok(Value::Number(u.into()));
    }
    n.as_f64()
        .and_then(Number::from_f64)
        .map(Value::Number)
        .ok_or_else(|| format!("unsupported number {n}"))
}

/// Vault's HCL1 accepts a block's opening brace on the next line (`storage "inmem"` / `{`); HCL2
/// does not. This moves such a brace up to the header line, keeping every line where it was so
/// error positions stay right. Heredocs and block comments are left alone.
fn hoist_block_braces(text: &str) -> Cow<'_, str> {
    if !text.lines().any(|l| l.trim_start().starts_with('{')) {
        return Cow::Borrowed(text);
    }
    let mut lines: Vec<String> = text.split('\n').map(str::to_owned).collect();
    let mut heredoc: Option<String> = None;
    let mut in_comment = false;
    let mut header: Option<usize> = None;
    for i in 0..lines.len() {
        let trimmed = lines[i].trim().to_owned();
        if let Some(delim) = &heredoc {
            if trimmed == *delim {
                heredoc = None;
            }
            continue;
        }
        if in_comment {
            in_comment = !trimmed.contains("*/");
            continue;
        }
        if trimmed.is_empty() {
            continue;
        }
        let code_end = code_len(&lines[i]);
        let code = lines[i][..code_end].trim().to_owned();
        if let Some(h) = header
            && code.starts_with('{')
            && !lines[h].trim_end().ends_with('{')
        {
            let h_end = code_len(&lines[h]);
            let (head, tail) = lines[h].split_at(h_end);
            lines[h] = format!(
                "{} {{{}{tail}",
                head.trim_end(),
                if tail.is_empty() { "" } else { " " }
            );
            if let Some(pos) = lines[i].find('{') {
                lines[i].replace_range(pos..=pos, " ");
            }
        }
        let rest = &lines[i][code_end..];
        if rest.starts_with("/*") && !rest.contains("*/") {
            in_comment = true;
        }
        heredoc = heredoc_delimiter(&code);
        header = is_block_header(&code).then_some(i);
    }
    Cow::Owned(lines.join("\n"))
}

/// Length of the part of a line before a comment (`#`, `//`, `/*`), skipping quoted strings.
fn code_len(line: &str) -> usize {
    let bytes = line.as_bytes();
    let mut in_string = false;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if in_string => i += 1,
            b'"' => in_string = !in_string,
            b'#' if !in_string => return i,
            b'/' if !in_string && matches!(bytes.get(i + 1), Some(b'/' | b'*')) => return i,
            _ => {}
        }
        i += 1;
    }
    bytes.len()
}

/// An identifier followed only by labels (quoted strings or identifiers).
fn is_block_header(code: &str) -> bool {
    let mut rest = code.trim();
    let mut first = true;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix('"') {
            if first {
                return false;
            }
            let Some(end) = closing_quote(after) else {
                return false;
            };
            rest = after[end + 1..].trim_start();
        } else {
            let len = rest
                .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '-'))
                .unwrap_or(rest.len());
            if len == 0 {
                return false;
            }
            rest = rest[len..].trim_start();
        }
        first = false;
    }
    !first
}

fn closing_quote(s: &str) -> Option<usize> {
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 1,
            b'"' => return Some(i),
            _ => {}
        }
        i += 1;
    }
    None
}

fn heredoc_delimiter(code: &str) -> Option<String> {
    let start = code.rfind("<<")?;
    let delim = code[start + 2..].trim_start_matches('-').trim();
    (!delim.is_empty() && delim.chars().all(|c| c.is_alphanumeric() || c == '_'))
        .then(|| delim.to_owned())
}

/// One block: its label (if it has one) and its body.
pub(crate) type Block = (Option<String>, Map<String, Value>);

/// The blocks under a block key, in every spelling Vault's HCL1 decoder accepts: the HCL form
/// `[{"tcp": {…}}]`, JSON `{"tcp": {…}}`, `[{"tcp": {…}}]` or `{"tcp": [{…}, {…}]}`. With
/// `unlabelled_ok`, an object that carries a `type` key or plain values is itself a block body
/// without a label (`listener { type = "tcp" … }`).
pub(crate) fn blocks(key: &str, value: &Value, unlabelled_ok: bool) -> Result<Vec<Block>, String> {
    let elements: Vec<&Value> = match value {
        Value::Array(items) => items.iter().collect(),
        other => vec![other],
    };
    let mut out = Vec::new();
    for element in elements {
        let Value::Object(object) = element else {
            return Err(format!(
                "{key:?} must be a block (an object), not {}",
                kind(element)
            ));
        };
        let is_body = object.contains_key("type")
            || object.values().any(|v| match v {
                Value::Object(_) => false,
                Value::Array(items) => !items.iter().all(Value::is_object),
                _ => true,
            });
        if unlabelled_ok && is_body {
            out.push((None, object.clone()));
            continue;
        }
        for (label, body) in object {
            match body {
                Value::Object(body) => out.push((Some(label.clone()), body.clone())),
                Value::Array(items) if items.iter().all(Value::is_object) => {
                    for item in items {
                        if let Value::Object(body) = item {
                            out.push((Some(label.clone()), body.clone()));
                        }
                    }
                }
                other => {
                    return Err(format!(
                        "{key} {label:?} must be a block (an object), not {}",
                        kind(other)
                    ));
                }
            }
        }
    }
    Ok(out)
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a bool",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// A boolean the way Vault's `parseutil.ParseBool` reads one: a bool, a number (non-zero is
/// true) or a string Go's `strconv.ParseBool` accepts (`"1"`, `"t"`, `"true"`, `"0"`, …); the empty
/// string is false.
pub(crate) fn as_bool(v: &Value) -> Result<bool, String> {
    match v {
        Value::Bool(b) => Ok(*b),
        Value::Number(n) => Ok(n.as_f64().is_some_and(|f| f != 0.0)),
        Value::String(s) => match s.as_str() {
            "1" | "t" | "T" | "true" | "TRUE" | "True" => Ok(true),
            "" | "0" | "f" | "F" | "false" | "FALSE" | "False" => Ok(false),
            other => Err(format!("cannot parse {other:?} as a bool")),
        },
        other => Err(format!("expected a bool, got {}", kind(other))),
    }
}

/// An integer: a whole number or a numeric string (`parseutil.ParseInt`); empty string is 0.
pub(crate) fn as_int(v: &Value) -> Result<i64, String> {
    match v {
        Value::Number(n) => n
            .as_i64()
            .or_else(|| {
                n.as_f64()
                    .filter(|f| f.fract() == 0.0 && f.abs() < 9.0e18)
                    .map(|f| f as i64)
            })
            .ok_or_else(|| format!("{n} is not an integer")),
        Value::String(s) if s.trim().is_empty() => Ok(0),
        Value::String(s) => s
            .trim()
            .parse()
            .map_err(|_| format!("cannot parse {s:?} as an integer")),
        other => Err(format!("expected an integer, got {}", kind(other))),
    }
}

/// A string value. Numbers and bools are accepted in their text form, as Vault's decoder does.
pub(crate) fn as_string(v: &Value) -> Result<String, String> {
    match v {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        other => Err(format!("expected a string, got {}", kind(other))),
    }
}

/// A duration (`parseutil.ParseDurationSecond`): a number of seconds or a duration string.
pub(crate) fn as_duration(v: &Value) -> Result<Duration, String> {
    match v {
        Value::Number(n) => match n.as_i64() {
            Some(secs) => duration::seconds(secs),
            // Go converts a float number of seconds by truncating it.
            None => duration::seconds(n.as_f64().map_or(-1, |f| f.trunc() as i64)),
        },
        Value::String(s) => duration::parse_duration(s),
        other => Err(format!("expected a duration, got {}", kind(other))),
    }
}
