//! Building the manifest (docs/ABI.md §2) at compile time.
//!
//! `plugin!` and `export!` describe their part of the manifest with a [`Header`] or an
//! [`FnRecord`] constant; [`header`] and [`record`] (const fns) turn it into a `[u8; N]` whose
//! length [`header_len`] / [`record_len`] computed first, so the text is a plain static array
//! that can be placed in the `xxplugin` custom section. Mistakes the host would refuse at load
//! (a bad plugin name, too many parameters, a doc over 1024 bytes, ...) are compile errors here.

use crate::types::AbiType;

/// The most parameters a function may declare.
pub const MAX_PARAMS: usize = 32;
/// The longest doc, in bytes.
pub const MAX_DOC: usize = 1024;
/// The deepest `array<...>` nesting.
pub const MAX_ARRAY_DEPTH: u8 = 8;

/// The `abi`, `name` and `version` lines.
#[derive(Clone, Copy, Debug)]
pub struct Header {
    pub name: Option<&'static str>,
    pub version: Option<&'static str>,
}

/// One `fn` line.
#[derive(Clone, Copy, Debug)]
pub struct FnRecord {
    pub name: &'static str,
    pub params: &'static [(&'static str, AbiType)],
    pub result: Option<AbiType>,
    /// The `#[doc]` attributes of the function (`None` for its other attributes). The doc is
    /// the first paragraph, its lines joined with single spaces.
    pub doc: &'static [Option<&'static str>],
}

/// Writes into `out`, or only counts when `out` is `None`.
struct Writer<'a> {
    out: Option<&'a mut [u8]>,
    len: usize,
}

impl Writer<'_> {
    const fn byte(&mut self, b: u8) {
        if let Some(out) = &mut self.out {
            out[self.len] = b;
        }
        self.len += 1;
    }

    const fn bytes(&mut self, s: &[u8]) {
        let mut i = 0;
        while i < s.len() {
            self.byte(s[i]);
            i += 1;
        }
    }

    const fn str(&mut self, s: &str) {
        self.bytes(s.as_bytes())
    }

    const fn ty(&mut self, t: AbiType) {
        if t.array_depth() > MAX_ARRAY_DEPTH {
            panic!("xxplugin: a type nests `array<...>` more than 8 levels deep");
        }
        let mut i = 0;
        while i < t.array_depth() {
            self.str("array<");
            i += 1;
        }
        self.str(t.base_name());
        let mut i = 0;
        while i < t.array_depth() {
            self.str(">");
            i += 1;
        }
    }
}

/// `name` without a leading `r#` (raw identifiers).
const fn unraw(name: &str) -> &[u8] {
    let b = name.as_bytes();
    if b.len() > 2 && b[0] == b'r' && b[1] == b'#' {
        b.split_at(2).1
    } else {
        b
    }
}

/// `[A-Za-z_][A-Za-z0-9_]*`
const fn is_identifier(b: &[u8]) -> bool {
    if b.is_empty() || b[0].is_ascii_digit() {
        return false;
    }
    let mut i = 0;
    while i < b.len() {
        if !(b[i].is_ascii_alphanumeric() || b[i] == b'_') {
            return false;
        }
        i += 1;
    }
    true
}

const fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

/// Writes the doc (see [`FnRecord::doc`]) after ` -- `; nothing when it is empty.
const fn write_doc(w: &mut Writer<'_>, attrs: &[Option<&str>]) {
    let start = w.len;
    let mut started = false;
    let mut a = 0;
    while a < attrs.len() {
        if let Some(text) = attrs[a] {
            let t = text.as_bytes();
            // Each line of the attribute (a `/** */` comment has several).
            let mut line_start = 0;
            while line_start <= t.len() {
                let mut line_end = line_start;
                while line_end < t.len() && t[line_end] != b'\n' {
                    line_end += 1;
                }
                let (mut s, mut e) = (line_start, line_end);
                while s < e && is_space(t[s]) {
                    s += 1;
                }
                while e > s && is_space(t[e - 1]) {
                    e -= 1;
                }
                if s == e {
                    if started {
                        // A blank line ends the first paragraph: that is the doc.
                        return check_doc(w.len - start);
                    }
                } else {
                    w.str(if started { " " } else { " -- " });
                    started = true;
                    while s < e {
                        // Tabs and other control bytes would not survive a one-line manifest.
                        w.byte(if t[s] < 0x20 || t[s] == 0x7f {
                            b' '
                        } else {
                            t[s]
                        });
                        s += 1;
                    }
                }
                line_start = line_end + 1;
            }
        }
        a += 1;
    }
    if started {
        check_doc(w.len - start)
    }
}

