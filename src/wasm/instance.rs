//! A plugin's instances and their life: making one (store, limits, imports, start-up code),
//! the pool of instances its calls run on, starting afresh after a trap, and closing.
//!
//! **The pool.** A plugin has up to `Config::instances` instances (one unless it declares itself
//! `stateless`, or the embedder pools stateful plugins too). Each sits behind its own
//! [`CallLock`], and each has its own wasmi engine: instances sharing an engine contend on the
//! engine's stack pool, which wasmi locks twice per call (two threads on two instances of one
//! engine ran at 0.38x one thread for `add`; on engines of their own, 1.96x). A call takes the
//! instance its thread used last if it is free, else any free running one, else starts a new
//! one in an empty slot, else waits for its thread's instance. So threads settle on instances
//! of their own, and no lock or counter is shared by the calls of different instances.

use alloc::boxed::Box;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::sync::Arc;
use alloc::vec::Vec;

use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use wasmi::{Instance, Linker, Memory, Store, Val};

use super::call::{Failure, Invoke};
use super::engine::{self, Compiled};
use super::host::{self, Host};
use super::limits::{Meter, Startup};
use super::plan::Plan;
use super::scan;
use crate::lock::{CallLock, LockId};
use crate::{CancelHandle, Config, Error, Object, PoolInfo, Recovery};

/// Where a load is, for its errors: the plugin's (fallback) name and its file.
#[derive(Clone)]
pub(crate) struct Origin {
    pub(crate) plugin: String,
    pub(crate) file: Option<String>,
}

impl Origin {
    pub(crate) fn instantiation(&self, reason: String) -> Error {
        Error::Instantiation {
            plugin: self.plugin.clone(),
            file: self.file.clone(),
            reason,
        }
    }

    pub(crate) fn metadata(&self, export: &str, reason: String) -> Error {
        Error::Metadata {
            plugin: self.plugin.clone(),
            file: self.file.clone(),
            export: export.to_string(),
            reason,
        }
    }
}

/// What makes instances on one engine: a compiled module and its imports, linked.
pub(crate) struct Factory {
    compiled: Arc<Compiled>,
    linker: Linker<Host>,
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
}

impl Spawner {
    /// The spawner of a plugin, and the factory of its first slot. Every import the module
    /// needs and the host does not provide is listed in the error.
    pub(crate) fn new(
        compiled: Arc<Compiled>,
        config: Arc<Config>,
        origin: Origin,
    ) -> Result<(Self, Factory), Error> {
        let spawner = Self {
            compiled: compiled.clone(),
            cancel: config.metered().then(|| Arc::new(AtomicUsize::new(0))),
            #[cfg(feature = "wasi")]
            wasi_budget: config.wasi.budget(),
            config,
            origin,
        };
        let factory = spawner.factory(compiled)?;
        Ok((spawner, factory))
    }

    /// Links the module's imports: the built-in ones, WASI (by the config's policy) and the
    /// config's host functions.
    fn factory(&self, compiled: Arc<Compiled>) -> Result<Factory, Error> {
        let origin = &self.origin;
        let mut linker = Linker::new(compiled.module.engine());
        host::link(&mut linker, &compiled.module, &self.config).map_err(|e| match e {
            host::LinkError::Missing(missing) => Error::MissingImports {
                plugin: origin.plugin.clone(),
                file: origin.file.clone(),
                missing,
            },
            host::LinkError::NoWasi(imports) => Error::NoWasi {
                plugin: origin.plugin.clone(),
                file: origin.file.clone(),
                imports,
            },
            host::LinkError::Other(reason) => origin.instantiation(reason),
        })?;
        Ok(Factory { compiled, linker })
    }

    /// The factory of another slot: the same module, compiled on an engine of its own.
    fn sibling(&self) -> Result<Factory, Error> {
        let compiled = engine::recompile(&self.compiled)
            .map_err(|reason| self.origin.instantiation(reason))?;
        self.factory(Arc::new(compiled))
    }

    pub(crate) fn config(&self) -> &Config {
        &self.config
    }

    /// The meter of a new instance: its fuel and deadline, and the plugin's cancel flag.
    pub(crate) fn meter(&self) -> Option<Meter> {
        Meter::new(&self.config, self.cancel.as_ref())
    }

