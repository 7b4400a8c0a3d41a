//! How the CLI shows what comes from a plugin. A plugin's names, docs, version, error
//! messages, results and log lines are hostile text: written raw, an ESC sequence could move
//! the cursor, recolour the terminal or set its title, and a `\r` could overwrite what was
//! printed. Everything the CLI prints goes through [`escape`].

use std::borrow::Cow;
use std::fmt::Write as _;

use tracing_subscriber::field::MakeExt;
use tracing_subscriber::fmt::FormatFields;
use tracing_subscriber::fmt::format::{Writer, debug_fn};
use xxlang_plugin::Object;

/// `text` with every control character escaped: C0 (ESC, BEL, BS, CR, LF, ...), DEL and C1
/// (`\u{80}`-`\u{9f}`, 8-bit CSI among them). `\n`, `\r` and `\t` are written so, the others
/// as `\u{1b}`, as in xxlang's quoted strings. Text without any is returned as it is.
///
/// ```text
/// escape("ok")                 == "ok"
/// escape("\u{1b}]0;pwned\u{7}") == "\\u{1b}]0;pwned\\u{7}"
/// ```
pub fn escape(text: &str) -> Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// The deepest value [`value`] prints. Results from plugins nest at most 64 deep (the ABI's
/// MessagePack limit) and arguments as deep as the literal parser allows; printing recurses
/// once per level, so a deeper value is not printed at all.
pub const MAX_PRINTED_NESTING: usize = 128;

/// A value's printed form, escaped; a value nested deeper than [`MAX_PRINTED_NESTING`] is
/// described instead of printed.
pub fn value(v: &Object) -> String {
    if nesting(v) > MAX_PRINTED_NESTING {
        return format!("(a value nested deeper than {MAX_PRINTED_NESTING} levels, not printed)");
    }
    escape(&v.to_string()).into_owned()
}

/// How deep arrays and maps nest in `v` (0 for a scalar), counted without recursion.
fn nesting(v: &Object) -> usize {
    let mut deepest = 0;
    let mut stack = vec![(v, 0usize)];
    while let Some((v, depth)) = stack.pop() {
        deepest = deepest.max(depth);
        match v {
            Object::Array(items) => stack.extend(items.iter().map(|i| (i, depth + 1))),
            Object::Map(map) => stack.extend(map.values().map(|i| (i, depth + 1))),
            _ => {}
        }
    }
    deepest
}

/// The fields of log events and spans, escaped: guest log lines and errors carry plugin text.
pub fn log_fields() -> impl for<'w> FormatFields<'w> + Send + Sync + 'static {
    debug_fn(|w: &mut Writer<'_>, field, v| {
        let text = format!("{v:?}");
        if field.name() == "message" {
            write!(w, "{}", escape(&text))
        } else {
            write!(w, "{}={}", field.name(), escape(&text))
        }
    })
    .delimited(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn control_characters_are_escaped_and_nothing_else() {
        assert!(matches!(escape("plain – ünïcode"), Cow::Borrowed(_)));
        assert_eq!(escape("a\u{1b}[2Jb"), "a\\u{1b}[2Jb");
        assert_eq!(escape("\u{1b}]0;title\u{7}"), "\\u{1b}]0;title\\u{7}");
        assert_eq!(escape("x\ry\nz\t"), "x\\ry\\nz\\t");
        assert_eq!(escape("\u{7f}\u{9b}31m\u{0}"), "\\u{7f}\\u{9b}31m\\u{0}");
    }

    #[test]
    fn values_are_escaped_at_every_level() {
        let v = Object::from(vec![Object::from("\u{1b}[31m"), Object::from(1)]);
        assert_eq!(value(&v), r#"["\u{1b}[31m", 1]"#);
        assert_eq!(value(&Object::from("top\u{1b}c")), "top\\u{1b}c");
        assert_eq!(
            value(&Object::error("bad\u{1b}[2J")),
            "ERROR: bad\\u{1b}[2J"
        );
    }

    #[test]
    fn too_deep_values_are_not_printed() {
        let mut v = Object::Null;
        for _ in 0..=MAX_PRINTED_NESTING {
            v = Object::Array(Arc::from(vec![v]));
        }
        assert!(value(&v).starts_with("(a value nested deeper than 128"));
        let Object::Array(inner) = &v else {
            unreachable!()
        };
        assert!(value(&inner[0]).starts_with("[[["));
    }
}
