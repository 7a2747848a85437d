//! How backends are written: a table of [`Path`]s with typed fields, dispatched by
//! [`FrameworkBackend`] to typed handlers. This ports the behaviour of Vault's `sdk/framework`
//! (`backend.go`, `path.go`, `field_data.go`, `field_type.go`) and of go-secure-stdlib's
//! `parseutil`.
//!
//! # A path table
//!
//! ```
//! use std::sync::Arc;
//!
//! use serde::Deserialize;
//! use serde_json::json;
//! use warden_logical::framework::{
//!     FieldType, Field, FrameworkBackend, Input, Path, existence, generic_name_regex, handler,
//! };
//! use warden_logical::{BackendKind, LogicalError, Operation, Request, Response};
//!
//! #[derive(Debug)]
//! struct RoleBackend;
//!
//! #[derive(Deserialize)]
//! struct WriteRole {
//!     name: String,
//!     ttl: u64,                      // has a schema default, so always present
//!     policies: Option<Vec<String>>, // None: not sent
//! }
//!
//! #[derive(Deserialize)]
//! struct RoleName {
//!     name: String,
//! }
//!
//! impl RoleBackend {
//!     async fn write_role(
//!         self: Arc<Self>,
//!         req: Request,
//!         input: Input<WriteRole>,
//!     ) -> Result<Option<Response>, LogicalError> {
//!         let keep_old_ttl = req.operation == Operation::Update && !input.provided("ttl");
//!         let _ = (&input.name, input.ttl, &input.policies, keep_old_ttl);
//!         Ok(None)
//!     }
//!
//!     async fn role_exists(self: Arc<Self>, _req: Request, input: RoleName) -> Result<bool, LogicalError> {
//!         Ok(input.name == "existing")
//!     }
//! }
//!
//! # fn main() -> Result<(), warden_logical::framework::BuildError> {
//! let state = Arc::new(RoleBackend);
//! let backend = FrameworkBackend::builder(BackendKind::Credential)
//!     .help("The role backend.")
//!     .unauthenticated_paths(["login"])
//!     .path(
//!         Path::new(format!("role/{}", generic_name_regex("name")))
//!             .field(Field::new("name", FieldType::String).description("Name of the role."))
//!             .field(Field::new("ttl", FieldType::DurationSecond).default(json!("1h")))
//!             .field(Field::new("policies", FieldType::CommaStringSlice))
//!             .existence_check(existence(&state, RoleBackend::role_exists))
//!             .operation(Operation::Create, handler(&state, RoleBackend::write_role))
//!             .operation(Operation::Update, handler(&state, RoleBackend::write_role))
//!             .help("Manage roles.", "Roles bind service accounts to policies."),
//!     )
//!     .build()?;
//! # let _ = backend;
//! # Ok(())
//! # }
//! ```
//!
//! # What a handler receives
//!
//! The dispatcher builds one JSON object and deserializes the handler's input type from it:
//!
//! 1. every key of the request data; keys in the schema are coerced to their
//!    [`FieldType`]'s canonical form (durations as integer seconds, comma strings as lists, …),
//!    other keys are passed as sent (so `#[serde(flatten)] rest: Map` collects them);
//! 2. the pattern's named captures, as strings (coerced if they are schema fields), which
//!    override body keys of the same name, as in Vault;
//! 3. for each schema field still absent, its declared [`Field::default`] (coerced once, when
//!    the backend is built).
//!
//! So an `Option<T>` field without a schema default is `None` exactly when the client did
//! not send it (Vault's `GetOk`), and a field with a default is always there. To tell "sent"
//! from "defaulted" (update only what was sent), take [`Input<T>`] and ask
//! [`Input::provided`]. A non-`Option` field without a default that the client omits fails with
//! `missing required field "x"`; to get Vault's zero value instead, mark it `#[serde(default)]`.
//! [`Field::required`] only documents, as Vault's `Required` does.
//!
//! A value that does not coerce fails the request with Vault's 400 message, e.g.
//! `Field validation failed: error converting input abc for field "ttl": time: invalid
//! duration "abc"` (the existence check reports the same error without the `Field validation
//! failed: ` prefix, as Vault's `HandleExistenceCheck` does).
//!
//! # Dispatch
//!
//! - `Renew` of an auth goes to [`FrameworkBackendBuilder::auth_renew`]; `Rollback` is a no-op.
//! - `Help` on the empty path answers the backend's root help; otherwise the first path (in
//!   table order) whose anchored pattern matches is chosen, or
//!   [`LogicalError::UnsupportedPath`](crate::LogicalError::UnsupportedPath).
//! - `Help` on a path without its own `Help` handler answers Vault's path help
//!   (`{"help": …, "see_also": null}`; fields sorted, with `Default:` lines for defaults).
//! - No handler for the operation: [`LogicalError::UnsupportedOperation`](crate::LogicalError::UnsupportedOperation).
//! - When the handler returns a response (not `None`, not an error), body keys outside the
//!   schema add the warning `Endpoint ignored these unrecognized parameters: [a b]` (sorted),
//!   unless the path [`takes_arbitrary_data`](Path::takes_arbitrary_data).

mod backend;
mod duration;
mod field;
mod go;
mod handler;
mod help;
mod path;
#[cfg(test)]
mod tests;

pub use backend::{BuildError, FrameworkBackend, FrameworkBackendBuilder};
pub use duration::{parse_duration_second, parse_go_duration};
pub use field::{Field, FieldType, conversion_error};
pub use handler::{
    ExistenceCheck, FromInput, Handler, Input, NoInput, Provided, existence, handler,
};
pub use path::{
    OPTIONAL_TRAILING_SLASH, Path, generic_name_regex, generic_name_with_at_regex, match_all_regex,
    optional_param_regex,
};

/// Deserializes integer seconds (a coerced duration field) into a [`std::time::Duration`]:
/// `#[serde(with = "warden_logical::framework::seconds")]`, or [`seconds::option`] for
/// `Option<Duration>`.
pub mod seconds {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    /// Reads whole seconds.
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
        u64::deserialize(deserializer).map(Duration::from_secs)
    }

    /// Writes whole seconds.
    pub fn serialize<S: Serializer>(value: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u64(value.as_secs())
    }

    /// The same for `Option<Duration>`.
    pub mod option {
        use std::time::Duration;

        use serde::{Deserialize, Deserializer, Serializer};

        /// Reads whole seconds, or nothing.
        pub fn deserialize<'de, D: Deserializer<'de>>(
            deserializer: D,
        ) -> Result<Option<Duration>, D::Error> {
            Option::<u64>::deserialize(deserializer).map(|v| v.map(Duration::from_secs))
        }

        /// Writes whole seconds, or `null`.
        pub fn serialize<S: Serializer>(
            value: &Option<Duration>,
            serializer: S,
        ) -> Result<S::Ok, S::Error> {
            match value {
                Some(value) => serializer.serialize_some(&value.as_secs()),
                None => serializer.serialize_none(),
            }
        }
    }
}
