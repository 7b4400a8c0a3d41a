//! A module's bytes, read before wasmi sees them: the checks wasmi cannot make for us, the
//! start function turned into an export, and the exports a snapshot needs.
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
//! - A fresh instance of a loaded plugin starts from a copy of the first instance's state after
//!   start-up (see `snapshot`), and wasmi only lets the host reach exported items. So every
//!   mutable global the module defines is exported too, under a name starting with
//!   [`INTERNAL_PREFIX`] (as is the memory, when the module does not export it), and the code is
//!   read for what a copy of memories and globals cannot reproduce: instructions that change
//!   tables or drop segments (by [`CodeCheck`], when a snapshot is first used). A module that
//!   exports a name with that prefix itself is refused: the host would take the export for one
//!   of its own.
//!
//! Only the section headers are walked (plus the import, table, memory, global, export and
//! start sections); a malformed module is passed on unchanged for wasmi to reject with its own
//! message. A module that needs none of these changes is not copied.

use alloc::borrow::Cow;
use alloc::format;
use alloc::string::String;
#[cfg(feature = "std")]
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::ops::Range;
use core::sync::atomic::{AtomicU8, Ordering};

/// How the exports this module adds begin. They cannot collide with an export a toolchain
/// makes (they start with a NUL), and plans never offer them to scripts (see [`is_internal`]).
pub(crate) const INTERNAL_PREFIX: &str = "\u{0}xxplugin-";

/// The export the start function is moved to.
pub(crate) const START_EXPORT: &str = "\u{0}xxplugin-start";

/// How the exports of mutable globals begin; the global's index follows, in decimal.
pub(crate) const GLOBAL_EXPORT_PREFIX: &str = "\u{0}xxplugin-global-";

/// The export of the memory, for a module that does not export it itself.
pub(crate) const MEMORY_EXPORT: &str = "\u{0}xxplugin-memory";

/// Whether `name` is one of the exports this module adds, which scripts never see.
pub(crate) fn is_internal(name: &str) -> bool {
    name.starts_with(INTERNAL_PREFIX)
}

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
const SECTION_TABLE: u8 = 4;
const SECTION_CODE: u8 = 10;
const SECTION_DATA_COUNT: u8 = 12;

/// What [`prepare`] made of a module.
#[derive(Debug)]
pub(crate) struct Prepared<'a> {
    /// The bytes to compile: the original, or a copy with exports added.
    pub(crate) bytes: Cow<'a, [u8]>,
    /// Why a copy of an instance's memory and globals cannot stand for its start-up (see
    /// `snapshot`); `None` when it can, as far as the module's sections tell.
    pub(crate) no_snapshot: Option<&'static str>,
    /// Where the code section's payload is in the original bytes, when the code must be read
    /// too before a snapshot may be used (see [`CodeCheck`]).
    pub(crate) code: Option<Range<usize>>,
}

/// Whether a module's code changes tables or drops data segments, which rules out snapshots:
/// read the first time a snapshot is to be used, not at load. Reading every operator of a
/// Go plugin's megabyte of code takes some milliseconds (about 5 in a release build), a
/// sizeable part of its load, and most plugins never need a fresh instance.
pub(crate) struct CodeCheck {
    /// The module's original bytes and where its code is, while not read yet.
    #[cfg(feature = "std")]
    code: Option<(Arc<[u8]>, Range<usize>)>,
    /// 0 while not read, 1 when nothing rules snapshots out, else 2 + the reason's index in
    /// [`CODE_REASONS`].
    verdict: AtomicU8,
}

/// What reading the code can find (see [`changes_tables_or_segments`]).
const CODE_REASONS: [&str; 3] = [
    "its code changes tables (table.set, table.grow, table.fill, table.copy, table.init or \
     elem.drop)",
    "its code drops data segments (data.drop)",
    "its code could not be read",
];

impl CodeCheck {
    /// The check of the code at `code` in `bytes` (the original module), read when first
    /// asked; `None`: there is no code to read.
    #[cfg(feature = "std")]
    pub(crate) fn later(bytes: &Arc<[u8]>, code: Option<Range<usize>>) -> Self {
        Self {
            verdict: AtomicU8::new(u8::from(code.is_none())),
            code: code.map(|range| (bytes.clone(), range)),
        }
    }

