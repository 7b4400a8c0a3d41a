//! `textkit`: the typed-ABI example plugin (docs/ABI.md), in Zig, with xxplugin.zig.
//! What each function must do is in plugins-src/README.md; the manifest below says it in one
//! line each. Every function frees what it allocates, also when it fails.
const std = @import("std");
const xx = @import("xxplugin.zig");

const gpa = xx.allocator;

comptime {
    _ = xx.declare(.{
        .name = "textkit",
        .version = "1.0.0-zig",
        .functions = .{
            .{ upper, "upper(s: string) -> string -- ASCII letters upper-cased; fails on empty input." },
            .{ reverse, "reverse(s: string) -> string -- The characters of s in reverse order." },
            .{ concat, "concat(a: string, b: string) -> string -- a followed by b." },
            .{ length, "length(s: string) -> int -- The number of characters (Unicode scalar values) in s." },
            .{ echo_str, "echo_str(s: string) -> string -- s unchanged." },
            .{ xor, "xor(data: bytes, key: int) -> bytes -- Each byte XOR the low 8 bits of key." },
            .{ scale, "scale(x: float, factor: float) -> float -- x times factor." },
            .{ is_palindrome, "is_palindrome(s: string) -> bool -- Whether the characters of s read the same reversed." },
            .{ choose, "choose(flag: bool, a: int, b: int) -> int -- a if flag, else b." },
            .{ split, "split(s: string) -> array<string> -- The words of s (split on ASCII whitespace)." },
            .{ sum, "sum(xs: array<float>) -> float -- The sum of xs, added left to right." },
            .{ iota, "iota(n: int) -> array<int> -- [0, 1, ..., n-1]; fails if n < 0 or n > 1000000." },
            .{ word_counts, "word_counts(s: string) -> map -- Each word of s mapped to how often it occurs." },
            .{ echo, "echo(v: any) -> any -- v unchanged, decoded into Zig values and encoded again." },
            .{ noop, "noop(x: int) -- Does nothing." },
        },
    }, .custom_section);
}

// ----------------------------------------------------------------------------- strings

export fn upper(len: u32) void {
    xx.run(upperImpl, .{len});
}
fn upperImpl(len: u32) !void {
    if (len == 0) return xx.fail("empty input");
    const s = try xx.argAlloc(gpa, 0, len);
    defer gpa.free(s);
    for (s) |*c| c.* = std.ascii.toUpper(c.*);
    xx.send(s);
}

/// The byte length of the UTF-8 sequence starting with `lead` (1 for a stray byte).
fn seqLen(lead: u8) usize {
    return std.unicode.utf8ByteSequenceLength(lead) catch 1;
}

fn isContinuation(b: u8) bool {
    return b & 0xc0 == 0x80;
}

export fn reverse(len: u32) void {
    xx.run(reverseImpl, .{len});
}
fn reverseImpl(len: u32) !void {
    const s = try xx.argAlloc(gpa, 0, len);
    defer gpa.free(s);
    const out = try gpa.alloc(u8, len);
    defer gpa.free(out);
    var i: usize = 0;
    while (i < s.len) {
        const n = @min(seqLen(s[i]), s.len - i);
        @memcpy(out[s.len - i - n ..][0..n], s[i..][0..n]);
        i += n;
    }
    xx.send(out);
}

export fn concat(a_len: u32, b_len: u32) void {
    xx.run(concatImpl, .{ a_len, b_len });
}
fn concatImpl(a_len: u32, b_len: u32) !void {
    const out = try gpa.alloc(u8, @as(usize, a_len) + b_len);
    defer gpa.free(out);
    xx.argInto(0, out[0..a_len]);
    xx.argInto(1, out[a_len..]);
    xx.send(out);
}

export fn length(len: u32) i64 {
    return xx.run(lengthImpl, .{len});
}
fn lengthImpl(len: u32) !i64 {
    const s = try xx.argAlloc(gpa, 0, len);
    defer gpa.free(s);
    var n: i64 = 0;
    for (s) |c| n += @intFromBool(!isContinuation(c));
    return n;
}

export fn echo_str(len: u32) void {
    xx.run(echoStrImpl, .{len});
}
fn echoStrImpl(len: u32) !void {
    const s = try xx.argAlloc(gpa, 0, len);
    defer gpa.free(s);
    xx.send(s);
}

export fn is_palindrome(len: u32) i32 {
    return xx.fromBool(xx.run(isPalindromeImpl, .{len}));
}
fn isPalindromeImpl(len: u32) !bool {
    const s = try xx.argAlloc(gpa, 0, len);
    defer gpa.free(s);
    // Compare the first and the last character, then move inwards.
    var i: usize = 0;
    var j: usize = s.len;
    while (i < j) {
        var k = j - 1;
        while (k > i and isContinuation(s[k])) k -= 1;
        if (k <= i) return true; // one character left
        const n = @min(seqLen(s[i]), k - i);
        if (!std.mem.eql(u8, s[i..][0..n], s[k..j])) return false;
        i += n;
        j = k;
    }
    return true;
}

