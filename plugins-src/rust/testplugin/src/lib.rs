//! `testplugin` — the arithmetic test plugin of xxlang-plugin, using the legacy xxlang ABI.
//!
//! Exports (and nothing else besides `memory`): `alloc`, `plugin_name`,
//! `plugin_version`, the `call_*` functions below (i64 parameters, i64 result;
//! scripts see them without the `call_` prefix), the `call_is_*` predicates
//! (i32 0/1 result → Bool), and `range_(n: i64, result_ptr: i32)`.
//!
//! Every function accepts any i64 and runs in bounded time without allocating
//! per call. Conventions:
//! - Results that do not fit in an i64 wrap modulo 2^64 (two's complement):
//!   add, sub, mul, neg, abs(i64::MIN) = i64::MIN, square, pow, factorial, fib,
//!   triangle, sum_squares, lcm, gcd(i64::MIN, 0) = i64::MIN, div(i64::MIN, -1) = i64::MIN.
//! - Traps (the host turns them into an error value): `div`/`mod` by zero,
//!   `pow(0, negative)`, `binomial` whose exact value does not fit in an i64,
//!   `count_primes(n)` for `n > COUNT_PRIMES_MAX` (10^8).
//! - Negative inputs: factorial → 1, fib / triangle / sum_squares / count_primes → 0,
//!   binomial with n < 0, k < 0 or k > n → 0, range_ → empty array,
//!   is_prime / is_square → false.

#![deny(unsafe_op_in_unsafe_fn)]

use core::cell::UnsafeCell;
use std::alloc::{Layout, alloc as heap_alloc, realloc as heap_realloc};

const NAME: &str = "testplugin";
const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), "-rust");

/// `range_(n)` returns at most this many elements (`[0, 1, ..., 999_999]` for
/// any `n >= 1_000_000`). Keeps the reused result buffer at most 8 MB.
const RANGE_MAX_ELEMS: usize = 1_000_000;

/// Largest `n` that `count_primes` accepts; larger inputs trap rather than
/// return a wrong count. pi(10^8) = 5_761_455 takes ~10 ms in wasmi built with
/// optimisations (~3 s in an unoptimised debug build of wasmi) and ~120 KB of
/// (reused) scratch memory. The work grows as n^(3/4): 10^10 would take ~0.2 s
/// optimised but over a minute in a debug host, hence the cap.
const COUNT_PRIMES_MAX: i64 = 100_000_000;

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

static RANGE_BUF: Local<GrowBuf<i64>> = Local::new(GrowBuf::new());
static PRIMES_SMALL: Local<GrowBuf<u32>> = Local::new(GrowBuf::new());
static PRIMES_LARGE: Local<GrowBuf<u64>> = Local::new(GrowBuf::new());

// ----------------------------------------------------------------- arithmetic

#[unsafe(no_mangle)]
pub extern "C" fn call_add(a: i64, b: i64) -> i64 {
    a.wrapping_add(b)
}

#[unsafe(no_mangle)]
pub extern "C" fn call_sub(a: i64, b: i64) -> i64 {
    a.wrapping_sub(b)
}

#[unsafe(no_mangle)]
pub extern "C" fn call_mul(a: i64, b: i64) -> i64 {
    a.wrapping_mul(b)
}

/// Truncating division; `b == 0` traps; `i64::MIN / -1` wraps to `i64::MIN`.
#[unsafe(no_mangle)]
pub extern "C" fn call_div(a: i64, b: i64) -> i64 {
    if b == 0 {
        trap();
    }
    a.wrapping_div(b)
}

/// Remainder with the sign of `a` (like Rust's `%`); `b == 0` traps; `i64::MIN % -1` is 0.
#[unsafe(no_mangle)]
pub extern "C" fn call_mod(a: i64, b: i64) -> i64 {
    if b == 0 {
        trap();
    }
    a.wrapping_rem(b)
}