    /// The check of the code at `code` in `bytes`, read now: without `std` no copy of the
    /// module's bytes is kept to read it later.
    #[cfg(not(feature = "std"))]
    pub(crate) fn now(bytes: &[u8], code: Option<Range<usize>>) -> Self {
        let check = Self {
            verdict: AtomicU8::new(1),
        };
        if let Some(range) = code {
            check.settle(bytes.get(range).unwrap_or_default());
        }
        check
    }

    /// Why the code rules snapshots out, if it does, when that is known already.
    pub(crate) fn known(&self) -> Option<Option<&'static str>> {
        match self.verdict.load(Ordering::Relaxed) {
            0 => None,
            1 => Some(None),
            n => Some(Some(
                CODE_REASONS
                    .get(usize::from(n - 2))
                    .copied()
                    .unwrap_or(UNKNOWN),
            )),
        }
    }

    /// Why the code rules snapshots out, if it does: read now if it was not yet (two threads
    /// asking at once may both read it, and agree).
    pub(crate) fn verdict(&self) -> Option<&'static str> {
        if let Some(known) = self.known() {
            return known;
        }
        #[cfg(feature = "std")]
        if let Some((bytes, range)) = &self.code {
            self.settle(bytes.get(range.clone()).unwrap_or_default());
        }
        self.known().unwrap_or(Some(UNKNOWN))
    }

    fn settle(&self, code: &[u8]) {
        let verdict = match changes_tables_or_segments(code) {
            Ok(()) => 1,
            Err(reason) => 2 + reason as u8,
        };
        self.verdict.store(verdict, Ordering::Relaxed);
    }
}

/// A verdict that cannot be (the code was never read).
const UNKNOWN: &str = "its code was not read";

/// Checks `bytes`, moves a start function to [`START_EXPORT`] and exports what a snapshot
/// reads; the error is the reason the module is refused.
pub(crate) fn prepare(bytes: &[u8]) -> Result<Prepared<'_>, String> {
    let Some(sections) = sections(bytes) else {
        return Ok(Prepared {
            bytes: Cow::Borrowed(bytes),
            no_snapshot: Some("it is not a well-formed module"),
            code: None,
        });
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
            SECTION_EXPORT => check_exports(s.payload)?,
            SECTION_START => start = Some(*s),
            _ => {}
        }
    }
    let mut added = Exports::default();
    // A malformed start section is left for wasmi to reject.
    let start = start.and_then(|start| leb_u32(start.payload));
    if let Some((func, _)) = start {
        added.push(START_EXPORT, KIND_FUNC, func);
    }
    let (no_snapshot, code) = match snapshot_exports(&sections, &mut added) {
        Ok(code) => (None, code),
        Err(why) => {
            // No snapshot: the exports made for one are not needed.
            added = Exports::default();
            if let Some((func, _)) = start {
                added.push(START_EXPORT, KIND_FUNC, func);
            }
            (Some(why), None)
        }
    };
    let bytes = if added.count == 0 {
        Cow::Borrowed(bytes)
    } else {
        Cow::Owned(rewrite(bytes, &sections, &added))
    };
    Ok(Prepared {
        bytes,
        no_snapshot,
        code,
    })
}

const KIND_FUNC: u8 = 0x00;
const KIND_MEMORY: u8 = 0x02;
const KIND_GLOBAL: u8 = 0x03;

/// Export entries to add, encoded.
#[derive(Default)]
struct Exports {
    count: u32,
    encoded: Vec<u8>,
}

impl Exports {
    fn push(&mut self, name: &str, kind: u8, index: u32) {
        leb_write(&mut self.encoded, name.len() as u64);
        self.encoded.extend_from_slice(name.as_bytes());
        self.encoded.push(kind);
        leb_write(&mut self.encoded, u64::from(index));
        self.count += 1;
    }
}

