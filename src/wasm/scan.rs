//! A module's bytes, read before wasmi sees them: the checks wasmi cannot make for us, and the
//! start function turned into an export.
//!
//! - A memory whose declared maximum, in bytes, does not fit in 64 bits (a memory64 maximum of
//!   2^48 pages) makes wasmi 2.0 panic on `memory.grow`, and a panic cannot unwind out of the
//!   interpreter: the process aborts. Such a module is refused here.
//! - The start section runs inside instantiation, where wasmi cannot pause it: unsliced, it
//!   would escape fuel slices, deadlines and cancellation, and could overflow the native stack
//!   (see `limits`). So the start section is removed and its function exported under
//!   [`START_EXPORT`], which the instance factory calls, sliced, right after instantiating.
//!   Nothing else changes: data and element segments are still applied by instantiation, before
//!   the start function runs, as the spec orders.
//!
//! Only the section headers are walked (plus the memory and start sections); a malformed
//! module is passed on unchanged for wasmi to reject with its own message.

use alloc::borrow::Cow;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

/// The export the start function is moved to. It cannot collide with an export a toolchain
/// makes (it starts with a NUL), and plans never offer it to scripts.
pub(crate) const START_EXPORT: &str = "\u{0}xxplugin-start";

/// The most parameters, and the most results, a function type may have. Block types name
/// function types, so this bounds the arity of every branch label, and with it the work of
/// validating a `br_table` (each target's label types are checked): without it, a 1 MB module
/// of `br_table`s over labels of arity 1000 takes seconds to validate. Language toolchains
/// stay far below it.
pub(crate) const MAX_ARITY: usize = 32;

/// The most entries a module may declare in each of these sections. wasmparser allows a
/// million functions, types and globals, which cost the host some 80 to 150 MiB to load from a
/// 4 MB module; these caps keep that about ten times smaller and stay far above what
/// toolchains produce (the Go plugins here have 1,500 functions, 20 types and 8 globals).
const MAX_ENTRIES: &[(u8, &str, u32)] = &[
    (SECTION_TYPE, "types", 100_000),
    (SECTION_IMPORT, "imports", 100_000),
    (SECTION_FUNCTION, "functions", 250_000),
    (SECTION_GLOBAL, "globals", 100_000),
];

const SECTION_TYPE: u8 = 1;
const SECTION_IMPORT: u8 = 2;
const SECTION_FUNCTION: u8 = 3;
const SECTION_GLOBAL: u8 = 6;
const SECTION_EXPORT: u8 = 7;
const SECTION_START: u8 = 8;
const SECTION_MEMORY: u8 = 5;

/// Checks `bytes` and moves a start function to [`START_EXPORT`]: the bytes to compile (the
/// original, or a copy with the start function exported); the error is the reason the module
/// is refused.
pub(crate) fn prepare(bytes: &[u8]) -> Result<Cow<'_, [u8]>, String> {
    let Some(sections) = sections(bytes) else {
        return Ok(Cow::Borrowed(bytes));
    };
    let mut start = None;
    for s in &sections {
        if let Some((_, what, max)) = MAX_ENTRIES.iter().find(|(id, ..)| *id == s.id)
            && let Some((count, _)) = leb_u32(s.payload)
            && count > *max
        {
            return Err(format!(
                "it declares {count} {what}; at most {max} are accepted"
            ));
        }
        match s.id {
            SECTION_TYPE => check_types(s.payload)?,
            SECTION_MEMORY => check_memories(s.payload)?,
            SECTION_START => start = Some(*s),
            _ => {}
        }
    }
    // No start section, or a malformed one (wasmi says why): nothing to move.
    match start.and_then(|start| leb_u32(start.payload)) {
        Some((func, _)) => Ok(Cow::Owned(export_start(bytes, &sections, func))),
        None => Ok(Cow::Borrowed(bytes)),
    }
}

