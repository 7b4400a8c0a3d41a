//! The builtin of each function: a closure that calls it through the plugin's [`Runtime`],
//! with its call path chosen when the builtin is made.
//!
//! A function whose plan has a typed call ([`Typed`]: ints or floats in, one number out, or
//! `range_`) gets a builtin that matches its arguments against that shape once and, on the
//! instance, runs wasmi's typed call directly: no general dispatch, and each shape is its own
//! small function. (wasmi's own call path is compiled in this crate for every shape, so
//! LLVM does not inline it here; see the README's performance notes.) Arguments of another
//! shape (which fail, with the error saying why), and an instance whose export a reload gave
//! another wasm type, take the general path, [`Site::invoke`].

use alloc::string::String;
use alloc::sync::Arc;

use crate::Error;

use super::call::{Failure, Invoke, Live, Site, float};
use super::plan::{Output, Plan, Typed};
use super::runtime::Runtime;
use crate::{Builtin, Object, Signature};

/// A function's call as [`WasmPlugin::call`](super::WasmPlugin::call) makes it: the same
/// path as its builtin, with the error as an [`Error`].
pub(crate) type ByName = crate::builtin::Fallible;

/// The builtin `name` of function `id` of `runtime`, whose plan is `plan`, and its call by name.
pub(crate) fn make(
    name: String,
    signature: Arc<Signature>,
    runtime: Arc<Runtime>,
    id: usize,
    plan: &Plan,
) -> (Builtin, ByName) {
    // Two copies of one call path: the builtin's own (errors become values), and the by-name
    // call's. Each makes its result where it returns it: an `Object` moved out of a `Result`
    // would be read back wider than it was written, and stall on that.
    fn both(
        name: String,
        signature: Arc<Signature>,
        call: impl Call + Clone + Send + Sync + 'static,
    ) -> (Builtin, ByName) {
        let by_name = call.clone();
        let by_name: ByName = Arc::new(move |args| by_name.call::<Result<Object, Error>>(args));
        let builtin = Builtin::of_plugin(
            name,
            signature,
            move |args| call.call::<Object>(args),
            by_name.clone(),
        );
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
                        Some(Invoke::$variant(t, short)) => {
                            live.know(short, index, site);
                            Some(site.exec(live.meter.as_ref(), short, &mut live.store, t, params))
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
                    Some(Invoke::Range(t, short)) => {
                        live.know(short, index, site);
                        let (t, known) = (*t, short.get());
                        Some(site.range(live, index, known, t, n))
                    }
                    _ => None,
                },
                Object::Array,
            ),
        ),
        None => both(name, signature, General { runtime, id }),
    }
}

/// How a builtin's call makes its result: a value (errors as values), or a `Result`.
trait Outcome {
    fn value(value: Object) -> Self;
    fn error(error: Error) -> Self;
}

impl Outcome for Object {
    #[inline(always)]
    fn value(value: Object) -> Self {
        value
    }
    fn error(error: Error) -> Self {
        Object::from(error)
    }
}

impl Outcome for Result<Object, Error> {
    #[inline(always)]
    fn value(value: Object) -> Self {
        Ok(value)
    }
    fn error(error: Error) -> Self {
        Err(error)
    }
}

/// A function's call from script arguments.
trait Call {
    fn call<O: Outcome>(&self, args: &[Object]) -> O;
}

/// The general path: any plan.
#[derive(Clone)]
struct General {
    runtime: Arc<Runtime>,
    id: usize,
}

impl Call for General {
    fn call<O: Outcome>(&self, args: &[Object]) -> O {
        call_general(&self.runtime, self.id, args)
    }
}

fn call_general<O: Outcome>(runtime: &Runtime, id: usize, args: &[Object]) -> O {
    match runtime.call(id, args) {
        Ok(value) => O::value(value),
        Err(e) => O::error(e),
    }
}

/// A call of one typed shape: `pick` takes the shape's wasm parameters from the arguments,
/// `run` calls the instance's typed function with them (`None`, having run nothing, when the
/// instance's export has another shape: a reload changed it; then the general path runs), and
/// `object` makes the wasm result a value. Arguments of another shape go the general way (and
/// fail there, with the error saying why).
///
/// The wasm result stays a plain number until the end: an [`Object`] moved through the layers
/// of `Result` between here and the instance costs more than the rest of the path.
#[derive(Clone)]
struct Shaped<Pick, Run, Make> {
    runtime: Arc<Runtime>,
    id: usize,
    pick: Pick,
    run: Run,
    object: Make,
}

fn shaped<P: Copy, R, Pick, Run, Make>(
    runtime: Arc<Runtime>,
    id: usize,
    pick: Pick,
    run: Run,
    object: Make,
) -> Shaped<Pick, Run, Make>
where
    Pick: Fn(&[Object]) -> Option<P>,
    Run: Fn(&Site, &mut Live, usize, P) -> Option<Result<R, Failure>>,
    Make: Fn(R) -> Object,
{
    Shaped {
        runtime,
        id,
        pick,
        run,
        object,
    }
}

impl<P: Copy, R, Pick, Run, Make> Call for Shaped<Pick, Run, Make>
where
    Pick: Fn(&[Object]) -> Option<P>,
    Run: Fn(&Site, &mut Live, usize, P) -> Option<Result<R, Failure>>,
    Make: Fn(R) -> Object,
{
    #[inline(always)]
    fn call<O: Outcome>(&self, args: &[Object]) -> O {
        let Some(params) = (self.pick)(args) else {
            return call_general(&self.runtime, self.id, args);
        };
        let run = &self.run;
        let result = self.runtime.call_with(
            self.id,
            args,
            #[inline(always)]
            move |site, index, live| match run(site, live, index, params) {
                Some(result) => result.map(Some),
                None => Ok(None),
            },
        );
        match result {
            Ok(Some(r)) => O::value((self.object)(r)),
            // The instance's export has another shape (a reload changed it), and nothing ran:
            // the general path takes the call.
            Ok(None) => call_general(&self.runtime, self.id, args),
            Err(e) => O::error(e),
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
