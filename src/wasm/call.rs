//! How one call runs: arguments converted by the export's plan, the wasm function run (under
//! the plugin's limits), the results converted back.
//!
//! Nothing on this path looks up a name or allocates, apart from building the result value
//! (an array needs its elements) and errors. Common signatures run through wasmi's typed calls,
//! which skip the per-call type check of the untyped `Func::call` (~24 ns on `add(i64, i64)`);
//! the rest reuse one scratch buffer per instance.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use alloc::boxed::Box;
use alloc::sync::Arc;
use core::cell::Cell;

use wasmi::{Func, Instance, Memory, Store, TrapCode, Val, WasmParams, WasmResults};

use super::abi::exchange::{CallState, Expect, Refused, Sent};
use super::abi::memory;
use super::abi::values::{self, LiftError};
use super::imports::xxhost::HostFailed;
use super::limits::{Meter, Stop};
use super::plan::{Convention, Output, ParamPlan, Plan, Scalar, Typed};
use super::short::Short;
use super::store::Host;
use super::twin::{Callable, TwinFunc};
use crate::error::describe_value;
use crate::{Config, Error, ErrorKind, Limit, Object};

/// How a function is called in one instance, chosen when the instance starts. A typed call
/// carries how it is metered ([`Short`]): learnt at its first metered call, and changed by a
/// call (a pure function that outlasted its plain slice), so a cell.
pub(crate) enum Invoke {
    I64ToI64(TwinFunc<i64, i64>, Cell<Short>),
    I64x2ToI64(TwinFunc<(i64, i64), i64>, Cell<Short>),
    I64x3ToI64(TwinFunc<(i64, i64, i64), i64>, Cell<Short>),
    NoneToI64(TwinFunc<(), i64>, Cell<Short>),
    I64ToI32(TwinFunc<i64, i32>, Cell<Short>),
    I64x2ToI32(TwinFunc<(i64, i64), i32>, Cell<Short>),
    F64ToF64(TwinFunc<f64, f64>, Cell<Short>),
    F64x2ToF64(TwinFunc<(f64, f64), f64>, Cell<Short>),
    /// Legacy `range_(n, result_slot)`.
    Range(TwinFunc<(i64, i32), ()>, Cell<Short>),
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

/// Common wasm shapes of declared functions with a memory-type result, called typed (no
/// per-call type check); any other goes through `Func::call`.
#[derive(Clone, Copy)]
pub(crate) enum Shape {
    /// `(len: i32) -> ()`: one string/bytes/array/map/any in.
    I32(TwinFunc<i32, ()>),
    /// `(len: i32, len: i32) -> ()`.
    I32x2(TwinFunc<(i32, i32), ()>),
    /// `(n: i64) -> ()`: one int in.
    I64(TwinFunc<i64, ()>),
    Other,
}

impl Invoke {
    /// The wasm function it calls, if any.
    pub(crate) fn func(&self) -> Option<Func> {
        Some(match self {
            Invoke::I64ToI64(t, _) => *t.func(),
            Invoke::I64x2ToI64(t, _) => *t.func(),
            Invoke::I64x3ToI64(t, _) => *t.func(),
            Invoke::NoneToI64(t, _) => *t.func(),
            Invoke::I64ToI32(t, _) => *t.func(),
            Invoke::I64x2ToI32(t, _) => *t.func(),
            Invoke::F64ToF64(t, _) => *t.func(),
            Invoke::F64x2ToF64(t, _) => *t.func(),
            Invoke::Range(t, _) => *t.func(),
            Invoke::Generic { func, .. } | Invoke::Declared { func, .. } => *func,
            Invoke::Fails(_) => return None,
        })
    }

    /// How its function is metered, for a typed call.
    pub(crate) fn short(&self) -> Option<&Cell<Short>> {
        Some(match self {
            Invoke::I64ToI64(_, short) => short,
            Invoke::I64x2ToI64(_, short) => short,
            Invoke::I64x3ToI64(_, short) => short,
            Invoke::NoneToI64(_, short) => short,
            Invoke::I64ToI32(_, short) => short,
            Invoke::I64x2ToI32(_, short) => short,
            Invoke::F64ToF64(_, short) => short,
            Invoke::F64x2ToF64(_, short) => short,
            Invoke::Range(_, short) => short,
            Invoke::Generic { .. } | Invoke::Declared { .. } | Invoke::Fails(_) => return None,
        })
    }

