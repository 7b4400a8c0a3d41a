//! `fib` — a Fibonacci plugin for xxlang-plugin, using the legacy xxlang ABI.
//!
//! Exports (and nothing else besides `memory`):
//! - `alloc(size: i32) -> i32` — plugin-side allocation (the host asks for one
//!   8-byte result slot per instance and reuses it).
//! - `plugin_name(result_ptr: i32)` / `plugin_version(result_ptr: i32)` — write
//!   `(ptr: u32 LE, len: u32 LE)` of a static UTF-8 string at `result_ptr`.
//! - `call_fast(n: i64) -> i64` — iterative Fibonacci (fast doubling for large n).
//! - `call_matrix(n: i64) -> i64` — Fibonacci by 2x2 matrix exponentiation.
//! - `call_isFib(n: i64) -> i32` — 1 if `n` is a Fibonacci number, else 0.
//! - `range_(n: i64, result_ptr: i32)` — writes `(ptr: u32 LE, count: u32 LE)`
//!   of the i64 array `[fib(0), ..., fib(n)]` at `result_ptr`.
//!
//! Conventions for arbitrary inputs: `fib(n)` for `n < 0` is 0; results past
//! `fib(92)` (the largest that fits in an i64) wrap modulo 2^64, i.e. they are
//! the true value's low 64 bits as a two's-complement i64. Every function runs
//! in bounded time and none allocates per call.

#![deny(unsafe_op_in_unsafe_fn)]

use core::cell::UnsafeCell;
use std::alloc::{Layout, alloc as heap_alloc, realloc as heap_realloc};

const NAME: &str = "fib";
const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), "-rust");

/// Up to this `n`, `call_fast` uses the plain iterative loop; beyond it, the
/// O(log n) fast-doubling method (same values, bounded time for any i64).
const ITERATIVE_LIMIT: u64 = 4096;

/// `range_(n)` returns at most this many elements: `fib(0) ..= fib(9999)` for
/// any `n >= 9999`. Keeps the (reused) result buffer at most 80 KB.
const RANGE_MAX_ELEMS: usize = 10_000;

// ---------------------------------------------------------------- ABI helpers

/// Aborts the call with a wasm `unreachable` trap (the host reports an error).
#[inline(always)]
fn trap() -> ! {
    #[cfg(target_arch = "wasm32")]
    {
        core::arch::wasm32::unreachable()
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        std::process::abort()
    }
}

/// Writes the pair `(a, b)` as two little-endian u32 at `result_ptr`.
/// A null slot traps; an out-of-bounds slot traps in the wasm engine.
#[inline(always)]
fn write_pair(result_ptr: i32, a: u32, b: u32) {
    if result_ptr == 0 {
        trap();
    }
    let slot = result_ptr as u32 as usize as *mut u64;
    // SAFETY: the host hands us a slot it got from `alloc(8)`; wasm linear
    // memory is byte-addressable, so an unaligned 8-byte store is fine.
    unsafe { slot.write_unaligned((a as u64 | ((b as u64) << 32)).to_le()) }
}

#[inline(always)]
fn addr<T>(p: *const T) -> u32 {
    p as usize as u32
}

/// Plugin-side allocation (8-byte aligned). Returns 0 for a negative size or
/// when memory is exhausted. Nothing in this plugin allocates on its own per
/// call, so the only memory a host can make it hold is what it asks for here.
#[unsafe(no_mangle)]
pub extern "C" fn alloc(size: i32) -> i32 {
    if size < 0 {
        return 0;
    }
    match Layout::from_size_align((size as usize).max(1), 8) {
        // SAFETY: the layout has a non-zero size.
        Ok(layout) => unsafe { heap_alloc(layout) as usize as i32 },
        Err(_) => 0,
    }
}

#[unsafe(no_mangle)]
pub extern "C" fn plugin_name(result_ptr: i32) {
    write_pair(result_ptr, addr(NAME.as_ptr()), NAME.len() as u32);
}

#[unsafe(no_mangle)]
pub extern "C" fn plugin_version(result_ptr: i32) {
    write_pair(result_ptr, addr(VERSION.as_ptr()), VERSION.len() as u32);
}

// ------------------------------------------------------------------ Fibonacci

