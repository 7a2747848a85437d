//! Durations as Vault's configuration accepts them (`parseutil.ParseDurationSecond`): an integer
//! number of seconds (JSON/HCL number or numeric string), an integer number of days with a `d`
//! suffix (`"7d"`), or a Go duration string (`"768h"`, `"1h30m"`, `"1.5h"`, `"90s"`, `"250ms"`).

use std::time::Duration;

/// Parses a duration string the way Vault's `ParseDurationSecond` does.
///
/// An empty string is zero. Negative values are rejected: no duration in the server configuration
/// means anything below zero.
pub(crate) fn parse_duration(input: &str) -> Result<Duration, String> {
    let s = input.trim();
    if s.is_empty() {
        return Ok(Duration::ZERO);
    }
    if let Ok(secs) = s.parse::<i64>() {
        return seconds(secs);
    }
    if let Some(days) = s.strip_suffix('d')
        && let Ok(days) = days.parse::<i64>()
    {
        let secs = days
            .checked_mul(86_400)
            .ok_or_else(|| format!("duration {input:?} is out of range"))?;
        return seconds(secs);
    }
    parse_go_duration(s).map_err(|e| e.unwrap_or_else(|| format!("invalid duration {input:?}")))
}

/// Converts a number of seconds (a configuration number) into a duration.
pub(crate) fn seconds(secs: i64) -> Result<Duration, String> {
    u64::try_from(secs)
        .map(Duration::from_secs)
        .map_err(|_| format!("duration {secs} cannot be negative"))
}

/// Go's `time.ParseDuration`: `[-+]?([0-9]*(\.[0-9]*)?[a-z]+)+`, units ns, us (µs, μs), ms, s, m,
/// h; `"0"` alone is zero. `Err(None)` is a syntax error, `Err(Some(msg))` a specific one.
fn parse_go_duration(s: &str) -> Result<Duration, Option<String>> {
    let (negative, mut rest) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if rest == "0" {
        return Ok(Duration::ZERO);
    }
    if rest.is_empty() {
        return Err(None);
    }
    let mut total: u128 = 0;
    while !rest.is_empty() {
        let int_len = rest.bytes().take_while(u8::is_ascii_digit).count();
        let (int_part, after_int) = rest.split_at(int_len);
        let (frac_part, after_num) = match after_int.strip_prefix('.') {
            Some(after_dot) => {
                let frac_len = after_dot.bytes().take_while(u8::is_ascii_digit).count();
                after_dot.split_at(frac_len)
            }
            None => ("", after_int),
        };
        if int_part.is_empty() && frac_part.is_empty() {
            return Err(None);
        }
        let unit_len = after_num
            .char_indices()
            .find(|(_, c)| c.is_ascii_digit() || *c == '.')
            .map_or(after_num.len(), |(i, _)| i);
        let (unit, after_unit) = after_num.split_at(unit_len);
        let unit_nanos: u128 = match unit {
            "ns" => 1,
            "us" | "µs" | "μs" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60 * 1_000_000_000,
            "h" => 3_600 * 1_000_000_000,
            "" => return Err(Some(format!("missing unit in duration {s:?}"))),
            other => return Err(Some(format!("unknown unit {other:?} in duration {s:?}"))),
        };
        let whole: u128 = if int_part.is_empty() {
            0
        } else {
            int_part
                .parse()
                .map_err(|_| Some(format!("duration {s:?} is out of range")))?
        };
        let mut nanos = whole
            .checked_mul(unit_nanos)
            .ok_or_else(|| Some(format!("duration {s:?} is out of range")))?;
        // Fractional part: scale digit by digit, truncating like Go does.
        let mut scale = unit_nanos;
        for digit in frac_part.bytes() {
            scale /= 10;
            if scale == 0 {
                break;
            }
            nanos += u128::from(digit - b'0') * scale;
        }
        total = total
            .checked_add(nanos)
            .ok_or_else(|| Some(format!("duration {s:?} is out of range")))?;
        rest = after_unit;
    }
    if negative && total != 0 {
        return Err(Some(format!("duration {s:?} cannot be negative")));
    }
    let secs = u64::try_from(total / 1_000_000_000)
        .map_err(|_| Some(format!("duration {s:?} is out of range")))?;
    let sub = u32::try_from(total % 1_000_000_000).unwrap_or(0);
    Ok(Duration::new(secs, sub))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(s: &str) -> Duration {
        parse_duration(s).unwrap_or_else(|e| panic!("{s:?}: {e}"))
    }

    #[test]
    fn go_durations() {
        assert_eq!(ok("768h"), Duration::from_secs(768 * 3600));
        assert_eq!(ok("1h30m"), Duration::from_secs(5400));
        assert_eq!(ok("1.5h"), Duration::from_secs(5400));
        assert_eq!(ok("90s"), Duration::from_secs(90));
        assert_eq!(ok("250ms"), Duration::from_millis(250));
        assert_eq!(ok("1m0.5s"), Duration::from_millis(60_500));
        assert_eq!(ok(".5s"), Duration::from_millis(500));
        assert_eq!(ok("10us"), Duration::from_micros(10));
        assert_eq!(ok("10µs"), Duration::from_micros(10));
        assert_eq!(ok("3ns"), Duration::from_nanos(3));
        assert_eq!(ok("+5m"), Duration::from_secs(300));
        assert_eq!(ok("0"), Duration::ZERO);
        assert_eq!(ok("-0s"), Duration::ZERO);
    }

    #[test]
    fn seconds_days_and_empty() {
        assert_eq!(ok("3600"), Duration::from_secs(3600));
        assert_eq!(ok(" 60 "), Duration::from_secs(60));
        assert_eq!(ok("7d"), Duration::from_secs(7 * 86_400));
        assert_eq!(ok(""), Duration::ZERO);
    }

    #[test]
    fn rejects_bad_input() {
        for bad in ["abc", "h", "1x", "1.h2", ".s", "1h-1m", "--1s"] {
            assert!(parse_duration(bad).is_err(), "{bad:?} should be rejected");
        }
        assert_eq!(
            parse_duration("abc").unwrap_err(),
            "invalid duration \"abc\""
        );
        assert_eq!(
            parse_duration("5y").unwrap_err(),
            "unknown unit \"y\" in duration \"5y\""
        );
        assert!(
            parse_duration("-5s")
                .unwrap_err()
                .contains("cannot be negative")
        );
        assert!(
            parse_duration("-5")
                .unwrap_err()
                .contains("cannot be negative")
        );
        assert!(parse_duration("99999999999999999999h").is_err());
    }
}
