use std::error::Error;

/// Why a storage call failed, by meaning rather than by driver.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StorageError {
    /// The backend was shut down; no further calls can succeed.
    #[error("{backend} storage is closed")]
    Closed {
        /// The backend kind.
        backend: &'static str,
    },
    /// Stored bytes could not be read back as written (checksum, format or page errors).
    #[error("{backend} storage is corrupted: {detail}")]
    Corrupted {
        /// The backend kind.
        backend: &'static str,
        /// What was found to be wrong.
        detail: String,
    },
    /// A value is larger than the backend accepts.
    #[error("entry {key:?} is {size} bytes, above the {max}-byte limit of {backend} storage")]
    EntryTooLarge {
        /// The backend kind.
        backend: &'static str,
        /// The key being written.
        key: String,
        /// The size of the value.
        size: usize,
        /// The largest value accepted.
        max: usize,
    },
    /// The key itself is not acceptable.
    #[error("invalid storage key {key:?}: {reason}")]
    InvalidKey {
        /// The rejected key.
        key: String,
        /// Why it was rejected.
        reason: &'static str,
    },
    /// The backend could not perform the call now (I/O error, lost connection, full disk).
    #[error("{backend} storage is unavailable: {cause}")]
    Unavailable {
        /// The backend kind.
        backend: &'static str,
        /// The underlying failure, formatted into the message.
        cause: Box<dyn Error + Send + Sync>,
    },
}
