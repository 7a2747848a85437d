//! What every client command shares (the Go CLI's `BaseCommand`): flag parsing into a
//! context, the API client built from the environment and the token helper, and the output
//! helpers (`OutputSecret`, `OutputData`, `OutputList`, `PrintRawField`).

use std::io::{IsTerminal, Write};

use serde_json::{Map, Value};

use super::flags::{self, FlagSet};
use super::format;
use crate::api_client::{Client, ClientConfig, Secret};
use crate::token_helper;

/// Exit code for local errors (bad arguments, unreadable files).
pub(crate) const EXIT_LOCAL: u8 = 1;
/// Exit code for API errors and missing values.
pub(crate) const EXIT_API: u8 = 2;

/// One parsed command invocation.
#[derive(Debug)]
pub(crate) struct Ctx {
    /// The parsed flags.
    pub(crate) flags: FlagSet,
    /// `-format` (or `VAULT_FORMAT`, or `table`).
    pub(crate) format: String,
    /// `-field`.
    pub(crate) field: String,
    /// `-non-interactive`: never read stdin.
    pub(crate) non_interactive: bool,
}

/// Prints a line on stderr (the Go CLI's `UI.Error` and `UI.Warn`).
pub(crate) fn error(text: &str) {
    eprintln!("{text}");
}

/// Prints a line on stdout (`UI.Output`, `UI.Info`).
pub(crate) fn output(text: &str) {
    println!("{text}");
}

/// `PrintRaw`: the value alone, without a newline unless stdout is a terminal.
pub(crate) fn print_raw(text: &str) -> u8 {
    let mut stdout = std::io::stdout();
    if stdout.is_terminal() {
        let _ = writeln!(stdout, "{text}");
    } else {
        let _ = write!(stdout, "{text}");
    }
    let _ = stdout.flush();
    0
}

impl Ctx {
    /// Parses `args` with `flags`; prints the error and returns the exit code on failure.
    pub(crate) fn parse(
        mut flags: FlagSet,
        args: Vec<String>,
        usage: &str,
        allow_raw: bool,
    ) -> Result<(Self, Vec<String>), u8> {
        let positional = match flags.parse(args) {
            Ok(positional) => positional,
            Err(message) if message == "flag: help requested" => {
                error(&format!("Usage: warden {usage}"));
                return Err(0);
            }
            Err(message) => {
                error(&message);
                return Err(EXIT_LOCAL);
            }
        };
        let format = flags.str("format");
        let format = if format.is_empty() {
            std::env::var("VAULT_FORMAT")
                .ok()
                .filter(|f| !f.is_empty())
                .unwrap_or_else(|| "table".to_owned())
        } else {
            format
        };
        if format == "raw" && !allow_raw {
            error("This command does not support the -format=raw option.");
            return Err(EXIT_LOCAL);
        }
        if !matches!(format.as_str(), "table" | "json" | "raw") {
            error(&format!("Invalid output format: {format}"));
            return Err(EXIT_LOCAL);
        }
        if format == "table"
            && let Some(warning) = flags::trailing_flag_warning(&positional)
        {
            error(&warning);
        }
        let ctx = Self {
            field: flags.str("field"),
            non_interactive: flags.get_bool("non-interactive"),
            format,
            flags,
        };
        Ok((ctx, positional))
    }

    /// Whether the output format is `table`.
    pub(crate) fn is_table(&self) -> bool {
        self.format == "table"
    }

    /// The API client with the environment's token only (`ClientWithoutToken`).
    pub(crate) fn client_without_token(&self) -> Result<Client, String> {
        let mut config = ClientConfig::from_env().map_err(|e| e.to_string())?;
        let flag = |name: &str| Some(self.flags.str(name)).filter(|v| !v.is_empty());
        if let Some(address) = flag("address") {
            config.address = address;
        }
        if let Some(path) = flag("ca-cert") {
            config.ca_cert = Some(path.into());
        }
        if let Some(path) = flag("ca-path") {
            config.ca_path = Some(path.into());
        }
        if let Some(path) = flag("client-cert") {
            config.client_cert = Some(path.into());
        }
        if let Some(path) = flag("client-key") {
            config.client_key = Some(path.into());
        }
        if let Some(namespace) = flag("namespace") {
            config.namespace = Some(namespace);
        }
        if self.flags.is_set("tls-skip-verify") {
            config.skip_verify = self.flags.get_bool("tls-skip-verify");
        }
        if let Some(headers) = self.flags.get_map("header") {
            config.headers = headers
                .into_iter()
                .map(|(k, v)| (k, v.as_str().unwrap_or_default().to_owned()))
                .collect();
        }
        Client::new(&config).map_err(|e| e.to_string())
    }

    /// The API client with a token: `VAULT_TOKEN`, else the token helper's (`Client`).
    pub(crate) fn client(&self) -> Result<Client, String> {
        let mut client = self.client_without_token()?;
        if client.token().is_none() {
            let token = token_helper::read()
                .map_err(|e| format!("failed to get token from token helper: {e}"))?;
            client.set_token(token);
        }
        Ok(client)
    }

    /// `OutputSecret`.
    pub(crate) fn output_secret(&self, secret: &Secret) -> u8 {
        if self.is_table() {
            if let Some(warnings) = format::warnings_text(secret) {
                eprint!("{warnings}");
            }
            if let Some(table) = format::secret_table(secret) {
                output(&table);
            }
        } else {
            output(&format::go_json(&secret.to_json()));
        }
        0
    }