    /// A fresh instance: store with its limits, then the start function and `_initialize` run
    /// by `startup` (sliced, under the start-up budget and the deadline of `meter`). Calls
    /// into it hold the lock named `lock`.
    pub(crate) fn spawn(
        &self,
        factory: &Factory,
        lock: &LockId,
        plugin: &Arc<str>,
        meter: Option<&Meter>,
        startup: &mut Startup<'_>,
    ) -> Result<(Store<Host>, Instance), Error> {
        let module = &factory.compiled.module;
        let host = Host::new(
            module,
            &self.config,
            plugin.clone(),
            lock.clone(),
            meter.map(|m| m.watch.clone()),
            #[cfg(feature = "wasi")]
            &self.wasi_budget,
        )
        .map_err(|reason| self.origin.instantiation(reason))?;
        let mut store = Store::new(module.engine(), host);
        store.limiter(|host| &mut host.limiter);
        // Instantiation runs no plugin code: the start function was moved to an export (see
        // `scan`) and runs below like `_initialize`.
        let instance = factory
            .linker
            .instantiate_and_start(&mut store, module)
            .map_err(|e| {
                let reason = match store.data_mut().take_hit() {
                    Some(limit) => format!("it {limit} at start"),
                    None => e.to_string(),
                };
                self.origin.instantiation(reason)
            })?;
        store.data_mut().memory = instance.get_memory(&store, "memory");
        for (export, what) in [
            (scan::START_EXPORT, "its start function"),
            ("_initialize", "`_initialize`"),
        ] {
            let Some(func) = instance.get_func(&store, export) else {
                continue;
            };
            let func = func.typed::<(), ()>(&store).map_err(|_| {
                self.origin
                    .metadata(export, String::from("must have type `() -> ()`"))
            })?;
            if let Err(stop) = startup.run(&mut store, &func, ()) {
                return Err(self.origin.instantiation(stop.at_start(&mut store, what)));
            }
        }
        Ok((store, instance))
    }
}

/// One instance, ready for calls: only reachable through its slot's lock.
pub(crate) struct Live {
    pub(crate) store: Store<Host>,
    pub(crate) memory: Option<Memory>,
    /// The legacy result slot (see `legacy`).
    pub(crate) slot: Option<u32>,
    /// How each function is called in this instance (handles into this store).
    pub(crate) invokes: Box<[Invoke]>,
    /// Arguments then results of untyped calls, reused across calls.
    pub(crate) scratch: Vec<Val>,
    /// Fuel, deadline and cancellation of this instance's calls; `None` for a trusted plugin.
    pub(crate) meter: Option<Meter>,
}

impl Live {
    pub(crate) fn new(
        store: Store<Host>,
        instance: &Instance,
        plans: &[Plan],
        slot: Option<u32>,
        meter: Option<Meter>,
    ) -> Self {
        let memory = instance.get_memory(&store, "memory");
        let invokes = plans
            .iter()
            .map(|plan| match instance.get_func(&store, &plan.wasm_name) {
                Some(func) => Invoke::new(plan, func, &store, slot.is_some()),
                None => Invoke::Fails(format!("the export `{}` is gone", plan.wasm_name)),
            })
            .collect();
        Self {
            store,
            memory,
            slot,
            invokes,
            scratch: Vec::new(),
            meter,
        }
    }
}

/// The first instance of a plugin, made by its load.
pub(crate) struct First {
    pub(crate) factory: Factory,
    pub(crate) lock: LockId,
    pub(crate) live: Live,
}

/// A slot on cache lines of its own: the lock word of one slot must not share a line with
/// another's data, or calls on different instances would still contend (false sharing).
#[repr(align(128))]
struct Padded<T>(T);

impl<T> core::ops::Deref for Padded<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

/// One place in the pool.
struct Slot {
    /// Made when the slot first starts an instance (the first slot's at load).
    factory: Option<Factory>,
    state: State,
}

// A plugin has a few of these, so their size does not matter; boxing `Live` would add a
// pointer chase per call.
#[allow(clippy::large_enum_variant)]
enum State {
    Live(Live),
    /// No instance: never started, or its last call trapped or hit a limit. The next call
    /// here starts a fresh one.
    Empty,
    Closed,
}

