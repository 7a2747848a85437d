//! Salts and HMACs of the audit log: Vault's `sdk/helper/salt` and `audit/hashstructure.go`.
//!
//! Each device has a salt, a raw UUID string kept in the barrier at `audit/<uuid>/salt` and
//! made on first use. A value is shown as `hmac-sha256:<hex(HMAC-SHA256(salt, value))>`.
//! In request and response data every string is replaced by its HMAC, however deeply it is
//! nested in maps and lists, except strings that parse as RFC 3339 times and strings whose
//! nearest enclosing map key is one of the mount's non-HMAC keys. Map keys are never hashed;
//! numbers, booleans and nulls stay as they are.

use aws_lc_rs::hmac;
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use serde_json::Value;
use warden_logical::{Map, StorageEntry, StorageView};

use crate::CoreError;
use crate::view::BarrierView;

/// The key of the salt inside a device's barrier view (Vault's `salt.DefaultLocation`).
const SALT_KEY: &str = "salt";
/// The prefix every HMAC carries (Vault's `HMACType` and its separator).
const HMAC_PREFIX: &str = "hmac-sha256:";

/// A device's salt: the HMAC key. Never shown, not even in `Debug`.
pub(crate) struct Salt {
    key: hmac::Key,
}

impl std::fmt::Debug for Salt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Salt([redacted])")
    }
}

impl Salt {
    /// A salt from its stored value (the UUID string; its bytes are the key).
    pub(crate) fn new(salt: &str) -> Self {
        Self {
            key: hmac::Key::new(hmac::HMAC_SHA256, salt.as_bytes()),
        }
    }

    /// A salt that is never stored (Vault's `NewNonpersistentSalt`, used by the test probe).
    pub(crate) fn ephemeral() -> Self {
        Self::new(&uuid::Uuid::new_v4().to_string())
    }

    /// Reads the salt of a device's view, creating and storing a fresh UUID on first use.
    pub(crate) async fn load_or_create(view: &BarrierView) -> Result<Self, CoreError> {
        let failed = |err| CoreError::internal(format!("failed to read audit salt: {err}"));
        if let Some(entry) = view.get(SALT_KEY).await.map_err(failed)?
            && !entry.value.is_empty()
        {
            let salt = String::from_utf8(entry.value)
                .map_err(|_| CoreError::internal("failed to read audit salt: not UTF-8"))?;
            return Ok(Self::new(&salt));
        }
        let salt = uuid::Uuid::new_v4().to_string();
        view.put(StorageEntry {
            key: SALT_KEY.to_owned(),
            value: salt.clone().into_bytes(),
        })
        .await
        .map_err(|err| CoreError::internal(format!("failed to persist audit salt: {err}")))?;
        Ok(Self::new(&salt))
    }

    /// Vault's `GetIdentifiedHMAC`: `hmac-sha256:` and the hex HMAC of `value`.
    pub(crate) fn hmac(&self, value: &str) -> String {
        let tag = hmac::sign(&self.key, value.as_bytes());
        crate::random::prefixed_hex(HMAC_PREFIX, tag.as_ref())
    }
}

/// Request or response data as a device logs it, rendered straight from the request's own
/// map: keys in sorted order at every level (as Go's encoder writes maps) and, unless the
/// device logs raw, every string HMAC'd as the module docs say.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LoggedData<'a> {
    data: &'a Map,
    /// `None` for `log_raw`: nothing is hashed.
    salt: Option<&'a Salt>,
    non_hmac_keys: &'a [String],
}

impl<'a> LoggedData<'a> {
    pub(crate) fn new(data: &'a Map, salt: Option<&'a Salt>, non_hmac_keys: &'a [String]) -> Self {
        Self {
            data,
            salt,
            non_hmac_keys,
        }
    }

    /// Empty data is left out of an entry.
    pub(crate) fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    fn node(&self, value: &'a Value, key: &'a str) -> Node<'a> {
        Node {
            value,
            key,
            salt: self.salt,
            non_hmac_keys: self.non_hmac_keys,
        }
    }
}

impl Serialize for LoggedData<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut entries: Vec<(&String, &Value)> = self.data.iter().collect();
        entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
        let mut map = serializer.serialize_map(Some(entries.len()))?;
        for (key, value) in entries {
            map.serialize_entry(key, &self.node(value, key))?;
        }
        map.end()
    }
}

/// One value of logged data; `key` is its nearest enclosing map key (lists do not change
/// it, as in Vault's walker).
struct Node<'a> {
    value: &'a Value,
    key: &'a str,
    salt: Option<&'a Salt>,
    non_hmac_keys: &'a [String],
}

impl Serialize for Node<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.value {
            Value::String(text) => match self.salt {
                Some(salt)
                    if !is_rfc3339(text) && !self.non_hmac_keys.iter().any(|k| k == self.key) =>
                {
                    serializer.serialize_str(&salt.hmac(text))
                }
                _ => serializer.serialize_str(text),
            },
            Value::Array(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(&Node {
                        value: item,
                        ..*self
                    })?;
                }
                seq.end()
            }
            Value::Object(map) => LoggedData {
                data: map,
                salt: self.salt,
                non_hmac_keys: self.non_hmac_keys,
            }
            .serialize(serializer),
            Value::Null | Value::Bool(_) | Value::Number(_) => self.value.serialize(serializer),
        }
    }
}