    /// `OutputData`: a map as a `Key`/`Value` table, anything as JSON.
    pub(crate) fn output_data(&self, value: &Value) -> u8 {
        if !self.is_table() {
            output(&format::go_json(value));
            return 0;
        }
        match value {
            Value::Object(map) => {
                if let Some(table) = format::map_table(map) {
                    output(&table);
                }
                0
            }
            _ => {
                error("Could not parse output: cannot use the table formatter for this type");
                EXIT_LOCAL
            }
        }
    }

    /// `OutputList`: the sorted `Keys` table, or the keys as JSON.
    pub(crate) fn output_list(&self, secret: &Secret) -> u8 {
        let keys = secret.data_field("keys").cloned().unwrap_or(Value::Null);
        if !self.is_table() {
            output(&format::go_json(&keys));
            return 0;
        }
        if let Some(warnings) = format::warnings_text(secret) {
            eprint!("{warnings}");
        }
        let Value::Array(items) = keys else {
            error(
                "Could not parse output: error: table formatter cannot output list for this data type",
            );
            return EXIT_LOCAL;
        };
        match format::list_table(&items) {
            Ok(Some(table)) => {
                output(&table);
                0
            }
            Ok(None) => 0,
            Err(message) => {
                error(&format!("Could not parse output: {message}"));
                EXIT_LOCAL
            }
        }
    }

    /// `PrintRawField` of a secret.
    pub(crate) fn print_secret_field(&self, secret: &Secret, field: &str) -> u8 {
        let value = raw_secret_field(secret, field);
        self.print_field(value, field, "secret", Some(secret))
    }

    /// `PrintRawField` of a map.
    pub(crate) fn print_map_field(&self, map: &Map<String, Value>, field: &str) -> u8 {
        let value = map.get(field).cloned().filter(|v| !v.is_null());
        self.print_field(value, field, "map", None)
    }

    fn print_field(
        &self,
        value: Option<Value>,
        field: &str,
        kind: &str,
        secret: Option<&Secret>,
    ) -> u8 {
        let Some(value) = value else {
            error(&format!(
                "Field {} not present in {kind}",
                format::go_quote(field)
            ));
            return EXIT_LOCAL;
        };
        if self.format == "table" || self.format == "raw" {
            if let Some(warnings) = secret.and_then(format::warnings_text)
                && self.is_table()
            {
                eprint!("{warnings}");
            }
            return print_raw(&format::go_value(&value));
        }
        print_raw(&format::go_json(&value))
    }
}

/// `RawSecretField`: `auth` fields for auth responses, `wrap_info` fields for wrapped ones,
/// the envelope's own fields, else `data[field]`.
pub(crate) fn raw_secret_field(secret: &Secret, field: &str) -> Option<Value> {
    let data = || secret.data_field(field).cloned();
    let strings = |v: &Option<Vec<String>>| Some(serde_json::json!(v.clone().unwrap_or_default()));
    let value = if let Some(auth) = &secret.auth {
        match field {
            "token" => Some(Value::String(auth.client_token.clone())),
            "token_accessor" => Some(Value::String(auth.accessor.clone())),
            "token_duration" => Some(Value::from(auth.lease_duration)),
            "token_renewable" => Some(Value::Bool(auth.renewable)),
            "token_policies" => strings(&auth.token_policies),
            "identity_policies" => strings(&auth.identity_policies),
            "policies" => strings(&auth.policies),
            _ => data(),
        }
    } else if let Some(wrap) = &secret.wrap_info {
        match field {
            "wrapping_token" => Some(Value::String(wrap.token.clone())),
            "wrapping_accessor" => Some(Value::String(wrap.accessor.clone())),
            "wrapping_token_ttl" => Some(Value::from(wrap.ttl)),
            "wrapping_token_creation_time" => Some(Value::String(wrap.creation_time.clone())),
            "wrapping_token_creation_path" => Some(Value::String(wrap.creation_path.clone())),
            "wrapped_accessor" => Some(Value::String(wrap.wrapped_accessor.clone())),
            _ => data(),
        }
    } else {
        match field {
            "lease_duration" | "refresh_interval" => Some(Value::from(secret.lease_duration)),
            "lease_id" => Some(Value::String(secret.lease_id.clone())),
            "request_id" => Some(Value::String(secret.request_id.clone())),
            "renewable" => Some(Value::Bool(secret.renewable)),
            "data" => data().or_else(|| Some(Value::Object(secret.data_map()))),
            _ => data(),
        }
    };
    value.filter(|v| !v.is_null())
}

/// The argument-count errors every command prints.
pub(crate) fn arg_count_error(expected: &str, got: usize, too_many: bool) -> u8 {
    let what = if too_many { "Too many" } else { "Not enough" };
    error(&format!(
        "{what} arguments (expected {expected}, got {got})"
    ));
    EXIT_LOCAL
}

/// Vault's `sanitizePath`: no surrounding whitespace, no leading or trailing slashes.
pub(crate) fn sanitize_path(path: &str) -> String {
    path.trim()
        .trim_start_matches('/')
        .trim_end_matches('/')
        .to_owned()
}

/// Vault's `ensureTrailingSlash`.
pub(crate) fn ensure_trailing_slash(path: &str) -> String {
    let path = path.trim();
    if path.is_empty() || path.ends_with('/') {
        path.to_owned()
    } else {
        format!("{path}/")
    }
}
