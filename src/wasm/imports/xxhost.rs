//! The embedder's host functions as plugin imports (module `xxhost`; docs/ABI.md, "Host
//! functions"): arguments read from the plugin's memory and checked against the declared
//! signature, the result checked too and handed back as a number or, for memory types, kept
//! for the plugin to fetch with `xxplugin.fetch`.

use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;

use wasmi::errors::LinkerError;
use wasmi::{Caller, Linker, Val, ValType, WasmRet, WasmTy};

use crate::wasm::abi::values::{self, LiftError};
use crate::wasm::abi::{memory, types};
use crate::wasm::limits::charge;
use crate::wasm::store::Host;
use crate::{HostCall, HostFunction, Object, Signature, Type};

/// The import module of host functions.
pub(crate) const MODULE: &str = "xxhost";

/// Why an instance that called a host function gets no snapshot (see `snapshot`).
const CALLED: &str = "it called a host function (its effects are outside the instance)";

/// Defines `function` in the linker.
///
/// A function of at most two wasm parameters gets a typed wasmi import (its values passed as
/// they are); any other, an untyped one, for which wasmi copies a buffer of its values on the
/// heap at every call. A call runs [`numbers`] when every type is a number, else [`call`].
pub(crate) fn define(linker: &mut Linker<Host>, function: &HostFunction) -> Result<(), String> {
    let sig = function.signature();
    let ty = types::host_function(sig);
    let import = Import {
        f: function.clone(),
        name: Arc::from(function.name()),
        numbers: !sig
            .params
            .iter()
            .map(|p| &p.ty)
            .chain([&sig.result])
            .any(types::in_memory),
    };
    let defined = match typed(linker, &import, ty.params(), ty.results()) {
        Some(defined) => defined,
        None => linker
            .func_new(
                MODULE,
                function.name(),
                ty,
                move |caller: Caller<'_, Host>, params: &[Val], results: &mut [Val]| {
                    call(&import.f, &import.name, caller, params, results)
                },
            )
            .map(|_| ()),
    };
    defined.map_err(|e| format!("{MODULE}.{} ({e})", function.name()))
}

/// A host function as an import: the embedder's function and its name.
#[derive(Clone)]
struct Import {
    f: HostFunction,
    name: Arc<str>,
    /// Whether its parameters and result are all numbers (`int`, `float`, `bool`, `null`):
    /// then each wasm value is one argument, and nothing is read from or kept for memory.
    numbers: bool,
}

/// A wasm value a typed import takes.
trait Param: WasmTy + 'static {
    fn val(self) -> Val;
}

impl Param for i32 {
    fn val(self) -> Val {
        Val::I32(self)
    }
}

impl Param for i64 {
    fn val(self) -> Val {
        Val::I64(self)
    }
}

impl Param for f64 {
    fn val(self) -> Val {
        Val::from(self)
    }
}

/// What a typed import returns: nothing or one wasm value, read from what [`call`] wrote, or
/// made from the embedder's result when every type is a number ([`numbers`]).
trait Results: Sized + 'static {
    /// How many values.
    const LEN: usize;
    fn of(results: &[Val]) -> Self;
    /// The wasm result of a function whose result is a number: the value if it is of the one
    /// type this wasm type stands for (`null`, `bool`, `int`, `float`; an int also as a float).
    fn number(value: Object) -> Result<Self, Object>;
}

impl Results for () {
    const LEN: usize = 0;
    fn of(_: &[Val]) -> Self {}
    fn number(value: Object) -> Result<Self, Object> {
        match value {
            Object::Null => Ok(()),
            other => Err(other),
        }
    }
}

impl Results for i32 {
    const LEN: usize = 1;
    fn of(results: &[Val]) -> Self {
        match results.first() {
            Some(Val::I32(v)) => *v,
            _ => 0,
        }
    }
    fn number(value: Object) -> Result<Self, Object> {
        match value {
            Object::Bool(b) => Ok(i32::from(b)),
            other => Err(other),
        }
    }
}

impl Results for i64 {
    const LEN: usize = 1;
    fn of(results: &[Val]) -> Self {
        match results.first() {
            Some(Val::I64(v)) => *v,
            _ => 0,
        }
    }
    fn number(value: Object) -> Result<Self, Object> {
        match value {
            Object::Int(v) => Ok(v),
            other => Err(other),
        }
    }
}

