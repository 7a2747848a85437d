//! The front end of the policy parser: HCL (Vault's HCL1 dialect) or JSON text in, a small
//! syntax tree with line numbers out.
//!
//! Vault parses policies with hashicorp/hcl v1. warden uses `hcl-rs` (an HCL2 parser, through
//! its `hcl-edit` layer, which keeps source spans) after a pre-pass that rewrites the HCL1-only
//! forms into HCL2 without changing any line number:
//!
//! - a block whose `{` is on the next line (`path "x"` / `{`) gets its brace moved up;
//! - `allowed_parameters { "foo" = [] }` and `denied_parameters { … }` (a block whose body has
//!   quoted keys, which HCL2 forbids) become `allowed_parameters = { … }`;
//! - `${` and `%{` inside strings and heredocs are escaped, because HCL1 keeps them as text
//!   while HCL2 would read an interpolation.
//!
//! Text whose first non-blank character is `{` is JSON, as in Vault's `hclutil.ParseConfig`.

use hcl::edit::Span;
use hcl::edit::expr::{Expression, ObjectKey};
use hcl::edit::structure::{Body, Structure};
use hcl::edit::template::{Element, Template};

use super::hcl1::{Rewritten, hcl1_to_hcl2};

/// A value in a parsed policy document.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Node {
    Null,
    Bool(bool),
    Number(serde_json::Number),
    String(String),
    List(Vec<Node>),
    Object(Vec<Item>),
}

/// One key of an object or body: `keys` holds the name and the block labels
/// (`path "secret/*" {…}` is `["path", "secret/*"]`); `line` is the line of the `=`/`:` as
/// HCL1 reports it, 0 for a block (HCL1 records no assignment position there).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Item {
    pub(crate) keys: Vec<String>,
    pub(crate) line: usize,
    pub(crate) value: Node,
}

impl Node {
    /// The JSON form of a value (for parameter lists), objects keyed by their first key.
    pub(crate) fn to_json(&self) -> serde_json::Value {
        use serde_json::Value;
        match self {
            Self::Null => Value::Null,
            Self::Bool(b) => Value::Bool(*b),
            Self::Number(n) => Value::Number(n.clone()),
            Self::String(s) => Value::String(s.clone()),
            Self::List(items) => Value::Array(items.iter().map(Self::to_json).collect()),
            Self::Object(items) => Value::Object(
                items
                    .iter()
                    .map(|item| (item.keys.join("."), item.value.to_json()))
                    .collect(),
            ),
        }
    }
}

/// Parses a policy document into its top-level items.
pub(crate) fn parse_document(text: &str) -> Result<Vec<Item>, String> {
    if text.trim_start().starts_with('{') {
        return parse_json(text);
    }
    let rewritten = hcl1_to_hcl2(text);
    let body = hcl::edit::parser::parse_body(&rewritten.text).map_err(|err| err.to_string())?;
    let lines = LineIndex::new(&rewritten);
    body_items(&body, &lines)
}

/// Byte offsets of the rewritten text to original line numbers.
struct LineIndex {
    starts: Vec<usize>,
    origin: Vec<usize>,
}

impl LineIndex {
    fn new(rewritten: &Rewritten) -> Self {
        let mut starts = vec![0];
        starts.extend(rewritten.text.match_indices('\n').map(|(i, _)| i + 1));
        Self {
            starts,
            origin: rewritten.origin.clone(),
        }
    }

    fn line(&self, offset: Option<std::ops::Range<usize>>) -> usize {
        offset.map_or(0, |range| {
            let index = self.starts.partition_point(|&start| start <= range.start);
            self.origin
                .get(index.saturating_sub(1))
                .copied()
                .unwrap_or(index)
        })
    }
}

