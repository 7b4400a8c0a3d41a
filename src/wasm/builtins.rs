//! The builtin of each function: a closure that calls it through the plugin's [`Runtime`],
//! with its call path chosen when the builtin is made.
//!
//! A function whose plan has a typed call ([`Typed`]: ints or floats in, one number out, or
//! `range_`) gets a builtin that matches its arguments against that shape once and, on the
//! instance, runs wasmi's typed call directly: no general dispatch, and each shape is its own
//! small function, so wasmi's call is inlined into it. Arguments of another shape (which
//! fail, with the error saying why), and an instance whose export a reload gave another wasm
//! type, take the general path, [`Site::invoke`].

use alloc::string::String;
use alloc::sync::Arc;

use crate::Error;

use super::call::{Failure, Invoke, Live, Site, Typed, float};
use super::plan::{Output, Plan};
use super::runtime::Runtime;
use crate::{Builtin, Object, Signature};

/// A function's call as [`WasmPlugin::call`](super::WasmPlugin::call) makes it: the same
/// path as its builtin, with the error as an [`Error`].
pub(crate) type ByName = Arc<dyn Fn(&[Object]) -> Result<Object, Error> + Send + Sync>;

/// The builtin `name` of function `id` of `runtime`, whose plan is `plan`, and its call by name.
pub(crate) fn make(
    name: String,
    signature: Signature,
    runtime: Arc<Runtime>,
    id: usize,
    plan: &Plan,
) -> (Builtin, ByName) {
    // Two copies of one call path: the builtin's own (inlined, errors become values), and the
    // by-name call's.
    fn both(
        name: String,
        signature: Signature,
        call: impl Fn(&[Object]) -> Result<Object, Error> + Clone + Send + Sync + 'static,
    ) -> (Builtin, ByName) {
        let by_name: ByName = Arc::new(call.clone());
        let builtin = Builtin::with_signature(name, signature, move |args| {
            call(args).unwrap_or_else(Object::from)
        });
        (builtin, by_name)
    }
    // One shape: how the arguments give its wasm parameters, which `Invoke` runs it, and how
    // its wasm result becomes a value.
    macro_rules! shape {
        ($variant:ident, |$args:ident| $pick:expr, $object:expr) => {
            both(
                name,
                signature,
                shaped(
                    runtime,
                    id,
                    #[inline(always)]
                    |$args| $pick,
                    #[inline(always)]
                    |site, live, index, params| match live.invokes.get(index) {
                        Some(Invoke::$variant(t)) => {
                            let t = *t;
                            Some(site.exec(live.meter.as_ref(), &mut live.store, &t, params))
                        }
                        _ => None,
                    },
                    $object,
                ),
            )
        };
    }
    match Typed::of(plan) {
        Some(Typed::I64ToI64) => shape!(I64ToI64, |args| int1(args), int),
        Some(Typed::I64x2ToI64) => shape!(I64x2ToI64, |args| int2(args), int),
        Some(Typed::I64x3ToI64) => shape!(
            I64x3ToI64,
            |args| match args {
                [Object::Int(a), Object::Int(b), Object::Int(c)] => Some((*a, *b, *c)),
                _ => None,
            },
            int
        ),
        Some(Typed::NoneToI64) => shape!(NoneToI64, |args| args.is_empty().then_some(()), int),
        Some(Typed::I64ToI32) => shape!(I64ToI32, |args| int1(args), int32(plan)),
        Some(Typed::I64x2ToI32) => shape!(I64x2ToI32, |args| int2(args), int32(plan)),
        Some(Typed::F64ToF64) => shape!(
            F64ToF64,
            |args| match args {
                [a] => float(a).ok(),
                _ => None,
            },
            Object::Float
        ),
        Some(Typed::F64x2ToF64) => shape!(
            F64x2ToF64,
            |args| match args {
                [a, b] => Some((float(a).ok()?, float(b).ok()?)),
                _ => None,
            },
            Object::Float
        ),
        Some(Typed::Range) => both(
            name,
            signature,
            shaped(
                runtime,
                id,
                int1,
                #[inline(always)]
                |site, live, index, n| match live.invokes.get(index) {
                    Some(Invoke::Range(t)) => {
                        let t = *t;
                        Some(site.range(live, t, n))
                    }
                    _ => None,
                },
                |r| r,
            ),
        ),
        None => both(name, signature, move |args| runtime.call(id, args)),
    }
}

/// A builtin's function for one call shape: `pick` takes the shape's wasm parameters from
/// the arguments, `run` calls the instance's typed function with them (`None` when the
/// instance's export has another shape: a reload changed it; then the general path runs, on
/// the same instance), and `object` makes the wasm result a value. Arguments of another
/// shape go the general way (and fail there, with the error saying why).
///
/// The wasm result stays a plain number until the end: an [`Object`] moved through the
/// layers of `Result` between here and the instance costs more than the rest of the path.
#[inline(always)]
fn shaped<P: Copy, R>(
    runtime: Arc<Runtime>,
    id: usize,
    pick: impl Fn(&[Object]) -> Option<P> + Clone + Send + Sync + 'static,
    run: impl Fn(Site<'_>, &mut Live, usize, P) -> Option<Result<R, Failure>>
    + Clone
    + Send
    + Sync
    + 'static,
    object: impl Fn(R) -> Object + Clone + Send + Sync + 'static,
) -> impl Fn(&[Object]) -> Result<Object, Error> + Clone + Send + Sync + 'static {
    move |args| {
        let Some(params) = pick(args) else {
            return runtime.call(id, args);
        };
        let mut other = None;
        let (run, slot) = (&run, &mut other);
        let result = runtime.call_with(
            id,
            args,
            #[inline(always)]
            move |site, index, plan, live| match run(site, live, index, params) {
                Some(result) => result.map(Some),
                None => {
                    *slot = Some(general(site, index, plan, live, args)?);
                    Ok(None)
                }
            },
        );
        // `other` is only read when the general path ran: moving it otherwise would read
        // back its one-byte `None` as a wider value, and stall on that.
        match result {
            Ok(Some(r)) => Ok(object(r)),
            Ok(None) => Ok(other.unwrap_or(Object::Null)),
            Err(e) => Err(e),
        }
    }
}

fn int1(args: &[Object]) -> Option<i64> {
    match args {
        [Object::Int(a)] => Some(*a),
        _ => None,
    }
}

fn int2(args: &[Object]) -> Option<(i64, i64)> {
    match args {
        [Object::Int(a), Object::Int(b)] => Some((*a, *b)),
        _ => None,
    }
}

/// The general path, for an instance whose export has another shape than the builtin's.
#[cold]
#[inline(never)]
fn general(
    site: Site<'_>,
    index: usize,
    plan: &Plan,
    live: &mut Live,
    args: &[Object],
) -> Result<Object, Failure> {
    site.invoke(index, plan, live, args)
}

fn int(r: i64) -> Object {
    Object::Int(r)
}

/// How an i32 result becomes a value: a bool for an `is_*` function, else an int. The
/// function's name decides it, and a reload keeps names (function ids are by name).
fn int32(plan: &Plan) -> impl Fn(i32) -> Object + Clone + Send + Sync + 'static {
    let bool = plan.output == Output::Bool;
    move |r| match bool {
        true => Object::Bool(r != 0),
        false => Object::Int(i64::from(r)),
    }
}