    pub(crate) fn new(plan: &Plan, func: Func, store: &Store<Host>, has_slot: bool) -> Self {
        let results = func.ty(store).results().len();
        if plan.convention == Convention::Declared {
            let shape = if let Ok(t) = TwinFunc::new(func, store) {
                Shape::I32(t)
            } else if let Ok(t) = TwinFunc::new(func, store) {
                Shape::I32x2(t)
            } else if let Ok(t) = TwinFunc::new(func, store) {
                Shape::I64(t)
            } else {
                Shape::Other
            };
            return Invoke::Declared {
                func,
                results,
                shape,
            };
        }
        match &plan.output {
            Output::LegacyMissingResult => {
                return Invoke::Fails(String::from(
                    "this legacy `call_` export returns no value, and the legacy ABI requires one",
                ));
            }
            Output::IntArraySlot if !has_slot => {
                return Invoke::Fails(String::from(
                    "`range_` returns its array through a result slot, and the plugin exports no \
                     `alloc(i32) -> i32` to allocate one",
                ));
            }
            _ => {}
        }
        let generic = Invoke::Generic { func, results };
        macro_rules! typed {
            ($variant:ident) => {
                TwinFunc::new(func, store)
                    .map_or(generic, |t| Invoke::$variant(t, Cell::new(Short::Unknown)))
            };
        }
        match Typed::of(plan) {
            Some(Typed::Range) => typed!(Range),
            Some(Typed::I64ToI64) => typed!(I64ToI64),
            Some(Typed::I64x2ToI64) => typed!(I64x2ToI64),
            Some(Typed::I64x3ToI64) => typed!(I64x3ToI64),
            Some(Typed::NoneToI64) => typed!(NoneToI64),
            Some(Typed::I64ToI32) => typed!(I64ToI32),
            Some(Typed::I64x2ToI32) => typed!(I64x2ToI32),
            Some(Typed::F64ToF64) => typed!(F64ToF64),
            Some(Typed::F64x2ToF64) => typed!(F64x2ToF64),
            None => generic,
        }
    }
}

/// One instance, ready for calls: only reachable through its slot's lock.
pub(crate) struct Live {
    pub(crate) store: Store<Host>,
    pub(crate) memory: Option<Memory>,
    /// The legacy result slot (see `legacy`).
    pub(crate) slot: Option<u32>,
    /// How each function is called in this instance (handles into this store).
    pub(crate) invokes: Box<[Invoke]>,
    /// Arguments then results of untyped calls, reused across calls.
    pub(crate) scratch: Vec<Val>,
    /// Fuel, deadline and cancellation of this instance's calls; `None` for a trusted plugin.
    pub(crate) meter: Option<Meter>,
    /// Which instance this is, unique in the process (typed handles keep what they looked up
    /// on the instance they last ran on).
    pub(crate) stamp: u64,
}

/// A new instance's [`Live::stamp`]. A 64-bit count never wraps; behind a lock, so targets
/// without 64-bit atomics have it too (it is taken once per instance).
fn next_stamp() -> u64 {
    static NEXT: spin::Mutex<u64> = spin::Mutex::new(0);
    let mut next = NEXT.lock();
    *next = next.wrapping_add(1);
    *next
}

impl Live {
    /// Makes `short`, function `index`'s, say how the function is metered: the module is
    /// asked the first time (see `short`).
    #[inline(always)]
    pub(crate) fn know(&self, short: &Cell<Short>, index: usize, site: &Site) {
        if short.get() == Short::Unknown {
            self.settle_short(short, index, site);
        }
    }

    /// How function `index` is metered ([`Live::know`]), `No` for a call that is not typed.
    pub(crate) fn short(&self, index: usize, site: &Site) -> Short {
        let Some(short) = self.invokes.get(index).and_then(Invoke::short) else {
            return Short::No;
        };
        self.know(short, index, site);
        short.get()
    }

    #[cold]
    #[inline(never)]
    fn settle_short(&self, short: &Cell<Short>, index: usize, site: &Site) {
        short.set(match (&self.meter, site.plan(index)) {
            (Some(meter), Some(plan)) => match meter.short.judge(&plan.wasm_name) {
                Some(known) => known,
                // Being read by another instance's call: sliced this time, asked again next.
                None => return,
            },
            _ => Short::No,
        });
    }

