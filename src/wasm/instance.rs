//! A plugin instance and how one call runs: arguments converted by the export's plan, the
//! store locked, the wasm function run, the results converted back.
//!
//! Nothing on this path looks up a name or allocates, apart from building the result value
//! (an array needs its elements) and errors. Common signatures run through wasmi's typed calls,
//! which skip the per-call type check of the untyped `Func::call` (~24 ns on `add(i64, i64)`);
//! the rest reuse one scratch buffer per instance.

use alloc::boxed::Box;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::sync::Arc;
use alloc::vec::Vec;

use wasmi::{Func, Instance, Memory, Store, TypedFunc, Val};

use super::abi;
use super::engine::Compiled;
use super::host::Host;
use super::host::{Expect, Sent};
use super::plan::{Convention, Output, ParamPlan, Plan, Scalar};
use crate::error::describe_value;
use crate::lock::CallLock;
use crate::{Error, Object};

/// The mutable part of an instance: only reachable through the lock.
pub(crate) struct Live {
    store: Store<Host>,
    memory: Option<Memory>,
    /// The legacy result slot (see `manifest`).
    slot: Option<u32>,
    /// Arguments then results of the generic call path, reused across calls.
    scratch: Vec<Val>,
}

impl Live {
    pub(crate) fn new(store: Store<Host>, instance: &Instance, slot: Option<u32>) -> Self {
        let memory = instance.get_memory(&store, "memory");
        Self {
            store,
            memory,
            slot,
            scratch: Vec::new(),
        }
    }
}

/// One exported function, ready to call.
pub(crate) struct Function {
    pub(crate) plan: Plan,
    invoke: Invoke,
}

/// How a function is called, chosen at load.
enum Invoke {
    I64ToI64(TypedFunc<i64, i64>),
    I64x2ToI64(TypedFunc<(i64, i64), i64>),
    I64x3ToI64(TypedFunc<(i64, i64, i64), i64>),
    NoneToI64(TypedFunc<(), i64>),
    I64ToI32(TypedFunc<i64, i32>),
    I64x2ToI32(TypedFunc<(i64, i64), i32>),
    F64ToF64(TypedFunc<f64, f64>),
    F64x2ToF64(TypedFunc<(f64, f64), f64>),
    /// Legacy `range_(n, result_slot)`.
    Range(TypedFunc<(i64, i32), ()>),
    /// Anything else: `Func::call` with the scratch buffer.
    Generic {
        func: Func,
        results: usize,
    },
    /// A declared function (typed ABI): arguments through `xxplugin.arg`, results through
    /// `xxplugin.result`, failures through `xxplugin.error`.
    Declared {
        func: Func,
        results: usize,
        shape: Shape,
    },
    /// A function that cannot be called; the reason is the error.
    Fails(String),
}

impl Function {
    pub(crate) fn new(plan: Plan, func: Func, store: &Store<Host>, has_slot: bool) -> Self {
        const I64: ParamPlan = ParamPlan::Number(Scalar::I64);
        const F64: ParamPlan = ParamPlan::Number(Scalar::F64);
        let results = func.ty(store).results().len();
        if plan.convention == Convention::Declared {
            let shape = if let Ok(t) = func.typed(store) {
                Shape::I32(t)
            } else if let Ok(t) = func.typed(store) {
                Shape::I32x2(t)
            } else if let Ok(t) = func.typed(store) {
                Shape::I64(t)
            } else {
                Shape::Other
            };
            return Self {
                plan,
                invoke: Invoke::Declared {
                    func,
                    results,
                    shape,
                },
            };
        }
        let generic = Invoke::Generic { func, results };
        macro_rules! typed {
            ($variant:ident) => {
                func.typed(store).map_or(generic, Invoke::$variant)
            };
        }
        let invoke = match (&plan.output, &*plan.params) {
            (Output::LegacyMissingResult, _) => Invoke::Fails(String::from(
                "this legacy `call_` export returns no value, and the legacy ABI requires one",
            )),
            (Output::IntArraySlot, _) if !has_slot => Invoke::Fails(String::from(
                "`range_` returns its array through a result slot, and the plugin exports no \
                 `alloc(i32) -> i32` to allocate one",
            )),
            (Output::IntArraySlot, _) => typed!(Range),
            (Output::Scalar(Scalar::I64), [I64]) => typed!(I64ToI64),
            (Output::Scalar(Scalar::I64), [I64, I64]) => typed!(I64x2ToI64),
            (Output::Scalar(Scalar::I64), [I64, I64, I64]) => typed!(I64x3ToI64),
            (Output::Scalar(Scalar::I64), []) => typed!(NoneToI64),
            (Output::Scalar(Scalar::I32) | Output::Bool, [I64]) => typed!(I64ToI32),
            (Output::Scalar(Scalar::I32) | Output::Bool, [I64, I64]) => typed!(I64x2ToI32),
            (Output::Scalar(Scalar::F64), [F64]) => typed!(F64ToF64),
            (Output::Scalar(Scalar::F64), [F64, F64]) => typed!(F64x2ToF64),
            _ => generic,
        };
        Self { plan, invoke }
    }
}

