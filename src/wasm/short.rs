//! Which exported functions end within one fuel slice, whatever their arguments: read from
//! a module's code the first time a metered call of each asks.
//!
//! Metered calls run in slices of fuel through wasmi's resumable calls (see `limits`), and
//! a resumable call costs some nanoseconds more than a plain one (wasmi clones its engine
//! handle for it) even when it finishes within its first slice. A call that *cannot* need a
//! second slice pauses for nothing: no deadline or cancellation check (those happen between
//! slices), and no native stack to give back (at most a handful of grows fit in a slice). It
//! runs as a plain wasmi call with the same slice of fuel, and behaves exactly as the sliced
//! call would: the same fuel is charged, and running out of a fuel budget ends it the same way.
//!
//! A function is short when every run of it costs at most [`MAX_COST`] fuel (a hundredth of
//! a [`SLICE`]), counting each operator as wasmi's most expensive ordinary one (1 unit) and
//! each grow at what the engine charges for it (255), callees included: so its code has no
//! loop, calls no import (host work charges fuel of its own and may wait), calls nothing
//! indirectly, recurses nowhere, and moves no bytes in bulk (those are charged by the byte).
//! Branches without a loop only go forward, so no operator runs twice in one run of a
//! function.
//!
//! A function that is not short may still be *pure*: no run of it changes anything outside
//! its own frame (its code stores nothing, sets no global, grows nothing, calls no import and
//! nothing indirectly, and recurses nowhere; callees included). A run of a pure function that
//! is cut short leaves nothing behind, so it can be run again from the start. Its metered
//! calls try a plain call with one slice of fuel first, and only if that runs out run it
//! again in slices (and remember, for that instance, to slice it from then on): a loop that
//! ends within its first slice pays no resumable call. Whether an operator is pure is decided
//! by what it is (see [`effect`]): only the operators of the first WebAssembly version and of
//! the sign-extension and saturating-conversion proposals can be; anything else, including
//! operators this reader does not know, is not.
//!
//! Reading is lazy ([`Oracle`]): reading all of a module's small exports costs a first load
//! some percent, and most plugins call few of their functions.
//!
//! [`SLICE`]: super::limits::SLICE

use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::ops::Range;

use wasmparser::{
    BinaryReader, ExternalKind, FunctionBody, Operator as Op, OperatorsReader, Parser, Payload,
    TypeRef,
};

/// The most fuel a short function may cost: far below a slice (`limits` checks that). A call that may run longer
/// takes a microsecond or more, beside which the resumable call's nanoseconds do not count;
/// so reading stops early.
pub(crate) const MAX_COST: u64 = 1_000;

/// Bodies larger than this (in bytes) are not read: they are not short, or hardly gain.
const MAX_BODY: usize = 4 * 1024;

/// The most operators read for one question: reading stops there (the function is then
/// not short), so no question costs more than a moment.
const MAX_READ: usize = 20_000;

/// The deepest chain of calls followed; a deeper one is not short (and the host's own stack
/// stays small).
const MAX_DEPTH: usize = 64;

/// What the engine charges for a `memory.grow` or a `table.grow` (see `engine`).
pub(crate) const GROW_COST: u64 = u8::MAX as u64;

/// Whether the exports of one module are short, each read when first asked (by the first
/// metered call of it), and remembered for every instance of the module.
pub(crate) struct Oracle {
    bytes: Arc<[u8]>,
    /// The module's functions, indexed when first asked; `None` inside until then, and
    /// `Err` if the bytes do not read as a module (nothing is short then).
    code: spin::Mutex<Option<Result<Code, ()>>>,
}

impl Oracle {
    /// The oracle of the module in `bytes`; nothing is read yet.
    pub(crate) fn new(bytes: Arc<[u8]>) -> Self {
        Self {
            bytes,
            code: spin::Mutex::new(None),
        }
    }

