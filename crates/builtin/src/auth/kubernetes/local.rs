//! The pod's own service-account files: the token (re-read at most once a minute, as the
//! kubelet rotates it) and the CA (re-read at most once an hour). Never persisted.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use warden_logical::SecretString;

/// How long a read local token is trusted before the file is read again.
pub(crate) const TOKEN_RELOAD: Duration = Duration::from_secs(60);
/// How long a read local CA is trusted before the file is read again.
pub(crate) const CA_RELOAD: Duration = Duration::from_secs(3600);

#[derive(Debug, Default)]
struct Cached {
    value: Option<SecretString>,
    read_at: Option<Instant>,
}

/// Cached reads of `token` and `ca.crt` in the service-account directory.
#[derive(Debug)]
pub(crate) struct LocalFiles {
    dir: PathBuf,
    token: Mutex<Cached>,
    ca: Mutex<Cached>,
}

/// Go's `os.Open` error text, which Vault returns verbatim to the operator.
fn open_error(path: &Path, err: &std::io::Error) -> String {
    let reason = match err.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory".to_owned(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_owned(),
        _ => err.to_string(),
    };
    format!("open {}: {reason}", path.display())
}

impl LocalFiles {
    pub(crate) fn new(dir: PathBuf) -> Self {
        Self {
            dir,
            token: Mutex::default(),
            ca: Mutex::default(),
        }
    }

    fn read(
        &self,
        name: &str,
        cache: &Mutex<Cached>,
        ttl: Duration,
    ) -> Result<SecretString, String> {
        let mut cached = cache.lock().unwrap_or_else(PoisonError::into_inner);
        if let (Some(value), Some(at)) = (&cached.value, cached.read_at)
            && at.elapsed() < ttl
        {
            return Ok(value.clone());
        }
        let path = self.dir.join(name);
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                let value = SecretString::new(text);
                cached.value = Some(value.clone());
                cached.read_at = Some(Instant::now());
                Ok(value)
            }
            // A failed re-read keeps serving the last good value, as Vault's caching reader.
            Err(err) => cached.value.clone().ok_or_else(|| open_error(&path, &err)),
        }
    }

    /// The pod's service-account token.
    pub(crate) fn token(&self) -> Result<SecretString, String> {
        self.read("token", &self.token, TOKEN_RELOAD)
    }

    /// The cluster CA (PEM) as mounted into the pod.
    pub(crate) fn ca(&self) -> Result<SecretString, String> {
        self.read("ca.crt", &self.ca, CA_RELOAD)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_files_give_gos_error_text() {
        let files = LocalFiles::new(PathBuf::from("/nonexistent/sa"));
        assert_eq!(
            files.ca().unwrap_err(),
            "open /nonexistent/sa/ca.crt: no such file or directory"
        );
    }

    #[test]
    fn token_is_cached_until_the_reload_period() {
        let dir = std::env::temp_dir().join(format!("warden-sa-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("token"), "first").unwrap();
        let files = LocalFiles::new(dir.clone());
        assert_eq!(files.token().unwrap().expose(), "first");
        std::fs::write(dir.join("token"), "second").unwrap();
        assert_eq!(
            files.token().unwrap().expose(),
            "first",
            "re-read before a minute passed"
        );
        files.token.lock().unwrap().read_at = Some(Instant::now() - TOKEN_RELOAD);
        assert_eq!(files.token().unwrap().expose(), "second");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
