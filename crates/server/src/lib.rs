//! The warden server: configuration, the Vault-compatible HTTP API, the `warden` command
//! line and the code that starts it all.
#![warn(missing_docs)]

pub mod api_client;
pub mod cli;
pub mod config;
pub mod http;
pub mod run;
pub mod tls;
pub mod token_helper;
