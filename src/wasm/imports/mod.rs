//! The imports a plugin gets: which module provides what (`xxplugin`, `env.abort`, WASI, the
//! embedder's host functions under `xxhost`), and linking them; an import nobody provides is
//! an error that lists it.

mod xxhost;
mod xxplugin;

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use wasmi::{ExternType, Linker, Module};

use super::abi::manifest::SECTION as XXPLUGIN;
use super::abi::types;
use super::store::Host;
use crate::Config;

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
    let mut missing = Vec::new();
    let mut wants_abort = false;
    #[cfg(feature = "wasi")]
    let mut wants_wasi = false;
    let mut abi_imports: Vec<&str> = Vec::new();
    let mut host_functions = Vec::new();
    for import in module.imports() {
        let ty = match import.ty() {
            ExternType::Func(ty) => Some(ty),
            _ => None,
        };
        match (import.module(), import.name(), ty) {
            ("env", "abort", Some(_)) => wants_abort = true,
            (XXPLUGIN, name, Some(_)) if xxplugin::IMPORTS.contains(&name) => {
                if let Some(known) = xxplugin::IMPORTS.iter().find(|n| **n == name) {
                    abi_imports.push(known);
                }
            }
            #[cfg(feature = "wasi")]
            (crate::wasm::wasi::MODULE, name, Some(_))
                if crate::wasm::wasi::FUNCTIONS.contains(&name) =>
            {
                wants_wasi = true
            }
            (xxhost::MODULE, name, Some(ty)) => {
                match config.host_functions.iter().find(|f| f.name() == name) {
                    Some(f) => {
                        let wanted = types::host_function(f.signature());
                        if *ty != wanted {
                            return Err(LinkError::Other(format!(
                                "it imports {}.{name} with wasm type {}, but the host \
                                 function {name}{} has wasm type {}",
                                xxhost::MODULE,
                                types::show(ty),
                                f.signature(),
                                types::show(&wanted)
                            )));
                        }
                        host_functions.push(f.clone());
                    }
                    None => missing.push(format!("{}.{name}", xxhost::MODULE)),
                }
            }
            (m, n, _) => missing.push(format!("{m}.{n}")),
        }
    }
    if !missing.is_empty() {
        missing.sort();
        let wasi: Vec<String> = missing
            .iter()
            .filter(|m| m.starts_with("wasi_snapshot_preview1."))
            .cloned()
            .collect();
        if !cfg!(feature = "wasi") && !wasi.is_empty() && wasi.len() == missing.len() {
            return Err(LinkError::NoWasi(wasi));
        }
        return Err(LinkError::Missing(missing));
    }
    let failed = |what: String| {
        move |e: wasmi::errors::LinkerError| LinkError::Other(format!("{what}: {e}"))
    };
    for name in abi_imports {
        xxplugin::define(linker, name).map_err(failed(format!("{XXPLUGIN}.{name}")))?;
    }
    if wants_abort {
        xxplugin::define_abort(linker).map_err(failed(String::from("env.abort")))?;
    }
    #[cfg(feature = "wasi")]
    if wants_wasi {
        crate::wasm::wasi::link(linker)
            .map_err(|e| LinkError::Other(format!("{}: {e}", crate::wasm::wasi::MODULE)))?;
    }
    for f in &host_functions {
        xxhost::define(linker, f).map_err(LinkError::Other)?;
    }
    Ok(())
}
