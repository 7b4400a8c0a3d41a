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
//! **Host functions.** While a call runs one of the embedder's host functions ([`enter`]), the
//! embedder's code may call the same plugin again, from the same thread or from another one
//! that the host function then waits for (joins, or waits on a channel for). Either would wait
//! for ever for a lock held by a thread that waits for it. So the rule is: **no call waits for
//! a lock whose holder is inside a host function.** A call that finds the lock taken and the
//! holder inside a host function fails at once with [`Reentrant`]; a call already waiting when
//! the holder enters a host function notices within a spin or a 1 ms sleep and fails the same
//! way. A call that finds the holder running ordinary wasm waits as before: wasm (and the WASI
//! and ABI imports it calls) never waits for another thread, so that wait always ends.
//!
//! The price: calls from several threads into one plugin whose calls use host functions can
//! fail with [`Reentrant`] when they collide with a host function, even when it would not have
//! waited for them. Embedders that share such a plugin between threads retry, serialize their
//! calls, or load one plugin per thread.
//!
//! The mark is a counter in the [`LockId`] the instance's host state carries: [`enter`]
//! increments it, only the contended path reads it; the uncontended path (one compare-and-swap
//! to acquire, a store and a load to release) does not change. Without `std` the rule is the
//! same (waiters spin instead of sleeping).

use alloc::sync::Arc;
use core::sync::atomic::{AtomicUsize, Ordering};

use spin::mutex::{SpinMutex, SpinMutexGuard};

pub(crate) struct CallLock<T> {
    data: SpinMutex<T>,
    /// Names this lock, and says whether its holder is inside a host function.
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

/// Identifies a [`CallLock`] (given to it and to the host state of the instance it guards), and
/// carries the mark [`enter`] sets while that instance runs a host function.
#[derive(Clone, Debug)]
pub(crate) struct LockId(Arc<Marks>);

#[derive(Debug, Default)]
struct Marks {
    /// How many host functions the holder is inside (nested ones count each).
    in_host: AtomicUsize,
}

impl LockId {
    /// A new, unique id.
    pub(crate) fn new() -> Self {
        LockId(Arc::new(Marks::default()))
    }

    /// Whether the lock's holder is inside a host function.
    fn in_host(&self) -> bool {
        self.0.in_host.load(Ordering::Acquire) != 0
    }
}

impl PartialEq for LockId {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for LockId {}

/// The lock's holder is inside a host function: waiting for it could deadlock (see the module
/// documentation), so the call fails instead.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Reentrant;

/// Marks, until the guard drops, that the holder of lock `id` (the calling thread) runs code
/// that may call into the plugin again or wait for a thread that does (a host function): calls
/// that would wait for the lock meanwhile fail with [`Reentrant`].
pub(crate) fn enter(id: &LockId) -> Entered<'_> {
    id.0.in_host.fetch_add(1, Ordering::AcqRel);
    Entered(&id.0)
}

/// Ends an [`enter`].
pub(crate) struct Entered<'a>(&'a Marks);

impl Drop for Entered<'_> {
    fn drop(&mut self) {
        self.0.in_host.fetch_sub(1, Ordering::AcqRel);
    }
}

impl<T> CallLock<T> {
    pub(crate) fn new(value: T, id: LockId) -> Self {
        Self {
            data: SpinMutex::new(value),
            id,
            #[cfg(feature = "std")]
            sleepers: Sleepers::default(),
        }
    }

    /// Runs `f` with exclusive access to the value, waiting for it unless its holder is inside
    /// a host function (then: [`Reentrant`]).
    #[inline]
    pub(crate) fn with<R>(&self, f: impl FnOnce(&mut T) -> R) -> Result<R, Reentrant> {
        let mut guard = self.lock()?;
        Ok(f(&mut guard))
    }

    /// Exclusive access to the value until the guard drops, waiting for it unless its holder
    /// is inside a host function (then: [`Reentrant`]). What the call path uses: nothing it
    /// carries has to move into a closure (moving a closure's captures through the layers of
    /// `with` stalled a call on store forwarding).
    #[inline(always)]
    pub(crate) fn lock(&self) -> Result<Held<'_, T>, Reentrant> {
        let guard = match self.data.try_lock() {
            Some(guard) => guard,
            None => self.acquire_contended()?,
        };
        Ok(Held {
            guard,
            _wake: Wake(self),
        })
    }

    /// [`lock`](CallLock::lock) if nobody holds it now.
    #[inline(always)]
    pub(crate) fn try_lock(&self) -> Option<Held<'_, T>> {
        Some(Held {
            guard: self.data.try_lock()?,
            _wake: Wake(self),
        })
    }

    /// Runs `f` with exclusive access to the value if nobody holds it now; `None` (and `f` not
    /// run) if somebody does.
    #[inline]
    pub(crate) fn try_with<R>(&self, f: impl FnOnce(&mut T) -> R) -> Option<R> {
        let mut held = self.try_lock()?;
        Some(f(&mut held))
    }

    /// The id this lock was made with (for the host state of the instance it guards).
    pub(crate) fn id(&self) -> &LockId {
        &self.id
    }

    #[cold]
    fn acquire_contended(&self) -> Result<SpinMutexGuard<'_, T>, Reentrant> {
        for _ in 0..SPINS {
            if self.id.in_host() {
                return Err(Reentrant);
            }
            core::hint::spin_loop();
            if !self.data.is_locked()
                && let Some(guard) = self.data.try_lock()
            {
                return Ok(guard);
            }
        }
        self.sleep_until_free()
    }

    #[cfg(not(feature = "std"))]
    fn sleep_until_free(&self) -> Result<SpinMutexGuard<'_, T>, Reentrant> {
        loop {
            if let Some(guard) = self.data.try_lock() {
                return Ok(guard);
            }
            if self.id.in_host() {
                return Err(Reentrant);
            }
            core::hint::spin_loop();
        }
    }

    #[cfg(feature = "std")]
    fn sleep_until_free(&self) -> Result<SpinMutexGuard<'_, T>, Reentrant> {
        use core::sync::atomic::Ordering::SeqCst;
        use std::sync::PoisonError;
        use std::time::Duration;

        let s = &self.sleepers;
        s.count.fetch_add(1, SeqCst);
        let mut parked = s.lock.lock().unwrap_or_else(PoisonError::into_inner);
        let outcome = loop {
            if let Some(guard) = self.data.try_lock() {
                break Ok(guard);
            }
            // Checked on every wake-up, at least every millisecond: a holder that entered a
            // host function after this call began waiting may be waiting for this thread.
            if self.id.in_host() {
                break Err(Reentrant);
            }
            parked = match s.wake.wait_timeout(parked, Duration::from_millis(1)) {
                Ok((guard, _)) => guard,
                Err(poisoned) => poisoned.into_inner().0,
            };
        };
        drop(parked);
        s.count.fetch_sub(1, SeqCst);
        outcome
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

