use proptest::prelude::*;

use super::*;

/// Shares of `SECRET` (3 of 5) computed by an independent implementation of Vault's original
/// table-based algorithm (log/exp tables over generator 3, polynomial 0x11B), with the fixed
/// coefficients of `fixed_coefficient` and the x coordinates 0x21, 0x7F, 0xC3, 0x05, 0xFE, in
/// Vault's `y-bytes || x` layout.
const SECRET: &[u8; 32] = b"warden/vault shamir known vector";
const VECTOR: [&str; 5] = [
    "e3397244999e1c77255ebc640c75107ebd85c6f76025f608456412c1b885acfb21",
    "bad933abb4366d00949c1503c9a2f163a431d3e6b346f6516032eff283ac86dd7f",
    "4cdf5fd566e42ea02a88314f530d0133cfed65629b04fb01f0081164e3f9e6f0c3",
    "830aa7dc7776b8dc42846ee0e5ec19ef61a1048d6cc377a9039fd752b3feab2b05",
    "e96a531ce2a16bafcd787f8e95f7bf3d7f7041ce7ac5d55dab44778d4066dc13fe",
];

fn fixed_coefficient(idx: usize, k: usize) -> u8 {
    u8::try_from((idx * 7 + k * 13 + 1) % 255 + 1).unwrap()
}

fn vector() -> Vec<Vec<u8>> {
    VECTOR.iter().map(|h| hex::decode(h).unwrap()).collect()
}

#[test]
fn field_arithmetic_matches_vault_tests() {
    // Vault's TestField_* expectations.
    assert_eq!(16 ^ 16, 0);
    assert_eq!(mul(3, 7), 9);
    assert_eq!(mul(3, 0), 0);
    assert_eq!(mul(0, 3), 0);
    assert_eq!(div(0, 7), 0);
    assert_eq!(div(3, 3), 1);
    assert_eq!(div(6, 3), 2);
}

#[test]
fn every_nonzero_element_has_an_inverse() {
    for a in 1..=255u8 {
        assert_eq!(mul(a, inverse(a)), 1, "a = {a}");
    }
}

#[test]
fn multiplication_matches_carryless_reference() {
    fn slow(mut a: u8, mut b: u8) -> u8 {
        let mut r = 0u8;
        while b != 0 {
            if b & 1 == 1 {
                r ^= a;
            }
            let carry = a & 0x80 != 0;
            a <<= 1;
            if carry {
                a ^= 0x1B;
            }
            b >>= 1;
        }
        r
    }
    for a in 0..=255u8 {
        for b in 0..=255u8 {
            assert_eq!(mul(a, b), slow(a, b));
        }
    }
}

#[test]
fn known_vector_evaluation_matches() {
    let shares = vector();
    for share in &shares {
        let x = share[32];
        for (idx, &byte) in SECRET.iter().enumerate() {
            let coefficients = [byte, fixed_coefficient(idx, 1), fixed_coefficient(idx, 2)];
            assert_eq!(evaluate(&coefficients, x), share[idx]);
        }
    }
}

#[test]
fn known_vector_combines_from_any_three_and_from_all() {
    let shares = vector();
    for i in 0..5 {
        for j in 0..5 {
            for k in 0..5 {
                if i == j || j == k || i == k {
                    continue;
                }
                let parts = [&shares[i], &shares[j], &shares[k]];
                assert_eq!(combine(&parts).unwrap().as_bytes(), SECRET);
            }
        }
    }
    assert_eq!(combine(&shares).unwrap().as_bytes(), SECRET);
}

#[test]
fn split_validation_messages_in_vaults_order() {
    let secret = b"test";
    let cases: [(usize, usize, &str); 5] = [
        (0, 0, "threshold must be at least 2"),
        (2, 3, "parts cannot be less than threshold"),
        (1000, 3, "parts cannot exceed 255"),
        (10, 1, "threshold must be at least 2"),
        (300, 300, "parts cannot exceed 255"),
    ];
    for (parts, threshold, message) in cases {
        let err = split(secret, parts, threshold).unwrap_err();
        assert_eq!(err.to_string(), message, "split({parts}, {threshold})");
    }
    assert_eq!(
        split(b"", 3, 2).unwrap_err().to_string(),
        "cannot split an empty secret"
    );
}

