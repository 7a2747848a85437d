//! `login`: authenticate with an auth method and keep the token in the token helper.
//!
//! `-method=token` (the default) looks the token up with `auth/token/lookup-self`;
//! `-method=kubernetes` and `-method=jwt` write `role` and `jwt` to `auth/<path>/login`, as
//! OpenBao's kubernetes CLI handler does (Vault has no such handler; `vault write
//! auth/kubernetes/login …` is what Vault users run, and works here too).

use std::io::{IsTerminal, Read};

use serde_json::{Value, json};

use super::args_data;
use super::base::{Ctx, EXIT_API, EXIT_LOCAL, ensure_trailing_slash, error, output, sanitize_path};
use super::flags::{FIELD, FORMAT, FlagSet, HTTP};
use super::format::wrap_at_length;
use super::logical::parse_or_return;
use crate::api_client::{Client, Secret, SecretAuth};
use crate::token_helper;

const SUCCESS: &str = "Success! You are now authenticated. The token information displayed below \
    is already stored in the token helper. You do NOT need to run \"warden login\" again. Future \
    Vault requests will automatically use this token.";

fn config_value(config: &[(String, String)], key: &str) -> Option<String> {
    config
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.clone())
}

/// Reads a secret value that was not given as an argument: stdin when it is not a terminal.
/// Hidden terminal input is not supported (it would echo the secret).
fn read_missing(what: &str, non_interactive: bool) -> Result<String, String> {
    if non_interactive {
        return Err(format!(
            "'{what}' not supplied and refusing to pull from stdin"
        ));
    }
    let mut stdin = std::io::stdin();
    if stdin.is_terminal() {
        return Err(format!(
            "'{what}' not supplied; warden does not prompt for hidden input, pass {what}=VALUE, \
             {what}=@FILE or {what}=- (stdin)"
        ));
    }
    let mut text = String::new();
    stdin.read_to_string(&mut text).map_err(|e| e.to_string())?;
    Ok(text)
}

fn string_list(data: &serde_json::Map<String, Value>, key: &str) -> Option<Vec<String>> {
    data.get(key).and_then(Value::as_array).map(|items| {
        items
            .iter()
            .filter_map(|i| i.as_str().map(str::to_owned))
            .collect()
    })
}

