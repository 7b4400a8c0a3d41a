//! [`Runtime`]: the state behind a plugin's builtins: its pool of instances, the version they
//! run (a reload installs a new one), the ids calls name functions by, and closing.
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
use alloc::string::ToString;
use alloc::sync::Arc;
use alloc::vec::Vec;

use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use super::call::{Failure, Live, Site};
use super::instance::{Factory, Spawner};
use super::plan::Plan;
use crate::lock::{CallLock, LockId};
use crate::{CancelHandle, Config, Error, ErrorKind, Object, PoolInfo, Recovery};

/// One load of a plugin: its functions' plans and what makes its instances. A reload installs
/// a new one; instances of the old one finish the calls they run and are then replaced.
pub(crate) struct Version {
    /// The plugin's name, config and plans, as calls see them.
    pub(crate) site: Site,
    /// The plan of each function id (see [`Runtime`]); `None` for a function this version
    /// does not have.
    by_id: Box<[Option<u32>]>,
    pub(crate) spawner: Spawner,
    calls_need_slot: bool,
    /// Which install this is: a slot whose instance is of an older one replaces it. Even
    /// (see [`NOT_READY`]).
    generation: usize,
    /// Whether function `id`'s plan is plan `id` for every function (so `by_id` need not be
    /// read): always for a first load, and for a reload that keeps the functions and their
    /// order.
    identity: bool,
    /// The instances it may have.
    capacity: usize,
}

/// What [`Slot::ready`] is when a call cannot take the short way: odd, so never a
/// generation (they go up by two).
const NOT_READY: usize = 1;

impl Version {
    fn new(
        plugin: Arc<str>,
        plans: Arc<[Plan]>,
        by_id: Box<[Option<u32>]>,
        spawner: Spawner,
        generation: usize,
        capacity: usize,
    ) -> Self {
        let identity = by_id.len() == plans.len()
            && by_id
                .iter()
                .enumerate()
                .all(|(id, index)| index.is_some_and(|i| i as usize == id));
        Self {
            calls_need_slot: plans.iter().any(Plan::needs_slot),
            site: Site {
                plugin,
                config: spawner.shared_config(),
                plans,
            },
            by_id,
            identity,
            spawner,
            generation,
            capacity,
        }
    }

    pub(crate) fn config(&self) -> &Config {
        &self.site.config
    }

    pub(crate) fn plugin(&self) -> &str {
        &self.site.plugin
    }

    /// The plans of its functions.
    pub(crate) fn plans(&self) -> &[Plan] {
        &self.site.plans
    }

    /// The index and plan of function `id`, if this version has it.
    pub(crate) fn plan(&self, id: usize) -> Option<(usize, &Plan)> {
        let index = (*self.by_id.get(id)?)? as usize;
        Some((index, self.site.plans.get(index)?))
    }

    /// A fresh instance for a slot: after a trap, to grow the pool (then the slot gets its
    /// engine first), or after a reload. Runs inside the call that needs it, within its
    /// deadline.
    #[cold]
    #[inline(never)]
    fn spawn(&self, factory: &mut Option<Factory>, lock: &LockId) -> Result<Live, Error> {
        tracing::debug!(plugin = self.plugin(), "starting an instance");
        let factory = match factory {
            Some(factory) => factory,
            None => factory.insert(self.spawner.sibling()?),
        };
        if let Some(live) =
            self.spawner
                .restore(factory, lock, &self.site.plugin, &self.site.plans)?
        {
            return Ok(live);
        }
        let started = self
            .spawner
            .start(factory, lock, &self.site.plugin, true, |_, _, _| {
                Ok(((), self.calls_need_slot))
            })?;
        let slot = started.meta.slot;
        Ok(Live::new(
            started.store,
            &started.instance,
            &self.site.plans,
            slot,
            started.meter,
        ))
    }
}

