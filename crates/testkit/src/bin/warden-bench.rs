//! `warden-bench`: see `warden_testkit::bench`. Prints the JSON report on stdout and
//! progress on stderr.
//!
//! `cargo run --release -p warden-testkit --bin warden-bench -- --duration 5s`

use clap::Parser;

/// The allocator the `warden` binary ships with, so the in-process server measures as it runs.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
use warden_testkit::bench::{self, Args, Internal};

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if let Some(Internal::ServeChild { dir }) = &args.command {
        return bench::serve_child(dir);
    }
    let report = bench::run(&args)?;
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}
