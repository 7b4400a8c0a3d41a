//! Making one instance of a plugin: a store with its limits, the imports linked, start-up code
//! run under its budget, or the load's snapshot restored instead ([`Spawner`]); and the
//! instance ready for calls ([`Live`]).

use alloc::format;
use alloc::string::{String, ToString};
use alloc::sync::Arc;
use alloc::vec::Vec;

use core::sync::atomic::AtomicUsize;

use wasmi::{Instance, Linker, Store};

use super::call::Live;
use super::engine::{self, Compiled};
use super::imports;
use super::limits::{Meter, Startup};
use super::plan::Plan;
use super::snapshot::Snapshot;
use super::store::Host;
use super::twin::TwinFunc;
use super::{legacy, scan};
use crate::lock::LockId;
use crate::{Config, Error, ErrorKind, Limit, Recovery};

/// Where a load is, for its errors: the plugin's (fallback) name and its file.
#[derive(Clone)]
pub(crate) struct Origin {
    pub(crate) plugin: String,
    pub(crate) file: Option<String>,
}

impl Origin {
    /// An error loading this plugin.
    pub(crate) fn error(&self, kind: ErrorKind) -> Error {
        Error::load(kind, self.plugin.clone(), self.file.clone())
    }

    pub(crate) fn instantiation(&self, reason: String) -> Error {
        self.error(ErrorKind::Instantiation { reason })
    }

    pub(crate) fn metadata(&self, export: &str, reason: String) -> Error {
        self.error(ErrorKind::Metadata {
            export: export.to_string(),
            reason,
        })
    }
}

/// What makes instances on one engine: a compiled module and its imports, linked.
pub(crate) struct Factory {
    compiled: Arc<Compiled>,
    linker: Arc<Linker<Host>>,
}

/// Makes instances of one module under one config, for every slot of the pool: at load, to
/// grow the pool, and after a trap. It holds the compiled module of the first slot, which
/// keeps it (and its cache entry) alive.
pub(crate) struct Spawner {
    compiled: Arc<Compiled>,
    config: Arc<Config>,
    /// What the plugin's cancel handle bumps; `None` for a trusted plugin (not metered).
    cancel: Option<Arc<AtomicUsize>>,
    /// The files the plugin may still open and the bytes it may still write, across instances.
    #[cfg(feature = "wasi")]
    wasi_budget: super::wasi::WasiBudget,
    pub(crate) origin: Origin,
    /// What fresh instances start from (see [`Fresh`]). Read when one is made, written at
    /// most twice (at load, and by the first fresh instance when the snapshot is deferred).
    fresh: spin::RwLock<Fresh>,
}

/// Bytes of room [`Spawner::instantiate`] leaves below an instance's memory: more than the
/// engine allocates at the first calls of a small module (about 40 KiB with testplugin).
const ROOM: usize = 64 << 10;

/// How a fresh instance of a plugin is made (after a trap, to grow the pool, see `runtime`).
enum Fresh {
    /// Start-up runs: snapshots are off or impossible for this plugin, or not needed (the load
    /// ran none of its code, so a new instance is the load's instance already).
    StartUp,
    /// Start-up runs once more, in the first fresh instance, which is then copied for the
    /// next ones. For a plugin whose start-up at load reached nothing outside the instance
    /// ([`Host::reached_out`]: no output, no log, no file, no host function; reading the
    /// arguments, environment, clock or randomness is allowed): running it again gives the
    /// instance the load had (with the clock and random bytes it reads then, as a snapshot
    /// would share), so a load need not pay for a copy that most plugins never use.
    Deferred,
    /// Restored from a copy of a started instance (with its legacy result slot).
    Snapshot(Arc<(Snapshot, Option<u32>)>),
    /// The load started no instance: what start-up gives was known already (see
    /// `load::Prelude`). The plugin's first instance, started at its first call, settles how
    /// the next ones start, as a load's instance does; the plugin may have this many. (Only
    /// with `std`: without, there is no module cache, so no load knows start-up beforehand.)
    #[cfg_attr(not(feature = "std"), allow(dead_code))]
    Unstarted(usize),
}

