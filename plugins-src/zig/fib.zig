//! `fib`: a Fibonacci plugin for xxlang-plugin in Zig, using the legacy xxlang ABI (no
//! manifest, no host imports; see the README's "Writing a plugin").
//!
//! Exports (and nothing else besides `memory`):
//! - `alloc(size: i32) -> i32`: plugin-side allocation (the host asks for one 8-byte result
//!   slot per instance and reuses it).
//! - `plugin_name(result_ptr: i32)` / `plugin_version(result_ptr: i32)`: write
//!   `(ptr: u32 LE, len: u32 LE)` of a static UTF-8 string at `result_ptr`.
//! - `call_fast(n: i64) -> i64`: iterative Fibonacci (fast doubling for large n).
//! - `call_matrix(n: i64) -> i64`: Fibonacci by 2x2 matrix exponentiation.
//! - `call_isFib(n: i64) -> i32`: 1 if `n` is a Fibonacci number, else 0.
//! - `range_(n: i64, result_ptr: i32)`: writes `(ptr: u32 LE, count: u32 LE)` of the i64
//!   array `[fib(0), ..., fib(n)]` at `result_ptr`.
//!
//! `fib(n)` for `n < 0` is 0; past `fib(92)` (the largest that fits in an i64) results wrap
//! modulo 2^64. Every function runs in bounded time and none allocates per call.
const std = @import("std");

const name = "fib";
const version = "1.0.0-zig";

/// Up to this `n`, `call_fast` runs the plain loop; beyond it, O(log n) fast doubling.
const iterative_limit = 4096;

/// `range_(n)` returns at most this many elements (fib(0) ..= fib(9999)).
const range_max = 10_000;

const gpa = std.heap.wasm_allocator;

/// Writes `(a, b)` as two little-endian u32 at `result_ptr`; a null slot traps.
fn writePair(result_ptr: usize, a: usize, b: usize) void {
    if (result_ptr == 0) @trap();
    const slot: *align(1) [2]u32 = @ptrFromInt(result_ptr);
    slot.* = .{ std.mem.nativeToLittle(u32, @intCast(a)), std.mem.nativeToLittle(u32, @intCast(b)) };
}

/// Plugin-side allocation, 8-byte aligned. 0 for a negative size or when memory runs out.
export fn alloc(size: i32) usize {
    if (size < 0) return 0;
    const mem = gpa.alignedAlloc(u8, .@"8", @max(@as(usize, @intCast(size)), 1)) catch return 0;
    return @intFromPtr(mem.ptr);
}

export fn plugin_name(result_ptr: usize) void {
    writePair(result_ptr, @intFromPtr(name.ptr), name.len);
}

export fn plugin_version(result_ptr: usize) void {
    writePair(result_ptr, @intFromPtr(version.ptr), version.len);
}

/// fib(n) mod 2^64 by fast doubling: F(2k) = F(k)(2F(k+1) - F(k)), F(2k+1) = F(k)^2 + F(k+1)^2.
fn fibDoubling(n: u64) u64 {
    var a: u64 = 0; // F(k)
    var b: u64 = 1; // F(k+1)
    var bit: u7 = 64 - @as(u7, @clz(n));
    while (bit > 0) {
        bit -= 1;
        const c = a *% (b *% 2 -% a); // F(2k)
        const d = a *% a +% b *% b; // F(2k+1)
        if ((n >> @intCast(bit)) & 1 == 0) {
            a = c;
            b = d;
        } else {
            a = d;
            b = c +% d;
        }
    }
    return a;
}

/// Iterative Fibonacci; `n <= 0` gives 0; wraps modulo 2^64 past fib(92).
export fn call_fast(n: i64) i64 {
    if (n <= 0) return 0;
    const u: u64 = @intCast(n);
    if (u > iterative_limit) return @bitCast(fibDoubling(u));
    var a: u64 = 0;
    var b: u64 = 1;
    for (0..@intCast(u)) |_| {
        const next = a +% b;
        a = b;
        b = next;
    }
    return @bitCast(a);
}

const Mat = [4]u64; // row-major [[m0, m1], [m2, m3]]

fn matMul(x: Mat, y: Mat) Mat {
    return .{
        x[0] *% y[0] +% x[1] *% y[2],
        x[0] *% y[1] +% x[1] *% y[3],
        x[2] *% y[0] +% x[3] *% y[2],
        x[2] *% y[1] +% x[3] *% y[3],
    };
}