/// Adds to `added` the exports a snapshot needs (every defined mutable global; the memory if
/// the module does not export it), or says why an instance of this module cannot be restored
/// from a snapshot. Malformed sections are reasons too (wasmi then refuses the module anyway).
/// The range is where the code section's payload is, when the code must be read too (see
/// [`CodeCheck`]).
fn snapshot_exports(
    sections: &[Section<'_>],
    added: &mut Exports,
) -> Result<Option<Range<usize>>, &'static str> {
    const MALFORMED: &str = "a section of it could not be read";
    let section = |id: u8| sections.iter().find(|s| s.id == id);
    fn reader<'a>(s: &Section<'a>) -> wasmparser::BinaryReader<'a> {
        wasmparser::BinaryReader::new(s.payload, 0)
    }

    let (mut imported_globals, mut imported_memories, mut has_table) = (0u32, 0u32, false);
    if let Some(s) = section(SECTION_IMPORT) {
        let imports = wasmparser::ImportSectionReader::new(reader(s)).map_err(|_| MALFORMED)?;
        for import in imports {
            match import.map_err(|_| MALFORMED)?.ty {
                wasmparser::TypeRef::Global(_) => imported_globals += 1,
                wasmparser::TypeRef::Memory(_) => imported_memories += 1,
                wasmparser::TypeRef::Table(_) => has_table = true,
                _ => {}
            }
        }
    }
    if imported_memories > 0 {
        return Err("it imports its memory");
    }
    has_table |= section(SECTION_TABLE).is_some_and(|s| !s.payload.starts_with(&[0]));

    // Tables hold what instantiation put there unless the code changes them; a dropped data
    // segment cannot be dropped again from outside. Neither can be in a module without tables
    // and without a data count section (which `data.drop` needs), so only those are read.
    let code = match section(SECTION_CODE) {
        Some(code) if has_table || section(SECTION_DATA_COUNT).is_some() => {
            Some(code.from..code.from + code.payload.len())
        }
        _ => None,
    };

    if let Some(s) = section(SECTION_GLOBAL) {
        let globals = wasmparser::GlobalSectionReader::new(reader(s)).map_err(|_| MALFORMED)?;
        for (i, global) in globals.into_iter().enumerate() {
            let ty = global.map_err(|_| MALFORMED)?.ty;
            if !ty.mutable {
                continue;
            }
            if !matches!(
                ty.content_type,
                wasmparser::ValType::I32
                    | wasmparser::ValType::I64
                    | wasmparser::ValType::F32
                    | wasmparser::ValType::F64
                    | wasmparser::ValType::V128
            ) {
                return Err("a mutable global of it holds a reference");
            }
            let index = u32::try_from(i)
                .ok()
                .and_then(|i| i.checked_add(imported_globals))
                .ok_or(MALFORMED)?;
            added.push(
                &format!("{GLOBAL_EXPORT_PREFIX}{index}"),
                KIND_GLOBAL,
                index,
            );
        }
    }

    let defines_memory = section(SECTION_MEMORY).is_some_and(|s| !s.payload.starts_with(&[0]));
    if defines_memory {
        let mut exported = false;
        if let Some(s) = section(SECTION_EXPORT) {
            let exports = wasmparser::ExportSectionReader::new(reader(s)).map_err(|_| MALFORMED)?;
            for export in exports {
                exported |= export.map_err(|_| MALFORMED)?.kind == wasmparser::ExternalKind::Memory;
            }
        }
        if !exported {
            added.push(MEMORY_EXPORT, KIND_MEMORY, 0);
        }
    }
    Ok(code)
}

/// Fails if some function of the code section changes a table (`table.set`, `table.grow`,
/// `table.fill`, `table.copy`, `table.init`, `elem.drop`) or drops a data segment; the error is
/// the reason's index in [`CODE_REASONS`]. It reads every operator: some milliseconds for the
/// megabyte of code of a Go plugin.
fn changes_tables_or_segments(code: &[u8]) -> Result<(), usize> {
    use wasmparser::Operator as Op;
    let (tables, data, unreadable) = (0, 1, 2);
    let Ok(bodies) = wasmparser::CodeSectionReader::new(wasmparser::BinaryReader::new(code, 0))
    else {
        return Err(unreadable);
    };
    for body in bodies {
        let Ok(mut ops) = body.and_then(|body| body.get_operators_reader()) else {
            return Err(unreadable);
        };
        // Written plainly (no `map_err`, no `?`): in a debug build each of them moves the
        // operator again, and this loop runs once per operator.
        while !ops.eof() {
            match ops.read() {
                Ok(
                    Op::TableSet { .. }
                    | Op::TableGrow { .. }
                    | Op::TableFill { .. }
                    | Op::TableCopy { .. }
                    | Op::TableInit { .. }
                    | Op::ElemDrop { .. },
                ) => return Err(tables),
                Ok(Op::DataDrop { .. }) => return Err(data),
                Ok(_) => {}
                Err(_) => return Err(unreadable),
            }
        }
    }
    Ok(())
}

