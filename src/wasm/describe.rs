//! Describing a module without running any of its code: for tools that look at modules they
//! do not trust (`xxplugin inspect`). Only the bytes are read: no instance is created, so no
//! start function, `_initialize` or metadata export runs, and no import needs providing.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use wasmi::{ExternType, FuncType, Module, ValType};

use super::abi::manifest::MANIFEST_EXPORT;
use super::engine::Compiled;
use super::exports;
use super::instance::Origin;
use super::{Description, FunctionInfo, WasmPlugin};
use crate::{Config, Error};

impl WasmPlugin {
    /// What a module declares, read from its bytes alone: nothing of the plugin runs, and its
    /// imports need not be provided. Use it to look at modules you do not trust.
    ///
    /// A module with a manifest section is described in full, as by
    /// [`describe`](WasmPlugin::describe). For any other, the functions are planned from the
    /// export signatures by the legacy rules, and whatever its metadata exports
    /// (`xxplugin_manifest`, `plugin_name`, `plugin_version`) would say is missing:
    /// [`Description::not_run`] lists them. (The name is "static" as in static analysis: the
    /// module is read, never executed.)
    ///
    /// ```
    /// use xxlang_plugin::WasmPlugin;
    ///
    /// // Its start never ends and it needs a host function nobody provides: neither matters.
    /// let wasm = wat::parse_str(r#"(module
    ///     (import "xxhost" "lookup" (func (param i32)))
    ///     (func $start (loop $l (br $l)))
    ///     (start $start)
    ///     (func (export "call_double") (param i64) (result i64)
    ///         local.get 0 i64.const 2 i64.mul)
    ///     (func (export "plugin_name") (param i32)))"#).unwrap();
    /// let d = WasmPlugin::describe_static(&wasm)?;
    /// assert_eq!(d.functions[0].signature.to_string(), "(int) -> int");
    /// assert_eq!(d.imports, ["xxhost.lookup"]);
    /// assert_eq!(d.name, None);
    /// assert_eq!(d.not_run, ["plugin_name"]);
    /// assert!(!d.instantiated);
    /// # Ok::<(), xxlang_plugin::Error>(())
    /// ```
    pub fn describe_static(bytes: &[u8]) -> Result<Description, Error> {
        let at = Origin {
            plugin: String::from("plugin"),
            file: None,
        };
        let compiled = at.compile(bytes, &Config::default())?;
        statically(&at, &compiled)
    }

    /// [`describe_static`](WasmPlugin::describe_static) of a `.wasm` file, read as
    /// [`from_file`](WasmPlugin::from_file) reads it (regular files only, at most
    /// [`MAX_MODULE_BYTES`](crate::MAX_MODULE_BYTES)); errors name the file.
    ///
    /// ```
    /// let d = xxlang_plugin::WasmPlugin::describe_static_file("plugins/fib.wasm")?;
    /// let names: Vec<_> = d.functions.iter().map(|f| f.name.as_str()).collect();
    /// assert_eq!(names, ["fast", "isFib", "matrix", "range_"]);
    /// // A legacy plugin's name and version come from exports that would have to run.
    /// assert_eq!(d.not_run, ["plugin_name", "plugin_version"]);
    /// # Ok::<(), xxlang_plugin::Error>(())
    /// ```
    #[cfg(feature = "std")]
    pub fn describe_static_file(path: impl AsRef<std::path::Path>) -> Result<Description, Error> {
        let path = path.as_ref();
        let stem = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let bytes = super::load::read_module_file(&stem, path, Config::default().max_module_bytes)?;
        let at = Origin {
            plugin: stem,
            file: Some(format!("{}", path.display())),
        };
        let compiled = at.compile(&bytes, &Config::default())?;
        statically(&at, &compiled)
    }
}

