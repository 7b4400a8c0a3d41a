//! xxlang literals on the command line and in the REPL: `42`, `-1.5`, `"text"`, `b"\x00\xff"`
//! (bytes), `true`, `false`, `null`, `[1, "a"]`, `{"k": 1}`.
//!
//! On the command line a word that does not start like a literal is taken as a plain string,
//! so `xxplugin call textkit upper hello` works without shell-quoting the quotes; a word that
//! starts like a string, bytes, an array or a map (`"`, `b"`, `[`, `{`) must be one, and is an
//! error that says where it went wrong otherwise. In the REPL every argument is a literal.
//!
//! Arrays and maps nest at most [`MAX_NESTING`] deep: the parser recurses once per level, so
//! an argument of 60,000 `[` must be refused, not followed down the stack.

use std::fmt;
use std::sync::Arc;

use xxlang_plugin::{Map, MapKey, Object};

/// The deepest arrays and maps may nest in an argument: as deep as the plugin ABI's
/// MessagePack goes, so anything deeper could not be passed to a plugin anyway.
pub const MAX_NESTING: usize = 64;

/// A literal that is not one: where (a byte offset into the text) and why.
#[derive(Debug, PartialEq, Eq)]
pub struct LiteralError {
    /// The byte offset where it went wrong.
    pub offset: usize,
    /// What was wrong.
    pub kind: Wrong,
}

/// What was wrong with a literal.
#[derive(Debug, PartialEq, Eq)]
pub enum Wrong {
    /// Arrays and maps nest deeper than [`MAX_NESTING`].
    TooDeep,
    /// Something else, said in words: `expected , or ]`, ...
    Malformed(String),
}

impl fmt::Display for LiteralError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (byte, column) = (self.offset, self.offset + 1);
        match &self.kind {
            Wrong::TooDeep => write!(
                f,
                "arrays and maps nest deeper than {MAX_NESTING} levels (at byte {byte}, column {column})"
            ),
            Wrong::Malformed(reason) => write!(f, "{reason} (at column {column})"),
        }
    }
}

/// Parses one command-line argument: its value as a literal; the text as a string when it
/// does not start like a string, bytes, an array or a map and is not a number, `true`,
/// `false` or `null`.
pub fn parse_arg(text: &str) -> Result<Object, LiteralError> {
    let mut p = Parser::new(text);
    p.skip_ws();
    let strict = matches!(p.peek(), Some('"' | '[' | '{')) || p.rest().starts_with("b\"");
    match p.value() {
        Ok(v) if p.at_end() => Ok(v),
        Ok(_) if strict => Err(p.wrong("unexpected text after the value")),
        Err(Fail::Wrong(e)) if strict || e.kind == Wrong::TooDeep => Err(e),
        _ => Ok(Object::from(text)),
    }
}

/// Parses the arguments of a REPL call, `text` being what follows its `(`: literals separated
/// by commas up to the closing `)`. Returns them and the byte length read, `)` included.
pub fn parse_call_args(text: &str) -> Result<(Vec<Object>, usize), LiteralError> {
    let mut p = Parser::new(text);
    let mut args = Vec::new();
    if p.eat(")") {
        return Ok((args, p.pos));
    }
    loop {
        match p.inner_value() {
            Ok(v) => args.push(v),
            Err(Fail::Wrong(e)) => return Err(e),
            Err(Fail::NotALiteral) => return Err(p.wrong("expected a value")),
        }
        if p.eat(")") {
            return Ok((args, p.pos));
        }
        if !p.eat(",") {
            return Err(p.wrong("expected , or ) after an argument"));
        }
    }
}

struct Parser<'a> {
    s: &'a str,
    pos: usize,
    /// How many arrays and maps enclose the position.
    depth: usize,
}

/// Why the text is not a literal.
enum Fail {
    /// It does not start like a literal: on the command line, a plain string.
    NotALiteral,
    /// It does, and is wrong.
    Wrong(LiteralError),
}

type R<T> = Result<T, Fail>;

impl<'a> Parser<'a> {
    fn new(s: &'a str) -> Self {
        Self {
            s,
            pos: 0,
            depth: 0,
        }
    }

    fn rest(&self) -> &'a str {
        self.s.get(self.pos..).unwrap_or("")
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn skip_ws(&mut self) {
        let rest = self.rest();
        self.pos += rest.len() - rest.trim_start().len();
    }

    fn at_end(&mut self) -> bool {
        self.skip_ws();
        self.pos >= self.s.len()
    }