/// Common wasm shapes of declared functions with a memory-type result, called typed (no
/// per-call type check); any other goes through `Func::call`.
#[derive(Clone, Copy)]
enum Shape {
    /// `(len: i32) -> ()`: one string/bytes/array/map/any in.
    I32(TypedFunc<i32, ()>),
    /// `(len: i32, len: i32) -> ()`.
    I32x2(TypedFunc<(i32, i32), ()>),
    /// `(n: i64) -> ()`: one int in.
    I64(TypedFunc<i64, ()>),
    Other,
}

/// A live plugin instance shared by its builtins.
pub(crate) struct Runtime {
    plugin: Arc<str>,
    functions: Box<[Function]>,
    state: CallLock<Option<Live>>,
    /// Keeps the compiled module (and its cache entry) alive while any builtin is.
    _compiled: Arc<Compiled>,
}

impl Runtime {
    pub(crate) fn new(
        plugin: Arc<str>,
        compiled: Arc<Compiled>,
        functions: Vec<Function>,
        live: Live,
    ) -> Self {
        Self {
            plugin,
            functions: functions.into_boxed_slice(),
            state: CallLock::new(Some(live)),
            _compiled: compiled,
        }
    }

    pub(crate) fn functions(&self) -> &[Function] {
        &self.functions
    }

    /// Drops the instance (its memory goes with it); later calls fail with [`Error::Closed`].
    /// Waits for a call under way to finish.
    pub(crate) fn close(&self) {
        let live = self.state.with(Option::take);
        drop(live);
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.state.with(|s| s.is_none())
    }

    pub(crate) fn memory_bytes(&self) -> Option<usize> {
        self.state.with(|s| {
            let live = s.as_ref()?;
            Some(live.memory?.data_size(&live.store))
        })
    }

    /// Calls function `index` with script arguments.
    pub(crate) fn call(&self, index: usize, args: &[Object]) -> Result<Object, Error> {
        let Some(f) = self.functions.get(index) else {
            return Err(self.no_such_function(index));
        };
        tracing::trace!(plugin = &*self.plugin, function = %f.plan.name, args = args.len(), "call");
        self.invoke(f, args)
            .map_err(|failure| self.error(f, args, failure))
    }