const fn check_doc(written: usize) {
    // `written` includes the 4 bytes of " -- ".
    if written - 4 > MAX_DOC {
        panic!(
            "xxplugin: the first paragraph of a doc comment is longer than 1024 bytes (the manifest's limit)"
        );
    }
}

const fn write_record(f: &FnRecord, w: &mut Writer<'_>) {
    let name = unraw(f.name);
    if !is_identifier(name) {
        panic!("xxplugin: an exported function's name must be an ASCII identifier");
    }
    if f.params.len() > MAX_PARAMS {
        panic!("xxplugin: an exported function may have at most 32 parameters");
    }
    w.str("fn ");
    w.bytes(name);
    w.str("(");
    let mut i = 0;
    while i < f.params.len() {
        if i > 0 {
            w.str(", ");
        }
        let p = unraw(f.params[i].0);
        if !is_identifier(p) {
            panic!("xxplugin: parameter names must be ASCII identifiers");
        }
        w.bytes(p);
        w.str(": ");
        w.ty(f.params[i].1);
        i += 1;
    }
    w.str(")");
    if let Some(t) = f.result {
        w.str(" -> ");
        w.ty(t);
    }
    write_doc(w, f.doc);
    w.str("\n");
}

const fn write_header(h: &Header, w: &mut Writer<'_>) {
    w.str("abi 1\n");
    if let Some(name) = h.name {
        let b = name.as_bytes();
        if b.is_empty() || b.len() > 128 || b[0] == b'-' {
            panic!("xxplugin: a plugin name is 1 to 128 bytes and does not start with `-`");
        }
        let mut i = 0;
        while i < b.len() {
            if !(b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] == b'-') {
                panic!("xxplugin: a plugin name may only use A-Z a-z 0-9 _ -");
            }
            i += 1;
        }
        w.str("name ");
        w.str(name);
        w.str("\n");
    }
    if let Some(version) = h.version {
        let b = version.as_bytes();
        if b.is_empty() || b.len() > 256 || is_space(b[0]) || is_space(b[b.len() - 1]) {
            panic!("xxplugin: a version is 1 to 256 bytes, without spaces around it");
        }
        let mut i = 0;
        while i < b.len() {
            // C0 controls, DEL, and C1 controls (U+0080..U+009F are C2 80..C2 9F in UTF-8).
            let c1 = b[i] == 0xc2 && i + 1 < b.len() && b[i + 1] >= 0x80 && b[i + 1] <= 0x9f;
            if b[i] < 0x20 || b[i] == 0x7f || c1 {
                panic!("xxplugin: a version must be printable text");
            }
            i += 1;
        }
        w.str("version ");
        w.str(version);
        w.str("\n");
    }
}

/// The length of the `fn` line of `f`.
pub const fn record_len(f: &FnRecord) -> usize {
    let mut w = Writer { out: None, len: 0 };
    write_record(f, &mut w);
    w.len
}

/// The `fn` line of `f`; `N` must be [`record_len`]`(f)`.
pub const fn record<const N: usize>(f: &FnRecord) -> [u8; N] {
    let mut out = [0u8; N];
    let mut w = Writer {
        out: Some(&mut out),
        len: 0,
    };
    write_record(f, &mut w);
    assert!(w.len == N);
    out
}

/// The length of the header lines.
pub const fn header_len(h: &Header) -> usize {
    let mut w = Writer { out: None, len: 0 };
    write_header(h, &mut w);
    w.len
}

/// The header lines; `N` must be [`header_len`]`(h)`.
pub const fn header<const N: usize>(h: &Header) -> [u8; N] {
    let mut out = [0u8; N];
    let mut w = Writer {
        out: Some(&mut out),
        len: 0,
    };
    write_header(h, &mut w);
    assert!(w.len == N);
    out
}

/// The text of a record (always UTF-8: it is built from `&str` pieces, cut only at ASCII).
pub const fn utf8(bytes: &[u8]) -> &str {
    match core::str::from_utf8(bytes) {
        Ok(s) => s,
        Err(_) => panic!("xxplugin: a manifest record is not UTF-8"),
    }
}
