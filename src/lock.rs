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
//!
//! A plugin's call can reach its own lock again on the same thread: a host function the
//! plugin calls calls back into the plugin. Waiting would deadlock, so a thread marks the
//! locks it holds while it runs a host function ([`enter`]); the contended path, and only it,
//! checks the mark and fails with [`Reentrant`] instead of waiting. (Without `std` there are
//! no thread-locals: such a call spins forever.)

use spin::mutex::{SpinMutex, SpinMutexGuard};

pub(crate) struct CallLock<T> {
    data: SpinMutex<T>,
    /// Names this lock for [`enter`].
    #[cfg(feature = "std")]
    id: LockId,
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

/// Identifies a [`CallLock`] (unique in the process).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct LockId(usize);

impl LockId {
    /// A new, unique id.
    pub(crate) fn new() -> Self {
        static NEXT: core::sync::atomic::AtomicUsize = core::sync::atomic::AtomicUsize::new(1);
        LockId(NEXT.fetch_add(1, core::sync::atomic::Ordering::Relaxed))
    }
}

/// The calling thread already holds the lock: it re-entered a plugin from inside its call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Reentrant;

#[cfg(feature = "std")]
std::thread_local! {
    /// The locks this thread holds while it runs host functions, innermost last.
    static ENTERED: core::cell::RefCell<alloc::vec::Vec<LockId>> =
        const { core::cell::RefCell::new(alloc::vec::Vec::new()) };
}

/// Marks, until the guard drops, that this thread holds lock `id` and runs code that may try
/// to take it again (a host function).
#[cfg(feature = "std")]
pub(crate) fn enter(id: LockId) -> Entered {
    ENTERED.with(|e| e.borrow_mut().push(id));
    Entered
}

/// Ends an [`enter`].
#[cfg(feature = "std")]
pub(crate) struct Entered;

#[cfg(feature = "std")]
impl Drop for Entered {
    fn drop(&mut self) {
        ENTERED.with(|e| e.borrow_mut().pop());
    }
}

impl<T> CallLock<T> {
    #[cfg_attr(not(feature = "std"), allow(unused_variables))]
    pub(crate) fn new(value: T, id: LockId) -> Self {
        Self {
            data: SpinMutex::new(value),
            #[cfg(feature = "std")]
            id,
            #[cfg(feature = "std")]
            sleepers: Sleepers::default(),
        }
    }

    /// Runs `f` with exclusive access to the value, unless this thread holds the lock already.
    #[inline]
    pub(crate) fn with<R>(&self, f: impl FnOnce(&mut T) -> R) -> Result<R, Reentrant> {
        let result = {
            let mut guard = match self.data.try_lock() {
                Some(guard) => guard,
                None => self.acquire_contended()?,
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
        Ok(result)
    }

    #[cold]
    fn acquire_contended(&self) -> Result<SpinMutexGuard<'_, T>, Reentrant> {
        #[cfg(feature = "std")]
        if ENTERED.with(|e| e.borrow().contains(&self.id)) {
            return Err(Reentrant);
        }
        for _ in 0..SPINS {
            core::hint::spin_loop();
            if !self.data.is_locked()
                && let Some(guard) = self.data.try_lock()
            {
                return Ok(guard);
            }
        }
        Ok(self.sleep_until_free())
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
    use super::{CallLock, LockId, Reentrant, enter};
    use std::sync::Arc;
    use std::vec::Vec;

    #[test]
    fn serializes_many_threads() {
        let lock = Arc::new(CallLock::new((0u64, false), LockId::new()));
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let lock = lock.clone();
                std::thread::spawn(move || {
                    for i in 0..20_000u64 {
                        let held = lock.with(|(n, busy)| {
                            assert!(!*busy, "two holders at once");
                            *busy = true;
                            *n += 1;
                            if i % 1000 == 0 {
                                std::thread::yield_now();
                            }
                            *busy = false;
                        });
                        assert_eq!(held, Ok(()));
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().expect("worker panicked");
        }
        assert_eq!(lock.with(|(n, _)| *n), Ok(8 * 20_000));
    }

    #[test]
    fn long_holds_let_sleepers_through() {
        let lock = Arc::new(CallLock::new(Vec::new(), LockId::new()));
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let lock = lock.clone();
                std::thread::spawn(move || {
                    for _ in 0..20 {
                        let held = lock.with(|v: &mut Vec<u32>| {
                            v.push(t);
                            std::thread::sleep(std::time::Duration::from_micros(200));
                        });
                        assert_eq!(held, Ok(()));
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().expect("worker panicked");
        }
        assert_eq!(lock.with(|v| v.len()), Ok(80));
    }

    #[test]
    fn taking_a_lock_again_from_inside_fails_instead_of_deadlocking() {
        let a = CallLock::new(0, LockId::new());
        let b = CallLock::new(0, LockId::new());
        let outcome = a.with(|_| {
            let _inside = enter(a.id);
            // Another lock is fine, this one is not.
            (b.with(|n| *n + 1), a.with(|n| *n + 1))
        });
        assert_eq!(outcome, Ok((Ok(1), Err(Reentrant))));
        // Outside, the lock works again.
        assert_eq!(a.with(|n| *n + 2), Ok(2));
    }
}
