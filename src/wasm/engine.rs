//! Compiling modules, and the cache that compiles each distinct module once.
//!
//! wasmi keeps compiled code per [`Engine`] until the engine is dropped; dropping a [`Module`]
//! frees nothing. So every distinct module gets an engine of its own: when the last plugin
//! using a module is dropped, its engine goes too and the code is freed. Unloading or
//! reloading plugins therefore does not grow memory.
//!
//! With `std`, compiled modules are cached by their bytes and their engine settings (weakly:
//! the cache never keeps a module alive), so loading the same bytes again, through another
//! loader or registry, costs no compilation and shares lazily compiled function bodies. A
//! lookup hashes the bytes once with BLAKE3 and looks the digest up: no copy, no comparison.
//! BLAKE3 is collision-resistant, so two different modules never share an entry, however they
//! were crafted; it costs about 160 µs per MiB (the whole cost of a hit on a large module
//! whose instantiation is cheap, see `benches/load.rs`).

use alloc::string::{String, ToString};
use alloc::sync::Arc;

#[cfg(feature = "std")]
use wasmi::Linker;
use wasmi::{CompilationMode, Config as EngineConfig, Engine, Module, OperatorCost};

use alloc::format;
use alloc::vec::Vec;

use super::abi::manifest::{self, Manifest, ManifestError};
use super::exports::{self, DeclarationError, Planned};
#[cfg(feature = "std")]
use super::store::Host;
use super::{limits, scan};

/// A compiled module with its own engine, and its manifest section, parsed once.
pub(crate) struct Compiled {
    pub(crate) module: Module,
    /// The `xxplugin` custom section, parsed; `None` when there is none.
    pub(crate) manifest: Option<Result<Manifest, ManifestError>>,
    /// Why fresh instances of this module cannot start from a snapshot, if they cannot (see
    /// `scan` and `snapshot`).
    pub(crate) no_snapshot: Option<&'static str>,
    /// Whether its code rules snapshots out, read when a snapshot is first used.
    pub(crate) code_check: scan::CodeCheck,
    /// Whether it exports something a load may run before any call (the start function,
    /// `_initialize`, the manifest and metadata exports); without, and without a legacy result
    /// slot to allocate, a load runs none of its code.
    pub(crate) startup_exports: bool,
    /// The plans of its functions when the module alone decides them (its manifest section
    /// declares them, or nothing does), planned once for every load of it; `None` when its
    /// `xxplugin_manifest` export declares them at load, or its manifest section is invalid.
    pub(crate) plans: Option<Result<Planned, DeclarationError>>,
    /// What it imports, as `module.name`.
    pub(crate) imports: Vec<String>,
    /// Its imports linked, shared by every load of it, when they do not depend on the config
    /// (see `imports::depends_on_config`); set by the first load that links them. Linking all
    /// of WASI takes some 15 µs.
    #[cfg(feature = "std")]
    pub(crate) linker: std::sync::OnceLock<Arc<Linker<Host>>>,
    /// The bytes it was compiled from and the engine's settings: the cache's key, and what
    /// [`recompile`] needs.
    key: (Arc<[u8]>, Settings),
}

/// What the engine of a module depends on in a plugin's config.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Settings {
    /// Fuel metering: calls and start-up code run in slices (off only for trusted plugins).
    pub(crate) metered: bool,
    /// The deepest wasm call nesting allowed.
    pub(crate) max_call_depth: usize,
    /// Bytes a bulk memory or table operation moves per unit of fuel (see `limits`).
    pub(crate) bytes_per_fuel: u32,
}

impl Settings {
    pub(crate) fn of(config: &crate::Config) -> Self {
        Self {
            metered: config.metered(),
            max_call_depth: config.max_call_depth,
            bytes_per_fuel: limits::bytes_per_fuel(config.max_memory),
        }
    }

    fn engine(self) -> Engine {
        let mut config = EngineConfig::default();
        // Validate everything at load, so bad bytes fail there and name the file; translate
        // each function to wasmi bytecode on its first call, so loading a large module stays
        // fast.
        config.compilation_mode(CompilationMode::LazyTranslation);
        // One memory per module (`scan` bounds function arity, the limiter sums tables).
        config.wasm_multi_memory(false);
        config.consume_fuel(self.metered);
        // Fuel pays for what the plugin runs, not for translating its functions: lazy
        // translation charges by function size, and a large function's charge taken from one
        // fuel slice ends the call with a trap (wasmi cannot resume it), however much budget is
        // left. Translation is bounded by the module's size and happens once per function.
        config.fuel_cost(wasmi::CustomFuelCosts {
            bytes_copied_per_fuel: self.bytes_per_fuel,
            fuel_per_bytes_translated: 0,
            fuel_per_bytes_validated: 0,
        });
        // Each `memory.grow` and `table.grow` holds ~176 bytes of native stack until the
        // interpreter returns (wasmi 2.0's tail-call dispatch); charging them the most a
        // single operator can cost bounds how many run within one fuel slice.
        config.operator_cost(OperatorCost {
            memory_grow: u8::MAX,
            table_grow: u8::MAX,
            ..OperatorCost::default()
        });
        config.set_max_recursion_depth(self.max_call_depth);
        Engine::new(&config)
    }
}

