//! Test kit for warden: start an in-process server on `127.0.0.1:0` and talk to it over
//! real HTTP, the way a client would.
#![warn(missing_docs)]

pub mod bench;
mod child;
pub mod kube;
mod pki;
mod server;

pub use child::ChildGuard;
pub use pki::TestPki;
pub use server::{ApiResponse, TestServer};
