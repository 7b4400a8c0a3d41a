//! The manifest of the typed ABI (docs/ABI.md §2): what a plugin declares about itself, in a
//! custom section named `xxplugin` or sent by its `xxplugin_manifest` export.
//!
//! The text is hostile input: it is parsed strictly, with limits, and every error names the
//! line.

use alloc::boxed::Box;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::sync::Arc;
use alloc::vec::Vec;

use wasmi::Module;

use crate::signature::is_identifier;
use crate::{Param, Signature, Type};

/// The newest ABI version this host supports.
pub const ABI_VERSION: u32 = 1;

/// The custom section (and the import module) of the typed ABI.
pub(crate) const SECTION: &str = "xxplugin";
/// The export that sends the manifest, for languages without custom sections.
pub(crate) const MANIFEST_EXPORT: &str = "xxplugin_manifest";

/// Limits from docs/ABI.md.
pub(crate) const MAX_BYTES: usize = 64 << 10;
const MAX_FUNCTIONS: usize = 1024;
const MAX_PARAMS: usize = 32;
const MAX_DOC: usize = 1024;
const MAX_TYPE_DEPTH: usize = 8;

/// A parsed manifest.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Manifest {
    pub(crate) abi: u32,
    pub(crate) name: Option<String>,
    pub(crate) version: Option<String>,
    /// The plugin keeps no state between calls (`stateless`), so its calls may run on any of
    /// several instances (see `Config::instances`).
    pub(crate) stateless: bool,
    pub(crate) functions: Vec<Declared>,
}

/// One declared function.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Declared {
    pub(crate) name: String,
    /// Shared with the function's plan and builtins.
    pub(crate) signature: Arc<Signature>,
    /// The manifest line, for errors.
    pub(crate) line: usize,
}

/// What is wrong with a manifest.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum ManifestError {
    /// A malformed line (1-based), or a limit (line `None`).
    Malformed { line: Option<usize>, reason: String },
    /// The plugin wants a newer ABI than this host has.
    Unsupported { version: u32 },
}

fn malformed(line: usize, reason: impl Into<String>) -> ManifestError {
    ManifestError::Malformed {
        line: Some(line),
        reason: reason.into(),
    }
}

/// Parses manifest text.
pub(crate) fn parse(text: &str) -> Result<Manifest, ManifestError> {
    if text.len() > MAX_BYTES {
        return Err(ManifestError::Malformed {
            line: None,
            reason: format!("it is {} bytes long; the limit is {MAX_BYTES}", text.len()),
        });
    }
    let mut abi = None;
    let mut m = Manifest::default();
    for (i, raw) in text.lines().enumerate() {
        let n = i + 1;
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with("x-") {
            continue;
        }
        let (keyword, rest) = line
            .split_once(char::is_whitespace)
            .map_or((line, ""), |(k, r)| (k, r.trim()));
        declare(&mut m, &mut abi, keyword, rest, n)?;
    }
    m.abi = abi.ok_or(ManifestError::Malformed {
        line: None,
        reason: String::from("it has no `abi` line"),
    })?;
    if m.abi > ABI_VERSION {
        return Err(ManifestError::Unsupported { version: m.abi });
    }
    Ok(m)
}

/// Takes one declaration (`keyword rest`, on line `n`) into `m` (`abi` apart, until the end).
fn declare(
    m: &mut Manifest,
    abi: &mut Option<u32>,
    keyword: &str,
    rest: &str,
    n: usize,
) -> Result<(), ManifestError> {
    match keyword {
        "abi" => {
            if abi.is_some() {
                return Err(malformed(n, "`abi` is given twice"));
            }
            let v: u32 = rest
                .parse()
                .map_err(|_| malformed(n, format!("`abi {rest}`: not a version number")))?;
            if v == 0 {
                return Err(malformed(n, "ABI versions start at 1"));
            }
            *abi = Some(v);
        }
        "name" => {
            if m.name.is_some() {
                return Err(malformed(n, "`name` is given twice"));
            }
            crate::plugin::check_name(rest).map_err(|reason| {
                malformed(n, format!("{rest:?} is not a valid plugin name: {reason}"))
            })?;
            m.name = Some(rest.to_string());
        }
        "version" => {
            if m.version.is_some() {
                return Err(malformed(n, "`version` is given twice"));
            }
            if rest.is_empty() || rest.len() > 256 || rest.chars().any(char::is_control) {
                return Err(malformed(
                    n,
                    "a version is 1 to 256 bytes of printable text",
                ));
            }
            m.version = Some(rest.to_string());
        }
        "stateless" => {
            if !rest.is_empty() {
                return Err(malformed(n, "`stateless` takes nothing after it"));
            }
            m.stateless = true;
        }
        "fn" => {
            let declared = parse_fn(rest, n)?;
            if m.functions.iter().any(|f| f.name == declared.name) {
                return Err(malformed(
                    n,
                    format!("function `{}` is declared twice", declared.name),
                ));
            }
            if m.functions.len() == MAX_FUNCTIONS {
                return Err(malformed(n, format!("more than {MAX_FUNCTIONS} functions")));
            }
            m.functions.push(declared);
        }
        other => {
            return Err(malformed(
                n,
                format!(
                    "unknown declaration `{}` (expected abi, name, version, stateless or fn)",
                    other.chars().take(32).collect::<String>()
                ),
            ));
        }
    }
    Ok(())
}