// ----------------------------------------------------------------------------- numbers and bytes

export fn xor(len: u32, key: i64) void {
    xx.run(xorImpl, .{ len, key });
}
fn xorImpl(len: u32, key: i64) !void {
    const data = try xx.argAlloc(gpa, 0, len);
    defer gpa.free(data);
    const k: u8 = @truncate(@as(u64, @bitCast(key)));
    for (data) |*b| b.* ^= k;
    xx.send(data);
}

export fn scale(x: f64, factor: f64) f64 {
    return x * factor;
}

export fn choose(flag: i32, a: i64, b: i64) i64 {
    return if (xx.toBool(flag)) a else b;
}

export fn noop(x: i64) void {
    _ = x;
}

// ----------------------------------------------------------------------------- arrays and maps

fn isSpace(c: u8) bool {
    return switch (c) {
        ' ', '\t', '\n', 0x0b, 0x0c, '\r' => true,
        else => false,
    };
}

/// The words of `s`: maximal runs of bytes other than ASCII whitespace.
const Words = struct {
    s: []const u8,
    i: usize = 0,

    fn next(self: *Words) ?[]const u8 {
        while (self.i < self.s.len and isSpace(self.s[self.i])) self.i += 1;
        if (self.i == self.s.len) return null;
        const start = self.i;
        while (self.i < self.s.len and !isSpace(self.s[self.i])) self.i += 1;
        return self.s[start..self.i];
    }

    fn count(s: []const u8) usize {
        var it: Words = .{ .s = s };
        var n: usize = 0;
        while (it.next()) |_| n += 1;
        return n;
    }
};

export fn split(len: u32) void {
    xx.run(splitImpl, .{len});
}
fn splitImpl(len: u32) !void {
    const s = try xx.argAlloc(gpa, 0, len);
    defer gpa.free(s);
    var w: xx.Writer = .init(gpa);
    defer w.deinit();
    try w.reserve(s.len + 5 * Words.count(s) + 5); // every header fits in 5 bytes
    try w.writeArrayLen(Words.count(s));
    var it: Words = .{ .s = s };
    while (it.next()) |word| try w.writeString(word);
    xx.send(w.bytes());
}

export fn sum(len: u32) f64 {
    return xx.run(sumImpl, .{len});
}
fn sumImpl(len: u32) !f64 {
    const raw = try xx.argAlloc(gpa, 0, len);
    defer gpa.free(raw);
    var r: xx.Reader = .init(raw);
    var total: f64 = 0.0;
    for (0..try r.readArrayLen()) |_| total += try r.readFloat();
    try r.finish();
    return total;
}

export fn iota(n: i64) void {
    xx.run(iotaImpl, .{n});
}
fn iotaImpl(n: i64) !void {
    if (n < 0) return xx.fail("negative length");
    if (n > 1_000_000) return xx.fail("too long");
    const count: usize = @intCast(n);
    var w: xx.Writer = .init(gpa);
    defer w.deinit();
    try w.reserve(5 + 5 * count); // an int below 2^32 takes at most 5 bytes
    try w.writeArrayLen(count);
    for (0..count) |i| try w.writeInt(@intCast(i));
    xx.send(w.bytes());
}

export fn word_counts(len: u32) void {
    xx.run(wordCountsImpl, .{len});
}
fn wordCountsImpl(len: u32) !void {
    const s = try xx.argAlloc(gpa, 0, len);
    defer gpa.free(s);
    // Sort the words (heapsort: in place, little code), then count each run of equal ones.
    const words = try gpa.alloc([]const u8, Words.count(s));
    defer gpa.free(words);
    var it: Words = .{ .s = s };
    for (words) |*word| word.* = it.next().?;
    std.sort.heap([]const u8, words, {}, struct {
        fn lessThan(_: void, a: []const u8, b: []const u8) bool {
            return std.mem.lessThan(u8, a, b);
        }
    }.lessThan);
    var distinct: usize = 0;
    for (words, 0..) |word, i| distinct += @intFromBool(i == 0 or !std.mem.eql(u8, word, words[i - 1]));

    var w: xx.Writer = .init(gpa);
    defer w.deinit();
    try w.writeMapLen(distinct);
    var i: usize = 0;
    while (i < words.len) {
        var j = i + 1;
        while (j < words.len and std.mem.eql(u8, words[j], words[i])) j += 1;
        try w.writeString(words[i]);
        try w.writeInt(@intCast(j - i));
        i = j;
    }
    xx.send(w.bytes());
}

