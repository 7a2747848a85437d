//! Times and durations as Vault prints them: Go's `time.RFC3339Nano` (UTC, trailing zeros of
//! the fraction dropped) for timestamps, and `time.Duration.String` (`0s`, `45s`, `3m0s`,
//! `3h0m0s`, `-1s`) for `delete_version_after`.

use std::fmt;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// A point in time, in nanoseconds since the Unix epoch (the range covers 1678–2262).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub(super) struct Timestamp(pub(super) i64);

const NANOS_PER_SECOND: i64 = 1_000_000_000;

impl Timestamp {
    /// The current time.
    pub(super) fn now() -> Self {
        Self::from_datetime(OffsetDateTime::now_utc())
    }

    /// A time from a `time` value, clamped to the representable range.
    pub(super) fn from_datetime(time: OffsetDateTime) -> Self {
        let nanos = time.unix_timestamp_nanos();
        Self(i64::try_from(nanos).unwrap_or(if nanos < 0 { i64::MIN } else { i64::MAX }))
    }

    /// This time plus whole seconds (saturating).
    pub(super) fn plus_seconds(self, seconds: i64) -> Self {
        Self(
            self.0
                .saturating_add(seconds.saturating_mul(NANOS_PER_SECOND)),
        )
    }

    /// Go's `t.Format(time.RFC3339Nano)` of the time in UTC.
    pub(super) fn rfc3339_nano(self) -> String {
        let Ok(time) = OffsetDateTime::from_unix_timestamp_nanos(i128::from(self.0)) else {
            return String::new();
        };
        let mut out = format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
            time.year(),
            u8::from(time.month()),
            time.day(),
            time.hour(),
            time.minute(),
            time.second()
        );
        let nanos = time.nanosecond();
        if nanos != 0 {
            let fraction = format!("{nanos:09}");
            out.push('.');
            out.push_str(fraction.trim_end_matches('0'));
        }
        out.push('Z');
        out
    }
}

/// Vault's `ptypesTimestampToString`: RFC 3339 with nanoseconds, or `""` when unset.
pub(super) fn timestamp_string(time: Option<Timestamp>) -> String {
    time.map(Timestamp::rfc3339_nano).unwrap_or_default()
}

/// Whole seconds printed as Go's `time.Duration.String`.
pub(super) struct GoDuration(pub(super) i64);

impl fmt::Display for GoDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 == 0 {
            return f.write_str("0s");
        }
        if self.0 < 0 {
            f.write_str("-")?;
        }
        let total = self.0.unsigned_abs();
        let (hours, minutes, seconds) = (total / 3600, (total / 60) % 60, total % 60);
        if hours > 0 {
            write!(f, "{hours}h{minutes}m{seconds}s")
        } else if minutes > 0 {
            write!(f, "{minutes}m{seconds}s")
        } else {
            write!(f, "{seconds}s")
        }
    }
}

/// Go's `strconv.Quote` (what `%q` prints): printable characters as they are, `"` and `\`
/// escaped, the rest as `\n`, `\t`, `\xNN` or `\uNNNN`.
pub(super) fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            c if is_go_printable(c) => out.push(c),
            c if u32::from(c) < 0x80 => out.push_str(&format!("\\x{:02x}", u32::from(c))),
            c if u32::from(c) <= 0xffff => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push_str(&format!("\\U{:08x}", u32::from(c))),
        }
    }
    out.push('"');
    out
}

/// Go's `unicode.IsPrint`, closely: graphic characters and the ASCII space, but no other
/// white space, control or format characters.
pub(super) fn is_go_printable(c: char) -> bool {
    if c == ' ' {
        return true;
    }
    let format = matches!(
        u32::from(c),
        0xad | 0x600..=0x605 | 0x61c | 0x6dd | 0x70f | 0x200b..=0x200f | 0x202a..=0x202e
            | 0x2060..=0x2064 | 0x2066..=0x206f | 0xfeff | 0xfff9..=0xfffb
            | 0xe000..=0xf8ff | 0xd800..=0xdfff
    );
    !c.is_control() && !c.is_whitespace() && !format
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_nano_trims_the_fraction_like_go() {
        // 2018-03-22T02:24:06.945319214Z, as in Vault's API docs.
        let t = Timestamp(1_521_685_446_945_319_214);
        assert_eq!(t.rfc3339_nano(), "2018-03-22T02:24:06.945319214Z");
        assert_eq!(
            Timestamp(1_521_685_446_000_000_000).rfc3339_nano(),
            "2018-03-22T02:24:06Z"
        );
        assert_eq!(
            Timestamp(1_521_685_446_120_000_000).rfc3339_nano(),
            "2018-03-22T02:24:06.12Z"
        );
        assert_eq!(timestamp_string(None), "");
        assert_eq!(
            Timestamp(1_521_685_446_000_000_000)
                .plus_seconds(3600)
                .rfc3339_nano(),
            "2018-03-22T03:24:06Z"
        );
    }

    #[test]
    fn durations_print_like_go() {
        let cases = [
            (0, "0s"),
            (45, "45s"),
            (180, "3m0s"),
            (10_800, "3h0m0s"),
            (5_430, "1h30m30s"),
            (-1, "-1s"),
            (90_000, "25h0m0s"),
        ];
        for (seconds, text) in cases {
            assert_eq!(GoDuration(seconds).to_string(), text);
        }
    }

    #[test]
    fn quoting_follows_strconv() {
        assert_eq!(go_quote("abc"), "\"abc\"");
        assert_eq!(go_quote("a\"b\\"), "\"a\\\"b\\\\\"");
        assert_eq!(go_quote("a\nb\u{1}"), "\"a\\nb\\x01\"");
        assert_eq!(go_quote("é\u{200b}"), "\"é\\u200b\"");
        assert!(is_go_printable('é'));
        assert!(!is_go_printable('\t'));
        assert!(!is_go_printable('\u{a0}'));
    }
}
