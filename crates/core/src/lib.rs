//! The core of warden: the barrier and its Shamir seal, the router and mount tables, the
//! token store and the `sys/` backend.
//!
//! [`CoreBuilder`] makes a sealed [`Core`] over physical storage; `sys/init` and
//! `sys/unseal` (through [`Core::initialize`] and [`Core::unseal`]) bring it up, and
//! [`Core::handle_request`] serves every logical request.
#![warn(missing_docs)]

mod audit;
pub mod barrier;
mod cubbyhole;
pub mod envelope;
mod error;
mod explain;
pub mod identity;
mod lifecycle;
mod login;
pub mod mount;
mod mounting;
pub mod policy;
mod random;
mod renewal;
mod request_handling;
pub mod router;
pub mod seal;
mod sys;
pub mod telemetry;
mod token_backend;
pub mod token_store;
pub mod ttl;
pub mod view;
mod wrapping;

pub use audit::AuditConfig;
pub use error::CoreError;
pub use lifecycle::{
    API_VERSION, BUILD_DATE, Core, CoreBuilder, CoreConfig, DEFAULT_MAX_LEASE_TTL, InitResult,
    SealStatus, SecretBytes, VERSION,
};
pub use mount::{MountConfig, MountEntry, MountTable};
pub use request_handling::Handled;
pub use telemetry::{DEFAULT_USAGE_GAUGE_PERIOD, MetricsFormat};
