//! `token create|lookup|renew|revoke|capabilities` and `policy write|read|list|delete`.

use std::io::Read;

use serde_json::{Map, Value, json};

use super::base::{Ctx, EXIT_API, EXIT_LOCAL, arg_count_error, error, output};
use super::flags::{FIELD, FORMAT, FlagSet, HTTP};
use super::format::{go_duration, go_quote};
use super::logical::{client_or_return, parse_or_return};
use crate::api_client::{Body, Secret, WriteFailure, io_text};

/// Prints a token answer: `-field`, else the secret.
fn token_output(ctx: &Ctx, secret: Option<Secret>) -> u8 {
    match secret {
        Some(secret) if !ctx.field.is_empty() => ctx.print_secret_field(&secret, &ctx.field),
        Some(secret) => ctx.output_secret(&secret),
        None => 0,
    }
}

fn failure_text(failure: &WriteFailure) -> String {
    failure.error.to_string()
}

/// `token create`.
pub(crate) async fn create(args: Vec<String>) -> u8 {
    let mut flags = FlagSet::new(HTTP | FIELD | FORMAT);
    flags
        .string("id", "")
        .string("display-name", "")
        .duration("ttl")
        .duration("explicit-max-ttl")
        .duration("period")
        .bool_aliased("renewable", &[], true)
        .bool("orphan")
        .bool("no-default-policy")
        .int("use-limit", &[], 0)
        .string("role", "")
        .string("type", "service")
        .map("metadata")
        .list("policy")
        .string("entity-alias", "");
    let (ctx, args) = parse_or_return!(flags, args, "token create [options]", false);
    if !args.is_empty() {
        return arg_count_error("0", args.len(), true);
    }
    let f = &ctx.flags;
    let kind = f.str("type");
    let renewable = f.get_bool("renewable") && kind != "batch";
    let client = client_or_return!(ctx);
    let mut body = Map::new();
    let id = f.str("id");
    if !id.is_empty() {
        body.insert("id".into(), json!(id));
    }
    let policies = f.get_list("policy");
    if !policies.is_empty() {
        body.insert("policies".into(), json!(policies));
    }
    if let Some(meta) = f.get_map("metadata").filter(|m| !m.is_empty()) {
        body.insert("meta".into(), Value::Object(meta));
    }
    body.insert("ttl".into(), json!(go_duration(f.get_duration("ttl"))));
    body.insert(
        "explicit_max_ttl".into(),
        json!(go_duration(f.get_duration("explicit-max-ttl"))),
    );
    body.insert(
        "period".into(),
        json!(go_duration(f.get_duration("period"))),
    );
    if f.get_bool("orphan") {
        body.insert("no_parent".into(), json!(true));
    }
    if f.get_bool("no-default-policy") {
        body.insert("no_default_policy".into(), json!(true));
    }
    body.insert("display_name".into(), json!(f.str("display-name")));
    body.insert("num_uses".into(), json!(f.get_int("use-limit")));
    body.insert("renewable".into(), json!(renewable));
    body.insert("type".into(), json!(kind));
    body.insert("entity_alias".into(), json!(f.str("entity-alias")));
    let role = f.str("role");
    let path = if role.is_empty() {
        "auth/token/create".to_owned()
    } else {
        format!("auth/token/create/{role}")
    };
    match client
        .send("POST", &path, Some(Body::Json(Value::Object(body))))
        .await
    {
        Ok(secret) => token_output(&ctx, secret),
        Err(failure) => {
            error(&format!("Error creating token: {}", failure_text(&failure)));
            EXIT_API
        }
    }
}

