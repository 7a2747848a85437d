//! Built-in auth methods.

pub mod jwt;
pub mod kubernetes;
pub mod tokenutil;
