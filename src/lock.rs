//! [`CallLock`]: the lock that serializes calls into one plugin instance.
//!
//! A wasm instance's store needs `&mut` for every call, and builtins are called from many
//! threads through `&self`, so every call takes a lock. It is the only synchronization on the
//! call path, so it is built for the uncontended case: acquiring is one compare-and-swap and
//! releasing is a plain store plus a load (a `std::sync::Mutex` pays a second atomic
//! read-modify-write to release; measured at ~5 ns more per call on the reference machine).
//!
//! Under contention a waiter spins briefly, then sleeps on a condition variable. A releaser
//! wakes one sleeper when it sees any. Releasing reads the sleeper count without a fence, so a
//! waiter that registers in the same instant can miss its wake-up: it sleeps with a 1 ms
//! timeout and re-checks, which bounds that rare delay. Without `std` there is nowhere to
//! sleep, and waiters spin.

use spin::mutex::{SpinMutex, SpinMutexGuard};

pub(crate) struct CallLock<T> {
    data: SpinMutex<T>,
    #[cfg(feature = "std")]
    sleepers: Sleepers,
}

#[cfg(feature = "std")]
#[derive(Default)]
struct Sleepers {
    count: core::sync::atomic::AtomicUsize,
    lock: std::sync::Mutex<()>,
    wake: std::sync::Condvar,
}

/// How many times a waiter re-checks before it goes to sleep.
const SPINS: u32 = 100;

impl<T> CallLock<T> {
    pub(crate) fn new(value: T) -> Self {
        Self {
            data: SpinMutex::new(value),
            #[cfg(feature = "std")]
            sleepers: Sleepers::default(),
        }
    }

    /// Runs `f` with exclusive access to the value.
    #[inline]
    pub(crate) fn with<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        let result = {
            let mut guard = match self.data.try_lock() {
                Some(guard) => guard,
                None => self.acquire_contended(),
            };
            f(&mut guard)
        };
        #[cfg(feature = "std")]
        if self
            .sleepers
            .count
            .load(core::sync::atomic::Ordering::Relaxed)
            != 0
        {
            self.wake_one();
        }
        result
    }

    #[cold]
    fn acquire_contended(&self) -> SpinMutexGuard<'_, T> {
        for _ in 0..SPINS {
            core::hint::spin_loop();
            if !self.data.is_locked()
                && let Some(guard) = self.data.try_lock()
            {
                return guard;
            }
        }
        self.sleep_until_free()
    }

    #[cfg(not(feature = "std"))]
    fn sleep_until_free(&self) -> SpinMutexGuard<'_, T> {
        self.data.lock()
    }

    #[cfg(feature = "std")]
    fn sleep_until_free(&self) -> SpinMutexGuard<'_, T> {
        use core::sync::atomic::Ordering::SeqCst;
        use std::sync::PoisonError;
        use std::time::Duration;

        let s = &self.sleepers;
        s.count.fetch_add(1, SeqCst);
        let mut parked = s.lock.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            if let Some(guard) = self.data.try_lock() {
                drop(parked);
                s.count.fetch_sub(1, SeqCst);
                return guard;
            }
            parked = match s.wake.wait_timeout(parked, Duration::from_millis(1)) {
                Ok((guard, _)) => guard,
                Err(poisoned) => poisoned.into_inner().0,
            };
        }
    }

    #[cfg(feature = "std")]
    #[cold]
    fn wake_one(&self) {
        let _parked = self
            .sleepers
            .lock
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        self.sleepers.wake.notify_one();
    }
}

#[cfg(all(test, feature = "std"))]
mod tests {
    use super::CallLock;
    use std::sync::Arc;
    use std::vec::Vec;

    #[test]
    fn serializes_many_threads() {
        let lock = Arc::new(CallLock::new((0u64, false)));
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let lock = lock.clone();
                std::thread::spawn(move || {
                    for i in 0..20_000u64 {
                        lock.with(|(n, busy)| {
                            assert!(!*busy, "two holders at once");
                            *busy = true;
                            *n += 1;
                            if i % 1000 == 0 {
                                std::thread::yield_now();
                            }
                            *busy = false;
                        });
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().expect("worker panicked");
        }
        assert_eq!(lock.with(|(n, _)| *n), 8 * 20_000);
    }

    #[test]
    fn long_holds_let_sleepers_through() {
        let lock = Arc::new(CallLock::new(Vec::new()));
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let lock = lock.clone();
                std::thread::spawn(move || {
                    for _ in 0..20 {
                        lock.with(|v: &mut Vec<u32>| {
                            v.push(t);
                            std::thread::sleep(std::time::Duration::from_micros(200));
                        });
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().expect("worker panicked");
        }
        assert_eq!(lock.with(|v| v.len()), 80);
    }
}
