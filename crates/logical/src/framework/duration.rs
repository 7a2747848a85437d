//! Durations as Vault reads them: Go's `time.ParseDuration` and go-secure-stdlib's
//! `parseutil.ParseDurationSecond`, which `TypeDurationSecond` fields go through.
//!
//! `ParseDurationSecond` accepts a bare integer (seconds), an integer with a `d` suffix (days),
//! or a Go duration (`1h30m`, `1.5h`, `300ms`, `-1s`); the empty string is zero. Vault then
//! keeps `int(d.Seconds())`, truncating toward zero, so `"1.9s"` is 1 and `"300ms"` is 0.

use serde_json::Value;

use super::go;

const NANOSECOND: u64 = 1;
const MICROSECOND: u64 = 1_000 * NANOSECOND;
const MILLISECOND: u64 = 1_000 * MICROSECOND;
const SECOND: u64 = 1_000 * MILLISECOND;
const MINUTE: u64 = 60 * SECOND;
const HOUR: u64 = 60 * MINUTE;

/// go-secure-stdlib's `ErrDurationMultiplicationOverflow`.
const OVERFLOW: &str =
    "multiplication of durations resulted in overflow, one operand may be too large";

/// Go's `time.ParseDuration`: a signed sequence of decimal numbers, each with an optional
/// fraction and a unit (`ns`, `us`/`µs`/`μs`, `ms`, `s`, `m`, `h`), as nanoseconds.
pub fn parse_go_duration(input: &str) -> Result<i64, String> {
    let invalid = || format!("time: invalid duration {}", time_quote(input));
    let mut s = input;
    let mut negative = false;
    if let Some(rest) = s.strip_prefix('-') {
        negative = true;
        s = rest;
    } else if let Some(rest) = s.strip_prefix('+') {
        s = rest;
    }
    if s == "0" {
        return Ok(0);
    }
    if s.is_empty() {
        return Err(invalid());
    }
    const LIMIT: u64 = 1 << 63;
    let mut total: u64 = 0;
    while !s.is_empty() {
        let first = s.as_bytes()[0];
        if !(first == b'.' || first.is_ascii_digit()) {
            return Err(invalid());
        }
        let before = s.len();
        let (whole, rest) = leading_int(s).ok_or_else(invalid)?;
        s = rest;
        let pre = before != s.len();
        let (mut fraction, mut scale, mut post) = (0_u64, 1.0_f64, false);
        if let Some(rest) = s.strip_prefix('.') {
            let before = rest.len();
            (fraction, scale, s) = leading_fraction(rest);
            post = before != s.len();
        }
        if !pre && !post {
            return Err(invalid());
        }
        let unit_len = s
            .find(|c: char| c == '.' || c.is_ascii_digit())
            .unwrap_or(s.len());
        if unit_len == 0 {
            return Err(format!(
                "time: missing unit in duration {}",
                time_quote(input)
            ));
        }
        let (unit_text, rest) = s.split_at(unit_len);
        s = rest;
        let unit = match unit_text {
            "ns" => NANOSECOND,
            "us" | "\u{b5}s" | "\u{3bc}s" => MICROSECOND,
            "ms" => MILLISECOND,
            "s" => SECOND,
            "m" => MINUTE,
            "h" => HOUR,
            _ => {
                return Err(format!(
                    "time: unknown unit {} in duration {}",
                    time_quote(unit_text),
                    time_quote(input)
                ));
            }
        };
        if whole > LIMIT / unit {
            return Err(invalid());
        }
        let mut value = whole * unit;
        if fraction > 0 {
            // Go computes the fractional part in float64, as here, then truncates.
            #[expect(
                clippy::cast_possible_truncation,
                clippy::cast_sign_loss,
                reason = "Go's uint64(float64) conversion"
            )]
            let extra = (fraction as f64 * (unit as f64 / scale)) as u64;
            value += extra;
            if value > LIMIT {
                return Err(invalid());
            }
        }
        total += value;
        if total > LIMIT {
            return Err(invalid());
        }
    }
    if negative {
        return Ok(0_i64.wrapping_sub_unsigned(total));
    }
    i64::try_from(total).map_err(|_| invalid())
}

/// Consumes `[0-9]*`; `None` when the number overflows 2^63.
fn leading_int(s: &str) -> Option<(u64, &str)> {
    let end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let mut x: u64 = 0;
    for c in s[..end].bytes() {
        if x > (1 << 63) / 10 {
            return None;
        }
        x = x * 10 + u64::from(c - b'0');
        if x > 1 << 63 {
            return None;
        }
    }
    Some((x, &s[end..]))
}

/// Consumes `[0-9]*` after a period, ignoring digits past what fits (Go's `leadingFraction`).
fn leading_fraction(s: &str) -> (u64, f64, &str) {
    let end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (mut x, mut scale, mut overflow) = (0_u64, 1.0_f64, false);
    for c in s[..end].bytes() {
        if overflow {
            continue;
        }
        if x > (i64::MAX as u64) / 10 {
            overflow = true;
            continue;
        }
        let y = x * 10 + u64::from(c - b'0');
        if y > 1 << 63 {
            overflow = true;
            continue;
        }
        x = y;
        scale *= 10.0;
    }
    (x, scale, &s[end..])
}

/// The `time` package's own `quote`: non-ASCII and control bytes as `\xNN`.
fn time_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if !c.is_ascii() || c < ' ' {
            let mut buf = [0_u8; 4];
            for byte in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("\\x{byte:02x}"));
            }
        } else {
            if c == '"' || c == '\\' {
                out.push('\\');
            }
            out.push(c);
        }
    }
    out.push('"');
    out
}