/// A loaded plugin's first version and its first instance, ready to be installed.
pub(crate) struct Loaded {
    pub(crate) plugin: Arc<str>,
    pub(crate) plans: Arc<[Plan]>,
    pub(crate) spawner: Spawner,
    pub(crate) factory: Factory,
    pub(crate) lock: LockId,
    /// `None` when the load started no instance (see `load::Prelude`): the first call does.
    pub(crate) live: Option<Live>,
    /// The instances it may have (see `Config::instances`).
    pub(crate) capacity: usize,
}

/// One place in the pool.
struct Slot {
    /// The version its instance is of (or the next one will be).
    version: Arc<Version>,
    /// `version.generation`, kept here so that a call reads it without a trip through
    /// `version` (set only with `version`: see [`Slot::of`]).
    generation: usize,
    /// `generation` while the slot runs an instance and the version's function ids are its
    /// plan indices (`Version::identity`), else [`NOT_READY`]: so one compare with the
    /// installed generation tells a call it can run at once. Kept by [`Slot::of`] and
    /// [`Slot::set_state`], the only writers of `version` and `state`.
    ready: usize,
    /// Made when the slot first starts an instance of its version.
    factory: Option<Factory>,
    state: State,
}

impl Slot {
    fn of(version: Arc<Version>, factory: Option<Factory>, state: State) -> Self {
        let mut slot = Self {
            generation: version.generation,
            ready: NOT_READY,
            version,
            factory,
            state: State::Empty,
        };
        slot.set_state(state);
        slot
    }

    /// Moves to `version`, with no instance (a closed slot stays closed).
    fn move_to(&mut self, version: Arc<Version>) {
        let state = match self.state {
            State::Closed => State::Closed,
            State::Live(_) | State::Empty => State::Empty,
        };
        *self = Slot::of(version, None, state);
    }

    /// Replaces the state, returning the old one.
    fn set_state(&mut self, state: State) -> State {
        self.ready = match (&state, self.version.identity) {
            (State::Live(_), true) => self.generation,
            _ => NOT_READY,
        };
        core::mem::replace(&mut self.state, state)
    }
}

// A plugin has a few of these, so their size does not matter; boxing `Live` would add a
// pointer chase per call.
#[allow(clippy::large_enum_variant)]
enum State {
    Live(Live),
    /// No instance: never started, its last call trapped or hit a limit, or its version was
    /// replaced. The next call here starts a fresh one.
    Empty,
    Closed,
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

/// A plugin as its builtins see it, across reloads: the pool of instances, the version they
/// are of, and the ids of its functions.
///
/// A function keeps its id across reloads (ids are given by name, and never reused), so a
/// builtin made before a reload calls the function of the same name after it, or fails when
/// it is gone.
pub(crate) struct Runtime {
    /// The name the plugin was loaded as (what errors outside a call name it by).
    pub(crate) plugin: Arc<str>,
    slots: Box<[Padded<CallLock<Slot>>]>,
    /// The generation of the installed version; read by every call, written by reloads.
    generation: AtomicUsize,
    /// The installed version, for slots whose instance is of an older one, and the names of
    /// all function ids. Not on the call path.
    current: spin::RwLock<Current>,
    /// What cancel handles bump, shared by every version; `None` for a trusted plugin.
    cancel: Option<Arc<AtomicUsize>>,
    /// Instances running now (for [`PoolInfo`]).
    running: AtomicUsize,
    /// How many slots the installed version may use (the first ones).
    capacity: AtomicUsize,
    /// Set by [`Runtime::close`]; read without a lock, so asking does not wait for a call.
    closed: AtomicBool,
}

struct Current {
    version: Arc<Version>,
    /// Function names by id.
    names: Vec<Arc<str>>,
}

/// The id of each plan of a new version (giving names not seen before new ids in `names`), and
/// the plan index of each id.
fn ids(names: &mut Vec<Arc<str>>, plans: &[Plan]) -> Box<[Option<u32>]> {
    if names.is_empty() {
        // A first load: each plan is new (plans have distinct names), so its id is its index,
        // found without comparing each name with all before it.
        names.extend(plans.iter().map(|plan| Arc::from(plan.name.as_str())));
        return (0..plans.len())
            .map(|index| u32::try_from(index).ok())
            .collect();
    }
    let mut by_id = Vec::new();
    for (index, plan) in plans.iter().enumerate() {
        let id = match names.iter().position(|n| **n == *plan.name) {
            Some(id) => id,
            None => {
                names.push(Arc::from(plan.name.as_str()));
                names.len() - 1
            }
        };
        if by_id.len() <= id {
            by_id.resize(id + 1, None);
        }
        if let (Some(entry), Ok(index)) = (by_id.get_mut(id), u32::try_from(index)) {
            *entry = Some(index);
        }
    }
    by_id.into_boxed_slice()
}

impl Runtime {
    /// The runtime of a plugin whose first load is `loaded`. Its pool has room for
    /// `Config::instances` instances (a reload may use more of them than the first version).
    pub(crate) fn new(loaded: Loaded) -> Self {
        let Loaded {
            plugin,
            plans,
            spawner,
            factory,
            lock,
            live,
            capacity,
        } = loaded;
        let slots = spawner.config().instances.max(capacity).max(1);
        let cancel = spawner.cancel_flag().cloned();
        let mut names = Vec::new();
        let by_id = ids(&mut names, &plans);
        let current = Current {
            version: Arc::new(Version::new(
                plugin.clone(),
                plans,
                by_id,
                spawner,
                0,
                capacity,
            )),
            names,
        };
        let version = current.version.clone();
        let running = usize::from(live.is_some());
        let first = Slot::of(
            version.clone(),
            Some(factory),
            live.map_or(State::Empty, State::Live),
        );
        let rest = (1..slots).map(|_| {
            let empty = Slot::of(version.clone(), None, State::Empty);
            Padded(CallLock::new(empty, LockId::new()))
        });
        Self {
            plugin,
            slots: core::iter::once(Padded(CallLock::new(first, lock)))
                .chain(rest)
                .collect(),
            generation: AtomicUsize::new(0),
            current: spin::RwLock::new(current),
            cancel,
            running: AtomicUsize::new(running),
            capacity: AtomicUsize::new(capacity),
            closed: AtomicBool::new(false),
        }
    }

