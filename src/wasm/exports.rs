//! Which exports of a module become functions scripts can call, and by which rule: a
//! declaration in the manifest, else the legacy rules; the rest are skipped, with the reason.
//! Chosen once at load.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::sync::Arc;
use alloc::vec::Vec;

use wasmi::FuncType;

use super::abi::manifest::Declared;
use super::abi::types;
use super::legacy;
use super::plan::{Convention, Output, ParamPlan, Plan, Scalar, SkippedExport};
use crate::Type;

/// Exports that belong to the plugin protocol, never exposed as functions.
pub(crate) const RESERVED: &[&str] = &[
    "alloc",
    "plugin_name",
    "plugin_version",
    "_initialize",
    "_start",
    super::abi::manifest::MANIFEST_EXPORT,
];

/// The name a script uses for the metadata value `version` (from `plugin_version`).
pub(crate) const VERSION_EXPORT: &str = "version";

/// Precedence when two functions want the same script name (higher wins). The metadata value
/// `version` beats them all.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Rank {
    Raw,
    LegacyCall,
    Declared,
}

/// A declaration the module does not honour: the manifest line and what is wrong.
pub(crate) type DeclarationError = (usize, String);

/// A module's functions, and the exports that are not functions, with the reason. Made once
/// per compiled module and shared, not copied, by every load of it and every plugin version.
#[derive(Clone, Default)]
pub(crate) struct Planned {
    pub(crate) plans: Arc<[Plan]>,
    pub(crate) skipped: Arc<[SkippedExport]>,
}

/// Plans the function exports of `module` (not the internal ones `scan` adds) by
/// [`plan_exports`].
pub(crate) fn plan_module(
    module: &wasmi::Module,
    declared: &[Declared],
) -> Result<Planned, DeclarationError> {
    let func_exports: Vec<(&str, FuncType)> = module
        .exports()
        .filter(|e| !super::scan::is_internal(e.name()))
        .filter_map(|e| e.ty().func().map(|ty| (e.name(), ty.clone())))
        .collect();
    plan_exports(func_exports.iter().map(|(n, t)| (*n, t)), declared)
}

/// Plans every function export of a module. Declared functions must be exported with the
/// wasm type their declaration gives (else the error names the manifest line). Exports that
/// cannot be exposed are returned with the reason; collisions are resolved by rank (metadata
/// `version` > declared > `call_X` > raw `X`), so the result never depends on export order.
pub(crate) fn plan_exports<'a>(
    exports: impl Iterator<Item = (&'a str, &'a FuncType)>,
    declared: &[Declared],
) -> Result<Planned, DeclarationError> {
    let mut candidates: Vec<(Rank, Plan)> = Vec::new();
    let mut skipped = Vec::new();
    let mut found: Vec<&str> = Vec::new();
    for (wasm_name, ty) in exports {
        let skip = |reason: String| SkippedExport {
            wasm_name: wasm_name.to_string(),
            reason,
        };
        if let Some(d) = declared.iter().find(|d| d.name == wasm_name) {
            candidates.push((Rank::Declared, plan_declared(d, ty)?));
            found.push(&d.name);
            continue;
        }
        if RESERVED.contains(&wasm_name) {
            skipped.push(skip(String::from("reserved for the plugin protocol")));
            continue;
        }
        if wasm_name.starts_with("__") {
            skipped.push(skip(String::from("internal (starts with `__`)")));
            continue;
        }
        let (rank, name) = match legacy::functions::call_name(wasm_name) {
            Some(rest) => (Rank::LegacyCall, rest),
            None => (Rank::Raw, wasm_name),
        };
        if !crate::signature::is_identifier(name) {
            skipped.push(skip(format!(
                "`{name}` is not an identifier scripts can use"
            )));
            continue;
        }
        match legacy::functions::plan(wasm_name, name, rank == Rank::LegacyCall, ty) {
            Ok(plan) => candidates.push((rank, plan)),
            Err(reason) => skipped.push(skip(reason)),
        }
    }

    // Highest rank first within each name; the first of each name wins.
    candidates.sort_by(|(ra, a), (rb, b)| a.name.cmp(&b.name).then(rb.cmp(ra)));
    let mut plans: Vec<Plan> = Vec::with_capacity(candidates.len());
    for (_, plan) in candidates {
        match plans.last().filter(|winner| winner.name == plan.name) {
            Some(winner) => skipped.push(SkippedExport {
                reason: format!("`{}` is already taken by `{}`", plan.name, winner.wasm_name),
                wasm_name: plan.wasm_name,
            }),
            None => plans.push(plan),
        }
    }
    skipped.sort_by(|a, b| a.wasm_name.cmp(&b.wasm_name));
    if let Some(d) = declared.iter().find(|d| !found.contains(&d.name.as_str())) {
        return Err((
            d.line,
            format!(
                "declares `{}`, but the module exports no function of that name",
                d.name
            ),
        ));
    }
    Ok(Planned {
        plans: plans.into(),
        skipped: skipped.into(),
    })
}

