//! Command flags parsed as Go's `flag` package does for the `vault` CLI: `-name`, `--name`,
//! `-name=value`, `-name value`; parsing stops at the first positional argument (or after
//! `--`), so flags come before positional arguments. Also the flag groups every command
//! shares (HTTP options, `-format`, `-field`, `-detailed`).

use std::collections::BTreeMap;

use warden_logical::framework::parse_go_duration;

use crate::api_client::parse_go_bool;

/// Flag groups a command opts into.
pub(crate) const HTTP: u8 = 1;
/// `-format`.
pub(crate) const FORMAT: u8 = 2;
/// `-field`.
pub(crate) const FIELD: u8 = 4;
/// `-detailed`.
pub(crate) const DETAILED: u8 = 8;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Bool,
    String,
    List,
    Int,
    Duration,
    Map,
}

#[derive(Debug)]
struct Def {
    name: &'static str,
    aliases: &'static [&'static str],
    kind: Kind,
    default: String,
}

/// The flags of one command and, after [`FlagSet::parse`], their values.
#[derive(Debug, Default)]
pub(crate) struct FlagSet {
    defs: Vec<Def>,
    values: BTreeMap<&'static str, Vec<String>>,
}

/// Go's `strconv.ParseInt(s, 0, 64)`.
fn parse_int(text: &str) -> Option<i64> {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let digits = digits.replace('_', "");
    let value = if let Some(hex) = digits.strip_prefix("0x").or(digits.strip_prefix("0X")) {
        i64::from_str_radix(hex, 16).ok()?
    } else if let Some(bin) = digits.strip_prefix("0b").or(digits.strip_prefix("0B")) {
        i64::from_str_radix(bin, 2).ok()?
    } else if let Some(oct) = digits.strip_prefix("0o").or(digits.strip_prefix("0O")) {
        i64::from_str_radix(oct, 8).ok()?
    } else if digits.len() > 1 && digits.starts_with('0') {
        i64::from_str_radix(&digits[1..], 8).ok()?
    } else {
        digits.parse().ok()?
    };
    Some(if negative { -value } else { value })
}

/// `parseutil.ParseDurationSecond` as nanoseconds: seconds, `Nd` days, or a Go duration;
/// `system` is -1 s, as Vault's duration flags take it.
pub(crate) fn parse_duration_flag(text: &str) -> Result<i64, String> {
    let text = if text == "system" { "-1" } else { text };
    if text.is_empty() {
        return Ok(0);
    }
    if let Ok(secs) = text.parse::<i64>() {
        return Ok(secs.saturating_mul(1_000_000_000));
    }
    if let Some(days) = text.strip_suffix('d') {
        let days: i64 = days
            .parse()
            .map_err(|_| format!("strconv.ParseInt: parsing {days:?}: invalid syntax"))?;
        return Ok(days.saturating_mul(86_400 * 1_000_000_000));
    }
    parse_go_duration(text)
}

impl FlagSet {
    /// A flag set with the given common groups.
    pub(crate) fn new(groups: u8) -> Self {
        let mut set = Self::default();
        if groups & HTTP != 0 {
            for name in ["address", "ca-cert", "ca-path", "client-cert", "client-key"] {
                set.string(name, "");
            }
            set.string_aliased("namespace", &["ns"], "");
            set.string("tls-server-name", "");
            set.bool("tls-skip-verify");
            set.bool("non-interactive");
            set.map("header");
            set.string("wrap-ttl", "");
        }
        if groups & FORMAT != 0 {
            let format = std::env::var("VAULT_FORMAT")
                .ok()
                .filter(|f| !f.is_empty())
                .unwrap_or_else(|| "table".to_owned());
            set.add("format", &[], Kind::String, format);
        }
        if groups & FIELD != 0 {
            set.string("field", "");
        }
        if groups & DETAILED != 0 {
            set.bool("detailed");
        }
        set
    }

