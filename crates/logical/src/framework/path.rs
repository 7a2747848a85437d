//! One route of a backend (Vault's `framework.Path`) and the pattern helpers of
//! `sdk/framework/path.go`.

use std::collections::BTreeMap;
use std::fmt;

use regex::Regex;

use super::field::Field;
use super::handler::{ExistenceCheck, Handler};
use crate::Operation;

/// Vault's `GenericNameRegex`: a capture named `name` that starts and ends with a word
/// character and may hold `-` and `.` in between.
pub fn generic_name_regex(name: &str) -> String {
    format!(r"(?P<{name}>\w(([\w-.]+)?\w)?)")
}

/// Vault's `GenericNameWithAtRegex`: like [`generic_name_regex`], also allowing `@`.
pub fn generic_name_with_at_regex(name: &str) -> String {
    format!(r"(?P<{name}>\w(([\w-.@]+)?\w)?)")
}

/// Vault's `OptionalParamRegex`: an optional `/<name>` suffix.
pub fn optional_param_regex(name: &str) -> String {
    format!("(/(?P<{name}>.+))?")
}

/// Vault's `MatchAllRegex`: captures the rest of the path, possibly empty.
pub fn match_all_regex(name: &str) -> String {
    format!("(?P<{name}>.*)")
}

/// An optional trailing slash, the convention for paths that serve `LIST` (Vault writes
/// `/?$` inline; the core always adds a slash to list paths, help requests never do).
pub const OPTIONAL_TRAILING_SLASH: &str = "/?";

/// One route: a pattern, its field schema, and a handler per operation.
///
/// Patterns use Vault's (Go RE2) syntax with named captures; they are anchored with `^…$`
/// as Vault does (a `^` or `$` already at the very start or end is kept), and Go's ASCII
/// meaning of `\w`, `\d`, `\s` and `\b` is kept.
pub struct Path {
    pub(crate) pattern: String,
    pub(crate) fields: BTreeMap<String, Field>,
    pub(crate) duplicate_fields: Vec<String>,
    pub(crate) operations: BTreeMap<Operation, Handler>,
    pub(crate) existence_check: Option<ExistenceCheck>,
    pub(crate) synopsis: String,
    pub(crate) description: String,
    pub(crate) takes_arbitrary_data: bool,
    pub(crate) regex: Option<Regex>,
}

impl Path {
    /// A path with a pattern and nothing else.
    pub fn new(pattern: impl Into<String>) -> Self {
        Self {
            pattern: pattern.into(),
            fields: BTreeMap::new(),
            duplicate_fields: Vec::new(),
            operations: BTreeMap::new(),
            existence_check: None,
            synopsis: String::new(),
            description: String::new(),
            takes_arbitrary_data: false,
            regex: None,
        }
    }

    /// Adds a field to the schema. Named captures of the pattern that should be coerced (or
    /// documented) are fields too.
    #[must_use]
    pub fn field(mut self, field: Field) -> Self {
        if self.fields.contains_key(&field.name) {
            self.duplicate_fields.push(field.name.clone());
        }
        self.fields.insert(field.name.clone(), field);
        self
    }

    /// Adds several fields.
    #[must_use]
    pub fn fields(self, fields: impl IntoIterator<Item = Field>) -> Self {
        fields.into_iter().fold(self, Self::field)
    }

    /// Serves `operation` with `handler` (see [`super::handler()`]).
    #[must_use]
    pub fn operation(mut self, operation: Operation, handler: Handler) -> Self {
        self.operations.insert(operation, handler);
        self
    }

    /// Decides create versus update for writes (see [`super::existence()`]). A path that serves
    /// [`Operation::Create`] must have one, as in Vault.
    #[must_use]
    pub fn existence_check(mut self, check: ExistenceCheck) -> Self {
        self.existence_check = Some(check);
        self
    }

    /// The one-line synopsis and the long description shown by `?help=1`.
    #[must_use]
    pub fn help(mut self, synopsis: impl Into<String>, description: impl Into<String>) -> Self {
        self.synopsis = synopsis.into();
        self.description = description.into();
        self
    }

    /// Accepts body keys outside the schema without the `Endpoint ignored these unrecognized
    /// parameters` warning (Vault's `TakesArbitraryInput`, e.g. KV v1 storing whatever it
    /// gets).
    #[must_use]
    pub fn takes_arbitrary_data(mut self) -> Self {
        self.takes_arbitrary_data = true;
        self
    }

    /// The pattern, anchored once the backend is built.
    pub fn pattern(&self) -> &str {
        &self.pattern
    }

    /// The field schema, by name.
    pub fn field_schema(&self) -> &BTreeMap<String, Field> {
        &self.fields
    }

