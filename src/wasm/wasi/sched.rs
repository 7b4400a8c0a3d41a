//! WASI's scheduler for plugins: sleeps and `poll_oneoff` waits end at the running call's
//! deadline, are woken by a cancel and are paid for in fuel, so a plugin cannot hold its
//! calling thread past its limits (or a load for ever) by asking to sleep.

use alloc::sync::Arc;
use core::time::Duration;
use std::boxed::Box;
use std::time::Instant;

use wasmi_wasi::wasi_common::Error;
use wasmi_wasi::wasi_common::sched::{Poll, WasiSched};

use crate::wasm::Watch;

/// How long a sleep goes without looking at the cancel flag: the most a cancel waits.
const TICK: Duration = Duration::from_millis(10);

/// Sleeping costs fuel: one unit per nanosecond asleep, about what interpretation burns in
/// that time. So a fuel budget, and the start-up budget (10^9 units by default: one second
/// asleep), bounds sleeping too, and a start-up that sleeps for ever fails the load.
const NANOS_PER_FUEL: u64 = 1;

/// The scheduler of one instance; `watch` is `None` for a trusted (unmetered) plugin, whose
/// sleeps are not bounded.
pub(crate) struct Sched {
    watch: Option<Arc<Watch>>,
}

impl Sched {
    pub(crate) fn boxed(watch: Option<Arc<Watch>>) -> Box<dyn WasiSched> {
        Box::new(Self { watch })
    }

    /// Sleeps until `until`, or fails as soon as the run is cancelled, past its deadline or
    /// out of fuel (the limit is remembered on the watch, and the call reports it).
    fn sleep_until(&self, until: Instant) -> Result<(), Error> {
        loop {
            let now = Instant::now();
            let mut step = until.saturating_duration_since(now);
            if let Some(watch) = &self.watch {
                watch.check().map_err(stopped)?;
                step = step.min(TICK);
                if let Some(ends) = watch.ends() {
                    // Wake at the deadline, to fail then.
                    let to_deadline = ends.saturating_duration_since(now);
                    step = step.min(to_deadline.max(Duration::from_micros(100)));
                }
                // Sleep no longer than the budget pays for, then fail.
                let affordable = watch.fuel_left().saturating_mul(NANOS_PER_FUEL);
                step = step.min(Duration::from_nanos(affordable.max(1_000)));
            }
            if step.is_zero() {
                return Ok(());
            }
            let slept = Instant::now();
            std::thread::sleep(step);
            if let Some(watch) = &self.watch {
                let nanos = u64::try_from(slept.elapsed().as_nanos()).unwrap_or(u64::MAX);
                watch.spend(nanos / NANOS_PER_FUEL).map_err(stopped)?;
            }
        }
    }
}

/// The error that ends a sleep at a limit (remembered on the watch, reported by the call).
fn stopped(limit: crate::Limit) -> Error {
    Error::trap(wiggle::anyhow::anyhow!("the plugin {limit}"))
}

#[wiggle::async_trait]
impl WasiSched for Sched {
    async fn poll_oneoff<'a>(&self, poll: &mut Poll<'a>) -> Result<(), Error> {
        if poll.rw_subscriptions().next().is_some() {
            // Files are ready at once (stdio is ours, preopened files are regular files):
            // the host's poll does not wait for them.
            return wasmi_wasi::wasi_common::sync::sched::poll_oneoff(poll).await;
        }
        match poll.earliest_clock_deadline().map(|c| c.duration_until()) {
            Some(Some(wait)) => self.sleep_until(Instant::now() + wait),
            _ => Ok(()),
        }
    }

    async fn sched_yield(&self) -> Result<(), Error> {
        std::thread::yield_now();
        Ok(())
    }

    async fn sleep(&self, duration: Duration) -> Result<(), Error> {
        let until = Instant::now().checked_add(duration);
        // A sleep too long to represent is as good as for ever.
        let until = until.unwrap_or_else(|| Instant::now() + Duration::from_secs(1 << 40));
        self.sleep_until(until)
    }
}
