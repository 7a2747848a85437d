//! The `warden` binary.

fn main() -> std::process::ExitCode {
    warden_server::cli::main()
}