impl Spawner {
    /// The spawner of a plugin, and the factory of its first slot. Every import the module
    /// needs and the host does not provide is listed in the error.
    /// `cancel` is the plugin's cancel flag when it has one already (a reload shares the old
    /// version's).
    pub(crate) fn new(
        compiled: Arc<Compiled>,
        config: Arc<Config>,
        origin: Origin,
        cancel: Option<Arc<AtomicUsize>>,
    ) -> Result<(Self, Factory), Error> {
        #[cfg(feature = "std")]
        if config.deadline.is_some() && !super::limits::HAS_CLOCK {
            return Err(origin.error(ErrorKind::Instantiation {
                reason: String::from(
                    "Config::deadline needs a clock, and this target (wasm32-unknown-unknown) \
                     has none: bound its calls with Config::fuel instead",
                ),
            }));
        }
        let spawner = Self {
            compiled: compiled.clone(),
            cancel: config
                .metered()
                .then(|| cancel.unwrap_or_else(|| Arc::new(AtomicUsize::new(0)))),
            #[cfg(feature = "wasi")]
            wasi_budget: config.wasi.budget(),
            config,
            origin,
            fresh: spin::RwLock::new(Fresh::StartUp),
        };
        let factory = spawner.factory(compiled)?;
        Ok((spawner, factory))
    }

    /// Links the module's imports: the built-in ones, WASI (by the config's policy) and the
    /// config's host functions.
    fn factory(&self, compiled: Arc<Compiled>) -> Result<Factory, Error> {
        #[cfg(feature = "std")]
        if let Some(linker) = compiled.linker.get() {
            let linker = linker.clone();
            return Ok(Factory { compiled, linker });
        }
        let origin = &self.origin;
        let mut linker = Linker::new(compiled.module.engine());
        imports::link(&mut linker, &compiled.module, &self.config).map_err(|e| match e {
            imports::LinkError::Missing(missing) => {
                origin.error(ErrorKind::MissingImports { missing })
            }
            imports::LinkError::NoWasi(imports) => origin.error(ErrorKind::NoWasi { imports }),
            imports::LinkError::Other(reason) => origin.instantiation(reason),
        })?;
        let linker = Arc::new(linker);
        #[cfg(feature = "std")]
        if !imports::depends_on_config(&compiled.module) {
            // Another load may have set it meanwhile: the same definitions.
            let _ = compiled.linker.set(linker.clone());
        }
        Ok(Factory { compiled, linker })
    }

    /// The factory of another slot: the same module, compiled on an engine of its own.
    pub(crate) fn sibling(&self) -> Result<Factory, Error> {
        let compiled = engine::recompile(&self.compiled)
            .map_err(|invalid| self.origin.instantiation(invalid.reason))?;
        self.factory(Arc::new(compiled))
    }

    pub(crate) fn config(&self) -> &Config {
        &self.config
    }

    /// The config, shared.
    pub(crate) fn shared_config(&self) -> Arc<Config> {
        self.config.clone()
    }

    /// What the plugin's cancel handle bumps; `None` for a trusted plugin.
    pub(crate) fn cancel_flag(&self) -> Option<&Arc<AtomicUsize>> {
        self.cancel.as_ref()
    }

    /// The meter of a new instance: its fuel and deadline, and the plugin's cancel flag.
    pub(crate) fn meter(&self) -> Option<Meter> {
        Meter::new(&self.config, self.cancel.as_ref(), &self.compiled.short)
    }

