//! Limits on a running plugin: memory and tables (a wasmi resource limiter that remembers
//! which limit was hit and bounds the sum of all memories and of all tables), and fuel,
//! deadlines and cancellation: calls and start-up code run in slices of fuel through wasmi's
//! resumable calls, with the budget checked between slices.
//!
//! Why slices, even with no limit set: wasmi 2.0's default (tail-call) dispatch keeps about
//! 176 bytes of native stack for every `memory.grow` and `table.grow` it runs until the
//! interpreter returns to us. A plugin looping on a grow would overflow the calling thread's
//! stack and abort the process. Grows cost the most fuel one operator can (255, see `engine`),
//! a slice is [`SLICE`] fuel and one resume is given at most [`MAX_GRANT`], so at most
//! `MAX_GRANT / 255` grows (about 720 KiB of stack) run before the interpreter returns.

use alloc::string::String;
use alloc::sync::Arc;
use core::cell::Cell;
use core::sync::atomic::{AtomicUsize, Ordering};

use wasmi::{
    Caller, ResourceLimiter, ResumableCall, Store, TypedResumableCall, Val, WasmParams, WasmResults,
};

use wasmi_core::LimiterError;

use super::short::{Oracle, Short};
use super::twin::Callable;
use crate::{Config, Limit};

/// Fuel per slice: about 100,000 wasm instructions, so a deadline or a cancellation is noticed
/// within tens of microseconds of ordinary code (on the reference machine, 7 µs of textkit's
/// `echo_str` loop, 29 µs of testplugin's `count_primes`), and the pause between slices (about
/// 470 instructions: wasmi leaves its interpreter and comes back) costs well under 1%. At
/// 10,000 a 64 KiB `echo_str` paused 768 times: 7.50M instructions against 7.17M now
/// (callgrind), 3% more than raw wasmi metered in one plain call (7.28M); a bulk operation
/// still runs in one go whatever the slice (see [`MAX_GRANT`]).
pub(crate) const SLICE: u64 = 100_000;

const _: () = assert!(
    super::short::MAX_COST <= SLICE,
    "a short run must fit in one slice"
);

/// The most fuel one resume is given. An operation may need more than a slice: a block of
/// straight-line code is charged as a whole when it is entered, and `memory.fill` or
/// `memory.copy` by the bytes they move (`bytes_per_fuel` keeps one over a whole memory under
/// 2^19). A resume gets what the operation needs, and no more, up to this bound; a block
/// needing more (over a million straight-line instructions) ends the call with an error.
const MAX_GRANT: u64 = 1 << 20;

/// Whether this target has a clock. `wasm32-unknown-unknown` has none: `Instant::now` panics
/// there. On it a deadline is refused when a plugin is loaded (see `instance.rs`), and only
/// deadlines read the clock in a call; [`now`] is for everything else (load timing).
#[cfg(feature = "std")]
pub(crate) const HAS_CLOCK: bool = !cfg!(all(target_arch = "wasm32", target_os = "unknown"));

/// The time now, where the target has a clock ([`HAS_CLOCK`]).
#[cfg(feature = "std")]
pub(crate) fn now() -> Option<std::time::Instant> {
    HAS_CLOCK.then(std::time::Instant::now)
}

/// Bytes a bulk memory or table operation (and a host import moving bytes) may move per unit
/// of fuel: wasmi's default of 64, or more for memories over 32 MiB, so that one operation
/// over the whole of `max_memory` costs at most 2^19 fuel.
pub(crate) fn bytes_per_fuel(max_memory: usize) -> u32 {
    let per = ((max_memory as u64) >> 19).max(64).next_power_of_two();
    u32::try_from(per).unwrap_or(1 << 31)
}