/// n! modulo 2^64; `n <= 1` (including negatives) → 1. Since 66! has 64
/// factors of two, n! ≡ 0 (mod 2^64) for every n ≥ 66, so the loop is bounded.
#[unsafe(no_mangle)]
pub extern "C" fn call_factorial(n: i64) -> i64 {
    if n >= 66 {
        return 0;
    }
    let mut acc: u64 = 1;
    let mut i = 2;
    while i <= n {
        acc = acc.wrapping_mul(i as u64);
        i += 1;
    }
    acc as i64
}

/// fib(n) modulo 2^64 by fast doubling (O(log n)); `n <= 0` → 0.
#[unsafe(no_mangle)]
pub extern "C" fn call_fib(n: i64) -> i64 {
    if n <= 0 {
        return 0;
    }
    let n = n as u64;
    let (mut a, mut b) = (0u64, 1u64); // (F(k), F(k+1))
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
    a as i64
}

fn gcd_u64(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// Greatest common divisor of |a| and |b| (non-negative; gcd(0, 0) = 0;
/// 2^63, which only arises from i64::MIN, wraps to i64::MIN).
#[unsafe(no_mangle)]
pub extern "C" fn call_gcd(a: i64, b: i64) -> i64 {
    gcd_u64(a.unsigned_abs(), b.unsigned_abs()) as i64
}

/// Least common multiple of |a| and |b| modulo 2^64; 0 if either is 0.
#[unsafe(no_mangle)]
pub extern "C" fn call_lcm(a: i64, b: i64) -> i64 {
    let (a, b) = (a.unsigned_abs(), b.unsigned_abs());
    if a == 0 || b == 0 {
        return 0;
    }
    (a / gcd_u64(a, b)).wrapping_mul(b) as i64
}

#[unsafe(no_mangle)]
pub extern "C" fn call_max(a: i64, b: i64) -> i64 {
    a.max(b)
}

#[unsafe(no_mangle)]
pub extern "C" fn call_min(a: i64, b: i64) -> i64 {
    a.min(b)
}

/// base^exp modulo 2^64 by squaring (O(log exp)). For exp < 0 the truncated
/// value: 1 for base 1, ±1 for base -1, 0 otherwise, and a trap for base 0.
#[unsafe(no_mangle)]
pub extern "C" fn call_pow(base: i64, exp: i64) -> i64 {
    if exp < 0 {
        return match base {
            0 => trap(),
            1 => 1,
            -1 => {
                if exp & 1 == 0 {
                    1
                } else {
                    -1
                }
            }
            _ => 0,
        };
    }
    let (mut b, mut e, mut acc) = (base as u64, exp as u64, 1u64);
    while e > 0 {
        if e & 1 == 1 {
            acc = acc.wrapping_mul(b);
        }
        e >>= 1;
        b = b.wrapping_mul(b);
    }
    acc as i64
}

/// C(n, k), exact. 0 when n < 0, k < 0 or k > n. Traps when the value does
/// not fit in an i64 (C(n, i) grows with i up to n/2, so that is detected
/// within at most ~62 steps: the loop is bounded).
#[unsafe(no_mangle)]
pub extern "C" fn call_binomial(n: i64, k: i64) -> i64 {
    if n < 0 || k < 0 || k > n {
        return 0;
    }
    let k = k.min(n - k) as u128;
    let n = n as u128;
    let mut r: u128 = 1; // C(n, i)
    let mut i: u128 = 0;
    while i < k {
        // C(n, i+1) = C(n, i) * (n - i) / (i + 1), exactly; r < 2^63 and
        // n - i < 2^63, so the product fits in a u128.
        r = r * (n - i) / (i + 1);
        if r > i64::MAX as u128 {
            trap();
        }
        i += 1;
    }
    r as i64
}

/// n(n+1)/2 modulo 2^64; `n <= 0` → 0.
#[unsafe(no_mangle)]
pub extern "C" fn call_triangle(n: i64) -> i64 {
    if n <= 0 {
        return 0;
    }
    let n = n as u64; // n < 2^63, so n + 1 does not overflow
    let (a, b) = if n.is_multiple_of(2) {
        (n / 2, n + 1)
    } else {
        (n, n.div_ceil(2))
    };
    a.wrapping_mul(b) as i64
}

/// |n|; `i64::MIN` wraps to itself.
#[unsafe(no_mangle)]
pub extern "C" fn call_abs(n: i64) -> i64 {
    n.wrapping_abs()
}

/// -n; `i64::MIN` wraps to itself.
#[unsafe(no_mangle)]
pub extern "C" fn call_neg(n: i64) -> i64 {
    n.wrapping_neg()
}

/// n² modulo 2^64.
#[unsafe(no_mangle)]
pub extern "C" fn call_square(n: i64) -> i64 {
    n.wrapping_mul(n)
}

/// `x` limited to `[lo, hi]`, i.e. `min(max(x, lo), hi)` (so `hi` wins when lo > hi).
#[unsafe(no_mangle)]
pub extern "C" fn call_clamp(x: i64, lo: i64, hi: i64) -> i64 {
    x.max(lo).min(hi)
}

/// 1² + 2² + ... + n² = n(n+1)(2n+1)/6 modulo 2^64 (O(1)); `n <= 0` → 0.
#[unsafe(no_mangle)]
pub extern "C" fn call_sum_squares(n: i64) -> i64 {
    if n <= 0 {
        return 0;
    }
    // Divide the exact factors first (one of n, n+1 is even; one of n, n+1,
    // 2n+1 is a multiple of 3, and halving keeps that), then multiply modulo 2^64.
    let n = n as u128;
    let (mut a, mut b, mut c) = (n, n + 1, 2 * n + 1);
    if a % 2 == 0 {
        a /= 2;
    } else {
        b /= 2;
    }
    if a % 3 == 0 {
        a /= 3;
    } else if b % 3 == 0 {
        b /= 3;
    } else {
        c /= 3;
    }
    // truncating to u64 reduces modulo 2^64
    (a as u64).wrapping_mul(b as u64).wrapping_mul(c as u64) as i64
}

// --------------------------------------------------------------------- primes

/// Number of primes ≤ n (pi(n)); `n < 2` → 0; `n > COUNT_PRIMES_MAX` traps.
///
/// Uses Lucy Hedgehog's O(n^(3/4)) method with O(sqrt n) memory: two tables
/// indexed by v ≤ sqrt(n) and by n/v, kept in buffers that are reused across
/// calls and only grow (at most ~120 KB at the cap).
#[unsafe(no_mangle)]
pub extern "C" fn call_count_primes(n: i64) -> i64 {
    if n < 2 {
        return 0;
    }
    if n > COUNT_PRIMES_MAX {
        trap();
    }
    let n = n as u64;
    let r = n.isqrt() as usize; // r ≤ 10^4
    // SAFETY: single-threaded; these statics are only used in this function.
    let (small, large) = unsafe {
        let s = PRIMES_SMALL.get().reserve(r + 1, usize::MAX);
        let l = PRIMES_LARGE.get().reserve(r + 1, usize::MAX);
        (
            core::slice::from_raw_parts_mut(s, r + 1),
            core::slice::from_raw_parts_mut(l, r + 1),
        )
    };
    // small[v] = S(v) for v ≤ r, large[i] = S(n / i) for 1 ≤ i ≤ r, where S(v)
    // starts as v - 1 (all of 2..=v) and ends as pi(v) after sieving by every
    // prime p ≤ sqrt(v).
    small[0] = 0;
    large[0] = 0;
    for v in 1..=r {
        small[v] = (v - 1) as u32;
        large[v] = n / v as u64 - 1;
    }
    for p in 2..=r {
        if small[p] == small[p - 1] {
            continue; // p is not prime
        }
        let sp = small[p - 1] as u64; // primes < p
        // 64-bit arithmetic: usize is 32 bits on wasm32 and p², i·p reach n.
        let p2 = p as u64 * p as u64;
        let top = (n / p2).min(r as u64) as usize;
        for i in 1..=top {
            let d = i as u64 * p as u64;
            let s = if d <= r as u64 {
                large[d as usize]
            } else {
                small[(n / d) as usize] as u64
            };
            large[i] -= s - sp;
        }
        let mut v = r;
        while v as u64 >= p2 {
            small[v] -= small[v / p] - sp as u32;
            v -= 1;
        }
    }
    large[1] as i64
}

fn mul_mod(a: u64, b: u64, m: u64) -> u64 {
    ((a as u128 * b as u128) % m as u128) as u64
}

fn pow_mod(mut b: u64, mut e: u64, m: u64) -> u64 {
    let mut acc = 1u64;
    b %= m;
    while e > 0 {
        if e & 1 == 1 {
            acc = mul_mod(acc, b, m);
        }
        b = mul_mod(b, b, m);
        e >>= 1;
    }
    acc
}

/// Primality of n (false for n < 2): trial division by the primes below 40,
/// then a Miller–Rabin test with those 12 bases, which is deterministic for
/// every 64-bit n.
fn is_prime(n: i64) -> bool {
    const BASES: [u64; 12] = [2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37];
    if n < 2 {
        return false;
    }
    let n = n as u64;
    for p in BASES {
        if n.is_multiple_of(p) {
            return n == p;
        }
    }
    if n < 41 * 41 {
        return true;
    }
    let s = (n - 1).trailing_zeros();
    let d = (n - 1) >> s;
    'bases: for a in BASES {
        let mut x = pow_mod(a, d, n);
        if x == 1 || x == n - 1 {
            continue;
        }
        for _ in 1..s {
            x = mul_mod(x, x, n);
            if x == n - 1 {
                continue 'bases;
            }
        }
        return false;
    }
    true
}

