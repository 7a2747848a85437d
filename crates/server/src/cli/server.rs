//! `warden server`: start a server from a configuration file, or in dev mode.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use tracing_subscriber::EnvFilter;

use crate::config::{Config, ConfigError, LogFormat, LogLevel};
use crate::run::{self, RunningServer};

/// Flags of `warden server`, spelled as Vault's.
#[derive(Debug, Args)]
pub(super) struct ServerArgs {
    /// Path to a configuration file (HCL or JSON).
    #[arg(long = "config")]
    pub(super) config: Option<PathBuf>,
    /// Run in development mode: in-memory, initialized and unsealed, with a root token.
    #[arg(long = "dev")]
    pub(super) dev: bool,
    /// Dev mode: the id of the root token.
    #[arg(long = "dev-root-token-id", env = "VAULT_DEV_ROOT_TOKEN_ID")]
    pub(super) dev_root_token_id: Option<String>,
    /// Dev mode: the address to listen on.
    #[arg(
        long = "dev-listen-address",
        env = "VAULT_DEV_LISTEN_ADDRESS",
        default_value = "127.0.0.1:8200"
    )]
    pub(super) dev_listen_address: String,
    /// Dev mode: do not write the root token to the token helper file.
    #[arg(long = "dev-no-store-token")]
    pub(super) dev_no_store_token: bool,
    /// Log level: trace, debug, info, warn, error (overrides the file).
    #[arg(long = "log-level", env = "VAULT_LOG_LEVEL")]
    pub(super) log_level: Option<String>,
    /// Log format: standard or json (overrides the file).
    #[arg(long = "log-format", env = "VAULT_LOG_FORMAT")]
    pub(super) log_format: Option<String>,
}

fn init_logging(level: LogLevel, format: LogFormat) {
    let filter =
        EnvFilter::try_from_env("WARDEN_LOG").unwrap_or_else(|_| EnvFilter::new(level.as_str()));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Standard => builder.try_init(),
    };
}

fn load_config(args: &ServerArgs) -> Result<Config, ConfigError> {
    let mut config = match (&args.config, args.dev) {
        (Some(path), _) => Config::load(path)?,
        (None, true) => Config::dev(&args.dev_listen_address),
        (None, false) => {
            return Err(ConfigError::Invalid {
                file: String::new(),
                key: String::new(),
                message: "No configuration files found. Please provide configurations with the \
                          -config flag, or use -dev for a development server."
                    .into(),
            });
        }
    };
    if let Some(level) = &args.log_level {
        config.log_level = LogLevel::parse(level).map_err(|message| ConfigError::Invalid {
            file: String::new(),
            key: "log_level".into(),
            message,
        })?;
    }
    if let Some(format) = &args.log_format {
        config.log_format = LogFormat::parse(format).map_err(|message| ConfigError::Invalid {
            file: String::new(),
            key: "log_format".into(),
            message,
        })?;
    }
    Ok(config)
}

