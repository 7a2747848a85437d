//! The `warden` binary.

/// mimalloc rather than glibc's allocator: request handling allocates many short-lived
/// buffers, and glibc's free-list upkeep was about a fifth of a request's CPU
/// (docs/benchmarks.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    warden_server::cli::main()
}
