//! The root key and the keyring of data-encryption keys, and the keyring's stored JSON form.
//!
//! The stored form is Vault's `EncodedKeyring`:
//! `{"MasterKey":"<b64>","Keys":[{"Term":1,"Version":1,"Value":"<b64>","InstallTime":"<RFC 3339>"}]}`
//! (Go encodes `[]byte` as standard base64). Every buffer that holds key material — the JSON
//! text included — is zeroized when dropped.

use std::collections::BTreeMap;
use std::fmt;

use aws_lc_rs::{aead, rand};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use zeroize::Zeroizing;

use super::BarrierError;

/// The length of every key warden generates: AES-256.
pub const KEY_LEN: usize = 32;

/// Fills a fresh 32-byte key from the system CSPRNG.
pub(crate) fn random_key() -> Result<Zeroizing<[u8; KEY_LEN]>, BarrierError> {
    let mut key = Zeroizing::new([0u8; KEY_LEN]);
    rand::fill(&mut key[..]).map_err(|_| BarrierError::Random)?;
    Ok(key)
}

/// The barrier's root key: it encrypts the keyring. 32 random bytes, zeroized on drop, never
/// shown by `Debug`, compared in constant time.
#[derive(Clone)]
pub struct RootKey(Zeroizing<[u8; KEY_LEN]>);

impl RootKey {
    /// A new key from the system CSPRNG.
    pub fn generate() -> Result<Self, BarrierError> {
        random_key().map(Self)
    }

    /// A key from its 32 bytes; any other length is refused.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, BarrierError> {
        let mut key = Zeroizing::new([0u8; KEY_LEN]);
        if bytes.len() != KEY_LEN {
            return Err(BarrierError::KeyLength { len: bytes.len() });
        }
        key.copy_from_slice(bytes);
        Ok(Self(key))
    }

    /// The key bytes.
    pub fn as_bytes(&self) -> &[u8; KEY_LEN] {
        &self.0
    }

    /// A copy of the key bytes that is zeroized when dropped.
    pub fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        Zeroizing::new(self.0.to_vec())
    }
}

impl fmt::Debug for RootKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RootKey(<redacted>)")
    }
}

impl PartialEq for RootKey {
    fn eq(&self, other: &Self) -> bool {
        self.0[..].ct_eq(&other.0[..]).into()
    }
}

impl Eq for RootKey {}

/// One data-encryption key of the keyring, with its AEAD context ready for use.
pub(crate) struct TermKey {
    pub(crate) version: u32,
    pub(crate) value: Zeroizing<[u8; KEY_LEN]>,
    pub(crate) install_time: String,
    pub(crate) aead: aead::LessSafeKey,
}

impl TermKey {
    pub(crate) fn new(
        value: Zeroizing<[u8; KEY_LEN]>,
        version: u32,
        install_time: String,
    ) -> Result<Self, BarrierError> {
        let aead = aead_key(value.as_ref())?;
        Ok(Self {
            version,
            value,
            install_time,
            aead,
        })
    }
}

/// An AES-256-GCM key for sealing and opening entries.
pub(crate) fn aead_key(key: &[u8]) -> Result<aead::LessSafeKey, BarrierError> {
    aead::UnboundKey::new(&aead::AES_256_GCM, key)
        .map(aead::LessSafeKey::new)
        .map_err(|_| BarrierError::KeyLength { len: key.len() })
}

