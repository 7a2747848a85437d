//! The coercion table: each type, good and bad inputs, with Vault's exact error text.

use serde_json::{Value, json};

use super::{FieldType, conversion_error};

enum Want {
    Is(Value),
    Absent,
    Fails(&'static str),
}

use FieldType as T;
use Want::{Absent, Fails, Is};

fn cases() -> Vec<(FieldType, Value, Want)> {
    vec![
        // String: mapstructure's weak decoding.
        (T::String, json!("abc"), Is(json!("abc"))),
        (T::String, json!(5), Is(json!("5"))),
        (T::String, json!(1.5), Is(json!("1.5"))),
        (T::String, json!(true), Is(json!("1"))),
        (T::String, json!(false), Is(json!("0"))),
        (T::String, Value::Null, Is(json!(""))),
        (
            T::String,
            json!(["a", 1]),
            Fails(
                "'' expected type 'string', got unconvertible type '[]interface {}', value: '[a 1]'",
            ),
        ),
        (
            T::String,
            json!({"a": "b"}),
            Fails(
                "'' expected type 'string', got unconvertible type 'map[string]interface {}', value: 'map[a:b]'",
            ),
        ),
        (T::LowerCaseString, json!("AbC"), Is(json!("abc"))),
        (T::LowerCaseString, json!(true), Is(json!("1"))),
        // NameString: ^\w(([\w-.]+)?\w)?$ with ASCII \w.
        (T::NameString, json!("my-role.1"), Is(json!("my-role.1"))),
        (T::NameString, json!("a"), Is(json!("a"))),
        (T::NameString, json!("a_"), Is(json!("a_"))),
        (
            T::NameString,
            json!("-bad"),
            Fails("field does not match the formatting rules"),
        ),
        (
            T::NameString,
            json!("bad."),
            Fails("field does not match the formatting rules"),
        ),
        (
            T::NameString,
            json!(""),
            Fails("field does not match the formatting rules"),
        ),
        (
            T::NameString,
            json!("rôle"),
            Fails("field does not match the formatting rules"),
        ),
        // Int / Int64: strconv.ParseInt(s, 0, 64).
        (T::Int, json!("42"), Is(json!(42))),
        (T::Int, json!(42), Is(json!(42))),
        (T::Int, json!(-7), Is(json!(-7))),
        (T::Int, json!("0x10"), Is(json!(16))),
        (T::Int, json!(true), Is(json!(1))),
        (T::Int, json!(""), Is(json!(0))),
        (T::Int, Value::Null, Is(json!(0))),
        (
            T::Int,
            json!("abc"),
            Fails(r#"cannot parse '' as int: strconv.ParseInt: parsing "abc": invalid syntax"#),
        ),
        (
            T::Int,
            json!(1.5),
            Fails(r#"cannot parse '' as int: strconv.ParseInt: parsing "1.5": invalid syntax"#),
        ),
        (
            T::Int,
            json!("9223372036854775808"),
            Fails(
                r#"cannot parse '' as int: strconv.ParseInt: parsing "9223372036854775808": value out of range"#,
            ),
        ),
        (
            T::Int,
            json!([1]),
            Fails("'' expected type 'int', got unconvertible type '[]interface {}', value: '[1]'"),
        ),
        (T::Int64, json!("9223372036854775807"), Is(json!(i64::MAX))),
        (
            T::Int64,
            json!({}),
            Fails(
                "'' expected type 'int64', got unconvertible type 'map[string]interface {}', value: 'map[]'",
            ),
        ),
        // Float.
        (T::Float, json!("1.5"), Is(json!(1.5))),
        (T::Float, json!(2), Is(json!(2.0))),
        (T::Float, json!(true), Is(json!(1.0))),
        (
            T::Float,
            json!("x"),
            Fails(r#"cannot parse '' as float: strconv.ParseFloat: parsing "x": invalid syntax"#),
        ),
        // Bool: strconv.ParseBool; numbers are json.Number strings.
        (T::Bool, json!(true), Is(json!(true))),
        (T::Bool, json!("true"), Is(json!(true))),
        (T::Bool, json!("1"), Is(json!(true))),
        (T::Bool, json!("t"), Is(json!(true))),
        (T::Bool, json!("F"), Is(json!(false))),
        (T::Bool, json!(0), Is(json!(false))),
        (T::Bool, json!(1), Is(json!(true))),
        (T::Bool, json!(""), Is(json!(false))),
        (T::Bool, Value::Null, Is(json!(false))),
        (
            T::Bool,
            json!("yes"),
            Fails(r#"cannot parse '' as bool: strconv.ParseBool: parsing "yes": invalid syntax"#),
        ),
        (
            T::Bool,
            json!(2),
            Fails(r#"cannot parse '' as bool: strconv.ParseBool: parsing "2": invalid syntax"#),
        ),
        (
            T::Bool,
            json!([true]),
            Fails(
                "'' expected type 'bool', got unconvertible type '[]interface {}', value: '[true]'",
            ),
        ),
        // Durations: parseutil.ParseDurationSecond, then int(d.Seconds()).
        (T::DurationSecond, json!("1h30m"), Is(json!(5400))),
        (T::DurationSecond, json!(60), Is(json!(60))),
        (T::DurationSecond, json!("60"), Is(json!(60))),
        (T::DurationSecond, json!("2d"), Is(json!(172_800))),
        (T::DurationSecond, json!("300ms"), Is(json!(0))),
        (T::DurationSecond, json!(""), Is(json!(0))),
        (T::DurationSecond, Value::Null, Absent),
        (
            T::DurationSecond,
            json!("abc"),
            Fails(r#"time: invalid duration "abc""#),
        ),
        (
            T::DurationSecond,
            json!("-1"),
            Fails("cannot provide negative value '-1'"),
        ),
        (
            T::DurationSecond,
            json!("-1h"),
            Fails("cannot provide negative value '-3600'"),
        ),
        (
            T::DurationSecond,
            json!(1.5),
            Fails(r#"time: missing unit in duration "1.5""#),
        ),
        (
            T::DurationSecond,
            json!(false),
            Fails("could not parse duration from input"),
        ),
        (T::SignedDurationSecond, json!("-1h"), Is(json!(-3600))),
        (T::SignedDurationSecond, json!(-5), Is(json!(-5))),
        // Slice.
        (T::Slice, json!("a"), Is(json!(["a"]))),
        (T::Slice, json!([1, "x"]), Is(json!([1, "x"]))),
        (T::Slice, json!({}), Is(json!([]))),
        (T::Slice, json!({"a": 1}), Is(json!([{"a": 1}]))),
        (T::Slice, Value::Null, Is(json!([]))),
        (T::Slice, json!(""), Is(json!([""]))),
        // StringSlice: no comma splitting, trimmed.
        (T::StringSlice, json!("a,b"), Is(json!(["a,b"]))),
        (T::StringSlice, json!([" a ", "b"]), Is(json!(["a", "b"]))),
        (T::StringSlice, json!(""), Is(json!([]))),
        (T::StringSlice, json!([1, true]), Is(json!(["1", "1"]))),
        (
            T::StringSlice,
            json!([{"a": 1}]),
            Fails(
                "1 error(s) decoding:\n\n* '[0]' expected type 'string', got unconvertible type 'map[string]interface {}', value: 'map[a:1]'",
            ),
        ),
        // CommaStringSlice: parseutil.ParseCommaStringSlice.
        (
            T::CommaStringSlice,
            json!("a, b ,c"),
            Is(json!(["a", "b", "c"])),
        ),
        (T::CommaStringSlice, json!(""), Is(json!([]))),
        (
            T::CommaStringSlice,
            json!(["a,b", " c"]),
            Is(json!(["a,b", "c"])),
        ),
        (T::CommaStringSlice, json!(5), Is(json!(["5"]))),
        (
            T::CommaStringSlice,
            json!("a,,b"),
            Is(json!(["a", "", "b"])),
        ),
        (T::CommaStringSlice, Value::Null, Is(json!([]))),
        (
            T::CommaStringSlice,
            json!([[1], {"b": 2}]),
            Fails(
                "2 error(s) decoding:\n\n* '[0]' expected type 'string', got unconvertible type '[]interface {}', value: '[1]'\n* '[1]' expected type 'string', got unconvertible type 'map[string]interface {}', value: 'map[b:2]'",
            ),
        ),
        // CommaIntSlice.
        (T::CommaIntSlice, json!("1,2"), Is(json!([1, 2]))),
        (T::CommaIntSlice, json!([1, "2"]), Is(json!([1, 2]))),
        (T::CommaIntSlice, json!(""), Is(json!([]))),
        (T::CommaIntSlice, json!("1,,2"), Is(json!([1, 0, 2]))),
        (T::CommaIntSlice, json!(7), Is(json!([7]))),
        (
            T::CommaIntSlice,
            json!("1, 2"),
            Fails(
                "1 error(s) decoding:\n\n* cannot parse '[1]' as int: strconv.ParseInt: parsing \" 2\": invalid syntax",
            ),
        ),
        // Map.
        (T::Map, json!({"a": 1}), Is(json!({"a": 1}))),
        (
            T::Map,
            json!([{"a": 1}, {"b": 2}]),
            Is(json!({"a": 1, "b": 2})),
        ),
        (T::Map, Value::Null, Is(json!({}))),
        (T::Map, json!([]), Is(json!({}))),
        (T::Map, json!("x"), Fails("'' expected a map, got 'string'")),
        (T::Map, json!(3), Fails("'' expected a map, got 'string'")),
        (T::Map, json!(true), Fails("'' expected a map, got 'bool'")),
        (
            T::Map,
            json!(["x"]),
            Fails("'[0]' expected a map, got 'string'"),
        ),
        // KVPairs.
        (
            T::KvPairs,
            json!({"a": "b", "n": 1}),
            Is(json!({"a": "b", "n": "1"})),
        ),
        (
            T::KvPairs,
            json!(["a=b", "c=d=e"]),
            Is(json!({"a": "b", "c": "d=e"})),
        ),
        (T::KvPairs, json!("a=b"), Is(json!({"a": "b"}))),
        (T::KvPairs, json!([]), Is(json!({}))),
        (T::KvPairs, json!(["a"]), Fails(r#"invalid key pair "a""#)),
        (T::KvPairs, json!(["=b"]), Fails(r#"invalid key pair "=b""#)),
        (
            T::KvPairs,
            json!({"a": {"x": 1}}),
            Fails(
                "1 error(s) decoding:\n\n* '[0]' expected type 'string', got unconvertible type 'map[string]interface {}', value: 'map[a:map[x:1]]'",
            ),
        ),
        // Header.
        (
            T::Header,
            json!({"content-type": "text/json", "accept": ["a", 2]}),
            Is(json!({"Content-Type": ["text/json"], "Accept": ["a", "2"]})),
        ),
        (
            T::Header,
            json!(["content-type:text/json"]),
            Is(json!({"Content-Type": ["text/json"]})),
        ),
        (
            T::Header,
            json!(r#"{"x-a":"1"}"#),
            Is(json!({"X-A": ["1"]})),
        ),
        (
            T::Header,
            json!("eyJ4LWEiOiIxIn0="),
            Is(json!({"X-A": ["1"]})),
        ),
        (
            T::Header,
            json!(["bad"]),
            Fails(r#"invalid key pair "bad""#),
        ),
        // Time: parseutil.ParseAbsoluteTime, as RFC 3339 in UTC.
        (
            T::Time,
            json!("2024-01-02T03:04:05Z"),
            Is(json!("2024-01-02T03:04:05Z")),
        ),
        (
            T::Time,
            json!("2024-01-02T04:04:05+01:00"),
            Is(json!("2024-01-02T03:04:05Z")),
        ),
        (
            T::Time,
            json!("2024-01-02T03:04:05.5Z"),
            Is(json!("2024-01-02T03:04:05.5Z")),
        ),
        (
            T::Time,
            json!("1700000000"),
            Is(json!("2023-11-14T22:13:20Z")),
        ),
        (
            T::Time,
            json!(1_700_000_000),
            Is(json!("2023-11-14T22:13:20Z")),
        ),
        (T::Time, Value::Null, Absent),
        (
            T::Time,
            json!("yesterday"),
            Fails("could not parse string as date and time"),
        ),
        (
            T::Time,
            json!(1.5),
            Fails(r#"strconv.ParseInt: parsing "1.5": invalid syntax"#),
        ),
        (
            T::Time,
            json!(true),
            Fails("could not parse time from input type"),
        ),
    ]
}

#[test]
fn coercion_table() {
    let cases = cases();
    assert!(cases.len() >= 40);
    let mut failures = Vec::new();
    for (field_type, input, want) in cases {
        let got = field_type.coerce(&input);
        let ok = match (&want, &got) {
            (Is(expected), Ok(Some(value))) => expected == value,
            (Absent, Ok(None)) => true,
            (Fails(expected), Err(message)) => expected == message,
            _ => false,
        };
        if !ok {
            let want = match want {
                Is(v) => format!("{v}"),
                Absent => "absent".to_owned(),
                Fails(m) => format!("error {m:?}"),
            };
            failures.push(format!("{field_type:?} {input}: want {want}, got {got:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn conversion_error_is_vaults_text() {
    let raw = json!("abc");
    let reason = FieldType::DurationSecond.coerce(&raw).unwrap_err();
    assert_eq!(
        conversion_error("ttl", &raw, &reason),
        r#"error converting input abc for field "ttl": time: invalid duration "abc""#
    );
    let raw = json!(["a", "b"]);
    let reason = FieldType::Int.coerce(&raw).unwrap_err();
    assert_eq!(
        conversion_error("num", &raw, &reason),
        "error converting input [a b] for field \"num\": '' expected type 'int', got unconvertible type '[]interface {}', value: '[a b]'"
    );
}

#[test]
fn type_names_are_vaults() {
    assert_eq!(FieldType::DurationSecond.as_str(), "duration (sec)");
    assert_eq!(FieldType::CommaStringSlice.as_str(), "slice");
    assert_eq!(FieldType::KvPairs.as_str(), "keypair");
    assert_eq!(FieldType::LowerCaseString.as_str(), "lowercase string");
    assert_eq!(FieldType::NameString.as_str(), "name string");
}
