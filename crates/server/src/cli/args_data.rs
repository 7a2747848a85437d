//! `key=value` argument data, as go-secure-stdlib's kv-builder reads it for `write`, `kv put`,
//! `login` and friends: `k=v`, `k=@file` (the file's contents), `k=\@x` (a literal `@x`),
//! `k=-` (stdin), a bare `-` (a JSON object from stdin merged in), a bare `@file.json` (a
//! JSON object from the file merged in), and repeated keys becoming a list.

use std::io::Read;

use serde_json::{Map, Value};

use crate::api_client::io_text;

/// Builds the data map from argument strings; stdin can be consumed once.
#[derive(Debug)]
pub(crate) struct Builder<R> {
    stdin: R,
    stdin_used: bool,
    result: Map<String, Value>,
}

impl<R: Read> Builder<R> {
    /// A builder reading `-` from `stdin`.
    pub(crate) fn new(stdin: R) -> Self {
        Self {
            stdin,
            stdin_used: false,
            result: Map::new(),
        }
    }

    /// Adds every argument; the error names the offending argument as kv-builder does.
    pub(crate) fn add_all(&mut self, args: &[String]) -> Result<(), String> {
        for arg in args {
            self.add(arg)
                .map_err(|e| format!("invalid key/value pair {arg:?}: {e}"))?;
        }
        Ok(())
    }

    /// The data built so far.
    pub(crate) fn into_map(self) -> Map<String, Value> {
        self.result
    }

    fn read_stdin(&mut self) -> Result<String, String> {
        if self.stdin_used {
            return Err("stdin already consumed".into());
        }
        self.stdin_used = true;
        let mut text = String::new();
        self.stdin
            .read_to_string(&mut text)
            .map_err(|e| e.to_string())?;
        Ok(text)
    }

    fn merge_json(&mut self, text: &str) -> Result<(), String> {
        let value: Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
        match value {
            Value::Object(object) => {
                self.result.extend(object);
                Ok(())
            }
            Value::Null => Ok(()),
            _ => Err("json: cannot unmarshal into Go value of type map[string]interface {}".into()),
        }
    }

    fn add(&mut self, raw: &str) -> Result<(), String> {
        if raw.is_empty() {
            return Ok(());
        }
        let Some((key, value)) = raw.split_once('=') else {
            if raw == "-" {
                let text = self.read_stdin()?;
                return self.merge_json(&text);
            }
            if let Some(file) = raw.strip_prefix('@') {
                let text = std::fs::read_to_string(file)
                    .map_err(|e| format!("open {file}: {}", io_text(&e)))?;
                return self.merge_json(&text);
            }
            return Err("format must be key=value".into());
        };
        let value = if let Some(file) = value.strip_prefix('@') {
            std::fs::read_to_string(file)
                .map_err(|e| format!("error reading file: open {file}: {}", io_text(&e)))?
        } else if let Some(literal) = value.strip_prefix('\\').filter(|v| v.starts_with('@')) {
            literal.to_owned()
        } else if value == "-" {
            self.read_stdin()?
        } else {
            value.to_owned()
        };
        let value = Value::String(value);
        match self.result.get_mut(key) {
            Some(Value::Array(items)) => items.push(value),
            Some(existing) => {
                let first = existing.take();
                *existing = Value::Array(vec![first, value]);
            }
            None => {
                self.result.insert(key.to_owned(), value);
            }
        }
        Ok(())
    }
}

/// `parseArgsData` with the process's stdin (empty with `-non-interactive`).
pub(crate) fn parse(args: &[String], non_interactive: bool) -> Result<Map<String, Value>, String> {
    if non_interactive {
        let mut builder = Builder::new(std::io::empty());
        builder.add_all(args)?;
        Ok(builder.into_map())
    } else {
        let mut builder = Builder::new(std::io::stdin());
        builder.add_all(args)?;
        Ok(builder.into_map())
    }
}

/// A value as mapstructure's weak decoding turns it into a string.
pub(crate) fn weak_string(value: &Value) -> Result<String, String> {
    match value {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(if *b { "1" } else { "0" }.to_owned()),
        Value::Null => Ok(String::new()),
        Value::Array(items) if items.len() == 1 => weak_string(&items[0]),
        _ => Err(
            "failed to convert values to strings: source data must be an array or slice, got map"
                .into(),
        ),
    }
}

/// `parseArgsDataString`: every value a string.
pub(crate) fn parse_strings(
    args: &[String],
    non_interactive: bool,
) -> Result<Vec<(String, String)>, String> {
    parse(args, non_interactive)?
        .iter()
        .map(|(k, v)| {
            weak_string(v)
                .map(|s| (k.clone(), s))
                .map_err(|_| "failed to convert values to strings: unsupported type".to_owned())
        })
        .collect()
}

/// `parseArgsDataStringLists`: every value a list of strings (the query parameters of
/// `read` and `delete`).
pub(crate) fn parse_string_lists(
    args: &[String],
    non_interactive: bool,
) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    for (key, value) in parse(args, non_interactive)? {
        let items = match value {
            Value::Array(items) => items,
            other => vec![other],
        };
        for item in items {
            let text = weak_string(&item)
                .map_err(|_| "failed to convert values to strings: unsupported type".to_owned())?;
            out.push((key.clone(), text));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn build(args: &[&str], stdin: &str) -> Result<Value, String> {
        let mut builder = Builder::new(stdin.as_bytes());
        let args: Vec<String> = args.iter().map(|s| (*s).to_owned()).collect();
        builder.add_all(&args)?;
        Ok(Value::Object(builder.into_map()))
    }

    #[test]
    fn builds_like_kv_builder() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("v.txt");
        std::fs::write(&file, "from-file\n").unwrap();
        let at = format!("f=@{}", file.display());
        assert_eq!(
            build(
                &["a=1", "p=x", "p=y", "p=z", &at, "l=\\@lit", "s=-", "e="],
                "in"
            )
            .unwrap(),
            json!({"a": "1", "p": ["x", "y", "z"], "f": "from-file\n", "l": "@lit", "s": "in", "e": ""})
        );
        assert_eq!(
            build(&["-", "b=2"], r#"{"a": 1, "n": {"x": true}}"#).unwrap(),
            json!({"a": 1, "n": {"x": true}, "b": "2"})
        );
        assert_eq!(
            build(&["nope"], "").unwrap_err(),
            "invalid key/value pair \"nope\": format must be key=value"
        );
        assert_eq!(
            build(&["a=-", "b=-"], "x").unwrap_err(),
            "invalid key/value pair \"b=-\": stdin already consumed"
        );
        assert_eq!(
            build(&["a=@/nonexistent/x"], "").unwrap_err(),
            "invalid key/value pair \"a=@/nonexistent/x\": error reading file: open /nonexistent/x: no such file or directory"
        );
    }
}