/// `NAME(PARAM, ...) [-> TYPE] [-- DOC]`
fn parse_fn(text: &str, n: usize) -> Result<Declared, ManifestError> {
    let (sig, doc) = match text.split_once("--") {
        Some((sig, doc)) => (sig.trim(), Some(doc.trim())),
        None => (text.trim(), None),
    };
    let doc = match doc {
        Some(d) if d.len() > MAX_DOC => {
            return Err(malformed(
                n,
                format!("the doc is longer than {MAX_DOC} bytes"),
            ));
        }
        Some("") | None => None,
        Some(d) => Some(d.to_string()),
    };
    let (name, rest) = sig
        .split_once('(')
        .ok_or_else(|| malformed(n, "expected `fn NAME(PARAMS) -> TYPE`"))?;
    let name = name.trim();
    if !is_identifier(name) {
        return Err(malformed(
            n,
            format!("function name `{name}` is not an identifier"),
        ));
    }
    let (params, result) = rest
        .split_once(')')
        .ok_or_else(|| malformed(n, format!("`{name}`: missing `)`")))?;
    let list = parse_params(name, params, n)?;
    let result = result.trim();
    let result = if result.is_empty() {
        Type::Null
    } else {
        let ty = result.strip_prefix("->").ok_or_else(|| {
            malformed(
                n,
                format!("`{name}`: expected `-> TYPE` after the parameters"),
            )
        })?;
        parse_type(ty.trim(), 0).map_err(|e| malformed(n, format!("`{name}`: {e}")))?
    };
    let mut signature = Signature::new(list, result);
    signature.doc = doc;
    Ok(Declared {
        name: name.to_string(),
        signature: Arc::new(signature),
        line: n,
    })
}

/// The parameters of function `name` (`a: int, b: string`), on manifest line `n`.
fn parse_params(name: &str, params: &str, n: usize) -> Result<Vec<Param>, ManifestError> {
    let mut list: Vec<Param> = Vec::new();
    for p in params.split(',').map(str::trim) {
        if p.is_empty() {
            if params.trim().is_empty() {
                break;
            }
            return Err(malformed(n, format!("`{name}`: empty parameter")));
        }
        let (pname, ty) = p
            .split_once(':')
            .ok_or_else(|| malformed(n, format!("`{name}`: parameter `{p}` needs `name: type`")))?;
        let pname = pname.trim();
        if !is_identifier(pname) {
            return Err(malformed(
                n,
                format!("`{name}`: parameter name `{pname}` is not an identifier"),
            ));
        }
        if list.iter().any(|q| q.name.as_deref() == Some(pname)) {
            return Err(malformed(
                n,
                format!("`{name}`: parameter `{pname}` repeats"),
            ));
        }
        let ty = parse_type(ty.trim(), 0).map_err(|e| malformed(n, format!("`{name}`: {e}")))?;
        if ty == Type::Null {
            return Err(malformed(
                n,
                format!("`{name}`: parameter `{pname}` cannot be null"),
            ));
        }
        list.push(Param {
            name: Some(pname.to_string()),
            ty,
        });
        if list.len() > MAX_PARAMS {
            return Err(malformed(
                n,
                format!("`{name}`: more than {MAX_PARAMS} parameters"),
            ));
        }
    }
    Ok(list)
}

fn parse_type(text: &str, depth: usize) -> Result<Type, String> {
    if depth > MAX_TYPE_DEPTH {
        return Err(format!("types nest deeper than {MAX_TYPE_DEPTH} levels"));
    }
    Ok(match text {
        "int" => Type::Int,
        "float" => Type::Float,
        "bool" => Type::Bool,
        "string" => Type::String,
        "bytes" => Type::Bytes,
        "map" => Type::Map,
        "any" => Type::Any,
        "null" => Type::Null,
        "array" => Type::Array(Box::new(Type::Any)),
        other => match other
            .strip_prefix("array")
            .map(str::trim_start)
            .and_then(|t| t.strip_prefix('<'))
            .and_then(|t| t.strip_suffix('>'))
        {
            Some(inner) => {
                let elem = parse_type(inner.trim(), depth + 1)?;
                if elem == Type::Null {
                    return Err(String::from("`array<null>` is not a type"));
                }
                Type::Array(Box::new(elem))
            }
            None => {
                return Err(format!(
                    "unknown type `{}`",
                    other.chars().take(40).collect::<String>()
                ));
            }
        },
    })
}

