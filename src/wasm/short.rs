//! Which exported functions end within one fuel slice, whatever their arguments: read from
//! the code once per compiled module.
//!
//! Metered calls run in slices of fuel through wasmi's resumable calls (see `limits`), and
//! a resumable call costs some nanoseconds more than a plain one (wasmi clones its engine
//! handle for it) even when it finishes within its first slice. A call that *cannot* need a
//! second slice pauses for nothing: no deadline or cancellation check (those happen between
//! slices), and no native stack to give back (at most a handful of grows fit in a slice). It
//! runs as a plain wasmi call with the same slice of fuel, and behaves exactly as the sliced
//! call would: the same fuel is charged, and running out of a fuel budget ends it the same way.
//!
//! A function is short when every run of it costs at most [`SLICE`] fuel, counting each
//! operator as wasmi's most expensive ordinary one (1 unit) and each grow at what the engine
//! charges for it (255), callees included: so its code has no loop, calls no import (host
//! work charges fuel of its own and may wait), calls nothing indirectly, recurses nowhere,
//! and moves no bytes in bulk (those are charged by the byte). Branches without a loop only
//! go forward, so no operator runs twice in one run of a function.
//!
//! [`SLICE`]: super::limits::SLICE

use alloc::string::String;
use alloc::vec::Vec;

use wasmparser::{ExternalKind, FunctionBody, Operator as Op, Parser, Payload, TypeRef};

use super::limits::SLICE;

/// The most operators read for one module: reading stops there (what is left undecided is
/// not short), so a large module costs a bounded moment at its first load.
const MAX_READ: usize = 200_000;

/// The deepest chain of calls followed; a deeper one is not short (and the host's own stack
/// stays small).
const MAX_DEPTH: usize = 64;

/// What the engine charges for a `memory.grow` or a `table.grow` (see `engine`).
pub(crate) const GROW_COST: u64 = u8::MAX as u64;

/// The exports of `bytes` among `wanted` that are short (see the module docs). Bytes that do
/// not read as a module make nothing short.
pub(crate) fn short_exports(bytes: &[u8], wanted: impl Fn(&str) -> bool) -> Vec<String> {
    let Some(code) = Code::read(bytes) else {
        return Vec::new();
    };
    let mut walk = Walk {
        code: &code,
        known: alloc::vec![Known::Unread; code.bodies.len()],
        read: 0,
    };
    let mut short = Vec::new();
    for (name, index) in &code.exports {
        if wanted(name) && walk.cost(*index, 0).is_some() {
            short.push(String::from(*name));
        }
    }
    short
}

/// The parts of a module the walk needs.
struct Code<'a> {
    /// How many functions are imported: their indices come first.
    imported: u32,
    /// Exported functions: name and function index.
    exports: Vec<(&'a str, u32)>,
    /// The bodies of the functions the module defines.
    bodies: Vec<FunctionBody<'a>>,
}

impl<'a> Code<'a> {
    fn read(bytes: &'a [u8]) -> Option<Self> {
        let mut code = Code {
            imported: 0,
            exports: Vec::new(),
            bodies: Vec::new(),
        };
        for payload in Parser::new(0).parse_all(bytes) {
            match payload.ok()? {
                Payload::ImportSection(imports) => {
                    for import in imports {
                        if let TypeRef::Func(_) = import.ok()?.ty {
                            code.imported = code.imported.checked_add(1)?;
                        }
                    }
                }
                Payload::ExportSection(exports) => {
                    for export in exports {
                        let export = export.ok()?;
                        if export.kind == ExternalKind::Func {
                            code.exports.push((export.name, export.index));
                        }
                    }
                }
                Payload::CodeSectionEntry(body) => code.bodies.push(body),
                _ => {}
            }
        }
        Some(code)
    }
}

/// What is known of one defined function.
#[derive(Clone, Copy)]
enum Known {
    Unread,
    /// Being read: a call back to it is recursion.
    Reading,
    /// Every run costs at most this.
    Short(u64),
    Long,
}

struct Walk<'c, 'a> {
    code: &'c Code<'a>,
    known: Vec<Known>,
    /// Operators read so far.
    read: usize,
}

