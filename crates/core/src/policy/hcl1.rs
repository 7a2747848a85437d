//! The pre-pass that turns Vault's HCL1 dialect into HCL2 for `hcl-edit` (see
//! [`super::hcl`]): braces on the next line are moved up, block-form parameter maps become
//! objects, statements sharing a line are split (objects get commas), and `${`/`%{` are
//! escaped. Each output line remembers its original line, for Vault's `on line N` errors.

/// Keys whose HCL1 block form (`allowed_parameters { "k" = [] }`) is an object in HCL2.
const MAP_KEYS: [&str; 2] = ["allowed_parameters", "denied_parameters"];

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Body,
    Object,
    List,
}

/// An open brace or bracket; `assigned` is set once the current statement (or object item)
/// has its `=`, so the next name on the same line starts a new one.
struct Frame {
    kind: Kind,
    assigned: bool,
}

#[derive(Clone, PartialEq, Eq)]
enum Prev {
    None,
    Ident { name: String, stmt_start: bool },
    Str,
    Value,
    Punct,
    BodyOpen,
}

impl Prev {
    fn ends_value(&self) -> bool {
        matches!(self, Self::Ident { .. } | Self::Str | Self::Value)
    }
}

/// The rewritten text, and for each of its lines the original line number.
pub(crate) struct Rewritten {
    pub(crate) text: String,
    pub(crate) origin: Vec<usize>,
}

struct Writer {
    out: String,
    origin: Vec<usize>,
    line: usize,
}

impl Writer {
    /// Copies original text, following its line breaks.
    fn original(&mut self, text: &str) {
        for c in text.chars() {
            self.out.push(c);
            if c == '\n' {
                self.line += 1;
                self.origin.push(self.line);
            }
        }
    }

    /// Adds a line break that was not in the original.
    fn synthetic_newline(&mut self) {
        self.out.push('\n');
        self.origin.push(self.line);
    }
}

/// Rewrites HCL1-only syntax into HCL2, recording where each line came from.
pub(crate) fn hcl1_to_hcl2(text: &str) -> Rewritten {
    let chars: Vec<char> = text.chars().collect();
    let mut w = Writer {
        out: String::with_capacity(text.len() + 16),
        origin: vec![1],
        line: 1,
    };
    let mut stack = vec![Frame {
        kind: Kind::Body,
        assigned: false,
    }];
    let mut prev = Prev::None;
    let mut prev_end = 0usize;
    let mut newline = false;
    let mut at_stmt_start = true;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let top = stack.last().map_or(Kind::Body, |f| f.kind);
        let mut opens_statement = false;
        // A name or string after a complete `key = value` on the same line starts the next
        // statement (HCL1 needs no separator; HCL2 wants a newline, or a comma in objects).
        if (c == '"' || c.is_alphabetic() || c == '_')
            && !newline
            && prev.ends_value()
            && let Some(frame) = stack.last_mut()
            && frame.assigned
            && frame.kind != Kind::List
        {
            frame.assigned = false;
            if frame.kind == Kind::Body {
                w.synthetic_newline();
                at_stmt_start = true;
            } else {
                w.out.push(',');
            }
        }
        match c {
            '\n' => {
                w.original("\n");
                newline = true;
                if top != Kind::List {
                    at_stmt_start = true;
                    if let Some(frame) = stack.last_mut() {
                        frame.assigned = false;
                    }
                }
                i += 1;
                continue;
            }
            ' ' | '\t' | '\r' => {
                w.out.push(c);
                i += 1;
                continue;
            }
            '#' => {
                i = copy_line_comment(&chars, i, &mut w.out);
                continue;
            }
            '/' if chars.get(i + 1) == Some(&'/') => {
                i = copy_line_comment(&chars, i, &mut w.out);
                continue;
            }
            '/' if chars.get(i + 1) == Some(&'*') => {
                let start = i;
                i += 2;
                while i < chars.len() && !(chars[i] == '*' && chars.get(i + 1) == Some(&'/')) {
                    i += 1;
                }
                i = (i + 2).min(chars.len());
                let comment: String = chars[start..i].iter().collect();
                newline |= comment.contains('\n');
                w.original(&comment);
                continue;
            }
            '"' => {
                i = copy_string(&chars, i, &mut w.out);
                prev = Prev::Str;
            }
            '<' if chars.get(i + 1) == Some(&'<') => {
                i = copy_heredoc(&chars, i, &mut w);
                prev = Prev::Value;
            }
            '{' => {
                i += 1;
                let parent_assigned = stack.last().is_some_and(|f| f.assigned);
                let opens_body = top == Kind::Body
                    && !parent_assigned
                    && matches!(prev, Prev::Ident { .. } | Prev::Str);
                let is_map = matches!(&prev, Prev::Ident { name, stmt_start: true }
                    if MAP_KEYS.contains(&name.as_str()));
                if opens_body && is_map {
                    w.out.insert_str(prev_end, " = {");
                    w.out.push(' ');
                    if let Some(frame) = stack.last_mut() {
                        frame.assigned = true;
                    }
                    stack.push(Frame {
                        kind: Kind::Object,
                        assigned: false,
                    });
                    prev = Prev::Punct;
                } else if opens_body {
                    if newline {
                        w.out.insert_str(prev_end, " {");
                        w.out.push(' ');
                    } else {
                        w.out.push('{');
                        w.synthetic_newline();
                    }
                    stack.push(Frame {
                        kind: Kind::Body,
                        assigned: false,
                    });
                    opens_statement = true;
                    prev = Prev::BodyOpen;
                } else {
                    w.out.push('{');
                    stack.push(Frame {
                        kind: Kind::Object,
                        assigned: false,
                    });
                    prev = Prev::Punct;
                }
            }
            '[' | '(' => {
                w.out.push(c);
                stack.push(Frame {
                    kind: Kind::List,
                    assigned: false,
                });
                prev = Prev::Punct;
                i += 1;
            }
            '}' | ']' | ')' => {
                if c == '}' && top == Kind::Body && !newline && prev != Prev::BodyOpen {
                    w.synthetic_newline();
                }
                w.out.push(c);
                if stack.len() > 1 {
                    stack.pop();
                }
                if let Some(frame) = stack.last_mut() {
                    frame.assigned = true;
                }
                prev = Prev::Value;
                i += 1;
            }
            '=' | ':' => {
                w.out.push(c);
                if let Some(frame) = stack.last_mut() {
                    frame.assigned = true;
                }
                prev = Prev::Punct;
                i += 1;
            }
            c if c.is_alphabetic() || c == '_' => {
                let start = i;
                while i < chars.len()
                    && (chars[i].is_alphanumeric() || matches!(chars[i], '_' | '-'))
                {
                    i += 1;
                }
                let name: String = chars[start..i].iter().collect();
                w.out.push_str(&name);
                let stmt_start = top == Kind::Body && at_stmt_start;
                prev = Prev::Ident { name, stmt_start };
            }
            c if c.is_ascii_digit() || c == '.' => {
                while i < chars.len()
                    && (chars[i].is_alphanumeric() || matches!(chars[i], '.' | '_'))
                {
                    w.out.push(chars[i]);
                    i += 1;
                }
                prev = Prev::Value;
            }
            _ => {
                w.out.push(c);
                prev = Prev::Punct;
                i += 1;
            }
        }
        prev_end = w.out.len();
        newline = false;
        at_stmt_start = opens_statement;
    }
    Rewritten {
        text: w.out,
        origin: w.origin,
    }
}

