//! Output exactly as the `vault` CLI prints it: columnize tables (`Key`/`Value`, an underline
//! row, 4-space glue, `n/a` for empty cells), Go's `%v`/`%q` value printing, Go durations for
//! TTL-like keys, `kr/text` word wrapping, and `encoding/json`'s indented output.

use serde_json::{Map, Value};

use crate::api_client::Secret;

/// The column delimiter the Go CLI hopes never appears in a secret.
pub(crate) const HOPE_DELIM: &str = "♨";

/// The line length Vault wraps its messages at.
const MAX_LINE_LENGTH: usize = 78;

/// Go's `time.Duration.String()` of a number of nanoseconds.
pub(crate) fn go_duration(nanos: i64) -> String {
    let negative = nanos < 0;
    let u = nanos.unsigned_abs();
    let sign = if negative { "-" } else { "" };
    let frac = |value: u64, digits: u32| -> String {
        let scale = 10_u64.pow(digits);
        let (whole, rest) = (value / scale, value % scale);
        if rest == 0 {
            return whole.to_string();
        }
        let text = format!("{rest:0width$}", width = digits as usize);
        format!("{whole}.{}", text.trim_end_matches('0'))
    };
    if u < 1_000_000_000 {
        return match u {
            0 => "0s".to_owned(),
            1..1_000 => format!("{sign}{u}ns"),
            1_000..1_000_000 => format!("{sign}{}µs", frac(u, 3)),
            _ => format!("{sign}{}ms", frac(u, 6)),
        };
    }
    let seconds = u / 1_000_000_000;
    let fraction = u % 1_000_000_000;
    let sec_text = frac((seconds % 60) * 1_000_000_000 + fraction, 9);
    let minutes = (seconds / 60) % 60;
    let hours = seconds / 3600;
    if hours > 0 {
        format!("{sign}{hours}h{minutes}m{sec_text}s")
    } else if minutes > 0 {
        format!("{sign}{minutes}m{sec_text}s")
    } else {
        format!("{sign}{sec_text}s")
    }
}

/// The CLI's `humanDuration`: Go's duration without the zero minutes and seconds (`768h`,
/// `1h30m`, `0s`).
pub(crate) fn human_duration(nanos: i64) -> String {
    if nanos == 0 {
        return "0s".to_owned();
    }
    let mut s = go_duration(nanos);
    if s.ends_with("m0s") {
        s.truncate(s.len() - 2);
    }
    if let Some(idx) = s.find("h0m")
        && idx > 0
    {
        s.replace_range(idx + 1..idx + 3, "");
    }
    s
}

/// `humanDurationInt` of a JSON value: integers are seconds; anything else is kept.
pub(crate) fn human_duration_value(value: &Value) -> Value {
    match value.as_i64() {
        Some(secs) if value.is_number() => {
            Value::String(human_duration(secs.saturating_mul(1_000_000_000)))
        }
        _ => value.clone(),
    }
}

/// The CLI's `looksLikeDuration`.
pub(crate) fn looks_like_duration(key: &str) -> bool {
    key == "period"
        || key.ends_with("_period")
        || key == "ttl"
        || key.ends_with("_ttl")
        || key == "duration"
        || key.ends_with("_duration")
        || key == "lease_max"
        || key == "ttl_max"
}

