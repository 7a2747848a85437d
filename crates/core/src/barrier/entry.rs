//! Vault's AES-GCM entry format, version 2:
//! `term (u32 big-endian) || 0x02 || nonce (12) || ciphertext || tag (16)`, with the storage
//! key path as additional authenticated data, so a value cannot be moved to another key.

use aws_lc_rs::aead::{self, Aad, NONCE_LEN, Nonce};
use zeroize::Zeroize;

use super::BarrierError;

/// The version byte of entries with the path as AAD (Vault's `AESGCMVersion2`).
pub(crate) const VERSION_2: u8 = 0x2;
const TERM_LEN: usize = 4;
const HEADER_LEN: usize = TERM_LEN + 1 + NONCE_LEN;
const TAG_LEN: usize = 16;

/// The term written on values not encrypted by the keyring (the keyring itself and the sealed
/// root key): Vault's `initialKeyTerm`.
pub(crate) const INITIAL_TERM: u32 = 1;

/// Encrypts `plain` for storage at `path` under `key`, stamped with `term`.
pub(crate) fn seal(
    key: &aead::LessSafeKey,
    term: u32,
    path: &str,
    plain: &[u8],
) -> Result<Vec<u8>, BarrierError> {
    let mut nonce = [0u8; NONCE_LEN];
    crate::random::fill_small(&mut nonce).map_err(|_| BarrierError::Random)?;

    let mut out = Vec::with_capacity(HEADER_LEN + plain.len() + TAG_LEN);
    out.extend_from_slice(&term.to_be_bytes());
    out.push(VERSION_2);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(plain);
    let tag = key
        .seal_in_place_separate_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(path.as_bytes()),
            &mut out[HEADER_LEN..],
        )
        .map_err(|_| BarrierError::Internal("AES-GCM encryption failed".to_owned()))?;
    out.extend_from_slice(tag.as_ref());
    Ok(out)
}

/// The term stamped on a stored value, after checking it is long enough to be an entry.
pub(crate) fn term_of(path: &str, stored: &[u8]) -> Result<u32, BarrierError> {
    if stored.len() < HEADER_LEN + TAG_LEN {
        return Err(BarrierError::Corrupted {
            key: path.to_owned(),
            reason: "ciphertext too short".to_owned(),
        });
    }
    let mut term = [0u8; TERM_LEN];
    term.copy_from_slice(&stored[..TERM_LEN]);
    Ok(u32::from_be_bytes(term))
}

/// Authenticates and decrypts a value read from `path`. Any failure — wrong key, another
/// path, a flipped bit — is an error, never garbage plaintext. The returned error for a tag
/// mismatch is [`BarrierError::Corrupted`] with Go's `cipher: message authentication failed`.
pub(crate) fn open(
    key: &aead::LessSafeKey,
    path: &str,
    mut stored: Vec<u8>,
) -> Result<Vec<u8>, BarrierError> {
    term_of(path, &stored)?;
    let corrupted = |reason: &str| BarrierError::Corrupted {
        key: path.to_owned(),
        reason: reason.to_owned(),
    };
    if stored[TERM_LEN] != VERSION_2 {
        return Err(corrupted("version bytes mis-match"));
    }
    let mut nonce = [0u8; NONCE_LEN];
    nonce.copy_from_slice(&stored[TERM_LEN + 1..HEADER_LEN]);
    let opened = key
        .open_within(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(path.as_bytes()),
            &mut stored,
            HEADER_LEN..,
        )
        .map(|plain| plain.len());
    match opened {
        Ok(plain_len) => {
            stored.truncate(plain_len);
            Ok(stored)
        }
        Err(_) => {
            // The buffer may hold partly decrypted bytes of a secret value.
            stored.zeroize();
            Err(corrupted(AUTH_FAILED))
        }
    }
}

/// Go's `crypto/cipher` GCM error text, which Vault's messages embed.
pub(crate) const AUTH_FAILED: &str = "cipher: message authentication failed";