/// The memory and table limits of one store, and the fuel host imports owe.
pub(crate) struct Limiter {
    max_memory: usize,
    max_table: usize,
    /// Bytes of all memories, and elements of all tables, granted so far.
    memory_total: usize,
    table_total: usize,
    /// The last growth granted, taken back if the growth then fails.
    memory_pending: usize,
    table_pending: usize,
    /// The limit the plugin ran into since the last [`Limiter::take_hit`].
    hit: Option<Limit>,
    /// The size in bytes a memory was last refused (for the load error of a module whose
    /// initial memory is over the limit).
    pub(crate) refused_memory: Option<usize>,
    /// Fuel that host imports charged beyond what was left in the slice; paid at the next
    /// slice (see [`charge`]).
    debt: u64,
    bytes_per_fuel: u64,
    /// Whether the store's engine meters fuel (else [`charge`] has nothing to charge: asking
    /// wasmi for the fuel would make, and drop, an error on every host call).
    metered: bool,
    /// Whether the instance has called into the host for more than its call's own exchange:
    /// every import that reads or changes host state (`xxplugin.log` and `fetch`, WASI, the
    /// embedder's host functions) goes through [`charge`]. The exchange (`xxplugin.arg`,
    /// `result`, `error`: the call's arguments and what it sends back) does not count. A
    /// start-up that called nothing else is a function of the module alone (see
    /// `load::Prelude`).
    pub(crate) called_host: bool,
    /// When the deadline of the next call passes, if it was set already: by the start-up of a
    /// fresh instance made inside that call.
    #[cfg(feature = "std")]
    carried: Option<std::time::Instant>,
}

impl Limiter {
    /// Bytes of all memories and elements of all tables granted so far.
    #[cfg_attr(not(feature = "std"), allow(dead_code))]
    pub(crate) fn granted(&self) -> (usize, usize) {
        (self.memory_total, self.table_total)
    }

    pub(crate) fn new(config: &Config) -> Self {
        Self {
            max_memory: config.max_memory,
            max_table: config.max_table_elements,
            memory_total: 0,
            table_total: 0,
            memory_pending: 0,
            table_pending: 0,
            hit: None,
            refused_memory: None,
            debt: 0,
            bytes_per_fuel: u64::from(bytes_per_fuel(config.max_memory)),
            metered: config.metered(),
            called_host: false,
            #[cfg(feature = "std")]
            carried: None,
        }
    }

    #[inline]
    pub(crate) fn take_hit(&mut self) -> Option<Limit> {
        self.hit.take()
    }
}

/// Grants growth from `current` to `desired` if the sum over all memories (or tables) stays
/// within `max`.
fn grant(
    total: &mut usize,
    pending: &mut usize,
    current: usize,
    desired: usize,
    max: usize,
) -> bool {
    let grown = desired.saturating_sub(current);
    match total.checked_add(grown) {
        Some(after) if after <= max => {
            *total = after;
            *pending = grown;
            true
        }
        _ => false,
    }
}

impl ResourceLimiter for Limiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> Result<bool, LimiterError> {
        let (total, pending) = (&mut self.memory_total, &mut self.memory_pending);
        if !grant(total, pending, current, desired, self.max_memory) {
            self.hit = Some(Limit::Memory(self.max_memory));
            self.refused_memory = Some(desired);
            return Ok(false);
        }
        Ok(true)
    }

    fn memory_grow_failed(&mut self, _error: &wasmi_core::MemoryError) -> Result<(), LimiterError> {
        self.memory_total -= core::mem::take(&mut self.memory_pending).min(self.memory_total);
        Ok(())
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> Result<bool, LimiterError> {
        let (total, pending) = (&mut self.table_total, &mut self.table_pending);
        if !grant(total, pending, current, desired, self.max_table) {
            self.hit = Some(Limit::Table(self.max_table));
            return Ok(false);
        }
        Ok(true)
    }

    fn table_grow_failed(&mut self, _error: &wasmi_core::TableError) -> Result<(), LimiterError> {
        self.table_total -= core::mem::take(&mut self.table_pending).min(self.table_total);
        Ok(())
    }

    fn instances(&self) -> usize {
        4
    }

    fn tables(&self) -> usize {
        16
    }

    fn memories(&self) -> usize {
        4
    }
}

/// The data of a store whose plugin runs under these limits (the host state of an instance:
/// `store::Host`).
pub(crate) trait Limited {
    /// The store's memory and table limits, and the fuel host imports owe.
    fn limiter(&mut self) -> &mut Limiter;
    /// The limit the plugin ran into since the last call of this: in the store (memory,
    /// tables) or in host work (a WASI sleep past the deadline, a cancel).
    fn take_hit(&mut self) -> Option<Limit>;
}

/// Charges host work that moves `bytes` (copying arguments and results, filling random bytes,
/// writing output) to the running call's fuel, as a bulk memory operation of that size would
/// be. What the slice cannot pay becomes debt, paid from the budget when the slice ends, and
/// the slice ends at the plugin's next instruction: so a plugin cannot make the host work for
/// free between two budget checks. Marks the instance as having called into the host
/// ([`Limiter::called_host`]); charges nothing when calls are not metered.
pub(crate) fn charge<T: Limited>(caller: &mut Caller<'_, T>, bytes: usize) {
    caller.data_mut().limiter().called_host = true;
    charge_exchange(caller, bytes);
}

