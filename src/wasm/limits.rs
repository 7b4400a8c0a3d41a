//! Limits on a running plugin: memory and tables (a wasmi resource limiter that remembers
//! which limit was hit), and fuel, deadlines and cancellation (calls run in slices of fuel
//! through wasmi's resumable calls, with the budget checked between slices).

use alloc::sync::Arc;
use core::sync::atomic::{AtomicUsize, Ordering};

use wasmi::{Func, ResourceLimiter, ResumableCall, Store, Val};

use wasmi_core::LimiterError;

use super::host::Host;
use crate::{Config, Limit};

/// Fuel per slice: about 10,000 wasm instructions (some tens of microseconds), so a deadline or
/// a cancellation is noticed that soon, and the pause between slices costs a few percent at
/// most. It also bounds how deep the native stack can grow within one slice: with wasmi 2.0's
/// tail-call dispatch every failed `memory.grow` or `table.grow` keeps a native stack frame
/// (~100 bytes) until the interpreter returns, and a plugin retrying one in a loop would
/// overflow the host's stack; a slice end returns, so a slice of this size needs well under
/// 1 MiB even then (`tests/limits.rs` runs that loop on a 2 MiB thread).
const SLICE: u64 = 10_000;

/// The memory and table limits of one store.
pub(crate) struct Limiter {
    max_memory: usize,
    max_table: usize,
    /// The limit the plugin ran into since the last [`Limiter::take_hit`].
    hit: Option<Limit>,
}

impl Limiter {
    pub(crate) fn new(config: &Config) -> Self {
        Self {
            max_memory: config.max_memory,
            max_table: config.max_table_elements,
            hit: None,
        }
    }

    pub(crate) fn take_hit(&mut self) -> Option<Limit> {
        self.hit.take()
    }
}