    /// Sets how function `index` is metered.
    #[cold]
    #[inline(never)]
    pub(crate) fn remember(&self, index: usize, short: Short) {
        if let Some(known) = self.invokes.get(index).and_then(Invoke::short) {
            known.set(short);
        }
    }

    pub(crate) fn new(
        store: Store<Host>,
        instance: &Instance,
        plans: &[Plan],
        slot: Option<u32>,
        meter: Option<Meter>,
    ) -> Self {
        let memory = instance.get_memory(&store, "memory");
        let invokes = plans
            .iter()
            .map(|plan| match instance.get_func(&store, &plan.wasm_name) {
                Some(func) => Invoke::new(plan, func, &store, slot.is_some()),
                None => Invoke::Fails(format!("the export `{}` is gone", plan.wasm_name)),
            })
            .collect();
        Self {
            store,
            memory,
            slot,
            invokes,
            scratch: Vec::new(),
            meter,
            stamp: next_stamp(),
        }
    }
}

/// Why a call failed, before [`Site::error`] names the plugin and the function.
pub(crate) enum Failure {
    /// The arguments do not fit the plan (count or type).
    Arguments,
    /// The wasm code trapped, or a host function failed.
    Trap(wasmi::Error),
    /// The plugin reported an error with `xxplugin.error`, then trapped (a Rust guest's
    /// panic): the error is the call's, and the trap ends the instance as any trap does.
    GuestTrap(String, wasmi::Error),
    /// The call ran into a limit.
    Limit(Limit),
    /// The plugin broke the ABI.
    Abi(String),
    /// The plugin reported an error with `xxplugin.error`.
    Guest(String),
}

/// A plugin version as one call sees it: its name, for errors, its config, for limits, and
/// its functions' plans. Each version owns one, so a call passes one pointer, and what only a
/// failure needs (a plan, the config) is read only when one happens.
pub(crate) struct Site {
    pub(crate) plugin: Arc<str>,
    pub(crate) config: Arc<Config>,
    pub(crate) plans: Arc<[Plan]>,
}

impl Site {
    fn config(&self) -> &Config {
        &self.config
    }

    /// The plan at `index`.
    #[inline(always)]
    pub(crate) fn plan(&self, index: usize) -> Option<&Plan> {
        self.plans.get(index)
    }

    /// The call itself. Failures stay small here; naming them is left to [`Site::error`],
    /// out of line, so that the successful path moves little.
    #[inline(always)]
    pub(crate) fn invoke(
        &self,
        index: usize,
        plan: &Plan,
        live: &mut Live,
        args: &[Object],
    ) -> Result<Object, Failure> {
        let Some(invoke) = live.invokes.get(index) else {
            return Err(Failure::Abi(String::from("the function is missing")));
        };
        if let Some(short) = invoke.short() {
            live.know(short, index, self);
        }
        let (store, meter) = (&mut live.store, live.meter.as_ref());
        let int = |r: i32| match plan.output {
            Output::Bool => Object::Bool(r != 0),
            _ => Object::Int(i64::from(r)),
        };
        match (invoke, args) {
            (Invoke::I64ToI64(t, short), [Object::Int(a)]) => {
                self.exec(meter, short, store, t, *a).map(Object::Int)
            }
            (Invoke::I64x2ToI64(t, short), [Object::Int(a), Object::Int(b)]) => {
                self.exec(meter, short, store, t, (*a, *b)).map(Object::Int)
            }
            (Invoke::I64x3ToI64(t, short), [Object::Int(a), Object::Int(b), Object::Int(c)]) => {
                self.exec(meter, short, store, t, (*a, *b, *c))
                    .map(Object::Int)
            }
            (Invoke::NoneToI64(t, short), []) => {
                self.exec(meter, short, store, t, ()).map(Object::Int)
            }
            (Invoke::I64ToI32(t, short), [Object::Int(a)]) => {
                self.exec(meter, short, store, t, *a).map(int)
            }
            (Invoke::I64x2ToI32(t, short), [Object::Int(a), Object::Int(b)]) => {
                self.exec(meter, short, store, t, (*a, *b)).map(int)
            }
            (Invoke::F64ToF64(t, short), [a]) => {
                let a = float(a)?;
                self.exec(meter, short, store, t, a).map(Object::Float)
            }
            (Invoke::F64x2ToF64(t, short), [a, b]) => {
                let (a, b) = (float(a)?, float(b)?);
                self.exec(meter, short, store, t, (a, b)).map(Object::Float)
            }
            (Invoke::Range(t, short), [Object::Int(n)]) => {
                let (t, known) = (*t, short.get());
                self.range(live, index, known, t, *n).map(Object::Array)
            }
            (Invoke::Generic { func, results }, _) if args.len() == plan.params.len() => {
                self.generic(plan, live, *func, *results, args)
            }
            (
                Invoke::Declared {
                    func,
                    results,
                    shape,
                },
                _,
            ) if args.len() == plan.params.len() => {
                self.declared(plan, live, *func, *results, *shape, args)
            }
            (Invoke::Fails(reason), _) if args.len() == plan.params.len() => {
                Err(Failure::Abi(reason.clone()))
            }
            _ => Err(Failure::Arguments),
        }
    }

