//! Built-in auth methods.

pub(crate) mod explain;
pub mod jwt;
pub mod kubernetes;
pub mod tokenutil;

/// Roles a login method keeps decoded in memory at most (each mount has its own cache).
pub(crate) const ROLE_CACHE_CAPACITY: usize = 1024;