impl Results for f64 {
    const LEN: usize = 1;
    fn of(results: &[Val]) -> Self {
        match results.first() {
            Some(Val::F64(v)) => v.to_float(),
            _ => 0.0,
        }
    }
    fn number(value: Object) -> Result<Self, Object> {
        match value {
            Object::Float(v) => Ok(v),
            Object::Int(v) => Ok(v as f64),
            other => Err(other),
        }
    }
}

/// Runs [`call`] (or, when every type is a number, [`numbers`]) with the typed import's
/// parameters, and gives its result.
fn typed_call<R: Results>(
    import: &Import,
    caller: Caller<'_, Host>,
    params: &[Val],
) -> Result<R, wasmi::Error> {
    if import.numbers {
        return numbers(import, caller, params);
    }
    // `call` writes the result (of the declared type) into the slot.
    let mut results = [Val::I32(0)];
    let results = results.get_mut(..R::LEN).unwrap_or_default();
    call(&import.f, &import.name, caller, params, results)?;
    Ok(R::of(results))
}

/// Defines `import` with a typed wasmi import when its wasm type has at most two parameters
/// (`i32`, `i64` or `f64`) and at most one result of those; `None` for any other type.
fn typed(
    linker: &mut Linker<Host>,
    import: &Import,
    params: &[ValType],
    results: &[ValType],
) -> Option<Result<(), LinkerError>> {
    fn wrap0<R: Results>(l: &mut Linker<Host>, i: &Import) -> Result<(), LinkerError>
    where
        Result<R, wasmi::Error>: WasmRet,
    {
        let i2 = i.clone();
        l.func_wrap(MODULE, &i.name, move |c: Caller<'_, Host>| {
            typed_call::<R>(&i2, c, &[])
        })
        .map(|_| ())
    }
    fn wrap1<A: Param, R: Results>(l: &mut Linker<Host>, i: &Import) -> Result<(), LinkerError>
    where
        Result<R, wasmi::Error>: WasmRet,
    {
        let i2 = i.clone();
        l.func_wrap(MODULE, &i.name, move |c: Caller<'_, Host>, a: A| {
            typed_call::<R>(&i2, c, &[a.val()])
        })
        .map(|_| ())
    }
    fn wrap2<A: Param, B: Param, R: Results>(
        l: &mut Linker<Host>,
        i: &Import,
    ) -> Result<(), LinkerError>
    where
        Result<R, wasmi::Error>: WasmRet,
    {
        let i2 = i.clone();
        l.func_wrap(MODULE, &i.name, move |c: Caller<'_, Host>, a: A, b: B| {
            typed_call::<R>(&i2, c, &[a.val(), b.val()])
        })
        .map(|_| ())
    }
    // The result type, then the wrapper for the parameter types already chosen.
    macro_rules! by_result {
        ($wrap:ident $(, $p:ty)*) => {
            match results {
                [] => Some($wrap::<$($p,)* ()>(linker, import)),
                [ValType::I32] => Some($wrap::<$($p,)* i32>(linker, import)),
                [ValType::I64] => Some($wrap::<$($p,)* i64>(linker, import)),
                [ValType::F64] => Some($wrap::<$($p,)* f64>(linker, import)),
                _ => None,
            }
        };
    }
    // The second parameter's type, after the first's.
    macro_rules! second {
        ($a:ty, $b:expr) => {
            match $b {
                ValType::I32 => by_result!(wrap2, $a, i32),
                ValType::I64 => by_result!(wrap2, $a, i64),
                ValType::F64 => by_result!(wrap2, $a, f64),
                _ => None,
            }
        };
    }
    match params {
        [] => by_result!(wrap0),
        [ValType::I32] => by_result!(wrap1, i32),
        [ValType::I64] => by_result!(wrap1, i64),
        [ValType::F64] => by_result!(wrap1, f64),
        [ValType::I32, b] => second!(i32, b),
        [ValType::I64, b] => second!(i64, b),
        [ValType::F64, b] => second!(f64, b),
        _ => None,
    }
}