/// `fib(n)` mod 2^64 by fast doubling: F(2k) = F(k)(2F(k+1) - F(k)),
/// F(2k+1) = F(k)^2 + F(k+1)^2. Polynomial identities, so exact mod 2^64.
fn fib_doubling(n: u64) -> u64 {
    let (mut a, mut b) = (0u64, 1u64); // (F(k), F(k+1)), k = bits of n seen so far
    let mut bit = 64 - n.leading_zeros();
    while bit > 0 {
        bit -= 1;
        let c = a.wrapping_mul(b.wrapping_mul(2).wrapping_sub(a)); // F(2k)
        let d = a.wrapping_mul(a).wrapping_add(b.wrapping_mul(b)); // F(2k+1)
        if (n >> bit) & 1 == 0 {
            (a, b) = (c, d);
        } else {
            (a, b) = (d, c.wrapping_add(d));
        }
    }
    a
}

/// Iterative Fibonacci; `n < 0` → 0; wraps modulo 2^64 past fib(92).
#[unsafe(no_mangle)]
pub extern "C" fn call_fast(n: i64) -> i64 {
    if n <= 0 {
        return 0;
    }
    let n = n as u64;
    if n > ITERATIVE_LIMIT {
        return fib_doubling(n) as i64;
    }
    let (mut a, mut b) = (0u64, 1u64);
    for _ in 0..n {
        (a, b) = (b, a.wrapping_add(b));
    }
    a as i64
}

type Mat = [u64; 4]; // row-major [[m0, m1], [m2, m3]]

#[inline(always)]
fn mat_mul(x: &Mat, y: &Mat) -> Mat {
    let f = |a: u64, b: u64, c: u64, d: u64| a.wrapping_mul(b).wrapping_add(c.wrapping_mul(d));
    [
        f(x[0], y[0], x[1], y[2]),
        f(x[0], y[1], x[1], y[3]),
        f(x[2], y[0], x[3], y[2]),
        f(x[2], y[1], x[3], y[3]),
    ]
}

/// Fibonacci by 2x2 matrix exponentiation: [[1,1],[1,0]]^n = [[F(n+1),F(n)],[F(n),F(n-1)]].
/// O(log n); `n < 0` → 0; wraps modulo 2^64 past fib(92).
#[unsafe(no_mangle)]
pub extern "C" fn call_matrix(n: i64) -> i64 {
    if n <= 0 {
        return 0;
    }
    let mut e = n as u64;
    let mut result: Mat = [1, 0, 0, 1];
    let mut base: Mat = [1, 1, 1, 0];
    while e > 0 {
        if e & 1 == 1 {
            result = mat_mul(&result, &base);
        }
        e >>= 1;
        if e > 0 {
            base = mat_mul(&base, &base);
        }
    }
    result[1] as i64
}

/// 1 if `n` is a Fibonacci number (0, 1, 2, 3, 5, 8, ...), else 0 (always 0 for n < 0).
/// Walks the at most 93 Fibonacci numbers that fit in an i64.
#[unsafe(no_mangle)]
#[allow(non_snake_case)]
pub extern "C" fn call_isFib(n: i64) -> i32 {
    if n < 0 {
        return 0;
    }
    let n = n as u64;
    let (mut a, mut b) = (0u64, 1u64);
    while a < n {
        (a, b) = (b, a.saturating_add(b));
    }
    (a == n) as i32
}

// -------------------------------------------------------------------- range_

/// A buffer owned by the plugin that is reused across calls and only grows.
struct GrowBuf<T> {
    ptr: *mut T,
    cap: usize,
}

impl<T> GrowBuf<T> {
    const fn new() -> Self {
        GrowBuf {
            ptr: core::ptr::null_mut(),
            cap: 0,
        }
    }

    /// Room for at least `len` elements (amortised doubling, capped at `max`,
    /// `len <= max`). Never null; traps when memory is exhausted.
    fn reserve(&mut self, len: usize, max: usize) -> *mut T {
        const MIN_CAP: usize = 16;
        if self.cap >= len && !self.ptr.is_null() {
            return self.ptr;
        }
        let new_cap = len.max(MIN_CAP).max(self.cap.saturating_mul(2).min(max));
        let Ok(new_layout) = Layout::array::<T>(new_cap) else {
            trap()
        };
        // SAFETY: `new_layout` has a non-zero size; `ptr`/`cap` describe the
        // live allocation made here before.
        let p = unsafe {
            if self.ptr.is_null() {
                heap_alloc(new_layout)
            } else {
                let Ok(old) = Layout::array::<T>(self.cap) else {
                    trap()
                };
                heap_realloc(self.ptr.cast::<u8>(), old, new_layout.size())
            }
        };
        if p.is_null() {
            trap(); // out of memory: the old buffer (if any) is still owned
        }
        self.ptr = p.cast::<T>();
        self.cap = new_cap;
        self.ptr
    }
}

