/* fib: a Fibonacci plugin for xxlang-plugin in C, using the legacy xxlang ABI (numbers only;
 * see the README's "Writing a plugin" and plugins-src/README.md). It does not use xxplugin.h,
 * which is for the typed ABI.
 *
 * Exports (besides `memory` and the reactor's `_initialize`):
 *   alloc(size: i32) -> i32            plugin-side allocation (the host asks for one 8-byte
 *                                      result slot per instance and reuses it)
 *   plugin_name(result_ptr: i32)       writes (ptr: u32 LE, len: u32 LE) of "fib"
 *   plugin_version(result_ptr: i32)    the same for "1.0.0-c"
 *   call_fast(n: i64) -> i64           fib(n), iteratively (fast doubling for large n)
 *   call_matrix(n: i64) -> i64         fib(n) by 2x2 matrix exponentiation, O(log n)
 *   call_isFib(n: i64) -> i32          1 if n is a Fibonacci number, else 0
 *   range_(n: i64, result_ptr: i32)    writes (ptr, count) of the i64 array fib(0) ..= fib(n)
 *
 * fib(n) for n < 0 is 0; past fib(92) values wrap modulo 2^64 (unsigned arithmetic, so no
 * undefined behaviour). Every call runs in bounded time; nothing allocates per call: the name
 * and version are static, and range_ reuses one buffer that only grows.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define EXPORT(name) __attribute__((export_name(name)))

static const char NAME[] = "fib";
static const char VERSION[] = "1.0.0-c";

/* Up to this n call_fast loops; beyond it, fast doubling (same values, bounded time). */
#define ITERATIVE_LIMIT 4096u
/* range_ returns at most this many elements (fib(0) ..= fib(9999)): at most 80 KB. */
#define RANGE_MAX_ELEMS 10000u

/* Writes the pair (a, b) as two little-endian u32 at result_ptr (wasm is little-endian).
 * A null slot traps; an out-of-bounds one traps in the engine. */
static void write_pair(int32_t result_ptr, uint32_t a, uint32_t b) {
	if (result_ptr == 0)
		__builtin_trap();
	uint32_t pair[2] = {a, b};
	memcpy((void *)(uintptr_t)(uint32_t)result_ptr, pair, sizeof pair);
}

/* Plugin-side allocation (malloc's alignment, at least 8). 0 for a negative size or when
 * memory is exhausted. */
EXPORT("alloc") int32_t fib_alloc(int32_t size) {
	if (size < 0)
		return 0;
	return (int32_t)(uintptr_t)malloc(size ? (size_t)size : 1);
}

EXPORT("plugin_name") void plugin_name(int32_t result_ptr) {
	write_pair(result_ptr, (uint32_t)(uintptr_t)NAME, sizeof NAME - 1);
}

EXPORT("plugin_version") void plugin_version(int32_t result_ptr) {
	write_pair(result_ptr, (uint32_t)(uintptr_t)VERSION, sizeof VERSION - 1);
}

/* fib(n) mod 2^64 by fast doubling: F(2k) = F(k)(2F(k+1) - F(k)), F(2k+1) = F(k)^2 + F(k+1)^2. */
static uint64_t fib_doubling(uint64_t n) {
	uint64_t a = 0, b = 1; /* (F(k), F(k+1)) for the bits of n seen so far */
	for (int bit = 63; bit >= 0; bit--) {
		uint64_t c = a * (2 * b - a);
		uint64_t d = a * a + b * b;
		if ((n >> bit) & 1) {
			a = d;
			b = c + d;
		} else {
			a = c;
			b = d;
		}
	}
	return a;
}

/* Fibonacci number n, iteratively; n <= 0 gives 0; wraps modulo 2^64 past fib(92). */
EXPORT("call_fast") int64_t call_fast(int64_t n) {
	if (n <= 0)
		return 0;
	if ((uint64_t)n > ITERATIVE_LIMIT)
		return (int64_t)fib_doubling((uint64_t)n);
	uint64_t a = 0, b = 1;
	for (int64_t i = 0; i < n; i++) {
		uint64_t t = a + b;
		a = b;
		b = t;
	}
	return (int64_t)a;
}

/* Row-major 2x2 matrix product, modulo 2^64. */
static void mat_mul(uint64_t out[4], const uint64_t x[4], const uint64_t y[4]) {
	uint64_t r[4] = {
	    x[0] * y[0] + x[1] * y[2],
	    x[0] * y[1] + x[1] * y[3],
	    x[2] * y[0] + x[3] * y[2],
	    x[2] * y[1] + x[3] * y[3],
	};
	memcpy(out, r, sizeof r);
}

/* [[1,1],[1,0]]^n = [[F(n+1),F(n)],[F(n),F(n-1)]]; n <= 0 gives 0; wraps past fib(92). */
EXPORT("call_matrix") int64_t call_matrix(int64_t n) {
	if (n <= 0)
		return 0;
	uint64_t e = (uint64_t)n;
	uint64_t result[4] = {1, 0, 0, 1};
	uint64_t base[4] = {1, 1, 1, 0};
	while (e > 0) {
		if (e & 1)
			mat_mul(result, result, base);
		e >>= 1;
		if (e > 0)
			mat_mul(base, base, base);
	}
	return (int64_t)result[1];
}

/* 1 if n is a Fibonacci number (0, 1, 2, 3, 5, 8, ...), else 0 (always 0 for n < 0). Walks
 * the at most 93 Fibonacci numbers that fit in an i64. */
EXPORT("call_isFib") int32_t call_isFib(int64_t n) {
	if (n < 0)
		return 0;
	uint64_t a = 0, b = 1, u = (uint64_t)n;
	while (a < u) {
		uint64_t t = b > UINT64_MAX - a ? UINT64_MAX : a + b; /* saturating */
		a = b;
		b = t;
	}
	return a == u;
}

/* The one result buffer of range_, reused by every call and only ever grown. */
static int64_t *range_buf;
static uint32_t range_cap;

/* Writes (ptr, count) of [fib(0), ..., fib(n)] (i64 LE) at result_ptr. n < 0 gives an empty
 * array; at most RANGE_MAX_ELEMS elements. The array is overwritten by the next call. */
EXPORT("range_") void range_(int64_t n, int32_t result_ptr) {
	uint32_t count = n < 0 ? 0 : n >= RANGE_MAX_ELEMS ? RANGE_MAX_ELEMS : (uint32_t)n + 1;
	if (count > range_cap || !range_buf) {
		uint32_t cap = range_cap * 2;
		if (cap < 16)
			cap = 16;
		if (cap > RANGE_MAX_ELEMS)
			cap = RANGE_MAX_ELEMS;
		if (cap < count)
			cap = count;
		int64_t *p = realloc(range_buf, (size_t)cap * sizeof *p);
		if (!p)
			__builtin_trap(); /* out of memory: the old buffer is still ours */
		range_buf = p;
		range_cap = cap;
	}
	uint64_t a = 0, b = 1;
	for (uint32_t i = 0; i < count; i++) {
		range_buf[i] = (int64_t)a;
		uint64_t t = a + b;
		a = b;
		b = t;
	}
	write_pair(result_ptr, (uint32_t)(uintptr_t)range_buf, count);
}
