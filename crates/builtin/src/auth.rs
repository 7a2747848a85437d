//! Built-in auth methods.

pub(crate) mod explain;
pub mod jwt;
pub mod kubernetes;
pub mod tokenutil;
