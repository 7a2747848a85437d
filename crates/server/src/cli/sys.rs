//! `status` and `operator init|unseal|seal`: the seal lifecycle over the raw `sys/`
//! endpoints.

use std::io::{IsTerminal, Read};

use serde_json::{Map, Value, json};

use super::base::{Ctx, EXIT_API, EXIT_LOCAL, arg_count_error, error, output};
use super::flags::{FIELD, FORMAT, FlagSet, HTTP};
use super::format::{table_output, wrap_at_length};
use super::logical::{client_or_return, parse_or_return};
use crate::api_client::Client;

fn text(map: &Map<String, Value>, key: &str) -> String {
    map.get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

fn int(map: &Map<String, Value>, key: &str) -> i64 {
    map.get(key).and_then(Value::as_i64).unwrap_or_default()
}

fn flag(map: &Map<String, Value>, key: &str) -> bool {
    map.get(key).and_then(Value::as_bool).unwrap_or_default()
}

/// `SealStatusOutput`: the seal status plus the leader fields, in the Go struct's order
/// (its `omitempty` fields only when set).
fn seal_status_output(
    status: &Map<String, Value>,
    leader: &Map<String, Value>,
) -> Map<String, Value> {
    let mut out = Map::new();
    for key in [
        "type",
        "initialized",
        "sealed",
        "t",
        "n",
        "progress",
        "nonce",
        "version",
    ] {
        out.insert(
            key.into(),
            status.get(key).cloned().unwrap_or_else(|| match key {
                "initialized" | "sealed" => json!(false),
                "t" | "n" | "progress" => json!(0),
                _ => json!(""),
            }),
        );
    }
    out.insert("build_date".into(), json!(text(status, "build_date")));
    out.insert("migration".into(), json!(flag(status, "migration")));
    for key in ["cluster_name", "cluster_id"] {
        if !text(status, key).is_empty() {
            out.insert(key.into(), json!(text(status, key)));
        }
    }
    out.insert("recovery_seal".into(), json!(flag(status, "recovery_seal")));
    for key in ["recovery_seal_type", "storage_type"] {
        if !text(status, key).is_empty() {
            out.insert(key.into(), json!(text(status, key)));
        }
    }
    if let Some(warnings) = status
        .get("warnings")
        .filter(|w| w.as_array().is_some_and(|a| !a.is_empty()))
    {
        out.insert("warnings".into(), warnings.clone());
    }
    out.insert("ha_enabled".into(), json!(flag(leader, "ha_enabled")));
    if flag(leader, "is_self") {
        out.insert("is_self".into(), json!(true));
    }
    let active = text(leader, "active_time");
    if !active.is_empty() && !active.starts_with("0001-01-01") {
        out.insert("active_time".into(), json!(active));
    }
    for key in ["leader_address", "leader_cluster_address"] {
        if !text(leader, key).is_empty() {
            out.insert(key.into(), json!(text(leader, key)));
        }
    }
    for key in ["raft_committed_index", "raft_applied_index"] {
        if int(leader, key) > 0 {
            out.insert(key.into(), json!(int(leader, key)));
        }
    }
    out
}

/// The `status` table (`OutputSealStatusStruct`).
fn seal_status_table(s: &Map<String, Value>) -> String {
    let mut rows = vec!["Key | Value".to_owned()];
    let mut row = |k: &str, v: String| rows.push(format!("{k} | {v}"));
    let recovery = flag(s, "recovery_seal");
    row("Seal Type", text(s, "type"));
    if recovery {
        row("Recovery Seal Type", text(s, "recovery_seal_type"));
    }
    let prefix = if recovery { "Recovery " } else { "" };
    let sealed = flag(s, "sealed");
    row("Initialized", flag(s, "initialized").to_string());
    row("Sealed", sealed.to_string());
    row(&format!("Total {prefix}Shares"), int(s, "n").to_string());
    row("Threshold", int(s, "t").to_string());
    if sealed {
        row(
            "Unseal Progress",
            format!("{}/{}", int(s, "progress"), int(s, "t")),
        );
        row("Unseal Nonce", text(s, "nonce"));
    }
    if flag(s, "migration") {
        row("Seal Migration in Progress", "true".into());
    }
    for (label, key) in [
        ("Version", "version"),
        ("Build Date", "build_date"),
        ("Storage Type", "storage_type"),
    ] {
        if !text(s, key).is_empty() {
            row(label, text(s, key));
        }
    }
    if !text(s, "cluster_name").is_empty() && !text(s, "cluster_id").is_empty() {
        row("Cluster Name", text(s, "cluster_name"));
        row("Cluster ID", text(s, "cluster_id"));
    }
    let ha = flag(s, "ha_enabled");
    row("HA Enabled", ha.to_string());
    if ha && !sealed {
        let is_self = flag(s, "is_self");
        row("HA Cluster", text(s, "leader_cluster_address"));
        row("HA Mode", if is_self { "active" } else { "standby" }.into());
        if is_self && !text(s, "active_time").is_empty() {
            row("Active Since", text(s, "active_time"));
        }
        if !is_self && !text(s, "leader_address").is_empty() {
            row("Active Node Address", text(s, "leader_address"));
        }
    }
    for (label, key) in [
        ("Raft Committed Index", "raft_committed_index"),
        ("Raft Applied Index", "raft_applied_index"),
    ] {
        if int(s, key) > 0 {
            row(label, int(s, key).to_string());
        }
    }
    table_output(rows, "|")
}

/// `buildSealStatusOutput`: adds `sys/leader`, hiding only a `Vault is sealed` error.
async fn build_status(client: &Client, status: &Value) -> Result<Map<String, Value>, String> {
    let leader = match client.json("GET", "sys/leader", None).await {
        Ok(leader) => leader.unwrap_or(Value::Null),
        Err(e) if e.to_string().contains("Vault is sealed") => json!({"ha_enabled": true}),
        Err(e) => return Err(format!("Error checking leader status: {e}")),
    };
    let empty = Map::new();
    Ok(seal_status_output(
        status.as_object().unwrap_or(&empty),
        leader.as_object().unwrap_or(&empty),
    ))
}

/// `OutputSealStatus`.
async fn output_seal_status(ctx: &Ctx, client: &Client, status: &Value) -> u8 {
    match build_status(client, status).await {
        Ok(out) if ctx.is_table() => {
            output(&seal_status_table(&out));
            0
        }
        Ok(out) => ctx.output_data(&Value::Object(out)),
        Err(e) => {
            error(&e);
            EXIT_LOCAL
        }
    }
}

/// `status`: exit 0 unsealed, 2 sealed, 1 on error.
pub(crate) async fn status(args: Vec<String>) -> u8 {
    let flags = FlagSet::new(HTTP | FIELD | FORMAT);
    let (ctx, args) = parse_or_return!(flags, args, "status [options]", false);
    if !args.is_empty() {
        return arg_count_error("0", args.len(), true);
    }
    let mut client = match ctx.client() {
        Ok(client) => client,
        Err(e) => {
            error(&e);
            return EXIT_LOCAL;
        }
    };
    client.set_namespace(None);
    let status = match client.json("GET", "sys/seal-status", None).await {
        Ok(status) => status.unwrap_or(Value::Null),
        Err(e) => {
            error(&format!("Error checking seal status: {e}"));
            return EXIT_LOCAL;
        }
    };
    let sealed = status["sealed"].as_bool().unwrap_or_default();
    let code = if ctx.field.is_empty() {
        output_seal_status(&ctx, &client, &status).await
    } else {
        match build_status(&client, &status).await {
            Ok(mut out) => {
                let mode = if flag(&out, "is_self") {
                    "active"
                } else {
                    "standby"
                };
                out.insert("ha_mode".into(), json!(mode));
                ctx.print_map_field(&out, &ctx.field)
            }
            Err(e) => {
                error(&e);
                return EXIT_LOCAL;
            }
        }
    };
    if sealed { EXIT_API } else { code }
}

/// `operator init [-key-shares=5] [-key-threshold=3] [-status]`.
pub(crate) async fn operator_init(args: Vec<String>) -> u8 {
    let mut flags = FlagSet::new(HTTP | FORMAT);
    flags
        .bool("status")
        .int("key-shares", &["n"], 0)
        .int("key-threshold", &["t"], 0)
        .string("pgp-keys", "")
        .string("root-token-pgp-key", "")
        .int("recovery-shares", &[], 5)
        .int("recovery-threshold", &[], 3)
        .string("recovery-pgp-keys", "");
    let (ctx, args) = parse_or_return!(flags, args, "operator init [options]", false);
    if !args.is_empty() {
        return arg_count_error("0", args.len(), true);
    }
    let client = client_or_return!(ctx);
    let seal = match client.json("GET", "sys/seal-status", None).await {
        Ok(seal) => seal.unwrap_or(Value::Null),
        Err(e) => {
            error(&e.to_string());
            return EXIT_API;
        }
    };
    let (mut shares, mut threshold) = (
        ctx.flags.get_int("key-shares"),
        ctx.flags.get_int("key-threshold"),
    );
    let (mut rec_shares, mut rec_threshold) = (
        ctx.flags.get_int("recovery-shares"),
        ctx.flags.get_int("recovery-threshold"),
    );
    if !seal["recovery_seal"].as_bool().unwrap_or_default() {
        if shares == 0 {
            shares = 5;
        }
        if threshold == 0 {
            threshold = 3;
        }
        (rec_shares, rec_threshold) = (0, 0);
    }
    if ctx.flags.get_bool("status") {
        return match client.json("GET", "sys/init", None).await {
            Err(e) => {
                error(&format!("Error checking init status: {e}"));
                EXIT_LOCAL
            }
            Ok(body) => {
                let inited = body
                    .and_then(|b| b["initialized"].as_bool())
                    .unwrap_or_default();
                if ctx.is_table() {
                    output(if inited {
                        "Vault is initialized"
                    } else {
                        "Vault is not initialized"
                    });
                } else {
                    ctx.output_data(&json!({"initialized": inited}));
                }
                if inited { 0 } else { EXIT_API }
            }
        };
    }
    let list = |name: &str| {
        let text = ctx.flags.str(name);
        if text.is_empty() {
            Value::Null
        } else {
            json!(text.split(',').map(str::trim).collect::<Vec<_>>())
        }
    };
    let request = json!({
        "secret_shares": shares,
        "secret_threshold": threshold,
        "stored_shares": 0,
        "pgp_keys": list("pgp-keys"),
        "recovery_shares": rec_shares,
        "recovery_threshold": rec_threshold,
        "recovery_pgp_keys": list("recovery-pgp-keys"),
        "root_token_pgp_key": ctx.flags.str("root-token-pgp-key"),
    });
    let response = match client.json("PUT", "sys/init", Some(request)).await {
        Ok(body) => body.unwrap_or(Value::Null),
        Err(e) => {
            error(&format!("Error initializing: {e}"));
            return EXIT_API;
        }
    };
    let strings = |key: &str| -> Vec<String> {
        response[key]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    let (keys, keys_b64) = (strings("keys"), strings("keys_base64"));
    let (recovery, recovery_b64) = (strings("recovery_keys"), strings("recovery_keys_base64"));
    let root_token = response["root_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    if !ctx.is_table() {
        let (unseal_shares, unseal_threshold) = if keys.is_empty() {
            (1, 1)
        } else {
            (shares, threshold)
        };
        return ctx.output_data(&json!({
            "unseal_keys_b64": keys_b64,
            "unseal_keys_hex": keys,
            "unseal_shares": unseal_shares,
            "unseal_threshold": unseal_threshold,
            "recovery_keys_b64": recovery_b64,
            "recovery_keys_hex": recovery,
            "recovery_keys_shares": rec_shares,
            "recovery_keys_threshold": rec_threshold,
            "root_token": root_token,
        }));
    }
    let pick = |hex: &[String], b64: &[String], i: usize| {
        if b64.len() == hex.len() {
            b64[i].clone()
        } else {
            hex[i].clone()
        }
    };
    for i in 0..keys.len() {
        output(&format!(
            "Unseal Key {}: {}",
            i + 1,
            pick(&keys, &keys_b64, i)
        ));
    }
    for i in 0..recovery.len() {
        output(&format!(
            "Recovery Key {}: {}",
            i + 1,
            pick(&recovery, &recovery_b64, i)
        ));
    }
    output("");
    output(&format!("Initial Root Token: {root_token}"));
    output("");
    if keys.is_empty() {
        output("Success! Vault is initialized");
    } else {
        output(&wrap_at_length(&format!(
            "Vault initialized with {shares} key shares and a key threshold of {threshold}. \
             Please securely distribute the key shares printed above. When the Vault is \
             re-sealed, restarted, or stopped, you must supply at least {threshold} of these \
             keys to unseal it before it can start servicing requests."
        )));
        output("");
        output(&wrap_at_length(&format!(
            "Vault does not store the generated root key. Without at least {threshold} keys to \
             reconstruct the root key, Vault will remain permanently sealed!"
        )));
        output("");
        output(&wrap_at_length(
            "It is possible to generate new unseal keys, provided you have a quorum of existing \
             unseal keys shares. See \"warden operator rekey\" for more information.",
        ));
    }
    if !recovery.is_empty() {
        output("");
        output(&wrap_at_length(&format!(
            "Recovery key initialized with {rec_shares} key shares and a key threshold of \
             {rec_threshold}. Please securely distribute the key shares printed above."
        )));
    }
    0
}

/// `operator unseal [-reset] [KEY]`; without a key it is read from stdin when stdin is not a
/// terminal (hidden terminal input is not supported).
pub(crate) async fn operator_unseal(args: Vec<String>) -> u8 {
    let mut flags = FlagSet::new(HTTP | FORMAT);
    flags.bool("reset").bool("migrate");
    let (ctx, args) = parse_or_return!(flags, args, "operator unseal [options] [KEY]", false);
    if args.len() > 1 {
        return arg_count_error("1", args.len(), true);
    }
    let mut key = args
        .first()
        .map(|k| k.trim().to_owned())
        .unwrap_or_default();
    let client = client_or_return!(ctx);
    if ctx.flags.get_bool("reset") {
        let body = json!({"key": "", "reset": true, "migrate": false});
        return match client.json("PUT", "sys/unseal", Some(body)).await {
            Ok(status) => output_seal_status(&ctx, &client, &status.unwrap_or(Value::Null)).await,
            Err(e) => {
                error(&format!("Error resetting unseal process: {e}"));
                EXIT_API
            }
        };
    }
    if key.is_empty() {
        if ctx.non_interactive {
            error(&wrap_at_length(
                "Refusing to read from stdin with -non-interactive specified; specify unseal key \
                 as an argument to this command",
            ));
            return EXIT_LOCAL;
        }
        let mut stdin = std::io::stdin();
        let mut text = String::new();
        if stdin.is_terminal() || stdin.read_to_string(&mut text).is_err() {
            error(&wrap_at_length(
                "An error occurred attempting to ask for an unseal key. warden does not prompt \
                 for hidden input; the unseal key can be provided as the first argument to the \
                 unseal command, or piped on stdin.",
            ));
            return EXIT_LOCAL;
        }
        key = text.trim().to_owned();
    }
    let body = json!({"key": key, "reset": false, "migrate": ctx.flags.get_bool("migrate")});
    match client.json("PUT", "sys/unseal", Some(body)).await {
        Ok(status) => output_seal_status(&ctx, &client, &status.unwrap_or(Value::Null)).await,
        Err(e) => {
            error(&format!("Error unsealing: {e}"));
            EXIT_API
        }
    }
}

/// `operator seal`.
pub(crate) async fn operator_seal(args: Vec<String>) -> u8 {
    let (ctx, args) = parse_or_return!(FlagSet::new(HTTP), args, "operator seal [options]", false);
    if !args.is_empty() {
        return arg_count_error("0", args.len(), true);
    }
    let client = client_or_return!(ctx);
    if let Err(e) = client.json("PUT", "sys/seal", None).await {
        error(&format!("Error sealing: {e}"));
        return EXIT_API;
    }
    output("Success! Vault is sealed.");
    0
}