/// A live plugin shared by its builtins: its functions' plans and its pool of instances.
pub(crate) struct Runtime {
    pub(crate) plugin: Arc<str>,
    pub(crate) plans: Box<[Plan]>,
    slots: Box<[Padded<CallLock<Slot>>]>,
    pub(crate) spawner: Spawner,
    calls_need_slot: bool,
    /// Instances running now (for [`PoolInfo`]).
    running: AtomicUsize,
    /// Set by [`Runtime::close`]; read without a lock, so asking does not wait for a call.
    closed: AtomicBool,
}

impl Runtime {
    /// The runtime of a plugin whose first instance is `first`, with room for `capacity`
    /// instances.
    pub(crate) fn new(
        plugin: Arc<str>,
        plans: Vec<Plan>,
        spawner: Spawner,
        first: First,
        capacity: usize,
    ) -> Self {
        let calls_need_slot = plans.iter().any(|p| p.needs_slot());
        let first = CallLock::new(
            Slot {
                factory: Some(first.factory),
                state: State::Live(first.live),
            },
            first.lock,
        );
        let rest = (1..capacity).map(|_| {
            let empty = Slot {
                factory: None,
                state: State::Empty,
            };
            Padded(CallLock::new(empty, LockId::new()))
        });
        Self {
            plugin,
            plans: plans.into_boxed_slice(),
            slots: core::iter::once(Padded(first)).chain(rest).collect(),
            spawner,
            calls_need_slot,
            running: AtomicUsize::new(1),
            closed: AtomicBool::new(false),
        }
    }

    pub(crate) fn config(&self) -> &Config {
        self.spawner.config()
    }

    /// Runs `f` on an instance (see the module documentation for which), and drops the
    /// instance when the call traps or hits a limit and the config says to.
    #[inline]
    pub(crate) fn with_live(
        &self,
        f: impl FnOnce(&mut Live) -> Result<Object, Failure>,
    ) -> Result<Object, Failure> {
        match &*self.slots {
            [Padded(only)] => only
                .with(|slot| self.run(slot, only.id(), f))
                .unwrap_or(Err(Failure::Reentrant)),
            _ => self.with_any(f),
        }
    }

    /// [`with_live`](Runtime::with_live) with more than one slot.
    #[inline(never)]
    fn with_any(
        &self,
        f: impl FnOnce(&mut Live) -> Result<Object, Failure>,
    ) -> Result<Object, Failure> {
        if self.is_closed() {
            return Err(Failure::Closed);
        }
        let mut f = Some(f);
        let n = self.slots.len();
        let start = affinity::last() % n;
        // A free running instance, else a free empty slot, starting from this thread's last.
        for want_running in [true, false] {
            for k in 0..n {
                let i = (start + k) % n;
                let Some(lock) = self.slots.get(i) else {
                    continue;
                };
                let ran = lock.try_with(|slot| {
                    if matches!(slot.state, State::Live(_)) != want_running {
                        return None;
                    }
                    Some(self.run(slot, lock.id(), f.take()?))
                });
                if let Some(Some(result)) = ran {
                    affinity::set(i);
                    return result;
                }
            }
        }
        // All busy: wait for this thread's instance.
        let Some(lock) = self.slots.get(start) else {
            return Err(Failure::Closed);
        };
        lock.with(|slot| Some(self.run(slot, lock.id(), f.take()?)))
            .map_err(|_| Failure::Reentrant)?
            .unwrap_or(Err(Failure::Closed))
    }

    /// Runs `f` on the instance in `slot` (starting one if there is none).
    #[inline(always)]
    fn run(
        &self,
        slot: &mut Slot,
        lock: &LockId,
        f: impl FnOnce(&mut Live) -> Result<Object, Failure>,
    ) -> Result<Object, Failure> {
        if let State::Empty = slot.state {
            let live = self
                .respawn(&mut slot.factory, lock)
                .map_err(|e| Failure::Load(Box::new(e)))?;
            slot.state = State::Live(live);
            self.running.fetch_add(1, Ordering::Relaxed);
        }
        let State::Live(live) = &mut slot.state else {
            return Err(Failure::Closed);
        };
        // A limit an earlier call (or the start) ran into and got past, such as a refused
        // memory.grow the plugin handled, is not why this call may fail.
        live.store.data_mut().take_hit();
        let result = f(live);
        if let Err(Failure::Trap(_) | Failure::Limit(_)) = &result
            && self.config().on_trap == Recovery::Reinstantiate
        {
            slot.state = State::Empty;
            self.running.fetch_sub(1, Ordering::Relaxed);
        }
        result
    }