/// When the plugin declares a version, the script name `version` is that string: a function
/// that wants the name too is skipped. The shared lists are copied only then.
pub(crate) fn reserve_version(planned: &mut Planned) {
    let Some(i) = planned.plans.iter().position(|p| p.name == VERSION_EXPORT) else {
        return;
    };
    let mut plans = planned.plans.to_vec();
    let plan = plans.remove(i);
    let mut skipped = planned.skipped.to_vec();
    skipped.push(SkippedExport {
        reason: String::from(
            "`version` is already taken by the plugin's version (from `plugin_version`)",
        ),
        wasm_name: plan.wasm_name,
    });
    skipped.sort_by(|a, b| a.wasm_name.cmp(&b.wasm_name));
    *planned = Planned {
        plans: plans.into(),
        skipped: skipped.into(),
    };
}

/// The plan of a declared function, whose export must have the wasm type the declaration gives.
fn plan_declared(d: &Declared, ty: &FuncType) -> Result<Plan, DeclarationError> {
    let wanted = types::declared(&d.signature);
    if *ty != wanted {
        return Err((
            d.line,
            format!(
                "declares `{}{}`, which must be exported with wasm type {}, but the export has \
                 type {}",
                d.name,
                d.signature,
                types::show(&wanted),
                types::show(ty)
            ),
        ));
    }
    let params = d
        .signature
        .params
        .iter()
        .map(|p| match &p.ty {
            ty if types::in_memory(ty) => ParamPlan::Memory(ty.clone()),
            Type::Int => ParamPlan::Number(Scalar::I64),
            Type::Float => ParamPlan::Number(Scalar::F64),
            // bool (a manifest cannot declare a null parameter)
            _ => ParamPlan::Bool,
        })
        .collect();
    let output = match &d.signature.result {
        ty if types::in_memory(ty) => Output::Memory(ty.clone()),
        Type::Int => Output::Scalar(Scalar::I64),
        Type::Float => Output::Scalar(Scalar::F64),
        Type::Bool => Output::Bool,
        _ => Output::Null,
    };
    Ok(Plan {
        wasm_name: d.name.clone(),
        name: d.name.clone(),
        convention: Convention::Declared,
        params,
        output,
        signature: d.signature.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;
    use wasmi::ValType::{self, F32, F64, I32, I64};

    fn plan(exports: &[(&str, FuncType)], has_version: bool) -> (Vec<Plan>, Vec<SkippedExport>) {
        let mut planned =
            plan_exports(exports.iter().map(|(n, t)| (*n, t)), &[]).expect("no declarations");
        if has_version {
            reserve_version(&mut planned);
        }
        (planned.plans.to_vec(), planned.skipped.to_vec())
    }

    fn ft(params: &[ValType], results: &[ValType]) -> FuncType {
        FuncType::new(params.iter().copied(), results.iter().copied())
    }

    #[test]
    fn legacy_names_and_types() {
        let (plans, skipped) = plan(
            &[
                ("call_fast", ft(&[I64], &[I64])),
                ("call_isFib", ft(&[I64], &[I32])),
                ("is_even", ft(&[I64], &[I32])),
                ("island", ft(&[I64], &[I32])),
                ("range_", ft(&[I64, I32], &[])),
                ("call_no_result", ft(&[I64, I64], &[])),
                ("nothing", ft(&[], &[])),
                ("pair", ft(&[F64], &[I64, I64])),
                ("mixed", ft(&[F32], &[I32, F64])),
                ("alloc", ft(&[I32], &[I32])),
                ("__heap", ft(&[], &[])),
                ("call_", ft(&[], &[I64])),
            ],
            false,
        );
        let get = |n: &str| plans.iter().find(|p| p.name == n).cloned();
        let fast = get("fast").unwrap();
        assert_eq!(fast.convention, Convention::LegacyCall);
        assert_eq!(fast.signature.to_string(), "(int) -> int");
        assert_eq!(get("isFib").unwrap().output, Output::Bool);
        assert_eq!(get("is_even").unwrap().output, Output::Bool);
        assert_eq!(get("island").unwrap().output, Output::Scalar(Scalar::I32));
        let range = get("range_").unwrap();
        assert_eq!(range.output, Output::IntArraySlot);
        assert_eq!(&*range.params, &[ParamPlan::Number(Scalar::I64)]);
        assert_eq!(range.signature.to_string(), "(int) -> array<int>");
        assert_eq!(
            get("no_result").unwrap().output,
            Output::LegacyMissingResult
        );
        assert_eq!(get("nothing").unwrap().output, Output::Null);
        assert_eq!(
            get("pair").unwrap().signature.to_string(),
            "(float) -> array<int>"
        );
        assert_eq!(
            get("mixed").unwrap().signature.to_string(),
            "(float) -> array"
        );
        // `call_` alone keeps its name.
        assert!(get("call_").is_some());
        let skipped_names: Vec<_> = skipped.iter().map(|s| s.wasm_name.as_str()).collect();
        assert_eq!(skipped_names, vec!["__heap", "alloc"]);
    }

    #[test]
    fn collisions_resolve_by_rank_not_order() {
        for order in [[0, 1, 2], [2, 1, 0], [1, 2, 0]] {
            let all = [
                ("fast", ft(&[I64], &[I64])),
                ("call_fast", ft(&[I64], &[I64])),
                ("version", ft(&[], &[I64])),
            ];
            let exports: Vec<_> = order.iter().map(|&i| all[i].clone()).collect();
            let (plans, skipped) = plan(&exports, true);
            assert_eq!(plans.len(), 1, "{order:?}");
            assert_eq!(plans[0].wasm_name, "call_fast");
            assert_eq!(skipped.len(), 2);
            assert_eq!(skipped[0].wasm_name, "fast");
            assert!(skipped[0].reason.contains("`call_fast`"));
            assert_eq!(skipped[1].wasm_name, "version");
            assert!(skipped[1].reason.contains("plugin_version"));
        }
        // Without a plugin version, a raw `version` function is exposed.
        let (plans, _) = plan(&[("version", ft(&[], &[I64]))], false);
        assert_eq!(plans[0].name, "version");
    }

    #[test]
    fn unsupported_types_and_names_are_skipped_with_reasons() {
        let (plans, skipped) = plan(
            &[
                ("r", ft(&[ValType::ExternRef], &[])),
                ("s", ft(&[], &[ValType::FuncRef])),
                ("bad name", ft(&[], &[])),
                ("9lives", ft(&[], &[])),
            ],
            false,
        );
        assert!(plans.is_empty());
        assert_eq!(skipped.len(), 4);
        assert!(skipped.iter().any(|s| s.reason.contains("parameter 1")));
        assert!(skipped.iter().any(|s| s.reason.contains("result 1")));
        assert!(
            skipped
                .iter()
                .any(|s| s.reason.contains("not an identifier"))
        );
    }

    #[test]
    fn identifiers() {
        assert!(crate::signature::is_identifier("fast"));
        assert!(crate::signature::is_identifier("_x9"));
        assert!(!crate::signature::is_identifier(""));
        assert!(!crate::signature::is_identifier("9x"));
        assert!(!crate::signature::is_identifier("a-b"));
        assert!(!crate::signature::is_identifier("a.b"));
        assert!(!crate::signature::is_identifier("é"));
    }
}