/// A host function's call on the general path: its arguments read (from memory too) and
/// checked, the embedder's function run ([`run`]), its result checked and handed back
/// ([`give_result`]). The embedder's own `Err` (or panic) is a [`HostFailed`], so that the
/// plugin's caller gets it as that function's error; what the plugin passed or got wrong is
/// a trap naming the function.
fn call(
    f: &HostFunction,
    name: &Arc<str>,
    mut caller: Caller<'_, Host>,
    params: &[Val],
    results: &mut [Val],
) -> Result<(), wasmi::Error> {
    let abi = |e: String| wasmi::Error::new(format!("host function {name}: {e}"));
    let host = caller.data_mut();
    host.mark_unrepeatable(CALLED);
    // The store's argument buffer: a call of the embedder's function cannot call into this
    // instance again (crate::lock), so nothing else uses it meanwhile.
    let mut args = core::mem::take(&mut host.host_args);
    let sig = f.signature();
    let result = arguments(&caller, sig, params, &mut args)
        .map_err(abi)
        .and_then(|moved| {
            charge(&mut caller, moved);
            run(f, name, &caller, &args)
        });
    args.clear();
    caller.data_mut().host_args = args;
    give_result(&mut caller, name, sig, result?, results).map_err(abi)
}

/// [`call`] of a host function whose parameters and result are all numbers: its arguments
/// are made in an array on the stack from the wasm values (one each), and its result goes
/// back as a wasm number. Nothing is read from memory or kept for `xxplugin.fetch`.
fn numbers<R: Results>(
    import: &Import,
    mut caller: Caller<'_, Host>,
    params: &[Val],
) -> Result<R, wasmi::Error> {
    let (f, name) = (&import.f, &import.name);
    let sig = f.signature();
    let mut args = [Object::Null, Object::Null];
    for (n, ((arg, p), val)) in args.iter_mut().zip(&sig.params).zip(params).enumerate() {
        *arg = number_arg(&p.ty, val).ok_or_else(|| {
            wasmi::Error::new(format!(
                "host function {name}: argument {}: not a {}",
                n + 1,
                p.ty
            ))
        })?;
    }
    let args = args.get(..params.len()).unwrap_or_default();
    caller.data_mut().mark_unrepeatable(CALLED);
    charge(&mut caller, 0);
    let result = run(f, name, &caller, args)?;
    R::number(result).map_err(|v| {
        wasmi::Error::new(format!(
            "host function {name}: {}",
            wrong_result(name, sig, &v)
        ))
    })
}

/// Runs the embedder's function `f` on `args`, the instance marked as inside a host function
/// meanwhile: the embedder's code may call back into this plugin, on this thread or on one it
/// then waits for, and such calls fail instead of waiting (crate::lock), never deadlock.
fn run(
    f: &HostFunction,
    name: &Arc<str>,
    caller: &Caller<'_, Host>,
    args: &[Object],
) -> Result<Object, wasmi::Error> {
    let host = caller.data();
    let _entered = crate::lock::enter(&host.lock);
    let call = HostCall {
        plugin: &host.plugin,
    };
    invoke(f, &call, args).map_err(|message| {
        wasmi::Error::host(HostFailed {
            function: name.clone(),
            message,
        })
    })
}

/// A host function's own error (its `Err`, or its panic), carried through the interpreter to
/// the plugin's caller as [`ErrorKind::Host`](crate::ErrorKind::Host).
#[derive(Clone, Debug)]
pub(crate) struct HostFailed {
    pub(crate) function: Arc<str>,
    pub(crate) message: String,
}

impl core::fmt::Display for HostFailed {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "host function {} failed: {}",
            self.function, self.message
        )
    }
}

impl wasmi::errors::HostError for HostFailed {}

