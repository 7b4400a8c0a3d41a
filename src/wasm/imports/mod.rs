//! The imports a plugin gets: which module provides what (`xxplugin`, `env.abort`, WASI, the
//! embedder's host functions under `xxhost`), and linking them; an import nobody provides is
//! an error that lists it.

pub(crate) mod xxhost;
mod xxplugin;

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use wasmi::{ExternType, Linker, Module};

use super::abi::manifest::SECTION as XXPLUGIN;
use super::abi::types;
use super::store::Host;
use crate::{Config, HostFunction};

/// Why a module's imports cannot be linked.
pub(crate) enum LinkError {
    /// Imports nobody provides, as `module.name`.
    Missing(Vec<String>),
    /// WASI imports, and the `wasi` feature is off.
    NoWasi(Vec<String>),
    /// An import the host provides with another type, and the like.
    Other(String),
}

/// Defines in `linker` every import of `module` that we provide (the `xxplugin` imports,
/// `env.abort`, WASI, the config's host functions), or lists every import we do not.
pub(crate) fn link(
    linker: &mut Linker<Host>,
    module: &Module,
    config: &Config,
) -> Result<(), LinkError> {
    let wanted = wanted(module, config)?;
    let failed = |what: String| {
        move |e: wasmi::errors::LinkerError| LinkError::Other(format!("{what}: {e}"))
    };
    for name in wanted.abi {
        xxplugin::define(linker, name).map_err(failed(format!("{XXPLUGIN}.{name}")))?;
    }
    if wanted.abort {
        xxplugin::define_abort(linker).map_err(failed(String::from("env.abort")))?;
    }
    #[cfg(feature = "wasi")]
    if wanted.wasi {
        crate::wasm::wasi::link(linker)
            .map_err(|e| LinkError::Other(format!("{}: {e}", crate::wasm::wasi::MODULE)))?;
    }
    for f in &wanted.host_functions {
        xxhost::define(linker, f).map_err(LinkError::Other)?;
    }
    Ok(())
}

/// Whether what [`link`] defines for `module` depends on the config: only the embedder's host
/// functions do (the `xxplugin` imports, `env.abort` and WASI are the same for every config;
/// WASI's capabilities are in each store's context). A linker for a module without them can
/// serve every load of the module.
#[cfg(feature = "std")]
pub(crate) fn depends_on_config(module: &Module) -> bool {
    module.imports().any(|i| i.module() == xxhost::MODULE)
}

/// What a module imports that we provide.
struct Wanted {
    /// `xxplugin` imports, by name.
    abi: Vec<&'static str>,
    /// AssemblyScript's `env.abort`.
    abort: bool,
    /// Any WASI function.
    #[cfg(feature = "wasi")]
    wasi: bool,
    /// The config's host functions it imports (with the wasm type their signature gives).
    host_functions: Vec<HostFunction>,
}

/// Sorts the imports of `module` by who provides them; every import nobody provides is listed
/// in the error (as `NoWasi` when they are all WASI and this build has none).
fn wanted(module: &Module, config: &Config) -> Result<Wanted, LinkError> {
    let mut wanted = Wanted {
        abi: Vec::new(),
        abort: false,
        #[cfg(feature = "wasi")]
        wasi: false,
        host_functions: Vec::new(),
    };
    let mut missing = Vec::new();
    for import in module.imports() {
        let ExternType::Func(ty) = import.ty() else {
            missing.push(format!("{}.{}", import.module(), import.name()));
            continue;
        };
        match (import.module(), import.name()) {
            ("env", "abort") => wanted.abort = true,
            (XXPLUGIN, name) if xxplugin::IMPORTS.contains(&name) => {
                if let Some(known) = xxplugin::IMPORTS.iter().find(|n| **n == name) {
                    wanted.abi.push(known);
                }
            }
            #[cfg(feature = "wasi")]
            (crate::wasm::wasi::MODULE, name) if crate::wasm::wasi::FUNCTIONS.contains(&name) => {
                wanted.wasi = true
            }
            (xxhost::MODULE, name) => match config.host_functions.iter().find(|f| f.name() == name)
            {
                Some(f) => {
                    let expected = types::host_function(f.signature());
                    if *ty != expected {
                        return Err(LinkError::Other(format!(
                            "it imports {}.{name} with wasm type {}, but the host function \
                             {name}{} has wasm type {}",
                            xxhost::MODULE,
                            types::show(ty),
                            f.signature(),
                            types::show(&expected)
                        )));
                    }
                    wanted.host_functions.push(f.clone());
                }
                None => missing.push(format!("{}.{name}", xxhost::MODULE)),
            },
            (m, n) => missing.push(format!("{m}.{n}")),
        }
    }
    if missing.is_empty() {
        return Ok(wanted);
    }
    missing.sort();
    let wasi: Vec<String> = missing
        .iter()
        .filter(|m| m.starts_with("wasi_snapshot_preview1."))
        .cloned()
        .collect();
    if !cfg!(feature = "wasi") && !wasi.is_empty() && wasi.len() == missing.len() {
        return Err(LinkError::NoWasi(wasi));
    }
    Err(LinkError::Missing(missing))
}
