//! What a function's plan is: how a call converts its arguments and results, chosen once at
//! load (by `exports`, from a declaration or the legacy rules). Nothing here runs per call.

use alloc::boxed::Box;
use alloc::string::String;
use alloc::sync::Arc;
use core::fmt;

use wasmi::ValType;

use crate::{Signature, Type};

/// A wasm number type that converts to and from an xxlang value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Scalar {
    /// `i32`: an Int in i32 range in, an Int (sign-extended) out.
    I32,
    /// `i64`: an Int.
    I64,
    /// `f32`: a Float (or an Int) in, a Float out.
    F32,
    /// `f64`: a Float (or an Int) in, a Float out.
    F64,
}

impl Scalar {
    pub(crate) fn of(ty: ValType) -> Option<Self> {
        match ty {
            ValType::I32 => Some(Scalar::I32),
            ValType::I64 => Some(Scalar::I64),
            ValType::F32 => Some(Scalar::F32),
            ValType::F64 => Some(Scalar::F64),
            _ => None,
        }
    }

    pub(crate) fn script_type(self) -> Type {
        match self {
            Scalar::I32 | Scalar::I64 => Type::Int,
            Scalar::F32 | Scalar::F64 => Type::Float,
        }
    }
}

/// How one script argument becomes a wasm argument.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum ParamPlan {
    /// A number (raw and legacy functions, and declared `int` / `float`).
    Number(Scalar),
    /// A declared `bool`: an `i32` 0 or 1.
    Bool,
    /// A declared memory type (string, bytes, array, map, any): the wasm argument is its byte
    /// length, and the plugin pulls the bytes with `xxplugin.arg`.
    Memory(Type),
}

/// How a call's wasm results become one xxlang value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Output {
    /// No result: `null`.
    Null,
    /// One number.
    Scalar(Scalar),
    /// An `i32` read as a bool (legacy `is_*` / `isX` names): zero is false.
    Bool,
    /// Several results: an array.
    Multi(Box<[Scalar]>),
    /// Legacy `range_`: the function writes `(ptr: u32, count: u32)` of an i64 array into a
    /// result slot the host passes as its last argument.
    IntArraySlot,
    /// A legacy `call_` export without a result: the legacy ABI requires one, so calls fail
    /// with an error instead of running.
    LegacyMissingResult,
    /// A declared memory-type result, sent with `xxplugin.result`.
    Memory(Type),
}

/// Which rule produced a function's plan; `inspect` shows it.
///
/// ```
/// use xxlang_plugin::Convention;
/// assert_eq!(Convention::LegacyCall.to_string(), "legacy `call_` prefix");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Convention {
    /// The export's own name and raw wasm types.
    Raw,
    /// A legacy `call_X` export, exposed as `X`.
    LegacyCall,
    /// A legacy `is_*` / `isX` export whose i32 result is a bool.
    LegacyBool,
    /// Legacy `range_`: an array of ints through a result slot.
    LegacyRange,
    /// A legacy `call_X` export without a result: calling it returns an error.
    LegacyNoResult,
    /// Declared in the plugin's manifest (typed ABI).
    Declared,
}

impl fmt::Display for Convention {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Convention::Raw => "raw wasm types",
            Convention::LegacyCall => "legacy `call_` prefix",
            Convention::LegacyBool => "legacy `is` name: i32 result is a bool",
            Convention::LegacyRange => "legacy result slot: array of i64",
            Convention::LegacyNoResult => "legacy `call_` export without a result: calls fail",
            Convention::Declared => "declared",
        })
    }
}

/// The plan of one exported function.
#[derive(Clone, Debug)]
pub(crate) struct Plan {
    /// The name in the wasm module.
    pub(crate) wasm_name: String,
    /// The name scripts use.
    pub(crate) name: String,
    pub(crate) convention: Convention,
    /// The parameters scripts pass (a legacy result slot is not one of them).
    pub(crate) params: Box<[ParamPlan]>,
    pub(crate) output: Output,
    /// Shared with the plugin's builtins (and every load of the module).
    pub(crate) signature: Arc<Signature>,
}

impl Plan {
    /// Whether calls need the legacy result slot.
    pub(crate) fn needs_slot(&self) -> bool {
        self.output == Output::IntArraySlot
    }
}

/// An export that is not exposed, and why.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct SkippedExport {
    /// The export's name in the wasm module.
    pub wasm_name: String,
    /// Why scripts cannot call it.
    pub reason: String,
}

/// The typed call a plan allows, from its parameters and result alone: each instance then
/// checks the export's wasm type (`call::Invoke::new`), and builtins pick their call path by it
/// when they are made.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Typed {
    I64ToI64,
    I64x2ToI64,
    I64x3ToI64,
    NoneToI64,
    I64ToI32,
    I64x2ToI32,
    F64ToF64,
    F64x2ToF64,
    Range,
}

impl Typed {
    /// The typed call of `plan`, if it has one.
    pub(crate) fn of(plan: &Plan) -> Option<Self> {
        const I64: ParamPlan = ParamPlan::Number(Scalar::I64);
        const F64: ParamPlan = ParamPlan::Number(Scalar::F64);
        if plan.convention == Convention::Declared {
            return None;
        }
        Some(match (&plan.output, &*plan.params) {
            (Output::IntArraySlot, _) => Typed::Range,
            (Output::Scalar(Scalar::I64), [I64]) => Typed::I64ToI64,
            (Output::Scalar(Scalar::I64), [I64, I64]) => Typed::I64x2ToI64,
            (Output::Scalar(Scalar::I64), [I64, I64, I64]) => Typed::I64x3ToI64,
            (Output::Scalar(Scalar::I64), []) => Typed::NoneToI64,
            (Output::Scalar(Scalar::I32) | Output::Bool, [I64]) => Typed::I64ToI32,
            (Output::Scalar(Scalar::I32) | Output::Bool, [I64, I64]) => Typed::I64x2ToI32,
            (Output::Scalar(Scalar::F64), [F64]) => Typed::F64ToF64,
            (Output::Scalar(Scalar::F64), [F64, F64]) => Typed::F64x2ToF64,
            _ => return None,
        })
    }
}
