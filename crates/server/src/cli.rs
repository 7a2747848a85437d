//! The `warden` command line, in Vault's style: single-dash long flags (`-dev`,
//! `-config=FILE`) work as well as double-dash ones, and flags come before positional
//! arguments.

mod args_data;
mod base;
mod client;
mod debug;
mod explain;
mod flags;
mod format;
mod kv;
mod logical;
mod login;
mod mounts;
mod server;
mod sys;
mod token;

use std::ffi::OsString;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Exit code for usage errors and API errors, as Vault uses it.
pub const EXIT_USAGE: u8 = 2;

#[derive(Debug, Parser)]
#[command(
    name = "warden",
    disable_version_flag = true,
    about = "A Vault-compatible secrets server for Kubernetes workloads"
)]
struct Cli {
    /// Print the version and exit.
    #[arg(long = "version")]
    version: bool,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Start a server.
    Server(server::ServerArgs),
    /// Print the version.
    Version,
    /// Print seal and HA status.
    #[command(disable_help_flag = true)]
    Status(client::RawArgs),
    /// Initialize, unseal or seal a server.
    #[command(disable_help_flag = true)]
    Operator(client::RawArgs),
    /// Authenticate and store the token in the token helper.
    #[command(disable_help_flag = true)]
    Login(client::RawArgs),
    /// Read data at a path.
    #[command(disable_help_flag = true)]
    Read(client::RawArgs),
    /// Write data to a path.
    #[command(disable_help_flag = true)]
    Write(client::RawArgs),
    /// Delete data at a path.
    #[command(disable_help_flag = true)]
    Delete(client::RawArgs),
    /// List the keys at a path.
    #[command(disable_help_flag = true)]
    List(client::RawArgs),
    /// Manage auth methods.
    #[command(disable_help_flag = true)]
    Auth(client::RawArgs),
    /// Manage secrets engines.
    #[command(disable_help_flag = true)]
    Secrets(client::RawArgs),
    /// Manage ACL policies.
    #[command(disable_help_flag = true)]
    Policy(client::RawArgs),
    /// Manage tokens.
    #[command(disable_help_flag = true)]
    Token(client::RawArgs),
    /// Work with the key/value secrets engine (v1 and v2).
    #[command(disable_help_flag = true)]
    Kv(client::RawArgs),
    /// Manage audit devices.
    #[command(disable_help_flag = true)]
    Audit(client::RawArgs),
    /// Troubleshoot logins: `debug token-review`, `debug jwt`.
    #[command(disable_help_flag = true)]
    Debug(client::RawArgs),
}

/// Rewrites Vault's single-dash long flags (`-dev`, `-config=x`) to clap's double-dash
/// form. Single-letter flags (`-h`) and a bare `-` (stdin) are left alone; everything after
/// `--` is passed through.
pub fn normalize_args(args: impl IntoIterator<Item = OsString>) -> Vec<OsString> {
    let mut out = Vec::new();
    let mut passthrough = false;
    for (index, arg) in args.into_iter().enumerate() {
        if index == 0 || passthrough {
            out.push(arg);
            continue;
        }
        match arg.to_str() {
            Some("--") => {
                passthrough = true;
                out.push(arg);
            }
            Some(text) if text.starts_with('-') && !text.starts_with("--") && text.len() > 2 => {
                out.push(OsString::from(format!("-{text}")));
            }
            _ => out.push(arg),
        }
    }
    out
}

/// The version line Vault prints: `Vault v1.2.3`, with our name.
pub fn version_line() -> String {
    format!("Warden v{} (Vault API compatible)", warden_core::VERSION)
}

/// Runs the command line and returns the process exit code.
pub fn main() -> ExitCode {
    let args = normalize_args(std::env::args_os());
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(err) => {
            let _ = err.print();
            return if err.use_stderr() {
                ExitCode::from(EXIT_USAGE)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    if cli.version {
        println!("{}", version_line());
        return ExitCode::SUCCESS;
    }
    match cli.command {
        Some(Command::Server(args)) => server::run(args),
        Some(Command::Version) => {
            println!("{}", version_line());
            ExitCode::SUCCESS
        }
        Some(Command::Status(args)) => client::run("status", args),
        Some(Command::Operator(args)) => client::run("operator", args),
        Some(Command::Login(args)) => client::run("login", args),
        Some(Command::Read(args)) => client::run("read", args),
        Some(Command::Write(args)) => client::run("write", args),
        Some(Command::Delete(args)) => client::run("delete", args),
        Some(Command::List(args)) => client::run("list", args),
        Some(Command::Auth(args)) => client::run("auth", args),
        Some(Command::Secrets(args)) => client::run("secrets", args),
        Some(Command::Policy(args)) => client::run("policy", args),
        Some(Command::Token(args)) => client::run("token", args),
        Some(Command::Kv(args)) => client::run("kv", args),
        Some(Command::Audit(args)) => client::run("audit", args),
        Some(Command::Debug(args)) => client::run("debug", args),
        None => {
            eprintln!(
                "Usage: warden <command> [args]\n\nCommon commands:\n    read        Read data and retrieves secrets\n    write       Write data, configuration, and secrets\n    delete      Delete secrets and configuration\n    list        List data or secrets\n    login       Authenticate locally\n    server      Start a server\n    status      Print seal and HA status\n    version     Print the version\n\nOther commands:\n    audit       Interact with audit devices\n    auth        Interact with auth methods\n    kv          Interact with the key/value secrets engine\n    operator    Perform operator-specific tasks\n    policy      Interact with policies\n    secrets     Interact with secrets engines\n    token       Interact with tokens"
            );
            ExitCode::from(EXIT_USAGE)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn normalized(args: &[&str]) -> Vec<String> {
        normalize_args(args.iter().map(OsString::from))
            .into_iter()
            .map(|a| a.into_string().unwrap())
            .collect()
    }

    #[test]
    fn single_dash_long_flags_become_double_dash() {
        assert_eq!(
            normalized(&[
                "warden",
                "server",
                "-dev",
                "-dev-root-token-id=root",
                "-h",
                "-"
            ]),
            [
                "warden",
                "server",
                "--dev",
                "--dev-root-token-id=root",
                "-h",
                "-"
            ]
        );
        assert_eq!(normalized(&["warden", "--", "-x"]), ["warden", "--", "-x"]);
    }

    #[test]
    fn server_flags_parse_in_vaults_spelling() {
        let args = normalize_args(
            [
                "warden",
                "server",
                "-dev",
                "-dev-listen-address",
                "127.0.0.1:0",
            ]
            .map(OsString::from),
        );
        let cli = Cli::try_parse_from(args).unwrap();
        let Some(Command::Server(server)) = cli.command else {
            panic!("not a server command")
        };
        assert!(server.dev);
        assert_eq!(server.dev_listen_address, "127.0.0.1:0");
        let cli = Cli::try_parse_from(normalize_args(["warden", "-version"].map(OsString::from)))
            .unwrap();
        assert!(cli.version);
    }
}