/// `token lookup [-accessor] [TOKEN|ACCESSOR]`.
pub(crate) async fn lookup(args: Vec<String>) -> u8 {
    let mut flags = FlagSet::new(HTTP | FIELD | FORMAT);
    flags.bool("accessor");
    let (ctx, args) = parse_or_return!(
        flags,
        args,
        "token lookup [options] [TOKEN | ACCESSOR]",
        false
    );
    let accessor = ctx.flags.get_bool("accessor");
    match (accessor, args.len()) {
        (true, 0) => {
            error("Not enough arguments with -accessor (expected 1, got 0)");
            return EXIT_LOCAL;
        }
        (true, n) if n > 1 => {
            error(&format!(
                "Too many arguments with -accessor (expected 1, got {n})"
            ));
            return EXIT_LOCAL;
        }
        (false, n) if n > 1 => return arg_count_error("0-1", n, true),
        _ => {}
    }
    let token = args
        .first()
        .map(|t| t.trim().to_owned())
        .unwrap_or_default();
    let client = client_or_return!(ctx);
    let result = if token.is_empty() {
        client.send("GET", "auth/token/lookup-self", None).await
    } else if accessor {
        let body = Body::Json(json!({ "accessor": token }));
        client
            .send("POST", "auth/token/lookup-accessor", Some(body))
            .await
    } else {
        let body = Body::Json(json!({ "token": token }));
        client.send("POST", "auth/token/lookup", Some(body)).await
    };
    match result {
        Ok(secret) => token_output(&ctx, secret),
        Err(failure) => {
            error(&format!(
                "Error looking up token: {}",
                failure_text(&failure)
            ));
            EXIT_API
        }
    }
}

/// `token renew [-increment=D] [-accessor] [TOKEN]`.
pub(crate) async fn renew(args: Vec<String>) -> u8 {
    let mut flags = FlagSet::new(HTTP | FORMAT);
    flags.bool("accessor").duration("increment");
    let (ctx, args) = parse_or_return!(flags, args, "token renew [options] [TOKEN]", false);
    if args.len() > 1 {
        return arg_count_error("1", args.len(), true);
    }
    let token = args
        .first()
        .map(|t| t.trim().to_owned())
        .unwrap_or_default();
    let increment = ctx.flags.get_duration("increment").max(0) / 1_000_000_000;
    let client = client_or_return!(ctx);
    let (method, path, body) = if token.is_empty() {
        (
            "PUT",
            "auth/token/renew-self",
            json!({ "increment": increment }),
        )
    } else if ctx.flags.get_bool("accessor") {
        (
            "POST",
            "auth/token/renew-accessor",
            json!({ "accessor": token, "increment": increment }),
        )
    } else {
        (
            "PUT",
            "auth/token/renew",
            json!({ "token": token, "increment": increment }),
        )
    };
    match client.send(method, path, Some(Body::Json(body))).await {
        Ok(Some(secret)) => ctx.output_secret(&secret),
        Ok(None) => 0,
        Err(failure) => {
            error(&format!("Error renewing token: {}", failure_text(&failure)));
            EXIT_API
        }
    }
}

