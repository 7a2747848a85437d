//! `auth enable|disable|list|tune`, `secrets enable|disable|list|tune` and
//! `audit enable|disable|list`: the mount tables under `sys/auth`, `sys/mounts`, `sys/audit`.

use serde_json::{Map, Value, json};

use super::args_data;
use super::base::{
    Ctx, EXIT_API, EXIT_LOCAL, arg_count_error, ensure_trailing_slash, error, output, sanitize_path,
};
use super::flags::{DETAILED, FORMAT, FlagSet, HTTP};
use super::format::{go_duration, go_value, table_output};
use super::logical::{client_or_return, parse_or_return};
use crate::api_client::{Client, Secret, sorted_keys};

const AUDIT_REQUEST_KEYS: &str = "audit-non-hmac-request-keys";
const AUDIT_RESPONSE_KEYS: &str = "audit-non-hmac-response-keys";
const PASSTHROUGH: &str = "passthrough-request-headers";
const ALLOWED: &str = "allowed-response-headers";

/// The flags `auth enable`, `secrets enable` and both `tune` commands share.
fn mount_flags(tune: bool) -> FlagSet {
    let mut flags = FlagSet::new(HTTP);
    flags
        .string("description", "")
        .duration("default-lease-ttl")
        .duration("max-lease-ttl")
        .list(AUDIT_REQUEST_KEYS)
        .list(AUDIT_RESPONSE_KEYS)
        .string("listing-visibility", "")
        .list(PASSTHROUGH)
        .list(ALLOWED)
        .map("options")
        .string("token-type", "")
        .int("version", &[], 0)
        .string("plugin-version", "");
    if !tune {
        flags
            .string("path", "")
            .string("plugin-name", "")
            .bool("local")
            .bool("seal-wrap")
            .bool("external-entropy-access")
            .bool("force-no-cache");
    }
    flags
}

/// The `config` block: TTLs plus the options that were set.
fn mount_config(ctx: &Ctx, ttl: impl Fn(i64) -> String, auth: bool) -> Map<String, Value> {
    let flags = &ctx.flags;
    let mut config = Map::new();
    config.insert(
        "default_lease_ttl".into(),
        json!(ttl(flags.get_duration("default-lease-ttl"))),
    );
    config.insert(
        "max_lease_ttl".into(),
        json!(ttl(flags.get_duration("max-lease-ttl"))),
    );
    for (flag, key) in [
        (AUDIT_REQUEST_KEYS, "audit_non_hmac_request_keys"),
        (AUDIT_RESPONSE_KEYS, "audit_non_hmac_response_keys"),
        (PASSTHROUGH, "passthrough_request_headers"),
        (ALLOWED, "allowed_response_headers"),
    ] {
        if flags.is_set(flag) {
            config.insert(key.into(), json!(flags.get_list(flag)));
        }
    }
    for (flag, key) in [
        ("listing-visibility", "listing_visibility"),
        ("plugin-version", "plugin_version"),
    ] {
        if flags.is_set(flag) {
            config.insert(key.into(), json!(flags.str(flag)));
        }
    }
    if auth && flags.is_set("token-type") {
        config.insert("token_type".into(), json!(flags.str("token-type")));
    }
    config
}

fn mount_options(ctx: &Ctx) -> Value {
    let mut options = ctx.flags.get_map("options");
    let version = ctx.flags.get_int("version");
    if version > 0 {
        options
            .get_or_insert_with(Map::new)
            .insert("version".into(), json!(version.to_string()));
    }
    options.map_or(Value::Null, Value::Object)
}

/// Vault's `ttlToAPI`: unset is empty, negative is `system`.
fn ttl_to_api(nanos: i64) -> String {
    match nanos {
        0 => String::new(),
        n if n < 0 => "system".into(),
        n => go_duration(n),
    }
}