fn copy_line_comment(chars: &[char], mut i: usize, out: &mut String) -> usize {
    while i < chars.len() && chars[i] != '\n' {
        out.push(chars[i]);
        i += 1;
    }
    i
}

/// Copies a quoted string, escaping HCL2 template openers.
fn copy_string(chars: &[char], mut i: usize, out: &mut String) -> usize {
    out.push('"');
    i += 1;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\\' => {
                out.push(c);
                if let Some(&next) = chars.get(i + 1) {
                    out.push(next);
                }
                i += 2;
                continue;
            }
            '"' => {
                out.push(c);
                return i + 1;
            }
            '\n' => return i,
            _ => push_escaped(chars, i, out),
        }
        i += 1;
    }
    i
}

fn push_escaped(chars: &[char], i: usize, out: &mut String) {
    let c = chars[i];
    if matches!(c, '$' | '%') && chars.get(i + 1) == Some(&'{') {
        out.push(c);
    }
    out.push(c);
}

/// Copies a heredoc (`<<EOF` or `<<-EOF` … `EOF`), escaping template openers in its body.
fn copy_heredoc(chars: &[char], mut i: usize, w: &mut Writer) -> usize {
    let start = i;
    i += 2;
    if chars.get(i) == Some(&'-') {
        i += 1;
    }
    let ident_start = i;
    while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
        i += 1;
    }
    let ident: String = chars[ident_start..i].iter().collect();
    w.out.extend(&chars[start..i]);
    if ident.is_empty() {
        return i;
    }
    let mut line_start = false;
    while i < chars.len() {
        let c = chars[i];
        if c == '\n' {
            w.original("\n");
            line_start = true;
            i += 1;
            continue;
        }
        if line_start {
            let rest: String = chars[i..].iter().take_while(|&&c| c != '\n').collect();
            if rest.trim() == ident {
                w.out.push_str(&rest);
                return i + rest.chars().count();
            }
            line_start = false;
        }
        push_escaped(chars, i, &mut w.out);
        i += 1;
    }
    i
}