    /// Runs a typed call, metered when the plugin's calls are, as `short` says
    /// ([`Live::know`]); a pure function that outlasted its plain slice turns `short` to
    /// [`Short::No`].
    #[inline(always)]
    pub(crate) fn exec<P: WasmParams + Copy, R: WasmResults>(
        &self,
        meter: Option<&Meter>,
        short: &Cell<Short>,
        store: &mut Store<Host>,
        func: &impl Callable<P, R>,
        params: P,
    ) -> Result<R, Failure> {
        let ran = match meter {
            None => func.call(store, params).map_err(Stop::Trap),
            Some(meter) => meter.call(store, func, params, short),
        };
        ran.map_err(|stop| self.stopped(store, stop))
    }

    /// Runs an untyped call, metered when the plugin's calls are.
    fn exec_dyn(
        &self,
        meter: Option<&Meter>,
        store: &mut Store<Host>,
        func: Func,
        inputs: &[Val],
        outputs: &mut [Val],
    ) -> Result<(), Failure> {
        let ran = match meter {
            None => func.call(&mut *store, inputs, outputs).map_err(Stop::Trap),
            Some(meter) => meter.call_dyn(store, func, inputs, outputs),
        };
        ran.map_err(|stop| self.stopped(store, stop))
    }

    /// [`exec`](Site::exec) for a caller that holds the whole instance, function `index` being
    /// metered as `known`: a change the call makes to that (a pure function that outlasted its
    /// plain slice) is remembered by the instance. Gives the outcome, and how the function is
    /// metered now.
    #[inline(always)]
    pub(crate) fn exec_in<P: WasmParams + Copy, R: WasmResults>(
        &self,
        live: &mut Live,
        index: usize,
        known: Short,
        func: &impl Callable<P, R>,
        params: P,
    ) -> (Result<R, Failure>, Short) {
        let short = Cell::new(known);
        let ran = self.exec(live.meter.as_ref(), &short, &mut live.store, func, params);
        let now = short.get();
        if now != known {
            live.remember(index, now);
        }
        (ran, now)
    }

    /// What stopped a call: a limit the store or the engine reports, else the trap.
    #[cold]
    #[inline(never)]
    fn stopped(&self, store: &mut Store<Host>, stop: Stop) -> Failure {
        let hit = store.data_mut().take_hit();
        match (stop, hit) {
            (Stop::Limit(limit), _) | (Stop::Trap(_), Some(limit)) => Failure::Limit(limit),
            (Stop::Trap(e), None) => match e.as_trap_code() {
                Some(TrapCode::StackOverflow) => {
                    Failure::Limit(Limit::CallDepth(self.config().max_call_depth))
                }
                Some(TrapCode::OutOfFuel) => {
                    Failure::Limit(Limit::Fuel(self.config().fuel.unwrap_or_default()))
                }
                _ => match store.data_mut().call.take_error() {
                    Some(message) => Failure::GuestTrap(message, e),
                    None => Failure::Trap(e),
                },
            },
        }
    }