    /// Whether the exported function `export` is short ([`Short::Yes`]), else pure, else
    /// neither ([`Short::No`]) (see the module docs); `None` when another thread is reading
    /// the module just now (nobody waits for that: the caller takes the sliced path this
    /// time, and asks again next time). An export that is not there, or not a function, is
    /// neither.
    pub(crate) fn judge(&self, export: &str) -> Option<Short> {
        let mut code = self.code.try_lock()?;
        let Ok(code) = code.get_or_insert_with(|| Code::read(&self.bytes).ok_or(())) else {
            return Some(Short::No);
        };
        let Ok(at) = code
            .exports
            .binary_search_by(|(name, _)| name.as_str().cmp(export))
        else {
            return Some(Short::No);
        };
        let Some(&(_, index)) = code.exports.get(at) else {
            return Some(Short::No);
        };
        let mut walk = Walk {
            bytes: &self.bytes,
            code,
            read: 0,
        };
        if walk.cost(index, 0).is_some() {
            return Some(Short::Yes);
        }
        walk.read = 0;
        Some(match walk.pure(index, 0) {
            true => Short::Pure,
            false => Short::No,
        })
    }
}

/// How a typed call's function is metered (see the module docs). Asked of the module at the first
/// metered call on each instance.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Short {
    Unknown,
    /// Every run ends within one slice: a plain wasmi call with that slice.
    Yes,
    /// In slices, through wasmi's resumable calls.
    No,
    /// Pure: a plain call with one slice first, and in slices (from the start, and for every
    /// call after) only if that ran out.
    Pure,
}

/// The parts of a module the walk needs, and what it found so far.
struct Code {
    /// How many functions are imported: their indices come first.
    imported: u32,
    /// Exported functions: name and function index, by name.
    exports: Vec<(String, u32)>,
    /// Where the body of each function the module defines is in its bytes.
    bodies: Vec<Range<usize>>,
    /// What is known of each defined function.
    known: Vec<Known>,
    /// Whether each defined function is pure, as far as read.
    pure: Vec<Purity>,
}

impl Code {
    fn read(bytes: &[u8]) -> Option<Self> {
        let mut code = Code {
            imported: 0,
            exports: Vec::new(),
            bodies: Vec::new(),
            known: Vec::new(),
            pure: Vec::new(),
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
                            code.exports.push((String::from(export.name), export.index));
                        }
                    }
                }
                Payload::CodeSectionEntry(body) => code.bodies.push(body.range()),
                _ => {}
            }
        }
        code.exports.sort_unstable();
        code.known = alloc::vec![Known::Unread; code.bodies.len()];
        code.pure = alloc::vec![Purity::Unread; code.bodies.len()];
        Some(code)
    }
}

/// What is known of one defined function's cost.
#[derive(Clone, Copy)]
enum Known {
    Unread,
    /// Being read: a call back to it is recursion.
    Reading,
    /// Every run costs at most this.
    Short(u64),
    Long,
}

/// What is known of whether one defined function is pure.
#[derive(Clone, Copy)]
enum Purity {
    Unread,
    /// Being read: a call back to it is recursion, which is not pure.
    Reading,
    Pure,
    Impure,
}

struct Walk<'a> {
    bytes: &'a [u8],
    code: &'a mut Code,
    /// Operators read for this question.
    read: usize,
}

impl<'a> Walk<'a> {
    /// The most a run of function `index` costs, if it is short.
    fn cost(&mut self, index: u32, depth: usize) -> Option<u64> {
        let defined = self.defined(index)?;
        match self.code.known.get(defined).copied()? {
            Known::Short(cost) => return Some(cost),
            Known::Reading | Known::Long => return None,
            Known::Unread => {}
        }
        if depth > MAX_DEPTH {
            return None;
        }
        self.set(defined, Known::Reading);
        let cost = self.read_body(defined, depth);
        match cost {
            Some(cost) => self.set(defined, Known::Short(cost)),
            // Out of reading budget: undecided, so asked again next time.
            None if self.read > MAX_READ => self.set(defined, Known::Unread),
            None => self.set(defined, Known::Long),
        }
        cost
    }

    fn set(&mut self, defined: usize, known: Known) {
        if let Some(slot) = self.code.known.get_mut(defined) {
            *slot = known;
        }
    }

