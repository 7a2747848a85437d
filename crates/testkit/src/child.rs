//! A child process that cannot outlive its test.

/// Kills the child (if it still runs) and reaps it when dropped, so a failed assertion does
/// not leave a server running.
#[derive(Debug)]
pub struct ChildGuard(pub std::process::Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        if matches!(self.0.try_wait(), Ok(None)) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}
