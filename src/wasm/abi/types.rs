//! How xxlang types cross into wasm (docs/ABI.md §1 and §3a): the one place that says which
//! types are carried in memory and which wasm type each crosses as.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use wasmi::{FuncType, ValType};

use crate::{Signature, Type};

/// Whether values of `ty` cross through memory (a string, bytes, an array, a map or `any`)
/// rather than as a wasm number (`int`, `float`, `bool`; `null` does not cross at all).
pub(crate) fn in_memory(ty: &Type) -> bool {
    !matches!(ty, Type::Int | Type::Float | Type::Bool | Type::Null)
}

/// The wasm type one value of type `ty` crosses as: `int` an i64, `float` an f64, anything else
/// an i32 (a bool, or a memory type's length).
pub(crate) fn wasm_of(ty: &Type) -> ValType {
    match ty {
        Type::Int => ValType::I64,
        Type::Float => ValType::F64,
        _ => ValType::I32,
    }
}

/// The wasm type a declared function must be exported with: each parameter as [`wasm_of`] (a
/// memory-type one as its length), a number or bool result as itself, any other result sent
/// with `xxplugin.result` (no wasm result).
pub(crate) fn declared(sig: &Signature) -> FuncType {
    let params = sig.params.iter().map(|p| wasm_of(&p.ty));
    let result = match &sig.result {
        Type::Int | Type::Float | Type::Bool => Some(wasm_of(&sig.result)),
        _ => None,
    };
    FuncType::new(params, result)
}

/// The wasm type a plugin imports a host function of signature `sig` with: numbers as
/// themselves, a memory-type parameter as `(ptr: i32, len: i32)`, a memory-type result as its
/// `i32` length (fetched with `xxplugin.fetch`).
pub(crate) fn host_function(sig: &Signature) -> FuncType {
    let mut params = Vec::new();
    for p in &sig.params {
        if in_memory(&p.ty) {
            params.extend([ValType::I32, ValType::I32]);
        } else {
            params.push(wasm_of(&p.ty));
        }
    }
    let result = (!matches!(sig.result, Type::Null)).then(|| wasm_of(&sig.result));
    FuncType::new(params, result)
}

/// `(i32, i64) -> (f64)`, for messages.
pub(crate) fn show(ty: &FuncType) -> String {
    let list = |types: &[ValType]| {
        let names: Vec<&str> = types
            .iter()
            .map(|t| match t {
                ValType::I32 => "i32",
                ValType::I64 => "i64",
                ValType::F32 => "f32",
                ValType::F64 => "f64",
                ValType::V128 => "v128",
                ValType::FuncRef => "funcref",
                ValType::ExternRef => "externref",
            })
            .collect();
        names.join(", ")
    };
    format!("({}) -> ({})", list(ty.params()), list(ty.results()))
}