    fn add(
        &mut self,
        name: &'static str,
        aliases: &'static [&'static str],
        kind: Kind,
        default: String,
    ) {
        self.defs.push(Def {
            name,
            aliases,
            kind,
            default,
        });
    }

    /// A boolean flag (`-name`, `-name=false`).
    pub(crate) fn bool(&mut self, name: &'static str) -> &mut Self {
        self.add(name, &[], Kind::Bool, "false".into());
        self
    }

    /// A boolean flag with aliases (`-force`, `-f`).
    pub(crate) fn bool_aliased(
        &mut self,
        name: &'static str,
        aliases: &'static [&'static str],
        default: bool,
    ) -> &mut Self {
        self.add(name, aliases, Kind::Bool, default.to_string());
        self
    }

    /// A string flag.
    pub(crate) fn string(&mut self, name: &'static str, default: &str) -> &mut Self {
        self.add(name, &[], Kind::String, default.into());
        self
    }

    /// A string flag with aliases.
    pub(crate) fn string_aliased(
        &mut self,
        name: &'static str,
        aliases: &'static [&'static str],
        default: &str,
    ) -> &mut Self {
        self.add(name, aliases, Kind::String, default.into());
        self
    }

    /// A repeatable string flag (`-policy=a -policy=b`).
    pub(crate) fn list(&mut self, name: &'static str) -> &mut Self {
        self.add(name, &[], Kind::List, String::new());
        self
    }

    /// An integer flag.
    pub(crate) fn int(
        &mut self,
        name: &'static str,
        aliases: &'static [&'static str],
        default: i64,
    ) -> &mut Self {
        self.add(name, aliases, Kind::Int, default.to_string());
        self
    }

    /// A duration flag (`30`, `1h30m`, `7d`, `system`).
    pub(crate) fn duration(&mut self, name: &'static str) -> &mut Self {
        self.add(name, &[], Kind::Duration, "0".into());
        self
    }

    /// A repeatable `k=v` flag.
    pub(crate) fn map(&mut self, name: &'static str) -> &mut Self {
        self.add(name, &[], Kind::Map, String::new());
        self
    }

    fn find(&self, name: &str) -> Option<&Def> {
        self.defs
            .iter()
            .find(|d| d.name == name || d.aliases.contains(&name))
    }

    /// Parses `args`; returns the positional arguments, or Go's error text.
    pub(crate) fn parse(&mut self, args: Vec<String>) -> Result<Vec<String>, String> {
        let mut rest = args.into_iter();
        let mut positional = Vec::new();
        while let Some(arg) = rest.next() {
            if arg == "--" {
                break;
            }
            if arg.len() < 2 || !arg.starts_with('-') {
                positional.push(arg);
                break;
            }
            let body = arg.strip_prefix("--").unwrap_or(&arg[1..]);
            if body.is_empty() || body.starts_with('-') || body.starts_with('=') {
                return Err(format!("bad flag syntax: {arg}"));
            }
            let (name, inline) = match body.split_once('=') {
                Some((n, v)) => (n, Some(v.to_owned())),
                None => (body, None),
            };
            let Some(def) = self.find(name) else {
                if name == "h" || name == "help" {
                    return Err("flag: help requested".into());
                }
                return Err(format!("flag provided but not defined: -{name}"));
            };
            let (canonical, kind) = (def.name, def.kind);
            let value = match (kind, inline) {
                (Kind::Bool, None) => "true".to_owned(),
                (Kind::Bool, Some(v)) => match parse_go_bool(&v) {
                    Some(b) => b.to_string(),
                    None => {
                        return Err(format!(
                            "invalid boolean value {v:?} for -{name}: strconv.ParseBool: parsing {v:?}: invalid syntax"
                        ));
                    }
                },
                (_, Some(v)) => v,
                (_, None) => rest
                    .next()
                    .ok_or_else(|| format!("flag needs an argument: -{name}"))?,
            };
            let invalid = |e: String| format!("invalid value {value:?} for flag -{name}: {e}");
            match kind {
                Kind::Int if parse_int(&value).is_none() => {
                    return Err(invalid(format!(
                        "strconv.ParseInt: parsing {value:?}: invalid syntax"
                    )));
                }
                Kind::Duration => {
                    parse_duration_flag(&value).map_err(invalid)?;
                }
                Kind::Map if !value.contains('=') => {
                    return Err(invalid(format!("missing = in KV pair: {value:?}")));
                }
                _ => {}
            }
            let slot = self.values.entry(canonical).or_default();
            match kind {
                Kind::List | Kind::Map => slot.push(value.trim().to_owned()),
                _ => *slot = vec![value],
            }
        }
        positional.extend(rest);
        Ok(positional)
    }

    /// Whether the flag was given.
    pub(crate) fn is_set(&self, name: &str) -> bool {
        self.values.contains_key(name)
    }

    fn last(&self, name: &str) -> String {
        self.values
            .get(name)
            .and_then(|v| v.last().cloned())
            .or_else(|| self.find(name).map(|d| d.default.clone()))
            .unwrap_or_default()
    }

    /// A string flag's value (or default).
    pub(crate) fn str(&self, name: &str) -> String {
        self.last(name)
    }

    /// A boolean flag's value (or default).
    pub(crate) fn get_bool(&self, name: &str) -> bool {
        self.last(name) == "true"
    }

    /// An integer flag's value (or default).
    pub(crate) fn get_int(&self, name: &str) -> i64 {
        parse_int(&self.last(name)).unwrap_or_default()
    }

    /// A duration flag's value in nanoseconds.
    pub(crate) fn get_duration(&self, name: &str) -> i64 {
        parse_duration_flag(&self.last(name)).unwrap_or_default()
    }

    /// A repeatable flag's values.
    pub(crate) fn get_list(&self, name: &str) -> Vec<String> {
        self.values.get(name).cloned().unwrap_or_default()
    }

    /// A `k=v` flag's pairs.
    pub(crate) fn get_map(&self, name: &str) -> Option<serde_json::Map<String, serde_json::Value>> {
        let values = self.values.get(name)?;
        Some(
            values
                .iter()
                .filter_map(|v| v.split_once('='))
                .map(|(k, v)| (k.to_owned(), serde_json::Value::String(v.to_owned())))
                .collect(),
        )
    }
}