    /// The installed version.
    pub(crate) fn current(&self) -> Arc<Version> {
        self.current.read().version.clone()
    }

    /// The id of each function of the installed version, by name.
    pub(crate) fn ids(&self) -> Vec<(Arc<str>, usize)> {
        let current = self.current.read();
        current
            .version
            .by_id
            .iter()
            .enumerate()
            .filter(|(_, index)| index.is_some())
            .filter_map(|(id, _)| Some((current.names.get(id)?.clone(), id)))
            .collect()
    }

    /// The cancel flag a new version of this plugin shares.
    pub(crate) fn cancel_flag(&self) -> Option<Arc<AtomicUsize>> {
        self.cancel.clone()
    }

    /// Makes `loaded` (a load of the plugin's new file) the version every call from now on
    /// runs: calls under way finish on their instances, which are then replaced; idle
    /// instances of the old version are dropped now.
    pub(crate) fn install(&self, loaded: Loaded) -> Result<(), Error> {
        if self.is_closed() {
            return Err(Error::call(ErrorKind::Closed, &*self.plugin, "reload"));
        }
        let mut current = self.current.write();
        let by_id = ids(&mut current.names, &loaded.plans);
        let generation = current.version.generation.wrapping_add(2);
        let version = Arc::new(Version::new(
            loaded.plugin,
            loaded.plans,
            by_id,
            loaded.spawner,
            generation,
            loaded.capacity.min(self.slots.len()),
        ));
        current.version = version.clone();
        self.capacity.store(version.capacity, Ordering::Relaxed);
        self.generation.store(generation, Ordering::Release);
        drop(current);
        // The load's instance goes to the first slot if it is free; the other idle slots drop
        // the old version's instance (and with the last of them, its engine). Busy ones drop it
        // when their call returns.
        let mut spare = Some((loaded.factory, loaded.live));
        for (i, lock) in self.slots.iter().enumerate() {
            let _ = lock.try_with(|slot| {
                if slot.generation == generation || matches!(slot.state, State::Closed) {
                    return;
                }
                if let State::Live(_) = slot.state {
                    self.running.fetch_sub(1, Ordering::Relaxed);
                }
                slot.move_to(version.clone());
                if i != 0 {
                    return;
                }
                if let Some((factory, live)) = spare.take() {
                    slot.factory = Some(factory);
                    if let Some(mut live) = live {
                        live.store.data_mut().lock = lock.id().clone();
                        slot.set_state(State::Live(live));
                        self.running.fetch_add(1, Ordering::Relaxed);
                    }
                }
            });
        }
        Ok(())
    }