    /// The index among defined functions of function `index`, if the module defines it.
    fn defined(&self, index: u32) -> Option<usize> {
        usize::try_from(index.checked_sub(self.code.imported)?).ok()
    }

    /// The operators of defined function `defined`, unless its body is larger than
    /// [`MAX_BODY`] (or does not read).
    fn operators(&self, defined: usize) -> Option<OperatorsReader<'a>> {
        let range = self.code.bodies.get(defined)?.clone();
        if range.len() > MAX_BODY {
            return None;
        }
        let bytes = self.bytes.get(range.clone())?;
        FunctionBody::new(BinaryReader::new(bytes, range.start))
            .get_operators_reader()
            .ok()
    }

    /// Counts one more operator read for this question; `false` past [`MAX_READ`].
    fn may_read(&mut self) -> bool {
        self.read += 1;
        self.read <= MAX_READ
    }

    /// Whether function `index` is pure (see the module docs). Recursion is not: a function
    /// is only known pure once all its callees are.
    fn pure(&mut self, index: u32, depth: usize) -> bool {
        let Some(defined) = self.defined(index) else {
            return false;
        };
        match self.code.pure.get(defined).copied() {
            Some(Purity::Pure) => return true,
            Some(Purity::Unread) => {}
            Some(Purity::Reading | Purity::Impure) | None => return false,
        }
        if depth > MAX_DEPTH {
            return false;
        }
        self.set_pure(defined, Purity::Reading);
        let pure = self.read_pure(defined, depth);
        self.set_pure(
            defined,
            match pure {
                Some(true) => Purity::Pure,
                Some(false) => Purity::Impure,
                // Out of reading budget: undecided, so asked again next time.
                None => Purity::Unread,
            },
        );
        pure == Some(true)
    }

    fn set_pure(&mut self, defined: usize, purity: Purity) {
        if let Some(slot) = self.code.pure.get_mut(defined) {
            *slot = purity;
        }
    }

    /// Reads the body of defined function `defined` for purity: its own operators first,
    /// then its callees. `None` when the reading budget ran out.
    fn read_pure(&mut self, defined: usize, depth: usize) -> Option<bool> {
        let Some(mut ops) = self.operators(defined) else {
            return Some(false);
        };
        let mut callees = Vec::new();
        while !ops.eof() {
            if !self.may_read() {
                return None;
            }
            let Ok(op) = ops.read() else {
                return Some(false);
            };
            match effect(&op) {
                Effect::None => {}
                Effect::Calls(callee) if callee >= self.code.imported => callees.push(callee),
                Effect::Calls(_) | Effect::Some => return Some(false),
            }
        }
        for callee in callees {
            if !self.pure(callee, depth + 1) {
                // A callee that was not decided (out of budget) leaves this one undecided.
                return match self.read > MAX_READ {
                    true => None,
                    false => Some(false),
                };
            }
        }
        Some(true)
    }

    /// Reads the body of defined function `defined`: its own operators first, so that one
    /// that can run long ends the reading before any callee is read, then its callees.
    fn read_body(&mut self, defined: usize, depth: usize) -> Option<u64> {
        let mut ops = self.operators(defined)?;
        let mut total: u64 = 0;
        let mut callees = Vec::new();
        while !ops.eof() {
            if !self.may_read() {
                return None;
            }
            total += match ops.read().ok()? {
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
                    if function_index < self.code.imported {
                        return None;
                    }
                    callees.push(function_index);
                    1
                }
                Op::MemoryGrow { .. } | Op::TableGrow { .. } => GROW_COST,
                _ => 1,
            };
            if total > MAX_COST {
                return None;
            }
        }
        for callee in callees {
            total += self.cost(callee, depth + 1)?;
            if total > MAX_COST {
                return None;
            }
        }
        Some(total)
    }
}

/// What running an operator may do beyond its own frame (locals and operand stack).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Effect {
    /// Nothing: it computes, reads memory or a global, branches, or traps.
    None,
    /// It calls function `index`: it does what that does.
    Calls(u32),
    /// It may change memory, a global or a table, or call what is not known here; also any
    /// operator not of the first WebAssembly version or of the sign-extension and saturating
    /// conversion proposals (whatever is not known to be pure is not).
    Some,
}