/// Plugin state in a static. Wasm instances are single-threaded (this crate
/// is built without the `atomics` feature), so there is never a second
/// accessor; each use site takes the value through `get` for one call only.
/// (Native unit tests run in threads: only one test may use each static.)
struct Local<T>(UnsafeCell<T>);

// SAFETY: see above: no threads in a wasm32-unknown-unknown instance.
unsafe impl<T> Sync for Local<T> {}

impl<T> Local<T> {
    const fn new(v: T) -> Self {
        Local(UnsafeCell::new(v))
    }

    /// # Safety
    /// No other reference to the value may be live (single-threaded, not re-entrant).
    #[allow(clippy::mut_from_ref)]
    unsafe fn get(&self) -> &mut T {
        // SAFETY: guaranteed by the caller.
        unsafe { &mut *self.0.get() }
    }
}

/// The one result buffer of `range_`, reused by every call and only ever grown.
static RANGE_BUF: Local<GrowBuf<i64>> = Local::new(GrowBuf::new());

/// Writes `(ptr, count)` of `[fib(0), ..., fib(n)]` (i64 LE) at `result_ptr`.
/// `n < 0` → empty array; at most `RANGE_MAX_ELEMS` elements; values wrap past fib(92).
/// The array lives in a buffer owned by the plugin and is overwritten by the next call.
#[unsafe(no_mangle)]
pub extern "C" fn range_(n: i64, result_ptr: i32) {
    let count = if n < 0 {
        0
    } else if n >= RANGE_MAX_ELEMS as i64 {
        RANGE_MAX_ELEMS
    } else {
        n as usize + 1
    };
    // SAFETY: single-threaded; RANGE_BUF is only used here.
    let buf = unsafe { RANGE_BUF.get().reserve(count, RANGE_MAX_ELEMS) };
    let (mut a, mut b) = (0u64, 1u64);
    for i in 0..count {
        // SAFETY: i < count ≤ capacity of `buf`.
        unsafe { buf.add(i).write(a as i64) };
        (a, b) = (b, a.wrapping_add(b));
    }
    write_pair(result_ptr, addr(buf), count as u32);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values() {
        let fast = [
            (0, 0),
            (1, 1),
            (2, 1),
            (3, 2),
            (5, 5),
            (10, 55),
            (20, 6765),
            (50, 12586269025),
        ];
        for (n, want) in fast {
            assert_eq!(call_fast(n), want, "fast({n})");
            assert_eq!(call_matrix(n), want, "matrix({n})");
        }
        assert_eq!(call_matrix(15), 610);
        assert_eq!(call_matrix(92), 7540113804746346429);
        for n in [0, 1, 2, 3, 5, 8, 13, 55, 7540113804746346429] {
            assert_eq!(call_isFib(n), 1, "isFib({n})");
        }
        for n in [4, 6, 7, 14, 56, -1, -5, i64::MIN, i64::MAX] {
            assert_eq!(call_isFib(n), 0, "isFib({n})");
        }
        assert_eq!(call_fast(-3), 0);
        assert_eq!(call_matrix(i64::MIN), 0);
    }

    #[test]
    fn methods_agree_mod_2_64() {
        let mut a = 0u64;
        let mut b = 1u64;
        for n in 0..=(ITERATIVE_LIMIT as i64 + 100) {
            assert_eq!(call_fast(n) as u64, a, "fast({n})");
            assert_eq!(call_matrix(n) as u64, a, "matrix({n})");
            assert_eq!(fib_doubling(n as u64), a, "doubling({n})");
            (a, b) = (b, a.wrapping_add(b));
        }
        for n in [1i64 << 40, i64::MAX, 123_456_789_012] {
            assert_eq!(call_fast(n), call_matrix(n), "n={n}");
        }
    }
}
