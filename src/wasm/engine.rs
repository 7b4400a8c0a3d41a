//! Compiling modules, and the cache that compiles each distinct module once.
//!
//! wasmi keeps compiled code per [`Engine`] until the engine is dropped; dropping a [`Module`]
//! frees nothing. So every distinct module gets an engine of its own: when the last plugin
//! using a module is dropped, its engine goes too and the code is freed. Unloading or
//! reloading plugins therefore does not grow memory.
//!
//! With `std`, compiled modules are cached by their bytes (weakly: the cache never keeps a
//! module alive), so loading the same bytes again, through another loader or registry, costs
//! no compilation and shares lazily compiled function bodies. The key is the whole byte string
//! (SipHash with per-process keys, then a byte comparison): two different modules never share
//! an entry, however they were crafted.

use alloc::string::{String, ToString};
use alloc::sync::Arc;
use alloc::vec::Vec;

use wasmi::{CompilationMode, Config, Engine, Linker, Module};

use super::host::{self, Host};
use super::manifest::{self, Manifest, ManifestError};

/// A compiled module with its own engine, a linker holding exactly the imports it needs, and
/// its manifest section, parsed once.
pub(crate) struct Compiled {
    pub(crate) module: Module,
    pub(crate) linker: Linker<Host>,
    /// The `xxplugin` custom section, parsed; `None` when there is none.
    pub(crate) manifest: Option<Result<Manifest, ManifestError>>,
    #[cfg(feature = "std")]
    bytes: Arc<[u8]>,
}

/// Why bytes could not be compiled.
pub(crate) enum CompileError {
    Invalid(String),
    MissingImports(Vec<String>),
    /// WASI imports, without the `wasi` feature.
    NoWasi(Vec<String>),
}

fn config() -> Config {
    let mut config = Config::default();
    // Validate everything at load, so bad bytes fail there and name the file; translate each
    // function to wasmi bytecode on its first call, so loading a large module stays fast.
    config.compilation_mode(CompilationMode::LazyTranslation);
    config
}

fn compile_uncached(bytes: &[u8]) -> Result<Compiled, CompileError> {
    let engine = Engine::new(&config());
    let module = Module::new(&engine, bytes).map_err(|e| CompileError::Invalid(e.to_string()))?;
    let mut linker = Linker::new(&engine);
    host::link(&mut linker, &module).map_err(|missing| {
        let wasi: Vec<String> = missing
            .iter()
            .filter(|m| m.starts_with("wasi_snapshot_preview1."))
            .cloned()
            .collect();
        if !cfg!(feature = "wasi") && !wasi.is_empty() && wasi.len() == missing.len() {
            CompileError::NoWasi(wasi)
        } else {
            CompileError::MissingImports(missing)
        }
    })?;
    let manifest = manifest::from_sections(&module);
    Ok(Compiled {
        module,
        linker,
        manifest,
        #[cfg(feature = "std")]
        bytes: Arc::from(bytes),
    })
}

/// Compiles `bytes`, or returns the live compiled module with the same bytes.
pub(crate) fn compile(bytes: &[u8]) -> Result<Arc<Compiled>, CompileError> {
    #[cfg(feature = "std")]
    {
        cache::get_or_compile(bytes)
    }
    #[cfg(not(feature = "std"))]
    {
        compile_uncached(bytes).map(Arc::new)
    }
}

#[cfg(feature = "std")]
mod cache {
    use super::{CompileError, Compiled, compile_uncached};
    use alloc::sync::{Arc, Weak};
    use std::collections::HashMap;
    use std::sync::{Mutex, PoisonError};

    /// Compiled modules by their bytes, held weakly.
    type Entries = HashMap<Arc<[u8]>, Weak<Compiled>>;

    /// Live compiled modules. Entries whose module is gone are dropped on insert.
    static CACHE: Mutex<Option<Entries>> = Mutex::new(None);

    pub(super) fn get_or_compile(bytes: &[u8]) -> Result<Arc<Compiled>, CompileError> {
        if let Some(hit) = lookup(bytes) {
            return Ok(hit);
        }
        // Compile outside the lock: a large module must not stall other loads. Two threads
        // compiling the same bytes at once both succeed; the first insert wins.
        let compiled = Arc::new(compile_uncached(bytes)?);
        let mut guard = CACHE.lock().unwrap_or_else(PoisonError::into_inner);
        let map = guard.get_or_insert_with(HashMap::new);
        if let Some(hit) = map.get(bytes).and_then(Weak::upgrade) {
            return Ok(hit);
        }
        map.retain(|_, weak| weak.strong_count() > 0);
        map.insert(compiled.bytes.clone(), Arc::downgrade(&compiled));
        Ok(compiled)
    }

    fn lookup(bytes: &[u8]) -> Option<Arc<Compiled>> {
        let guard = CACHE.lock().unwrap_or_else(PoisonError::into_inner);
        guard.as_ref()?.get(bytes)?.upgrade()
    }

    /// How many compiled modules are alive (tests use this to check nothing leaks).
    #[cfg(test)]
    pub(crate) fn live() -> usize {
        let guard = CACHE.lock().unwrap_or_else(PoisonError::into_inner);
        guard
            .as_ref()
            .map_or(0, |m| m.values().filter(|w| w.strong_count() > 0).count())
    }
}

#[cfg(all(test, feature = "std"))]
mod tests {
    use super::*;

    #[test]
    fn same_bytes_compile_once_and_are_freed_with_their_last_user() {
        let bytes =
            wat::parse_str(r#"(module (func (export "cache_test_unique_name")))"#).expect("wat");
        let (a, b) = match (compile(&bytes), compile(&bytes)) {
            (Ok(a), Ok(b)) => (a, b),
            _ => panic!("compile failed"),
        };
        assert!(Arc::ptr_eq(&a, &b));
        let weak = Arc::downgrade(&a);
        drop((a, b));
        assert!(
            weak.upgrade().is_none(),
            "the cache must not keep modules alive"
        );
        let _ = cache::live();
    }

    #[test]
    fn different_bytes_never_share() {
        let one = wat::parse_str(r#"(module (func (export "one")))"#).expect("wat");
        let two = wat::parse_str(r#"(module (func (export "two")))"#).expect("wat");
        let (a, b) = match (compile(&one), compile(&two)) {
            (Ok(a), Ok(b)) => (a, b),
            _ => panic!("compile failed"),
        };
        assert!(!Arc::ptr_eq(&a, &b));
    }
}