/// What operator `op` may do (see [`Effect`]). Of the first version's operators, those that
/// are not control, locals or globals are classed by their kind, as wasmparser lists them:
/// loads, constants, tests, comparisons, unary and binary operators and conversions have no
/// effect; stores have.
#[allow(unreachable_patterns)] // The effectful ones are matched first, on purpose.
fn effect(op: &Op) -> Effect {
    macro_rules! classify {
        ($( @$proposal:ident $op:ident $({ $($arg:ident: $argty:ty),* })? => $visit:ident ($($ann:tt)*))*) => {
            match op {
                Op::Call { function_index } | Op::ReturnCall { function_index } => {
                    Effect::Calls(*function_index)
                }
                Op::CallIndirect { .. } | Op::GlobalSet { .. } | Op::MemoryGrow { .. } => {
                    Effect::Some
                }
                $( Op::$op { .. } => classify!(one @$proposal ($($ann)*)), )*
                _ => Effect::Some,
            }
        };
        (one @mvp (store $($rest:tt)*)) => { Effect::Some };
        // What is left of the first version's control, local and global operators
        // (block, loop, if, br, return, drop, select, local.*, global.get, memory.size):
        // the effectful ones (calls, global.set, memory.grow) are matched first.
        (one @mvp (arity $($rest:tt)*)) => { Effect::None };
        (one @mvp ($($rest:tt)*)) => { Effect::None };
        (one @sign_extension ($($rest:tt)*)) => { Effect::None };
        (one @saturating_float_to_int ($($rest:tt)*)) => { Effect::None };
        (one @$proposal:ident ($($rest:tt)*)) => { Effect::Some };
    }
    wasmparser::for_each_operator!(classify)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;

    /// The short exports of a module, in the order they are asked.
    fn short_exports(bytes: &[u8]) -> Vec<String> {
        let oracle = Oracle::new(Arc::from(bytes));
        let names = Code::read(bytes)
            .map(|code| code.exports.into_iter().map(|(name, _)| name))
            .into_iter()
            .flatten();
        names
            .filter(|name| oracle.judge(name) == Some(Short::Yes))
            .collect()
    }

    /// The pure exports of a module (not short, but pure).
    fn pure(wat: &str) -> Vec<String> {
        let bytes = wat::parse_str(wat).expect("wat");
        let oracle = Oracle::new(Arc::from(&bytes[..]));
        let names = Code::read(&bytes)
            .map(|code| code.exports.into_iter().map(|(name, _)| name))
            .into_iter()
            .flatten();
        names
            .filter(|name| oracle.judge(name) == Some(Short::Pure))
            .collect()
    }

    fn short(wat: &str) -> Vec<String> {
        short_exports(&wat::parse_str(wat).expect("wat"))
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
    fn loops_that_only_compute_and_read_are_pure() {
        let found = pure(
            r#"(module
                (memory 1)
                (global $g (mut i32) (i32.const 0))
                (func $sq (param i64) (result i64) local.get 0 local.get 0 i64.mul)
                (func (export "sum") (param i64) (result i64) (local i64)
                    (loop
                        local.get 1 local.get 0 call $sq i64.add local.set 1
                        local.get 0 i64.const 1 i64.sub local.tee 0
                        i64.eqz br_if 1 br 0)
                    local.get 1)
                (func (export "reads") (param i32) (result i32)
                    (loop (result i32)
                        local.get 0 i32.load8_u global.get $g i32.add memory.size i32.add
                        i32.extend8_s local.tee 0 br_if 0 local.get 0))
                (func (export "spins") (loop br 0))
                (func (export "tail") (param i64) (result i64)
                    (loop local.get 0 br_if 0) local.get 0 return_call $sq))"#,
        );
        assert_eq!(found, ["reads", "spins", "sum", "tail"]);
    }

    #[test]
    fn what_leaves_something_behind_is_not_pure() {
        // Each loops (so it is not short), and each does one thing a rerun would repeat.
        let found = pure(
            r#"(module
                (import "env" "host" (func $host))
                (table 1 funcref)
                (memory 1)
                (global $g (mut i32) (i32.const 0))
                (func $stores i32.const 0 i32.const 1 i32.store)
                (func (export "stores") (loop i32.const 0 i64.const 1 i64.store8 br 0))
                (func (export "sets") (loop i32.const 1 global.set $g br 0))
                (func (export "grows") (loop i32.const 1 memory.grow drop br 0))
                (func (export "fills") (loop i32.const 0 i32.const 0 i32.const 1 memory.fill br 0))
                (func (export "imports") (loop call $host br 0))
                (func (export "indirect") (loop i32.const 0 call_indirect br 0))
                (func (export "table") (loop i32.const 0 ref.null func table.set br 0))
                (func (export "below") (loop call $stores br 0))
                (func $rec (export "recursive") (loop call $rec br 0)))"#,
        );
        assert!(found.is_empty(), "{found:?}");
    }

    #[test]
    fn code_that_costs_more_than_the_bound_is_not_short() {
        // Straight code of just under and just over the bound: nops count one each.
        let body = |n: u64| "nop ".repeat(usize::try_from(n).expect("small"));
        let found = short(&format!(
            r#"(module
                (func (export "fits") {})
                (func (export "over") {})
                (func $half {})
                (func (export "twice") call $half call $half)
                (memory 1)
                (func (export "grows_a_lot") {}))"#,
            body(MAX_COST - 1),
            body(MAX_COST + 1),
            body(MAX_COST / 2),
            "i32.const 1 memory.grow drop ".repeat(4),
        ));
        assert_eq!(found, ["fits"]);
    }

    #[test]
    fn large_bodies_are_not_read() {
        // 400 wide constants: 800 operators, but over 4 KiB of code (11 or 12 bytes each
        // with its drop); 300 stay under.
        let wat = format!(
            r#"(module (func (export "large") {}))"#,
            "i64.const 0x7fffffffffffffff drop ".repeat(400)
        );
        assert!(short(&wat).is_empty());
        let wat = format!(
            r#"(module (func (export "large") {}))"#,
            "i64.const 0x7fffffffffffffff drop ".repeat(300)
        );
        assert_eq!(short(&wat), ["large"]);
    }

    #[test]
    fn what_is_not_an_exported_function_is_not_short() {
        let bytes =
            wat::parse_str(r#"(module (func (export "f")) (memory (export "m") 1))"#).expect("wat");
        let oracle = Oracle::new(Arc::from(&bytes[..]));
        assert_eq!(oracle.judge("f"), Some(Short::Yes));
        assert_eq!(oracle.judge("m"), Some(Short::No));
        assert_eq!(oracle.judge("g"), Some(Short::No));
        let garbage = Oracle::new(Arc::from(&b"not wasm"[..]));
        assert_eq!(garbage.judge("f"), Some(Short::No));
        // While another thread reads the module, nobody waits: undecided.
        let held = oracle.code.lock();
        assert_eq!(oracle.judge("f"), None);
        drop(held);
        assert_eq!(oracle.judge("f"), Some(Short::Yes));
    }

    #[cfg(feature = "std")]
    #[test]
    fn the_legacy_plugins_small_functions_are_short_and_their_loops_are_not() {
        let read = |file: &str| {
            std::fs::read(format!("{}/plugins/{file}", env!("CARGO_MANIFEST_DIR"))).expect("read")
        };
        let test = short_exports(&read("testplugin.wasm"));
        assert!(test.iter().any(|name| name == "call_add"), "{test:?}");
        assert!(
            !test.iter().any(|name| name == "call_count_primes"),
            "{test:?}"
        );
        let fib = short_exports(&read("fib.wasm"));
        assert!(!fib.iter().any(|name| name == "call_fast"), "{fib:?}");
        // `fast` loops over locals only; `range_` writes its result to memory.
        let oracle = Oracle::new(Arc::from(&read("fib.wasm")[..]));
        assert_eq!(oracle.judge("call_fast"), Some(Short::Pure));
        assert_eq!(oracle.judge("range_"), Some(Short::No));
    }
}
