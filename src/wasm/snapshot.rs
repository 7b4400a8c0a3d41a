//! Snapshots: the state of a plugin's first instance after its start-up, copied so that a fresh
//! instance of the plugin (after a trap or a limit, with [`Recovery::Reinstantiate`]) starts
//! from it instead of running start-up again. A Go plugin's runtime takes milliseconds to start
//! (its `_initialize` runs the Go scheduler, allocator and package initializers); copying what
//! it left takes a fraction of that.
//!
//! # What a snapshot holds
//!
//! Taken once the start function, `_initialize` and the metadata exports (`xxplugin_manifest`,
//! `plugin_name`, `plugin_version`, and `alloc(8)` for the legacy result slot, which the fresh
//! instance reuses) have run, and before any call: at the end of the load, or, when start-up
//! at load reached nothing outside the instance (no output, no log, no WASI call but plain
//! reads of the arguments, environment, clock and randomness), from the first fresh instance
//! after its start-up: running it again gives the same instance, and a load need not pay for a
//! copy most plugins never use (see `instance::Fresh`). A load
//! that runs none of the plugin's code takes none: a fresh instantiation is that instance.
//! A snapshot belongs to one plugin (one load, under its config): loads of the same module
//! never share one. It holds:
//!
//! - the size of the memory, and its contents, sparsely: only the 4 KiB chunks that are not
//!   all zero, consecutive ones stored as one run, so a 64 MiB memory that is mostly empty
//!   costs what its used part does;
//! - the value of every mutable global the module defines (`scan` exports each one under an
//!   internal name, since wasmi only lets the host reach exports).
//!
//! A fresh instance is then made by instantiating the module (which runs no plugin code: data
//! and element segments are applied, as always), growing its memory to the snapshot's size
//! with `memory.grow` (so the store's limiter counts it, as it counted the original growth),
//! writing the runs, zeroing what data segments put where the snapshot has zeros, and setting
//! the globals. No plugin code runs: not the start function, not `_initialize`, not the
//! metadata exports.
//!
//! # Why that is the whole state
//!
//! An instance is its memory, its globals, its tables, the data and element segments it has
//! not dropped, and what the host keeps for it. Immutable globals hold what instantiation gives
//! them. Tables hold what the element segments put there, and segments stay, unless the code
//! changes them: `scan` reads the code for `table.set`, `table.grow`, `table.fill`,
//! `table.copy`, `table.init`, `elem.drop` and `data.drop`, and a module that has any of them
//! gets no snapshot. The host keeps its limits (counted again by the growth), the call state
//! (empty between calls), and WASI's file descriptors and the embedder's host functions, which
//! a copy cannot bring back: see below.
//!
//! # When start-up runs instead
//!
//! The fresh instance runs start-up as before, and no snapshot is kept, when:
//!
//! - [`Config::snapshots`] is off, or the config keeps instances after a trap
//!   ([`Recovery::KeepInstance`]: no fresh instance is ever made);
//! - the module's code changes tables or drops segments (above), a mutable global holds a
//!   reference (a function reference is a handle into one store), or the module imports its
//!   memory;
//! - start-up opened, closed, renumbered or changed a file descriptor through WASI (the
//!   descriptor lives in the host: the fresh instance would hold numbers that mean nothing),
//!   or changed files or directories;
//! - start-up called one of the embedder's host functions: its effects and its answers are
//!   outside the instance, and only the embedder knows whether calling it again matters (a
//!   function that registers the plugin, or hands out a handle, would be skipped).
//!
//! # What differs from running start-up again
//!
//! The fresh instance is exactly what the load's instance was before its first call (or, for a
//! deferred snapshot, what the first fresh instance was: the same, start-up being repeatable). So what
//! start-up learned from outside is what it learned at load: the clock it read and the random
//! bytes it drew. **All instances restored from one snapshot share the random seeds start-up
//! drew** (Go's map hash seed and `math/rand` state, a C `srand`): a host that needs fresh
//! seeds per instance turns snapshots off. Output start-up wrote (through WASI) is not written
//! again. Restoring is host work, bounded by the memory limit like instantiation, and is not
//! charged to the call's fuel.
//!
//! [`Recovery::Reinstantiate`]: crate::Recovery::Reinstantiate
//! [`Recovery::KeepInstance`]: crate::Recovery::KeepInstance
//! [`Config::snapshots`]: crate::Config::snapshots

use alloc::boxed::Box;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use wasmi::{Extern, Instance, Memory, Store, Val};

use super::scan;
use super::store::Host;

/// The granularity of the sparse copy of memory.
const CHUNK: usize = 4096;

/// A chunk of zeros, to compare chunks with (a `memcmp`, fast in any build).
static ZEROS: [u8; CHUNK] = [0; CHUNK];

/// The state of an instance after its start-up, to start fresh instances of the same module
/// from (see the module doc).
pub(crate) struct Snapshot {
    memory: Option<Image>,
    /// The internal export of each mutable global, and its value.
    globals: Box<[(Box<str>, Val)]>,
}

