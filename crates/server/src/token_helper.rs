//! Vault's token helper file, `~/.vault-token`: where `login` and dev mode leave the token
//! and where the CLI finds it.

use std::io::Write;
use std::path::PathBuf;

/// The token file: `$VAULT_TOKEN_PATH` if set (OpenBao's override), else `~/.vault-token`.
pub fn path() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("VAULT_TOKEN_PATH").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(path));
    }
    std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".vault-token"))
}

/// Stores `token`, replacing the file atomically (a temporary file with mode 0600, then a
/// rename), as Vault's internal helper does.
pub fn store(token: &str) -> std::io::Result<()> {
    let Some(path) = path() else {
        return Err(std::io::Error::other("HOME is not set"));
    };
    let tmp = path.with_extension("tmp");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(&tmp)?;
    file.write_all(token.as_bytes())?;
    file.sync_all()?;
    std::fs::rename(&tmp, &path)
}

/// The stored token, trimmed; `None` when there is no file.
pub fn read() -> std::io::Result<Option<String>> {
    let Some(path) = path() else {
        return Ok(None);
    };
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text.trim().to_owned()).filter(|t| !t.is_empty())),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(err) => Err(err),
    }
}