/// [`charge`] for the `xxplugin` exchange imports (`arg`, `result`), which move the call's
/// own arguments and result: not counted as calling into the host
/// ([`Limiter::called_host`]).
pub(crate) fn charge_exchange<T: Limited>(caller: &mut Caller<'_, T>, bytes: usize) {
    if !caller.data_mut().limiter().metered {
        return;
    }
    let Ok(fuel) = caller.get_fuel() else {
        return;
    };
    let per = caller.data_mut().limiter().bytes_per_fuel.max(1);
    let cost = (bytes as u64) / per + 1;
    if cost <= fuel {
        let _ = caller.set_fuel(fuel - cost);
    } else {
        let _ = caller.set_fuel(0);
        let debt = &mut caller.data_mut().limiter().debt;
        *debt = debt.saturating_add(cost - fuel);
    }
}

/// Fuel, deadline and cancellation for the calls of one instance.
pub(crate) struct Meter {
    /// Fuel per call, if limited.
    fuel: Option<u64>,
    /// Fuel for the start-up code of one instance.
    startup_fuel: u64,
    /// Cancellation and the running run's deadline, shared with what runs outside the store
    /// (the cancel handle, WASI's scheduler).
    pub(crate) watch: Arc<Watch>,
    /// Which functions of the module are short (see `short`): their calls need no slices.
    pub(crate) short: Arc<Oracle>,
}

/// What a running call's budget looks like from outside the store: for
/// [`crate::CancelHandle`], and for host work that cannot see the store (WASI's sleeps and
/// imports), which must stop at the deadline or on cancel too.
pub(crate) struct Watch {
    /// Bumped by [`crate::CancelHandle::cancel`] (shared by all instances of the plugin); a run
    /// stops when it differs from its value when the run began.
    cancel: Arc<AtomicUsize>,
    /// `cancel` when the running run began.
    epoch: AtomicUsize,
    /// The deadline of every run, if any.
    #[cfg(feature = "std")]
    deadline: Option<core::time::Duration>,
    /// When the running run's deadline passes, in nanoseconds after `origin`; 0 while not
    /// known yet (the clock starts after a run's first slice).
    #[cfg(feature = "std")]
    ends: core::sync::atomic::AtomicU64,
    /// What `ends` counts from; read only when there is a deadline (there is a clock then).
    #[cfg(feature = "std")]
    origin: Option<std::time::Instant>,
    /// A limit that host work outside the store ran into (1 cancelled, 2 time, 3 fuel),
    /// reported instead of the trap it ended the run with.
    hit: core::sync::atomic::AtomicU8,
    /// The running run's fuel budget beyond its current slice (`u64::MAX`: unlimited), and
    /// its limit, for host work that spends fuel outside the store (WASI sleeps; with `std`,
    /// which has 64-bit atomics on every target we build for).
    #[cfg(feature = "std")]
    fuel_left: core::sync::atomic::AtomicU64,
    #[cfg(feature = "std")]
    fuel_limit: core::sync::atomic::AtomicU64,
    /// Fuel that host work outside the store spent, paid at the next slice.
    #[cfg(feature = "std")]
    debt: core::sync::atomic::AtomicU64,
}

impl Watch {
    fn new(_config: &Config, cancel: Arc<AtomicUsize>) -> Self {
        Self {
            cancel,
            epoch: AtomicUsize::new(0),
            #[cfg(feature = "std")]
            deadline: _config.deadline,
            #[cfg(feature = "std")]
            ends: core::sync::atomic::AtomicU64::new(0),
            #[cfg(feature = "std")]
            origin: _config.deadline.and_then(|_| now()),
            hit: core::sync::atomic::AtomicU8::new(0),
            #[cfg(feature = "std")]
            fuel_left: core::sync::atomic::AtomicU64::new(u64::MAX),
            #[cfg(feature = "std")]
            fuel_limit: core::sync::atomic::AtomicU64::new(0),
            #[cfg(feature = "std")]
            debt: core::sync::atomic::AtomicU64::new(0),
        }
    }