/// `auth enable` and `secrets enable`.
pub(crate) async fn enable(args: Vec<String>, auth: bool) -> u8 {
    let usage = if auth {
        "auth enable [options] TYPE"
    } else {
        "secrets enable [options] TYPE"
    };
    let (ctx, args) = parse_or_return!(mount_flags(false), args, usage, false);
    if args.len() != 1 {
        return arg_count_error("1", args.len(), !args.is_empty());
    }
    let client = client_or_return!(ctx);
    let mut kind = args[0].trim().to_owned();
    if kind == "plugin" {
        kind = ctx.flags.str("plugin-name");
    }
    let path = match ctx.flags.str("path") {
        p if p.is_empty() => kind.clone(),
        p => p,
    };
    let path = ensure_trailing_slash(&path);
    let mut config = mount_config(&ctx, go_duration, auth);
    if !auth {
        config.insert(
            "force_no_cache".into(),
            json!(ctx.flags.get_bool("force-no-cache")),
        );
    }
    let body = json!({
        "type": kind,
        "description": ctx.flags.str("description"),
        "config": config,
        "local": ctx.flags.get_bool("local"),
        "seal_wrap": ctx.flags.get_bool("seal-wrap"),
        "external_entropy_access": ctx.flags.get_bool("external-entropy-access"),
        "options": mount_options(&ctx),
    });
    let table = if auth { "sys/auth" } else { "sys/mounts" };
    if let Err(e) = client
        .json("POST", &format!("{table}/{path}"), Some(body))
        .await
    {
        if auth {
            error(&format!("Error enabling {kind} auth: {e}"));
        } else {
            error(&format!("Error enabling: {e}"));
        }
        return EXIT_API;
    }
    let mut thing = if auth {
        format!("{kind} auth method")
    } else {
        format!("the {kind} secrets engine")
    };
    let plugin_version = ctx.flags.str("plugin-version");
    if !plugin_version.is_empty() {
        thing.push_str(&format!(" version {plugin_version}"));
    }
    output(&format!("Success! Enabled {thing} at: {path}"));
    0
}

/// `auth disable`, `secrets disable` and `audit disable`.
pub(crate) async fn disable(args: Vec<String>, table: &str) -> u8 {
    let usage = format!("{} disable [options] PATH", table_command(table));
    let (ctx, args) = parse_or_return!(FlagSet::new(HTTP), args, &usage, false);
    if args.len() != 1 {
        return arg_count_error("1", args.len(), !args.is_empty());
    }
    let path = ensure_trailing_slash(&sanitize_path(&args[0]));
    let client = client_or_return!(ctx);
    let result = client
        .json("DELETE", &format!("{table}/{path}"), None)
        .await;
    let (failure, success) = match table {
        "sys/auth" => (
            format!("Error disabling auth method at {path}"),
            format!("Success! Disabled the auth method (if it existed) at: {path}"),
        ),
        "sys/mounts" => (
            format!("Error disabling secrets engine at {path}"),
            format!("Success! Disabled the secrets engine (if it existed) at: {path}"),
        ),
        _ => (
            "Error disabling audit device".to_owned(),
            format!("Success! Disabled audit device (if it was enabled) at: {path}"),
        ),
    };
    match result {
        Err(e) => {
            error(&format!("{failure}: {e}"));
            EXIT_API
        }
        Ok(_) => {
            output(&success);
            0
        }
    }
}

fn table_command(table: &str) -> &'static str {
    match table {
        "sys/auth" => "auth",
        "sys/mounts" => "secrets",
        _ => "audit",
    }
}

/// `GET sys/auth|mounts|audit` decoded as the Go client does (`data`, else the top level).
async fn mount_map(client: &Client, table: &str) -> Result<Map<String, Value>, String> {
    let response = client
        .raw("GET", table, &[], None)
        .await
        .map_err(|(e, _)| e.to_string())?;
    Secret::parse(&response.body)?
        .and_then(|s| s.data)
        .ok_or_else(|| "data from server response is empty".to_owned())
}

fn field(mount: &Value, key: &str) -> String {
    match &mount[key] {
        Value::Null => String::new(),
        other => go_value(other),
    }
}

fn ttl_cell(mount: &Value, key: &str) -> String {
    let kind = field(mount, "type");
    let ttl = mount["config"][key].as_i64().unwrap_or_default();
    match kind.as_str() {
        "system" | "cubbyhole" => String::new(),
        _ if ttl != 0 => ttl.to_string(),
        _ => "system".into(),
    }
}