/// The root key plus every data-encryption key by term; the highest term is the active one.
pub(crate) struct Keyring {
    pub(crate) root_key: RootKey,
    pub(crate) keys: BTreeMap<u32, TermKey>,
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keyring")
            .field("terms", &self.keys.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

/// The current time as Go's `time.Time` JSON form (RFC 3339).
fn now_rfc3339() -> String {
    OffsetDateTime::now_utc()
        .format(&Rfc3339)
        .unwrap_or_default()
}

impl Keyring {
    /// A keyring with the root key and a fresh term-1 key, as `Barrier.Initialize` builds it.
    pub(crate) fn create(root_key: RootKey) -> Result<Self, BarrierError> {
        let mut keys = BTreeMap::new();
        keys.insert(1, TermKey::new(random_key()?, 1, now_rfc3339())?);
        Ok(Self { root_key, keys })
    }

    /// The active term and its key.
    pub(crate) fn active(&self) -> Result<(u32, &TermKey), BarrierError> {
        self.keys
            .last_key_value()
            .map(|(term, key)| (*term, key))
            .ok_or_else(|| BarrierError::Internal("keyring has no keys".to_owned()))
    }

    /// The key of one term, if the keyring has it.
    pub(crate) fn term(&self, term: u32) -> Option<&TermKey> {
        self.keys.get(&term)
    }

    /// A copy of this keyring with a fresh key at the next term, made active.
    pub(crate) fn rotated(&self) -> Result<(Self, u32), BarrierError> {
        let (active, _) = self.active()?;
        let next = active
            .checked_add(1)
            .ok_or_else(|| BarrierError::Internal("keyring term overflow".to_owned()))?;
        let mut keys = BTreeMap::new();
        for (term, key) in &self.keys {
            let copy = TermKey::new(key.value.clone(), key.version, key.install_time.clone())?;
            keys.insert(*term, copy);
        }
        keys.insert(next, TermKey::new(random_key()?, 1, now_rfc3339())?);
        Ok((
            Self {
                root_key: self.root_key.clone(),
                keys,
            },
            next,
        ))
    }

    /// The keyring as Vault's JSON `EncodedKeyring`.
    pub(crate) fn to_json(&self) -> Result<Zeroizing<Vec<u8>>, BarrierError> {
        let keys = self
            .keys
            .iter()
            .map(|(term, key)| EncodedKey {
                term: *term,
                version: key.version,
                value: B64(key.value.as_ref()),
                install_time: &key.install_time,
            })
            .collect();
        let encoded = EncodedKeyring {
            master_key: B64(self.root_key.as_bytes()),
            keys,
        };
        serde_json::to_vec(&encoded)
            .map(Zeroizing::new)
            .map_err(|e| BarrierError::Internal(format!("failed to serialize keyring: {e}")))
    }

    /// The root key as Vault's JSON `Key` (`{"Term","Version","Value","InstallTime"}`), the form
    /// of the copy stored at `core/root-key`.
    pub(crate) fn root_key_json(&self) -> Result<Zeroizing<Vec<u8>>, BarrierError> {
        let install_time = now_rfc3339();
        let key = EncodedKey {
            term: 1,
            version: 1,
            value: B64(self.root_key.as_bytes()),
            install_time: &install_time,
        };
        serde_json::to_vec(&key)
            .map(Zeroizing::new)
            .map_err(|e| BarrierError::Internal(format!("failed to serialize root key: {e}")))
    }

    /// Parses the JSON written by [`Keyring::to_json`] (or by Vault).
    pub(crate) fn from_json(json: &[u8]) -> Result<Self, BarrierError> {
        let bad = |reason: String| {
            BarrierError::Internal(format!("keyring deserialization failed: {reason}"))
        };
        let decoded: DecodedKeyring<'_> =
            serde_json::from_slice(json).map_err(|e| bad(e.to_string()))?;
        let root_key = RootKey::from_bytes(&decode_b64(decoded.master_key).map_err(bad)?)
            .map_err(|e| bad(e.to_string()))?;
        let mut keys = BTreeMap::new();
        for key in decoded.keys {
            let raw = decode_b64(key.value).map_err(bad)?;
            if raw.len() != KEY_LEN {
                return Err(bad(format!("term {} key is {} bytes", key.term, raw.len())));
            }
            let mut value = Zeroizing::new([0u8; KEY_LEN]);
            value.copy_from_slice(&raw);
            let install_time = key.install_time.unwrap_or_default().to_owned();
            keys.insert(key.term, TermKey::new(value, key.version, install_time)?);
        }
        if keys.is_empty() {
            return Err(bad("no keys".to_owned()));
        }
        Ok(Self { root_key, keys })
    }
}

/// Standard base64 of a key, written straight into the serializer from a zeroized buffer.
struct B64<'a>(&'a [u8]);

impl Serialize for B64<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let encoded = Zeroizing::new(STANDARD.encode(self.0));
        serializer.serialize_str(&encoded)
    }
}

fn decode_b64(text: &str) -> Result<Zeroizing<Vec<u8>>, String> {
    STANDARD
        .decode(text)
        .map(Zeroizing::new)
        .map_err(|e| e.to_string())
}

#[derive(Serialize)]
struct EncodedKeyring<'a> {
    #[serde(rename = "MasterKey")]
    master_key: B64<'a>,
    #[serde(rename = "Keys")]
    keys: Vec<EncodedKey<'a>>,
}

#[derive(Serialize)]
struct EncodedKey<'a> {
    #[serde(rename = "Term")]
    term: u32,
    #[serde(rename = "Version")]
    version: u32,
    #[serde(rename = "Value")]
    value: B64<'a>,
    #[serde(rename = "InstallTime")]
    install_time: &'a str,
}

// Borrowed `&str`s: base64 and RFC 3339 text has no JSON escapes, so serde_json hands out
// slices of the (zeroized) input instead of making unzeroized copies.
#[derive(Deserialize)]
struct DecodedKeyring<'a> {
    #[serde(rename = "MasterKey", borrow)]
    master_key: &'a str,
    #[serde(rename = "Keys", borrow)]
    keys: Vec<DecodedKey<'a>>,
}

#[derive(Deserialize)]
struct DecodedKey<'a> {
    #[serde(rename = "Term")]
    term: u32,
    #[serde(rename = "Version", default = "one")]
    version: u32,
    #[serde(rename = "Value", borrow)]
    value: &'a str,
    #[serde(rename = "InstallTime", borrow, default)]
    install_time: Option<&'a str>,
}

fn one() -> u32 {
    1
}