    /// A run with `fuel` begins: cancellation counts from epoch `since` if given, else from
    /// now; its deadline is not known yet.
    fn begin(&self, _fuel: Option<u64>, since: Option<usize>) -> usize {
        let epoch = since.unwrap_or_else(|| self.cancel.load(Ordering::Acquire));
        self.epoch.store(epoch, Ordering::Relaxed);
        #[cfg(feature = "std")]
        {
            self.fuel_left
                .store(_fuel.unwrap_or(u64::MAX), Ordering::Relaxed);
            self.fuel_limit.store(_fuel.unwrap_or(0), Ordering::Relaxed);
        }
        #[cfg(feature = "std")]
        if self.deadline.is_some() {
            self.ends.store(0, Ordering::Relaxed);
        }
        epoch
    }

    #[cfg(feature = "std")]
    fn publish_end(&self, ends: std::time::Instant) {
        let Some(origin) = self.origin else {
            return;
        };
        let nanos = ends.saturating_duration_since(origin).as_nanos();
        let nanos = u64::try_from(nanos).unwrap_or(u64::MAX).max(1);
        self.ends.store(nanos, Ordering::Relaxed);
    }

    /// When the running run's deadline passes, if its clock has started.
    #[cfg(feature = "std")]
    fn started_end(&self) -> Option<std::time::Instant> {
        self.deadline?;
        match self.ends.load(Ordering::Relaxed) {
            0 => None,
            nanos => Some(self.origin? + core::time::Duration::from_nanos(nanos)),
        }
    }

    /// When the running run's deadline passes (starting its clock now if it has not started).
    #[cfg(feature = "std")]
    pub(crate) fn ends(&self) -> Option<std::time::Instant> {
        let deadline = self.deadline?;
        let origin = self.origin?;
        match self.ends.load(Ordering::Relaxed) {
            0 => {
                let ends = std::time::Instant::now() + deadline;
                self.publish_end(ends);
                Some(ends)
            }
            nanos => Some(origin + core::time::Duration::from_nanos(nanos)),
        }
    }

    /// Whether the running run must stop now (cancelled, or past its deadline); the limit is
    /// remembered for [`Watch::take_hit`].
    #[cfg_attr(not(feature = "wasi"), allow(dead_code))]
    pub(crate) fn check(&self) -> Result<(), Limit> {
        let stop = if self.cancel.load(Ordering::Acquire) != self.epoch.load(Ordering::Relaxed) {
            Some((1, Limit::Cancelled))
        } else {
            #[cfg(feature = "std")]
            match (self.deadline, self.ends()) {
                (Some(deadline), Some(ends)) if std::time::Instant::now() >= ends => {
                    Some((2, Limit::Time(deadline)))
                }
                _ => None,
            }
            #[cfg(not(feature = "std"))]
            None
        };
        match stop {
            Some((code, limit)) => {
                self.hit.store(code, Ordering::Relaxed);
                Err(limit)
            }
            None => Ok(()),
        }
    }

    /// The limit host work ran into since the last call of this, if any.
    #[inline]
    pub(crate) fn take_hit(&self) -> Option<Limit> {
        // Read first: every call asks, and a swap (an atomic read-modify-write) costs more than
        // a load when, as nearly always, there is nothing to take.
        if self.hit.load(Ordering::Relaxed) == 0 {
            return None;
        }
        match self.hit.swap(0, Ordering::Relaxed) {
            1 => Some(Limit::Cancelled),
            #[cfg(feature = "std")]
            2 => self.deadline.map(Limit::Time),
            #[cfg(feature = "std")]
            3 => Some(Limit::Fuel(self.fuel_limit.load(Ordering::Relaxed))),
            _ => None,
        }
    }

    /// Whether host work outside the store owes no fuel (read without taking it, so that the
    /// first slice of a call pays no atomic read-modify-write).
    #[inline(always)]
    fn no_debt(&self) -> bool {
        #[cfg(feature = "std")]
        return self.debt.load(Ordering::Relaxed) == 0;
        #[cfg(not(feature = "std"))]
        true
    }

    /// Publishes what the running run's fuel budget has left beyond its current slice.
    #[inline(always)]
    fn set_fuel_left(&self, _left: u64) {
        #[cfg(feature = "std")]
        self.fuel_left.store(_left, Ordering::Relaxed);
    }

    /// How much fuel the running run has left beyond its current slice.
    #[cfg(feature = "std")]
    #[cfg_attr(not(feature = "wasi"), allow(dead_code))]
    pub(crate) fn fuel_left(&self) -> u64 {
        self.fuel_left.load(Ordering::Relaxed)
    }