/// `auth list` and `secrets list`.
pub(crate) async fn list(args: Vec<String>, auth: bool) -> u8 {
    let usage = if auth {
        "auth list [options]"
    } else {
        "secrets list [options]"
    };
    let (ctx, args) = parse_or_return!(FlagSet::new(HTTP | FORMAT | DETAILED), args, usage, false);
    if !args.is_empty() {
        return arg_count_error("0", args.len(), true);
    }
    let client = client_or_return!(ctx);
    let mounts = match mount_map(&client, if auth { "sys/auth" } else { "sys/mounts" }).await {
        Ok(mounts) => mounts,
        Err(e) if auth => {
            error(&format!("Error listing enabled authentications: {e}"));
            return EXIT_API;
        }
        Err(e) => {
            error(&format!("Error listing secrets engines: {e}"));
            return EXIT_API;
        }
    };
    if !ctx.is_table() {
        return ctx.output_data(&sorted_keys(&Value::Object(mounts)));
    }
    let mut paths: Vec<&String> = mounts.keys().collect();
    paths.sort();
    let detailed = ctx.flags.get_bool("detailed");
    let mut rows = vec![match (auth, detailed) {
        (true, false) => "Path | Type | Accessor | Description | Version".to_owned(),
        (false, false) => "Path | Type | Accessor | Description".to_owned(),
        (_, true) => format!(
            "Path | Plugin | Accessor | Default TTL | Max TTL | {} | Replication | Seal Wrap | \
             External Entropy Access | Options | Description | UUID | Version | Running Version \
             | Running SHA256 | Deprecation Status",
            if auth { "Token Type" } else { "Force No Cache" }
        ),
    }];
    for path in paths {
        let m = &mounts[path];
        let f = |key: &str| field(m, key);
        rows.push(if !detailed {
            let mut row = format!("{path} | {} | {} | {}", f("type"), f("accessor"), f("description"));
            if auth {
                row.push_str(&format!(" | {}", f("plugin_version")));
            }
            row
        } else {
            let middle = if auth {
                field(&m["config"], "token_type")
            } else {
                m["config"]["force_no_cache"].as_bool().unwrap_or_default().to_string()
            };
            let replication = if m["local"].as_bool().unwrap_or_default() { "local" } else { "replicated" };
            let options = match &m["options"] {
                Value::Null => "map[]".to_owned(),
                other => go_value(other),
            };
            format!(
                "{path} | {} | {} | {} | {} | {middle} | {replication} | {} | {} | {options} | {} | {} | {} | {} | {} | {}",
                f("type"),
                f("accessor"),
                ttl_cell(m, "default_lease_ttl"),
                ttl_cell(m, "max_lease_ttl"),
                m["seal_wrap"].as_bool().unwrap_or_default(),
                m["external_entropy_access"].as_bool().unwrap_or_default(),
                f("description"),
                f("uuid"),
                f("plugin_version"),
                f("running_plugin_version"),
                f("running_sha256"),
                f("deprecation_status"),
            )
        });
    }
    output(&table_output(rows, "|"));
    0
}

/// `auth tune` and `secrets tune`.
pub(crate) async fn tune(args: Vec<String>, auth: bool) -> u8 {
    let usage = if auth {
        "auth tune [options] PATH"
    } else {
        "secrets tune [options] PATH"
    };
    let (ctx, args) = parse_or_return!(mount_flags(true), args, usage, false);
    if args.len() != 1 {
        return arg_count_error("1", args.len(), !args.is_empty());
    }
    let client = client_or_return!(ctx);
    let mut body = mount_config(&ctx, ttl_to_api, true);
    body.insert("options".into(), mount_options(&ctx));
    body.insert("force_no_cache".into(), json!(false));
    if ctx.flags.is_set("description") {
        body.insert("description".into(), json!(ctx.flags.str("description")));
    }
    let path = ensure_trailing_slash(&sanitize_path(&args[0]));
    let api_path = if auth {
        format!("sys/mounts/auth/{path}tune")
    } else {
        format!("sys/mounts/{path}tune")
    };
    let what = if auth {
        "auth method"
    } else {
        "secrets engine"
    };
    if let Err(e) = client
        .json("POST", &api_path, Some(Value::Object(body)))
        .await
    {
        error(&format!("Error tuning {what} {path}: {e}"));
        return EXIT_API;
    }
    output(&format!("Success! Tuned the {what} at: {path}"));
    0
}

