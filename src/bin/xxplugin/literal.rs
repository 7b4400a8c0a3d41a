//! xxlang literals on the command line: `42`, `-1.5`, `"text"`, `true`, `false`, `null`,
//! `[1, "a"]`, `{"k": 1}`. A word that is none of these is taken as a plain string, so
//! `xxplugin call textkit upper hello` works without shell-quoting the quotes.

use std::sync::Arc;

use xxlang_plugin::{Map, MapKey, Object};

/// Parses one command-line argument.
pub fn parse_arg(text: &str) -> Object {
    let mut p = Parser { s: text, pos: 0 };
    match p.value() {
        Ok(v) if p.at_end() => v,
        _ => Object::from(text),
    }
}

struct Parser<'a> {
    s: &'a str,
    pos: usize,
}

type R<T> = Result<T, ()>;

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
            if rest.starts_with(word)
                && !rest[word.len()..].starts_with(|c: char| c.is_alphanumeric() || c == '_')
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
            _ => Err(()),
        }
    }

    fn number(&mut self) -> R<Object> {
        let rest = self.rest();
        let len = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '+' | '.' | '_')))
            .unwrap_or(rest.len());
        let word = &rest[..len];
        let clean = word.replace('_', "");
        let v = if let Ok(i) = clean.parse::<i64>() {
            Object::Int(i)
        } else if clean
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '-' | '+' | '.' | 'e' | 'E'))
        {
            Object::Float(clean.parse::<f64>().map_err(|_| ())?)
        } else {
            return Err(());
        };
        self.pos += len;
        Ok(v)
    }

    fn string(&mut self) -> R<String> {
        if !self.eat("\"") {
            return Err(());
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
                    _ => return Err(()),
                },
                c => out.push(c),
            }
        }
        Err(())
    }

    fn array(&mut self) -> R<Object> {
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
                return Err(());
            }
        }
    }

    fn map(&mut self) -> R<Object> {
        self.eat("{");
        let mut map = Map::new();
        if self.eat("}") {
            return Ok(Object::Map(Arc::new(map)));
        }
        loop {
            let key = MapKey::try_from(self.value()?).map_err(|_| ())?;
            if !self.eat(":") {
                return Err(());
            }
            map.insert(key, self.value()?);
            if self.eat("}") {
                return Ok(Object::Map(Arc::new(map)));
            }
            if !self.eat(",") {
                return Err(());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::parse_arg;
    use xxlang_plugin::Object;

    #[test]
    fn literals() {
        assert_eq!(parse_arg("42"), Object::Int(42));
        assert_eq!(parse_arg("-7"), Object::Int(-7));
        assert_eq!(parse_arg("1_000"), Object::Int(1000));
        assert_eq!(parse_arg("-1.5"), Object::Float(-1.5));
        assert_eq!(parse_arg("2e3"), Object::Float(2000.0));
        assert_eq!(parse_arg("true"), Object::Bool(true));
        assert_eq!(parse_arg("false"), Object::Bool(false));
        assert_eq!(parse_arg("null"), Object::Null);
        assert_eq!(parse_arg(r#""a \"b\"\n""#), Object::from("a \"b\"\n"));
        assert_eq!(
            parse_arg(r#"[1, "x", [true]]"#).to_string(),
            r#"[1, "x", [true]]"#
        );
        assert_eq!(
            parse_arg(r#"{"k": 1, 2: null}"#).to_string(),
            r#"{2: null, "k": 1}"#
        );
        assert_eq!(parse_arg("[]").to_string(), "[]");
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
            assert_eq!(parse_arg(s), Object::from(s), "{s:?}");
        }
    }

    #[test]
    fn out_of_range_ints_become_floats_not_wraps() {
        assert_eq!(parse_arg("9223372036854775807"), Object::Int(i64::MAX));
        assert_eq!(
            parse_arg("9223372036854775808"),
            Object::Float(9223372036854775808.0)
        );
    }
}