    /// Spends `fuel` on host work outside the store; fails (remembering the limit) when the
    /// run's budget cannot pay it.
    #[cfg(feature = "std")]
    #[cfg_attr(not(feature = "wasi"), allow(dead_code))]
    pub(crate) fn spend(&self, fuel: u64) -> Result<(), Limit> {
        let left = self.fuel_left.load(Ordering::Relaxed);
        if left != u64::MAX {
            self.fuel_left
                .store(left.saturating_sub(fuel), Ordering::Relaxed);
        }
        self.debt.fetch_add(fuel, Ordering::Relaxed);
        if left != u64::MAX && left < fuel {
            self.hit.store(3, Ordering::Relaxed);
            return Err(Limit::Fuel(self.fuel_limit.load(Ordering::Relaxed)));
        }
        Ok(())
    }
}

/// The least fuel start-up code gets: about 10^9 wasm instructions, seconds of interpretation;
/// enough for a language runtime to start, and still a bound on a start function that never
/// ends.
pub(crate) const STARTUP_FUEL: u64 = 1_000_000_000;

/// What is left of one run's budget: a call, or an instance's start-up code.
pub(crate) struct Budget<'a> {
    meter: &'a Meter,
    fuel_left: Option<u64>,
    /// What running out of `fuel_left` is reported as.
    fuel_limit: u64,
    /// The deadline's clock lives on the watch (shared with host work): it starts at the end
    /// of the first slice, so that a call that ends within it (most calls) never reads the
    /// clock, and the deadline counts from some tens of microseconds into the call.
    epoch: usize,
    first: bool,
}

/// Why a metered call stopped, before it is named.
pub(crate) enum Stop {
    Trap(wasmi::Error),
    Limit(Limit),
}

impl Stop {
    /// What stopped start-up code, as text for its error: "it ran out of fuel at start ...",
    /// "it hit its memory limit ... at start", or "`what` trapped: ..." ("trapped: ..." when
    /// `what` is empty: the error names the export already).
    pub(crate) fn at_start<T: Limited>(&self, store: &mut Store<T>, what: &str) -> String {
        self.describe_at_start(store.data_mut().take_hit(), what)
    }

    /// [`at_start`](Stop::at_start), and the trap's error when the text is about it.
    pub(crate) fn explain_at_start<T: Limited>(
        self,
        store: &mut Store<T>,
        what: &str,
    ) -> (String, Option<wasmi::Error>) {
        let hit = store.data_mut().take_hit();
        let reason = self.describe_at_start(hit, what);
        match (hit, self) {
            (None, Stop::Trap(e)) => (reason, Some(e)),
            _ => (reason, None),
        }
    }

    fn describe_at_start(&self, hit: Option<Limit>, what: &str) -> String {
        let limit = match (hit, self) {
            (Some(limit), _) | (None, &Stop::Limit(limit)) => limit,
            (None, Stop::Trap(e)) if what.is_empty() => return alloc::format!("trapped: {e}"),
            (None, Stop::Trap(e)) => return alloc::format!("{what} trapped: {e}"),
        };
        match limit {
            Limit::Fuel(units) => {
                alloc::format!("it ran out of fuel at start (limit: {units} units)")
            }
            limit => alloc::format!("it {limit} at start"),
        }
    }
}

/// The fuel start-up code gets under `config`, when it is metered.
pub(crate) fn startup_fuel(config: &Config) -> u64 {
    config
        .startup_fuel
        .unwrap_or_else(|| config.fuel.unwrap_or(0).max(STARTUP_FUEL))
}

impl Meter {
    /// The meter of an instance of a plugin with this config, whose cancel handle bumps
    /// `cancel`; `None` when the plugin's code is not metered (then `cancel` is `None` too).
    /// `short` tells which of the module's functions are short.
    pub(crate) fn new(
        config: &Config,
        cancel: Option<&Arc<AtomicUsize>>,
        short: &Arc<Oracle>,
    ) -> Option<Self> {
        let cancel = cancel?.clone();
        config.metered().then(|| Self {
            fuel: config.fuel,
            startup_fuel: startup_fuel(config),
            watch: Arc::new(Watch::new(config, cancel)),
            short: short.clone(),
        })
    }

