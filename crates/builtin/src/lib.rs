//! warden's built-in secrets engines and auth methods, registered with the core by type
//! name (like Vault's builtin plugin registry). Backends here see only `warden-logical`: a
//! storage view scoped to their mount and the mount's settings.
#![warn(missing_docs)]

pub mod auth;
pub mod jose;
pub mod kv;

use warden_logical::Factory;

/// The KV version dev mode mounts at `secret/`: version 2, as Vault does.
pub const DEV_KV_VERSION: &str = "2";

/// Every builtin secrets engine, by mount type.
pub fn secrets_engines() -> Vec<(&'static str, Factory)> {
    vec![("kv", kv::factory()), ("generic", kv::factory())]
}

/// Every builtin auth method, by mount type.
pub fn auth_methods() -> Vec<(&'static str, Factory)> {
    vec![
        ("kubernetes", auth::kubernetes::factory()),
        ("jwt", auth::jwt::factory()),
        ("oidc", auth::jwt::factory()),
    ]
}