    fn eat(&mut self, token: &str) -> bool {
        self.skip_ws();
        if self.rest().starts_with(token) {
            self.pos += token.len();
            true
        } else {
            false
        }
    }

    /// The error for what is at the position.
    fn wrong(&self, reason: &str) -> LiteralError {
        let found = match self.peek() {
            None => String::from("the end"),
            Some(c) => format!("{c:?}"),
        };
        LiteralError {
            offset: self.pos,
            kind: Wrong::Malformed(format!("{reason}, found {found}")),
        }
    }

    fn fail<T>(&self, reason: &str) -> R<T> {
        Err(Fail::Wrong(self.wrong(reason)))
    }

    fn value(&mut self) -> R<Object> {
        self.skip_ws();
        let rest = self.rest();
        for (word, v) in [
            ("null", Object::Null),
            ("true", Object::Bool(true)),
            ("false", Object::Bool(false)),
        ] {
            let after = rest.strip_prefix(word);
            if after
                .is_some_and(|after| !after.starts_with(|c: char| c.is_alphanumeric() || c == '_'))
            {
                self.pos += word.len();
                return Ok(v);
            }
        }
        if rest.starts_with("b\"") {
            self.pos += 1;
            return self.text(true).map(|t| match t {
                Text::Bytes(b) => Object::from(b),
                Text::Str(s) => Object::from(s),
            });
        }
        match rest.chars().next() {
            Some('"') => self.text(false).map(|t| match t {
                Text::Str(s) => Object::from(s),
                Text::Bytes(b) => Object::from(b),
            }),
            Some('[') => self.array(),
            Some('{') => self.map(),
            Some(c) if c == '-' || c == '+' || c.is_ascii_digit() => self.number(),
            _ => Err(Fail::NotALiteral),
        }
    }

    fn number(&mut self) -> R<Object> {
        let rest = self.rest();
        let len = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '+' | '.' | '_')))
            .unwrap_or(rest.len());
        let word = rest.get(..len).unwrap_or(rest);
        let clean = word.replace('_', "");
        let v = if let Ok(i) = clean.parse::<i64>() {
            Object::Int(i)
        } else if clean
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '-' | '+' | '.' | 'e' | 'E'))
            && let Ok(f) = clean.parse::<f64>()
        {
            Object::Float(f)
        } else if self.depth > 0 {
            return self.fail("expected a number");
        } else {
            return Err(Fail::NotALiteral);
        };
        self.pos += len;
        Ok(v)
    }

    /// A string (`"..."`) or, with `bytes`, the bytes of a `b"..."` whose `b` was read. Escapes:
    /// `\n \t \r \0 \" \\ \/`, `\u{HEX}` in strings, `\xHH` in bytes.
    fn text(&mut self, bytes: bool) -> R<Text> {
        let open = self.pos;
        if !self.eat("\"") {
            return self.fail("expected \"");
        }
        let mut out = Vec::new();
        let body = self.pos;
        let mut chars = self.rest().char_indices().peekable();
        while let Some((i, c)) = chars.next() {
            let at = body + i;
            let escaped = match c {
                '"' => {
                    self.pos = at + 1;
                    return Ok(match bytes {
                        true => Text::Bytes(out),
                        // Only pushed from `char`s and `\u{..}` chars: valid UTF-8.
                        false => Text::Str(String::from_utf8_lossy(&out).into_owned()),
                    });
                }
                '\\' => chars.next().map(|(_, c)| c),
                c => {
                    let mut buf = [0; 4];
                    out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                    continue;
                }
            };
            let simple = match escaped {
                Some('n') => Some(b'\n'),
                Some('t') => Some(b'\t'),
                Some('r') => Some(b'\r'),
                Some('0') => Some(0),
                Some('"') => Some(b'"'),
                Some('\\') => Some(b'\\'),
                Some('/') => Some(b'/'),
                _ => None,
            };
            if let Some(b) = simple {
                out.push(b);
                continue;
            }
            let bad = |reason: &str| {
                Err(Fail::Wrong(LiteralError {
                    offset: at,
                    kind: Wrong::Malformed(String::from(reason)),
                }))
            };
            match (escaped, bytes) {
                (Some('x'), true) => {
                    let hex: String = (0..2)
                        .filter_map(|_| chars.next().map(|(_, c)| c))
                        .collect();
                    match u8::from_str_radix(&hex, 16) {
                        Ok(b) if hex.len() == 2 => out.push(b),
                        _ => return bad("\\x needs two hex digits"),
                    }
                }
                (Some('u'), false) => {
                    if chars.next().map(|(_, c)| c) != Some('{') {
                        return bad("\\u needs {HEX}");
                    }
                    let hex: String = chars
                        .by_ref()
                        .map(|(_, c)| c)
                        .take_while(|c| *c != '}')
                        .take(7)
                        .collect();
                    match u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
                        Some(c) => {
                            let mut buf = [0; 4];
                            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                        }
                        None => return bad("\\u{...} is not a character"),
                    }
                }
                (None, _) => break,
                _ => return bad("unknown escape"),
            }
        }
        self.pos = self.s.len();
        let what = if bytes { "bytes" } else { "string" };
        Err(Fail::Wrong(LiteralError {
            offset: open,
            kind: Wrong::Malformed(format!("unclosed {what}: no closing \"")),
        }))
    }

    /// Enters an array or map, whose opening bracket is at the position.
    fn enter(&mut self) -> R<()> {
        self.skip_ws();
        if self.depth >= MAX_NESTING {
            return Err(Fail::Wrong(LiteralError {
                offset: self.pos,
                kind: Wrong::TooDeep,
            }));
        }
        self.depth += 1;
        Ok(())
    }

    /// A value inside an array or map: anything not a literal is an error there.
    fn inner_value(&mut self) -> R<Object> {
        match self.value() {
            Err(Fail::NotALiteral) => self.fail("expected a value"),
            other => other,
        }
    }

    fn array(&mut self) -> R<Object> {
        self.enter()?;
        let items = self.array_items();
        self.depth -= 1;
        items
    }

    fn array_items(&mut self) -> R<Object> {
        self.eat("[");
        let mut items = Vec::new();
        if self.eat("]") {
            return Ok(Object::from(items));
        }
        loop {
            items.push(self.inner_value()?);
            if self.eat("]") {
                return Ok(Object::from(items));
            }
            if !self.eat(",") {
                return self.fail("expected , or ] in an array");
            }
        }
    }

    fn map(&mut self) -> R<Object> {
        self.enter()?;
        let entries = self.map_entries();
        self.depth -= 1;
        entries
    }

    fn map_entries(&mut self) -> R<Object> {
        self.eat("{");
        let mut map = Map::new();
        if self.eat("}") {
            return Ok(Object::Map(Arc::new(map)));
        }
        loop {
            self.skip_ws();
            let at = self.pos;
            let key = MapKey::try_from(self.inner_value()?).map_err(|v| {
                Fail::Wrong(LiteralError {
                    offset: at,
                    kind: Wrong::Malformed(format!(
                        "a map key must be an int, a string or a bool, not {}",
                        v.type_name()
                    )),
                })
            })?;
            if !self.eat(":") {
                return self.fail("expected : after a map key");
            }
            map.insert(key, self.inner_value()?);
            if self.eat("}") {
                return Ok(Object::Map(Arc::new(map)));
            }
            if !self.eat(",") {
                return self.fail("expected , or } in a map");
            }
        }
    }
}