    /// The budget of one call.
    pub(crate) fn call_budget(&self) -> Budget<'_> {
        self.budget(self.fuel)
    }

    /// The runner of one instance's start-up code (start function, `_initialize`, metadata and
    /// manifest exports, all together): the start-up fuel, and the deadline; unmetered without
    /// a meter.
    pub(crate) fn startup(meter: Option<&Meter>) -> Startup<'_> {
        match meter {
            Some(meter) => Startup::Metered(meter.budget(Some(meter.startup_fuel))),
            None => Startup::Unmetered,
        }
    }

    fn budget(&self, fuel: Option<u64>) -> Budget<'_> {
        self.budget_since(fuel, None)
    }

    /// A budget of `fuel` whose run counts cancels from epoch `since` (if not from now).
    fn budget_since(&self, fuel: Option<u64>, since: Option<usize>) -> Budget<'_> {
        Budget {
            meter: self,
            fuel_left: fuel,
            fuel_limit: fuel.unwrap_or(0),
            epoch: self.watch.begin(fuel, since),
            first: true,
        }
    }

    /// Runs a typed call as `short` says: plain with one slice (short), plain first (pure),
    /// else in slices of fuel under a fresh call budget.
    #[inline(always)]
    pub(crate) fn call<T: Limited, P: WasmParams + Copy, R: WasmResults>(
        &self,
        store: &mut Store<T>,
        func: &impl Callable<P, R>,
        params: P,
        short: &Cell<Short>,
    ) -> Result<R, Stop> {
        let since = match short.get() {
            Short::Yes => return self.call_short(store, func, params),
            Short::Pure => {
                // Cancels count from the call's start: one while the plain slice runs stops
                // the sliced run that follows it.
                let since = self.watch.cancel.load(Ordering::Acquire);
                if let Some(ran) = self.call_pure(store, func, params, short) {
                    return ran;
                }
                Some(since)
            }
            Short::No | Short::Unknown => None,
        };
        // One call site of the sliced run, so that it stays inlined.
        self.budget_since(self.fuel, since).run(store, func, params)
    }

    /// Runs a typed call of a pure function (see `short`) as a plain call with one slice of
    /// fuel, as a short one. A run that does not finish in it left nothing behind: `None`,
    /// and `short` turns to [`Short::No`], so the call runs again from the start in slices,
    /// under the call's budget (the abandoned run charges nothing), and so does every later
    /// call. When the slice is all the fuel budget there is, running out of it is the
    /// budget's end, as in a sliced run. With debt to pay (earlier host work): `None` at once.
    ///
    /// A deadline's clock starts after a run's first slice, so a call that ran out of its
    /// plain slice runs at most one slice more than a sliced call before its clock starts
    /// ([`SLICE`]: tens of microseconds).
    #[inline(always)]
    fn call_pure<T: Limited, P: WasmParams, R: WasmResults>(
        &self,
        store: &mut Store<T>,
        func: &impl Callable<P, R>,
        params: P,
        short: &Cell<Short>,
    ) -> Option<Result<R, Stop>> {
        let limiter = store.data_mut().limiter();
        if self.owes(limiter) {
            return None;
        }
        // A deadline carried from start-up inside this call bounds the sliced run, if any;
        // it must not outlive this call.
        #[cfg(feature = "std")]
        let carried = limiter.carried.take();
        if let Err(e) = store.set_fuel(self.plain_slice()) {
            return Some(Err(Stop::Trap(e)));
        }
        match func.call(store, params) {
            Err(e)
                if e.as_trap_code() == Some(wasmi::TrapCode::OutOfFuel)
                    && self.fuel.is_none_or(|fuel| fuel > SLICE) =>
            {
                #[cfg(feature = "std")]
                {
                    store.data_mut().limiter().carried = carried;
                }
                short.set(Short::No);
                None
            }
            ran => Some(ran.map_err(Stop::Trap)),
        }
    }

    /// Runs a typed call of a function whose every run ends within one slice (see `short`):
    /// a plain call with the first slice of a call's budget. A run of one slice checks
    /// nothing between slices, so nothing is set up for that (no cancel epoch, no clock), and
    /// a deadline carried from start-up inside this call has nothing left to bound. Fuel
    /// that earlier host work owes is paid first, as a sliced run pays it.
    #[inline(always)]
    fn call_short<T: Limited, P: WasmParams, R: WasmResults>(
        &self,
        store: &mut Store<T>,
        func: &impl Callable<P, R>,
        params: P,
    ) -> Result<R, Stop> {
        let limiter = store.data_mut().limiter();
        #[cfg(feature = "std")]
        {
            limiter.carried = None;
        }
        if self.owes(limiter) {
            return self.call_budget().run_short(store, func, params);
        }
        store.set_fuel(self.plain_slice()).map_err(Stop::Trap)?;
        func.call(store, params).map_err(Stop::Trap)
    }

    /// Whether host work charged more fuel than its slice had (see [`charge`]), in the store
    /// `limiter` belongs to or on the watch (WASI's host work): a run that owes it starts
    /// with a budget check instead of a full slice.
    #[inline(always)]
    fn owes(&self, limiter: &Limiter) -> bool {
        limiter.debt != 0 || !self.watch.no_debt()
    }

    /// The fuel of a plain call's one slice: a slice, or the whole budget if that is less.
    #[inline(always)]
    fn plain_slice(&self) -> u64 {
        self.fuel.map_or(SLICE, |fuel| fuel.min(SLICE))
    }

    /// Runs an untyped call in slices of fuel under a fresh call budget.
    #[inline(never)]
    pub(crate) fn call_dyn<T: Limited>(
        &self,
        store: &mut Store<T>,
        func: wasmi::Func,
        inputs: &[Val],
        outputs: &mut [Val],
    ) -> Result<(), Stop> {
        let mut budget = self.call_budget();
        budget.begin(store)?;
        let mut step = func.call_resumable(&mut *store, inputs, outputs);
        loop {
            match step.map_err(Stop::Trap)? {
                ResumableCall::Finished => return Ok(()),
                ResumableCall::HostTrap(trap) => return Err(Stop::Trap(trap.into_host_error())),
                ResumableCall::OutOfFuel(pending) => {
                    budget.refuel(store, pending.required_fuel())?;
                    step = pending.resume(&mut *store, outputs);
                }
            }
        }
    }
}