/// Vault's warning for flags given after positional arguments.
pub(crate) fn trailing_flag_warning(args: &[String]) -> Option<String> {
    let trailing: Vec<&str> = args
        .iter()
        .filter(|a| a.starts_with('-') && a.as_str() != "-")
        .map(String::as_str)
        .collect();
    (!trailing.is_empty()).then(|| {
        format!(
            "Command flags must be provided before positional arguments. The following \
             arguments will not be parsed as flags: [{}]",
            trailing.join(",")
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn parses_like_go_flag() {
        let mut set = FlagSet::new(FIELD | FORMAT);
        set.bool_aliased("force", &["f"], false)
            .list("policy")
            .duration("ttl");
        let rest = set
            .parse(args(&[
                "--field",
                "x",
                "-f",
                "-policy=a",
                "--policy",
                "b",
                "-ttl=1h",
                "path",
                "-z",
            ]))
            .unwrap();
        assert_eq!(rest, ["path", "-z"]);
        assert_eq!(set.str("field"), "x");
        assert!(set.get_bool("force"));
        assert_eq!(set.get_list("policy"), ["a", "b"]);
        assert_eq!(set.get_duration("ttl"), 3_600_000_000_000);
        assert_eq!(set.str("format"), "table");
        assert_eq!(
            FlagSet::new(0).parse(args(&["-nope"])).unwrap_err(),
            "flag provided but not defined: -nope"
        );
        assert_eq!(
            FlagSet::new(FIELD).parse(args(&["-field"])).unwrap_err(),
            "flag needs an argument: -field"
        );
        let mut set = FlagSet::new(0);
        set.duration("ttl");
        assert_eq!(
            set.parse(args(&["-ttl=abc"])).unwrap_err(),
            "invalid value \"abc\" for flag -ttl: time: invalid duration \"abc\""
        );
        let mut set = FlagSet::new(0);
        assert_eq!(set.parse(args(&["-", "x"])).unwrap(), ["-", "x"]);
        assert_eq!(set.parse(args(&["--", "-x"])).unwrap(), ["-x"]);
    }
}