    /// The operations the path serves.
    pub fn operations(&self) -> impl Iterator<Item = Operation> + '_ {
        self.operations.keys().copied()
    }

    /// The help synopsis.
    pub fn synopsis(&self) -> &str {
        &self.synopsis
    }

    /// The help description.
    pub fn description(&self) -> &str {
        &self.description
    }

    /// Anchors and compiles the pattern, and coerces the field defaults.
    pub(crate) fn prepare(&mut self) -> Result<(), super::BuildError> {
        use super::BuildError;
        if self.pattern.is_empty() {
            return Err(BuildError::BlankPattern);
        }
        if let Some(name) = self.duplicate_fields.first() {
            return Err(BuildError::DuplicateField {
                pattern: self.pattern.clone(),
                field: name.clone(),
            });
        }
        if self.existence_check.is_none() && self.operations.contains_key(&Operation::Create) {
            return Err(BuildError::CreateWithoutExistenceCheck {
                pattern: self.pattern.clone(),
            });
        }
        if !self.pattern.starts_with('^') {
            self.pattern.insert(0, '^');
        }
        if !self.pattern.ends_with('$') {
            self.pattern.push('$');
        }
        let regex = Regex::new(&translate_go_regex(&self.pattern)).map_err(|err| {
            BuildError::InvalidPattern {
                pattern: self.pattern.clone(),
                message: err.to_string(),
            }
        })?;
        self.regex = Some(regex);
        for field in self.fields.values_mut() {
            field
                .prepare()
                .map_err(|message| BuildError::InvalidDefault {
                    pattern: self.pattern.clone(),
                    field: field.name.clone(),
                    message,
                })?;
        }
        Ok(())
    }

    /// The named captures if the path matches: every named group, `""` when it did not
    /// participate (Go's `FindStringSubmatch`).
    pub(crate) fn captures(&self, path: &str) -> Option<BTreeMap<String, String>> {
        let regex = self.regex.as_ref()?;
        let captures = regex.captures(path)?;
        Some(
            regex
                .capture_names()
                .flatten()
                .map(|name| {
                    let value = captures.name(name).map_or("", |m| m.as_str());
                    (name.to_owned(), value.to_owned())
                })
                .collect(),
        )
    }
}

impl fmt::Debug for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Path")
            .field("pattern", &self.pattern)
            .field("fields", &self.fields.keys().collect::<Vec<_>>())
            .field("operations", &self.operations.keys().collect::<Vec<_>>())
            .field("existence_check", &self.existence_check.is_some())
            .field("takes_arbitrary_data", &self.takes_arbitrary_data)
            .finish_non_exhaustive()
    }
}

/// Rewrites Go RE2 syntax where Rust's `regex` differs: `\w`, `\d`, `\s` (and negations) are
/// ASCII in Go but Unicode in Rust; `\b`/`\B` likewise; inside a class, Go takes `[`, `&&`,
/// `--` and `~~` literally where Rust nests classes or applies set operations.
pub(crate) fn translate_go_regex(pattern: &str) -> String {
    const WORD: &str = "0-9A-Za-z_";
    const DIGIT: &str = "0-9";
    const SPACE: &str = r"\t\n\f\r ";
    let mut out = String::with_capacity(pattern.len() + 16);
    let mut chars = pattern.chars().peekable();
    let mut in_class = false;
    let mut class_start = false;
    // Inside a class, whether the last item was an expanded `\w`-style set or a `-`: Go reads
    // a following `-` literally, Rust would read a range or the `--` operator.
    let mut dash_is_literal = false;
    while let Some(c) = chars.next() {
        let at_class_start = std::mem::take(&mut class_start);
        let after_set = std::mem::take(&mut dash_is_literal);
        match c {
            '\\' => {
                let Some(escaped) = chars.next() else {
                    out.push('\\');
                    break;
                };
                let (set, negated) = match escaped {
                    'w' => (Some(WORD), false),
                    'W' => (Some(WORD), true),
                    'd' => (Some(DIGIT), false),
                    'D' => (Some(DIGIT), true),
                    's' => (Some(SPACE), false),
                    'S' => (Some(SPACE), true),
                    _ => (None, false),
                };
                match set {
                    Some(set) if in_class && !negated => {
                        out.push_str(set);
                        dash_is_literal = true;
                    }
                    Some(set) => {
                        out.push_str(if negated { "[^" } else { "[" });
                        out.push_str(set);
                        out.push(']');
                        dash_is_literal = in_class;
                    }
                    None if !in_class && (escaped == 'b' || escaped == 'B') => {
                        out.push_str("(?-u:\\");
                        out.push(escaped);
                        out.push(')');
                    }
                    None => {
                        out.push('\\');
                        out.push(escaped);
                    }
                }
            }
            '[' if !in_class => {
                in_class = true;
                out.push('[');
                if chars.peek() == Some(&'^') {
                    chars.next();
                    out.push('^');
                }
                class_start = true;
            }
            '[' if chars.peek() == Some(&':') => {
                // A POSIX class such as `[:alpha:]`, copied through to its `:]`.
                out.push('[');
                for inner in chars.by_ref() {
                    out.push(inner);
                    if inner == ']' {
                        break;
                    }
                }
            }
            ']' if in_class && at_class_start => out.push_str(r"\]"),
            ']' if in_class => {
                in_class = false;
                out.push(']');
            }
            '-' if in_class && after_set => out.push_str(r"\-"),
            '-' if in_class => {
                out.push('-');
                dash_is_literal = chars.peek() == Some(&'-');
            }
            '[' | '&' | '~' if in_class => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}