impl ResourceLimiter for Limiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> Result<bool, LimiterError> {
        if desired > self.max_memory {
            self.hit = Some(Limit::Memory(self.max_memory));
            return Ok(false);
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> Result<bool, LimiterError> {
        if desired > self.max_table {
            self.hit = Some(Limit::Table(self.max_table));
            return Ok(false);
        }
        Ok(true)
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

/// Fuel, deadline and cancellation for the calls of one plugin.
pub(crate) struct Meter {
    fuel: Option<u64>,
    #[cfg(feature = "std")]
    deadline: Option<core::time::Duration>,
    pub(crate) cancel: Arc<AtomicUsize>,
}

/// What is left of one call's budget.
struct Budget<'a> {
    meter: &'a Meter,
    fuel_left: Option<u64>,
    /// When the deadline passes; set at the end of the first slice, so that a call that ends
    /// within it (most calls) never reads the clock, and the deadline counts from some tens of
    /// microseconds into the call.
    #[cfg(feature = "std")]
    ends: Option<std::time::Instant>,
    epoch: usize,
    first: bool,
}

/// The parameters of a typed call as `Val`s (at most 3), for [`Meter::call`].
pub(crate) trait Lower {
    /// Writes the values into `out`; returns how many.
    fn lower(self, out: &mut [Val; 3]) -> usize;
}

/// The results of a typed call from `Val`s, for [`Meter::call`].
pub(crate) trait Lift: Sized {
    /// How many values.
    const LEN: usize;
    fn lift(vals: &[Val]) -> Option<Self>;
}

macro_rules! lower {
    ($( ($($t:ident $i:tt),*) ),* $(,)?) => {$(
        impl Lower for ($($t,)*) {
            #[allow(unused_variables, unused_mut)]
            fn lower(self, out: &mut [Val; 3]) -> usize {
                let mut n = 0;
                $( if let Some(slot) = out.get_mut(n) { *slot = Val::from(self.$i); n += 1; } )*
                n
            }
        }
    )*};
}
lower!((), (i64 0, i64 1), (i64 0, i64 1, i64 2), (f64 0, f64 1), (i64 0, i32 1), (i32 0, i32 1));

macro_rules! lower_one {
    ($($t:ty),*) => {$(
        impl Lower for $t {
            fn lower(self, out: &mut [Val; 3]) -> usize {
                out[0] = Val::from(self);
                1
            }
        }
    )*};
}
lower_one!(i32, i64, f64);

impl Lift for () {
    const LEN: usize = 0;
    fn lift(_: &[Val]) -> Option<Self> {
        Some(())
    }
}
impl Lift for i32 {
    const LEN: usize = 1;
    fn lift(vals: &[Val]) -> Option<Self> {
        vals.first()?.i32()
    }
}
impl Lift for i64 {
    const LEN: usize = 1;
    fn lift(vals: &[Val]) -> Option<Self> {
        vals.first()?.i64()
    }
}
impl Lift for f64 {
    const LEN: usize = 1;
    fn lift(vals: &[Val]) -> Option<Self> {
        vals.first()?.f64().map(Into::into)
    }
}

/// Why a metered call stopped, before it is named.
pub(crate) enum Stop {
    Trap(wasmi::Error),
    Limit(Limit),
}

impl Meter {
    /// The meter for a plugin with this config, if its calls are metered.
    pub(crate) fn new(config: &Config) -> Option<Self> {
        config.metered().then(|| Self {
            fuel: config.fuel,
            #[cfg(feature = "std")]
            deadline: config.deadline,
            cancel: Arc::new(AtomicUsize::new(0)),
        })
    }

    fn start(&self) -> Budget<'_> {
        Budget {
            meter: self,
            fuel_left: self.fuel,
            #[cfg(feature = "std")]
            ends: None,
            epoch: self.cancel.load(Ordering::SeqCst),
            first: true,
        }
    }

    /// Runs a typed call in slices of fuel, through the untyped resumable call: were the
    /// typed resumable call used here, the interpreter's typed entry would have two callers
    /// per signature and the compiler would stop inlining it into the unmetered call, which
    /// costs every unmetered call about 100 instructions.
    pub(crate) fn call<P: Lower, R: Lift>(
        &self,
        store: &mut Store<Host>,
        func: &Func,
        params: P,
    ) -> Result<R, Stop> {
        let mut inputs = [Val::I32(0), Val::I32(0), Val::I32(0)];
        let n = params.lower(&mut inputs);
        let mut outputs = [Val::I32(0)];
        let (inputs, outputs) = (
            inputs.get(..n).unwrap_or_default(),
            outputs.get_mut(..R::LEN),
        );
        let outputs = outputs.unwrap_or_default();
        self.call_dyn(store, *func, inputs, outputs)?;
        R::lift(outputs).ok_or_else(|| {
            Stop::Trap(wasmi::Error::new(
                "a metered call returned values of the wrong type",
            ))
        })
    }

    /// Runs an untyped call in slices of fuel.
    #[inline(never)]
    pub(crate) fn call_dyn(
        &self,
        store: &mut Store<Host>,
        func: Func,
        inputs: &[Val],
        outputs: &mut [Val],
    ) -> Result<(), Stop> {
        let mut budget = self.start();
        budget.refuel(store, 0)?;
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
    /// Checks the budget and gives the store its next slice of fuel: at least `required`, what
    /// the instruction that ran out needs (a large `memory.fill` can need more than a slice;
    /// resuming with less would stop again at once, for ever).
    fn refuel(&mut self, store: &mut Store<Host>, required: u64) -> Result<(), Stop> {
        if self.meter.cancel.load(Ordering::SeqCst) != self.epoch {
            return Err(Stop::Limit(Limit::Cancelled));
        }
        #[cfg(feature = "std")]
        if let Some(deadline) = self.meter.deadline
            && !self.first
        {
            let now = std::time::Instant::now();
            let ends = *self.ends.get_or_insert(now + deadline);
            if now >= ends {
                return Err(Stop::Limit(Limit::Time(deadline)));
            }
        }
        let size = SLICE.max(required);
        self.first = false;
        let slice = match self.fuel_left {
            Some(0) => return Err(Stop::Limit(Limit::Fuel(self.meter.fuel.unwrap_or(0)))),
            Some(left) if left < required => {
                return Err(Stop::Limit(Limit::Fuel(self.meter.fuel.unwrap_or(0))));
            }
            Some(left) => {
                let slice = left.min(size);
                self.fuel_left = Some(left - slice);
                slice
            }
            None => size,
        };
        store.set_fuel(slice).map_err(Stop::Trap)
    }
}