/// The exports a load may call before any call of the plugin's functions.
const STARTUP_EXPORTS: &[&str] = &[
    scan::START_EXPORT,
    "_initialize",
    manifest::MANIFEST_EXPORT,
    "plugin_name",
    "plugin_version",
];

/// Why a module does not compile: the reason, and wasmi's error when it is wasmi's.
pub(crate) struct Invalid {
    pub(crate) reason: String,
    pub(crate) source: Option<wasmi::Error>,
}

impl From<String> for Invalid {
    fn from(reason: String) -> Self {
        Self {
            reason,
            source: None,
        }
    }
}

fn compile_uncached(bytes: Arc<[u8]>, settings: Settings) -> Result<Compiled, Invalid> {
    let prepared = scan::prepare(&bytes)?;
    let engine = settings.engine();
    let module = Module::new(&engine, &prepared.bytes).map_err(|e| Invalid {
        reason: e.to_string(),
        source: Some(e),
    })?;
    let manifest = manifest::from_sections(&module);
    let startup_exports = module
        .exports()
        .any(|e| STARTUP_EXPORTS.contains(&e.name()));
    let plans = match &manifest {
        Some(Ok(manifest)) => Some(exports::plan_module(&module, &manifest.functions)),
        Some(Err(_)) => None,
        None if module.get_export(manifest::MANIFEST_EXPORT).is_some() => None,
        None => Some(exports::plan_module(&module, &[])),
    };
    let imports = module
        .imports()
        .map(|i| format!("{}.{}", i.module(), i.name()))
        .collect();
    #[cfg(feature = "std")]
    let code_check = scan::CodeCheck::later(&bytes, prepared.code);
    #[cfg(not(feature = "std"))]
    let code_check = scan::CodeCheck::now(&bytes, prepared.code);
    Ok(Compiled {
        module,
        manifest,
        no_snapshot: prepared.no_snapshot,
        code_check,
        startup_exports,
        plans,
        imports,
        #[cfg(feature = "std")]
        linker: std::sync::OnceLock::new(),
        key: (bytes, settings),
    })
}

/// The same module compiled again on an engine of its own (never from the cache): for another
/// instance of a plugin that must not share the first one's engine (see `instance`).
pub(crate) fn recompile(compiled: &Compiled) -> Result<Compiled, Invalid> {
    let (bytes, settings) = &compiled.key;
    compile_uncached(bytes.clone(), *settings)
}

/// Compiles `bytes`, or returns the live compiled module with the same bytes and settings.
pub(crate) fn compile(bytes: &[u8], settings: Settings) -> Result<Arc<Compiled>, Invalid> {
    #[cfg(feature = "std")]
    {
        cache::get_or_compile(bytes, settings)
    }
    #[cfg(not(feature = "std"))]
    {
        compile_uncached(Arc::from(bytes), settings).map(Arc::new)
    }
}

#[cfg(feature = "std")]
mod cache {
    use super::{Compiled, Invalid, Settings, compile_uncached};
    use alloc::sync::{Arc, Weak};
    use std::collections::HashMap;
    use std::sync::{Mutex, PoisonError};

    /// The BLAKE3 digest of a module's bytes: what the cache knows a module by.
    pub(super) type Digest = [u8; 32];

    /// Compiled modules by the digest of their bytes and their settings, held weakly. The
    /// digest is collision-resistant, so equal digests are equal bytes: a lookup reads the
    /// bytes once (to hash them) and never compares or copies them.
    type Entries = HashMap<(Digest, Settings), Weak<Compiled>>;

    /// Live compiled modules. Entries whose module is gone are dropped on insert.
    static CACHE: Mutex<Option<Entries>> = Mutex::new(None);

    pub(super) fn get_or_compile(
        bytes: &[u8],
        settings: Settings,
    ) -> Result<Arc<Compiled>, Invalid> {
        with_digest(digest(bytes), bytes, settings)
    }

    /// [`get_or_compile`] of bytes whose digest is `digest`.
    pub(super) fn with_digest(
        digest: Digest,
        bytes: &[u8],
        settings: Settings,
    ) -> Result<Arc<Compiled>, Invalid> {
        let key = (digest, settings);
        if let Some(hit) = lookup(&key) {
            return Ok(hit);
        }
        // Compile outside the lock: a large module must not stall other loads. Two threads
        // compiling the same bytes at once both succeed; the first insert wins.
        let compiled = Arc::new(compile_uncached(Arc::from(bytes), settings)?);
        let mut guard = CACHE.lock().unwrap_or_else(PoisonError::into_inner);
        let map = guard.get_or_insert_with(HashMap::new);
        if let Some(hit) = map.get(&key).and_then(Weak::upgrade) {
            return Ok(hit);
        }
        map.retain(|_, entry| entry.strong_count() > 0);
        map.insert(key, Arc::downgrade(&compiled));
        Ok(compiled)
    }