/// `token revoke [-self | -accessor | -mode=orphan|path] [TOKEN]`.
pub(crate) async fn revoke(args: Vec<String>) -> u8 {
    let mut flags = FlagSet::new(HTTP);
    flags.bool("accessor").bool("self").string("mode", "");
    let (ctx, args) = parse_or_return!(
        flags,
        args,
        "token revoke [options] [TOKEN | ACCESSOR]",
        false
    );
    let (accessor, own, mode) = (
        ctx.flags.get_bool("accessor"),
        ctx.flags.get_bool("self"),
        ctx.flags.str("mode"),
    );
    let token = args
        .first()
        .map(|t| t.trim().to_owned())
        .unwrap_or_default();
    if !matches!(mode.as_str(), "" | "orphan" | "path") {
        error(&format!("Invalid mode: {mode}"));
        return EXIT_LOCAL;
    }
    let problem = match () {
        () if own && !args.is_empty() => Some(format!(
            "Too many arguments with -self (expected 0, got {})",
            args.len()
        )),
        () if !own && args.len() > 1 => Some(format!(
            "Too many arguments (expected 1 or -self, got {})",
            args.len()
        )),
        () if !own && args.is_empty() => {
            Some("Not enough arguments (expected 1 or -self, got 0)".to_owned())
        }
        () if own && accessor => Some("Cannot use -self with -accessor!".to_owned()),
        () if own && !mode.is_empty() => Some("Cannot use -self with -mode!".to_owned()),
        () if accessor && !mode.is_empty() => {
            Some(format!("Cannot use -accessor with -mode={mode}!"))
        }
        () => None,
    };
    if let Some(problem) = problem {
        error(&problem);
        return EXIT_LOCAL;
    }
    let client = client_or_return!(ctx);
    let (method, path, body) = match (own, accessor, mode.as_str()) {
        (true, _, _) => ("PUT", "auth/token/revoke-self".to_owned(), None),
        (_, true, _) => (
            "POST",
            "auth/token/revoke-accessor".to_owned(),
            Some(json!({ "accessor": token })),
        ),
        (_, _, "orphan") => (
            "PUT",
            "auth/token/revoke-orphan".to_owned(),
            Some(json!({ "token": token })),
        ),
        (_, _, "path") => ("PUT", format!("sys/leases/revoke-prefix/{token}"), None),
        _ => (
            "PUT",
            "auth/token/revoke".to_owned(),
            Some(json!({ "token": token })),
        ),
    };
    if let Err(failure) = client.send(method, &path, body.map(Body::Json)).await {
        error(&format!("Error revoking token: {}", failure_text(&failure)));
        return EXIT_API;
    }
    output("Success! Revoked token (if it existed)");
    0
}

