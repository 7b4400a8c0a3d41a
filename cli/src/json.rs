//! `xxplugin call --json`: results and errors as JSON, for scripts.
//!
//! | value | JSON |
//! |---|---|
//! | null, bool, int, string | the same |
//! | float | a number; NaN and the infinities as the strings `"NaN"`, `"inf"`, `"-inf"` |
//! | bytes | `{"bytes": "<hex>"}` |
//! | array | an array |
//! | map | an object; int and bool keys as their printed form (`"1"`, `"true"`) |
//! | error value | `{"error": {"kind": "value", "message": ".."}}` |
//! | builtin, module | their printed form, as a string |
//!
//! A call that fails prints `{"error": {"kind": "trap", "message": ".."}}` (the kinds are
//! [`kind_name`]'s), and a failure before the call `{"error": {"kind": "usage", ..}}`.

use std::fmt::Write;

use xxlang_plugin::{Error, ErrorKind, Object};

/// The deepest value printed; deeper parts print as `null` (arguments and results nest at most
/// 64 deep: nothing real is cut).
const MAX_DEPTH: usize = 128;

/// A value as JSON.
pub fn value(v: &Object) -> String {
    let mut out = String::new();
    write_value(&mut out, v, 0);
    out
}

/// A call's error as JSON.
pub fn error(e: &Error) -> String {
    failure(kind_name(e.kind()), &e.to_string())
}

/// `{"error": {"kind": kind, "message": message}}`.
pub fn failure(kind: &str, message: &str) -> String {
    let mut out = String::from("{\"error\": {\"kind\": ");
    write_str(&mut out, kind);
    out.push_str(", \"message\": ");
    write_str(&mut out, message);
    out.push_str("}}");
    out
}

/// A short name for each kind of call error.
pub fn kind_name(kind: &ErrorKind) -> &'static str {
    match kind {
        ErrorKind::NoSuchFunction => "no_such_function",
        ErrorKind::Arity { .. } => "arity",
        ErrorKind::Type { .. } => "type",
        ErrorKind::Trap { .. } => "trap",
        ErrorKind::Limit(_) => "limit",
        ErrorKind::Reentrant => "reentrant",
        ErrorKind::Guest { .. } => "guest",
        ErrorKind::Host { .. } => "host",
        ErrorKind::Abi { .. } => "abi",
        ErrorKind::Closed => "closed",
        ErrorKind::Builtin { .. } => "value",
        _ => "load",
    }
}

fn write_value(out: &mut String, v: &Object, depth: usize) {
    if depth > MAX_DEPTH {
        out.push_str("null");
        return;
    }
    match v {
        Object::Null => out.push_str("null"),
        Object::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Object::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Object::Float(f) if f.is_nan() => out.push_str("\"NaN\""),
        Object::Float(f) if f.is_infinite() => {
            out.push_str(if *f > 0.0 { "\"inf\"" } else { "\"-inf\"" })
        }
        Object::Float(f) => {
            // `{:?}` keeps a fraction or exponent, so the number reads back as a float.
            let _ = write!(out, "{f:?}");
        }
        Object::String(s) => write_str(out, s),
        Object::Bytes(b) => {
            out.push_str("{\"bytes\": \"");
            for byte in b.iter() {
                let _ = write!(out, "{byte:02x}");
            }
            out.push_str("\"}");
        }
        Object::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_value(out, item, depth + 1);
            }
            out.push(']');
        }
        Object::Map(map) => {
            out.push('{');
            for (i, (k, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_str(out, &k.to_string());
                out.push_str(": ");
                write_value(out, item, depth + 1);
            }
            out.push('}');
        }
        Object::Error(message) => out.push_str(&failure("value", message)),
        other => write_str(out, &other.to_string()),
    }
}

/// A JSON string: quotes, backslashes and control characters escaped.
fn write_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 || matches!(c, '\u{7f}' | '\u{2028}' | '\u{2029}') => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn values() {
        assert_eq!(value(&Object::from(vec![1_i64, 2])), "[1, 2]");
        assert_eq!(value(&Object::Float(2.0)), "2.0");
        assert_eq!(value(&Object::Float(f64::NAN)), "\"NaN\"");
        assert_eq!(value(&Object::from("a\"b\n\u{1b}")), r#""a\"b\n\u001b""#);
        assert_eq!(
            value(&Object::from(vec![0_u8, 255])),
            r#"{"bytes": "00ff"}"#
        );
        let map = Object::from(BTreeMap::from([(1_i64, true)]));
        assert_eq!(value(&map), r#"{"1": true}"#);
        assert_eq!(
            value(&Object::error("bad")),
            r#"{"error": {"kind": "value", "message": "bad"}}"#
        );
        assert_eq!(value(&Object::Null), "null");
    }

    #[test]
    fn errors() {
        let e = Error::call(ErrorKind::Closed, "p", "f");
        assert_eq!(
            error(&e),
            r#"{"error": {"kind": "closed", "message": "p.f: plugin p is closed"}}"#
        );
    }
}