impl Budget<'_> {
    /// Runs a typed function in slices until it returns, traps or this budget runs out.
    #[inline(always)]
    pub(crate) fn run<T: Limited, P: WasmParams, R: WasmResults, F: Callable<P, R>>(
        &mut self,
        store: &mut Store<T>,
        func: &F,
        params: P,
    ) -> Result<R, Stop> {
        self.begin(store)?;
        match func.call_resumable(store, params) {
            Ok(TypedResumableCall::Finished(results)) => Ok(F::finish(results)),
            other => self.go_on(store, other).map(F::finish),
        }
    }

    /// Runs a function whose every run ends within one slice (see `short`) as a plain call
    /// with this budget's first slice: it cannot need another, so there is nothing to pause
    /// for, and running out ends it as the sliced run would (its slice is all the budget
    /// left then).
    #[inline(always)]
    pub(crate) fn run_short<T: Limited, P: WasmParams, R: WasmResults>(
        &mut self,
        store: &mut Store<T>,
        func: &impl Callable<P, R>,
        params: P,
    ) -> Result<R, Stop> {
        self.begin(store)?;
        func.call(store, params).map_err(Stop::Trap)
    }

    /// The rest of a run whose first slice did not finish it.
    #[cold]
    #[inline(never)]
    fn go_on<T: Limited, R: WasmResults>(
        &mut self,
        store: &mut Store<T>,
        mut step: Result<TypedResumableCall<R>, wasmi::Error>,
    ) -> Result<R, Stop> {
        loop {
            match step.map_err(Stop::Trap)? {
                TypedResumableCall::Finished(results) => return Ok(results),
                TypedResumableCall::HostTrap(trap) => {
                    return Err(Stop::Trap(owned(trap.host_error())));
                }
                TypedResumableCall::OutOfFuel(pending) => {
                    self.refuel(store, pending.required_fuel())?;
                    step = pending.resume(&mut *store);
                }
            }
        }
    }

    /// The first slice.
    #[inline(always)]
    fn begin<T: Limited>(&mut self, store: &mut Store<T>) -> Result<(), Stop> {
        if self.first {
            #[cfg(feature = "std")]
            if self.meter.watch.deadline.is_some()
                && let Some(ends) = store.data_mut().limiter().carried.take()
            {
                self.meter.watch.publish_end(ends);
            }
            // The common cases, kept short: no debt (the cancel epoch was read just now, and
            // the clock starts after the first slice), so a full slice, or what is left of a
            // fuel budget if that is less.
            if !self.meter.owes(store.data_mut().limiter()) {
                self.first = false;
                let slice = match self.fuel_left {
                    None => SLICE,
                    Some(left) if left > 0 => {
                        let slice = left.min(SLICE);
                        self.fuel_left = Some(left - slice);
                        self.meter.watch.set_fuel_left(left - slice);
                        slice
                    }
                    Some(_) => return self.refuel(store, 0),
                };
                return store.set_fuel(slice).map_err(Stop::Trap);
            }
            return self.refuel(store, 0);
        }
        // A later run on the same budget (the next piece of start-up code): what the last one
        // left in its slice stays.
        Ok(())
    }

    /// Checks the budget and gives the store its next slice of fuel: at least `required`, what
    /// the operation that ran out needs (a large `memory.fill` can need more than a slice;
    /// resuming with less would stop again at once, for ever), at most [`MAX_GRANT`].
    #[inline(never)]
    fn refuel<T: Limited>(&mut self, store: &mut Store<T>, required: u64) -> Result<(), Stop> {
        if self.meter.watch.cancel.load(Ordering::Acquire) != self.epoch {
            return Err(Stop::Limit(Limit::Cancelled));
        }
        #[cfg(feature = "std")]
        if let Some(deadline) = self.meter.watch.deadline {
            // The first slice does not start the clock (a restart inside the call may have).
            let watch = &self.meter.watch;
            let ends = if self.first {
                watch.started_end()
            } else {
                watch.ends()
            };
            if ends.is_some_and(|ends| std::time::Instant::now() >= ends) {
                return Err(Stop::Limit(Limit::Time(deadline)));
            }
        }
        if required > MAX_GRANT {
            return Err(Stop::Trap(wasmi::Error::new(alloc::format!(
                "one operation or block of its code needs {required} fuel at once, more than \
                 one slice may be given ({MAX_GRANT})"
            ))));
        }
        let debt = core::mem::take(&mut store.data_mut().limiter().debt);
        #[cfg(feature = "std")]
        let debt = debt.saturating_add(self.meter.watch.debt.swap(0, Ordering::Relaxed));
        // A resume for one large operation gets just what it needs, so that what follows it
        // still runs in ordinary slices.
        let size = SLICE.max(required);
        self.first = false;
        let slice = match self.fuel_left {
            Some(left) => {
                let left = left.saturating_sub(debt);
                if left == 0 || left < required {
                    self.fuel_left = Some(0);
                    return Err(Stop::Limit(Limit::Fuel(self.fuel_limit)));
                }
                let slice = left.min(size);
                self.fuel_left = Some(left - slice);
                self.meter.watch.set_fuel_left(left - slice);
                slice
            }
            None => size,
        };
        store.set_fuel(slice).map_err(Stop::Trap)
    }
}