/// `audit enable TYPE [K=V...]`.
pub(crate) async fn audit_enable(args: Vec<String>) -> u8 {
    let mut flags = FlagSet::new(HTTP);
    flags
        .string("description", "")
        .string("path", "")
        .bool("local");
    let (ctx, args) = parse_or_return!(
        flags,
        args,
        "audit enable [options] TYPE [CONFIG K=V...]",
        false
    );
    let Some(kind) = args.first().map(|a| a.trim().to_owned()) else {
        error(
            "Error enabling audit device: audit type missing. Valid types include 'file', \
             'socket' and 'syslog'.",
        );
        return EXIT_LOCAL;
    };
    let path = match ctx.flags.str("path") {
        p if p.is_empty() => kind.clone(),
        p => p,
    };
    let path = ensure_trailing_slash(&path);
    let options = match args_data::parse_strings(&args[1..], ctx.non_interactive) {
        Ok(options) => options,
        Err(e) => {
            error(&format!("Failed to parse K=V data: {e}"));
            return EXIT_LOCAL;
        }
    };
    let client = client_or_return!(ctx);
    let options: Map<String, Value> = options.into_iter().map(|(k, v)| (k, json!(v))).collect();
    let body = json!({
        "type": kind,
        "description": ctx.flags.str("description"),
        "options": options,
        "local": ctx.flags.get_bool("local"),
    });
    if let Err(e) = client
        .json("PUT", &format!("sys/audit/{path}"), Some(body))
        .await
    {
        error(&format!("Error enabling audit device: {e}"));
        return EXIT_API;
    }
    output(&format!(
        "Success! Enabled the {kind} audit device at: {path}"
    ));
    0
}

/// `audit list [-detailed]`.
pub(crate) async fn audit_list(args: Vec<String>) -> u8 {
    let flags = FlagSet::new(HTTP | FORMAT | DETAILED);
    let (ctx, args) = parse_or_return!(flags, args, "audit list [options]", false);
    if !args.is_empty() {
        return arg_count_error("0", args.len(), true);
    }
    let client = client_or_return!(ctx);
    let audits = match mount_map(&client, "sys/audit").await {
        Ok(audits) => audits,
        Err(e) => {
            error(&format!("Error listing audits: {e}"));
            return EXIT_API;
        }
    };
    if !ctx.is_table() {
        return ctx.output_data(&sorted_keys(&Value::Object(audits)));
    }
    if audits.is_empty() {
        output("No audit devices are enabled.");
        return EXIT_API;
    }
    let detailed = ctx.flags.get_bool("detailed");
    let mut rows = vec![if detailed {
        "Path | Type | Description | Replication | Options".to_owned()
    } else {
        "Path | Type | Description".to_owned()
    }];
    let mut paths: Vec<&String> = audits.keys().collect();
    paths.sort();
    for path in paths {
        let a = &audits[path];
        if detailed {
            let mut options: Vec<String> = a["options"]
                .as_object()
                .map(|o| {
                    o.iter()
                        .map(|(k, v)| format!("{k}={}", go_value(v)))
                        .collect()
                })
                .unwrap_or_default();
            options.sort();
            let replication = if a["local"].as_bool().unwrap_or_default() {
                "local"
            } else {
                "replicated"
            };
            rows.push(format!(
                "{path} | {} | {} | {replication} | {}",
                field(a, "type"),
                field(a, "description"),
                options.join(" ")
            ));
        } else {
            rows.push(format!(
                "{} | {} | {}",
                field(a, "path"),
                field(a, "type"),
                field(a, "description")
            ));
        }
    }
    output(&table_output(rows, "|"));
    0
}