/// The token method's handler: the token, looked up unless `lookup=false`.
async fn token_auth(
    client: &mut Client,
    config: &[(String, String)],
    non_interactive: bool,
) -> Result<Secret, String> {
    let lookup = match config_value(config, "lookup") {
        Some(text) => crate::api_client::parse_go_bool(&text).ok_or_else(|| {
            format!(
                "Failed to parse \"lookup\" as boolean: strconv.ParseBool: parsing {text:?}: invalid syntax"
            )
        })?,
        None => true,
    };
    let token = match config_value(config, "token") {
        Some(token) => token,
        None => read_missing("token", non_interactive)?,
    };
    let token = token.trim().to_owned();
    if token.is_empty() {
        return Err(
            "a token must be passed to auth, please view the help for more information".into(),
        );
    }
    if !lookup {
        return Ok(Secret {
            auth: Some(SecretAuth {
                client_token: token,
                ..SecretAuth::default()
            }),
            ..Secret::default()
        });
    }
    client.set_token(Some(token));
    let secret = client
        .read("auth/token/lookup-self", &[])
        .await
        .map_err(|e| format!("error looking up token: {e}"))?
        .ok_or("empty response from lookup-self")?;
    let data = secret.data_map();
    let text = |key: &str| {
        data.get(key)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let token_policies = string_list(&data, "policies");
    let identity_policies = string_list(&data, "identity_policies");
    let mut policies = token_policies.clone().unwrap_or_default();
    for policy in identity_policies.iter().flatten() {
        if !policies.contains(policy) {
            policies.push(policy.clone());
        }
    }
    Ok(Secret {
        auth: Some(SecretAuth {
            client_token: text("id"),
            accessor: text("accessor"),
            policies: Some(policies),
            token_policies,
            identity_policies,
            metadata: data.get("meta").and_then(Value::as_object).cloned(),
            lease_duration: data.get("ttl").and_then(Value::as_i64).unwrap_or_default(),
            renewable: data
                .get("renewable")
                .and_then(Value::as_bool)
                .unwrap_or_default(),
            ..SecretAuth::default()
        }),
        ..Secret::default()
    })
}

/// The kubernetes and jwt handler: `role` and `jwt` written to `auth/<mount>/login`.
async fn role_jwt_auth(
    client: &Client,
    config: &[(String, String)],
    default_mount: &str,
    non_interactive: bool,
) -> Result<Secret, String> {
    let mount = config_value(config, "mount").unwrap_or_else(|| default_mount.to_owned());
    let role = config_value(config, "role").ok_or("'role' must be supplied")?;
    let jwt = match config_value(config, "jwt") {
        Some(jwt) => jwt,
        None => read_missing("jwt", non_interactive)?,
    };
    let path = format!("auth/{}/login", sanitize_path(&mount));
    client
        .write(&path, json!({"jwt": jwt.trim(), "role": role}))
        .await
        .map_err(|failure| failure.error.to_string())?
        .ok_or_else(|| "empty response from credential provider".to_owned())
}

/// `login [-method=M] [-path=P] [TOKEN | K=V...]`.
pub(crate) async fn login(args: Vec<String>) -> u8 {
    let mut flags = FlagSet::new(HTTP | FIELD | FORMAT);
    flags
        .string("method", "token")
        .string("path", "")
        .bool("no-store")
        .bool("no-print")
        .bool("token-only");
    let (mut ctx, args) = parse_or_return!(flags, args, "login [options] [AUTH K=V...]", false);
    let token_only = ctx.flags.get_bool("token-only");
    let mut no_store = ctx.flags.get_bool("no-store");
    let no_print = ctx.flags.get_bool("no-print");
    if token_only {
        no_store = true;
        ctx.field = "token".into();
    }
    if no_store && no_print {
        error(&wrap_at_length(
            "-no-store and -no-print cannot be used together",
        ));
        return EXIT_LOCAL;
    }
    let method = match sanitize_path(&ctx.flags.str("method")) {
        m if m.is_empty() => "token".to_owned(),
        m => m,
    };
    let auth_path = match ctx.flags.str("path") {
        p if p.is_empty() => ensure_trailing_slash(&method),
        p => p,
    };
    if !matches!(method.as_str(), "token" | "kubernetes" | "jwt") {
        error(&wrap_at_length(&format!(
            "Unknown auth method: {method}. Use \"warden auth list\" to see the complete list \
             of auth methods. Additionally, some auth methods are only available via the HTTP API."
        )));
        return EXIT_LOCAL;
    }
    let mut args = args;
    if method == "token" && args.first().is_some_and(|a| !a.contains('=')) {
        args[0] = format!("token={}", args[0]);
    }
    let mut config = match args_data::parse_strings(&args, ctx.non_interactive) {
        Ok(config) => config,
        Err(e) => {
            error(&format!("Error parsing configuration: {e}"));
            return EXIT_LOCAL;
        }
    };
    if config_value(&config, "mount").is_none_or(|m| m.is_empty()) && !auth_path.is_empty() {
        config.retain(|(k, _)| k != "mount");
        config.push(("mount".into(), auth_path));
    }
    let mut client = match ctx.client_without_token() {
        Ok(client) => client,
        Err(e) => {
            error(&e);
            return EXIT_API;
        }
    };
    let result = if method == "token" {
        token_auth(&mut client, &config, ctx.non_interactive).await
    } else {
        client.set_token(None);
        role_jwt_auth(&client, &config, &method, ctx.non_interactive).await
    };
    let secret = match result {
        Ok(secret) => secret,
        Err(e) => {
            error(&format!("Error authenticating: {e}"));
            return EXIT_API;
        }
    };
    let Some(auth) = &secret.auth else {
        error("Error extracting token: no auth or wrapping info in response");
        return EXIT_API;
    };
    if !no_store {
        if let Err(e) = token_helper::store(&auth.client_token) {
            error(&format!("Error storing token: {e}"));
            error(&format!(
                "{}\n",
                wrap_at_length(
                    "Authentication was successful, but the token was not persisted. The \
                     resulting token is shown below for your records."
                )
            ));
            ctx.output_secret(&secret);
            return EXIT_API;
        }
        if std::env::var("VAULT_TOKEN").is_ok_and(|t| !t.is_empty()) {
            error(&format!(
                "{}\n",
                wrap_at_length(
                    "WARNING! The VAULT_TOKEN environment variable is set! The value of this \
                     variable will take precedence; if this is unwanted please unset VAULT_TOKEN \
                     or update its value accordingly."
                )
            ));
        }
    } else if !token_only {
        error(&format!(
            "{}\n",
            wrap_at_length(
                "The token was not stored in token helper. Set the VAULT_TOKEN environment \
                 variable or pass the token below with each request to Vault."
            )
        ));
    }
    if no_print {
        return 0;
    }
    if !ctx.field.is_empty() {
        return ctx.print_secret_field(&secret, &ctx.field);
    }
    if ctx.is_table() {
        output(&format!("{}\n", wrap_at_length(SUCCESS)));
    }
    ctx.output_secret(&secret)
}
