//! A plugin's instance and its life: creating one (store, limits, imports, `_initialize`), the
//! live state behind the call lock, starting afresh after a trap (from the load's snapshot
//! where there is one), and closing.

use alloc::boxed::Box;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::sync::Arc;
use alloc::vec::Vec;

use wasmi::{Instance, Linker, Memory, Store, Val};

use super::call::{Failure, Invoke};
use super::engine::Compiled;
use super::host::{self, Host};
use super::limits::{Meter, Startup};
use super::plan::Plan;
use super::scan;
use super::snapshot::Snapshot;
use crate::lock::{CallLock, LockId};
use crate::{CancelHandle, Config, Error, Object, Recovery};

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

/// Makes instances of one compiled module under one config: at load, and after a trap. It
/// holds the compiled module, which keeps it (and its cache entry) alive.
pub(crate) struct Spawner {
    /// The lock of the plugin's instances, for host functions to mark while they run.
    pub(crate) lock: LockId,
    compiled: Arc<Compiled>,
    linker: Linker<Host>,
    config: Arc<Config>,
    /// Fuel, deadline and cancellation of the plugin's code; `None` for a trusted plugin.
    pub(crate) meter: Option<Meter>,
    /// The files the plugin may still open and the bytes it may still write, across instances.
    #[cfg(feature = "wasi")]
    wasi_budget: super::wasi::WasiBudget,
    pub(crate) origin: Origin,
    /// The first instance's state after start-up and metadata, and its legacy result slot:
    /// what fresh instances start from (see `snapshot`), if it could be taken.
    snapshot: Option<(Snapshot, Option<u32>)>,
}