    /// A fresh instance for a slot: after a trap, or to grow the pool (then the slot gets its
    /// engine first). Runs inside the call that needs it, within its deadline.
    #[cold]
    #[inline(never)]
    fn respawn(&self, factory: &mut Option<Factory>, lock: &LockId) -> Result<Live, Error> {
        tracing::debug!(plugin = &*self.plugin, "starting an instance");
        let factory = match factory {
            Some(factory) => factory,
            None => factory.insert(self.spawner.sibling()?),
        };
        let meter = self.spawner.meter();
        let mut startup = Meter::startup(meter.as_ref());
        let (mut store, instance) =
            self.spawner
                .spawn(factory, lock, &self.plugin, meter.as_ref(), &mut startup)?;
        let meta = super::legacy::read(&mut store, &instance, self.calls_need_slot, &mut startup)
            .map_err(|e| self.spawner.origin.metadata(e.export, e.reason))?;
        startup.carry_deadline(&mut store);
        Ok(Live::new(store, &instance, &self.plans, meta.slot, meter))
    }

    /// Drops the instances (their memory goes with them); later calls fail with
    /// [`Error::Closed`]. Waits for calls under way to finish. Fails, and leaves the plugin
    /// open, when an instance is inside a host function (the caller may be that host
    /// function); the instances of other slots closed meanwhile are started afresh on demand.
    pub(crate) fn close(&self) -> Result<(), Error> {
        let mut done = Vec::with_capacity(self.slots.len());
        for lock in &*self.slots {
            match lock.with(|slot| core::mem::replace(&mut slot.state, State::Closed)) {
                Ok(old) => done.push((lock, old)),
                Err(_) => {
                    for (lock, _) in &done {
                        let _ = lock.with(|slot| slot.state = State::Empty);
                    }
                    let running = done
                        .iter()
                        .filter(|(_, old)| matches!(old, State::Live(_)))
                        .count();
                    self.running.fetch_sub(running, Ordering::Relaxed);
                    return Err(Error::Reentrant {
                        plugin: self.plugin.to_string(),
                        function: String::from("close"),
                    });
                }
            }
        }
        self.closed.store(true, Ordering::Release);
        self.running.store(0, Ordering::Relaxed);
        drop(done);
        Ok(())
    }

    /// Whether the plugin was closed. Does not wait for a call under way.
    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// The linear memory of all running instances, in bytes; `None` when none is running or
    /// none exports a memory. Waits for calls under way.
    pub(crate) fn memory_bytes(&self) -> Option<usize> {
        self.slots
            .iter()
            .filter_map(|lock| {
                lock.with(|slot| match &slot.state {
                    State::Live(live) => Some(live.memory?.data_size(&live.store)),
                    _ => None,
                })
                .ok()
                .flatten()
            })
            .reduce(|a, b| a.saturating_add(b))
    }

    pub(crate) fn pool(&self) -> PoolInfo {
        PoolInfo {
            capacity: self.slots.len(),
            instances: self.running.load(Ordering::Relaxed),
        }
    }

    pub(crate) fn cancel_handle(&self) -> Option<CancelHandle> {
        self.spawner.cancel.as_ref().map(|cancel| CancelHandle {
            cancel: cancel.clone(),
        })
    }
}

/// Which slot the calling thread used last: where its next call on a pool looks first, so that
/// threads settle on instances of their own. One hint per thread, shared by all plugins.
mod affinity {
    #[cfg(feature = "std")]
    std::thread_local! {
        static LAST: core::cell::Cell<usize> = const { core::cell::Cell::new(usize::MAX) };
    }

    /// The slot to look at first (modulo the pool's size).
    #[inline]
    pub(super) fn last() -> usize {
        #[cfg(feature = "std")]
        {
            use core::sync::atomic::{AtomicUsize, Ordering};
            // A thread's first call starts where the previous new thread did not.
            static NEXT: AtomicUsize = AtomicUsize::new(0);
            LAST.with(|last| match last.get() {
                usize::MAX => {
                    let mine = NEXT.fetch_add(1, Ordering::Relaxed);
                    last.set(mine);
                    mine
                }
                mine => mine,
            })
        }
        #[cfg(not(feature = "std"))]
        0
    }

    #[inline]
    pub(super) fn set(_slot: usize) {
        #[cfg(feature = "std")]
        LAST.with(|last| last.set(_slot));
    }
}
