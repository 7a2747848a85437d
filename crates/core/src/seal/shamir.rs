//! Shamir's secret sharing over GF(2^8), share-compatible with Vault's `sdk/helper/shamir`.
//!
//! - Arithmetic is byte-wise in GF(2^8) with the AES reduction polynomial x^8+x^4+x^3+x+1
//!   (0x11B); addition is XOR, multiplication is a branch-free shift-and-add, the inverse is
//!   `a^254`. No lookup tables, so no secret-dependent memory access.
//! - Each secret byte is the intercept of its own random polynomial of degree `threshold - 1`.
//! - The x coordinates are a CSPRNG shuffle of 1..=255 (x = 0 would reveal the secret byte).
//! - A share is `y-bytes || x` ([`SHARE_OVERHEAD`] = 1 byte), exactly Vault's layout, so shares
//!   produced by either implementation combine in the other.

use std::fmt;

use aws_lc_rs::rand;
use zeroize::{Zeroize, Zeroizing};

/// The bytes a share has beyond the secret: the trailing x coordinate.
pub const SHARE_OVERHEAD: usize = 1;

/// Why a split or a combine was refused. Display strings are Vault's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ShamirError {
    /// `parts < threshold`.
    #[error("parts cannot be less than threshold")]
    PartsLessThanThreshold,
    /// `parts > 255`.
    #[error("parts cannot exceed 255")]
    TooManyParts,
    /// `threshold < 2`.
    #[error("threshold must be at least 2")]
    ThresholdTooSmall,
    /// `threshold > 255`.
    #[error("threshold cannot exceed 255")]
    ThresholdTooLarge,
    /// The secret is empty.
    #[error("cannot split an empty secret")]
    EmptySecret,
    /// The system random generator failed.
    #[error("failed to generate polynomial: random generator failed")]
    Random,
    /// Fewer than two parts were given to combine.
    #[error("less than two parts cannot be used to reconstruct the secret")]
    TooFewParts,
    /// A part is shorter than one secret byte plus the x coordinate.
    #[error("parts must be at least two bytes")]
    PartTooShort,
    /// Parts of different lengths.
    #[error("all parts must be the same length")]
    LengthMismatch,
    /// Two parts carry the same x coordinate.
    #[error("duplicate part detected")]
    DuplicatePart,
}

/// A secret-bearing byte string (a share or a recombined secret): zeroized on drop, never shown
/// by `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretBytes(Zeroizing<Vec<u8>>);

impl SecretBytes {
    /// Wraps bytes, taking ownership so no unzeroized copy remains with the caller.
    pub fn new(bytes: Vec<u8>) -> Self {
        Self(Zeroizing::new(bytes))
    }

    /// The bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The length in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are no bytes.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for SecretBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretBytes(<{} bytes redacted>)", self.0.len())
    }
}

/// Multiplication in GF(2^8) modulo 0x11B, without branches or tables.
fn mul(a: u8, b: u8) -> u8 {
    let mut acc = 0u8;
    for bit in (0..8).rev() {
        // Double the accumulator (reducing by 0x1B when the top bit falls off), then add `a`
        // if this bit of `b` is set. Masks instead of `if` keep the timing independent of data.
        let reduce = 0u8.wrapping_sub(acc >> 7) & 0x1B;
        let add_a = 0u8.wrapping_sub((b >> bit) & 1) & a;
        acc = (acc << 1) ^ reduce ^ add_a;
    }
    acc
}

/// The multiplicative inverse, `a^254` (and 0 for 0, which never reaches a division here).
fn inverse(a: u8) -> u8 {
    // 254 = 0b1111_1110: square-and-multiply over a fixed exponent.
    let mut result = 1u8;
    let mut power = a;
    let mut exponent = 254u8;
    while exponent > 0 {
        let take = 0u8.wrapping_sub(exponent & 1);
        let product = mul(result, power);
        result = (product & take) | (result & !take);
        power = mul(power, power);
        exponent >>= 1;
    }
    result
}

fn div(a: u8, b: u8) -> u8 {
    mul(a, inverse(b))
}

/// Evaluates the polynomial with `coefficients[0]` as intercept at `x` (Horner's method).
fn evaluate(coefficients: &[u8], x: u8) -> u8 {
    coefficients
        .iter()
        .rev()
        .fold(0u8, |acc, &c| mul(acc, x) ^ c)
}

/// Lagrange interpolation of the samples at x = 0.
fn interpolate_at_zero(xs: &[u8], ys: &[u8]) -> u8 {
    let mut result = 0u8;
    for (i, (&xi, &yi)) in xs.iter().zip(ys).enumerate() {
        let mut basis = 1u8;
        for (j, &xj) in xs.iter().enumerate() {
            if i != j {
                // (0 - xj) / (xi - xj); subtraction is XOR.
                basis = mul(basis, div(xj, xi ^ xj));
            }
        }
        result ^= mul(yi, basis);
    }
    result
}

