//! `?help=1` output: Vault's `pathHelpTemplate` and `rootHelpTemplate`, rendered by hand.

use serde_json::Value;

use super::path::Path;
use crate::{Map, Response};

/// Vault's `logical.HelpResponse(text, nil, …)`: `{"help": text, "see_also": null}`.
pub(crate) fn help_response(text: String) -> Response {
    let mut data = Map::new();
    data.insert("help".to_owned(), Value::String(text));
    data.insert("see_also".to_owned(), Value::Null);
    Response::with_data(data)
}

/// The template's `indent` function: every line prefixed, trailing newlines dropped.
fn indent(count: usize, text: &str) -> String {
    let prefix = " ".repeat(count);
    let lines: Vec<String> = text
        .lines()
        .map(|line| format!("{prefix}{}", line.strip_suffix('\r').unwrap_or(line)))
        .collect();
    lines.join("\n")
}

fn or_placeholder(text: &str, placeholder: &str) -> String {
    let text = text.trim();
    if text.is_empty() {
        placeholder.to_owned()
    } else {
        text.to_owned()
    }
}

/// A default as shown in help: strings bare, anything else as JSON.
fn show_default(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Help for one path. This is Vault's text, with one addition: a field with a declared
/// default gets a `Default: …` line under its description.
pub(crate) fn path_help(path: &Path, request_path: &str) -> String {
    let mut out = String::new();
    out.push_str(&format!("Request:        {request_path}\n"));
    out.push_str(&format!("Matching Route: {}\n\n", path.pattern));
    out.push_str(&or_placeholder(&path.synopsis, "<no synopsis>"));
    out.push_str("\n\n");
    if !path.fields.is_empty() {
        out.push_str("## PARAMETERS\n");
        for (name, field) in &path.fields {
            out.push_str(&format!(
                "\n{} ({})\n\n",
                indent(4, name),
                field.field_type.as_str()
            ));
            let mut description = or_placeholder(&field.description, "<no description>");
            if field.deprecated {
                description = format!("(DEPRECATED) {description}");
            }
            if let Some(default) = &field.default {
                description = format!("{description}\nDefault: {}", show_default(default));
            }
            out.push_str(&indent(8, &description));
            out.push('\n');
        }
    }
    out.push_str("\n## DESCRIPTION\n\n");
    out.push_str(&or_placeholder(&path.description, "<no description>"));
    out.trim().to_owned()
}

/// Help for the backend's root (`?help=1` on the mount itself): the backend's help and every
/// path's synopsis, sorted by pattern.
pub(crate) fn root_help(help: &str, paths: &[Path]) -> String {
    let mut routes: Vec<(&str, &str)> = paths
        .iter()
        .map(|p| (p.pattern.as_str(), p.synopsis.trim()))
        .collect();
    routes.sort_by(|a, b| a.0.cmp(b.0));
    let mut out = String::from("\n## DESCRIPTION\n\n");
    out.push_str(help.trim());
    out.push_str(
        "\n\n## PATHS\n\n\
         The following paths are supported by this backend. To view help for\n\
         any of the paths below, use the help command with any route matching\n\
         the path pattern. Note that depending on the policy of your auth token,\n\
         you may or may not be able to access certain paths.\n\n",
    );
    for (pattern, synopsis) in routes {
        out.push_str(&format!(
            "{}\n{}\n\n",
            indent(4, pattern),
            indent(8, synopsis)
        ));
    }
    out.trim().to_owned()
}

/// Vault's `Endpoint ignored these unrecognized parameters: [a b]` (Go's `%v` of a sorted
/// `[]string`).
pub(crate) fn ignored_warning(ignored: &[String]) -> String {
    format!(
        "Endpoint ignored these unrecognized parameters: [{}]",
        ignored.join(" ")
    )
}

/// Vault's warning when a body key is overridden by a capture of the same name.
pub(crate) fn replaced_warning(replaced: &[String]) -> String {
    format!(
        "Endpoint replaced the value of these parameters with the values captured from the \
         endpoint's path: [{}]",
        replaced.join(" ")
    )
}
