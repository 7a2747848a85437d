//! Random identifiers (accessors, token ids, mount accessors) and the hex they are shown in.

use aws_lc_rs::rand::{SecureRandom, SystemRandom};

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Fills `buf` from the system CSPRNG.
///
/// A failing system RNG leaves nothing safe to do, so this aborts the request by panicking,
/// as every other crypto library does in that state.
#[expect(
    clippy::expect_used,
    reason = "invariant: the OS random source does not fail on a running system"
)]
pub(crate) fn fill(buf: &mut [u8]) {
    SystemRandom::new()
        .fill(buf)
        .expect("system random number generator failed");
}

/// `bytes` random bytes as lower-case hex (`2 * bytes` characters).
pub(crate) fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    fill(&mut buf);
    hex::encode(buf)
}

/// `prefix` followed by the lower-case hex of `bytes`, in one allocation (hashes on the
/// request path: storage names of tokens, audit HMACs).
pub(crate) fn prefixed_hex(prefix: &str, bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(prefix.len() + 2 * bytes.len());
    out.push_str(prefix);
    for byte in bytes {
        out.push(char::from(DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    out
}

/// A random base62 string of `len` characters, without modulo bias (Vault's
/// `base62.Random`).
pub(crate) fn random_base62(len: usize) -> String {
    let mut out = String::with_capacity(len);
    let mut buf = [0u8; 64];
    while out.len() < len {
        fill(&mut buf);
        for byte in buf {
            // 62 * 4 = 248: bytes at or above it would bias the alphabet.
            if byte < 248 {
                out.push(char::from(BASE62[usize::from(byte % 62)]));
                if out.len() == len {
                    break;
                }
            }
        }
    }
    out
}

/// `value` in base62 over `BASE62`, left-padded with `0` to `width` characters. The
/// alphabet is in ASCII order, so strings of one width sort as their values do (11
/// characters hold any `u64`).
pub(crate) fn base62_ordered(mut value: u64, width: usize) -> String {
    let mut digits = vec![BASE62[0]; width];
    for slot in digits.iter_mut().rev() {
        *slot = BASE62[usize::try_from(value % 62).unwrap_or_default()];
        value /= 62;
    }
    digits.into_iter().map(char::from).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base62_has_the_length_and_alphabet() {
        let value = random_base62(24);
        assert_eq!(value.len(), 24);
        assert!(value.bytes().all(|b| b.is_ascii_alphanumeric()));
        assert_ne!(value, random_base62(24));
    }

    #[test]
    fn ordered_base62_sorts_as_its_values() {
        assert_eq!(base62_ordered(0, 11), "00000000000");
        assert_eq!(base62_ordered(61, 3), "00z");
        assert_eq!(base62_ordered(62, 3), "010");
        assert_eq!(base62_ordered(u64::MAX, 11), "LygHa16AHYF");
        let values = [
            0,
            1,
            61,
            62,
            3_843,
            1_796_187_401_313_448_193,
            u64::MAX - 1,
            u64::MAX,
        ];
        let encoded: Vec<String> = values.iter().map(|v| base62_ordered(*v, 11)).collect();
        let mut sorted = encoded.clone();
        sorted.sort();
        assert_eq!(encoded, sorted);
    }

    #[test]
    fn hex_has_twice_the_bytes() {
        assert_eq!(random_hex(4).len(), 8);
    }

    #[test]
    fn prefixed_hex_matches_the_hex_crate() {
        let bytes: Vec<u8> = (0..=255).collect();
        assert_eq!(
            prefixed_hex("h", &bytes),
            format!("h{}", hex::encode(&bytes))
        );
        assert_eq!(prefixed_hex("", &[]), "");
    }
}