/// One section: its id, where it starts (header included) and ends, and its payload.
#[derive(Clone, Copy)]
struct Section<'a> {
    id: u8,
    start: usize,
    end: usize,
    /// Where the payload starts.
    from: usize,
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
            from,
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

/// Refuses exports named like the ones this module adds ([`INTERNAL_PREFIX`]): the host would
/// take them for its own (run one as the start function, set one as a global of a snapshot).
fn check_exports(payload: &[u8]) -> Result<(), String> {
    let reader = wasmparser::ExportSectionReader::new(wasmparser::BinaryReader::new(payload, 0));
    let Ok(reader) = reader else {
        return Ok(()); // malformed: wasmi says why
    };
    for export in reader {
        let Ok(export) = export else {
            return Ok(());
        };
        if is_internal(export.name) {
            return Err(format!(
                "it exports {:?}, a name reserved for the host",
                export.name
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

/// Where a section goes in a module: its place in the spec's order of the non-custom sections
/// (`None` for custom sections, which may go anywhere).
fn rank(id: u8) -> Option<usize> {
    // type, import, function, table, memory, tag, global, export, start, element, data
    // count, code, data.
    const ORDER: [u8; 13] = [1, 2, 3, 4, 5, 13, 6, 7, 8, 9, 12, 10, 11];
    ORDER.iter().position(|o| *o == id)
}

/// The module without its start section, and with `added` appended to its export section (or
/// to a new one, in its place in the section order).
fn rewrite(bytes: &[u8], sections: &[Section<'_>], added: &Exports) -> Vec<u8> {
    let new_section = |out: &mut Vec<u8>| {
        let mut payload = Vec::with_capacity(added.encoded.len() + 5);
        leb_write(&mut payload, u64::from(added.count));
        payload.extend_from_slice(&added.encoded);
        write_section(out, SECTION_EXPORT, &payload);
    };
    let mut out = Vec::with_capacity(bytes.len() + added.encoded.len() + 16);
    out.extend_from_slice(bytes.get(..8).unwrap_or_default());
    let export_rank = rank(SECTION_EXPORT);
    let mut exports_written = false;
    for s in sections {
        match s.id {
            SECTION_EXPORT => {
                let (count, used) = leb_u32(s.payload).unwrap_or((0, s.payload.len()));
                let mut payload = Vec::with_capacity(s.payload.len() + added.encoded.len() + 5);
                leb_write(&mut payload, u64::from(count) + u64::from(added.count));
                payload.extend_from_slice(s.payload.get(used..).unwrap_or_default());
                payload.extend_from_slice(&added.encoded);
                write_section(&mut out, SECTION_EXPORT, &payload);
                exports_written = true;
                continue;
            }
            // The first section that goes after the export section, in a module without one.
            id if !exports_written && rank(id) > export_rank => {
                new_section(&mut out);
                exports_written = true;
            }
            _ => {}
        }
        if s.id != SECTION_START {
            out.extend_from_slice(bytes.get(s.start..s.end).unwrap_or_default());
        }
    }
    if !exports_written {
        new_section(&mut out);
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
    use alloc::sync::Arc;

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
            let prepared = prepare(&wasm).expect("accepted").bytes;
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
    fn modules_without_start_or_state_are_not_copied() {
        for src in [
            r#"(module (func (export "f")))"#,
            r#"(module (memory (export "mem") 1) (global i32 (i32.const 1)))"#,
        ] {
            let wasm = wat::parse_str(src).expect("wat");
            let prepared = prepare(&wasm).expect("ok");
            assert!(matches!(prepared.bytes, Cow::Borrowed(_)), "{src}");
            assert_eq!(prepared.no_snapshot, None, "{src}");
        }
        assert!(matches!(
            prepare(b"not wasm").expect("left to wasmi").bytes,
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn mutable_globals_and_an_unexported_memory_are_exported() {
        // Every section kind around the export section, so the new one lands in order.
        let src = r#"(module
            (import "m" "g" (global $imported i32))
            (type (func))
            (func $s)
            (table 1 funcref)
            (memory 1)
            (global $a (mut i32) (i32.const 1))
            (global $b i64 (i64.const 2))
            (global $c (mut f64) (f64.const 3))
            (start $s)
            (elem (i32.const 0) $s)
            (data (i32.const 0) "x"))"#;
        let wasm = wat::parse_str(src).expect("wat");
        let prepared = prepare(&wasm).expect("accepted");
        assert_eq!(prepared.no_snapshot, None);
        let mut names = exports(&prepared.bytes);
        names.sort();
        assert_eq!(
            names,
            [
                "\u{0}xxplugin-global-1",
                "\u{0}xxplugin-global-3",
                MEMORY_EXPORT,
                START_EXPORT
            ]
        );
        assert!(names.iter().all(|n| is_internal(n)));
        // The memory exported under its own name is not exported again; an export section
        // that is there gets the globals appended.
        let src = r#"(module (memory (export "mem") 1) (global (export "g") (mut i32) (i32.const 0))
            (func (export "f")))"#;
        let mut names = exports(
            &prepare(&wat::parse_str(src).expect("wat"))
                .expect("ok")
                .bytes,
        );
        names.sort();
        assert_eq!(names, ["\u{0}xxplugin-global-0", "f", "g", "mem"]);
    }

    #[test]
    fn code_that_changes_tables_or_drops_data_rules_out_snapshots() {
        let reason = |src: &str| {
            let wasm: Arc<[u8]> = Arc::from(wat::parse_str(src).expect("wat"));
            let prepared = prepare(&wasm).expect("accepted");
            if let Some(why) = prepared.no_snapshot {
                // No exports are added for a snapshot that will not be taken.
                assert!(matches!(prepared.bytes, Cow::Borrowed(_)), "{src}");
                return why;
            }
            let check = CodeCheck::later(&wasm, prepared.code);
            assert_eq!(check.known(), None, "read when first asked");
            let verdict = check.verdict();
            assert_eq!(check.known(), Some(verdict));
            verdict.unwrap_or_default()
        };
        let table = |body: &str| {
            format!(
                r#"(module (table 2 funcref) (elem func $f) (global (mut i32) (i32.const 0))
                    (func $f {body}))"#
            )
        };
        for op in [
            "(table.set (i32.const 0) (ref.null func))",
            "(drop (table.grow (ref.null func) (i32.const 1)))",
            "(table.fill (i32.const 0) (ref.null func) (i32.const 1))",
            "(table.copy (i32.const 0) (i32.const 1) (i32.const 1))",
            "(table.init 0 (i32.const 0) (i32.const 0) (i32.const 1))",
            "(elem.drop 0)",
        ] {
            assert!(reason(&table(op)).contains("changes tables"), "{op}");
        }
        assert_eq!(reason(&table("(drop (table.size))")), "");
        let data = r#"(module (memory 1) (global (mut i32) (i32.const 0)) (data "x")
            (func (data.drop 0)))"#;
        assert!(reason(data).contains("data.drop"));
        // No table and no data count section: the code is not even read.
        let plain = "(module (memory 1) (func (drop (memory.grow (i32.const 1)))))";
        let plain = wat::parse_str(plain).expect("wat");
        assert_eq!(prepare(&plain).expect("accepted").code, None);
        let reference = "(module (global (mut funcref) (ref.null func)))";
        assert!(reason(reference).contains("reference"));
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
    fn reserved_export_names_are_refused() {
        let wasm = wat::parse_str(r#"(module (func (export "\00xxplugin-start")))"#).expect("wat");
        let err = prepare(&wasm).expect_err("refused");
        assert!(err.contains("a name reserved for the host"), "{err}");
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