#[test]
fn combine_validation_messages() {
    let none: [&[u8]; 0] = [];
    assert_eq!(
        combine(&none).unwrap_err().to_string(),
        "less than two parts cannot be used to reconstruct the secret"
    );
    assert_eq!(
        combine(&[b"foo".as_slice()]).unwrap_err(),
        ShamirError::TooFewParts
    );
    assert_eq!(
        combine(&[b"foo".as_slice(), b"ba"])
            .unwrap_err()
            .to_string(),
        "all parts must be the same length"
    );
    assert_eq!(
        combine(&[b"f".as_slice(), b"b"]).unwrap_err().to_string(),
        "parts must be at least two bytes"
    );
    assert_eq!(
        combine(&[b"foo".as_slice(), b"foo"])
            .unwrap_err()
            .to_string(),
        "duplicate part detected"
    );
}

#[test]
fn split_uses_full_range_of_x_and_never_zero() {
    let mut seen = [false; 256];
    for _ in 0..20 {
        for share in split(b"k", 255, 2).unwrap() {
            seen[usize::from(share.as_bytes()[1])] = true;
        }
    }
    assert!(!seen[0], "x = 0 must never be used");
    assert!(
        seen[1..].iter().all(|&s| s),
        "255 parts use every x in 1..=255"
    );
}

#[test]
fn share_debug_is_redacted() {
    let shares = split(b"super secret", 3, 2).unwrap();
    let shown = format!("{:?}", shares[0]);
    assert_eq!(shown, "SecretBytes(<13 bytes redacted>)");
}

/// `(secret, n, k, a permutation seed)` with 2 <= k <= n <= 12.
fn split_case() -> impl Strategy<Value = (Vec<u8>, usize, usize, Vec<usize>)> {
    (prop::collection::vec(any::<u8>(), 1..64), 2usize..=12)
        .prop_flat_map(|(secret, n)| (Just(secret), Just(n), 2..=n))
        .prop_flat_map(|(secret, n, k)| {
            (
                Just(secret),
                Just(n),
                Just(k),
                Just((0..n).collect::<Vec<_>>()).prop_shuffle(),
            )
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_threshold_subset_reconstructs((secret, n, k, order) in split_case()) {
        let shares = split(&secret, n, k).unwrap();
        prop_assert_eq!(shares.len(), n);
        let mut xs: Vec<u8> = shares.iter().map(|s| s.as_bytes()[secret.len()]).collect();
        for share in &shares {
            prop_assert_eq!(share.len(), secret.len() + SHARE_OVERHEAD);
        }
        prop_assert!(xs.iter().all(|&x| x != 0));
        xs.sort_unstable();
        xs.dedup();
        prop_assert_eq!(xs.len(), n, "x coordinates are distinct");

        // The first k of a random order: any k-subset, in any order.
        let subset: Vec<&[u8]> = order[..k].iter().map(|&i| shares[i].as_bytes()).collect();
        let rebuilt = combine(&subset).unwrap();
        prop_assert_eq!(rebuilt.as_bytes(), secret.as_slice());
        // More than k shares also reconstruct.
        let all: Vec<&[u8]> = order.iter().map(|&i| shares[i].as_bytes()).collect();
        let rebuilt = combine(&all).unwrap();
        prop_assert_eq!(rebuilt.as_bytes(), secret.as_slice());
    }

    #[test]
    fn fewer_than_threshold_shares_reveal_nothing(
        (secret, n, k, order) in split_case().prop_filter("k-1 >= 2 to combine", |c| c.2 >= 3),
        pad in prop::collection::vec(any::<u8>(), 16..32),
    ) {
        // A secret of at least 16 random bytes: k-1 shares give the right answer with
        // probability 2^-128 at most.
        let mut secret = secret;
        secret.extend_from_slice(&pad);
        let shares = split(&secret, n, k).unwrap();
        let subset: Vec<&[u8]> = order[..k - 1].iter().map(|&i| shares[i].as_bytes()).collect();
        let rebuilt = combine(&subset).unwrap();
        prop_assert_ne!(rebuilt.as_bytes(), secret.as_slice());
    }
}