/// A memory's size and its non-zero contents.
struct Image {
    /// The name the memory is exported under.
    export: Box<str>,
    /// Its size in pages, and in bytes.
    pages: u64,
    size: usize,
    /// The runs of non-zero chunks: where each starts in memory, and its length. Their bytes
    /// are in `bytes`, one after the other. Ordered and apart.
    runs: Box<[(usize, usize)]>,
    bytes: Box<[u8]>,
}

fn is_zero(chunk: &[u8]) -> bool {
    ZEROS.get(..chunk.len()).is_some_and(|zeros| zeros == chunk)
}

impl Snapshot {
    /// Copies the state of `instance`: its memory and its mutable globals. The module must
    /// have been prepared by `scan`, with no `no_snapshot` reason, and a fresh instance may be
    /// restored from the copy only once its `CodeCheck` passed (`Spawner` sees to both). Fails,
    /// saying why, when the instance did something a copy cannot reproduce (see
    /// [`Host::unrepeatable`]) or a global holds a reference.
    pub(crate) fn take(store: &Store<Host>, instance: &Instance) -> Result<Self, &'static str> {
        if let Some(why) = store.data().unrepeatable {
            return Err(why);
        }
        let mut memory = None;
        let mut globals = Vec::new();
        for export in instance.exports(store) {
            let name = export.name();
            match export.into_extern() {
                Extern::Memory(m) if memory.is_none() => memory = Some((Box::from(name), m)),
                Extern::Global(g) if name.starts_with(scan::GLOBAL_EXPORT_PREFIX) => {
                    let value = g.get(store);
                    if matches!(value, Val::FuncRef(_) | Val::ExternRef(_)) {
                        return Err("a mutable global of it holds a reference");
                    }
                    globals.push((Box::from(name), value));
                }
                _ => {}
            }
        }
        Ok(Self {
            memory: memory.map(|(export, memory)| Image::take(store, export, memory)),
            globals: globals.into_boxed_slice(),
        })
    }

    /// Makes `instance`, fresh from instantiation in `store`, what the snapshot's instance
    /// was: grows its memory (through the store's limiter), writes its contents, sets its
    /// globals. The error says what failed; the instance is then half-restored, to be dropped.
    pub(crate) fn restore(
        &self,
        store: &mut Store<Host>,
        instance: &Instance,
    ) -> Result<(), String> {
        if let Some(image) = &self.memory {
            let memory = instance
                .get_memory(&*store, &image.export)
                .ok_or_else(|| format!("the instance has no memory export {:?}", image.export))?;
            image.restore(store, memory)?;
        }
        for (name, value) in &self.globals {
            let global = instance
                .get_global(&*store, name)
                .ok_or_else(|| format!("the instance has no global export {name:?}"))?;
            global
                .set(&mut *store, value.clone())
                .map_err(|e| format!("setting the global {name:?}: {e}"))?;
        }
        Ok(())
    }

    /// The bytes of memory the snapshot keeps.
    pub(crate) fn stored_bytes(&self) -> usize {
        self.memory.as_ref().map_or(0, |m| m.bytes.len())
    }
}

impl Image {
    fn take(store: &Store<Host>, export: Box<str>, memory: Memory) -> Self {
        let data = memory.data(store);
        let mut runs: Vec<(usize, usize)> = Vec::new();
        let mut bytes = Vec::new();
        let mut at = 0;
        for chunk in data.chunks(CHUNK) {
            if !is_zero(chunk) {
                bytes.extend_from_slice(chunk);
                match runs.last_mut() {
                    Some((start, len)) if *start + *len == at => *len += chunk.len(),
                    _ => runs.push((at, chunk.len())),
                }
            }
            at += chunk.len();
        }
        Self {
            export,
            pages: memory.size(store),
            size: data.len(),
            runs: runs.into_boxed_slice(),
            bytes: bytes.into_boxed_slice(),
        }
    }

    fn restore(&self, store: &mut Store<Host>, memory: Memory) -> Result<(), String> {
        let pages = memory.size(&*store);
        // What instantiation wrote (data segments) lies within the initial size; what the
        // growth adds is zeros already.
        let initial = memory.data_size(&*store);
        if pages > self.pages {
            return Err(format!(
                "the fresh memory has {pages} pages, more than the snapshot's {}",
                self.pages
            ));
        }
        if pages < self.pages {
            memory
                .grow(&mut *store, self.pages - pages)
                .map_err(|e| format!("growing the memory to {} pages: {e}", self.pages))?;
        }
        let data = memory.data_mut(&mut *store);
        if data.len() != self.size {
            return Err(format!(
                "the memory has {} bytes at {} pages, the snapshot {}",
                data.len(),
                self.pages,
                self.size
            ));
        }
        let mut settled = 0; // bytes of memory before this are the snapshot's
        let mut from = 0; // where the next run's bytes start in `self.bytes`
        for &(at, len) in &self.runs {
            clear(data.get_mut(settled.min(initial)..at.min(initial)));
            let src = self.bytes.get(from..from + len);
            let dst = data.get_mut(at..at + len);
            match (src, dst) {
                (Some(src), Some(dst)) => dst.copy_from_slice(src),
                _ => return Err(format!("a run of {len} bytes at {at:#x} is out of bounds")),
            }
            from += len;
            settled = at + len;
        }
        clear(data.get_mut(settled.min(initial)..initial));
        Ok(())
    }
}