    /// The call itself. Failures stay small here; naming them is left to [`Runtime::error`],
    /// out of line, so that the successful path moves little.
    #[inline(always)]
    fn invoke(&self, f: &Function, args: &[Object]) -> Result<Object, Failure> {
        let int = |r: i32| match f.plan.output {
            Output::Bool => Object::Bool(r != 0),
            _ => Object::Int(i64::from(r)),
        };
        match (&f.invoke, args) {
            (Invoke::I64ToI64(t), [Object::Int(a)]) => self.run(|s| t.call(s, *a)).map(Object::Int),
            (Invoke::I64x2ToI64(t), [Object::Int(a), Object::Int(b)]) => {
                self.run(|s| t.call(s, (*a, *b))).map(Object::Int)
            }
            (Invoke::I64x3ToI64(t), [Object::Int(a), Object::Int(b), Object::Int(c)]) => {
                self.run(|s| t.call(s, (*a, *b, *c))).map(Object::Int)
            }
            (Invoke::NoneToI64(t), []) => self.run(|s| t.call(s, ())).map(Object::Int),
            (Invoke::I64ToI32(t), [Object::Int(a)]) => self.run(|s| t.call(s, *a)).map(int),
            (Invoke::I64x2ToI32(t), [Object::Int(a), Object::Int(b)]) => {
                self.run(|s| t.call(s, (*a, *b))).map(int)
            }
            (Invoke::F64ToF64(t), [a]) => {
                let a = float(a)?;
                self.run(|s| t.call(s, a)).map(Object::Float)
            }
            (Invoke::F64x2ToF64(t), [a, b]) => {
                let (a, b) = (float(a)?, float(b)?);
                self.run(|s| t.call(s, (a, b))).map(Object::Float)
            }
            (Invoke::Range(t), [Object::Int(n)]) => self.range(t, *n),
            (Invoke::Generic { func, results }, _) if args.len() == f.plan.params.len() => {
                self.generic(f, *func, *results, args)
            }
            (
                Invoke::Declared {
                    func,
                    results,
                    shape,
                },
                _,
            ) if args.len() == f.plan.params.len() => {
                self.declared(f, *func, *results, *shape, args)
            }
            (Invoke::Fails(reason), _) if args.len() == f.plan.params.len() => {
                Err(Failure::Abi(reason.clone()))
            }
            _ => Err(Failure::Arguments),
        }
    }

    /// Runs `call` on the store, unless the plugin is closed.
    #[inline(always)]
    fn run<R>(
        &self,
        call: impl FnOnce(&mut Store<Host>) -> Result<R, wasmi::Error>,
    ) -> Result<R, Failure> {
        self.state.with(|state| match state {
            Some(live) => call(&mut live.store).map_err(Failure::Trap),
            None => Err(Failure::Closed),
        })
    }

    fn range(&self, t: &TypedFunc<(i64, i32), ()>, n: i64) -> Result<Object, Failure> {
        self.state.with(|state| {
            let live = state.as_mut().ok_or(Failure::Closed)?;
            let (Some(slot), Some(memory)) = (live.slot, live.memory) else {
                return Err(Failure::Abi(String::from("the plugin exports no `memory`")));
            };
            t.call(&mut live.store, (n, slot as i32))
                .map_err(Failure::Trap)?;
            let mem = memory.data(&live.store);
            let (ptr, count) = abi::u32_pair(mem, slot).map_err(Failure::Abi)?;
            let values = abi::i64s(mem, ptr, count).map_err(Failure::Abi)?;
            Ok(values.map(Object::Int).collect())
        })
    }

    fn generic(
        &self,
        f: &Function,
        func: Func,
        results: usize,
        args: &[Object],
    ) -> Result<Object, Failure> {
        self.state.with(|state| {
            let live = state.as_mut().ok_or(Failure::Closed)?;
            let scratch = &mut live.scratch;
            scratch.clear();
            for (arg, param) in args.iter().zip(f.plan.params.iter()) {
                let ParamPlan::Number(scalar) = param else {
                    return Err(Failure::Arguments);
                };
                scratch.push(to_val(arg, *scalar).ok_or(Failure::Arguments)?);
            }
            let n = scratch.len();
            scratch.resize(n + results, Val::I32(0));
            let (ins, outs) = scratch.split_at_mut(n);
            func.call(&mut live.store, ins, outs)
                .map_err(Failure::Trap)?;
            Ok(output(&f.plan.output, outs))
        })
    }

