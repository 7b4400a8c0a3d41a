// `fib` — a Fibonacci plugin for xxlang-plugin in AssemblyScript, using the legacy xxlang ABI
// (numbers only; see "Writing a plugin" in the README). Built by build.sh into fib_as.wasm.
//
// Exports (and nothing else besides `memory`):
// - `alloc(size: i32) -> i32`: plugin-side allocation (the host asks for one 8-byte result
//   slot per instance and reuses it). Unmanaged memory: the GC never frees or moves it.
// - `plugin_name(result_ptr: i32)` / `plugin_version(result_ptr: i32)`: write
//   `(ptr: u32 LE, len: u32 LE)` of static UTF-8 data at `result_ptr`.
// - `call_fast(n: i64) -> i64`, `call_matrix(n: i64) -> i64`, `call_isFib(n: i64) -> i32`,
//   `range_(n: i64, result_ptr: i32)`.
//
// `fib(n)` for `n < 0` is 0; results past `fib(92)` (the largest that fits in an i64) wrap
// modulo 2^64. Every function runs in bounded time and none allocates per call.

// AssemblyScript string literals are UTF-16, so the UTF-8 name and version are spelled out
// as bytes in static data.
const NAME_LEN = 3; // "fib"
const NAME = memory.data<u8>([0x66, 0x69, 0x62]);
const VERSION_LEN = 8; // "1.0.0-as"
const VERSION = memory.data<u8>([0x31, 0x2e, 0x30, 0x2e, 0x30, 0x2d, 0x61, 0x73]);

/// Up to this `n`, `call_fast` uses the plain iterative loop; beyond it, the O(log n) fast
/// doubling method (same values, bounded time for any i64).
const ITERATIVE_LIMIT: u64 = 4096;

/// `range_(n)` returns at most this many elements: `fib(0) ..= fib(9999)` for any `n >= 9999`.
const RANGE_MAX_ELEMS: i32 = 10000;

function writePair(resultPtr: i32, a: u32, b: u32): void {
  if (resultPtr == 0) unreachable(); // a null slot is a host bug: trap
  store<u32>(<usize>resultPtr, a);
  store<u32>(<usize>resultPtr, b, 4);
}

/// Plugin-side allocation (16-byte aligned, never moved or collected). Returns 0 for a
/// negative size.
export function alloc(size: i32): i32 {
  if (size < 0) return 0;
  return <i32>heap.alloc(<usize>max(size, 1));
}

export function plugin_name(resultPtr: i32): void {
  writePair(resultPtr, <u32>NAME, NAME_LEN);
}

export function plugin_version(resultPtr: i32): void {
  writePair(resultPtr, <u32>VERSION, VERSION_LEN);
}

/// `fib(n)` mod 2^64 by fast doubling: F(2k) = F(k)(2F(k+1) - F(k)), F(2k+1) = F(k)^2 + F(k+1)^2.
function fibDoubling(n: u64): u64 {
  let a: u64 = 0; // F(k)
  let b: u64 = 1; // F(k+1)
  let bit = 64 - <i32>clz<u64>(n);
  while (bit > 0) {
    bit--;
    const c = a * (b * 2 - a); // F(2k)
    const d = a * a + b * b; // F(2k+1)
    if (((n >> <u64>bit) & 1) == 0) {
      a = c;
      b = d;
    } else {
      a = d;
      b = c + d;
    }
  }
  return a;
}

/// Iterative Fibonacci; `n <= 0` gives 0; wraps modulo 2^64 past fib(92).
export function call_fast(n: i64): i64 {
  if (n <= 0) return 0;
  const m = <u64>n;
  if (m > ITERATIVE_LIMIT) return <i64>fibDoubling(m);
  let a: u64 = 0;
  let b: u64 = 1;
  for (let i: u64 = 0; i < m; i++) {
    const t = a + b;
    a = b;
    b = t;
  }
  return <i64>a;
}

/// Fibonacci by 2x2 matrix exponentiation: [[1,1],[1,0]]^n = [[F(n+1),F(n)],[F(n),F(n-1)]].
/// O(log n); `n <= 0` gives 0; wraps modulo 2^64 past fib(92).
export function call_matrix(n: i64): i64 {
  if (n <= 0) return 0;
  let e = <u64>n;
  // result = identity, base = [[1,1],[1,0]] (row-major r0 r1 / r2 r3)
  let r0: u64 = 1, r1: u64 = 0, r2: u64 = 0, r3: u64 = 1;
  let b0: u64 = 1, b1: u64 = 1, b2: u64 = 1, b3: u64 = 0;
  while (e > 0) {
    if (e & 1) {
      const t0 = r0 * b0 + r1 * b2;
      const t1 = r0 * b1 + r1 * b3;
      const t2 = r2 * b0 + r3 * b2;
      const t3 = r2 * b1 + r3 * b3;
      r0 = t0; r1 = t1; r2 = t2; r3 = t3;
    }
    e >>= 1;
    if (e > 0) {
      const s0 = b0 * b0 + b1 * b2;
      const s1 = b0 * b1 + b1 * b3;
      const s2 = b2 * b0 + b3 * b2;
      const s3 = b2 * b1 + b3 * b3;
      b0 = s0; b1 = s1; b2 = s2; b3 = s3;
    }
  }
  return <i64>r1;
}

/// 1 if `n` is a Fibonacci number (0, 1, 2, 3, 5, 8, ...), else 0 (always 0 for n < 0).
/// Walks the at most 93 Fibonacci numbers that fit in an i64.
export function call_isFib(n: i64): i32 {
  if (n < 0) return 0;
  const m = <u64>n;
  let a: u64 = 0;
  let b: u64 = 1;
  while (a < m) {
    const t = a + b;
    a = b;
    b = t < a ? u64.MAX_VALUE : t; // saturate instead of wrapping
  }
  return <i32>(a == m);
}

// The one result buffer of `range_`: unmanaged, reused by every call, only ever grown.
let rangeBuf: usize = 0;
let rangeCap: i32 = 0;

/// Writes `(ptr, count)` of `[fib(0), ..., fib(n)]` (i64 LE) at `result_ptr`. `n < 0` gives an
/// empty array; at most RANGE_MAX_ELEMS elements; values wrap past fib(92). The array is
/// overwritten by the next call.
export function range_(n: i64, resultPtr: i32): void {
  const count: i32 = n < 0 ? 0 : n >= <i64>RANGE_MAX_ELEMS ? RANGE_MAX_ELEMS : <i32>n + 1;
  if (rangeBuf == 0 || rangeCap < count) {
    const cap = min(max(count, max(16, rangeCap * 2)), RANGE_MAX_ELEMS);
    rangeBuf = rangeBuf == 0
      ? heap.alloc(<usize>cap << 3)
      : heap.realloc(rangeBuf, <usize>cap << 3);
    rangeCap = cap;
  }
  let a: u64 = 0;
  let b: u64 = 1;
  for (let i = 0; i < count; i++) {
    store<u64>(rangeBuf + (<usize>i << 3), a);
    const t = a + b;
    a = b;
    b = t;
  }
  writePair(resultPtr, <u32>rangeBuf, <u32>count);
}