    /// A new instance of `plugin`, started: [`spawn`](Spawner::spawn)ed, then `ask` runs
    /// (what a load reads from the instance, such as the manifest export; it says whether
    /// calls need the legacy result slot), then the legacy metadata exports; all under one
    /// start-up budget. With `carry`, the call this instance is made for inherits the deadline
    /// start-up began (a fresh instance made inside a call).
    pub(crate) fn start<T>(
        &self,
        factory: &Factory,
        lock: &LockId,
        plugin: &Arc<str>,
        carry: bool,
        ask: impl FnOnce(&mut Store<Host>, &Instance, &mut Startup<'_>) -> Result<(T, bool), Error>,
    ) -> Result<Started<T>, Error> {
        let meter = self.meter();
        let mut startup = Meter::startup(meter.as_ref());
        let (mut store, instance) =
            self.spawn(factory, lock, plugin, meter.as_ref(), &mut startup)?;
        let (found, calls_need_slot) = ask(&mut store, &instance, &mut startup)?;
        let meta = legacy::metadata::read(&mut store, &instance, calls_need_slot, &mut startup)
            .map_err(|e| self.origin.metadata(e.export, e.reason))?;
        if carry {
            // A fresh instance (inside a call): the first one copies itself if the load left
            // that to it.
            self.take_deferred(&store, &instance, meta.slot);
            startup.carry_deadline(&mut store);
        }
        Ok(Started {
            store,
            instance,
            meter,
            meta,
            found,
        })
    }

    /// A fresh instance: store with its limits, then the start function and `_initialize` run
    /// by `startup` (sliced, under the start-up budget and the deadline of `meter`). Calls
    /// into it hold the lock named `lock`.
    fn spawn(
        &self,
        factory: &Factory,
        lock: &LockId,
        plugin: &Arc<str>,
        meter: Option<&Meter>,
        startup: &mut Startup<'_>,
    ) -> Result<(Store<Host>, Instance), Error> {
        let (mut store, instance) = self.instantiate(factory, lock, plugin, meter)?;
        for (export, what) in [
            (scan::START_EXPORT, "its start function"),
            ("_initialize", "`_initialize`"),
        ] {
            let Some(func) = instance.get_func(&store, export) else {
                continue;
            };
            let func = TwinFunc::<(), ()>::new(func, &store).map_err(|_| {
                self.origin
                    .metadata(export, String::from("must have type `() -> ()`"))
            })?;
            if let Err(stop) = startup.run(&mut store, &func, ()) {
                let (reason, source) = stop.explain_at_start(&mut store, what);
                return Err(self.origin.instantiation(reason).with_source_opt(source));
            }
        }
        Ok((store, instance))
    }

    /// A new instance as instantiation leaves it: store with its limits, no plugin code run.
    fn instantiate(
        &self,
        factory: &Factory,
        lock: &LockId,
        plugin: &Arc<str>,
        meter: Option<&Meter>,
    ) -> Result<(Store<Host>, Instance), Error> {
        let module = &factory.compiled.module;
        let watch = meter.map(|m| m.watch.clone());
        #[cfg(feature = "wasi")]
        let wasi = match super::wasi::imports_wasi(module) {
            true => Some(
                self.config
                    .wasi
                    .context(plugin, watch.clone(), &self.wasi_budget)
                    .map_err(|reason| self.origin.instantiation(reason))?,
            ),
            false => None,
        };
        let host = Host::new(
            &self.config,
            plugin.clone(),
            lock.clone(),
            watch,
            #[cfg(feature = "wasi")]
            wasi,
        );
        let mut store = Store::new(module.engine(), host);
        store.limiter(|host| &mut host.limiter);
        // Instantiation runs no plugin code: the start function was moved to an export (see
        // `scan`) and runs in `spawn` like `_initialize`.
        //
        // Room for what the engine allocates at the instance's first calls (the code of
        // lazily compiled functions, the call stack), freed once the memory is made: with an
        // allocator that places blocks by address (glibc), those small blocks then go below
        // the memory rather than right after it, so the memory can grow in place when
        // start-up grows it, instead of being copied (1.1 MiB at testplugin's first `alloc`).
        let room: Vec<u8> = core::hint::black_box(Vec::with_capacity(ROOM));
        let instance = factory
            .linker
            .instantiate_and_start(&mut store, module)
            .map_err(|e| match store.data_mut().take_hit() {
                // No code runs here: a memory it cannot have is the module's initial memory.
                Some(Limit::Memory(max)) => self.origin.instantiation(format!(
                    "its initial memory is {}, more than its memory limit of {} \
                     (Config::max_memory)",
                    crate::config::show_bytes(store.data().limiter.refused_memory.unwrap_or(0)),
                    crate::config::show_bytes(max),
                )),
                Some(limit) => self.origin.instantiation(format!("it {limit} at start")),
                None => self.origin.instantiation(e.to_string()).with_source(e),
            })?;
        drop(room);
        store.data_mut().memory = instance.get_memory(&store, "memory");
        Ok((store, instance))
    }

    /// Settles how fresh instances of the plugin will be made, given the load's instance,
    /// whose start-up and metadata reads are done (the plugin may have `capacity` instances):
    /// from a snapshot of it taken now; from a snapshot of the first fresh instance (when
    /// start-up can be repeated exactly, see [`Fresh::Deferred`]); or by running start-up, when
    /// snapshots are off, no fresh instance will be made, the instance cannot be reproduced
    /// from one (see `snapshot`), or the load ran none of the plugin's code.
    pub(crate) fn keep_snapshot(
        &mut self,
        store: &Store<Host>,
        instance: &Instance,
        slot: Option<u32>,
        capacity: usize,
    ) {
        let fresh = self.settle(store, instance, slot, capacity);
        *self.fresh.get_mut() = fresh;
    }

    /// Leaves starting the plugin's first instance to its first call (see [`Fresh::Unstarted`]).
    #[cfg(feature = "std")]
    pub(crate) fn start_lazily(&mut self, capacity: usize) {
        *self.fresh.get_mut() = Fresh::Unstarted(capacity);
    }

    /// How fresh instances start, given the plugin's first instance (see
    /// [`keep_snapshot`](Spawner::keep_snapshot)).
    fn settle(
        &self,
        store: &Store<Host>,
        instance: &Instance,
        slot: Option<u32>,
        capacity: usize,
    ) -> Fresh {
        let plugin = &*store.data().plugin;
        let ran_code = slot.is_some() || self.compiled.startup_exports;
        let taken = if !self.config.snapshots {
            Err("Config::snapshots is off")
        } else if self.config.on_trap == Recovery::KeepInstance && capacity <= 1 {
            Err("instances are kept after a trap (Recovery::KeepInstance)")
        } else if let Some(why) = self.compiled.no_snapshot {
            Err(why)
        } else if let Some(Some(why)) = self.compiled.code_check.known() {
            Err(why)
        } else if !ran_code {
            tracing::debug!(
                plugin,
                "no snapshot needed: the load ran none of the plugin's code"
            );
            return Fresh::StartUp;
        } else if !store.data().reached_out && store.data().unrepeatable.is_none() {
            tracing::debug!(
                plugin,
                "snapshot deferred to the first fresh instance: start-up reached nothing \
                 outside the instance"
            );
            return Fresh::Deferred;
        } else {
            Snapshot::take(store, instance)
        };
        Self::kept(plugin, taken, slot)
    }

    /// Keeps the snapshot of a fresh instance after its start-up, if the load deferred it.
    /// For the plugin's first instance when the load started none, settles how the next ones
    /// start instead.
    fn take_deferred(&self, store: &Store<Host>, instance: &Instance, slot: Option<u32>) {
        if !matches!(*self.fresh.read(), Fresh::Deferred | Fresh::Unstarted(_)) {
            return;
        }
        let mut fresh = self.fresh.write();
        // Another fresh instance may have taken it meanwhile; one copy is as good as another.
        match *fresh {
            Fresh::Deferred => {
                *fresh = Self::kept(&store.data().plugin, Snapshot::take(store, instance), slot);
            }
            Fresh::Unstarted(capacity) => *fresh = self.settle(store, instance, slot, capacity),
            Fresh::StartUp | Fresh::Snapshot(_) => {}
        }
    }

    /// What fresh instances start from, given a snapshot or the reason there is none.
    fn kept(plugin: &str, taken: Result<Snapshot, &'static str>, slot: Option<u32>) -> Fresh {
        match taken {
            Ok(snapshot) => {
                tracing::debug!(
                    plugin,
                    bytes = snapshot.stored_bytes(),
                    "snapshot of the started instance taken"
                );
                Fresh::Snapshot(Arc::new((snapshot, slot)))
            }
            Err(why) => {
                tracing::debug!(plugin, why, "no snapshot: fresh instances run start-up");
                Fresh::StartUp
            }
        }
    }

    /// A fresh instance restored from the snapshot, ready for calls of `plans`: `None` when
    /// there is no snapshot, its module's code rules it out, or restoring failed (then
    /// start-up runs, as without one).
    pub(crate) fn restore(
        &self,
        factory: &Factory,
        lock: &LockId,
        plugin: &Arc<str>,
        plans: &[Plan],
    ) -> Result<Option<Live>, Error> {
        let kept = match &*self.fresh.read() {
            Fresh::Snapshot(kept) => kept.clone(),
            Fresh::StartUp | Fresh::Deferred | Fresh::Unstarted(_) => return Ok(None),
        };
        let (snapshot, slot) = &*kept;
        // Read the first time a snapshot is used, not at load (see `scan::CodeCheck`).
        if let Some(why) = self.compiled.code_check.verdict() {
            tracing::debug!(
                plugin = &**plugin,
                why,
                "no snapshot: fresh instances run start-up"
            );
            return Ok(None);
        }
        let meter = self.meter();
        let (mut store, instance) = self.instantiate(factory, lock, plugin, meter.as_ref())?;
        match snapshot.restore(&mut store, &instance) {
            Ok(()) => Ok(Some(Live::new(store, &instance, plans, *slot, meter))),
            Err(reason) => {
                tracing::warn!(
                    plugin = &**plugin,
                    reason,
                    "restoring the snapshot failed; running start-up instead"
                );
                Ok(None)
            }
        }
    }
}

/// An instance [`Spawner::start`] started, with what it read.
pub(crate) struct Started<T> {
    pub(crate) store: Store<Host>,
    pub(crate) instance: Instance,
    pub(crate) meter: Option<Meter>,
    pub(crate) meta: legacy::metadata::Metadata,
    /// What `ask` found.
    pub(crate) found: T,
}
