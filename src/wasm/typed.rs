//! [`TypedFunction`]: a plugin function called from Rust with Rust types, skipping
//! [`Object`](crate::Object)s.
//!
//! The handle's types are checked against the function's plan once, when it is made, and
//! again only when the instance it runs on changes (a trap, a reload, another slot of a pool).
//! A call then converts nothing: numbers go straight to wasmi's typed call; a `&str` or
//! `&[u8]` goes to the plugin's `xxplugin.arg` as it is, and a `String` or `Vec<u8>` comes
//! back from `xxplugin.result`.

use alloc::borrow::ToOwned;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::cell::Cell;
use core::fmt;
use core::marker::PhantomData;

use wasmi::TypedFunc;

use super::abi::exchange::{CallState, Sent};
use super::call::{Failure, Live, Site, sent};
use super::plan::{Convention, Output, ParamPlan, Plan, Scalar};
use super::runtime::Runtime;
use super::short::Short;
use crate::{Error, ErrorKind, Object, Type};

/// The parameter types a [`TypedFunction`] can take: one of `i64`, `i32`, `f64`, `f32`,
/// `bool`, `&str`, `&[u8]`, or a tuple of up to six of them (`()` for none).
///
/// An `i64` is an xxlang `int` (`i32`, `f32` only for plugins whose wasm export takes those),
/// `f64` a `float`, `&str` a `string` and `&[u8]` `bytes` of the typed ABI.
///
/// ```
/// use xxlang_plugin::WasmPlugin;
///
/// let text = WasmPlugin::from_file("plugins/textkit.wasm")?;
/// // choose(flag: bool, a: int, b: int) -> int
/// let choose = text.typed::<(bool, i64, i64), i64>("choose")?;
/// assert_eq!(choose.call((true, 1, 2))?, 1);
/// // xor(data: bytes, key: int) -> bytes
/// let xor = text.typed::<(&[u8], i64), Vec<u8>>("xor")?;
/// assert_eq!(xor.call((&[1, 2][..], 3))?, [2, 1]);
/// # Ok::<(), xxlang_plugin::Error>(())
/// ```
pub trait TypedParams: sealed::Params {}
impl<T: sealed::Params> TypedParams for T {}

/// The result types a [`TypedFunction`] can return: `i64`, `i32`, `f64`, `f32`, `bool`,
/// `String`, `Vec<u8>`, or `()` for a function that returns `null`.
///
/// ```
/// use xxlang_plugin::WasmPlugin;
///
/// let text = WasmPlugin::from_file("plugins/textkit.wasm")?;
/// assert!(text.typed::<&str, bool>("is_palindrome")?.call("level")?);
/// assert_eq!(text.typed::<(f64, f64), f64>("scale")?.call((1.5, 2.0))?, 3.0);
/// text.typed::<i64, ()>("noop")?.call(7)?; // noop(x: int) -> null
/// # Ok::<(), xxlang_plugin::Error>(())
/// ```
pub trait TypedResults: sealed::Results {}
impl<T: sealed::Results> TypedResults for T {}

/// A plugin function with Rust parameter and result types: made by
/// [`WasmPlugin::typed`](crate::WasmPlugin::typed), which checks the types against the
/// function once.
///
/// A call runs like a builtin's (same instances, limits, errors, reloads) without making or
/// matching [`Object`](crate::Object)s. The handle remembers the typed wasm function of the
/// instance it last ran on, so it is `Send` but not `Sync`: clone it for each thread (a
/// clone is cheap).
///
/// ```
/// use xxlang_plugin::WasmPlugin;
///
/// let test = WasmPlugin::from_file("plugins/testplugin.wasm")?;
/// let add = test.typed::<(i64, i64), i64>("add")?;
/// assert_eq!(add.call((10, 20))?, 30);
///
/// // Typed-ABI strings: `&str` in, `String` out.
/// let text = WasmPlugin::from_file("plugins/textkit.wasm")?;
/// let upper = text.typed::<&str, String>("upper")?;
/// assert_eq!(upper.call("hello")?, "HELLO");
///
/// // The types are checked when the handle is made.
/// let err = test.typed::<f64, f64>("add").unwrap_err();
/// assert!(err.to_string().contains("does not fit"), "{err}");
/// # Ok::<(), xxlang_plugin::Error>(())
/// ```
pub struct TypedFunction<P: TypedParams, R: TypedResults> {
    runtime: Arc<Runtime>,
    id: usize,
    /// The typed wasm function of the instance the last call ran on, and its stamp.
    last: Last<P, R>,
    _types: PhantomData<fn(P) -> R>,
}

