//! `read`, `write`, `delete` and `list`: the generic commands over any API path.

use serde_json::Value;

use super::args_data;
use super::base::{Ctx, EXIT_API, EXIT_LOCAL, arg_count_error, error, output, sanitize_path};
use super::flags::{FIELD, FORMAT, FlagSet, HTTP};
use crate::api_client::{Secret, WriteFailure};

macro_rules! parse_or_return {
    ($flags:expr, $args:expr, $usage:expr, $raw:expr) => {
        match Ctx::parse($flags, $args, $usage, $raw) {
            Ok(parsed) => parsed,
            Err(code) => return code,
        }
    };
}
pub(crate) use parse_or_return;

macro_rules! client_or_return {
    ($ctx:expr) => {
        match $ctx.client() {
            Ok(client) => client,
            Err(message) => {
                error(&message);
                return EXIT_API;
            }
        }
    };
}
pub(crate) use client_or_return;

/// `read [K=V...] PATH`.
pub(crate) async fn read(args: Vec<String>) -> u8 {
    let flags = FlagSet::new(HTTP | FIELD | FORMAT);
    let (ctx, args) = parse_or_return!(flags, args, "read [options] PATH [K=V...]", true);
    if args.is_empty() {
        return arg_count_error("1", 0, false);
    }
    let client = client_or_return!(ctx);
    let path = sanitize_path(&args[0]);
    let query = match args_data::parse_string_lists(&args[1..], ctx.non_interactive) {
        Ok(query) => query,
        Err(e) => {
            error(&format!("Failed to parse K=V data: {e}"));
            return EXIT_LOCAL;
        }
    };
    if ctx.format == "raw" {
        return match client.raw("GET", &path, &query, None).await {
            Ok(response) if !response.body.is_empty() => {
                output(&String::from_utf8_lossy(&response.body));
                0
            }
            Ok(_) => {
                error(&format!("No value found at {path}"));
                EXIT_API
            }
            Err((e, _)) => {
                error(&format!("Error reading: {path}: {e}"));
                EXIT_API
            }
        };
    }
    match client.read(&path, &query).await {
        Err(e) => {
            error(&format!("Error reading {path}: {e}"));
            EXIT_API
        }
        Ok(None) => {
            error(&format!("No value found at {path}"));
            EXIT_API
        }
        Ok(Some(secret)) if !ctx.field.is_empty() => ctx.print_secret_field(&secret, &ctx.field),
        Ok(Some(secret)) => ctx.output_secret(&secret),
    }
}

/// Prints the outcome of a write as `handleWriteSecretOutput` does.
pub(crate) fn write_output(
    ctx: &Ctx,
    path: &str,
    result: Result<Option<Secret>, WriteFailure>,
) -> u8 {
    match result {
        Err(failure) => {
            error(&format!("Error writing data to {path}: {}", failure.error));
            if let Some(secret) = failure.secret {
                ctx.output_secret(&secret);
            }
            EXIT_API
        }
        Ok(None) => {
            if ctx.is_table() {
                output(&format!("Success! Data written to: {path}"));
            }
            0
        }
        Ok(Some(secret)) if !ctx.field.is_empty() => ctx.print_secret_field(&secret, &ctx.field),
        Ok(Some(secret)) => ctx.output_secret(&secret),
    }
}

/// `write [-force] PATH [K=V...]`.
pub(crate) async fn write(args: Vec<String>) -> u8 {
    let mut flags = FlagSet::new(HTTP | FIELD | FORMAT);
    flags.bool_aliased("force", &["f"], false);
    let (ctx, args) = parse_or_return!(flags, args, "write [options] PATH [DATA K=V...]", false);
    if args.is_empty() {
        return arg_count_error("1", 0, false);
    }
    if args.len() == 1 && !ctx.flags.get_bool("force") {
        error("Must supply data or use -force");
        return EXIT_LOCAL;
    }
    let path = sanitize_path(&args[0]);
    let data = match args_data::parse(&args[1..], ctx.non_interactive) {
        Ok(data) => data,
        Err(e) => {
            error(&format!("Failed to parse K=V data: {e}"));
            return EXIT_LOCAL;
        }
    };
    let client = client_or_return!(ctx);
    let result = client.write(&path, Value::Object(data)).await;
    write_output(&ctx, &path, result)
}

/// `delete PATH [K=V...]`.
pub(crate) async fn delete(args: Vec<String>) -> u8 {
    let flags = FlagSet::new(HTTP | FIELD | FORMAT);
    let (ctx, args) = parse_or_return!(flags, args, "delete [options] PATH", false);
    if args.is_empty() {
        return arg_count_error("at least 1", 0, false);
    }
    let client = client_or_return!(ctx);
    let path = sanitize_path(&args[0]);
    let query = match args_data::parse_string_lists(&args[1..], ctx.non_interactive) {
        Ok(query) => query,
        Err(e) => {
            error(&format!("Failed to parse string list data: {e}"));
            return EXIT_LOCAL;
        }
    };
    match client.delete(&path, &query).await {
        Err(e) => {
            error(&format!("Error deleting {path}: {e}"));
            EXIT_API
        }
        Ok(None) => {
            if ctx.is_table() {
                output(&format!("Success! Data deleted (if it existed) at: {path}"));
            }
            0
        }
        Ok(Some(secret)) if !ctx.field.is_empty() => ctx.print_secret_field(&secret, &ctx.field),
        Ok(Some(secret)) => ctx.output_secret(&secret),
    }
}

/// Prints a list answer as the `list` and `kv list` commands do.
pub(crate) fn list_output(ctx: &Ctx, path: &str, secret: Option<Secret>) -> u8 {
    if let Some(secret) = &secret
        && secret.wrap_info.as_ref().is_some_and(|w| w.ttl != 0)
    {
        return ctx.output_secret(secret);
    }
    let has_keys = secret
        .as_ref()
        .and_then(|s| s.data_field("keys"))
        .is_some_and(Value::is_array);
    if !ctx.is_table() && !has_keys {
        ctx.output_data(&Value::Object(serde_json::Map::new()));
        return EXIT_API;
    }
    let Some(secret) = secret else {
        error(&format!("No value found at {path}"));
        return EXIT_API;
    };
    if secret.data.is_none() {
        return ctx.output_secret(&secret);
    }
    if !has_keys {
        error(&format!("No entries found at {path}"));
        return EXIT_API;
    }
    ctx.output_list(&secret)
}

/// `list PATH`.
pub(crate) async fn list(args: Vec<String>) -> u8 {
    let flags = FlagSet::new(HTTP | FORMAT);
    let (ctx, args) = parse_or_return!(flags, args, "list [options] PATH", false);
    if args.len() != 1 {
        return arg_count_error("1", args.len(), !args.is_empty());
    }
    let client = client_or_return!(ctx);
    let path = sanitize_path(&args[0]);
    match client.list(&path).await {
        Err(e) => {
            error(&format!("Error listing {path}: {e}"));
            EXIT_API
        }
        Ok(secret) => list_output(&ctx, &path, secret),
    }
}