    /// Runs `range_(n)` (an int array through the legacy result slot) and gives the array's
    /// items. The caller wraps them as `Object::Array` where it returns the value: an
    /// `Object` made here and moved out through the `Result`s on the way would be copied
    /// with reads wider than its writes, and stall on them (a builtin `range_(10)` took
    /// 220 ns that way, against 187 ns now; `examples/call_profile range-trusted`).
    ///
    /// `known` is how function `index` is metered ([`Live::know`]); the call takes the whole
    /// instance, so a change is remembered through [`Site::exec_in`].
    pub(crate) fn range(
        &self,
        live: &mut Live,
        index: usize,
        known: Short,
        t: TwinFunc<(i64, i32), ()>,
        n: i64,
    ) -> Result<Arc<[Object]>, Failure> {
        let (Some(slot), Some(memory)) = (live.slot, live.memory) else {
            return Err(Failure::Abi(String::from("the plugin exports no `memory`")));
        };
        self.exec_in(live, index, known, &t, (n, slot as i32)).0?;
        let mem = memory.data(&live.store);
        let (ptr, count) = memory::u32_pair(mem, slot).map_err(Failure::Abi)?;
        let values = memory::i64s(mem, ptr, count).map_err(Failure::Abi)?;
        let max = self.config().max_host_bytes();
        let host = (count as usize).saturating_mul(crate::msgpack::host_size::SLOT);
        if host > max {
            return Err(Failure::Abi(format!(
                "its result is {count} ints, {host} bytes as host values; the limit is {max} \
                 bytes (max_result_bytes)"
            )));
        }
        Ok(values.map(Object::Int).collect())
    }

    fn generic(
        &self,
        plan: &Plan,
        live: &mut Live,
        func: Func,
        results: usize,
        args: &[Object],
    ) -> Result<Object, Failure> {
        let scratch = &mut live.scratch;
        scratch.clear();
        for (arg, param) in args.iter().zip(plan.params.iter()) {
            let ParamPlan::Number(scalar) = param else {
                return Err(Failure::Arguments);
            };
            scratch.push(to_val(arg, *scalar).ok_or(Failure::Arguments)?);
        }
        let n = scratch.len();
        scratch.resize(n + results, Val::I32(0));
        let (ins, outs) = scratch.split_at_mut(n);
        self.exec_dyn(live.meter.as_ref(), &mut live.store, func, ins, outs)?;
        Ok(output(&plan.output, outs))
    }

    /// A call of a declared function: arguments checked against the declaration and made
    /// available to `xxplugin.arg`, the result taken from `xxplugin.result` (or the wasm result),
    /// a failure from `xxplugin.error`.
    fn declared(
        &self,
        plan: &Plan,
        live: &mut Live,
        func: Func,
        results: usize,
        shape: Shape,
        args: &[Object],
    ) -> Result<Object, Failure> {
        let n = self.stage(plan, live, args)?;
        let scratch = &mut live.scratch;
        scratch.resize(n + results, Val::I32(0));
        let (ins, outs) = scratch.split_at_mut(n);
        let (store, meter) = (&mut live.store, live.meter.as_ref());
        let ran = match (shape, &*ins) {
            (Shape::I32(t), [Val::I32(a)]) => {
                self.exec(meter, &Cell::new(Short::No), store, &t, *a)
            }
            (Shape::I32x2(t), [Val::I32(a), Val::I32(b)]) => {
                self.exec(meter, &Cell::new(Short::No), store, &t, (*a, *b))
            }
            (Shape::I64(t), [Val::I64(a)]) => {
                self.exec(meter, &Cell::new(Short::No), store, &t, *a)
            }
            _ => self.exec_dyn(meter, store, func, ins, outs),
        };
        let call = &mut live.store.data_mut().call;
        call.end();
        ran?;
        match (&plan.output, sent(call)?) {
            (Output::Memory(_), Sent::Value(v)) => Ok(v),
            (Output::Memory(ty), Sent::Encoded) => {
                let max = self.config().max_host_bytes();
                values::lift(&call.result_bytes, ty, max).map_err(|e| {
                    Failure::Abi(match e {
                        LiftError::Decode(e) => format!("its {ty} result: {e} (max_result_bytes)"),
                        LiftError::Utf8(e) => format!("its {ty} result is not UTF-8 ({e})"),
                    })
                })
            }
            (Output::Memory(_), Sent::Nothing) => Err(Failure::Abi(String::from(
                "it returned without sending its result (xxplugin.result)",
            ))),
            (other, _) => Ok(output(other, outs)),
        }
    }