/// The description of a compiled module, from its manifest section and export signatures.
pub(super) fn statically(at: &Origin, compiled: &Compiled) -> Result<Description, Error> {
    let module = &compiled.module;
    let manifest = compiled
        .manifest
        .clone()
        .transpose()
        .map_err(|e| at.manifest_error(e))?;
    let declared = manifest.as_ref().map_or(&[][..], |m| &m.functions[..]);
    let mut planned =
        exports::plan_module(module, declared).map_err(|e| at.declaration_error(e))?;
    let version = manifest.as_ref().and_then(|m| m.version.clone());
    // As the load does: a declared version is the script name `version`.
    if version.is_some() {
        exports::reserve_version(&mut planned);
    }
    let mut functions: Vec<FunctionInfo> = planned.plans.iter().map(FunctionInfo::of).collect();
    functions.sort_by(|a, b| a.name.cmp(&b.name));
    let name = manifest.as_ref().and_then(|m| m.name.clone());
    let mut not_run = Vec::new();
    if manifest.is_none() && exports_function(module, MANIFEST_EXPORT, |_| true) {
        not_run.push(MANIFEST_EXPORT);
    }
    for (export, known) in [("plugin_name", &name), ("plugin_version", &version)] {
        if known.is_none() && exports_function(module, export, is_metadata_getter) {
            not_run.push(export);
        }
    }
    Ok(Description {
        name,
        version,
        abi: manifest.as_ref().map(|m| m.abi),
        functions,
        skipped: planned.skipped.to_vec(),
        instantiated: false,
        imports: imports(module),
        not_run,
    })
}

/// What the module imports, as `module.name`.
fn imports(module: &Module) -> Vec<String> {
    module
        .imports()
        .map(|i| format!("{}.{}", i.module(), i.name()))
        .collect()
}

/// Whether the module exports a function `name` whose type passes `wanted`.
fn exports_function(module: &Module, name: &str, wanted: impl Fn(&FuncType) -> bool) -> bool {
    module
        .exports()
        .any(|e| e.name() == name && matches!(e.ty(), ExternType::Func(ty) if wanted(ty)))
}

/// The types the load reads `plugin_name` and `plugin_version` through: a result slot
/// `(i32) -> ()` or a packed `() -> i64`. Other types are not metadata, and are ignored.
fn is_metadata_getter(ty: &FuncType) -> bool {
    matches!(
        (ty.params(), ty.results()),
        ([ValType::I32], []) | ([], [ValType::I64])
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;
    use alloc::string::ToString;

    fn describe(wat: &str) -> Description {
        let bytes = wat::parse_str(wat).expect("wat");
        WasmPlugin::describe_static(&bytes).expect("describe")
    }

    #[test]
    fn a_manifest_export_is_reported_not_run() {
        let d = describe(
            r#"(module
                (import "xxplugin" "result" (func (param i32 i32)))
                (func (export "xxplugin_manifest") unreachable)
                (func (export "upper") (param i32)))"#,
        );
        assert_eq!(d.not_run, [MANIFEST_EXPORT]);
        assert_eq!(d.abi, None);
        assert_eq!(d.imports, ["xxplugin.result"]);
        // Planned from its wasm type alone, as the legacy rules would.
        assert_eq!(d.functions[0].signature.to_string(), "(int) -> null");
    }

    #[test]
    fn a_manifest_section_is_read_and_metadata_exports_it_answers_are_not_needed() {
        let d = describe(
            r#"(module
                (@custom "xxplugin" "abi 1\nname sect\nfn f(x: int) -> int -- Doubles.\n")
                (func (export "f") (param i64) (result i64) local.get 0)
                (func (export "plugin_name") (param i32))
                (func (export "plugin_version") (param i32))
                (func (export "xxplugin_manifest") unreachable))"#,
        );
        assert_eq!(d.name.as_deref(), Some("sect"));
        assert_eq!(d.abi, Some(1));
        // The section wins over the export, and its name over `plugin_name`; only the version
        // would come from running the plugin.
        assert_eq!(d.not_run, ["plugin_version"]);
        assert_eq!(d.functions[0].signature.doc.as_deref(), Some("Doubles."));
    }

    #[test]
    fn exports_of_other_types_are_not_metadata() {
        let d = describe(
            r#"(module
                (func (export "plugin_name") (param f32))
                (global (export "plugin_version") i32 (i32.const 0)))"#,
        );
        assert!(d.not_run.is_empty(), "{:?}", d.not_run);
    }

    #[test]
    fn a_bad_manifest_section_is_an_error() {
        let bytes =
            wat::parse_str(r#"(module (@custom "xxplugin" "abi 1\nfn (\n"))"#).expect("wat");
        let err = WasmPlugin::describe_static(&bytes).expect_err("malformed");
        assert!(
            matches!(err.kind(), ErrorKind::Manifest { line: Some(2), .. }),
            "{err}"
        );
    }
}