/// Exclusive access to a [`CallLock`]'s value; releasing wakes a sleeping waiter, if any.
pub(crate) struct Held<'a, T> {
    // Fields drop in order: the lock is released first, then a waiter woken.
    guard: SpinMutexGuard<'a, T>,
    _wake: Wake<'a, T>,
}

/// Wakes a sleeping waiter of `0` when dropped (after [`Held`] released the lock). Without
/// `std` nobody sleeps.
struct Wake<'a, T>(#[cfg_attr(not(feature = "std"), allow(dead_code))] &'a CallLock<T>);

impl<T> Drop for Wake<'_, T> {
    #[inline(always)]
    fn drop(&mut self) {
        #[cfg(feature = "std")]
        if self.0.sleepers.count.load(Ordering::Relaxed) != 0 {
            self.0.wake_one();
        }
    }
}

impl<T> core::ops::Deref for Held<'_, T> {
    type Target = T;
    #[inline(always)]
    fn deref(&self) -> &T {
        &self.guard
    }
}

impl<T> core::ops::DerefMut for Held<'_, T> {
    #[inline(always)]
    fn deref_mut(&mut self) -> &mut T {
        &mut self.guard
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
            let _inside = enter(&a.id);
            // Another lock is fine, this one is not.
            (b.with(|n| *n + 1), a.with(|n| *n + 1))
        });
        assert_eq!(outcome, Ok((Ok(1), Err(Reentrant))));
        // Outside, the lock works again.
        assert_eq!(a.with(|n| *n + 2), Ok(2));
    }

    /// The deadlock the rule prevents: the holder, inside a host function, waits for a thread
    /// that wants the lock.
    #[test]
    fn another_thread_fails_instead_of_waiting_for_a_holder_inside_a_host_function() {
        let lock = Arc::new(CallLock::new(0, LockId::new()));
        let outcome = lock.with(|_| {
            let _inside = enter(&lock.id);
            let other = lock.clone();
            std::thread::spawn(move || other.with(|n| *n + 1))
                .join()
                .expect("no panic")
        });
        assert_eq!(outcome, Ok(Err(Reentrant)));
        assert_eq!(lock.with(|n| *n + 1), Ok(1));
    }

    /// A thread already waiting (the holder ran plain code when it arrived) gives up once the
    /// holder enters a host function, which here waits for it.
    #[test]
    fn a_waiting_thread_gives_up_when_the_holder_enters_a_host_function() {
        use std::sync::mpsc;
        let lock = Arc::new(CallLock::new(0, LockId::new()));
        let (arrived_tx, arrived_rx) = mpsc::channel();
        let outcome = lock.with(|_| {
            let other = lock.clone();
            let waiter = std::thread::spawn(move || {
                let _ = arrived_tx.send(());
                other.with(|n| *n + 1)
            });
            // Let it start waiting (spinning or asleep), then enter and wait for it.
            let _ = arrived_rx.recv();
            std::thread::sleep(std::time::Duration::from_millis(20));
            let _inside = enter(&lock.id);
            waiter.join().expect("no panic")
        });
        assert_eq!(outcome, Ok(Err(Reentrant)));
    }

    /// A thread that arrives while the holder runs plain code waits for it, as before.
    #[test]
    fn a_holder_outside_host_functions_is_waited_for() {
        let lock = Arc::new(CallLock::new(0, LockId::new()));
        let (go_tx, go_rx) = std::sync::mpsc::channel::<()>();
        let other = lock.clone();
        let holder = std::thread::spawn(move || {
            other.with(|n| {
                let _ = go_rx.recv();
                *n = 41;
            })
        });
        // Wait until the holder has the lock (the value is only reachable through it).
        while !lock.data.is_locked() {
            std::thread::yield_now();
        }
        let waiter = {
            let lock = lock.clone();
            std::thread::spawn(move || lock.with(|n| *n + 1))
        };
        std::thread::sleep(std::time::Duration::from_millis(20));
        let _ = go_tx.send(());
        assert_eq!(holder.join().expect("no panic"), Ok(()));
        assert_eq!(waiter.join().expect("no panic"), Ok(42));
    }

    #[test]
    fn ids_are_equal_only_to_their_clones() {
        let a = LockId::new();
        assert_eq!(a, a.clone());
        assert_ne!(a, LockId::new());
        {
            let _one = enter(&a);
            let _two = enter(&a);
            assert!(a.clone().in_host());
        }
        assert!(!a.in_host());
    }
}