/// A handle's typed wasm function on one instance, and how it is called there.
type Found<P, R> = (
    TypedFunc<<P as sealed::Params>::Wasm, <R as sealed::Results>::Wasm>,
    Kind,
);

/// How a handle's function is called on one instance.
#[derive(Clone, Copy)]
enum Kind {
    /// Through the typed ABI.
    Declared,
    /// A plain wasm call, metered as the [`Short`] says (see [`Live::know`]); `Unknown` when
    /// the module could not say yet.
    Plain(Short),
}

/// What a handle found on the instance its last call ran on, and that instance's stamp.
type Last<P, R> = Cell<Option<(u64, Found<P, R>)>>;

impl<P: TypedParams, R: TypedResults> Clone for TypedFunction<P, R> {
    fn clone(&self) -> Self {
        Self {
            runtime: self.runtime.clone(),
            id: self.id,
            last: Cell::new(self.last.get()),
            _types: PhantomData,
        }
    }
}

impl<P: TypedParams, R: TypedResults> fmt::Debug for TypedFunction<P, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "TypedFunction({}, {})",
            self.runtime.plugin,
            describe::<P, R>()
        )
    }
}

impl<P: TypedParams, R: TypedResults> TypedFunction<P, R> {
    /// The handle of function `id` of `runtime`, whose plan now is `plan`, if its types fit.
    pub(crate) fn new(runtime: Arc<Runtime>, id: usize, plan: &Plan) -> Result<Self, Error> {
        fits::<P, R>(plan).map_err(|why| mismatch::<P, R>(&runtime.plugin, plan, &why))?;
        Ok(Self {
            runtime,
            id,
            last: Cell::new(None),
            _types: PhantomData,
        })
    }

    /// Calls the function. Errors are those of a builtin's call (a trap, a limit, the plugin's
    /// own error), and [`ErrorKind::Signature`] when a reload gave the function other types.
    #[inline]
    pub fn call(&self, params: P) -> Result<R, Error> {
        let last = &self.last;
        self.runtime.call_with(
            self.id,
            &[],
            #[inline(always)]
            |site, index, live| {
                let (func, kind) = self::func::<P, R>(last, site, live, index)?;
                let short = match kind {
                    Kind::Declared => {
                        return declared_call::<P, R>(site, index, live, func, params);
                    }
                    Kind::Plain(Short::Unknown) => live.short(index, site),
                    Kind::Plain(known) => known,
                };
                if short == Short::Pure {
                    return pure_call::<P, R>(last, site, index, live, func, params);
                }
                let wasm = params.lower(&mut Stage(None)).map_err(Failure::Abi)?;
                let short = Cell::new(short);
                let result =
                    site.exec(live.meter.as_ref(), &short, &mut live.store, &func, wasm)?;
                R::lift(result, Delivered(None)).map_err(Failure::Abi)
            },
        )
    }
}

/// The call of a pure function (see `short`): if it outlasted its plain slice, the instance
/// and this handle remember that it is sliced from then on.
#[inline(never)]
fn pure_call<P: TypedParams, R: TypedResults>(
    last: &Last<P, R>,
    site: &Site,
    index: usize,
    live: &mut Live,
    func: TypedFunc<P::Wasm, R::Wasm>,
    params: P,
) -> Result<R, Failure> {
    let wasm = params.lower(&mut Stage(None)).map_err(Failure::Abi)?;
    let (ran, now) = site.exec_in(live, index, Short::Pure, &func, wasm);
    if now != Short::Pure {
        last.set(Some((live.stamp, (func, Kind::Plain(now)))));
    }
    R::lift(ran?, Delivered(None)).map_err(Failure::Abi)
}