impl Walk<'_, '_> {
    /// The most a run of function `index` costs, if it is short.
    fn cost(&mut self, index: u32, depth: usize) -> Option<u64> {
        let defined = usize::try_from(index.checked_sub(self.code.imported)?).ok()?;
        match self.known.get(defined).copied()? {
            Known::Short(cost) => return Some(cost),
            Known::Reading | Known::Long => return None,
            Known::Unread => {}
        }
        if depth > MAX_DEPTH {
            return None;
        }
        if let Some(slot) = self.known.get_mut(defined) {
            *slot = Known::Reading;
        }
        let cost = self.read_body(defined, depth);
        if let Some(slot) = self.known.get_mut(defined) {
            *slot = cost.map_or(Known::Long, Known::Short);
        }
        cost
    }

    fn read_body(&mut self, defined: usize, depth: usize) -> Option<u64> {
        let body = self.code.bodies.get(defined)?;
        let mut ops = body.get_operators_reader().ok()?;
        let mut total: u64 = 0;
        while !ops.eof() {
            self.read += 1;
            if self.read > MAX_READ {
                return None;
            }
            let cost = match ops.read().ok()? {
                Op::Loop { .. }
                | Op::CallIndirect { .. }
                | Op::ReturnCallIndirect { .. }
                | Op::CallRef { .. }
                | Op::ReturnCallRef { .. }
                | Op::MemoryFill { .. }
                | Op::MemoryCopy { .. }
                | Op::MemoryInit { .. }
                | Op::TableFill { .. }
                | Op::TableCopy { .. }
                | Op::TableInit { .. } => return None,
                Op::Call { function_index } | Op::ReturnCall { function_index } => {
                    1 + self.cost(function_index, depth + 1)?
                }
                Op::MemoryGrow { .. } | Op::TableGrow { .. } => GROW_COST,
                _ => 1,
            };
            total += cost;
            if total > SLICE {
                return None;
            }
        }
        Some(total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;

    fn short(wat: &str) -> Vec<String> {
        let bytes = wat::parse_str(wat).expect("wat");
        short_exports(&bytes, |_| true)
    }

    #[test]
    fn straight_code_and_its_callees_are_short() {
        let found = short(
            r#"(module
                (func $helper (param i64) (result i64) local.get 0 i64.const 1 i64.add)
                (func (export "add") (param i64 i64) (result i64)
                    local.get 0 local.get 1 i64.add call $helper)
                (func (export "branchy") (param i32) (result i32)
                    (if (result i32) (local.get 0) (then i32.const 1) (else i32.const 2)))
                (func (export "grows") (result i32) i32.const 1 memory.grow)
                (memory 1))"#,
        );
        assert_eq!(found, ["add", "branchy", "grows"]);
    }

    #[test]
    fn what_can_run_long_is_not_short() {
        let found = short(
            r#"(module
                (import "env" "host" (func $host))
                (table 1 funcref)
                (memory 1)
                (func $self (export "recursive") call $self)
                (func $a (export "mutual") call $b)
                (func $b call $a)
                (func (export "tail") return_call $self)
                (func (export "loops") (loop br 0))
                (func (export "imports") call $host)
                (func (export "indirect") i32.const 0 call_indirect)
                (func (export "fills") i32.const 0 i32.const 0 i32.const 65536 memory.fill)
                (func (export "copies") i32.const 0 i32.const 0 i32.const 1 memory.copy)
                (func $deep (export "loops_below") call $looping)
                (func $looping (loop br 0)))"#,
        );
        assert!(found.is_empty(), "{found:?}");
    }

    #[test]
    fn code_that_costs_more_than_a_slice_is_not_short() {
        // Straight code of just under and just over one slice: nops count one each.
        let body = |n: u64| "nop ".repeat(usize::try_from(n).expect("small"));
        let found = short(&format!(
            r#"(module
                (func (export "fits") {})
                (func (export "over") {})
                (func $half {})
                (func (export "twice") call $half call $half)
                (memory 1)
                (func (export "grows_a_lot") {}))"#,
            body(SLICE - 1),
            body(SLICE + 1),
            body(SLICE / 2),
            "i32.const 1 memory.grow drop ".repeat(50),
        ));
        assert_eq!(found, ["fits"]);
    }

    #[test]
    fn only_wanted_exports_are_read() {
        let bytes =
            wat::parse_str(r#"(module (func (export "a")) (func (export "b")))"#).expect("wat");
        assert_eq!(short_exports(&bytes, |name| name == "b"), ["b"]);
        assert!(short_exports(b"not wasm", |_| true).is_empty());
    }
}