/// A host function's error, owned (the typed resumable call only lends it): a WASI exit
/// status stays one, and so does an embedder's host function error.
fn owned(e: &wasmi::Error) -> wasmi::Error {
    use super::imports::xxhost::HostFailed;
    if let Some(failed) = e.downcast_ref::<HostFailed>() {
        return wasmi::Error::host(failed.clone());
    }
    match e.i32_exit_status() {
        Some(status) => wasmi::Error::i32_exit(status),
        None => wasmi::Error::new(alloc::string::ToString::to_string(e)),
    }
}

/// Runs an instance's start-up code (start function, `_initialize`, metadata and manifest
/// exports) under one budget, or unmetered for a trusted plugin.
pub(crate) enum Startup<'a> {
    Metered(Budget<'a>),
    Unmetered,
}

impl Startup<'_> {
    /// Runs one piece of start-up code.
    pub(crate) fn run<T: Limited, P: WasmParams, R: WasmResults>(
        &mut self,
        store: &mut Store<T>,
        func: &impl Callable<P, R>,
        params: P,
    ) -> Result<R, Stop> {
        match self {
            Startup::Metered(budget) => budget.run(store, func, params),
            Startup::Unmetered => func.call(store, params).map_err(Stop::Trap),
        }
    }

    /// Hands the deadline of this start-up to the call it was made for (a fresh instance
    /// started inside a call), so the call ends within its deadline, start-up included.
    pub(crate) fn carry_deadline<T: Limited>(&self, _store: &mut Store<T>) {
        #[cfg(feature = "std")]
        if let Startup::Metered(budget) = self {
            _store.data_mut().limiter().carried = budget.meter.watch.started_end();
        }
    }
}