/// The typed wasm function on `live`, and how it is called: what the last call found if it
/// ran on the same instance, else looked up and checked (the plan too: a reload may have
/// changed it).
#[inline(always)]
fn func<P: TypedParams, R: TypedResults>(
    last: &Last<P, R>,
    site: &Site,
    live: &mut Live,
    index: usize,
) -> Result<Found<P, R>, Failure> {
    match last.get() {
        Some((stamp, found)) if stamp == live.stamp => Ok(found),
        _ => refresh::<P, R>(last, site, live, index),
    }
}

#[cold]
#[inline(never)]
fn refresh<P: TypedParams, R: TypedResults>(
    last: &Last<P, R>,
    site: &Site,
    live: &mut Live,
    index: usize,
) -> Result<Found<P, R>, Failure> {
    let plan = site
        .plan(index)
        .ok_or_else(|| Failure::Abi(String::from("the function is missing")))?;
    let func = live.invokes.get(index).and_then(|invoke| invoke.func());
    let reshaped = |why: String| {
        Failure::Abi(format!(
            "a reload changed it: a typed handle of {} does not fit {}{} ({why})",
            describe::<P, R>(),
            plan.name,
            plan.signature
        ))
    };
    fits::<P, R>(plan).map_err(reshaped)?;
    let func = func.ok_or_else(|| Failure::Abi(String::from("the function is missing")))?;
    let typed = func
        .typed::<P::Wasm, R::Wasm>(&live.store)
        .map_err(|e| reshaped(e.to_string()))?;
    let kind = match plan.convention {
        Convention::Declared => Kind::Declared,
        _ => {
            // Asks the module now, once per instance (an unmetered instance settles at No).
            Kind::Plain(live.short(index, site))
        }
    };
    last.set(Some((live.stamp, (typed, kind))));
    Ok((typed, kind))
}

/// A call of a declared (typed-ABI) function: arguments staged for `xxplugin.arg`, the
/// result from `xxplugin.result` or the wasm result.
fn declared_call<P: TypedParams, R: TypedResults>(
    site: &Site,
    index: usize,
    live: &mut Live,
    func: TypedFunc<P::Wasm, R::Wasm>,
    params: P,
) -> Result<R, Failure> {
    let plan = site
        .plan(index)
        .ok_or_else(|| Failure::Abi(String::from("the function is missing")))?;
    let call = &mut live.store.data_mut().call;
    site.begin(plan, call);
    let wasm = match params.lower(&mut Stage(Some(call))) {
        Ok(wasm) => wasm,
        Err(why) => {
            call.end();
            return Err(Failure::Abi(why));
        }
    };
    // Declared functions call the host for their arguments and results: never short.
    let ran = site.exec(
        live.meter.as_ref(),
        &Cell::new(Short::No),
        &mut live.store,
        &func,
        wasm,
    );
    let call = &mut live.store.data_mut().call;
    call.end();
    let result = ran?;
    R::lift(result, Delivered(Some(sent(call)?))).map_err(Failure::Abi)
}

/// Whether the handle's types fit `plan`; if not, why.
fn fits<P: TypedParams, R: TypedResults>(plan: &Plan) -> Result<(), String> {
    let wanted = P::plans();
    if wanted.len() != plan.params.len() {
        return Err(format!(
            "it takes {} arguments, the handle {}",
            plan.params.len(),
            wanted.len()
        ));
    }
    for (i, (want, has)) in wanted.iter().zip(plan.params.iter()).enumerate() {
        if !want.fits(has) {
            return Err(format!("argument {} is {}", i + 1, show_param(has)));
        }
    }
    if !R::fits(Planned(&plan.output)) {
        return Err(format!("its result is {}", show_output(&plan.output)));
    }
    Ok(())
}

fn mismatch<P: TypedParams, R: TypedResults>(plugin: &str, plan: &Plan, why: &str) -> Error {
    let kind = ErrorKind::Signature {
        requested: describe::<P, R>(),
        found: format!("{} ({why})", plan.signature),
    };
    Error::call(kind, plugin, plan.name.as_str())
}

/// The handle's types, as `(i64, &str) -> String`.
fn describe<P: TypedParams, R: TypedResults>() -> String {
    let params: Vec<&str> = P::plans().iter().map(|p| p.rust).collect();
    format!("({}) -> {}", params.join(", "), R::RUST)
}

