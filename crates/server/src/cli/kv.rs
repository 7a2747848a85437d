//! `kv put|get|patch|delete|list|undelete|destroy|metadata get`. Every command first asks
//! `sys/internal/ui/mounts/<path>` whether the mount is KV v2 (`options.version == "2"`)
//! and then rewrites `secret/foo` to `secret/data/foo`, `secret/metadata/foo`, … as Vault's
//! `kv_helpers.go` does; a 404 there means KV v1.

use serde_json::{Map, Value, json};

use super::args_data;
use super::base::{Ctx, EXIT_API, EXIT_LOCAL, arg_count_error, error, output, sanitize_path};
use super::flags::{FIELD, FORMAT, FlagSet, HTTP};
use super::format::{header_for_map, map_table, pad_equal_signs, warnings_text};
use super::logical::{client_or_return, list_output, parse_or_return};
use crate::api_client::{Client, Secret, WriteFailure, clean_path};

/// Go's `path.Join` of relative parts.
fn join(parts: &[&str]) -> String {
    let joined = parts
        .iter()
        .filter(|p| !p.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join("/");
    if joined.is_empty() {
        return String::new();
    }
    let cleaned = clean_path(&joined);
    if joined.starts_with('/') {
        cleaned
    } else {
        cleaned.trim_start_matches('/').to_owned()
    }
}

/// Vault's `addPrefixToKVPath`.
fn add_prefix(path: &str, mount: &str, prefix: &str) -> String {
    if path == mount || path == mount.trim_end_matches('/') {
        return join(&[mount, prefix]);
    }
    let mut mount = mount.to_owned();
    let mut suffix = path.strip_prefix(mount.as_str()).unwrap_or(path).to_owned();
    while suffix == path {
        let Some((_, rest)) = mount.split_once('/') else {
            break;
        };
        if rest.is_empty() {
            break;
        }
        mount = rest.trim_end_matches('/').to_owned();
        suffix = suffix
            .strip_prefix(mount.as_str())
            .unwrap_or(&suffix)
            .to_owned();
    }
    join(&[&mount, prefix, &suffix])
}

/// `kvPreflightVersionRequest`: the mount path and whether it is KV v2.
async fn preflight(client: &Client, path: &str) -> Result<(String, bool), String> {
    let response = match client
        .raw("GET", &format!("sys/internal/ui/mounts/{path}"), &[], None)
        .await
    {
        Ok(response) => response,
        Err((_, Some(response))) if response.status == 404 => return Ok((String::new(), false)),
        Err((e, _)) => return Err(e.to_string()),
    };
    let secret = Secret::parse(&response.body)?.ok_or("nil response from pre-flight request")?;
    let mount = secret
        .data_field("path")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let v2 = secret
        .data_field("options")
        .and_then(|o| o.get("version"))
        .and_then(Value::as_str)
        == Some("2");
    Ok((mount, v2))
}

/// Where a KV command's path points once the mount is known.
#[derive(Debug)]
struct Target {
    mount: String,
    v2: bool,
    partial: String,
    mount_flag: bool,
}

impl Target {
    /// The API path: `<mount>/<prefix>/<key>` for v2, the path itself for v1.
    fn api_path(&self, prefix: &str) -> String {
        if self.v2 {
            add_prefix(&self.partial, &self.mount, prefix)
        } else if self.mount_flag {
            join(&[&self.mount, &self.partial])
        } else {
            self.partial.clone()
        }
    }
}

/// Resolves the argument (or `-mount` plus the argument) through the preflight; prints the
/// preflight error and returns exit code 2 on failure.
async fn resolve(ctx: &Ctx, client: &Client, arg: &str, join_mount: bool) -> Result<Target, u8> {
    let mount_flag = ctx.flags.str("mount");
    let partial = sanitize_path(arg);
    let result = if mount_flag.is_empty() {
        preflight(client, &partial).await
    } else {
        preflight(client, &sanitize_path(&mount_flag)).await
    };
    let (mut mount, v2) = result.map_err(|e| {
        error(&e);
        EXIT_API
    })?;
    let mut partial = partial;
    if !mount_flag.is_empty() && v2 {
        if join_mount {
            partial = join(&[&mount, &partial]);
        } else {
            mount = sanitize_path(&mount_flag);
        }
    }
    Ok(Target {
        mount,
        v2,
        partial,
        mount_flag: !mount_flag.is_empty(),
    })
}

fn kv_flags(extra: u8) -> FlagSet {
    let mut flags = FlagSet::new(HTTP | FORMAT | extra);
    flags.string("mount", "");
    flags
}

/// `kvParseVersionsFlags`: every `-versions` value split on commas.
fn versions(ctx: &Ctx) -> Vec<String> {
    ctx.flags
        .get_list("versions")
        .iter()
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
        .collect()
}

/// `outputPath`: the `== title ==` header, the path and a blank line.
fn output_path(path: &str, title: &str) {
    output(&pad_equal_signs(title, path.len()));
    output(path);
    output("");
}

fn output_map_block(title: &str, data: &Map<String, Value>) {
    output(&header_for_map(title, data));
    if let Some(table) = map_table(data) {
        output(&table);
    }
}

/// The output of `kv put` and `kv patch` after a successful write.
fn written_output(ctx: &Ctx, path: &str, result: Result<Option<Secret>, WriteFailure>) -> u8 {
    let secret = match result {
        Err(failure) => {
            error(&format!("Error writing data to {path}: {}", failure.error));
            if let Some(secret) = failure.secret {
                ctx.output_secret(&secret);
            }
            return EXIT_API;
        }
        Ok(None) => {
            if ctx.is_table() {
                output(&format!("Success! Data written to: {path}"));
            }
            return 0;
        }
        Ok(Some(secret)) => secret,
    };
    if !ctx.field.is_empty() {
        return ctx.print_secret_field(&secret, &ctx.field);
    }
    if secret.wrap_info.as_ref().is_some_and(|w| w.ttl != 0) || !ctx.is_table() {
        return ctx.output_secret(&secret);
    }
    output_path(path, "Secret Path");
    output_map_block("Metadata", &secret.data_map());
    0
}

/// `kv put [-cas=N] [-mount=M] PATH K=V...`.
pub(crate) async fn put(args: Vec<String>) -> u8 {
    let mut flags = kv_flags(FIELD);
    flags.int("cas", &[], -1);
    let (ctx, args) = parse_or_return!(flags, args, "kv put [options] KEY [DATA]", false);
    match args.len() {
        0 => return arg_count_error(">1", 0, false),
        1 => {
            error("Must supply data");
            return EXIT_LOCAL;
        }
        _ => {}
    }
    let client = client_or_return!(ctx);
    let data = match args_data::parse(&args[1..], ctx.non_interactive) {
        Ok(data) => data,
        Err(e) => {
            error(&format!("Failed to parse K=V data: {e}"));
            return EXIT_LOCAL;
        }
    };
    let target = match resolve(&ctx, &client, &args[0], true).await {
        Ok(target) => target,
        Err(code) => return code,
    };
    let path = target.api_path("data");
    let body = if target.v2 {
        let mut options = Map::new();
        let cas = ctx.flags.get_int("cas");
        if cas > -1 {
            options.insert("cas".into(), json!(cas));
        }
        json!({ "data": data, "options": options })
    } else {
        Value::Object(data)
    };
    written_output(&ctx, &path, client.write(&path, body).await)
}

/// `kv get [-version=N] [-field=F] [-mount=M] PATH`.
pub(crate) async fn get(args: Vec<String>) -> u8 {
    let mut flags = kv_flags(FIELD);
    flags.int("version", &[], 0);
    let (ctx, args) = parse_or_return!(flags, args, "kv get [options] KEY", false);
    if args.len() != 1 {
        return arg_count_error("1", args.len(), !args.is_empty());
    }
    let client = client_or_return!(ctx);
    let target = match resolve(&ctx, &client, &args[0], true).await {
        Ok(target) => target,
        Err(code) => return code,
    };
    let path = target.api_path("data");
    let version = ctx.flags.get_int("version");
    let query = if target.v2 && version > 0 {
        vec![("version".to_owned(), version.to_string())]
    } else {
        Vec::new()
    };
    let secret = match client.read(&path, &query).await {
        Err(e) => {
            error(&format!("Error reading {path}: {e}"));
            return EXIT_API;
        }
        Ok(None) => {
            error(&format!("No value found at {path}"));
            return EXIT_API;
        }
        Ok(Some(secret)) => secret,
    };
    if !ctx.field.is_empty() {
        if !target.v2 {
            return ctx.print_secret_field(&secret, &ctx.field);
        }
        return match secret.data_field("data") {
            Some(Value::Object(data)) if ctx.field == "data" && !data.contains_key("data") => {
                ctx.print_secret_field(&secret, "data")
            }
            Some(Value::Object(data)) => ctx.print_map_field(data, &ctx.field),
            Some(other) if !other.is_null() => ctx.print_map_field(&Map::new(), &ctx.field),
            _ => {
                error(&format!("No data found at {path}"));
                EXIT_API
            }
        };
    }
    if secret.wrap_info.is_some() || !ctx.is_table() {
        return ctx.output_secret(&secret);
    }
    if let Some(warnings) = warnings_text(&secret) {
        eprint!("{warnings}");
    }
    if target.v2 {
        output_path(&path, "Secret Path");
    }
    if let Some(Value::Object(metadata)) = secret.data_field("metadata") {
        output_map_block("Metadata", metadata);
        output("");
    }
    let data = if target.v2 {
        secret
            .data_field("data")
            .and_then(Value::as_object)
            .cloned()
    } else {
        secret.data
    };
    if let Some(data) = data {
        output_map_block("Data", &data);
    }
    0
}

/// `kv patch [-method=patch|rw] [-cas=N] [-remove-data=K] PATH K=V...`.
pub(crate) async fn patch(args: Vec<String>) -> u8 {
    let mut flags = kv_flags(FIELD);
    flags
        .int("cas", &[], 0)
        .string("method", "")
        .list("remove-data");
    let (ctx, args) = parse_or_return!(flags, args, "kv patch [options] KEY [DATA]", false);
    let remove = ctx.flags.get_list("remove-data");
    if args.is_empty() {
        return arg_count_error(">1", 0, false);
    }
    if remove.is_empty() && args.len() == 1 {
        error("Must supply data");
        return EXIT_LOCAL;
    }
    let client = client_or_return!(ctx);
    let mut data = match args_data::parse(&args[1..], ctx.non_interactive) {
        Ok(data) => data,
        Err(e) => {
            error(&format!("Failed to parse K=V data: {e}"));
            return EXIT_LOCAL;
        }
    };
    let target = match resolve(&ctx, &client, &args[0], true).await {
        Ok(target) => target,
        Err(code) => return code,
    };
    if !target.v2 {
        error("K/V engine mount must be version 2 for patch support");
        return EXIT_API;
    }
    let path = target.api_path("data");
    for key in remove {
        data.insert(key, Value::Null);
    }
    let method = ctx.flags.str("method");
    let result = match method.as_str() {
        "rw" => read_then_write(&client, &path, data).await,
        "" | "patch" => {
            let mut options = Map::new();
            let cas = ctx.flags.get_int("cas");
            if cas > 0 {
                options.insert("cas".into(), json!(cas));
            }
            let body = json!({ "data": data.clone(), "options": options });
            match client.patch(&path, body).await {
                Err(failure) if method.is_empty() && failure.error.status() == Some(405) => {
                    read_then_write(&client, &path, data).await
                }
                Err(failure) if method.is_empty() && failure.error.status() == Some(403) => {
                    error(&format!(
                        "Data was written to {path} but we recommend that you add the \"patch\" \
                         capability to your ACL policy in order to use HTTP PATCH in the future."
                    ));
                    read_then_write(&client, &path, data).await
                }
                other => Ok(other),
            }
        }
        other => {
            error(&format!(
                "Unsupported method provided to -method flag: {other}"
            ));
            return EXIT_API;
        }
    };
    match result {
        Ok(result) => written_output(&ctx, &path, result),
        Err(code) => code,
    }
}

/// The `-method=rw` patch: read the current version, merge, write with `cas` set to it.
async fn read_then_write(
    client: &Client,
    path: &str,
    new: Map<String, Value>,
) -> Result<Result<Option<Secret>, WriteFailure>, u8> {
    let fail = |message: String| {
        error(&message);
        EXIT_API
    };
    let secret = client
        .read(path, &[])
        .await
        .map_err(|e| fail(format!("Error doing pre-read at {path}: {e}")))?
        .filter(|s| s.data.is_some())
        .ok_or_else(|| fail(format!("No value found at {path}")))?;
    let Some(Value::Object(meta)) = secret.data_field("metadata") else {
        return Err(fail(format!(
            "No metadata found at {path}; patch only works on existing data"
        )));
    };
    let Some(Value::Object(data)) = secret.data_field("data") else {
        return Err(fail(format!(
            "No data found at {path}; patch only works on existing data"
        )));
    };
    let mut data = data.clone();
    data.extend(new);
    let body = json!({ "data": data, "options": { "cas": meta.get("version").cloned().unwrap_or(Value::Null) } });
    Ok(client.write(path, body).await)
}

/// `kv delete [-versions=1,2] [-mount=M] PATH`.
pub(crate) async fn delete(args: Vec<String>) -> u8 {
    let mut flags = kv_flags(FIELD);
    flags.list("versions");
    let (ctx, args) = parse_or_return!(flags, args, "kv delete [options] PATH", false);
    if args.len() != 1 {
        return arg_count_error("1", args.len(), !args.is_empty());
    }
    let client = client_or_return!(ctx);
    let target = match resolve(&ctx, &client, &args[0], true).await {
        Ok(target) => target,
        Err(code) => return code,
    };
    let path = target.api_path("data");
    let versions = versions(&ctx);
    let result = if target.v2 && !versions.is_empty() {
        client
            .write(&target.api_path("delete"), json!({ "versions": versions }))
            .await
            .map_err(|f| f.error)
    } else {
        client.delete(&path, &[]).await
    };
    match result {
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

/// `kv list [-mount=M] [PATH]`.
pub(crate) async fn list(args: Vec<String>) -> u8 {
    let (ctx, mut args) = parse_or_return!(kv_flags(0), args, "kv list [options] PATH", false);
    match args.len() {
        0 if ctx.flags.str("mount").is_empty() => return arg_count_error("1", 0, false),
        0 => args.push(String::new()),
        1 => {}
        n => return arg_count_error("1", n, true),
    }
    let client = client_or_return!(ctx);
    let target = match resolve(&ctx, &client, &args[0], true).await {
        Ok(target) => target,
        Err(code) => return code,
    };
    let path = target.api_path("metadata");
    match client.list(&path).await {
        Err(e) => {
            error(&format!("Error listing {path}: {e}"));
            EXIT_API
        }
        Ok(secret) => list_output(&ctx, &path, secret),
    }
}

/// `kv undelete` and `kv destroy`: `-versions` written to `<mount>/undelete|destroy/<key>`.
pub(crate) async fn versions_command(args: Vec<String>, action: &str) -> u8 {
    let mut flags = kv_flags(0);
    flags.list("versions");
    let usage = format!("kv {action} [options] KEY");
    let (ctx, args) = parse_or_return!(flags, args, &usage, false);
    if args.len() != 1 {
        return arg_count_error("1", args.len(), !args.is_empty());
    }
    let versions = versions(&ctx);
    if versions.is_empty() {
        error(&format!(
            "No versions provided, use the \"-versions\" flag to specify the version to {action}."
        ));
        return EXIT_LOCAL;
    }
    let client = client_or_return!(ctx);
    let target = match resolve(&ctx, &client, &args[0], action != "undelete").await {
        Ok(target) => target,
        Err(code) => return code,
    };
    if !target.v2 {
        let name = if action == "undelete" {
            "Undelete"
        } else {
            "Destroy"
        };
        error(&format!("{name} not supported on KV Version 1"));
        return EXIT_LOCAL;
    }
    let path = target.api_path(action);
    match client.write(&path, json!({ "versions": versions })).await {
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
        Ok(Some(secret)) => ctx.output_secret(&secret),
    }
}

/// `kv metadata get [-mount=M] PATH`.
pub(crate) async fn metadata_get(args: Vec<String>) -> u8 {
    let (ctx, args) = parse_or_return!(kv_flags(0), args, "kv metadata get [options] KEY", false);
    if args.len() != 1 {
        return arg_count_error("1", args.len(), !args.is_empty());
    }
    let client = client_or_return!(ctx);
    let target = match resolve(&ctx, &client, &args[0], true).await {
        Ok(target) => target,
        Err(code) => return code,
    };
    if !target.v2 {
        error("Metadata not supported on KV Version 1");
        return EXIT_LOCAL;
    }
    let path = target.api_path("metadata");
    let mut secret = match client.read(&path, &[]).await {
        Err(e) => {
            error(&format!("Error reading {path}: {e}"));
            return EXIT_API;
        }
        Ok(None) => {
            error(&format!("No value found at {path}"));
            return EXIT_API;
        }
        Ok(Some(secret)) => secret,
    };
    if secret.wrap_info.is_some() || !ctx.is_table() {
        return ctx.output_secret(&secret);
    }
    let Some(Value::Object(versions)) = secret.data.as_mut().and_then(|d| d.remove("versions"))
    else {
        error(&format!("No value found at {path}"));
        ctx.output_secret(&secret);
        return EXIT_API;
    };
    output_path(&path, "Metadata Path");
    output(&header_for_map("Metadata", &secret.data_map()));
    ctx.output_secret(&secret);
    let mut numbers = Vec::new();
    for key in versions.keys() {
        match key.parse::<i64>() {
            Ok(n) => numbers.push(n),
            Err(_) => {
                error(&format!("Error parsing version {key}"));
                return EXIT_API;
            }
        }
    }
    numbers.sort_unstable();
    for n in numbers {
        let version = versions[&n.to_string()]
            .as_object()
            .cloned()
            .unwrap_or_default();
        output(&format!(
            "\n{}",
            header_for_map(&format!("Version {n}"), &version)
        ));
        if let Some(table) = map_table(&version) {
            output(&table);
        }
    }
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kv_paths_get_their_api_prefix() {
        assert_eq!(
            add_prefix("secret/foo", "secret/", "data"),
            "secret/data/foo"
        );
        assert_eq!(
            add_prefix("secret", "secret/", "metadata"),
            "secret/metadata"
        );
        assert_eq!(
            add_prefix("secret/a/b", "secret/", "delete"),
            "secret/delete/a/b"
        );
        assert_eq!(
            add_prefix("foo", "secret", "undelete"),
            "secret/undelete/foo"
        );
        assert_eq!(join(&["secret/", "", "x/"]), "secret/x");
    }
}