/// Fibonacci by 2x2 matrix exponentiation: [[1,1],[1,0]]^n = [[F(n+1),F(n)],[F(n),F(n-1)]].
/// O(log n); `n <= 0` gives 0; wraps modulo 2^64 past fib(92).
export fn call_matrix(n: i64) i64 {
    if (n <= 0) return 0;
    var e: u64 = @intCast(n);
    var result: Mat = .{ 1, 0, 0, 1 };
    var base: Mat = .{ 1, 1, 1, 0 };
    while (e > 0) {
        if (e & 1 == 1) result = matMul(result, base);
        e >>= 1;
        if (e > 0) base = matMul(base, base);
    }
    return @bitCast(result[1]);
}

/// 1 if `n` is a Fibonacci number (0, 1, 2, 3, 5, 8, ...), else 0 (always 0 for n < 0).
/// Walks the at most 93 Fibonacci numbers that fit in an i64.
export fn call_isFib(n: i64) i32 {
    if (n < 0) return 0;
    const u: u64 = @intCast(n);
    var a: u64 = 0;
    var b: u64 = 1;
    while (a < u) {
        const next = a +| b;
        a = b;
        b = next;
    }
    return @intFromBool(a == u);
}

/// The one result buffer of `range_`: reused by every call, grown (doubling, up to
/// `range_max`) only when a larger `n` comes.
var range_buf: []i64 = &.{};

/// Writes `(ptr, count)` of `[fib(0), ..., fib(n)]` (i64 LE) at `result_ptr`. `n < 0` gives
/// an empty array; at most `range_max` elements. The next call overwrites the array.
export fn range_(n: i64, result_ptr: usize) void {
    const count: usize = if (n < 0) 0 else if (n >= range_max) range_max else @intCast(n + 1);
    if (count > range_buf.len) {
        const cap = @min(@max(count, 16, range_buf.len * 2), range_max);
        range_buf = gpa.realloc(range_buf, cap) catch @trap(); // out of memory: trap
    }
    var a: u64 = 0;
    var b: u64 = 1;
    for (range_buf[0..count]) |*slot| {
        slot.* = @bitCast(a);
        const next = a +% b;
        a = b;
        b = next;
    }
    writePair(result_ptr, @intFromPtr(range_buf.ptr), count);
}

test "values" {
    const fast = [_][2]i64{ .{ 0, 0 }, .{ 1, 1 }, .{ 2, 1 }, .{ 3, 2 }, .{ 5, 5 }, .{ 10, 55 }, .{ 20, 6765 }, .{ 50, 12586269025 } };
    for (fast) |c| {
        try std.testing.expectEqual(c[1], call_fast(c[0]));
        try std.testing.expectEqual(c[1], call_matrix(c[0]));
    }
    try std.testing.expectEqual(@as(i64, 610), call_matrix(15));
    try std.testing.expectEqual(@as(i64, 7540113804746346429), call_matrix(92));
    for ([_]i64{ 0, 1, 2, 3, 5, 8, 13, 55, 7540113804746346429 }) |n| try std.testing.expectEqual(@as(i32, 1), call_isFib(n));
    for ([_]i64{ 4, 6, 7, 14, 56, -1, -5, std.math.minInt(i64), std.math.maxInt(i64) }) |n| try std.testing.expectEqual(@as(i32, 0), call_isFib(n));
    try std.testing.expectEqual(@as(i64, 0), call_fast(-3));
    try std.testing.expectEqual(@as(i64, 0), call_matrix(std.math.minInt(i64)));
}

test "methods agree modulo 2^64" {
    var a: u64 = 0;
    var b: u64 = 1;
    for (0..iterative_limit + 100) |i| {
        const n: i64 = @intCast(i);
        try std.testing.expectEqual(a, @as(u64, @bitCast(call_fast(n))));
        try std.testing.expectEqual(a, @as(u64, @bitCast(call_matrix(n))));
        try std.testing.expectEqual(a, fibDoubling(@intCast(n)));
        const next = a +% b;
        a = b;
        b = next;
    }
    try std.testing.expectEqual(call_matrix(std.math.maxInt(i64)), call_fast(std.math.maxInt(i64)));
}

test "range_ reuses one buffer" {
    var slot: [2]u32 = undefined;
    range_(10, @intFromPtr(&slot));
    const p: [*]const i64 = @ptrFromInt(slot[0]);
    try std.testing.expectEqualSlices(i64, &.{ 0, 1, 1, 2, 3, 5, 8, 13, 21, 34, 55 }, p[0..slot[1]]);
    const first = slot[0];
    range_(-1, @intFromPtr(&slot));
    try std.testing.expectEqual(@as(u32, 0), slot[1]);
    range_(5, @intFromPtr(&slot));
    try std.testing.expectEqual(first, slot[0]);
    range_(1 << 40, @intFromPtr(&slot));
    try std.testing.expectEqual(@as(u32, range_max), slot[1]);
}