/// The manifest in the module's `xxplugin` custom sections (concatenated), if it has any.
pub(crate) fn from_sections(module: &Module) -> Option<Result<Manifest, ManifestError>> {
    let mut text: Vec<u8> = Vec::new();
    let mut any = false;
    for section in module.custom_sections().filter(|s| s.name() == SECTION) {
        any = true;
        if text.len() + section.data().len() > MAX_BYTES {
            return Some(Err(ManifestError::Malformed {
                line: None,
                reason: format!("the `{SECTION}` sections hold more than {MAX_BYTES} bytes"),
            }));
        }
        text.extend_from_slice(section.data());
    }
    if !any {
        return None;
    }
    Some(match core::str::from_utf8(&text) {
        Ok(text) => parse(text),
        Err(e) => Err(ManifestError::Malformed {
            line: None,
            reason: format!("the `{SECTION}` section is not UTF-8 ({e})"),
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    const TEXTKIT: &str = "abi 1\r\nname textkit\nversion 1.0.0-rust\n\n# comment\nx-future whatever\n\
        fn upper(s: string) -> string -- ASCII letters upper-cased; fails on empty input.\n\
        fn xor(data: bytes, key: int)->bytes--Each byte XOR key.\n\
        fn noop(x: int)\n\
        fn nothing()\n\
        fn nested(a: array<array<int>>, m: map, v: any, f: float, b: bool) -> array\n";

    #[test]
    fn parses_a_full_manifest() {
        let m = parse(TEXTKIT).expect("parses");
        assert_eq!(m.abi, 1);
        assert_eq!(m.name.as_deref(), Some("textkit"));
        assert_eq!(m.version.as_deref(), Some("1.0.0-rust"));
        let shown: Vec<String> = m
            .functions
            .iter()
            .map(|f| format!("{}{} {:?}", f.name, f.signature, f.signature.doc))
            .collect();
        assert_eq!(
            shown,
            vec![
                "upper(s: string) -> string Some(\"ASCII letters upper-cased; fails on empty input.\")",
                "xor(data: bytes, key: int) -> bytes Some(\"Each byte XOR key.\")",
                "noop(x: int) -> null None",
                "nothing() -> null None",
                "nested(a: array<array<int>>, m: map, v: any, f: float, b: bool) -> array None",
            ]
        );
        let nested = &m.functions[4].signature;
        assert_eq!(
            crate::wasm::abi::types::show(&crate::wasm::abi::types::declared(nested)),
            "(i32, i32, i32, f64, i32) -> ()"
        );
        assert_eq!(
            crate::wasm::abi::types::show(&crate::wasm::abi::types::declared(
                &m.functions[1].signature
            )),
            "(i32, i64) -> ()"
        );
    }

    #[test]
    fn rejects_what_is_wrong_and_names_the_line() {
        let cases: &[(&str, Option<usize>, &str)] = &[
            ("name x\n", None, "no `abi` line"),
            ("abi 1\nabi 1\n", Some(2), "twice"),
            ("abi one\n", Some(1), "not a version number"),
            ("abi 0\n", Some(1), "start at 1"),
            ("abi 1\nname ../x\n", Some(2), "not a valid plugin name"),
            ("abi 1\nversion \u{1b}[2J\n", Some(2), "printable"),
            ("abi 1\nfn f(x: strng)\n", Some(2), "unknown type `strng`"),
            ("abi 1\nfn f(x)\n", Some(2), "needs `name: type`"),
            ("abi 1\nfn 9f()\n", Some(2), "not an identifier"),
            ("abi 1\nfn f(a: int, a: int)\n", Some(2), "repeats"),
            ("abi 1\nfn f(a: null)\n", Some(2), "cannot be null"),
            ("abi 1\nfn f() int\n", Some(2), "expected `-> TYPE`"),
            ("abi 1\nfn f(a: int,)\n", Some(2), "empty parameter"),
            ("abi 1\nfn f()\nfn f()\n", Some(3), "declared twice"),
            ("abi 1\nfn f( -> int\n", Some(2), "missing `)`"),
            ("abi 1\nfn f() -> array<null>\n", Some(2), "not a type"),
            ("abi 1\nexport f\n", Some(2), "unknown declaration `export`"),
        ];
        for (text, line, fragment) in cases {
            match parse(text) {
                Err(ManifestError::Malformed { line: l, reason }) => {
                    assert_eq!(l, *line, "{text:?}: {reason}");
                    assert!(reason.contains(fragment), "{text:?}: {reason}");
                }
                other => panic!("{text:?}: {other:?}"),
            }
        }
        let deep = format!(
            "abi 1\nfn f() -> {}int{}\n",
            "array<".repeat(10),
            ">".repeat(10)
        );
        assert!(matches!(parse(&deep), Err(ManifestError::Malformed { .. })));
        assert!(parse(&"# x\n".repeat(20_000)).is_err(), "over 64 KiB");
    }

    #[test]
    fn newer_abi_is_unsupported() {
        assert_eq!(
            parse("abi 2\n"),
            Err(ManifestError::Unsupported { version: 2 })
        );
        assert_eq!(parse("abi 1\n").map(|m| m.abi), Ok(1));
    }
}
