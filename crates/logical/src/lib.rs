//! The mount contract of warden.
//!
//! A mount (a secrets engine or an auth method) is a [`LogicalBackend`]: it receives a
//! [`Request`] whose path is relative to the mount, may read and write its own
//! [`StorageView`], and answers with a [`Response`] or a [`LogicalError`]. Backends never see
//! the barrier, the token store or physical storage; `warden-core` routes requests to them and
//! turns their [`Auth`] answers into tokens.
//!
//! [`framework`] is how backends are written: a table of [`framework::Path`]s with typed fields
//! and Vault's coercions, dispatched to typed handlers.
#![warn(missing_docs)]

mod auth;
mod backend;
mod decoded_cache;
mod denial;
mod error;
pub mod framework;
pub mod matching;
mod request;
mod response;
mod secret;
mod storage;
mod token;

pub use auth::{Alias, Auth, LeaseOptions, TokenType};
pub use backend::{
    BackendConfig, BackendKind, BoxFuture, Factory, LogicalBackend, MountInfo, SpecialPaths,
    SystemView,
};
pub use decoded_cache::{DecodedCache, ReadTicket};
pub use denial::{Denial, DenialSink};
pub use error::LogicalError;
pub use request::{Connection, Operation, Request};
pub use response::{RawBody, Response, Secret, WrapInfo};
pub use secret::SecretString;
pub use storage::{StorageEntry, StorageOp, StorageView};
pub use token::TokenEntry;

/// A JSON object, the shape of request and response data.
pub type Map = serde_json::Map<String, serde_json::Value>;