/// Zeroes the chunks of `memory` that are not zero already (writing only those, so memory
/// pages the fresh instance never touched stay untouched).
fn clear(memory: Option<&mut [u8]>) {
    for chunk in memory.unwrap_or_default().chunks_mut(CHUNK) {
        if !is_zero(chunk) {
            chunk.fill(0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::sync::Arc;

    /// A store of `wat` (no imports) with the start-up's state, under `config`.
    fn instance(wat: &str, config: &crate::Config) -> (Store<Host>, Instance) {
        let bytes = wat::parse_str(wat).expect("wat");
        let prepared = scan::prepare(&bytes).expect("prepared");
        assert_eq!(prepared.no_snapshot, None);
        let engine = wasmi::Engine::default();
        let module = wasmi::Module::new(&engine, &prepared.bytes[..]).expect("module");
        let host = Host::new(
            config,
            Arc::from("t"),
            crate::lock::LockId::new(),
            None,
            #[cfg(feature = "wasi")]
            None,
        );
        let mut store = Store::new(&engine, host);
        store.limiter(|host| &mut host.limiter);
        let instance = wasmi::Linker::new(&engine)
            .instantiate_and_start(&mut store, &module)
            .expect("instance");
        (store, instance)
    }

    const MODULE: &str = r#"(module
        (memory 2 100)
        (global $g (mut i64) (i64.const 7))
        (global $h (mut f32) (f32.const 1.5))
        (data (i32.const 0) "abc")
        (data (i32.const 70000) "far")
        (func (export "run")
            ;; what start-up might do: grow, write past the data, clear a segment, set globals
            (drop (memory.grow (i32.const 3)))
            (i64.store (i32.const 200000) (i64.const -1))
            (i32.store8 (i32.const 1) (i32.const 0))
            (i32.store (i32.const 70000) (i32.const 0))
            (global.set $g (i64.const 42))
            (global.set $h (f32.const -2))))"#;

    fn run(store: &mut Store<Host>, instance: &Instance) {
        let run = instance
            .get_typed_func::<(), ()>(&*store, "run")
            .expect("run");
        run.call(&mut *store, ()).expect("runs");
    }

    #[test]
    fn a_restored_instance_has_the_memory_and_globals_of_the_snapshot() {
        let config = crate::Config::new();
        let (mut store, instance) = instance(MODULE, &config);
        run(&mut store, &instance);
        let snapshot = Snapshot::take(&store, &instance).expect("snapshot");
        // Three runs: page 0 (the data), the chunk at 200000; the cleared segment at 70000 is
        // not stored at all.
        assert_eq!(snapshot.stored_bytes(), 2 * CHUNK);
        let (mut fresh, fresh_instance) = self::instance(MODULE, &config);
        snapshot
            .restore(&mut fresh, &fresh_instance)
            .expect("restored");
        let memory = |store: &Store<Host>, instance: &Instance| {
            let m = instance
                .get_memory(store, "\u{0}xxplugin-memory")
                .expect("memory");
            (m.size(store), m.data(store).to_vec())
        };
        assert_eq!(memory(&fresh, &fresh_instance), memory(&store, &instance));
        for name in ["\u{0}xxplugin-global-0", "\u{0}xxplugin-global-1"] {
            let get = |store: &Store<Host>, instance: &Instance| {
                let global = instance.get_global(store, name).expect("global");
                format!("{:?}", global.get(store))
            };
            assert_eq!(
                get(&fresh, &fresh_instance),
                get(&store, &instance),
                "{name}"
            );
        }
        // The growth went through the limiter: the fresh store counts 5 pages.
        assert!(fresh.data_mut().limiter.take_hit().is_none());
    }

    #[test]
    fn restoring_past_the_memory_limit_fails() {
        let (mut store, instance) = instance(MODULE, &crate::Config::new());
        run(&mut store, &instance);
        let snapshot = Snapshot::take(&store, &instance).expect("snapshot");
        // 4 pages allowed: the snapshot has 5.
        let tight = crate::Config::new().max_memory(4 << 16);
        let (mut fresh, fresh_instance) = self::instance(MODULE, &tight);
        let err = snapshot
            .restore(&mut fresh, &fresh_instance)
            .expect_err("over the limit");
        assert!(err.contains("growing the memory to 5 pages"), "{err}");
        assert_eq!(
            fresh.data_mut().limiter.take_hit(),
            Some(crate::Limit::Memory(4 << 16))
        );
    }

    #[test]
    fn an_unrepeatable_instance_has_no_snapshot() {
        let (mut store, instance) = instance(MODULE, &crate::Config::new());
        store.data_mut().mark_unrepeatable("it did something");
        assert_eq!(
            Snapshot::take(&store, &instance).err(),
            Some("it did something")
        );
    }
}