pub(super) fn run(args: ServerArgs) -> ExitCode {
    let config = match load_config(&args) {
        Ok(config) => config,
        Err(err) => {
            eprintln!("{err}");
            return ExitCode::from(u8::try_from(ConfigError::EXIT_CODE).unwrap_or(64));
        }
    };
    if args.dev_root_token_id.is_some() && !args.dev {
        eprintln!("WARNING! -dev-root-token-id is ignored outside dev mode");
    }
    init_logging(config.log_level, config.log_format);
    for warning in &config.warnings {
        tracing::warn!("{warning}");
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("Error starting the runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(serve(args, config))
}

async fn serve(args: ServerArgs, config: Config) -> ExitCode {
    let server = match run::start(&config).await {
        Ok(server) => server,
        Err(err) => {
            eprintln!("Error: {err}");
            return ExitCode::FAILURE;
        }
    };
    print_banner(&config, &server);
    if args.dev {
        match run::init_dev(&server.core, args.dev_root_token_id.as_deref()).await {
            Ok(credentials) => print_dev_notice(&server, &credentials, !args.dev_no_store_token),
            Err(err) => {
                eprintln!("Error initializing dev mode: {err}");
                server.shutdown().await;
                return ExitCode::FAILURE;
            }
        }
    }
    wait_for_shutdown(&server.core).await;
    eprintln!("==> Warden shutdown triggered");
    server.shutdown().await;
    ExitCode::SUCCESS
}

fn print_banner(config: &Config, server: &RunningServer) {
    let mut lines = vec!["==> Warden server configuration:".to_owned(), String::new()];
    let api_addr = config
        .api_addr
        .clone()
        .unwrap_or_else(|| api_address(config, server));
    lines.push(format!("{:>24}: {api_addr}", "Api Address"));
    for (index, (listener, handle)) in config.listeners.iter().zip(&server.listeners).enumerate() {
        lines.push(format!(
            "{:>24}: tcp (addr: \"{}\", max_request_duration: \"{}s\", max_request_size: \"{}\", tls: \"{}\")",
            format!("Listener {}", index + 1),
            handle.local_addr,
            listener.max_request_duration.as_secs(),
            listener.max_request_size.map_or(-1, |s| i64::try_from(s).unwrap_or(i64::MAX)),
            if listener.tls.is_some() { "enabled" } else { "disabled" },
        ));
    }
    lines.push(format!(
        "{:>24}: {}",
        "Log Level",
        config.log_level.as_str()
    ));
    lines.push(format!(
        "{:>24}: {}",
        "Storage", config.storage.storage_type
    ));
    lines.push(format!("{:>24}: {}", "Version", super::version_line()));
    lines.push(String::new());
    lines.push("==> Warden server started! Log data will stream in below:".to_owned());
    println!("{}\n", lines.join("\n"));
}

fn api_address(config: &Config, server: &RunningServer) -> String {
    let scheme = if config.listeners.first().is_some_and(|l| l.tls.is_some()) {
        "https"
    } else {
        "http"
    };
    server.listeners.first().map_or_else(String::new, |handle| {
        format!("{scheme}://{}", handle.local_addr)
    })
}

fn print_dev_notice(server: &RunningServer, credentials: &run::DevCredentials, store: bool) {
    use base64::Engine;
    let addr = server
        .listeners
        .first()
        .map(|h| h.local_addr.to_string())
        .unwrap_or_default();
    let unseal = base64::engine::general_purpose::STANDARD.encode(&credentials.unseal_key);
    if store && let Err(err) = crate::token_helper::store(credentials.root_token.expose()) {
        eprintln!("WARNING! could not store the root token in the token helper: {err}");
    }
    println!(
        "WARNING! dev mode is enabled! In this mode, Warden runs entirely in-memory\n\
         and starts unsealed with a single unseal key. The root token is already\n\
         authenticated to the CLI, so you can immediately begin using Warden.\n\n\
         You may need to set the following environment variables:\n\n    \
         $ export VAULT_ADDR='http://{addr}'\n\n\
         The unseal key and root token are displayed below in case you want to\n\
         seal/unseal the Vault or re-authenticate.\n\n\
         Unseal Key: {unseal}\n\
         Root Token: {}\n\n\
         Development mode should NOT be used in production installations!\n",
        credentials.root_token.expose()
    );
}

async fn wait_for_shutdown(core: &warden_core::Core) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let (Ok(mut terminate), Ok(mut hangup)) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::hangup()),
        ) else {
            let _ = tokio::signal::ctrl_c().await;
            return;
        };
        loop {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => return,
                _ = terminate.recv() => return,
                _ = hangup.recv() => {
                    tracing::info!("SIGHUP received; reopening audit files");
                    if let Err(err) = core.reopen_audit_devices() {
                        tracing::error!(error = %err, "failed to reopen audit devices");
                    }
                }
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