    /// Begins a typed-ABI call of `plan` on `call`: what `xxplugin.result` must send, and at
    /// most how much.
    pub(crate) fn begin(&self, plan: &Plan, call: &mut CallState) {
        let expect = match &plan.output {
            Output::Memory(ty) => Expect::of(ty),
            _ => Expect::Nothing,
        };
        call.begin(expect, self.config().max_result_bytes);
    }

    /// Begins a typed-ABI call of `plan` with `args`: memory-type arguments kept for
    /// `xxplugin.arg`, the wasm arguments in the scratch buffer; returns how many.
    fn stage(&self, plan: &Plan, live: &mut Live, args: &[Object]) -> Result<usize, Failure> {
        let call = &mut live.store.data_mut().call;
        self.begin(plan, call);
        let scratch = &mut live.scratch;
        scratch.clear();
        for (arg, param) in args.iter().zip(plan.params.iter()) {
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
        Ok(scratch.len())
    }

    /// The [`Error`] for a failure: which plugin, which function, what went wrong.
    #[cold]
    #[inline(never)]
    pub(crate) fn error(&self, plan: &Plan, args: &[Object], failure: Failure) -> Error {
        let plugin = &*self.plugin;
        let function = plan.name.as_str();
        match failure {
            Failure::Arguments => argument_error(plugin, plan, args),
            Failure::Trap(e) => {
                if let Some(failed) = e.downcast_ref::<HostFailed>() {
                    let kind = ErrorKind::Host {
                        function: String::from(&*failed.function),
                        message: failed.message.clone(),
                    };
                    return Error::call(kind, plugin, function);
                }
                let message = trap_message(&e);
                Error::call(ErrorKind::Trap { message }, plugin, function).with_source(e)
            }
            Failure::Limit(limit) => Error::call(ErrorKind::Limit(limit), plugin, function),
            Failure::Abi(reason) => Error::call(ErrorKind::Abi { reason }, plugin, function),
            Failure::Guest(message) => Error::call(ErrorKind::Guest { message }, plugin, function),
            Failure::GuestTrap(message, e) => {
                Error::call(ErrorKind::Guest { message }, plugin, function).with_source(e)
            }
        }
    }
}

/// What a typed-ABI call that has ended sent, or why it failed: the plugin's own error
/// (`xxplugin.error`), or its breach of the ABI.
pub(crate) fn sent(call: &mut CallState) -> Result<Sent, Failure> {
    call.take_sent().map_err(|refused| match refused {
        Refused::Error(message) => Failure::Guest(message),
        Refused::Violation(violation) => Failure::Abi(violation),
    })
}

/// A trap's message; a WASI `proc_exit` says so.
fn trap_message(e: &wasmi::Error) -> String {
    match e.i32_exit_status() {
        Some(status) => format!("the plugin called proc_exit({status})"),
        None => e.to_string(),
    }
}

/// The error for arguments that do not fit the plan: a count, or the first argument of the
/// wrong type.
fn argument_error(plugin: &str, plan: &Plan, args: &[Object]) -> Error {
    let function = plan.name.as_str();
    if args.len() != plan.params.len() {
        let kind = ErrorKind::Arity {
            expected: plan.signature.describe_params(),
            got: args.len(),
            signature: plan.signature.to_string(),
        };
        return Error::call(kind, plugin, function);
    }
    let bad = args
        .iter()
        .zip(plan.params.iter())
        .enumerate()
        .find_map(|(i, (arg, param))| mismatch(arg, param).map(|m| (i, m)));
    let Some((index, (expected, got))) = bad else {
        let reason = String::from("arguments do not match the plan");
        return Error::call(ErrorKind::Abi { reason }, plugin, function);
    };
    let kind = ErrorKind::Type {
        position: index + 1,
        expected,
        got,
    };
    Error::call(kind, plugin, function)
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
            return match crate::msgpack::encode(arg, ty, &mut Vec::new()) {
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

/// A float argument: a float, or an int widened.
pub(crate) fn float(v: &Object) -> Result<f64, Failure> {
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
