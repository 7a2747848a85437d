//! Batch tokens: the whole token record, AES-256-GCM encrypted under a key kept behind the
//! barrier, so nothing is stored per token. They cannot be renewed or revoked and die with
//! their TTL.

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use zeroize::Zeroizing;

use super::record::TokenRecord;
use crate::CoreError;

/// The prefix of batch tokens.
pub const BATCH_TOKEN_PREFIX: &str = "hvb.";
/// Binds ciphertexts to their use, so the key can never decrypt anything else.
const AAD: &[u8] = b"warden batch token v1";

/// Seals and opens batch tokens.
pub(crate) struct BatchCipher {
    key: LessSafeKey,
}

impl std::fmt::Debug for BatchCipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BatchCipher(<redacted>)")
    }
}

impl BatchCipher {
    /// A cipher from 32 key bytes.
    pub(crate) fn new(key: &Zeroizing<Vec<u8>>) -> Result<Self, CoreError> {
        let unbound = UnboundKey::new(&AES_256_GCM, key)
            .map_err(|_| CoreError::internal("invalid batch token key"))?;
        Ok(Self {
            key: LessSafeKey::new(unbound),
        })
    }

    /// Encodes a record as a batch token.
    pub(crate) fn seal(&self, record: &TokenRecord) -> Result<String, CoreError> {
        let mut nonce = [0u8; NONCE_LEN];
        crate::random::fill(&mut nonce);
        let mut buffer = serde_json::to_vec(record)
            .map_err(|err| CoreError::internal(format!("failed to encode batch token: {err}")))?;
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(AAD),
                &mut buffer,
            )
            .map_err(|_| CoreError::internal("failed to seal batch token"))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&buffer);
        Ok(format!(
            "{BATCH_TOKEN_PREFIX}{}",
            URL_SAFE_NO_PAD.encode(out)
        ))
    }

    /// Decodes a batch token; `None` for anything that is not one of ours.
    pub(crate) fn open(&self, token: &str) -> Option<TokenRecord> {
        let body = token
            .strip_prefix(BATCH_TOKEN_PREFIX)
            .or_else(|| token.strip_prefix("b."))?;
        let bytes = URL_SAFE_NO_PAD.decode(body).ok()?;
        if bytes.len() <= NONCE_LEN {
            return None;
        }
        let (nonce, ciphertext) = bytes.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
        let mut buffer = Zeroizing::new(ciphertext.to_vec());
        let plain = self
            .key
            .open_in_place(nonce, Aad::from(AAD), &mut buffer)
            .ok()?;
        serde_json::from_slice(plain).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use warden_logical::{SecretString, TokenEntry, TokenType};

    #[test]
    fn round_trip_and_tamper_detection() {
        let key = Zeroizing::new(vec![7u8; 32]);
        let cipher = BatchCipher::new(&key).unwrap();
        let record = TokenRecord {
            entry: TokenEntry {
                token_type: TokenType::Batch,
                id: SecretString::new(""),
                policies: vec!["default".into()],
                ..TokenEntry::default()
            },
            lease: None,
            revoking: false,
        };
        let token = cipher.seal(&record).unwrap();
        assert!(token.starts_with("hvb."));
        assert_eq!(cipher.open(&token).unwrap(), record);
        let mut tampered = token.clone().into_bytes();
        let last = tampered.len() - 2;
        tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
        assert!(
            cipher
                .open(std::str::from_utf8(&tampered).unwrap())
                .is_none()
        );
        let other = BatchCipher::new(&Zeroizing::new(vec![8u8; 32])).unwrap();
        assert!(other.open(&token).is_none());
        assert!(cipher.open("hvs.nope").is_none());
    }
}