/// Go's `%v` of a decoded JSON value (`<nil>`, `[a b]`, `map[k:v]`).
pub(crate) fn go_value(value: &Value) -> String {
    match value {
        Value::Null => "<nil>".to_owned(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        Value::Array(items) => {
            let parts: Vec<String> = items.iter().map(go_value).collect();
            format!("[{}]", parts.join(" "))
        }
        Value::Object(object) => {
            let mut keys: Vec<&String> = object.keys().collect();
            keys.sort();
            let parts: Vec<String> = keys
                .into_iter()
                .map(|k| format!("{k}:{}", go_value(&object[k])))
                .collect();
            format!("map[{}]", parts.join(" "))
        }
    }
}

/// Go's `strconv.Quote` for the characters secrets contain in practice.
pub(crate) fn go_quote(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Go's `%q` of a string slice: `["a" "b"]`, `[]` for none.
pub(crate) fn go_quote_list(items: Option<&Vec<String>>) -> String {
    let parts: Vec<String> = items
        .map(|i| i.iter().map(|s| go_quote(s)).collect())
        .unwrap_or_default();
    format!("[{}]", parts.join(" "))
}

/// `kr/text.Wrap`: words split on spaces, broken into lines of at most `limit` bytes with
/// minimal raggedness (not greedily).
pub(crate) fn wrap(text: &str, limit: usize) -> String {
    let flat = text.trim().replace('\n', " ");
    let words: Vec<&str> = flat.split(' ').collect();
    let n = words.len();
    let limit = limit as i64;
    let mut length = vec![vec![0_i64; n]; n];
    for i in 0..n {
        length[i][i] = words[i].len() as i64;
        for j in i + 1..n {
            length[i][j] = length[i][j - 1] + 1 + words[j].len() as i64;
        }
    }
    let mut cost = vec![i64::from(i32::MAX); n];
    let mut next = vec![0_usize; n];
    for i in (0..n).rev() {
        if length[i][n - 1] <= limit || i == n - 1 {
            cost[i] = 0;
            next[i] = n;
            continue;
        }
        for j in i + 1..n {
            let d = limit - length[i][j - 1];
            let mut c = d * d + cost[j];
            if length[i][j - 1] > limit {
                c += 100_000;
            }
            if c < cost[i] {
                cost[i] = c;
                next[i] = j;
            }
        }
    }
    let mut lines = Vec::new();
    let mut i = 0;
    while i < n {
        lines.push(words[i..next[i]].join(" "));
        i = next[i];
    }
    lines.join("\n")
}

/// The CLI's `wrapAtLengthWithPadding`.
pub(crate) fn wrap_at_length_with_padding(text: &str, pad: usize) -> String {
    wrap(text, MAX_LINE_LENGTH - pad)
        .split('\n')
        .map(|line| format!("{}{line}", " ".repeat(pad)))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The CLI's `wrapAtLength`.
pub(crate) fn wrap_at_length(text: &str) -> String {
    wrap_at_length_with_padding(text, 0)
}

/// `columnize.Format` with the CLI's settings: cells trimmed, empty cells `n/a`, columns
/// padded to their widest cell and glued with four spaces, the last column unpadded.
pub(crate) fn columnize(lines: &[String], delim: &str) -> String {
    let rows: Vec<Vec<String>> = lines
        .iter()
        .map(|line| {
            line.split(delim)
                .map(|cell| match cell.trim() {
                    "" => "n/a".to_owned(),
                    text => text.to_owned(),
                })
                .collect()
        })
        .collect();
    let mut widths: Vec<usize> = Vec::new();
    for row in &rows {
        for (i, cell) in row.iter().enumerate() {
            let width = cell.chars().count();
            match widths.get_mut(i) {
                Some(w) => *w = (*w).max(width),
                None => widths.push(width),
            }
        }
    }
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            if i + 1 == row.len() {
                line.push_str(cell);
            } else {
                let pad = widths[i].saturating_sub(cell.chars().count());
                line.push_str(cell);
                line.push_str(&" ".repeat(pad));
                line.push_str("    ");
            }
        }
        out.push(line);
    }
    out.join("\n")
}

/// The CLI's `tableOutput`: the header row, an underline of dashes per header, the rows.
pub(crate) fn table_output(mut lines: Vec<String>, delim: &str) -> String {
    if lines.is_empty() {
        return String::new();
    }
    let underline: Vec<String> = lines[0]
        .split(delim)
        .map(|h| "-".repeat(h.trim().len()))
        .collect();
    lines.insert(1, underline.join(delim));
    columnize(&lines, delim)
}

fn row(key: &str, value: impl std::fmt::Display) -> String {
    format!("{key} {HOPE_DELIM} {value}")
}

fn data_rows(data: &Map<String, Value>, out: &mut Vec<String>) {
    let mut keys: Vec<&String> = data.keys().collect();
    keys.sort();
    for key in keys {
        let value = if looks_like_duration(key) {
            human_duration_value(&data[key])
        } else {
            data[key].clone()
        };
        out.push(row(key, go_value(&value)));
    }
}

/// Go's `time.Time.String()` of an RFC 3339 timestamp.
fn go_time_string(rfc3339: &str) -> String {
    use time::format_description::well_known::Rfc3339;
    let Ok(t) = time::OffsetDateTime::parse(rfc3339, &Rfc3339) else {
        return "0001-01-01 00:00:00 +0000 UTC".to_owned();
    };
    let nanos = t.nanosecond();
    let fraction = if nanos == 0 {
        String::new()
    } else {
        format!(".{nanos:09}").trim_end_matches('0').to_owned()
    };
    let offset = t.offset();
    let zone = if offset.is_utc() {
        "+0000 UTC".to_owned()
    } else {
        let (h, m, _) = offset.as_hms();
        let sign = if offset.is_negative() { '-' } else { '+' };
        let text = format!("{sign}{:02}{:02}", h.unsigned_abs(), m.unsigned_abs());
        format!("{text} {text}")
    };
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}{fraction} {zone}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// The `Key`/`Value` table of a secret (`TableFormatter.OutputSecret`); `None` when there
/// is nothing to print.
pub(crate) fn secret_table(secret: &Secret) -> Option<String> {
    let mut out = Vec::new();
    if secret.lease_duration > 0 {
        let duration = human_duration(secret.lease_duration.saturating_mul(1_000_000_000));
        if secret.lease_id.is_empty() {
            out.push(row("refresh_interval", duration));
        } else {
            out.push(row("lease_id", &secret.lease_id));
            out.push(row("lease_duration", duration));
            out.push(row("lease_renewable", secret.renewable));
        }
    }
    if let Some(auth) = &secret.auth {
        out.push(row("token", &auth.client_token));
        out.push(row("token_accessor", &auth.accessor));
        if auth.lease_duration == 0 {
            out.push(row("token_duration", "∞"));
        } else {
            out.push(row(
                "token_duration",
                human_duration(auth.lease_duration.saturating_mul(1_000_000_000)),
            ));
        }
        out.push(row("token_renewable", auth.renewable));
        out.push(row(
            "token_policies",
            go_quote_list(auth.token_policies.as_ref()),
        ));
        out.push(row(
            "identity_policies",
            go_quote_list(auth.identity_policies.as_ref()),
        ));
        out.push(row("policies", go_quote_list(auth.policies.as_ref())));
        if let Some(meta) = &auth.metadata {
            let mut keys: Vec<&String> = meta.keys().collect();
            keys.sort();
            for key in keys {
                out.push(row(&format!("token_meta_{key}"), go_value(&meta[key])));
            }
        }
    }
    if let Some(wrap) = &secret.wrap_info {
        out.push(row("wrapping_token:", &wrap.token));
        out.push(row("wrapping_accessor:", &wrap.accessor));
        out.push(row(
            "wrapping_token_ttl:",
            human_duration(wrap.ttl.saturating_mul(1_000_000_000)),
        ));
        out.push(row(
            "wrapping_token_creation_time:",
            go_time_string(&wrap.creation_time),
        ));
        out.push(row("wrapping_token_creation_path:", &wrap.creation_path));
        if !wrap.wrapped_accessor.is_empty() {
            out.push(row("wrapped_accessor:", &wrap.wrapped_accessor));
        }
    }
    if let Some(data) = &secret.data {
        data_rows(data, &mut out);
    }
    map_rows_to_table(out)
}

fn map_rows_to_table(mut rows: Vec<String>) -> Option<String> {
    if rows.is_empty() {
        return None;
    }
    rows.insert(0, format!("Key{HOPE_DELIM}Value"));
    Some(table_output(rows, HOPE_DELIM))
}

/// The `Key`/`Value` table of a map (`TableFormatter.OutputMap`).
pub(crate) fn map_table(data: &Map<String, Value>) -> Option<String> {
    let mut out = Vec::new();
    data_rows(data, &mut out);
    map_rows_to_table(out)
}

/// The `Keys` table of a list (`TableFormatter.OutputList`), sorted.
pub(crate) fn list_table(items: &[Value]) -> Result<Option<String>, String> {
    if items.is_empty() {
        return Ok(None);
    }
    let mut keys = Vec::with_capacity(items.len());
    for item in items {
        match item.as_str() {
            Some(s) => keys.push(s.to_owned()),
            None => return Err(format!("{} is not a string", go_value(item))),
        }
    }
    keys.sort();
    keys.insert(0, "Keys".to_owned());
    Ok(Some(table_output(keys, HOPE_DELIM)))
}

/// The warnings block printed (on stderr) before a secret; `None` without warnings.
pub(crate) fn warnings_text(secret: &Secret) -> Option<String> {
    let warnings = secret.warnings.as_ref().filter(|w| !w.is_empty())?;
    let mut out = String::from("WARNING! The following warnings were returned from Vault:\n\n");
    for warning in warnings {
        out.push_str(&wrap_at_length_with_padding(&format!("* {warning}"), 2));
        out.push_str("\n\n");
    }
    Some(out)
}

/// The header the KV commands print above a block: `== title ==` padded to `total`.
pub(crate) fn pad_equal_signs(title: &str, total: usize) -> String {
    let mut signs = total as i64 - (title.len() as i64 + 2);
    if signs <= 0 {
        signs = 4;
    }
    if signs % 2 != 0 {
        signs += 1;
    }
    let side = "=".repeat((signs / 2) as usize);
    format!("{side} {title} {side}")
}

/// `getHeaderForMap`: the header padded to the longest key plus 9.
pub(crate) fn header_for_map(title: &str, data: &Map<String, Value>) -> String {
    let longest = data.keys().map(String::len).max().unwrap_or(0);
    pad_equal_signs(title, longest + 9)
}

/// `json.MarshalIndent(v, "", "  ")`: two-space indent, `<`, `>` and `&` escaped as Go does.
pub(crate) fn go_json(value: &Value) -> String {
    let mut out = String::new();
    write_json(value, 0, &mut out);
    out
}

fn write_json_string(text: &str, out: &mut String) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                out.push_str(&format!("\\u{:04x}", c as u32));
            }
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

fn write_json(value: &Value, depth: usize, out: &mut String) {
    let indent = |d: usize, out: &mut String| {
        out.push('\n');
        out.push_str(&"  ".repeat(d));
    };
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::String(s) => write_json_string(s, out),
        Value::Array(items) if items.is_empty() => out.push_str("[]"),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                indent(depth + 1, out);
                write_json(item, depth + 1, out);
            }
            indent(depth, out);
            out.push(']');
        }
        Value::Object(object) if object.is_empty() => out.push_str("{}"),
        Value::Object(object) => {
            out.push('{');
            for (i, (key, item)) in object.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                indent(depth + 1, out);
                write_json_string(key, out);
                out.push_str(": ");
                write_json(item, depth + 1, out);
            }
            indent(depth, out);
            out.push('}');
        }
    }
}

#[cfg(test)]
mod tests;