impl Spawner {
    /// Links the module's imports: the built-in ones, WASI (by the config's policy) and the
    /// config's host functions. Every import that is not provided is listed in the error.
    pub(crate) fn new(
        compiled: Arc<Compiled>,
        config: Arc<Config>,
        origin: Origin,
    ) -> Result<Self, Error> {
        let mut linker = Linker::new(compiled.module.engine());
        host::link(&mut linker, &compiled.module, &config).map_err(|e| match e {
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
        Ok(Self {
            lock: LockId::new(),
            compiled,
            linker,
            meter: Meter::new(&config),
            #[cfg(feature = "wasi")]
            wasi_budget: config.wasi.budget(),
            config,
            origin,
            snapshot: None,
        })
    }

    pub(crate) fn config(&self) -> &Config {
        &self.config
    }

    /// The runner of one instance's start-up code: [`spawn`](Spawner::spawn), then the
    /// manifest and metadata exports, all under one budget.
    pub(crate) fn startup(&self) -> Startup<'_> {
        Meter::startup(self.meter.as_ref())
    }

    /// A fresh instance: store with its limits, then the start function and `_initialize` run
    /// by `startup` (sliced, under the start-up budget and the deadline).
    pub(crate) fn spawn(
        &self,
        plugin: &Arc<str>,
        startup: &mut Startup<'_>,
    ) -> Result<(Store<Host>, Instance), Error> {
        let (mut store, instance) = self.instantiate(plugin)?;
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

    /// A new instance as instantiation leaves it: store with its limits, no plugin code run.
    fn instantiate(&self, plugin: &Arc<str>) -> Result<(Store<Host>, Instance), Error> {
        let module = &self.compiled.module;
        let watch = self.meter.as_ref().map(|m| m.watch.clone());
        let host = Host::new(
            module,
            &self.config,
            plugin.clone(),
            self.lock.clone(),
            watch,
            #[cfg(feature = "wasi")]
            &self.wasi_budget,
        )
        .map_err(|reason| self.origin.instantiation(reason))?;
        let mut store = Store::new(module.engine(), host);
        store.limiter(|host| &mut host.limiter);
        // Instantiation runs no plugin code: the start function was moved to an export (see
        // `scan`) and runs in `spawn` like `_initialize`.
        let instance = self
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
        Ok((store, instance))
    }

    /// Keeps a snapshot of the load's instance, whose start-up and metadata reads are done,
    /// for fresh instances to start from; unless snapshots are off, no fresh instance will be
    /// made, or the instance cannot be reproduced from one (see `snapshot`).
    pub(crate) fn keep_snapshot(
        &mut self,
        store: &Store<Host>,
        instance: &Instance,
        slot: Option<u32>,
    ) {
        let taken = if !self.config.snapshots {
            Err("Config::snapshots is off")
        } else if self.config.on_trap == Recovery::KeepInstance {
            Err("instances are kept after a trap (Recovery::KeepInstance)")
        } else if let Some(why) = self.compiled.no_snapshot {
            Err(why)
        } else if let Some(Some(why)) = self.compiled.code_check.known() {
            Err(why)
        } else {
            Snapshot::take(store, instance)
        };
        match taken {
            Ok(snapshot) => {
                tracing::debug!(
                    plugin = &*store.data().plugin,
                    bytes = snapshot.stored_bytes(),
                    "snapshot of the started instance taken"
                );
                self.snapshot = Some((snapshot, slot));
            }
            Err(why) => tracing::debug!(
                plugin = &*store.data().plugin,
                why,
                "no snapshot: fresh instances run start-up"
            ),
        }
    }

    /// A fresh instance restored from the snapshot, ready for calls of `plans`: `None` when
    /// there is no snapshot, its module's code rules it out, or restoring failed (then
    /// start-up runs, as without one).
    pub(crate) fn restore(&self, plugin: &Arc<str>, plans: &[Plan]) -> Result<Option<Live>, Error> {
        let Some((snapshot, slot)) = &self.snapshot else {
            return Ok(None);
        };
        // Read the first time a snapshot is used, not at load (see `scan::CodeCheck`).
        if let Some(why) = self.compiled.code_check.verdict() {
            tracing::debug!(
                plugin = &**plugin,
                why,
                "no snapshot: fresh instances run start-up"
            );
            return Ok(None);
        }
        let (mut store, instance) = self.instantiate(plugin)?;
        match snapshot.restore(&mut store, &instance) {
            Ok(()) => Ok(Some(Live::new(store, &instance, plans, *slot))),
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

/// The mutable part of an instance: only reachable through the lock.
pub(crate) struct Live {
    pub(crate) store: Store<Host>,
    pub(crate) memory: Option<Memory>,
    /// The legacy result slot (see `legacy`).
    pub(crate) slot: Option<u32>,
    /// How each function is called in this instance (handles into this store).
    pub(crate) invokes: Box<[Invoke]>,
    /// Arguments then results of untyped calls, reused across calls.
    pub(crate) scratch: Vec<Val>,
}

impl Live {
    pub(crate) fn new(
        store: Store<Host>,
        instance: &Instance,
        plans: &[Plan],
        slot: Option<u32>,
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
        }
    }
}

// One per plugin, so its size does not matter; boxing `Live` would add a pointer chase per call.
#[allow(clippy::large_enum_variant)]
enum State {
    Live(Live),
    /// The last call trapped or hit a limit; the next call starts a fresh instance.
    Reset,
    Closed,
}

/// A live plugin shared by its builtins.
pub(crate) struct Runtime {
    pub(crate) plugin: Arc<str>,
    pub(crate) plans: Box<[Plan]>,
    state: CallLock<State>,
    pub(crate) spawner: Spawner,
    calls_need_slot: bool,
    /// Set by [`Runtime::close`]; read without the lock, so asking does not wait for a call.
    closed: core::sync::atomic::AtomicBool,
}

impl Runtime {
    pub(crate) fn new(plugin: Arc<str>, plans: Vec<Plan>, spawner: Spawner, live: Live) -> Self {
        let calls_need_slot = plans.iter().any(|p| p.needs_slot());
        Self {
            plugin,
            plans: plans.into_boxed_slice(),
            state: CallLock::new(State::Live(live), spawner.lock.clone()),
            spawner,
            calls_need_slot,
            closed: core::sync::atomic::AtomicBool::new(false),
        }
    }

    pub(crate) fn config(&self) -> &Config {
        self.spawner.config()
    }

    /// Runs `f` on the live instance (starting a fresh one first if the last call trapped),
    /// and drops the instance when the call traps or hits a limit and the config says to.
    #[inline]
    pub(crate) fn with_live(
        &self,
        f: impl FnOnce(&mut Live) -> Result<Object, Failure>,
    ) -> Result<Object, Failure> {
        self.state
            .with(|state| {
                if let State::Reset = state {
                    *state = State::Live(self.respawn().map_err(|e| Failure::Load(Box::new(e)))?);
                }
                let State::Live(live) = state else {
                    return Err(Failure::Closed);
                };
                // A limit an earlier call (or the start) ran into and got past, such as a
                // refused memory.grow the plugin handled, is not why this call may fail.
                live.store.data_mut().take_hit();
                let result = f(live);
                if let Err(Failure::Trap(_) | Failure::Limit(_)) = &result
                    && self.config().on_trap == Recovery::Reinstantiate
                {
                    *state = State::Reset;
                }
                result
            })
            .unwrap_or_else(|_| Err(Failure::Reentrant))
    }

    #[cold]
    #[inline(never)]
    fn respawn(&self) -> Result<Live, Error> {
        tracing::debug!(
            plugin = &*self.plugin,
            "starting a fresh instance after a trap"
        );
        if let Some(live) = self.spawner.restore(&self.plugin, &self.plans)? {
            return Ok(live);
        }
        let mut startup = self.spawner.startup();
        let (mut store, instance) = self.spawner.spawn(&self.plugin, &mut startup)?;
        let meta = super::legacy::read(&mut store, &instance, self.calls_need_slot, &mut startup)
            .map_err(|e| self.spawner.origin.metadata(e.export, e.reason))?;
        startup.carry_deadline(&mut store);
        Ok(Live::new(store, &instance, &self.plans, meta.slot))
    }

    /// Drops the instance (its memory goes with it); later calls fail with [`Error::Closed`].
    /// Waits for a call under way to finish.
    pub(crate) fn close(&self) -> Result<(), Error> {
        let old = self
            .state
            .with(|s| core::mem::replace(s, State::Closed))
            .map_err(|_| Error::Reentrant {
                plugin: self.plugin.to_string(),
                function: String::from("close"),
            })?;
        self.closed
            .store(true, core::sync::atomic::Ordering::Release);
        drop(old);
        Ok(())
    }

    /// Whether the plugin was closed. Does not wait for a call under way.
    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(core::sync::atomic::Ordering::Acquire)
    }

    pub(crate) fn memory_bytes(&self) -> Option<usize> {
        self.state
            .with(|s| match s {
                State::Live(live) => Some(live.memory?.data_size(&live.store)),
                _ => None,
            })
            .ok()
            .flatten()
    }

    pub(crate) fn cancel_handle(&self) -> Option<CancelHandle> {
        self.spawner.meter.as_ref().map(|m| CancelHandle {
            watch: m.watch.clone(),
        })
    }
}
