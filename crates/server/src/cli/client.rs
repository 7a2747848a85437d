//! The client commands' entry point: the command groups (`operator`, `auth`, `secrets`,
//! `policy`, `token`, `kv`, `audit`) and their subcommands, run on a small tokio runtime.
//!
//! Arguments reach here untouched by clap (after `normalize_args`), and each command parses
//! its own flags as Go's `flag` package does.

use std::ffi::OsString;
use std::process::ExitCode;

use super::base::{EXIT_LOCAL, error};
use super::{debug, explain, kv, logical, login, mounts, sys, token};

/// The raw arguments of a client command.
#[derive(Debug, clap::Args)]
pub(super) struct RawArgs {
    /// Flags and arguments, in Vault's order (flags first).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, num_args = 0..)]
    pub(super) args: Vec<OsString>,
}

fn group_usage(group: &str, subcommands: &[&str]) -> u8 {
    error(&format!(
        "Usage: warden {group} <subcommand> [options] [args]\n\nSubcommands:\n{}",
        subcommands
            .iter()
            .map(|s| format!("    {s}"))
            .collect::<Vec<_>>()
            .join("\n")
    ));
    EXIT_LOCAL
}

async fn dispatch(command: &str, mut args: Vec<String>) -> u8 {
    let grouped = matches!(
        command,
        "operator" | "auth" | "secrets" | "policy" | "token" | "kv" | "audit" | "debug"
    );
    let sub = if grouped && !args.is_empty() {
        args.remove(0)
    } else {
        String::new()
    };
    match (command, sub.as_str()) {
        ("status", _) => sys::status(args).await,
        ("login", _) => login::login(args).await,
        ("read", _) => logical::read(args).await,
        ("write", _) => logical::write(args).await,
        ("delete", _) => logical::delete(args).await,
        ("list", _) => logical::list(args).await,
        ("operator", "init") => sys::operator_init(args).await,
        ("operator", "unseal") => sys::operator_unseal(args).await,
        ("operator", "seal") => sys::operator_seal(args).await,
        ("operator", _) => group_usage("operator", &["init", "seal", "unseal"]),
        ("auth", "enable") => mounts::enable(args, true).await,
        ("auth", "disable") => mounts::disable(args, "sys/auth").await,
        ("auth", "list") => mounts::list(args, true).await,
        ("auth", "tune") => mounts::tune(args, true).await,
        ("auth", "explain") => explain::explain(args).await,
        ("auth", _) => group_usage("auth", &["disable", "enable", "explain", "list", "tune"]),
        ("debug", "token-review") => debug::token_review(args).await,
        ("debug", "jwt") => debug::jwt(args).await,
        ("debug", _) => group_usage("debug", &["jwt", "token-review"]),
        ("secrets", "enable") => mounts::enable(args, false).await,
        ("secrets", "disable") => mounts::disable(args, "sys/mounts").await,
        ("secrets", "list") => mounts::list(args, false).await,
        ("secrets", "tune") => mounts::tune(args, false).await,
        ("secrets", _) => group_usage("secrets", &["disable", "enable", "list", "tune"]),
        ("audit", "enable") => mounts::audit_enable(args).await,
        ("audit", "disable") => mounts::disable(args, "sys/audit").await,
        ("audit", "list") => mounts::audit_list(args).await,
        ("audit", _) => group_usage("audit", &["disable", "enable", "list"]),
        ("policy", "write") => token::policy_write(args).await,
        ("policy", "read") => token::policy_read(args).await,
        ("policy", "list") => token::policy_list(args).await,
        ("policy", "delete") => token::policy_delete(args).await,
        ("policy", _) => group_usage("policy", &["delete", "list", "read", "write"]),
        ("token", "create") => token::create(args).await,
        ("token", "lookup") => token::lookup(args).await,
        ("token", "renew") => token::renew(args).await,
        ("token", "revoke") => token::revoke(args).await,
        ("token", "capabilities") => token::capabilities(args).await,
        ("token", _) => group_usage(
            "token",
            &["capabilities", "create", "lookup", "renew", "revoke"],
        ),
        ("kv", "put") => kv::put(args).await,
        ("kv", "get") => kv::get(args).await,
        ("kv", "patch") => kv::patch(args).await,
        ("kv", "delete") => kv::delete(args).await,
        ("kv", "list") => kv::list(args).await,
        ("kv", "undelete") => kv::versions_command(args, "undelete").await,
        ("kv", "destroy") => kv::versions_command(args, "destroy").await,
        ("kv", "metadata") if args.first().is_some_and(|a| a == "get") => {
            args.remove(0);
            kv::metadata_get(args).await
        }
        ("kv", "metadata") => group_usage("kv metadata", &["get"]),
        ("kv", _) => group_usage(
            "kv",
            &[
                "delete", "destroy", "get", "list", "metadata", "patch", "put", "undelete",
            ],
        ),
        _ => {
            error(&format!("Unknown command: {command}"));
            EXIT_LOCAL
        }
    }
}

/// Runs the client command `command` with its raw arguments.
pub(super) fn run(command: &str, args: RawArgs) -> ExitCode {
    let args: Result<Vec<String>, OsString> =
        args.args.into_iter().map(OsString::into_string).collect();
    let Ok(args) = args else {
        error("Arguments must be valid UTF-8");
        return ExitCode::from(EXIT_LOCAL);
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            error(&format!("Error starting the runtime: {e}"));
            return ExitCode::from(EXIT_LOCAL);
        }
    };
    ExitCode::from(runtime.block_on(dispatch(command, args)))
}