/// `token capabilities [TOKEN] PATH`.
pub(crate) async fn capabilities(args: Vec<String>) -> u8 {
    let flags = FlagSet::new(HTTP | FORMAT);
    let (ctx, args) = parse_or_return!(
        flags,
        args,
        "token capabilities [options] [TOKEN] PATH",
        false
    );
    let (token, path) = match args.as_slice() {
        [] => return arg_count_error("1-2", 0, false),
        [path] => (String::new(), path.clone()),
        [token, path] => (token.clone(), path.clone()),
        more => return arg_count_error("1-2", more.len(), true),
    };
    let client = client_or_return!(ctx);
    let endpoint = if token.is_empty() {
        "sys/capabilities-self"
    } else {
        "sys/capabilities"
    };
    let body = Body::Json(json!({ "token": token, "path": path }));
    let secret = match client.send("POST", endpoint, Some(body)).await {
        Ok(secret) => secret,
        Err(failure) => {
            error(&format!(
                "Error listing capabilities: {}",
                failure_text(&failure)
            ));
            return EXIT_API;
        }
    };
    let Some(data) = secret.and_then(|s| s.data) else {
        error("Error listing capabilities: data from server response is empty");
        return EXIT_API;
    };
    let list = |v: Option<&Value>| -> Vec<String> {
        v.and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|c| c.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut caps = list(data.get(&path));
    if caps.is_empty() {
        caps = list(data.get("capabilities"));
    }
    if caps.is_empty() {
        error("No capabilities found");
        return EXIT_LOCAL;
    }
    if ctx.is_table() {
        caps.sort();
        output(&caps.join(", "));
        0
    } else {
        ctx.output_data(&json!(caps))
    }
}

/// `policy write NAME PATH|-`.
pub(crate) async fn policy_write(args: Vec<String>) -> u8 {
    let (ctx, args) = parse_or_return!(
        FlagSet::new(HTTP),
        args,
        "policy write [options] NAME PATH",
        false
    );
    if args.len() != 2 {
        return arg_count_error("2", args.len(), args.len() > 2);
    }
    let client = client_or_return!(ctx);
    let name = args[0].clone();
    let formatted = name.trim().to_lowercase();
    let file = args[1].trim();
    let rules = if file == "-" {
        let mut text = String::new();
        if let Err(e) = std::io::stdin().read_to_string(&mut text) {
            error(&format!("Error reading policy: {e}"));
            return EXIT_API;
        }
        text
    } else {
        match std::fs::read_to_string(file) {
            Ok(text) => text,
            Err(e) => {
                error(&format!(
                    "Error opening policy file: open {file}: {}",
                    io_text(&e)
                ));
                return EXIT_API;
            }
        }
    };
    let path = format!("sys/policies/acl/{formatted}");
    if let Err(failure) = client.write(&path, json!({ "policy": rules })).await {
        error(&format!(
            "Error uploading policy: {}",
            failure_text(&failure)
        ));
        return EXIT_API;
    }
    if name != formatted {
        error(&format!(
            "Policy name was converted from {} to {}",
            go_quote(&name),
            go_quote(&formatted)
        ));
    }
    output(&format!("Success! Uploaded policy: {formatted}"));
    0
}

/// `policy read NAME`.
pub(crate) async fn policy_read(args: Vec<String>) -> u8 {
    let flags = FlagSet::new(HTTP | FORMAT);
    let (ctx, args) = parse_or_return!(flags, args, "policy read [options] [NAME]", false);
    if args.len() != 1 {
        return arg_count_error("1", args.len(), !args.is_empty());
    }
    let client = client_or_return!(ctx);
    let name = args[0].trim().to_lowercase();
    let rules = match client
        .raw("GET", &format!("sys/policies/acl/{name}"), &[], None)
        .await
    {
        Err((_, Some(response))) if response.status == 404 => String::new(),
        Err((e, _)) => {
            error(&format!("Error reading policy named {name}: {e}"));
            return EXIT_API;
        }
        Ok(response) => match Secret::parse(&response.body) {
            Ok(Some(secret)) => match secret.data_field("policy").and_then(Value::as_str) {
                Some(rules) => rules.to_owned(),
                None => {
                    error(&format!(
                        "Error reading policy named {name}: no policy found in response"
                    ));
                    return EXIT_API;
                }
            },
            _ => {
                error(&format!(
                    "Error reading policy named {name}: data from server response is empty"
                ));
                return EXIT_API;
            }
        },
    };
    if rules.is_empty() {
        error(&format!("No policy named: {name}"));
        return EXIT_API;
    }
    if ctx.is_table() {
        output(rules.trim());
        0
    } else {
        ctx.output_data(&json!({ "policy": rules }))
    }
}

/// `policy list`.
pub(crate) async fn policy_list(args: Vec<String>) -> u8 {
    let flags = FlagSet::new(HTTP | FORMAT);
    let (ctx, args) = parse_or_return!(flags, args, "policy list [options]", false);
    if !args.is_empty() {
        return arg_count_error("0", args.len(), true);
    }
    let client = client_or_return!(ctx);
    let keys = match client.list("sys/policies/acl").await {
        Ok(Some(secret)) if secret.data.is_some() => {
            secret.data_field("keys").cloned().unwrap_or(Value::Null)
        }
        Ok(_) => {
            error("Error listing policies: data from server response is empty");
            return EXIT_API;
        }
        Err(e) => {
            error(&format!("Error listing policies: {e}"));
            return EXIT_API;
        }
    };
    if !ctx.is_table() {
        return ctx.output_data(&keys);
    }
    for key in keys.as_array().into_iter().flatten() {
        output(key.as_str().unwrap_or_default());
    }
    0
}

/// `policy delete NAME`.
pub(crate) async fn policy_delete(args: Vec<String>) -> u8 {
    let (ctx, args) = parse_or_return!(
        FlagSet::new(HTTP),
        args,
        "policy delete [options] NAME",
        false
    );
    if args.len() != 1 {
        return arg_count_error("1", args.len(), !args.is_empty());
    }
    let client = client_or_return!(ctx);
    let name = args[0].trim().to_lowercase();
    if let Err(e) = client
        .delete(&format!("sys/policies/acl/{name}"), &[])
        .await
    {
        error(&format!("Error deleting {name}: {e}"));
        return EXIT_API;
    }
    output(&format!("Success! Deleted policy: {name}"));
    0
}
