//! The legacy calling rules: how an export without a declaration is called, from its name and
//! wasm type alone (SEED.md; the original system's rules, with its conversion bugs fixed).

use alloc::boxed::Box;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::sync::Arc;

use wasmi::{FuncType, ValType};

use crate::wasm::plan::{Convention, Output, ParamPlan, Plan, Scalar};
use crate::{Param, Signature, Type};

/// The script name of a `call_X` export (`X`), or `None` for any other export.
pub(crate) fn call_name(wasm_name: &str) -> Option<&str> {
    wasm_name
        .strip_prefix("call_")
        .filter(|rest| !rest.is_empty())
}

/// Legacy bool names: `is_even`, `isFib`.
fn is_bool_name(name: &str) -> bool {
    match name.strip_prefix("is") {
        Some(rest) => {
            (rest.starts_with('_') && rest.len() > 1)
                || rest.chars().next().is_some_and(|c| c.is_ascii_uppercase())
        }
        None => false,
    }
}

/// The plan of export `wasm_name`, which scripts call `name`, by the legacy rules: numbers
/// as themselves, an i32 result of an `is_*`/`isX` function as a bool, `range_(n, slot)` as an
/// int array through the result slot, a `call_X` export (`legacy_call`) that returns nothing
/// as an error (the legacy ABI requires a value); or why scripts cannot call it.
pub(crate) fn plan(
    wasm_name: &str,
    name: &str,
    legacy_call: bool,
    ty: &FuncType,
) -> Result<Plan, String> {
    let scalars = |types: &[ValType], what: &str| -> Result<Box<[Scalar]>, String> {
        types
            .iter()
            .enumerate()
            .map(|(i, t)| {
                Scalar::of(*t).ok_or_else(|| {
                    format!("{what} {} has type {t:?}, which scripts cannot pass", i + 1)
                })
            })
            .collect()
    };
    let params = scalars(ty.params(), "parameter")?;
    let results = scalars(ty.results(), "result")?;

    let (convention, params, output) =
        if name == "range_" && *params == [Scalar::I64, Scalar::I32] && results.is_empty() {
            (
                Convention::LegacyRange,
                Box::from([Scalar::I64]),
                Output::IntArraySlot,
            )
        } else {
            let output = match *results {
                [] if legacy_call => Output::LegacyMissingResult,
                [] => Output::Null,
                [Scalar::I32] if is_bool_name(name) => Output::Bool,
                [one] => Output::Scalar(one),
                _ => Output::Multi(results.clone()),
            };
            let convention = match output {
                Output::LegacyMissingResult => Convention::LegacyNoResult,
                Output::Bool => Convention::LegacyBool,
                _ if legacy_call => Convention::LegacyCall,
                _ => Convention::Raw,
            };
            (convention, params, output)
        };

    let result = script_type(&output);
    let signature = Signature::new(
        params
            .iter()
            .map(|s| Param {
                name: None,
                ty: s.script_type(),
            })
            .collect(),
        result,
    );
    Ok(Plan {
        wasm_name: wasm_name.to_string(),
        name: name.to_string(),
        convention,
        params: params.iter().map(|s| ParamPlan::Number(*s)).collect(),
        output,
        signature: Arc::new(signature),
    })
}

/// The script type of what `output` gives: an array of the results' type for several (of
/// `any` when they differ).
fn script_type(output: &Output) -> Type {
    match output {
        Output::Memory(ty) => ty.clone(),
        Output::Null | Output::LegacyMissingResult => Type::Null,
        Output::Scalar(s) => s.script_type(),
        Output::Bool => Type::Bool,
        Output::IntArraySlot => Type::Array(Box::new(Type::Int)),
        Output::Multi(all) => {
            let first = all.first().map(|s| s.script_type());
            let same = all.iter().all(|s| Some(s.script_type()) == first);
            Type::Array(Box::new(match first {
                Some(t) if same => t,
                _ => Type::Any,
            }))
        }
    }
}