fn body_items(body: &Body, lines: &LineIndex) -> Result<Vec<Item>, String> {
    let mut items = Vec::new();
    for structure in body.iter() {
        match structure {
            Structure::Attribute(attr) => items.push(Item {
                keys: vec![attr.key.as_str().to_owned()],
                line: lines.line(attr.span()),
                value: expression(&attr.value, lines)?,
            }),
            Structure::Block(block) => {
                let mut keys = vec![block.ident.as_str().to_owned()];
                keys.extend(block.labels.iter().map(|l| l.as_str().to_owned()));
                items.push(Item {
                    keys,
                    line: 0,
                    value: Node::Object(body_items(&block.body, lines)?),
                });
            }
        }
    }
    Ok(items)
}

fn expression(expr: &Expression, lines: &LineIndex) -> Result<Node, String> {
    Ok(match expr {
        Expression::Null(_) => Node::Null,
        Expression::Bool(b) => Node::Bool(*b.value()),
        Expression::Number(n) => {
            let n = n.value();
            let number = if let Some(u) = n.as_u64() {
                serde_json::Number::from(u)
            } else if let Some(i) = n.as_i64() {
                serde_json::Number::from(i)
            } else {
                n.as_f64()
                    .and_then(serde_json::Number::from_f64)
                    .ok_or_else(|| format!("invalid number on line {}", lines.line(expr.span())))?
            };
            Node::Number(number)
        }
        Expression::String(s) => Node::String(s.value().clone()),
        Expression::Array(array) => Node::List(
            array
                .iter()
                .map(|e| expression(e, lines))
                .collect::<Result<_, _>>()?,
        ),
        Expression::Object(object) => {
            let mut items = Vec::new();
            for (key, value) in object.iter() {
                let name = match key {
                    ObjectKey::Ident(ident) => ident.as_str().to_owned(),
                    ObjectKey::Expression(Expression::String(s)) => s.value().clone(),
                    ObjectKey::Expression(Expression::StringTemplate(t)) => {
                        literal_template(t, lines.line(key.span()))?
                    }
                    ObjectKey::Expression(other) => {
                        return Err(format!(
                            "unsupported object key on line {}",
                            lines.line(other.span())
                        ));
                    }
                };
                items.push(Item {
                    keys: vec![name],
                    line: lines.line(key.span()),
                    value: expression(value.expr(), lines)?,
                });
            }
            Node::Object(items)
        }
        Expression::StringTemplate(t) => Node::String(literal_template(t, 0)?),
        Expression::HeredocTemplate(h) => Node::String(literal_template(&h.template, 0)?),
        Expression::Parenthesis(p) => expression(p.inner(), lines)?,
        other => {
            return Err(format!(
                "unsupported expression on line {}",
                lines.line(other.span())
            ));
        }
    })
}

fn literal_template(template: &Template, line: usize) -> Result<String, String> {
    let mut out = String::new();
    for element in template.iter() {
        match element {
            Element::Literal(text) => out.push_str(text.value()),
            _ => return Err(format!("unsupported template on line {line}")),
        }
    }
    Ok(out)
}

fn parse_json(text: &str) -> Result<Vec<Item>, String> {
    let value: serde_json::Value = serde_json::from_str(text).map_err(|err| err.to_string())?;
    match json_node(&value, text) {
        Node::Object(items) => Ok(items),
        _ => Err("does not contain a root object".to_owned()),
    }
}

fn json_node(value: &serde_json::Value, text: &str) -> Node {
    use serde_json::Value;
    match value {
        Value::Null => Node::Null,
        Value::Bool(b) => Node::Bool(*b),
        Value::Number(n) => Node::Number(n.clone()),
        Value::String(s) => Node::String(s.clone()),
        Value::Array(items) => Node::List(items.iter().map(|v| json_node(v, text)).collect()),
        Value::Object(map) => Node::Object(
            map.iter()
                .map(|(key, value)| Item {
                    keys: vec![key.clone()],
                    line: json_key_line(text, key),
                    value: json_node(value, text),
                })
                .collect(),
        ),
    }
}

