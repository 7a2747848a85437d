//! Small matching helpers several backends share: Vault's go-glob, CIDR membership, and
//! reading a coerced string list out of request data.

use std::net::IpAddr;

use serde_json::Value;

use crate::Map;

/// `ryanuber/go-glob`, as Vault's `strutil.GlobbedStringsMatch` and bound-name checks use it:
/// `*` matches any run of characters (including `/` and `:`), anywhere; nothing else is
/// special.
pub fn go_glob(pattern: &str, subject: &str) -> bool {
    if pattern == "*" {
        return true;
    }
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == subject;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !subject.starts_with(first)
        || subject.len() < first.len() + last.len()
        || !subject.ends_with(last)
    {
        return false;
    }
    let mut rest = &subject[first.len()..subject.len() - last.len()];
    for middle in &parts[1..parts.len() - 1] {
        match rest.find(middle) {
            Some(at) => rest = &rest[at + middle.len()..],
            None => return false,
        }
    }
    true
}

/// Whether any pattern in `patterns` matches `subject` (`strutil.StrListContainsGlob`).
pub fn go_glob_any(patterns: &[String], subject: &str) -> bool {
    patterns.iter().any(|pattern| go_glob(pattern, subject))
}

/// Whether `addr` lies in `cidr` (`10.0.0.0/8`, `::1/128`, or a bare address). IPv4-mapped
/// IPv6 addresses match IPv4 blocks.
pub fn cidr_contains(cidr: &str, addr: IpAddr) -> bool {
    let (base, bits) = match cidr.split_once('/') {
        Some((base, bits)) => (base, bits.parse::<u32>().ok()),
        None => (cidr, None),
    };
    let Ok(base) = base.trim().parse::<IpAddr>() else {
        return false;
    };
    let addr = match addr {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(addr, IpAddr::V4),
        v4 @ IpAddr::V4(_) => v4,
    };
    match (base, addr) {
        (IpAddr::V4(base), IpAddr::V4(addr)) => {
            let bits = bits.unwrap_or(32).min(32);
            let mask = if bits == 0 {
                0
            } else {
                u32::MAX << (32 - bits)
            };
            u32::from(base) & mask == u32::from(addr) & mask
        }
        (IpAddr::V6(base), IpAddr::V6(addr)) => {
            let bits = bits.unwrap_or(128).min(128);
            let mask = if bits == 0 {
                0
            } else {
                u128::MAX << (128 - bits)
            };
            u128::from(base) & mask == u128::from(addr) & mask
        }
        _ => false,
    }
}

/// The strings of a list field in coerced request data (missing or not a list: empty).
pub fn string_list(data: &Map, key: &str) -> Vec<String> {
    data.get(key)
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_are_go_globs() {
        assert!(go_glob("*", ""));
        assert!(go_glob("vault-*", "vault-auth"));
        assert!(go_glob("def*", "default"));
        assert!(go_glob("*-svc", "app-svc"));
        assert!(go_glob("a*b*c", "axxbyyc"));
        assert!(!go_glob("a*b*c", "axxc"));
        assert!(!go_glob("vault-*", "vault"));
        assert!(go_glob("exact", "exact"));
        assert!(!go_glob("exact", "exactly"));
        assert!(go_glob(
            "system:serviceaccount:*:app",
            "system:serviceaccount:ns:app"
        ));
        assert!(!go_glob("", "x"));
        assert!(go_glob("", ""));
    }

    #[test]
    fn cidrs_match_v4_v6_and_mapped_addresses() {
        let v4: IpAddr = "10.1.2.3".parse().unwrap();
        assert!(cidr_contains("10.0.0.0/8", v4));
        assert!(!cidr_contains("10.0.0.0/16", v4));
        assert!(cidr_contains("10.1.2.3", v4));
        assert!(cidr_contains("0.0.0.0/0", v4));
        let v6: IpAddr = "::1".parse().unwrap();
        assert!(cidr_contains("::1/128", v6));
        assert!(!cidr_contains("10.0.0.0/8", v6));
        let mapped: IpAddr = "::ffff:10.1.2.3".parse().unwrap();
        assert!(cidr_contains("10.0.0.0/8", mapped));
        assert!(!cidr_contains("garbage", v4));
    }
}
