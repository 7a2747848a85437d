//! Field schemas and Vault's coercions (`sdk/framework/field_type.go`, `field_data.go`).
//!
//! [`FieldType::coerce`] turns whatever a client sent (a JSON body value, or a query-string
//! string) into one canonical JSON value per type, with the error text Vault's
//! `FieldData.getPrimitive` produces (mapstructure's weak decoding, `strconv`, `parseutil`).

use serde_json::{Map, Value};

use super::duration::parse_duration_second;
use super::go;

mod coerce;
#[cfg(test)]
mod tests;

/// The type of a field, with Vault's coercion rules (`framework.Type*`).
///
/// | type | accepts | canonical output |
/// |---|---|---|
/// | `Bool` | bool, `"true"`/`"1"`/`"t"`…, numbers | bool |
/// | `CommaIntSlice` | `"1,2"`, list of ints or numeric strings | list of integers |
/// | `CommaStringSlice` | `"a, b"`, list | list of trimmed strings |
/// | `DurationSecond` | seconds, `"90"`, `"1h30m"`, `"2d"` | non-negative integer seconds |
/// | `Float` | number, numeric string | number |
/// | `Header` | object of string/list, JSON (maybe base64) string, `["k:v"]` | `{"Key": ["v"]}` |
/// | `Int`, `Int64` | number, numeric string (`0x`, `0o`, `0b` prefixes), bool | integer |
/// | `KvPairs` | object, `["k=v"]` | object of strings |
/// | `LowerCaseString` | like `String` | lower-cased string |
/// | `Map` | object (or a list of objects, merged) | object |
/// | `NameString` | like `String`, then Vault's name rule | string |
/// | `SignedDurationSecond` | like `DurationSecond`, may be negative | integer seconds |
/// | `Slice` | list (a scalar becomes a one-item list) | list |
/// | `String` | string, number, bool (`"1"`/`"0"`) | string |
/// | `StringSlice` | list (no comma splitting) | list of trimmed strings |
/// | `Time` | RFC 3339 string, epoch seconds | RFC 3339 string in UTC |
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FieldType {
    /// Vault's `TypeBool`.
    Bool,
    /// Vault's `TypeCommaIntSlice`.
    CommaIntSlice,
    /// Vault's `TypeCommaStringSlice`.
    CommaStringSlice,
    /// Vault's `TypeDurationSecond`.
    DurationSecond,
    /// Vault's `TypeFloat`.
    Float,
    /// Vault's `TypeHeader`.
    Header,
    /// Vault's `TypeInt`.
    Int,
    /// Vault's `TypeInt64`.
    Int64,
    /// Vault's `TypeKVPairs`.
    KvPairs,
    /// Vault's `TypeLowerCaseString`.
    LowerCaseString,
    /// Vault's `TypeMap`.
    Map,
    /// Vault's `TypeNameString`: starts and ends with `[A-Za-z0-9_]`, may hold `-` and `.`.
    NameString,
    /// Vault's `TypeSignedDurationSecond`.
    SignedDurationSecond,
    /// Vault's `TypeSlice`.
    Slice,
    /// Vault's `TypeString`.
    String,
    /// Vault's `TypeStringSlice`.
    StringSlice,
    /// Vault's `TypeTime`.
    Time,
}

impl FieldType {
    /// Vault's `FieldType.String()`, shown in help output.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Bool => "bool",
            Self::CommaIntSlice | Self::CommaStringSlice | Self::Slice | Self::StringSlice => {
                "slice"
            }
            Self::DurationSecond | Self::SignedDurationSecond => "duration (sec)",
            Self::Float => "float",
            Self::Header => "header",
            Self::Int => "int",
            Self::Int64 => "int64",
            Self::KvPairs => "keypair",
            Self::LowerCaseString => "lowercase string",
            Self::Map => "map",
            Self::NameString => "name string",
            Self::String => "string",
            Self::Time => "time",
        }
    }

    /// Coerces a raw value to this type's canonical JSON form.
    ///
    /// `Ok(None)` means Vault treats the value as not sent (a `null` duration or time). The
    /// error is the inner message of Vault's `error converting input …` (see
    /// [`conversion_error`]).
    pub fn coerce(self, raw: &Value) -> Result<Option<Value>, String> {
        let value = match self {
            Self::Bool => Value::Bool(coerce::weak_bool("", raw)?),
            Self::CommaIntSlice => coerce::comma_int_slice(raw)?,
            Self::CommaStringSlice => coerce::comma_string_slice(raw)?,
            Self::DurationSecond => match parse_duration_second(raw)? {
                None => return Ok(None),
                Some(seconds) if seconds < 0 => {
                    return Err(format!("cannot provide negative value '{seconds}'"));
                }
                Some(seconds) => Value::from(seconds),
            },
            Self::Float => coerce::float(raw)?,
            Self::Header => coerce::header(raw)?,
            Self::Int | Self::Int64 => {
                let go_type = if self == Self::Int { "int" } else { "int64" };
                Value::from(coerce::weak_int("", go_type, raw)?)
            }
            Self::KvPairs => coerce::kv_pairs(raw)?,
            Self::LowerCaseString => Value::String(coerce::weak_string("", raw)?.to_lowercase()),
            Self::Map => Value::Object(coerce::weak_map("", raw, Map::new())?),
            Self::NameString => {
                let name = coerce::weak_string("", raw)?;
                if !is_name_string(&name) {
                    return Err("field does not match the formatting rules".to_owned());
                }
                Value::String(name)
            }
            Self::SignedDurationSecond => match parse_duration_second(raw)? {
                None => return Ok(None),
                Some(seconds) => Value::from(seconds),
            },
            Self::Slice => coerce::slice(raw),
            Self::String => Value::String(coerce::weak_string("", raw)?),
            Self::StringSlice => coerce::string_slice(raw)?,
            Self::Time => match coerce::time(raw)? {
                None => return Ok(None),
                Some(time) => Value::String(time),
            },
        };
        Ok(Some(value))
    }
}