/// The line of the first `"key":` in the text (JSON gives no positions; keys of one policy
/// rarely repeat, so this is the line HCL1's JSON parser reports).
fn json_key_line(text: &str, key: &str) -> usize {
    let quoted = serde_json::Value::String(key.to_owned()).to_string();
    let mut from = 0;
    while let Some(found) = text[from..].find(&quoted) {
        let at = from + found;
        let rest = text[at + quoted.len()..].trim_start();
        if rest.starts_with(':') {
            return text[..at].matches('\n').count() + 1;
        }
        from = at + quoted.len();
    }
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn brace_on_next_line_is_moved_up_keeping_lines() {
        let text = "path \"a\"\n{\n  capabilities = [\"read\"]\n}\n";
        let out = hcl1_to_hcl2(text).text;
        assert_eq!(out.lines().count(), text.lines().count());
        assert!(out.starts_with("path \"a\" {\n"), "{out}");
        let items = parse_document(text).unwrap();
        assert_eq!(items[0].keys, ["path", "a"]);
        let Node::Object(body) = &items[0].value else {
            panic!("not an object")
        };
        assert_eq!(body[0].line, 3);
    }

    #[test]
    fn block_form_parameters_become_objects() {
        let text = "path \"a\" {\n allowed_parameters {\n \"foo\" = []\n \"*\" = [\"x\"]\n }\n}";
        let items = parse_document(text).unwrap();
        let Node::Object(body) = &items[0].value else {
            panic!("not an object")
        };
        assert_eq!(body[0].keys, ["allowed_parameters"]);
        let Node::Object(params) = &body[0].value else {
            panic!("not an object")
        };
        assert_eq!(params[0].keys, ["foo"]);
        assert_eq!(params[1].value, Node::List(vec![Node::String("x".into())]));
    }

    #[test]
    fn interpolation_syntax_stays_literal() {
        let text = "path \"a/${x}/%{y}\" {\n policy = <<EOT\nread ${z}\nEOT\n}\n";
        let items = parse_document(text).unwrap();
        assert_eq!(items[0].keys, ["path", "a/${x}/%{y}"]);
        let Node::Object(body) = &items[0].value else {
            panic!("not an object")
        };
        assert_eq!(body[0].value, Node::String("read ${z}\n".into()));
    }

    #[test]
    fn one_line_blocks_and_objects_without_separators() {
        let text = "path \"a\" { capabilities = [\"read\"] max_wrapping_ttl = \"1h\" }\n\
                    path \"b\" { policy = \"read\" allowed_parameters = { \"x\" = [] \"y\" = [1] } }\n\
                    path \"c\" {\n  bogus = 1 capabilities = []\n}\n";
        let items = parse_document(text).unwrap();
        assert_eq!(items.len(), 3);
        let Node::Object(a) = &items[0].value else {
            panic!("not an object")
        };
        assert_eq!(a.len(), 2);
        assert_eq!(a[1].line, 1);
        let Node::Object(b) = &items[1].value else {
            panic!("not an object")
        };
        let Node::Object(params) = &b[1].value else {
            panic!("not an object")
        };
        assert_eq!(params.len(), 2);
        let Node::Object(c) = &items[2].value else {
            panic!("not an object")
        };
        assert_eq!((c[0].line, c[1].line), (4, 4));
        let numbers = parse_document("a = 1e3 b = 0.5\n").unwrap();
        assert_eq!(numbers.len(), 2);
    }

    #[test]
    fn json_lines_and_comments() {
        let text = "{\n  \"path\": {\n    \"a\": {\"capabilities\": [\"read\"]}\n  }\n}";
        let items = parse_document(text).unwrap();
        assert_eq!(items[0].line, 2);
        let commented = "# c\n// d\n/* e\n f */ path \"x\" # trailing\n{\n}\n";
        let items = parse_document(commented).unwrap();
        assert_eq!(items[0].keys, ["path", "x"]);
    }
}
