//! xxlang literals on the command line: `42`, `-1.5`, `"text"`, `true`, `false`, `null`,
//! `[1, "a"]`, `{"k": 1}`. A word that is none of these is taken as a plain string, so
//! `xxplugin call textkit upper hello` works without shell-quoting the quotes.
//!
//! Arrays and maps nest at most [`MAX_NESTING`] deep: the parser recurses once per level, so
//! an argument of 60,000 `[` must be refused, not followed down the stack.

use std::fmt;
use std::sync::Arc;

use xxlang_plugin::{Map, MapKey, Object};

/// The deepest arrays and maps may nest in an argument: as deep as the plugin ABI's
/// MessagePack goes, so anything deeper could not be passed to a plugin anyway.
pub const MAX_NESTING: usize = 64;

/// An argument nested deeper than [`MAX_NESTING`].
#[derive(Debug, PartialEq, Eq)]
pub struct TooDeep {
    /// The byte offset of the bracket that went one level too deep.
    pub offset: usize,
}

impl fmt::Display for TooDeep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "arrays and maps nest deeper than {MAX_NESTING} levels (at byte {}, column {})",
            self.offset,
            self.offset + 1
        )
    }
}

/// Parses one command-line argument: its value as a literal, else the text as a string. Only
/// nesting deeper than [`MAX_NESTING`] is an error.
pub fn parse_arg(text: &str) -> Result<Object, TooDeep> {
    let mut p = Parser {
        s: text,
        pos: 0,
        depth: 0,
    };
    match p.value() {
        Ok(v) if p.at_end() => Ok(v),
        Err(Fail::TooDeep(offset)) => Err(TooDeep { offset }),
        _ => Ok(Object::from(text)),
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
    /// Not a literal: the argument is a plain string.
    NotALiteral,
    /// An array or map opened at this byte offset nests too deep.
    TooDeep(usize),
}

type R<T> = Result<T, Fail>;

impl Parser<'_> {
    fn rest(&self) -> &str {
        self.s.get(self.pos..).unwrap_or("")
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
        match rest.chars().next() {
            Some('"') => self.string().map(Object::from),
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
        {
            Object::Float(clean.parse::<f64>().map_err(|_| Fail::NotALiteral)?)
        } else {
            return Err(Fail::NotALiteral);
        };
        self.pos += len;
        Ok(v)
    }

    fn string(&mut self) -> R<String> {
        if !self.eat("\"") {
            return Err(Fail::NotALiteral);
        }
        let mut out = String::new();
        let mut chars = self.rest().char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '"' => {
                    self.pos += i + 1;
                    return Ok(out);
                }
                '\\' => match chars.next().map(|(_, c)| c) {
                    Some('n') => out.push('\n'),
                    Some('t') => out.push('\t'),
                    Some('r') => out.push('\r'),
                    Some('0') => out.push('\0'),
                    Some(c @ ('"' | '\\' | '/')) => out.push(c),
                    _ => return Err(Fail::NotALiteral),
                },
                c => out.push(c),
            }
        }
        Err(Fail::NotALiteral)
    }

    /// Enters an array or map, whose opening bracket is at the position.
    fn enter(&mut self) -> R<()> {
        self.skip_ws();
        if self.depth >= MAX_NESTING {
            return Err(Fail::TooDeep(self.pos));
        }
        self.depth += 1;
        Ok(())
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
            items.push(self.value()?);
            if self.eat("]") {
                return Ok(Object::from(items));
            }
            if !self.eat(",") {
                return Err(Fail::NotALiteral);
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
            let key = MapKey::try_from(self.value()?).map_err(|_| Fail::NotALiteral)?;
            if !self.eat(":") {
                return Err(Fail::NotALiteral);
            }
            map.insert(key, self.value()?);
            if self.eat("}") {
                return Ok(Object::Map(Arc::new(map)));
            }
            if !self.eat(",") {
                return Err(Fail::NotALiteral);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{MAX_NESTING, TooDeep, parse_arg};
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
            "\"open",
            "[1,",
            "{1}",
            "",
            "1.2.3",
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
            Err(TooDeep {
                offset: MAX_NESTING
            })
        );
        // Unclosed, and far deeper: the same error, at once.
        assert_eq!(
            parse_arg(&"[".repeat(60_000)),
            Err(TooDeep {
                offset: MAX_NESTING
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
}