/// One section: its id, where it starts (header included) and ends, and its payload.
#[derive(Clone, Copy)]
struct Section<'a> {
    id: u8,
    start: usize,
    end: usize,
    payload: &'a [u8],
}

/// The sections of a core module, or `None` if the bytes are not laid out as one.
fn sections(bytes: &[u8]) -> Option<Vec<Section<'_>>> {
    let body = bytes.strip_prefix(b"\0asm\x01\0\0\0")?;
    let mut at = bytes.len() - body.len();
    let mut out = Vec::new();
    while at < bytes.len() {
        let start = at;
        let id = *bytes.get(at)?;
        let (size, used) = leb_u32(bytes.get(at + 1..)?)?;
        let from = at + 1 + used;
        let end = from.checked_add(usize::try_from(size).ok()?)?;
        let payload = bytes.get(from..end)?;
        out.push(Section {
            id,
            start,
            end,
            payload,
        });
        at = end;
    }
    Some(out)
}

/// Refuses function types with more than [`MAX_ARITY`] parameters or results.
fn check_types(payload: &[u8]) -> Result<(), String> {
    let reader = wasmparser::TypeSectionReader::new(wasmparser::BinaryReader::new(payload, 0));
    let Ok(reader) = reader else {
        return Ok(()); // malformed: wasmi says why
    };
    for (index, ty) in reader.into_iter_err_on_gc_types().enumerate() {
        let Ok(ty) = ty else {
            return Ok(());
        };
        let (params, results) = (ty.params().len(), ty.results().len());
        if params > MAX_ARITY || results > MAX_ARITY {
            return Err(format!(
                "type {index} has {params} parameters and {results} results; at most \
                 {MAX_ARITY} of each are accepted (they bound the cost of validating branches)"
            ));
        }
    }
    Ok(())
}

/// Refuses memories whose maximum (or minimum) size in bytes overflows 64 bits.
fn check_memories(payload: &[u8]) -> Result<(), String> {
    let reader = wasmparser::MemorySectionReader::new(wasmparser::BinaryReader::new(payload, 0));
    let Ok(reader) = reader else {
        return Ok(()); // malformed: wasmi says why
    };
    for (index, memory) in reader.into_iter().enumerate() {
        let Ok(memory) = memory else {
            return Ok(());
        };
        let page = 1u64 << memory.page_size_log2.unwrap_or(16).min(63);
        for (what, pages) in [
            ("minimum", Some(memory.initial)),
            ("maximum", memory.maximum),
        ] {
            if let Some(pages) = pages
                && pages.checked_mul(page).is_none()
            {
                return Err(format!(
                    "memory {index} declares a {what} of {pages} pages of {page} bytes, more \
                     than a 64-bit address space holds"
                ));
            }
        }
    }
    Ok(())
}

/// The module without its start section, with its start function exported as
/// [`START_EXPORT`] (added to the export section, or in a new one where the start section was).
fn export_start(bytes: &[u8], sections: &[Section<'_>], func: u32) -> Vec<u8> {
    let mut entry = Vec::new();
    leb_write(&mut entry, START_EXPORT.len() as u64);
    entry.extend_from_slice(START_EXPORT.as_bytes());
    entry.push(0x00); // a function
    leb_write(&mut entry, u64::from(func));

    let mut out = Vec::with_capacity(bytes.len() + entry.len() + 16);
    out.extend_from_slice(bytes.get(..8).unwrap_or_default());
    let has_exports = sections.iter().any(|s| s.id == SECTION_EXPORT);
    for s in sections {
        match s.id {
            SECTION_EXPORT => {
                let (count, used) = leb_u32(s.payload).unwrap_or((0, s.payload.len()));
                let mut payload = Vec::with_capacity(s.payload.len() + entry.len() + 5);
                leb_write(&mut payload, u64::from(count) + 1);
                payload.extend_from_slice(s.payload.get(used..).unwrap_or_default());
                payload.extend_from_slice(&entry);
                write_section(&mut out, SECTION_EXPORT, &payload);
            }
            SECTION_START if !has_exports => {
                let mut payload = Vec::with_capacity(entry.len() + 1);
                leb_write(&mut payload, 1);
                payload.extend_from_slice(&entry);
                write_section(&mut out, SECTION_EXPORT, &payload);
            }
            SECTION_START => {}
            _ => out.extend_from_slice(bytes.get(s.start..s.end).unwrap_or_default()),
        }
    }
    out
}

fn write_section(out: &mut Vec<u8>, id: u8, payload: &[u8]) {
    out.push(id);
    leb_write(out, payload.len() as u64);
    out.extend_from_slice(payload);
}

/// An unsigned LEB128 `u32` at the start of `bytes`, and how many bytes it took.
fn leb_u32(bytes: &[u8]) -> Option<(u32, usize)> {
    let mut value: u64 = 0;
    for (i, byte) in bytes.iter().take(5).enumerate() {
        value |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return u32::try_from(value).ok().map(|v| (v, i + 1));
        }
    }
    None
}