    /// Calls function `id` with script arguments, on an instance (see the module
    /// documentation for which), and drops the instance when the call traps or hits a limit
    /// and the config says to.
    #[inline]
    pub(crate) fn call(&self, id: usize, args: &[Object]) -> Result<Object, Error> {
        self.call_with(id, args, |site, index, live| match site.plan(index) {
            Some(plan) => site.invoke(index, plan, live, args),
            // An id past this version's plans (a reload dropped the function): `failed`
            // names a failure of a function the version does not have as a missing one.
            None => Err(Failure::Arguments),
        })
    }

    /// Runs `f` on function `id` of an instance: the one place that picks the instance, keeps
    /// it current (a reload, a trap) and names a failure. `f` gets the call's site, the
    /// function's plan index and the instance; `args` only name an argument error. The index
    /// is past the site's plans when a reload dropped the function: `f` then fails (any
    /// failure), and the error says the function is missing. Generic, so that each call shape
    /// is its own small function.
    #[inline(always)]
    pub(crate) fn call_with<T>(
        &self,
        id: usize,
        args: &[Object],
        f: impl FnOnce(&Site, usize, &mut Live) -> Result<T, Failure>,
    ) -> Result<T, Error> {
        match &*self.slots {
            [Padded(only)] => match only.lock() {
                Ok(mut slot) => self.run(&mut slot, only.id(), id, args, f),
                Err(_) => Err(self.refused(id, ErrorKind::Reentrant)),
            },
            _ => self.call_any(id, args, f),
        }
    }

    /// [`call_with`](Runtime::call_with) with more than one slot.
    #[inline(never)]
    fn call_any<T>(
        &self,
        id: usize,
        args: &[Object],
        f: impl FnOnce(&Site, usize, &mut Live) -> Result<T, Failure>,
    ) -> Result<T, Error> {
        if self.is_closed() {
            return Err(self.refused(id, ErrorKind::Closed));
        }
        let n = self
            .capacity
            .load(Ordering::Relaxed)
            .clamp(1, self.slots.len());
        let start = affinity::last() % n;
        // A free running instance, else a free empty slot, starting from this thread's last.
        for want_running in [true, false] {
            for k in 0..n {
                let i = (start + k) % n;
                let Some(lock) = self.slots.get(i) else {
                    continue;
                };
                let Some(mut slot) = lock.try_lock() else {
                    continue;
                };
                if matches!(slot.state, State::Live(_)) == want_running {
                    affinity::set(i);
                    return self.run(&mut slot, lock.id(), id, args, f);
                }
            }
        }
        // All busy: wait for this thread's instance.
        let Some(lock) = self.slots.get(start) else {
            return Err(self.refused(id, ErrorKind::Closed));
        };
        match lock.lock() {
            Ok(mut slot) => self.run(&mut slot, lock.id(), id, args, f),
            Err(_) => Err(self.refused(id, ErrorKind::Reentrant)),
        }
    }

