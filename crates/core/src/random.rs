//! Random identifiers (accessors, token ids, mount accessors) and the hex they are shown in.

use std::cell::RefCell;

use aws_lc_rs::error::Unspecified;
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use zeroize::Zeroizing;

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

/// Bytes drawn from the system CSPRNG at once for small draws. aws-lc's `RAND_bytes` costs
/// about 0.35 µs a call whatever the size (it mixes in fresh CPU entropy each time), and a
/// login makes six small draws (three sealing nonces, three ids): 4 % of its CPU.
const POOL_BYTES: usize = 512;

/// A thread's unused CSPRNG output. Each byte is handed out once and wiped as it goes.
struct Pool {
    bytes: Zeroizing<[u8; POOL_BYTES]>,
    next: usize,
}

thread_local! {
    static POOL: RefCell<Pool> = RefCell::new(Pool {
        bytes: Zeroizing::new([0; POOL_BYTES]),
        next: POOL_BYTES,
    });
}

/// Fills `buf` (a nonce, an id) with CSPRNG output from this thread's pool, refilled from
/// the system source when it runs out; draws over a quarter of the pool go to the system
/// source directly. Keys use [`fill`] or the system source itself.
pub(crate) fn fill_small(buf: &mut [u8]) -> Result<(), Unspecified> {
    if buf.len() > POOL_BYTES / 4 {
        return SystemRandom::new().fill(buf);
    }
    POOL.with_borrow_mut(|pool| {
        if POOL_BYTES - pool.next < buf.len() {
            SystemRandom::new().fill(&mut pool.bytes[..])?;
            pool.next = 0;
        }
        let drawn = pool.next..pool.next + buf.len();
        buf.copy_from_slice(&pool.bytes[drawn.clone()]);
        pool.bytes[drawn.clone()].fill(0);
        pool.next = drawn.end;
        Ok(())
    })
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
#[expect(
    clippy::expect_used,
    reason = "invariant: the OS random source does not fail on a running system"
)]
pub(crate) fn random_base62(len: usize) -> String {
    let mut out = String::with_capacity(len);
    // 32 bytes give 24 characters 94 % of the time (a byte is kept with p = 248/256).
    let mut buf = [0u8; 32];
    while out.len() < len {
        fill_small(&mut buf).expect("system random number generator failed");
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
    fn pooled_draws_never_repeat_and_cross_refills() {
        // 200 draws of 12 bytes span several refills of the 512-byte pool.
        let mut seen = std::collections::HashSet::new();
        for _ in 0..200 {
            let mut nonce = [0u8; 12];
            fill_small(&mut nonce).unwrap();
            assert!(seen.insert(nonce), "a nonce came out twice");
        }
        let mut large = [0u8; POOL_BYTES];
        fill_small(&mut large).unwrap();
        assert!(large.iter().any(|b| *b != 0));
        // What was handed out is no longer in the pool.
        POOL.with_borrow(|pool| assert!(pool.bytes[..pool.next].iter().all(|b| *b == 0)));
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