/// What a quoted literal holds.
enum Text {
    Str(String),
    Bytes(Vec<u8>),
}

#[cfg(test)]
mod tests {
    use super::{LiteralError, MAX_NESTING, Wrong, parse_arg, parse_call_args};
    use xxlang_plugin::Object;

    /// The value of an argument that is not too deep.
    fn lit(text: &str) -> Object {
        match parse_arg(text) {
            Ok(v) => v,
            Err(e) => panic!("{text:?}: {e}"),
        }
    }

    #[test]
    fn literals() {
        assert_eq!(lit("42"), Object::Int(42));
        assert_eq!(lit("-7"), Object::Int(-7));
        assert_eq!(lit("1_000"), Object::Int(1000));
        assert_eq!(lit("-1.5"), Object::Float(-1.5));
        assert_eq!(lit("2e3"), Object::Float(2000.0));
        assert_eq!(lit("true"), Object::Bool(true));
        assert_eq!(lit("false"), Object::Bool(false));
        assert_eq!(lit("null"), Object::Null);
        assert_eq!(lit(r#""a \"b\"\n""#), Object::from("a \"b\"\n"));
        assert_eq!(
            lit(r#"[1, "x", [true]]"#).to_string(),
            r#"[1, "x", [true]]"#
        );
        assert_eq!(
            lit(r#"{"k": 1, 2: null}"#).to_string(),
            r#"{2: null, "k": 1}"#
        );
        assert_eq!(lit("[]").to_string(), "[]");
    }

    #[test]
    fn anything_else_is_a_plain_string() {
        for s in [
            "hello",
            "hello world",
            "nullable",
            "truest",
            "12abc",
            "",
            "1.2.3",
            "b",
            "bytes",
        ] {
            assert_eq!(lit(s), Object::from(s), "{s:?}");
        }
    }

    #[test]
    fn out_of_range_ints_become_floats_not_wraps() {
        assert_eq!(lit("9223372036854775807"), Object::Int(i64::MAX));
        assert_eq!(
            lit("9223372036854775808"),
            Object::Float(9223372036854775808.0)
        );
    }

    #[test]
    fn nesting_is_limited_and_the_error_says_where() {
        let ok = format!("{}{}", "[".repeat(MAX_NESTING), "]".repeat(MAX_NESTING));
        assert_eq!(lit(&ok).to_string(), ok.replace("][", "], ["));
        let deep = format!(
            "{}{}",
            "[".repeat(MAX_NESTING + 1),
            "]".repeat(MAX_NESTING + 1)
        );
        assert_eq!(
            parse_arg(&deep),
            Err(LiteralError {
                offset: MAX_NESTING,
                kind: Wrong::TooDeep
            })
        );
        // Unclosed, and far deeper: the same error, at once.
        assert_eq!(
            parse_arg(&"[".repeat(60_000)),
            Err(LiteralError {
                offset: MAX_NESTING,
                kind: Wrong::TooDeep
            })
        );
        let maps = "{1: ".repeat(20_000);
        let err = parse_arg(&maps).map(|_| ()).map_err(|e| e.to_string());
        assert_eq!(
            err,
            Err(format!(
                "arrays and maps nest deeper than {MAX_NESTING} levels (at byte {}, column {})",
                4 * MAX_NESTING,
                4 * MAX_NESTING + 1
            ))
        );
        // Depth is counted, not the number of brackets.
        let wide = format!("[{}]", vec!["[1]"; 10_000].join(", "));
        assert!(matches!(lit(&wide), Object::Array(a) if a.len() == 10_000));
    }

    #[test]
    fn bytes_literals() {
        assert_eq!(
            lit(r#"b"\x00\xffA\n""#),
            Object::from(vec![0_u8, 255, b'A', b'\n'])
        );
        assert_eq!(lit(r#"b"""#), Object::from(Vec::<u8>::new()));
        assert_eq!(lit(r#"[b"\x01"]"#).to_string(), "[Bytes(len=1)]");
        assert_eq!(lit(r#""\u{e9}t\u{e9}""#), Object::from("\u{e9}t\u{e9}"));
    }

    /// The error of a malformed literal, as printed.
    fn wrong(text: &str) -> String {
        match parse_arg(text) {
            Ok(v) => panic!("{text:?} parsed as {v}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn malformed_literals_are_errors_that_say_where() {
        assert_eq!(
            wrong("\"open"),
            "unclosed string: no closing \" (at column 1)"
        );
        assert_eq!(
            wrong("[1,"),
            "expected a value, found the end (at column 4)"
        );
        assert_eq!(
            wrong("[1 2]"),
            "expected , or ] in an array, found '2' (at column 4)"
        );
        assert_eq!(
            wrong("{1}"),
            "expected : after a map key, found '}' (at column 3)"
        );
        assert_eq!(
            wrong("{[1]: 2}"),
            "a map key must be an int, a string or a bool, not array (at column 2)"
        );
        assert_eq!(
            wrong("[hello]"),
            "expected a value, found 'h' (at column 2)"
        );
        assert_eq!(
            wrong(r#"b"\xZZ""#),
            "\\x needs two hex digits (at column 3)"
        );
        assert_eq!(wrong(r#""\q""#), "unknown escape (at column 2)");
        assert_eq!(
            wrong(r#""a" tail"#),
            "unexpected text after the value, found 't' (at column 5)"
        );
        assert_eq!(
            wrong("[1.2.3]"),
            "expected a number, found '1' (at column 2)"
        );
    }

    #[test]
    fn call_arguments() {
        let (args, len) = parse_call_args(r#"1, "a", [b"\x02"]) rest"#).expect("parses");
        assert_eq!(args.len(), 3);
        assert_eq!(args[1], Object::from("a"));
        assert_eq!(len, r#"1, "a", [b"\x02"])"#.len());
        assert_eq!(parse_call_args(")").map(|(a, n)| (a.len(), n)), Ok((0, 1)));
        let err = parse_call_args("1 2)").unwrap_err();
        assert_eq!(err.offset, 2);
        let err = parse_call_args("hello)").unwrap_err().to_string();
        assert_eq!(err, "expected a value, found 'h' (at column 1)");
        let err = parse_call_args("1, x)").unwrap_err();
        assert_eq!(err.offset, 3);
    }
}