    /// Runs `f` on function `id` of the instance in `slot` (starting one if there is none, or
    /// if its version was replaced).
    ///
    /// The way of nearly every call is short: the slot is ready (see [`Slot::ready`]), so
    /// the function's index is its id, and nothing else is read until `f` runs. Everything
    /// else (a reload, a start, ids that moved) is [`Runtime::prepare`]'s, out of line.
    #[inline(always)]
    fn run<T>(
        &self,
        slot: &mut Slot,
        lock: &LockId,
        id: usize,
        args: &[Object],
        f: impl FnOnce(&Site, usize, &mut Live) -> Result<T, Failure>,
    ) -> Result<T, Error> {
        let index = match slot.ready == self.generation.load(Ordering::Acquire) {
            true => id,
            false => self.prepare(slot, lock, id)?,
        };
        let site = &slot.version.site;
        let State::Live(live) = &mut slot.state else {
            return Err(self.refused(id, ErrorKind::Closed));
        };
        // A limit an earlier call (or the start) ran into and got past, such as a refused
        // memory.grow the plugin handled, is not why this call may fail.
        live.store.data_mut().take_hit();
        tracing::trace!(
            plugin = &*site.plugin,
            function = %site.plan(index).map_or("?", |plan| plan.name.as_str()),
            "call"
        );
        let outcome = match f(site, index, live) {
            Ok(result) => Ok(result),
            Err(failure) => Err(self.failed(slot, id, args, failure)),
        };
        // A reload during the call: the old version's instance goes now, not at the slot's
        // next call (which may never come), and with the last one its engine.
        if slot.generation != self.generation.load(Ordering::Relaxed) {
            self.refresh(slot);
        }
        outcome
    }

    /// Makes `slot` ready for a call of function `id`, and gives the function's plan index:
    /// moves it to the installed version, starts its instance, looks the id up.
    #[cold]
    #[inline(never)]
    fn prepare(&self, slot: &mut Slot, lock: &LockId, id: usize) -> Result<usize, Error> {
        if slot.generation != self.generation.load(Ordering::Acquire) {
            self.refresh(slot);
        }
        match slot.state {
            State::Live(_) => {}
            State::Empty => self.start(slot, lock)?,
            State::Closed => return Err(self.refused(id, ErrorKind::Closed)),
        }
        match slot.version.plan(id) {
            Some((index, _)) => Ok(index),
            None => Err(self.refused(id, ErrorKind::NoSuchFunction)),
        }
    }

