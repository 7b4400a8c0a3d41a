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
//! lookup takes a fingerprint of a fixed number of sampled bytes (the length, the first and
//! last 1 KiB, 32 spread blocks: the same work whatever the size), then compares the bytes
//! with those the cached module was compiled from (which it keeps for recompiling): one pass,
//! no copy, and exact, so two different modules never share an entry however they were
//! crafted. The compare stops at the first differing byte; a hit reads the bytes once, at
//! memory speed (a cryptographic digest, BLAKE3, was measured at 4-7x the cost of that
//! compare, 160 µs per MiB).

use alloc::string::{String, ToString};
use alloc::sync::Arc;

#[cfg(feature = "std")]
use wasmi::Linker;
use wasmi::{CompilationMode, Config as EngineConfig, Engine, Module, OperatorCost};

use alloc::format;

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
    pub(crate) imports: Arc<[String]>,
    /// Which of its exports are short (see `short`), read when a metered call first asks.
    pub(crate) short: Arc<super::short::Oracle>,
    /// Its imports linked, shared by every load of it, when they do not depend on the config
    /// (see `imports::depends_on_config`); set by the first load that links them. Linking all
    /// of WASI takes some 15 µs.
    #[cfg(feature = "std")]
    pub(crate) linker: std::sync::OnceLock<Arc<Linker<Host>>>,
    /// What the start-up of an instance of it gives, when nothing but the module decides that
    /// (see [`Prelude`](super::load::Prelude)); set by the first load that ran it, so that later
    /// loads of the same bytes need not.
    #[cfg(feature = "std")]
    pub(crate) prelude: std::sync::OnceLock<super::load::Prelude>,
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
        short: Arc::new(super::short::Oracle::new(bytes.clone())),
        #[cfg(feature = "std")]
        linker: std::sync::OnceLock::new(),
        #[cfg(feature = "std")]
        prelude: std::sync::OnceLock::new(),
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
    use super::super::fx::Fx;
    use super::{Compiled, Invalid, Settings, compile_uncached};
    use alloc::sync::{Arc, Weak};
    use alloc::vec::Vec;
    use core::hash::Hasher;
    use std::collections::HashMap;
    use std::sync::{Mutex, PoisonError};

    /// Compiled modules by the fingerprint of their bytes and their settings, held weakly;
    /// modules whose fingerprints collide share a bucket, told apart by their bytes.
    type Entries = HashMap<(u64, Settings), Vec<Weak<Compiled>>>;

    /// Live compiled modules. Entries whose module is gone are dropped on insert.
    static CACHE: Mutex<Option<Entries>> = Mutex::new(None);

    pub(super) fn get_or_compile(
        bytes: &[u8],
        settings: Settings,
    ) -> Result<Arc<Compiled>, Invalid> {
        with_fingerprint(fingerprint(bytes), bytes, settings)
    }

    /// [`get_or_compile`] of bytes whose fingerprint is `fingerprint`.
    pub(super) fn with_fingerprint(
        fingerprint: u64,
        bytes: &[u8],
        settings: Settings,
    ) -> Result<Arc<Compiled>, Invalid> {
        let key = (fingerprint, settings);
        if let Some(hit) = lookup(&key, bytes) {
            return Ok(hit);
        }
        // Compile outside the lock: a large module must not stall other loads. Two threads
        // compiling the same bytes at once both succeed; the first insert wins.
        let compiled = Arc::new(compile_uncached(Arc::from(bytes), settings)?);
        let mut guard = CACHE.lock().unwrap_or_else(PoisonError::into_inner);
        let map = guard.get_or_insert_with(HashMap::new);
        if let Some(twin) = map.get(&key).and_then(|bucket| find(bucket, bytes)) {
            return Ok(twin);
        }
        map.retain(|_, bucket| {
            bucket.retain(|entry| entry.strong_count() > 0);
            !bucket.is_empty()
        });
        map.entry(key).or_default().push(Arc::downgrade(&compiled));
        Ok(compiled)
    }

    /// The live module compiled from `bytes` under the key's settings, if any.
    fn lookup(key: &(u64, Settings), bytes: &[u8]) -> Option<Arc<Compiled>> {
        let guard = CACHE.lock().unwrap_or_else(PoisonError::into_inner);
        find(guard.as_ref()?.get(key)?, bytes)
    }

    /// The live module of `bucket` compiled from exactly `bytes`.
    fn find(bucket: &[Weak<Compiled>], bytes: &[u8]) -> Option<Arc<Compiled>> {
        bucket
            .iter()
            .filter_map(Weak::upgrade)
            .find(|compiled| *compiled.key.0 == *bytes)
    }

    /// A fingerprint of `bytes` from a bounded sample: the length, the first and last 1 KiB,
    /// and 32 blocks of 64 bytes spread evenly between (FxHash's mix, in four lanes). Not
    /// collision-proof, and need not be: equal fingerprints are compared byte for byte, so it
    /// only has to tell most different modules apart, cheaply: it was a quarter of a cached
    /// load of testplugin (`perf`) when it read 12 KiB through one chain of multiplies.
    pub(super) fn fingerprint(bytes: &[u8]) -> u64 {
        const EDGE: usize = 1024;
        const BLOCKS: usize = 32;
        const BLOCK: usize = 64;
        let mut h = Lanes::default();
        let len = bytes.len();
        if len <= 2 * EDGE + BLOCKS * BLOCK {
            h.write(bytes);
            return h.finish(len);
        }
        h.write(bytes.get(..EDGE).unwrap_or_default());
        h.write(bytes.get(len - EDGE..).unwrap_or_default());
        let stride = (len - 2 * EDGE) / BLOCKS;
        for i in 0..BLOCKS {
            let at = EDGE + i * stride;
            h.write(bytes.get(at..at + BLOCK).unwrap_or_default());
        }
        h.finish(len)
    }

    /// Four [`Fx`] hashes fed a word each in turn: four independent chains of multiplies,
    /// which the processor runs side by side, where one chain waits on each multiply.
    #[derive(Default)]
    struct Lanes([Fx; 4]);

    impl Lanes {
        fn write(&mut self, bytes: &[u8]) {
            let (blocks, rest) = bytes.as_chunks::<32>();
            for block in blocks {
                let (words, _) = block.as_chunks::<8>();
                for (lane, word) in self.0.iter_mut().zip(words) {
                    lane.add(u64::from_le_bytes(*word));
                }
            }
            let [first, ..] = &mut self.0;
            first.write(rest);
        }

        fn finish(self, len: usize) -> u64 {
            let mut h = Fx::default();
            h.write_u64(len as u64);
            for lane in self.0 {
                h.write_u64(lane.finish());
            }
            h.finish()
        }
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
    /// in another buffer are the same one. (Nothing but the bytes and the settings decides a
    /// hit: equal fingerprints are compared byte for byte.)
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
        assert_ne!(cache::fingerprint(&one), cache::fingerprint(&two));
        // A large module differing only outside the sampled bytes: same fingerprint, still
        // another module.
        let big = |mark: u8| {
            // A custom section `p` of 40,000 bytes after the module; byte 4,400 of the whole
            // lies between two sampled blocks.
            let mut bytes = wat::parse_str(src).expect("wat");
            bytes.extend_from_slice(&[0, 0xC1, 0xB8, 0x02, 1, b'p']);
            let start = bytes.len();
            bytes.resize(start + 39_999, 7);
            bytes[4_400] = mark;
            bytes
        };
        let (x, y) = (big(1), big(2));
        assert_eq!(x.len(), y.len());
        assert_eq!(
            cache::fingerprint(&x),
            cache::fingerprint(&y),
            "unsampled byte"
        );
        let (a, b) = (compile(&x), compile(&y));
        assert!(!Arc::ptr_eq(&a, &b), "equal fingerprints, other bytes");
        assert!(Arc::ptr_eq(&a, &compile(&x.clone())));
    }

    /// Every sampled byte counts, in every lane and in the tail: a module read whole (short)
    /// and the edges of a long one.
    #[test]
    fn a_fingerprint_reads_every_sampled_byte() {
        for len in [4_099, 40_003] {
            let bytes: alloc::vec::Vec<u8> = (0..len).map(|i| (i * 31 % 251) as u8).collect();
            let base = cache::fingerprint(&bytes);
            let sampled = (0..1024).chain(len - 1024..len).chain((0..len).step_by(97));
            for at in sampled.filter(|&at| len < 5_000 || at < 1024 || at >= len - 1024) {
                let mut other = bytes.clone();
                other[at] ^= 0x40;
                assert_ne!(cache::fingerprint(&other), base, "byte {at} of {len}");
            }
            assert_ne!(cache::fingerprint(&bytes[..len - 1]), base, "length");
        }
    }

    /// A fingerprint shared by two modules (forced here) never shares a module: the bytes
    /// are compared. Equal bytes under it do share; settings still part them.
    #[test]
    fn a_fingerprint_collision_never_shares_a_module() {
        let forced = 0xC0FF_EE00_u64;
        let compile_as = |wat: &str, settings| {
            let bytes = wat::parse_str(wat).expect("wat");
            match cache::with_fingerprint(forced, &bytes, settings) {
                Ok(c) => c,
                Err(e) => panic!("{}", e.reason),
            }
        };
        let one = compile_as(r#"(module (func (export "forced_one")))"#, DEFAULT);
        let two = compile_as(r#"(module (func (export "forced_two")))"#, DEFAULT);
        assert!(!Arc::ptr_eq(&one, &two));
        let again = compile_as(r#"(module (func (export "forced_one")))"#, DEFAULT);
        assert!(Arc::ptr_eq(&one, &again));
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