/// `parseutil.ParseDurationSecond` followed by Vault's `int(dur.Seconds())`: whole seconds,
/// or `None` for JSON `null` (which Vault treats as "not sent").
pub fn parse_duration_second(value: &Value) -> Result<Option<i64>, String> {
    let nanos = match value {
        Value::Null => return Ok(None),
        Value::String(_) | Value::Number(_) => {
            let text = go::string_kind(value).unwrap_or_default();
            duration_from_text(&text)?
        }
        Value::Bool(_) | Value::Array(_) | Value::Object(_) => {
            return Err("could not parse duration from input".to_owned());
        }
    };
    Ok(Some(whole_seconds(nanos)))
}

fn duration_from_text(text: &str) -> Result<i64, String> {
    if text.is_empty() {
        return Ok(0);
    }
    if let Ok(seconds) = go::parse_int(text, false) {
        return seconds
            .checked_mul(SECOND as i64)
            .ok_or_else(|| OVERFLOW.to_owned());
    }
    if let Some(days) = text.strip_suffix('d') {
        let days = go::parse_int(days, false)?;
        return days
            .checked_mul((24 * HOUR) as i64)
            .ok_or_else(|| OVERFLOW.to_owned());
    }
    parse_go_duration(text)
}

/// Go's `int(time.Duration(nanos).Seconds())`.
fn whole_seconds(nanos: i64) -> i64 {
    let second = SECOND as i64;
    #[expect(
        clippy::cast_precision_loss,
        reason = "Go's Duration.Seconds is float64"
    )]
    let seconds = (nanos / second) as f64 + (nanos % second) as f64 / 1e9;
    #[expect(
        clippy::cast_possible_truncation,
        reason = "Go's int(float64) truncates toward zero"
    )]
    let whole = seconds as i64;
    whole
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn secs(value: Value) -> Result<Option<i64>, String> {
        parse_duration_second(&value)
    }

    #[test]
    fn go_durations() {
        assert_eq!(parse_go_duration("1h30m"), Ok(90 * MINUTE as i64));
        assert_eq!(parse_go_duration("1.5h"), Ok(90 * MINUTE as i64));
        assert_eq!(parse_go_duration("768h"), Ok(768 * HOUR as i64));
        assert_eq!(parse_go_duration("300ms"), Ok(300 * MILLISECOND as i64));
        assert_eq!(parse_go_duration("-1s"), Ok(-(SECOND as i64)));
        assert_eq!(parse_go_duration("+5s"), Ok(5 * SECOND as i64));
        assert_eq!(parse_go_duration(".5s"), Ok(500 * MILLISECOND as i64));
        assert_eq!(parse_go_duration("1µs"), Ok(1000));
        assert_eq!(parse_go_duration("0"), Ok(0));
        assert_eq!(parse_go_duration("-0"), Ok(0));
        assert_eq!(parse_go_duration("2562047h47m16.854775807s"), Ok(i64::MAX));
        assert_eq!(parse_go_duration("-2562047h47m16.854775808s"), Ok(i64::MIN));
    }

    #[test]
    fn go_duration_errors() {
        assert_eq!(
            parse_go_duration("").unwrap_err(),
            r#"time: invalid duration """#
        );
        assert_eq!(
            parse_go_duration("abc").unwrap_err(),
            r#"time: invalid duration "abc""#
        );
        assert_eq!(
            parse_go_duration("1").unwrap_err(),
            r#"time: missing unit in duration "1""#
        );
        assert_eq!(
            parse_go_duration("1d").unwrap_err(),
            r#"time: unknown unit "d" in duration "1d""#
        );
        assert_eq!(
            parse_go_duration(".s").unwrap_err(),
            r#"time: invalid duration ".s""#
        );
        assert_eq!(
            parse_go_duration("2562047h47m16.854775808s").unwrap_err(),
            r#"time: invalid duration "2562047h47m16.854775808s""#
        );
        assert_eq!(
            parse_go_duration("1é").unwrap_err(),
            r#"time: unknown unit "\xc3\xa9" in duration "1\xc3\xa9""#
        );
    }

    #[test]
    fn duration_seconds_like_parseutil() {
        assert_eq!(secs(json!(3600)), Ok(Some(3600)));
        assert_eq!(secs(json!("3600")), Ok(Some(3600)));
        assert_eq!(secs(json!("1h30m")), Ok(Some(5400)));
        assert_eq!(secs(json!("1.5h")), Ok(Some(5400)));
        assert_eq!(secs(json!("90s")), Ok(Some(90)));
        assert_eq!(secs(json!("768h")), Ok(Some(2_764_800)));
        assert_eq!(secs(json!("1.9s")), Ok(Some(1)));
        assert_eq!(secs(json!("300ms")), Ok(Some(0)));
        assert_eq!(secs(json!("-1.5s")), Ok(Some(-1)));
        assert_eq!(secs(json!("2d")), Ok(Some(172_800)));
        assert_eq!(secs(json!("")), Ok(Some(0)));
        assert_eq!(secs(json!(-1)), Ok(Some(-1)));
        assert_eq!(secs(Value::Null), Ok(None));
        assert_eq!(
            secs(json!(1.5)).unwrap_err(),
            r#"time: missing unit in duration "1.5""#
        );
        assert_eq!(
            secs(json!("1.5d")).unwrap_err(),
            r#"strconv.ParseInt: parsing "1.5": invalid syntax"#
        );
        assert_eq!(
            secs(json!(true)).unwrap_err(),
            "could not parse duration from input"
        );
        assert_eq!(secs(json!("9223372037")).unwrap_err(), OVERFLOW);
        assert_eq!(secs(json!(9_223_372_036_i64)), Ok(Some(9_223_372_036)));
    }
}
