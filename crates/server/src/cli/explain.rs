//! `auth explain REQUEST_ID` and `auth explain -mount=PATH [-last] [-limit=N]`: why logins
//! were refused, from `sys/internal/auth-explain` (needs `sudo`). Table output by default,
//! the records as JSON with `-format=json`.

use serde_json::{Map, Value};

use super::base::{Ctx, EXIT_API, arg_count_error, error, output, sanitize_path};
use super::flags::{FORMAT, FlagSet, HTTP};
use super::format::{HOPE_DELIM, go_json, go_value, table_output};
use super::logical::{client_or_return, parse_or_return};

const USAGE: &str = "auth explain [options] [REQUEST_ID]\n\n  Shows why a login was refused: the check that failed, what was expected, what\n  was seen and the remedy. With -mount, lists the latest denials of that auth\n  mount (-last: only the newest one, in full).";

/// The record's scalar fields, in reading order.
const FIELDS: [&str; 11] = [
    "request_id",
    "time",
    "mount_path",
    "mount_accessor",
    "remote_address",
    "role",
    "check",
    "message",
    "remedy",
    "detail",
    "mount_type",
];

/// `auth explain`.
pub(crate) async fn explain(args: Vec<String>) -> u8 {
    let mut flags = FlagSet::new(HTTP | FORMAT);
    flags.string("mount", "").bool("last").int("limit", &[], 20);
    let (ctx, args) = parse_or_return!(flags, args, USAGE, false);
    let mount = sanitize_path(&ctx.flags.str("mount"));
    let expected = if mount.is_empty() { "1" } else { "0" };
    if args.len() != usize::from(mount.is_empty()) {
        return arg_count_error(expected, args.len(), !args.is_empty());
    }
    let client = client_or_return!(ctx);
    if mount.is_empty() {
        let id = args[0].trim();
        let path = format!("sys/internal/auth-explain/{id}");
        return match client.read(&path, &[]).await {
            Err(e) => {
                error(&format!("Error reading {path}: {e}"));
                EXIT_API
            }
            Ok(None) => {
                error(&format!(
                    "No denial recorded for request {id} (kept for 24 hours, the latest 1000)"
                ));
                EXIT_API
            }
            Ok(Some(secret)) => print_record(&ctx, &Value::Object(secret.data_map())),
        };
    }
    let last = ctx.flags.get_bool("last");
    let limit = if last {
        1
    } else {
        ctx.flags.get_int("limit").max(1)
    };
    let query = vec![
        ("mount".to_owned(), mount.clone()),
        ("limit".to_owned(), limit.to_string()),
    ];
    let secret = match client.read("sys/internal/auth-explain", &query).await {
        Err(e) => {
            error(&format!("Error reading sys/internal/auth-explain: {e}"));
            return EXIT_API;
        }
        Ok(secret) => secret,
    };
    let denials = secret
        .and_then(|s| s.data_field("denials").cloned())
        .and_then(|d| d.as_array().cloned())
        .unwrap_or_default();
    if denials.is_empty() {
        if ctx.is_table() {
            error(&format!("No denied logins recorded for mount {mount}"));
        } else {
            output(&go_json(&Value::Array(Vec::new())));
        }
        return EXIT_API;
    }
    if last {
        return print_record(&ctx, &denials[0]);
    }
    if !ctx.is_table() {
        output(&go_json(&Value::Array(denials)));
        return 0;
    }
    let mut rows = vec!["Time | Request ID | Role | Check | Message".to_owned()];
    for d in &denials {
        let cell = |key: &str| d[key].as_str().unwrap_or_default().replace('|', "/");
        rows.push(format!(
            "{} | {} | {} | {} | {}",
            cell("time"),
            cell("request_id"),
            cell("role"),
            cell("check"),
            cell("message")
        ));
    }
    output(&table_output(rows, " | "));
    0
}

/// One record: a `Key`/`Value` table (expected and seen values flattened as
/// `expected.<key>` and `seen.<key>`), multi-line values printed below it.
fn print_record(ctx: &Ctx, record: &Value) -> u8 {
    if !ctx.is_table() {
        output(&go_json(record));
        return 0;
    }
    let Some(map) = record.as_object() else {
        error("Could not parse output: the record is not an object");
        return EXIT_API;
    };
    let mut rows = vec![format!("Key{HOPE_DELIM}Value")];
    let mut blocks = Vec::new();
    let mut push = |key: String, value: &Value| {
        let text = go_value(value);
        if text.contains('\n') {
            blocks.push((key, text));
        } else {
            rows.push(format!("{key} {HOPE_DELIM} {text}"));
        }
    };
    for field in FIELDS {
        if let Some(value) = map.get(field).filter(|v| v.as_str() != Some("")) {
            push(field.to_owned(), value);
        }
    }
    for group in ["expected", "seen"] {
        let Some(values) = map.get(group).and_then(Value::as_object) else {
            continue;
        };
        flatten(group, values, &mut push);
    }
    output(&table_output(rows, HOPE_DELIM));
    for (key, text) in blocks {
        output(&format!("\n{key}:\n{}", text.trim_end()));
    }
    0
}

fn flatten(prefix: &str, values: &Map<String, Value>, push: &mut impl FnMut(String, &Value)) {
    let mut keys: Vec<&String> = values.keys().collect();
    keys.sort();
    for key in keys {
        let name = format!("{prefix}.{key}");
        match &values[key] {
            Value::Object(inner) if !inner.is_empty() && prefix.matches('.').count() < 2 => {
                flatten(&name, inner, push);
            }
            value => push(name, value),
        }
    }
}