// ----------------------------------------------------------------- predicates

#[unsafe(no_mangle)]
pub extern "C" fn call_is_even(n: i64) -> i32 {
    (n & 1 == 0) as i32
}

#[unsafe(no_mangle)]
pub extern "C" fn call_is_odd(n: i64) -> i32 {
    (n & 1 == 1) as i32
}

#[unsafe(no_mangle)]
pub extern "C" fn call_is_prime(n: i64) -> i32 {
    is_prime(n) as i32
}

/// 1 if n is a perfect square (0, 1, 4, 9, ...); negatives → 0.
#[unsafe(no_mangle)]
pub extern "C" fn call_is_square(n: i64) -> i32 {
    if n < 0 {
        return 0;
    }
    let r = (n as u64).isqrt();
    (r * r == n as u64) as i32
}

// -------------------------------------------------------------------- range_

/// Writes `(ptr, count)` of the i64 array `[0, 1, ..., n-1]` at `result_ptr`.
/// `n <= 0` → empty array; at most `RANGE_MAX_ELEMS` elements. The array lives
/// in one plugin-owned buffer that every call reuses (and overwrites).
#[unsafe(no_mangle)]
pub extern "C" fn range_(n: i64, result_ptr: i32) {
    let count = n.clamp(0, RANGE_MAX_ELEMS as i64) as usize;
    // SAFETY: single-threaded; RANGE_BUF is only used here.
    let buf = unsafe { RANGE_BUF.get().reserve(count, RANGE_MAX_ELEMS) };
    for i in 0..count {
        // SAFETY: i < count ≤ capacity of `buf`.
        unsafe { buf.add(i).write(i as i64) };
    }
    write_pair(result_ptr, addr(buf), count as u32);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sum_squares_matches_loop() {
        let mut acc = 0u64;
        for n in 1..=5000i64 {
            acc = acc.wrapping_add((n as u64).wrapping_mul(n as u64));
            assert_eq!(call_sum_squares(n) as u64, acc, "n={n}");
        }
        // huge n, checked independently: x = n(n+1)(2n+1) mod 2^128 = 6q mod 2^128,
        // so (x >> 1) ≡ 3q (mod 2^64) and q ≡ (x >> 1) * 3^-1 (mod 2^64).
        for n in [i64::MAX, i64::MAX - 1, 1 << 40, 3_037_000_499] {
            let m = n as u128;
            let x = m.wrapping_mul(m + 1).wrapping_mul(2 * m + 1);
            let want = ((x >> 1) as u64).wrapping_mul(0xAAAA_AAAA_AAAA_AAAB);
            assert_eq!(call_sum_squares(n) as u64, want);
        }
    }

    #[test]
    fn count_primes_matches_sieve() {
        let lim = 20_000usize;
        let mut comp = vec![false; lim + 1];
        let mut pi = 0;
        for v in 0..=lim {
            if v >= 2 && !comp[v] {
                pi += 1;
                let mut m = v * v;
                while m <= lim {
                    comp[m] = true;
                    m += v;
                }
            }
            assert_eq!(call_count_primes(v as i64), pi, "pi({v})");
            assert_eq!(
                call_is_prime(v as i64),
                (v >= 2 && !comp[v]) as i32,
                "is_prime({v})"
            );
        }
        assert_eq!(call_count_primes(1_000_000), 78_498);
        assert_eq!(call_count_primes(100_000_000), 5_761_455);
    }

    #[test]
    fn misc_edges() {
        assert_eq!(call_factorial(20), 2_432_902_008_176_640_000);
        let mut acc = 1u64;
        for n in 1..=70i64 {
            acc = acc.wrapping_mul(n as u64);
            assert_eq!(call_factorial(n) as u64, acc, "n={n}");
        }
        assert_eq!(call_factorial(i64::MAX), 0);
        assert_eq!(call_factorial(-5), 1);
        assert_eq!(call_binomial(66, 33), 7_219_428_434_016_265_740);
        assert_eq!(call_binomial(62, 31), 465_428_353_255_261_088);
        assert_eq!(call_binomial(i64::MAX, 1), i64::MAX);
        assert_eq!(call_binomial(i64::MAX, i64::MAX - 1), i64::MAX);
        assert_eq!(call_binomial(5, 6), 0);
        assert_eq!(
            call_pow(3, 100) as u64,
            (0..100).fold(1u64, |a, _| a.wrapping_mul(3))
        );
        assert_eq!(call_pow(-1, -3), -1);
        assert_eq!(call_pow(7, -1), 0);
        assert_eq!(
            call_triangle(i64::MAX) as u64,
            ((i64::MAX as u128 * (i64::MAX as u128 + 1) / 2) as u64)
        );
        assert_eq!(call_gcd(i64::MIN, 0), i64::MIN);
        assert_eq!(call_gcd(-12, 8), 4);
        assert_eq!(call_lcm(-4, 6), 12);
        assert_eq!(call_is_prime(i64::MAX), 0); // 2^63 - 1 = 7^2 * 73 * ...
        assert_eq!(call_is_prime(9_223_372_036_854_775_783), 1); // largest prime < 2^63
        assert_eq!(call_is_prime(3_215_031_751), 0); // strong pseudoprime to bases 2,3,5,7
        assert_eq!(call_is_square(i64::MAX), 0);
        assert_eq!(call_is_square(3_037_000_499 * 3_037_000_499), 1);
        assert_eq!(call_is_odd(-3), 1);
        assert_eq!(call_is_even(-4), 1);
        assert_eq!(call_clamp(5, 10, 0), 0);
        assert_eq!(call_div(i64::MIN, -1), i64::MIN);
        assert_eq!(call_mod(i64::MIN, -1), 0);
        assert_eq!(call_fib(92), 7_540_113_804_746_346_429);
    }
}