/// A uniform index in `0..=max` from the system CSPRNG, by rejection sampling.
fn uniform_index(max: u8) -> Result<usize, ShamirError> {
    let bound = u16::from(max) + 1;
    // The largest multiple of `bound` that fits in a byte's range; draws above it are retried
    // so every index is equally likely.
    let limit = 256 - (256 % bound);
    loop {
        let mut byte = [0u8; 1];
        rand::fill(&mut byte).map_err(|_| ShamirError::Random)?;
        let draw = u16::from(byte[0]);
        if draw < limit {
            return Ok(usize::from(draw % bound));
        }
    }
}

/// The x coordinates 1..=255 in a uniformly random order (Fisher–Yates).
fn shuffled_x_coordinates() -> Result<[u8; 255], ShamirError> {
    let mut xs = [0u8; 255];
    for (slot, x) in xs.iter_mut().zip(1u8..=255) {
        *slot = x;
    }
    for i in (1..xs.len()).rev() {
        let max = u8::try_from(i).map_err(|_| ShamirError::TooManyParts)?;
        let j = uniform_index(max)?;
        xs.swap(i, j);
    }
    Ok(xs)
}

/// Splits `secret` into `parts` shares, any `threshold` of which rebuild it. Each share is
/// `secret.len() + 1` bytes. The checks and their order are Vault's.
pub fn split(
    secret: &[u8],
    parts: usize,
    threshold: usize,
) -> Result<Vec<SecretBytes>, ShamirError> {
    if parts < threshold {
        return Err(ShamirError::PartsLessThanThreshold);
    }
    if parts > 255 {
        return Err(ShamirError::TooManyParts);
    }
    if threshold < 2 {
        return Err(ShamirError::ThresholdTooSmall);
    }
    if threshold > 255 {
        return Err(ShamirError::ThresholdTooLarge);
    }
    if secret.is_empty() {
        return Err(ShamirError::EmptySecret);
    }

    let xs = shuffled_x_coordinates()?;
    // Shares are secrets from their first byte on: zeroized even if a later step fails.
    let mut out: Vec<Zeroizing<Vec<u8>>> = xs[..parts]
        .iter()
        .map(|&x| {
            let mut share = Zeroizing::new(vec![0u8; secret.len() + SHARE_OVERHEAD]);
            share[secret.len()] = x;
            share
        })
        .collect();

    let mut coefficients = Zeroizing::new(vec![0u8; threshold]);
    for (idx, &byte) in secret.iter().enumerate() {
        coefficients[0] = byte;
        rand::fill(&mut coefficients[1..]).map_err(|_| ShamirError::Random)?;
        for (share, &x) in out.iter_mut().zip(&xs[..parts]) {
            share[idx] = evaluate(&coefficients, x);
        }
    }
    coefficients.zeroize();

    Ok(out.into_iter().map(SecretBytes).collect())
}

/// Rebuilds a secret from at least `threshold` shares made by [`split`] (or by Vault). With
/// fewer shares than the threshold the result is an unrelated value, not an error: Shamir
/// cannot tell. The checks and their order are Vault's.
pub fn combine<S: AsRef<[u8]>>(parts: &[S]) -> Result<SecretBytes, ShamirError> {
    if parts.len() < 2 {
        return Err(ShamirError::TooFewParts);
    }
    let first_len = parts[0].as_ref().len();
    if first_len < 2 {
        return Err(ShamirError::PartTooShort);
    }
    if parts.iter().any(|part| part.as_ref().len() != first_len) {
        return Err(ShamirError::LengthMismatch);
    }

    let secret_len = first_len - SHARE_OVERHEAD;
    let mut xs = Vec::with_capacity(parts.len());
    let mut seen = [false; 256];
    for part in parts {
        let x = part.as_ref()[secret_len];
        if seen[usize::from(x)] {
            return Err(ShamirError::DuplicatePart);
        }
        seen[usize::from(x)] = true;
        xs.push(x);
    }

    let mut secret = Zeroizing::new(vec![0u8; secret_len]);
    let mut ys = Zeroizing::new(vec![0u8; parts.len()]);
    for (idx, out) in secret.iter_mut().enumerate() {
        for (y, part) in ys.iter_mut().zip(parts) {
            *y = part.as_ref()[idx];
        }
        *out = interpolate_at_zero(&xs, &ys);
    }
    Ok(SecretBytes(secret))
}

#[cfg(test)]
mod tests;