/// Whether Go's `time.Time.UnmarshalText` accepts `text`: strict RFC 3339,
/// `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`, with valid field ranges.
pub(crate) fn is_rfc3339(text: &str) -> bool {
    let b = text.as_bytes();
    if b.len() < 20 {
        return false;
    }
    let num = |range: std::ops::Range<usize>| -> Option<u32> {
        let digits = b.get(range)?;
        if !digits.iter().all(u8::is_ascii_digit) {
            return None;
        }
        Some(
            digits
                .iter()
                .fold(0, |acc, d| acc * 10 + u32::from(d - b'0')),
        )
    };
    let (Some(year), Some(month), Some(day), Some(hour), Some(minute), Some(second)) = (
        num(0..4),
        num(5..7),
        num(8..10),
        num(11..13),
        num(14..16),
        num(17..19),
    ) else {
        return false;
    };
    if b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' || b[16] != b':' {
        return false;
    }
    if !(1..=12).contains(&month)
        || day == 0
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 59
    {
        return false;
    }
    let mut rest = &b[19..];
    if let Some(fraction) = rest.strip_prefix(b".") {
        let digits = fraction.iter().take_while(|c| c.is_ascii_digit()).count();
        if digits == 0 || digits > 9 {
            return false;
        }
        rest = &fraction[digits..];
    }
    match rest {
        b"Z" => true,
        [b'+' | b'-', h1, h2, b':', m1, m2] => {
            let digits = [h1, h2, m1, m2];
            if !digits.iter().all(|c| c.is_ascii_digit()) {
                return false;
            }
            let hours = (h1 - b'0') * 10 + (h2 - b'0');
            let minutes = (m1 - b'0') * 10 + (m2 - b'0');
            hours <= 23 && minutes <= 59
        }
        _ => false,
    }
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        2 if (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400) => {
            29
        }
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn object(value: Value) -> Map {
        match value {
            Value::Object(map) => map,
            _ => panic!("not an object"),
        }
    }

    #[test]
    fn hmac_is_identified_hex_sha256_keyed_by_the_salt_string() {
        // RFC 4231 test case 2: key "Jefe".
        let salt = Salt::new("Jefe");
        assert_eq!(
            salt.hmac("what do ya want for nothing?"),
            "hmac-sha256:5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert_eq!(format!("{salt:?}"), "Salt([redacted])");
    }

    #[test]
    fn rfc3339_strings_are_recognised_as_go_does() {
        for good in [
            "2026-11-22T10:46:40Z",
            "2026-11-22T10:46:40.123456789Z",
            "2024-02-29T00:00:00+02:00",
            "1999-12-31T23:59:59-07:30",
        ] {
            assert!(is_rfc3339(good), "{good}");
        }
        for bad in [
            "",
            "2026-11-22",
            "2026-11-22 10:46:40Z",
            "2026-11-22t10:46:40Z",
            "2026-13-01T00:00:00Z",
            "2023-02-29T00:00:00Z",
            "2026-11-22T24:00:00Z",
            "2026-11-22T10:46:60Z",
            "2026-11-22T10:46:40",
            "2026-11-22T10:46:40.Z",
            "2026-11-22T10:46:40.1234567890Z",
            "2026-11-22T10:46:40+0200",
            "2026-11-22T10:46:40Zjunk",
            "s3cret",
        ] {
            assert!(!is_rfc3339(bad), "{bad}");
        }
    }

    #[test]
    fn every_string_is_hashed_except_times_and_non_hmac_keys() {
        let salt = Salt::new("salt");
        let h = |s: &str| salt.hmac(s);
        let data = object(json!({
            "password": "s3cret",
            "count": 3,
            "ratio": 1.5,
            "enabled": true,
            "nothing": null,
            "empty": "",
            "created_time": "2026-11-22T10:46:40.5Z",
            "nested": {"inner": "v", "list": ["a", 1, {"deep": "d"}]},
            "list": ["x", ["y"]],
            "plain": "keep",
            "plain_list": ["keep", {"inner": "hash"}],
        }));
        let keys = ["plain".to_owned(), "plain_list".to_owned()];
        let logged = LoggedData::new(&data, Some(&salt), &keys);
        let expected = json!({
            "count": 3,
            "created_time": "2026-11-22T10:46:40.5Z",
            "empty": h(""),
            "enabled": true,
            "list": [h("x"), [h("y")]],
            "nested": {"inner": h("v"), "list": [h("a"), 1, {"deep": h("d")}]},
            "nothing": null,
            "password": h("s3cret"),
            "plain": "keep",
            "plain_list": ["keep", {"inner": h("hash")}],
            "ratio": 1.5,
        });
        let rendered = serde_json::to_value(logged).unwrap();
        assert_eq!(rendered, expected);
        // Keys come out sorted, as Go's encoder writes maps.
        let keys: Vec<&String> = rendered.as_object().unwrap().keys().collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted);
        // The request's own data is left as it was.
        assert_eq!(data["password"], "s3cret");
    }

    #[test]
    fn raw_data_orders_nested_keys_without_hashing() {
        let data = object(json!({"b": {"z": "1", "a": "2"}, "a": [{"y": 1, "x": 2}]}));
        assert_eq!(
            serde_json::to_string(&LoggedData::new(&data, None, &[])).unwrap(),
            r#"{"a":[{"x":2,"y":1}],"b":{"a":"2","z":"1"}}"#
        );
    }
}
