//! [`TwinFunc`]: a typed wasm function with two handles, so that its plain calls and its
//! resumable calls run different copies of wasmi's call path.
//!
//! wasmi compiles its call path (`TypedFunc::call` down to `execute_root_func`) in the
//! caller's crate, once for each store type, parameter types and result types. A plain call
//! and a resumable call of the same types share `execute_root_func`: with two callers, LLVM
//! inlines it into neither, and every plain call pays its out-of-line moves: an unmetered
//! builtin `add(i64, i64)` is 689 instructions with twins, 737 without (`examples/call_profile`).
//! So a builtin's resumable calls are made through a twin handle, whose Rust types give the
//! same wasm types (`u64` for `i64`, `u32` for `i32`, [`F64`] for `f64`, [`F32`] for `f32`):
//! the plain call's copy then has one caller, and LLVM inlines it.
//!
//! Calls take either kind of handle ([`Callable`]): a [`TwinFunc`] (builtins, start-up), or
//! one `TypedFunc` for both calls (typed handles, see its impl). Start-up code takes twins
//! too: metered, it runs resumably, and a metadata getter (`(i32) -> ()`, `() -> i64`) has
//! the types of a builtin's shape, whose plain copy would have a second caller again.

use wasmi::{
    AsContext, Error, F32, F64, Func, Store, TypedFunc, TypedResumableCall, WasmParams,
    WasmResults, WasmTy,
};

/// A wasm number type, and its twin: another Rust type of the same wasm type, converted
/// bit for bit.
pub(crate) trait Scalar: WasmTy + Copy {
    type Twin: WasmTy + Copy;
    fn twin(self) -> Self::Twin;
    fn untwin(twin: Self::Twin) -> Self;
}

macro_rules! scalar {
    ($t:ty, $twin:ty, |$a:ident| $to:expr, |$b:ident| $from:expr) => {
        impl Scalar for $t {
            type Twin = $twin;
            #[inline(always)]
            fn twin(self) -> $twin {
                let $a = self;
                $to
            }
            #[inline(always)]
            fn untwin(twin: $twin) -> $t {
                let $b = twin;
                $from
            }
        }
    };
}
scalar!(i32, u32, |x| x as u32, |x| x as i32);
scalar!(i64, u64, |x| x as u64, |x| x as i64);
scalar!(f32, F32, |x| F32::from_float(x), |x| x.to_float());
scalar!(f64, F64, |x| F64::from_float(x), |x| x.to_float());

/// The parameters of a typed call, and their twin.
pub(crate) trait Params: WasmParams + Copy {
    type Twin: WasmParams + Copy;
    fn twin(self) -> Self::Twin;
}

/// The results of a typed call, and their twin.
pub(crate) trait Results: WasmResults {
    type Twin: WasmResults;
    fn untwin(twin: Self::Twin) -> Self;
}

impl<S: Scalar> Params for S {
    type Twin = S::Twin;
    #[inline(always)]
    fn twin(self) -> S::Twin {
        Scalar::twin(self)
    }
}

impl<S: Scalar> Results for S {
    type Twin = S::Twin;
    #[inline(always)]
    fn untwin(twin: S::Twin) -> S {
        Scalar::untwin(twin)
    }
}

/// No results have no twin: a call with no parameters and no results has its two calls share
/// one copy, which costs speed, never correctness.
impl Results for () {
    type Twin = ();
    #[inline(always)]
    fn untwin((): ()) {}
}

macro_rules! tuple {
    ($($t:ident),*) => {
        impl<$($t: Scalar),*> Params for ($($t,)*) {
            type Twin = ($($t::Twin,)*);
            #[allow(non_snake_case, clippy::unused_unit)]
            #[inline(always)]
            fn twin(self) -> Self::Twin {
                let ($($t,)*) = self;
                ($($t.twin(),)*)
            }
        }
    };
}
// The parameter lists of the builtins' typed shapes (`call::Invoke`, `call::Shape`) and of
// start-up code; a bare number is one parameter.
tuple!();
tuple!(A, B);
tuple!(A, B, C);