fn show_param(p: &ParamPlan) -> String {
    match p {
        ParamPlan::Number(s) => format!("{} ({})", s.script_type(), wasm_name(*s)),
        ParamPlan::Bool => String::from("bool"),
        ParamPlan::Memory(ty) => ty.to_string(),
    }
}

fn show_output(o: &Output) -> String {
    match o {
        Output::Null => String::from("null"),
        Output::Scalar(s) => format!("{} ({})", s.script_type(), wasm_name(*s)),
        Output::Bool => String::from("bool"),
        Output::Multi(_) => String::from("several values (use the Object API)"),
        Output::IntArraySlot => String::from("an int array (use the Object API)"),
        Output::LegacyMissingResult => String::from("missing"),
        Output::Memory(ty) => ty.to_string(),
    }
}

fn wasm_name(s: Scalar) -> &'static str {
    match s {
        Scalar::I32 => "i32",
        Scalar::I64 => "i64",
        Scalar::F32 => "f32",
        Scalar::F64 => "f64",
    }
}

/// What one Rust parameter type is to a plan.
#[doc(hidden)]
#[derive(Clone, Copy)]
pub struct Want {
    kind: WantKind,
    rust: &'static str,
}

#[derive(Clone, Copy)]
enum WantKind {
    Number(Scalar),
    Bool,
    String,
    Bytes,
}

impl Want {
    fn fits(&self, plan: &ParamPlan) -> bool {
        match (self.kind, plan) {
            (WantKind::Number(a), ParamPlan::Number(b)) => a == *b,
            (WantKind::Bool, ParamPlan::Bool) => true,
            (WantKind::String, ParamPlan::Memory(Type::String)) => true,
            (WantKind::Bytes, ParamPlan::Memory(Type::Bytes)) => true,
            _ => false,
        }
    }
}

/// Where a call stages its memory-type arguments (declared functions only).
#[doc(hidden)]
pub struct Stage<'a>(Option<&'a mut CallState>);

/// A function's planned result, for [`sealed::Results::fits`].
#[doc(hidden)]
pub struct Planned<'a>(&'a Output);

/// What the plugin sent with `xxplugin.result` (declared functions only).
#[doc(hidden)]
pub struct Delivered(Option<Sent>);

mod sealed {
    use super::*;

    /// One parameter.
    pub trait Param {
        type Wasm: wasmi::WasmTy + Copy;
        const WANT: Want;
        /// The wasm argument; a memory type is staged in `call` (declared functions).
        fn lower(self, stage: &mut Stage<'_>) -> Result<Self::Wasm, String>;
    }

    pub trait Params {
        type Wasm: wasmi::WasmParams + Copy;
        fn plans() -> Vec<Want>;
        fn lower(self, stage: &mut Stage<'_>) -> Result<Self::Wasm, String>;
    }

    pub trait Results: Sized {
        type Wasm: wasmi::WasmResults;
        const RUST: &'static str;
        fn fits(output: Planned<'_>) -> bool;
        /// The value of the wasm result, or of what the plugin sent (declared functions).
        fn lift(wasm: Self::Wasm, sent: Delivered) -> Result<Self, String>;
    }

    macro_rules! number {
        ($t:ty, $scalar:ident) => {
            impl Param for $t {
                type Wasm = $t;
                const WANT: Want = Want {
                    kind: WantKind::Number(Scalar::$scalar),
                    rust: stringify!($t),
                };
                #[inline(always)]
                fn lower(self, stage: &mut Stage<'_>) -> Result<$t, String> {
                    if let Some(call) = &mut stage.0 {
                        call.push_number();
                    }
                    Ok(self)
                }
            }

            impl Results for $t {
                type Wasm = $t;
                const RUST: &'static str = stringify!($t);
                fn fits(output: Planned<'_>) -> bool {
                    *output.0 == Output::Scalar(Scalar::$scalar)
                }
                #[inline(always)]
                fn lift(wasm: $t, _: Delivered) -> Result<$t, String> {
                    Ok(wasm)
                }
            }
        };
    }
    number!(i64, I64);
    number!(i32, I32);
    number!(f64, F64);
    number!(f32, F32);

    impl Param for bool {
        type Wasm = i32;
        const WANT: Want = Want {
            kind: WantKind::Bool,
            rust: "bool",
        };
        fn lower(self, stage: &mut Stage<'_>) -> Result<i32, String> {
            if let Some(call) = &mut stage.0 {
                call.push_number();
            }
            Ok(i32::from(self))
        }
    }