    /// Starts an instance in an empty slot.
    #[cold]
    #[inline(never)]
    fn start(&self, slot: &mut Slot, lock: &LockId) -> Result<(), Error> {
        let live = slot.version.spawn(&mut slot.factory, lock)?;
        slot.set_state(State::Live(live));
        self.running.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// A call that failed: the slot's instance is dropped when it trapped or hit a limit (and
    /// the config says so), and the failure is named (saying so when the instance went).
    #[cold]
    #[inline(never)]
    fn failed(&self, slot: &mut Slot, id: usize, args: &[Object], failure: Failure) -> Error {
        let version = &*slot.version;
        let Some((_, plan)) = version.plan(id) else {
            return self.refused(id, ErrorKind::NoSuchFunction);
        };
        let ends = matches!(
            failure,
            Failure::Trap(_) | Failure::GuestTrap(..) | Failure::Limit(_)
        );
        let error = version.site.error(plan, args, failure);
        if ends && version.config().on_trap == Recovery::Reinstantiate {
            slot.set_state(State::Empty);
            self.running.fetch_sub(1, Ordering::Relaxed);
            return error.with_instance_reset();
        }
        error
    }

    /// Moves a slot to the installed version: its instance (of an older one) is dropped.
    #[cold]
    #[inline(never)]
    fn refresh(&self, slot: &mut Slot) {
        if let State::Live(_) = slot.state {
            self.running.fetch_sub(1, Ordering::Relaxed);
        }
        slot.move_to(self.current());
    }

    /// The error of a call that did not get to run: the plugin was closed, its instance is
    /// inside a host function, or a reload removed the function.
    #[cold]
    #[inline(never)]
    fn refused(&self, id: usize, kind: ErrorKind) -> Error {
        let function = {
            let current = self.current.read();
            current
                .names
                .get(id)
                .map_or_else(|| format!("#{id}"), |n| n.to_string())
        };
        Error::call(kind, &*self.plugin, function)
    }

    /// Drops the instances (their memory goes with them); later calls fail with
    /// [`Error::Closed`]. Waits for calls under way to finish. Fails, and leaves the plugin
    /// open, when an instance is inside a host function (the caller may be that host
    /// function); the instances of other slots closed meanwhile are started afresh on demand.
    pub(crate) fn close(&self) -> Result<(), Error> {
        let mut done = Vec::with_capacity(self.slots.len());
        for lock in &*self.slots {
            match lock.with(|slot| slot.set_state(State::Closed)) {
                Ok(old) => done.push((lock, old)),
                Err(_) => {
                    for (lock, _) in &done {
                        let _ = lock.with(|slot| slot.set_state(State::Empty));
                    }
                    let running = done
                        .iter()
                        .filter(|(_, old)| matches!(old, State::Live(_)))
                        .count();
                    self.running.fetch_sub(running, Ordering::Relaxed);
                    return Err(Error::call(ErrorKind::Reentrant, &*self.plugin, "close"));
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
            capacity: self.capacity.load(Ordering::Relaxed),
            instances: self.running.load(Ordering::Relaxed),
        }
    }

    pub(crate) fn cancel_handle(&self) -> Option<CancelHandle> {
        self.cancel.as_ref().map(|cancel| CancelHandle {
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

#[cfg(all(test, feature = "std"))]
mod tests {
    use super::*;
    use crate::wasm::short::Short;
    use crate::{Plugin, WasmPlugin};

    /// What the instance in the first slot knows of whether function `name` is short.
    fn known(plugin: &WasmPlugin, name: &str) -> Option<Short> {
        let runtime = &plugin.runtime;
        let (_, id) = runtime.ids().into_iter().find(|(n, _)| &**n == name)?;
        let Padded(lock) = runtime.slots.first()?;
        lock.try_with(|slot| {
            let (index, _) = slot.version.plan(id)?;
            match &mut slot.state {
                State::Live(live) => live.invokes.get(index)?.short().map(core::cell::Cell::get),
                _ => None,
            }
        })?
    }

    /// The first slot's `ready`, and the installed generation.
    fn ready(plugin: &WasmPlugin) -> Option<(usize, usize)> {
        let runtime = &plugin.runtime;
        let Padded(lock) = runtime.slots.first()?;
        let ready = lock.try_with(|slot| slot.ready)?;
        Some((ready, runtime.generation.load(Ordering::Relaxed)))
    }

    #[test]
    fn a_slot_is_ready_only_with_a_running_instance_whose_ids_are_plan_indices() {
        let module = |funcs: &str| wat::parse_str(format!("(module {funcs})")).expect("wat");
        let a = |v: i64| format!(r#"(func (export "call_a") (result i64) i64.const {v})"#);
        let trap = r#"(func (export "call_trap") (result i64) unreachable)"#;
        let aa = r#"(func (export "call_aa") (result i64) i64.const 7)"#;
        let config = Config::new();
        let p = WasmPlugin::from_bytes_with("r", &module(&(a(1) + trap)), &config).expect("loads");
        let call = |name: &str| p.call(name, &[]);
        assert_eq!(call("a").ok(), Some(Object::Int(1)));
        assert_eq!(ready(&p), Some((0, 0)));
        // A trap drops the instance: not ready until the next call starts one.
        assert!(call("trap").is_err());
        assert_eq!(ready(&p), Some((NOT_READY, 0)));
        assert_eq!(call("a").ok(), Some(Object::Int(1)));
        assert_eq!(ready(&p), Some((0, 0)));
        // A reload that moves ids off their plan indices: every call takes the long way, and
        // still reaches the right function.
        let now = p
            .reload_bytes(&module(&(a(2) + aa + trap)), &config)
            .expect("reloads");
        for _ in 0..2 {
            assert_eq!(call("a").ok(), Some(Object::Int(2)));
            assert_eq!(now.call("aa", &[]).ok(), Some(Object::Int(7)));
            assert_eq!(ready(&p), Some((NOT_READY, 2)));
        }
        // One that puts them back: ready again, at the new generation. `aa`, gone, had the
        // highest id, so ids are plan indices again, and on the ready slot a call of it runs
        // with an index past the plans: every kind of call of it says it is missing.
        let builtin = match now.exports().get("aa") {
            Some(Object::Builtin(b)) => b.clone(),
            other => panic!("no builtin aa: {other:?}"),
        };
        let typed = now.typed::<(), i64>("aa").expect("typed handle");
        p.reload_bytes(&module(&(a(3) + trap)), &config)
            .expect("reloads");
        assert_eq!(call("a").ok(), Some(Object::Int(3)));
        assert_eq!(ready(&p), Some((4, 4)));
        assert_eq!(
            builtin.try_call(&[]).err().map(|e| e.kind().clone()),
            Some(ErrorKind::NoSuchFunction)
        );
        assert_eq!(
            typed.call(()).err().map(|e| e.kind().clone()),
            Some(ErrorKind::NoSuchFunction)
        );
        assert_eq!(
            now.call("aa", &[]).err().map(|e| e.kind().clone()),
            Some(ErrorKind::NoSuchFunction)
        );
        p.close().expect("closes");
        assert_eq!(ready(&p), Some((NOT_READY, 4)));
        assert_eq!(
            call("a").err().map(|e| e.kind().clone()),
            Some(ErrorKind::Closed)
        );
    }

    #[test]
    fn a_metered_call_learns_once_whether_its_function_is_short() {
        let bytes = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/plugins/testplugin.wasm"
        ))
        .expect("read");
        let p = WasmPlugin::from_bytes_with("testplugin", &bytes, &Config::new()).expect("loads");
        assert_eq!(known(&p, "add"), Some(Short::Unknown));
        let add = [Object::Int(1), Object::Int(2)];
        for _ in 0..2 {
            assert_eq!(p.call("add", &add).ok(), Some(Object::Int(3)));
            assert_eq!(known(&p, "add"), Some(Short::Yes));
        }
        assert_eq!(
            p.call("count_primes", &[Object::Int(100)]).ok(),
            Some(Object::Int(25))
        );
        assert_eq!(known(&p, "count_primes"), Some(Short::No));
        // Unmetered: nothing to ask.
        let trusted =
            WasmPlugin::from_bytes_with("t", &bytes, &Config::new().trusted(true)).expect("loads");
        assert_eq!(trusted.call("add", &add).ok(), Some(Object::Int(3)));
        assert_eq!(known(&trusted, "add"), Some(Short::No));
    }

    #[test]
    fn a_pure_function_is_sliced_once_a_call_of_it_outlasted_its_plain_slice() {
        let bytes = wat::parse_str(
            r#"(module (func (export "count") (param $n i64) (result i64) (local $i i64)
                (loop $l
                    (local.set $i (i64.add (local.get $i) (i64.const 1)))
                    (br_if $l (i64.lt_s (local.get $i) (local.get $n))))
                (local.get $i)))"#,
        )
        .expect("wat");
        let p = WasmPlugin::from_bytes_with("pure", &bytes, &Config::new()).expect("loads");
        let count = |n: i64| p.call("count", &[Object::Int(n)]).ok();
        assert_eq!(count(10), Some(Object::Int(10)));
        assert_eq!(known(&p, "count"), Some(Short::Pure));
        assert_eq!(count(1_000_000), Some(Object::Int(1_000_000)));
        assert_eq!(known(&p, "count"), Some(Short::No));
        assert_eq!(count(10), Some(Object::Int(10)));
        assert_eq!(known(&p, "count"), Some(Short::No));
        // A typed handle learns it alike, for the instance and for itself.
        let p = WasmPlugin::from_bytes_with("pure", &bytes, &Config::new()).expect("loads");
        let typed = p.typed::<i64, i64>("count").expect("typed");
        assert_eq!(typed.call(10).ok(), Some(10));
        assert_eq!(known(&p, "count"), Some(Short::Pure));
        assert_eq!(typed.call(1_000_000).ok(), Some(1_000_000));
        assert_eq!(known(&p, "count"), Some(Short::No));
        assert_eq!(typed.call(1_000_000).ok(), Some(1_000_000));
    }
}