/// A typed wasm function as a call runs it: plainly, or resumably (in slices of fuel).
pub(crate) trait Callable<P: WasmParams, R: WasmResults>: Copy {
    /// What a resumable call finishes with; [`finish`](Callable::finish) makes it `R`.
    type Sliced: WasmResults;
    fn call<T>(&self, store: &mut Store<T>, params: P) -> Result<R, Error>;
    fn call_resumable<T>(
        &self,
        store: &mut Store<T>,
        params: P,
    ) -> Result<TypedResumableCall<Self::Sliced>, Error>;
    fn finish(sliced: Self::Sliced) -> R;
}

/// One handle for both calls: what a typed handle ([`TypedFunction`](crate::TypedFunction))
/// uses. Its call is compiled in the embedder's crate, where few shapes share wasmi's call
/// path and LLVM inlines more of it with one copy for both calls than with two.
impl<P: WasmParams, R: WasmResults> Callable<P, R> for TypedFunc<P, R> {
    type Sliced = R;
    #[inline(always)]
    fn call<T>(&self, store: &mut Store<T>, params: P) -> Result<R, Error> {
        TypedFunc::call(self, store, params)
    }
    #[inline(always)]
    fn call_resumable<T>(
        &self,
        store: &mut Store<T>,
        params: P,
    ) -> Result<TypedResumableCall<R>, Error> {
        TypedFunc::call_resumable(self, store, params)
    }
    #[inline(always)]
    fn finish(sliced: R) -> R {
        sliced
    }
}

/// A typed wasm function with two handles: `plain` for plain calls, `resumable` (the same
/// function under the twin types) for resumable ones: what builtins use. See the module
/// documentation.
pub(crate) struct TwinFunc<P: Params, R: Results> {
    plain: TypedFunc<P, R>,
    resumable: TypedFunc<P::Twin, R::Twin>,
}

impl<P: Params, R: Results> Clone for TwinFunc<P, R> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<P: Params, R: Results> Copy for TwinFunc<P, R> {}

impl<P: Params, R: Results> TwinFunc<P, R> {
    /// `func` as a typed function of these types, if it has them.
    pub(crate) fn new(func: Func, store: impl AsContext) -> Result<Self, Error> {
        Ok(Self {
            plain: func.typed(&store)?,
            resumable: func.typed(&store)?,
        })
    }

    /// The wasm function.
    pub(crate) fn func(&self) -> &Func {
        self.plain.func()
    }
}

impl<P: Params, R: Results> Callable<P, R> for TwinFunc<P, R> {
    type Sliced = R::Twin;
    #[inline]
    fn call<T>(&self, store: &mut Store<T>, params: P) -> Result<R, Error> {
        self.plain.call(store, params)
    }
    #[inline(always)]
    fn call_resumable<T>(
        &self,
        store: &mut Store<T>,
        params: P,
    ) -> Result<TypedResumableCall<R::Twin>, Error> {
        self.resumable.call_resumable(store, params.twin())
    }
    #[inline(always)]
    fn finish(sliced: R::Twin) -> R {
        R::untwin(sliced)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A twin converts bit for bit, both ways: wasm sees the same bits under either type.
    #[test]
    fn twins_keep_every_bit() {
        for x in [0, 1, -1, i32::MIN, i32::MAX] {
            assert_eq!(<i32 as Scalar>::untwin(Scalar::twin(x)), x);
            assert_eq!(Scalar::twin(x).to_le_bytes(), x.to_le_bytes());
        }
        for x in [0, 1, -1, i64::MIN, i64::MAX] {
            assert_eq!(<i64 as Scalar>::untwin(Scalar::twin(x)), x);
            assert_eq!(Scalar::twin(x).to_le_bytes(), x.to_le_bytes());
        }
        let nan = f64::from_bits(0x7ff8_0000_dead_beef);
        for x in [0.0, -0.0, 1.5, f64::INFINITY, nan] {
            assert_eq!(
                <f64 as Scalar>::untwin(Scalar::twin(x)).to_bits(),
                x.to_bits()
            );
        }
        let nan = f32::from_bits(0x7fc0_beef);
        for x in [0.0, -0.0, 1.5, f32::NEG_INFINITY, nan] {
            assert_eq!(
                <f32 as Scalar>::untwin(Scalar::twin(x)).to_bits(),
                x.to_bits()
            );
        }
        assert_eq!((1i64, -2i32).twin(), (1u64, u32::MAX - 1));
    }
}