    /// The live module of `key`, if any.
    fn lookup(key: &(Digest, Settings)) -> Option<Arc<Compiled>> {
        let guard = CACHE.lock().unwrap_or_else(PoisonError::into_inner);
        guard.as_ref()?.get(key)?.upgrade()
    }

    /// The BLAKE3 digest of `bytes`: one pass, with the widest SIMD the CPU has (about
    /// 6 GB/s on one core of the reference machine, some 160 µs per MiB).
    pub(super) fn digest(bytes: &[u8]) -> Digest {
        *blake3::hash(bytes).as_bytes()
    }
}

#[cfg(all(test, feature = "std"))]
mod tests {
    use super::*;

    const DEFAULT: Settings = Settings {
        metered: false,
        max_call_depth: 1000,
        bytes_per_fuel: 64,
    };

    fn compiled(wat: &str, settings: Settings) -> Arc<Compiled> {
        let bytes = wat::parse_str(wat).expect("wat");
        match compile(&bytes, settings) {
            Ok(c) => c,
            Err(e) => panic!("{}", e.reason),
        }
    }

    #[test]
    fn same_bytes_compile_once_and_are_freed_with_their_last_user() {
        let src = r#"(module (func (export "cache_test_unique_name")))"#;
        let (a, b) = (compiled(src, DEFAULT), compiled(src, DEFAULT));
        assert!(Arc::ptr_eq(&a, &b));
        let weak = Arc::downgrade(&a);
        drop((a, b));
        assert!(
            weak.upgrade().is_none(),
            "the cache must not keep modules alive"
        );
    }

    /// `wat` with a custom section `z` holding `tail` appended: the same module, other bytes.
    fn with_tail(wat: &str, tail: &[u8]) -> alloc::vec::Vec<u8> {
        let mut bytes = wat::parse_str(wat).expect("wat");
        let payload_len = u8::try_from(2 + tail.len()).expect("short");
        bytes.extend_from_slice(&[0, payload_len, 1, b'z']);
        bytes.extend_from_slice(tail);
        bytes
    }

    /// Bytes that differ anywhere, down to their last byte, are different modules; equal bytes
    /// in another buffer are the same one. (The key is a digest of all the bytes: nothing but
    /// the bytes and the settings decides a hit.)
    #[test]
    fn only_equal_bytes_share_a_module() {
        let src = r#"(module (func (export "tail_test_unique_name")))"#;
        let one = with_tail(src, b"same prefix, last byte 1");
        let two = with_tail(src, b"same prefix, last byte 2");
        assert_eq!(one.len(), two.len());
        let compile = |bytes: &[u8]| match compile(bytes, DEFAULT) {
            Ok(c) => c,
            Err(e) => panic!("{}", e.reason),
        };
        let (a, b) = (compile(&one), compile(&two));
        assert!(!Arc::ptr_eq(&a, &b));
        assert_eq!(*a.key.0, *one);
        assert_eq!(*b.key.0, *two);
        let again = compile(&one.clone());
        assert!(
            Arc::ptr_eq(&a, &again),
            "equal bytes hit, wherever they are"
        );
        assert_ne!(cache::digest(&one), cache::digest(&two));
    }

    /// A digest shared by two modules (which BLAKE3 makes impossible to craft; forced here)
    /// would share the first one's module: what the key rests on. Settings still part them.
    #[test]
    fn the_digest_and_settings_are_the_whole_key() {
        let forced = [0xC0; 32];
        let compile_as = |wat: &str, settings| {
            let bytes = wat::parse_str(wat).expect("wat");
            match cache::with_digest(forced, &bytes, settings) {
                Ok(c) => c,
                Err(e) => panic!("{}", e.reason),
            }
        };
        let one = compile_as(r#"(module (func (export "forced_one")))"#, DEFAULT);
        let two = compile_as(r#"(module (func (export "forced_two")))"#, DEFAULT);
        assert!(Arc::ptr_eq(&one, &two));
        let metered = Settings {
            metered: true,
            ..DEFAULT
        };
        let three = compile_as(r#"(module (func (export "forced_one")))"#, metered);
        assert!(!Arc::ptr_eq(&one, &three));
    }

    #[test]
    fn different_bytes_or_settings_never_share() {
        let one = compiled(r#"(module (func (export "one")))"#, DEFAULT);
        let two = compiled(r#"(module (func (export "two")))"#, DEFAULT);
        assert!(!Arc::ptr_eq(&one, &two));
        let metered = Settings {
            metered: true,
            ..DEFAULT
        };
        let three = compiled(r#"(module (func (export "one")))"#, metered);
        assert!(!Arc::ptr_eq(&one, &three));
    }
}