export fn echo(len: u32) void {
    xx.run(echoImpl, .{len});
}
fn echoImpl(len: u32) !void {
    const v = try xx.argValue(gpa, 0, len);
    defer v.deinit(gpa);
    try xx.sendValue(gpa, v);
}

// ----------------------------------------------------------------------------- tests (native)

const host = xx.testing_host;

fn expectResult(want: []const u8) !void {
    try std.testing.expectEqual(@as(?[]u8, null), host.error_message);
    try std.testing.expectEqual(@as(usize, 1), host.result_calls);
    try std.testing.expectEqualSlices(u8, want, host.result_bytes.?);
    host.reset();
}

fn expectError(want: []const u8) !void {
    try std.testing.expectEqualStrings(want, host.error_message.?);
    try std.testing.expectEqual(@as(usize, 0), host.result_calls);
    host.reset();
}

fn call1(f: fn (u32) callconv(.c) void, a: []const u8) void {
    host.args = &.{a};
    f(@intCast(a.len));
}

test "strings" {
    call1(upper, "héllo wörld");
    try expectResult("HéLLO WöRLD");
    call1(upper, "");
    try expectError("empty input");
    call1(reverse, "a😀b");
    try expectResult("b😀a");
    call1(reverse, "");
    try expectResult("");
    call1(reverse, "héllo");
    try expectResult("olléh");
    host.args = &.{ "ab", "c😀" };
    concat(2, 5);
    try expectResult("abc😀");
    host.args = &.{ "", "" };
    concat(0, 0);
    try expectResult("");
    for ([_]struct { []const u8, i64 }{ .{ "", 0 }, .{ "abc", 3 }, .{ "héllo", 5 }, .{ "a😀b", 3 } }) |c| {
        host.args = &.{c[0]};
        try std.testing.expectEqual(c[1], length(@intCast(c[0].len)));
    }
    call1(echo_str, "a😀b");
    try expectResult("a😀b");
    for ([_]struct { []const u8, bool }{ .{ "", true }, .{ "a", true }, .{ "abba", true }, .{ "aba", true }, .{ "ab", false }, .{ "a😀a", true }, .{ "😀a😀", true }, .{ "é😀e", false }, .{ "\xc3\xa9\xa9\xc3", false } }) |c| {
        host.args = &.{c[0]};
        try std.testing.expectEqual(@intFromBool(c[1]), is_palindrome(@intCast(c[0].len)));
    }
    host.reset();
}

test "numbers and bytes" {
    host.args = &.{"\x00\x01\xff"};
    xor(3, 0x1ff);
    try expectResult("\xff\xfe\x00");
    host.args = &.{""};
    xor(0, 7);
    try expectResult("");
    try std.testing.expectEqual(@as(f64, -3.0), scale(1.5, -2));
    try std.testing.expectEqual(@as(i64, 1), choose(1, 1, 2));
    try std.testing.expectEqual(@as(i64, 2), choose(0, 1, 2));
    noop(5);
    try std.testing.expectEqual(@as(usize, 0), host.result_calls);
}

test "arrays and maps" {
    call1(split, " a\tbb\n\x0b\x0cc\r ");
    try expectResult("\x93\xa1a\xa2bb\xa1c");
    call1(split, "  ");
    try expectResult("\x90");
    host.args = &.{"\x93\xcb\x3f\xf8\x00\x00\x00\x00\x00\x00\x02\xca\x3f\x00\x00\x00"}; // [1.5, 2, 0.5f32]
    try std.testing.expectEqual(@as(f64, 4.0), sum(16));
    try std.testing.expectEqual(@as(usize, 0), host.result_calls);
    host.args = &.{"\x90"};
    try std.testing.expectEqual(@as(f64, 0.0), sum(1));
    host.args = &.{"\x92\xcb\x3f\xf8\x00\x00\x00\x00\x00\x00\x02"};
    try std.testing.expectEqual(@as(f64, 3.5), sum(11));
    iota(3);
    try expectResult("\x93\x00\x01\x02");
    iota(0);
    try expectResult("\x90");
    iota(-1);
    try expectError("negative length");
    iota(1_000_001);
    try expectError("too long");
    iota(1_000_000);
    try std.testing.expectEqual(@as(usize, 1), host.result_calls);
    host.reset();
    call1(word_counts, "b a b c a b");
    try expectResult("\x83\xa1a\x02\xa1b\x03\xa1c\x01");
    call1(word_counts, "");
    try expectResult("\x80");
    const nested = "\x94\x01\xa1a\x92\xc3\xc0\x81\xa1k\xcb\x40\x04\x00\x00\x00\x00\x00\x00";
    call1(echo, nested);
    try expectResult(nested);
    call1(echo, "\xc4\x03\x00\x01\x02");
    try expectResult("\xc4\x03\x00\x01\x02");
    call1(echo, "\xc1");
    try expectError("invalid MessagePack argument");
}
