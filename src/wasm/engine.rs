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
//! lookup fingerprints the bytes once (one fast pass, no copy) and then compares them byte for
//! byte with the few entries of that fingerprint: two different modules never share an entry,
//! however they were crafted.

use alloc::string::{String, ToString};
use alloc::sync::Arc;

use wasmi::{CompilationMode, Config as EngineConfig, Engine, Module, OperatorCost};

use super::abi::manifest::{self, Manifest, ManifestError};
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
    #[cfg(feature = "std")]
    let code_check = scan::CodeCheck::later(&bytes, prepared.code);
    #[cfg(not(feature = "std"))]
    let code_check = scan::CodeCheck::now(&bytes, prepared.code);
    Ok(Compiled {
        module,
        manifest,
        no_snapshot: prepared.no_snapshot,
        code_check,
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
    use alloc::vec::Vec;
    use std::collections::HashMap;
    use std::sync::{Mutex, PoisonError};

    /// Compiled modules by a fingerprint of their bytes and their settings, held weakly. A
    /// fingerprint only narrows the search: a hit is a module whose bytes are equal, byte for
    /// byte, so modules crafted to share a fingerprint still never share an entry.
    type Entries = HashMap<(u64, Settings), Vec<Weak<Compiled>>>;

    /// Live compiled modules. Entries whose module is gone are dropped on insert.
    static CACHE: Mutex<Option<Entries>> = Mutex::new(None);

    pub(super) fn get_or_compile(
        bytes: &[u8],
        settings: Settings,
    ) -> Result<Arc<Compiled>, Invalid> {
        with_fingerprint(fingerprint(bytes), bytes, settings)
    }

    /// [`get_or_compile`] of bytes whose fingerprint is `print`.
    pub(super) fn with_fingerprint(
        print: u64,
        bytes: &[u8],
        settings: Settings,
    ) -> Result<Arc<Compiled>, Invalid> {
        let key = (print, settings);
        if let Some(hit) = lookup(key, bytes) {
            return Ok(hit);
        }
        // Compile outside the lock: a large module must not stall other loads. Two threads
        // compiling the same bytes at once both succeed; the first insert wins.
        let compiled = Arc::new(compile_uncached(Arc::from(bytes), settings)?);
        let mut guard = CACHE.lock().unwrap_or_else(PoisonError::into_inner);
        let map = guard.get_or_insert_with(HashMap::new);
        if let Some(hit) = map.get(&key).and_then(|entries| same(live(entries), bytes)) {
            return Ok(hit);
        }
        map.retain(|_, entries| {
            entries.retain(|weak| weak.strong_count() > 0);
            !entries.is_empty()
        });
        map.entry(key).or_default().push(Arc::downgrade(&compiled));
        Ok(compiled)
    }

    /// The live module compiled from `bytes` under the key's settings, if any. The bytes are
    /// compared outside the lock.
    fn lookup(key: (u64, Settings), bytes: &[u8]) -> Option<Arc<Compiled>> {
        let candidates: Vec<Arc<Compiled>> = {
            let guard = CACHE.lock().unwrap_or_else(PoisonError::into_inner);
            live(guard.as_ref()?.get(&key)?).collect()
        };
        same(candidates, bytes)
    }

    /// The modules of `entries` still alive.
    fn live(entries: &[Weak<Compiled>]) -> impl Iterator<Item = Arc<Compiled>> + '_ {
        entries.iter().filter_map(Weak::upgrade)
    }

    /// The one of `candidates` compiled from exactly `bytes`.
    fn same(
        candidates: impl IntoIterator<Item = Arc<Compiled>>,
        bytes: &[u8],
    ) -> Option<Arc<Compiled>> {
        candidates.into_iter().find(|c| *c.key.0 == *bytes)
    }

    /// A 64-bit fingerprint of `bytes`, in one pass of four independent lanes (several bytes
    /// per cycle: fingerprinting a 4 MiB module costs well under a millisecond). Not
    /// collision-resistant, and it need not be: see [`Entries`].
    pub(super) fn fingerprint(bytes: &[u8]) -> u64 {
        const K: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut lanes = [K, K.rotate_left(16), K.rotate_left(32), K.rotate_left(48)];
        let mut blocks = bytes.chunks_exact(32);
        for block in &mut blocks {
            for (lane, word) in lanes.iter_mut().zip(block.chunks_exact(8)) {
                let mut w = [0u8; 8];
                w.copy_from_slice(word);
                *lane = (*lane ^ u64::from_le_bytes(w))
                    .wrapping_mul(K)
                    .rotate_left(29);
            }
        }
        let mut h = (bytes.len() as u64).wrapping_mul(K);
        for lane in lanes {
            h = (h ^ lane).wrapping_mul(K).rotate_left(31);
        }
        for &b in blocks.remainder() {
            h = (h ^ u64::from(b)).wrapping_mul(K).rotate_left(23);
        }
        h ^ (h >> 29)
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

    /// Modules whose fingerprints collide (forced here) are still told apart by their bytes.
    #[test]
    fn a_fingerprint_collision_never_shares_a_module() {
        let compile_as = |wat: &str| {
            let bytes = wat::parse_str(wat).expect("wat");
            match cache::with_fingerprint(0xC0111DE, &bytes, DEFAULT) {
                Ok(c) => (c, bytes),
                Err(e) => panic!("{}", e.reason),
            }
        };
        let (one, one_bytes) = compile_as(r#"(module (func (export "collide_one")))"#);
        let (two, _) = compile_as(r#"(module (func (export "collide_two")))"#);
        assert!(!Arc::ptr_eq(&one, &two));
        let (again, _) = compile_as(r#"(module (func (export "collide_one")))"#);
        assert!(Arc::ptr_eq(&one, &again), "the same bytes still hit");
        assert_eq!(*one.key.0, *one_bytes);
        assert_ne!(
            cache::fingerprint(b"collide_one"),
            cache::fingerprint(b"collide_two")
        );
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