fn leb_write(out: &mut Vec<u8>, mut value: u64) {
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exports(bytes: &[u8]) -> Vec<String> {
        let engine = wasmi::Engine::default();
        let module = wasmi::Module::new(&engine, bytes).expect("valid after the rewrite");
        module.exports().map(|e| String::from(e.name())).collect()
    }

    #[test]
    fn start_function_becomes_an_export() {
        for src in [
            r#"(module (func $s) (func (export "f")) (start $s))"#,
            r#"(module (func $s) (start $s))"#,
            r#"(module (memory 1) (func $s) (start $s) (data (i32.const 0) "x"))"#,
        ] {
            let wasm = wat::parse_str(src).expect("wat");
            let prepared = prepare(&wasm).expect("accepted");
            assert!(matches!(prepared, Cow::Owned(_)), "{src}");
            let names = exports(&prepared);
            assert!(names.iter().any(|n| n == START_EXPORT), "{src}: {names:?}");
            let engine = wasmi::Engine::default();
            let module = wasmi::Module::new(&engine, &prepared[..]).expect("valid");
            let mut store = wasmi::Store::new(&engine, ());
            wasmi::Linker::new(&engine)
                .instantiate_and_start(&mut store, &module)
                .expect("no start section left");
        }
    }

    #[test]
    fn modules_without_start_are_not_copied() {
        let wasm = wat::parse_str(r#"(module (func (export "f")))"#).expect("wat");
        assert!(matches!(prepare(&wasm).expect("ok"), Cow::Borrowed(_)));
        assert!(matches!(
            prepare(b"not wasm").expect("left to wasmi"),
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn wide_function_types_are_refused() {
        let wide = |n: usize| {
            let params = "i32 ".repeat(n);
            wat::parse_str(format!("(module (type (func (param {params}))))")).expect("wat")
        };
        assert!(prepare(&wide(MAX_ARITY)).is_ok());
        let err = prepare(&wide(MAX_ARITY + 1)).expect_err("refused");
        assert!(err.contains("33 parameters"), "{err}");
    }

    #[test]
    fn huge_entry_counts_are_refused() {
        let mut wasm = b"\0asm\x01\0\0\0".to_vec();
        // A function section that claims 300,000 functions (LEB128 0xe0 0xa7 0x12).
        wasm.extend_from_slice(&[SECTION_FUNCTION, 3, 0xe0, 0xa7, 0x12]);
        let err = prepare(&wasm).expect_err("refused");
        assert!(err.contains("300000 functions; at most 250000"), "{err}");
    }

    #[test]
    fn memory_sizes_that_overflow_are_refused() {
        let wasm = wat::parse_str("(module (memory i64 1 281474976710656))").expect("wat");
        let err = prepare(&wasm).expect_err("refused");
        assert!(err.contains("maximum of 281474976710656 pages"), "{err}");
        let fine = wat::parse_str("(module (memory i64 1 65536))").expect("wat");
        assert!(prepare(&fine).is_ok());
    }
}