    /// A call of a declared function: arguments checked against the declaration and made
    /// available to `xxplugin.arg`, the result taken from `xxplugin.result` (or the wasm result),
    /// a failure from `xxplugin.error`.
    fn declared(
        &self,
        f: &Function,
        func: Func,
        results: usize,
        shape: Shape,
        args: &[Object],
    ) -> Result<Object, Failure> {
        let expect = match &f.plan.output {
            Output::Memory(ty) => Expect::of(ty),
            _ => Expect::Nothing,
        };
        self.state.with(|state| {
            let live = state.as_mut().ok_or(Failure::Closed)?;
            let call = &mut live.store.data_mut().call;
            call.begin(expect, MAX_RESULT_BYTES);
            let scratch = &mut live.scratch;
            scratch.clear();
            for (arg, param) in args.iter().zip(f.plan.params.iter()) {
                let val = match (param, arg) {
                    (ParamPlan::Number(scalar), _) => to_val(arg, *scalar),
                    (ParamPlan::Bool, Object::Bool(b)) => Some(Val::I32(i32::from(*b))),
                    (ParamPlan::Bool, _) => None,
                    (ParamPlan::Memory(ty), _) => call.push_memory(arg, ty).ok().map(Val::I32),
                };
                let Some(val) = val else {
                    call.end();
                    return Err(Failure::Arguments);
                };
                if !matches!(param, ParamPlan::Memory(_)) {
                    call.push_number();
                }
                scratch.push(val);
            }
            let n = scratch.len();
            scratch.resize(n + results, Val::I32(0));
            let (ins, outs) = scratch.split_at_mut(n);
            let store = &mut live.store;
            let ran = match (shape, &*ins) {
                (Shape::I32(t), [Val::I32(a)]) => t.call(store, *a),
                (Shape::I32x2(t), [Val::I32(a), Val::I32(b)]) => t.call(store, (*a, *b)),
                (Shape::I64(t), [Val::I64(a)]) => t.call(store, *a),
                _ => func.call(&mut *store, ins, outs),
            };
            let call = &mut live.store.data_mut().call;
            call.end();
            ran.map_err(Failure::Trap)?;
            if let Some(message) = call.error.take() {
                return Err(Failure::Guest(message));
            }
            if let Some(violation) = call.violation.take() {
                return Err(Failure::Abi(violation));
            }
            match (&f.plan.output, core::mem::take(&mut call.sent)) {
                (Output::Memory(_), Sent::Value(v)) => Ok(v),
                (Output::Memory(ty), Sent::Encoded) => {
                    super::msgpack::decode(&call.result_bytes, ty)
                        .map_err(|e| Failure::Abi(format!("its {ty} result: {e}")))
                }
                (Output::Memory(_), Sent::Nothing) => Err(Failure::Abi(String::from(
                    "it returned without sending its result (xxplugin.result)",
                ))),
                (other, _) => Ok(output(other, outs)),
            }
        })
    }

    /// The [`Error`] for a failure: which plugin, which function, what went wrong.
    #[cold]
    #[inline(never)]
    fn error(&self, f: &Function, args: &[Object], failure: Failure) -> Error {
        let plugin = self.plugin.to_string();
        let function = f.plan.name.clone();
        match failure {
            Failure::Arguments => self.argument_error(f, args),
            Failure::Trap(e) => Error::Trap {
                plugin,
                function,
                message: e.to_string(),
            },
            Failure::Abi(reason) => Error::Abi {
                plugin,
                function,
                reason,
            },
            Failure::Closed => Error::Closed { plugin, function },
            Failure::Guest(message) => Error::Guest {
                plugin,
                function,
                message,
            },
        }
    }

    #[cold]
    #[inline(never)]
    fn no_such_function(&self, index: usize) -> Error {
        Error::NoSuchFunction {
            plugin: self.plugin.to_string(),
            function: format!("#{index}"),
        }
    }

    /// The error for arguments that do not fit the plan: a count, or the first argument of
    /// the wrong type.
    fn argument_error(&self, f: &Function, args: &[Object]) -> Error {
        let plugin = self.plugin.to_string();
        let function = f.plan.name.clone();
        if args.len() != f.plan.params.len() {
            return Error::Arity {
                plugin,
                function,
                expected: f.plan.signature.describe_params(),
                got: args.len(),
                signature: f.plan.signature.to_string(),
            };
        }
        let bad = args
            .iter()
            .zip(f.plan.params.iter())
            .enumerate()
            .find_map(|(i, (arg, param))| mismatch(arg, param).map(|m| (i, m)));
        let Some((index, (expected, got))) = bad else {
            return Error::Abi {
                plugin,
                function,
                reason: String::from("arguments do not match the plan"),
            };
        };
        Error::Type {
            plugin,
            function,
            position: index + 1,
            expected,
            got,
        }
    }
}