impl std::fmt::Display for FieldType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Vault's `TypeNameString` rule, `^\w(([\w-.]+)?\w)?$` with Go's ASCII `\w`.
fn is_name_string(name: &str) -> bool {
    let word = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    let bytes = name.as_bytes();
    match bytes {
        [] => false,
        [only] => word(*only),
        [first, middle @ .., last] => {
            word(*first) && word(*last) && middle.iter().all(|&c| word(c) || c == b'-' || c == b'.')
        }
    }
}

/// The message of Vault's `FieldData.Validate` for a value that does not convert:
/// `error converting input <raw as %v> for field "<name>": <reason>`.
pub fn conversion_error(field: &str, raw: &Value, reason: &str) -> String {
    format!(
        "error converting input {} for field {}: {reason}",
        go::format_value(raw),
        go::quote(field)
    )
}

/// One field of a path's schema (Vault's `FieldSchema`).
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    pub(crate) name: String,
    pub(crate) field_type: FieldType,
    pub(crate) description: String,
    pub(crate) default: Option<Value>,
    pub(crate) coerced_default: Option<Value>,
    pub(crate) required: bool,
    pub(crate) query: bool,
    pub(crate) deprecated: bool,
}

impl Field {
    /// A field with a name and a type, no description and no default.
    pub fn new(name: impl Into<String>, field_type: FieldType) -> Self {
        Self {
            name: name.into(),
            field_type,
            description: String::new(),
            default: None,
            coerced_default: None,
            required: false,
            query: false,
            deprecated: false,
        }
    }

    /// The description shown in help output.
    #[must_use]
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = description.into();
        self
    }

    /// The value handlers see when the client did not send the field. It is written as a
    /// client would send it (`json!("1h")` for a duration) and coerced once, when the backend
    /// is built; a default that does not coerce fails the build.
    #[must_use]
    pub fn default(mut self, value: Value) -> Self {
        self.default = Some(value);
        self
    }

    /// Marks the field required in documentation. Like Vault's `FieldSchema.Required`, this
    /// is not enforced by the dispatcher: handlers produce Vault's own message (`missing
    /// role`), or take a non-`Option` field and get `missing required field "x"`.
    #[must_use]
    pub fn required(mut self) -> Self {
        self.required = true;
        self
    }

    /// Marks the field as a query parameter of read, list and delete requests (Vault's
    /// `FieldSchema.Query`, used for documentation).
    #[must_use]
    pub fn query(mut self) -> Self {
        self.query = true;
        self
    }

    /// Marks the field deprecated; help prefixes its description with `(DEPRECATED)`.
    #[must_use]
    pub fn deprecated(mut self) -> Self {
        self.deprecated = true;
        self
    }

    /// The field's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The field's type.
    pub fn field_type(&self) -> FieldType {
        self.field_type
    }

    /// The declared default, as written.
    pub fn default_value(&self) -> Option<&Value> {
        self.default.as_ref()
    }

    /// Whether the field is marked required.
    pub fn is_required(&self) -> bool {
        self.required
    }

    /// Whether the field is a query parameter.
    pub fn is_query(&self) -> bool {
        self.query
    }

    /// Coerces the declared default (at build time).
    pub(crate) fn prepare(&mut self) -> Result<(), String> {
        self.coerced_default = match &self.default {
            None => None,
            Some(raw) => self
                .field_type
                .coerce(raw)
                .map_err(|reason| conversion_error(&self.name, raw, &reason))?,
        };
        Ok(())
    }
}