/// Puts the call's arguments into `args` as script values, checked against `sig`, and gives
/// the bytes read for them from the plugin's memory.
fn arguments(
    caller: &Caller<'_, Host>,
    sig: &Signature,
    params: &[Val],
    args: &mut Vec<Object>,
) -> Result<usize, String> {
    let max_host = caller.data().max_host_bytes;
    // Looked up only for an argument in memory: numbers need none.
    let mem = || {
        caller
            .data()
            .memory
            .map(|m| m.data(caller))
            .unwrap_or_default()
    };
    let mut moved = 0usize;
    let mut vals = params.iter();
    let mut next = || vals.next().cloned().unwrap_or(Val::I32(0));
    args.reserve(sig.params.len());
    for (i, p) in sig.params.iter().enumerate() {
        let n = i + 1;
        let value = match (&p.ty, next()) {
            (ty, Val::I32(ptr)) if types::in_memory(ty) => {
                let Val::I32(len) = next() else {
                    return Err(format!("argument {n}: no length"));
                };
                let bytes = memory::bytes(mem(), ptr as u32, len as u32)
                    .map_err(|e| format!("argument {n}: {e}"))?;
                moved = moved.saturating_add(bytes.len());
                if bytes.len() > max_host / 4 {
                    return Err(format!(
                        "argument {n} is {} bytes; the limit is {} (max_result_bytes)",
                        bytes.len(),
                        max_host / 4
                    ));
                }
                values::lift(bytes, ty, max_host).map_err(|e| match e {
                    LiftError::Utf8(e) => format!("argument {n} is not UTF-8 ({e})"),
                    LiftError::Decode(e) => {
                        format!("argument {n} ({ty}): {e} (max_result_bytes)")
                    }
                })?
            }
            (ty, val) => number_arg(ty, &val).ok_or_else(|| format!("argument {n}: not a {ty}"))?,
        };
        args.push(value);
    }
    Ok(moved)
}

/// The argument of declared type `ty` (a number) that wasm value `val` carries, if it is one.
fn number_arg(ty: &Type, val: &Val) -> Option<Object> {
    match (ty, val) {
        (Type::Int, Val::I64(v)) => Some(Object::Int(*v)),
        (Type::Float, Val::F64(v)) => Some(Object::Float(v.to_float())),
        (Type::Bool, Val::I32(v)) => Some(Object::Bool(*v != 0)),
        _ => None,
    }
}

/// Hands the embedder's `result` back to the plugin as `sig` says: a number as the wasm
/// result, a memory type kept for `xxplugin.fetch` with its length as the wasm result.
fn give_result(
    caller: &mut Caller<'_, Host>,
    name: &str,
    sig: &Signature,
    result: Object,
    results: &mut [Val],
) -> Result<(), String> {
    let wrong = |v: &Object| wrong_result(name, sig, v);
    match (&sig.result, result, results.first_mut()) {
        (Type::Null, Object::Null, _) => {}
        (Type::Int, Object::Int(v), Some(slot)) => *slot = Val::I64(v),
        (Type::Float, Object::Float(v), Some(slot)) => *slot = Val::from(v),
        (Type::Float, Object::Int(v), Some(slot)) => *slot = Val::from(v as f64),
        (Type::Bool, Object::Bool(v), Some(slot)) => *slot = Val::I32(i32::from(v)),
        (ty, v, Some(slot)) if types::in_memory(ty) => {
            let pending = &mut caller.data_mut().pending;
            pending.clear();
            values::lower(&v, ty, pending).map_err(|()| wrong(&v))?;
            let len = i32::try_from(pending.len())
                .map_err(|_| String::from("its result is larger than 2 GiB"))?;
            *slot = Val::I32(len);
            let moved = pending.len();
            charge(caller, moved);
        }
        (_, v, _) => return Err(wrong(&v)),
    }
    Ok(())
}

/// What is wrong with a host function's result `v`.
fn wrong_result(name: &str, sig: &Signature, v: &Object) -> String {
    format!(
        "it returned {}, but {name}{} returns {}",
        v.type_name(),
        sig,
        sig.result
    )
}

/// Runs the embedder's function. A panic in it cannot unwind through the interpreter (that
/// would abort the process): with `std` it is caught here and becomes this call's error.
/// Without `std` there is no unwinding to catch; a `no_std` build aborts on panic anyway.
fn invoke(f: &HostFunction, call: &HostCall<'_>, args: &[Object]) -> Result<Object, String> {
    #[cfg(feature = "std")]
    {
        let run = std::panic::AssertUnwindSafe(|| f.invoke(call, args));
        match std::panic::catch_unwind(run) {
            Ok(result) => result,
            Err(payload) => Err(format!("it panicked: {}", panic_message(payload.as_ref()))),
        }
    }
    #[cfg(not(feature = "std"))]
    {
        f.invoke(call, args)
    }
}

/// The message of a panic, if it is text.
#[cfg(feature = "std")]
fn panic_message(payload: &(dyn core::any::Any + Send)) -> &str {
    match (
        payload.downcast_ref::<&str>(),
        payload.downcast_ref::<String>(),
    ) {
        (Some(s), _) => s,
        (None, Some(s)) => s,
        (None, None) => "(a value that is not text)",
    }
}