/// Why `arg` does not fit `param`, as (what it must be, what it is), or `None` if it fits.
fn mismatch(arg: &Object, param: &ParamPlan) -> Option<(String, String)> {
    let expected = match (param, arg) {
        (ParamPlan::Number(s), _) if to_val(arg, *s).is_some() => return None,
        (ParamPlan::Number(Scalar::I32), Object::Int(_)) => "int in i32 range",
        (ParamPlan::Number(Scalar::I32 | Scalar::I64), _) => "int",
        (ParamPlan::Number(Scalar::F32 | Scalar::F64), _) => "float or int",
        (ParamPlan::Bool, Object::Bool(_)) => return None,
        (ParamPlan::Bool, _) => "bool",
        (ParamPlan::Memory(ty), _) => {
            return match super::msgpack::encode(arg, ty, &mut Vec::new()) {
                Ok(()) => None,
                Err(m) if m.path.is_empty() => Some((ty.to_string(), describe_value(arg))),
                Err(m) => Some((
                    ty.to_string(),
                    format!("{} with {} at {}", arg.type_name(), m.found, m.path),
                )),
            };
        }
    };
    Some((expected.to_string(), describe_value(arg)))
}

/// Why a call failed, before [`Runtime::error`] names the plugin and the function.
enum Failure {
    /// The arguments do not fit the plan (count or type).
    Arguments,
    /// The wasm code trapped, or a host function failed.
    Trap(wasmi::Error),
    /// The plugin broke the ABI.
    Abi(String),
    /// The plugin was closed.
    Closed,
    /// The plugin reported an error with `xxplugin.error`.
    Guest(String),
}

/// The largest result a plugin may send with `xxplugin.result`.
pub(crate) const MAX_RESULT_BYTES: usize = 16 << 20;

/// A float argument: a float, or an int widened.
fn float(v: &Object) -> Result<f64, Failure> {
    match v {
        Object::Float(x) => Ok(*x),
        Object::Int(x) => Ok(*x as f64),
        _ => Err(Failure::Arguments),
    }
}

/// A script value as a wasm value of type `scalar`, if it converts: ints for integer types
/// (in range for i32), floats or ints for float types.
fn to_val(arg: &Object, scalar: Scalar) -> Option<Val> {
    match (scalar, arg) {
        (Scalar::I64, Object::Int(v)) => Some(Val::I64(*v)),
        (Scalar::I32, Object::Int(v)) => i32::try_from(*v).ok().map(Val::I32),
        (Scalar::F64, Object::Float(v)) => Some(Val::from(*v)),
        (Scalar::F64, Object::Int(v)) => Some(Val::from(*v as f64)),
        (Scalar::F32, Object::Float(v)) => Some(Val::from(*v as f32)),
        (Scalar::F32, Object::Int(v)) => Some(Val::from(*v as f32)),
        _ => None,
    }
}

/// A wasm result as a script value: i32 sign-extended, f32 widened exactly.
fn from_val(v: &Val) -> Object {
    match v {
        Val::I32(x) => Object::Int(i64::from(*x)),
        Val::I64(x) => Object::Int(*x),
        Val::F32(x) => Object::Float(f64::from(x.to_float())),
        Val::F64(x) => Object::Float(x.to_float()),
        // Plans only admit number types; anything else cannot reach here.
        _ => Object::Null,
    }
}

fn output(plan: &Output, results: &[Val]) -> Object {
    match (plan, results) {
        (Output::Bool, [Val::I32(x)]) => Object::Bool(*x != 0),
        (Output::Scalar(_), [one]) => from_val(one),
        (Output::Multi(_), all) => all.iter().map(from_val).collect(),
        _ => Object::Null,
    }
}