    impl Results for bool {
        type Wasm = i32;
        const RUST: &'static str = "bool";
        fn fits(output: Planned<'_>) -> bool {
            *output.0 == Output::Bool
        }
        fn lift(wasm: i32, _: Delivered) -> Result<bool, String> {
            Ok(wasm != 0)
        }
    }

    /// A memory-type argument: its bytes for `xxplugin.arg`, its length the wasm argument.
    fn stage(bytes: &[u8], stage: &mut Stage<'_>) -> Result<i32, String> {
        let call = stage
            .0
            .as_deref_mut()
            .ok_or_else(|| String::from("only a typed-ABI function takes this"))?;
        call.push_raw(bytes)
            .map_err(|()| format!("an argument of {} bytes is too long", bytes.len()))
    }

    impl Param for &str {
        type Wasm = i32;
        const WANT: Want = Want {
            kind: WantKind::String,
            rust: "&str",
        };
        fn lower(self, to: &mut Stage<'_>) -> Result<i32, String> {
            stage(self.as_bytes(), to)
        }
    }

    impl Param for &[u8] {
        type Wasm = i32;
        const WANT: Want = Want {
            kind: WantKind::Bytes,
            rust: "&[u8]",
        };
        fn lower(self, to: &mut Stage<'_>) -> Result<i32, String> {
            stage(self, to)
        }
    }

    /// The value `xxplugin.result` sent.
    fn sent(sent: Delivered) -> Result<Object, String> {
        match sent.0 {
            Some(Sent::Value(value)) => Ok(value),
            _ => Err(String::from(
                "it returned without sending its result (xxplugin.result)",
            )),
        }
    }

    impl Results for String {
        type Wasm = ();
        const RUST: &'static str = "String";
        fn fits(output: Planned<'_>) -> bool {
            *output.0 == Output::Memory(Type::String)
        }
        fn lift(_: (), value: Delivered) -> Result<String, String> {
            match sent(value)? {
                Object::String(s) => Ok(s.as_ref().to_owned()),
                other => Err(format!("it sent {} for a string", other.type_name())),
            }
        }
    }

    impl Results for Vec<u8> {
        type Wasm = ();
        const RUST: &'static str = "Vec<u8>";
        fn fits(output: Planned<'_>) -> bool {
            *output.0 == Output::Memory(Type::Bytes)
        }
        fn lift(_: (), value: Delivered) -> Result<Vec<u8>, String> {
            match sent(value)? {
                Object::Bytes(b) => Ok(b.to_vec()),
                other => Err(format!("it sent {} for bytes", other.type_name())),
            }
        }
    }

    impl Results for () {
        type Wasm = ();
        const RUST: &'static str = "()";
        fn fits(output: Planned<'_>) -> bool {
            *output.0 == Output::Null
        }
        fn lift(_: (), _: Delivered) -> Result<(), String> {
            Ok(())
        }
    }

    impl<T: Param> Params for T {
        type Wasm = T::Wasm;
        fn plans() -> Vec<Want> {
            alloc::vec![T::WANT]
        }
        #[inline(always)]
        fn lower(self, stage: &mut Stage<'_>) -> Result<T::Wasm, String> {
            Param::lower(self, stage)
        }
    }

    macro_rules! tuple {
        ($($t:ident),*) => {
            impl<$($t: Param),*> Params for ($($t,)*) {
                type Wasm = ($($t::Wasm,)*);
                fn plans() -> Vec<Want> {
                    alloc::vec![$($t::WANT),*]
                }
                #[allow(non_snake_case, unused_mut, unused_variables)]
                #[inline(always)]
                fn lower(self, stage: &mut Stage<'_>) -> Result<Self::Wasm, String> {
                    let ($($t,)*) = self;
                    Ok(($(Param::lower($t, stage)?,)*))
                }
            }
        };
    }
    tuple!();
    tuple!(A);
    tuple!(A, B);
    tuple!(A, B, C);
    tuple!(A, B, C, D);
    tuple!(A, B, C, D, E);
    tuple!(A, B, C, D, E, F);
}
