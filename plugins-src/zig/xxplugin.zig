//! xxplugin.zig: the guest helper for writing xxlang plugins in Zig (typed plugin ABI v1,
//! docs/ABI.md). Copy this one file next to your plugin and `@import("xxplugin.zig")`.
//!
//! It has: the three host imports (`arg`, `result`, `error`) behind small helpers, the
//! manifest (built at compile time, checked against your functions' types, and put in the
//! `xxplugin` custom section), a MessagePack reader/writer for the subset of ABI.md §5 with a
//! `Value` type for `any`, and `run`, which turns a Zig error into the call's Error value.
//!
//! Built for wasm32 it imports from the host; built natively (`zig test`) the imports are
//! replaced by `testing_host`, so a plugin's logic can be unit-tested without a host.
//! Works with Zig 0.17 (the version plugins-src/zig/build.sh pins).
const std = @import("std");
const builtin = @import("builtin");

const is_wasm = builtin.target.cpu.arch.isWasm();

/// The allocator plugins use: std.heap.wasm_allocator in wasm (freed memory is reused, so a
/// plugin that frees what it allocates stops growing), the leak-checking testing allocator in
/// native tests.
pub const allocator: std.mem.Allocator = if (is_wasm) std.heap.wasm_allocator else std.testing.allocator;

// ----------------------------------------------------------------------------- host imports

const host = if (is_wasm) struct {
    extern "xxplugin" fn arg(index: u32, dst: usize) void;
    extern "xxplugin" fn result(ptr: usize, len: usize) void;
    extern "xxplugin" fn @"error"(ptr: usize, len: usize) void;
} else testing_host;

/// Stand-in for the host in native `zig test` builds: set `args`, call an exported function,
/// then look at `result_bytes` / `error_message`; `reset()` frees them.
pub const testing_host = struct {
    /// The memory-type arguments of the next call, by parameter index (others are ignored).
    pub var args: []const []const u8 = &.{};
    pub var result_bytes: ?[]u8 = null;
    pub var error_message: ?[]u8 = null;
    pub var result_calls: usize = 0;

    fn arg(index: u32, dst: usize) void {
        const a = args[index];
        @memcpy(@as([*]u8, @ptrFromInt(dst))[0..a.len], a);
    }
    fn result(ptr: usize, len: usize) void {
        result_calls += 1;
        if (result_bytes) |old| std.testing.allocator.free(old);
        result_bytes = std.testing.allocator.dupe(u8, bytesAt(ptr, len)) catch @panic("oom");
    }
    fn @"error"(ptr: usize, len: usize) void {
        if (error_message) |old| std.testing.allocator.free(old);
        error_message = std.testing.allocator.dupe(u8, bytesAt(ptr, len)) catch @panic("oom");
    }
    fn bytesAt(ptr: usize, len: usize) []const u8 {
        return if (len == 0) "" else @as([*]const u8, @ptrFromInt(ptr))[0..len];
    }
    pub fn reset() void {
        if (result_bytes) |b| std.testing.allocator.free(b);
        if (error_message) |m| std.testing.allocator.free(m);
        result_bytes = null;
        error_message = null;
        result_calls = 0;
        args = &.{};
    }
};

// ----------------------------------------------------------------------------- arguments

/// Copies memory-type argument `index` (0-based over all parameters) into `dst`, whose length
/// must be exactly the length the function received for that parameter.
pub fn argInto(index: u32, dst: []u8) void {
    if (dst.len != 0) host.arg(index, @intFromPtr(dst.ptr));
}

/// The bytes of memory-type argument `index` (a string's UTF-8, a bytes value, or the
/// MessagePack of an array/map/any) in a new buffer of `len` bytes; free it with `gpa.free`.
pub fn argAlloc(gpa: std.mem.Allocator, index: u32, len: u32) error{OutOfMemory}![]u8 {
    const buf = try gpa.alloc(u8, len);
    argInto(index, buf);
    return buf;
}

/// Argument `index` of type array/map/any, decoded. Free it with `value.deinit(gpa)`.
pub fn argValue(gpa: std.mem.Allocator, index: u32, len: u32) Error!Value {
    const raw = try argAlloc(gpa, index, len);
    defer gpa.free(raw);
    return decode(gpa, raw);
}

/// A `bool` parameter (wasm i32) as a Zig bool.
pub fn toBool(b: i32) bool {
    return b != 0;
}

/// A Zig bool as a `bool` result (wasm i32).
pub fn fromBool(b: bool) i32 {
    return @intFromBool(b);
}

// ----------------------------------------------------------------------------- results and errors

/// Sends the result of a function whose declared result is a memory type: a string's UTF-8, a
/// bytes value, or MessagePack. The host copies it at once: free or reuse it right after.
/// Exactly one result per call.
pub fn send(data: []const u8) void {
    // A zero-length slice may carry any address: give the host one that is surely in bounds.
    host.result(if (data.len == 0) 0 else @intFromPtr(data.ptr), data.len);
}

/// Encodes `v` as MessagePack and sends it as the result.
pub fn sendValue(gpa: std.mem.Allocator, v: Value) Error!void {
    var w: Writer = .init(gpa);
    defer w.deinit();
    try w.writeValue(v);
    send(w.bytes());
}

/// Marks the running call as failed with `message` (the script gets the Error value
/// `PLUGIN.FUNCTION: message`) and returns error.Reported, so that `return xx.fail("...")`
/// unwinds through your `defer`s and nothing leaks. Any result sent in the same call is ignored.
pub fn fail(message: []const u8) error{Reported} {
    host.@"error"(if (message.len == 0) 0 else @intFromPtr(message.ptr), message.len);
    return error.Reported;
}

/// The errors of this file's helpers.
pub const Error = error{ OutOfMemory, InvalidMessagePack };

/// Calls `func` with `args`, and if it returns an error reports it (error.Reported: already
/// reported by `fail`; OutOfMemory: "out of memory"; others: the error's name) and returns a
/// zero value instead, which the host ignores. Use it as the body of each export:
///
///     export fn upper(len: u32) void { xx.run(upperImpl, .{len}); }
pub fn run(comptime func: anytype, args: anytype) Payload(@TypeOf(func)) {
    return @call(.auto, func, args) catch |err| {
        const e: anyerror = err;
        switch (e) {
            error.Reported => {},
            error.OutOfMemory => fail("out of memory") catch {},
            error.InvalidMessagePack => fail("invalid MessagePack argument") catch {},
            else => fail(@errorName(e)) catch {},
        }
        return std.mem.zeroes(Payload(@TypeOf(func)));
    };
}

fn Payload(comptime F: type) type {
    const R = @typeInfo(F).@"fn".return_type.?;
    return switch (@typeInfo(R)) {
        .error_union => |eu| eu.payload,
        else => @compileError("xxplugin.run: the function must return an error union (!T)"),
    };
}

// ----------------------------------------------------------------------------- the manifest

/// Where the manifest goes (docs/ABI.md §2).
pub const Placement = enum {
    /// The custom section `xxplugin` (preferred: the host reads it without instantiating).
    custom_section,
    /// An export `xxplugin_manifest` that sends the text (add it to the build's exports).
    function,
};

/// Declares the plugin: put the returned type in a `comptime` block of your root file:
///
///     comptime {
///         _ = xx.declare(.{ .name = "demo", .version = "1.0.0", .functions = .{
///             .{ upper, "upper(s: string) -> string -- ASCII letters upper-cased." },
///         } }, .custom_section);
///     }
///
/// `name` and `version` are optional; each function is `.{ function, "NAME(PARAM: TYPE, ...)
/// [-> TYPE] [-- one-line doc]" }`. At compile time every function's wasm type is checked
/// against its declaration (ABI.md §1: e.g. a `string` parameter is a u32 length, a `string`
/// result is `void`). `declare` does not export the functions: write them as `export fn` and
/// build with -rdynamic (or --export=NAME each).
pub fn declare(comptime plugin: anytype, comptime placement: Placement) type {
    const text = comptime manifestText(plugin);
    return switch (placement) {
        // Global assembly must sit in a container-level comptime block, hence the struct.
        .custom_section => struct {
            comptime {
                // Zig's own wasm backend (-fno-llvm) ignores global assembly: it would silently
                // drop the manifest, and the plugin would load as a legacy one.
                if (!is_wasm) {
                    // Native `zig test` builds: no custom section.
                } else if (builtin.zig_backend != .stage2_llvm) {
                    @compileError("xxplugin: the manifest's custom section needs the LLVM backend: " ++
                        "build without -fno-llvm, or declare with .function");
                } else {
                    asm (customSectionAsm("xxplugin", text));
                }
            }
        },
        .function => struct {
            fn xxplugin_manifest() callconv(.c) void {
                send(text);
            }
            comptime {
                @export(&xxplugin_manifest, .{ .name = "xxplugin_manifest" });
            }
        },
    };
}

/// The manifest text `declare` embeds for `plugin`.
pub fn manifestText(comptime plugin: anytype) []const u8 {
    comptime {
        @setEvalBranchQuota(100_000);
        var text: []const u8 = "abi 1\n";
        for (.{ "name", "version" }) |field| {
            if (@hasField(@TypeOf(plugin), field) and std.mem.indexOfAny(u8, @field(plugin, field), "\r\n") != null)
                @compileError("xxplugin: the " ++ field ++ " must be one line");
        }
        if (@hasField(@TypeOf(plugin), "name")) text = text ++ "name " ++ plugin.name ++ "\n";
        if (@hasField(@TypeOf(plugin), "version")) text = text ++ "version " ++ plugin.version ++ "\n";
        if (@hasField(@TypeOf(plugin), "functions")) {
            for (plugin.functions) |f| {
                if (std.mem.indexOfAny(u8, f[1], "\r\n") != null)
                    @compileError("xxplugin: a declaration must be one line: " ++ f[1]);
                expectSignature(f[0], f[1]);
                text = text ++ "fn " ++ f[1] ++ "\n";
            }
        }
        return text;
    }
}

/// The wasm value types (as letters: i = i32, I = i64, F = f64, - = none) of ABI.md §1.
fn abiParam(comptime t: []const u8) u8 {
    if (std.mem.eql(u8, t, "int")) return 'I';
    if (std.mem.eql(u8, t, "float")) return 'F';
    return 'i'; // bool, string, bytes, array<..>, map, any
}
fn abiResult(comptime t: []const u8) u8 {
    if (std.mem.eql(u8, t, "int")) return 'I';
    if (std.mem.eql(u8, t, "float")) return 'F';
    if (std.mem.eql(u8, t, "bool")) return 'i';
    return '-'; // null and the memory types
}
fn zigWasmType(comptime T: type) u8 {
    return switch (@typeInfo(T)) {
        .void => '-',
        .bool => 'i',
        .int => |i| if (i.bits == 64) 'I' else if (i.bits <= 32) 'i' else '?',
        .float => |f| if (f.bits == 64) 'F' else '?',
        .pointer => 'i',
        else => '?',
    };
}

/// Checks, at compile time, that `func` has the wasm type ABI.md §1 gives the declaration `decl`.
pub fn expectSignature(comptime func: anytype, comptime decl: []const u8) void {
    comptime {
        const open = std.mem.indexOfScalar(u8, decl, '(') orelse @compileError("xxplugin: no '(' in: " ++ decl);
        const close = std.mem.indexOfScalarPos(u8, decl, open, ')') orelse @compileError("xxplugin: no ')' in: " ++ decl);
        var want_params: []const u8 = "";
        var it = std.mem.tokenizeScalar(u8, decl[open + 1 .. close], ',');
        while (it.next()) |p| {
            const colon = std.mem.indexOfScalar(u8, p, ':') orelse @compileError("xxplugin: parameter without type in: " ++ decl);
            want_params = want_params ++ .{abiParam(std.mem.trim(u8, p[colon + 1 ..], " \t"))};
        }
        var rest: []const u8 = decl[close + 1 ..];
        if (std.mem.indexOf(u8, rest, "--")) |d| rest = rest[0..d];
        rest = std.mem.trim(u8, rest, " \t");
        const want_result: u8 = if (std.mem.startsWith(u8, rest, "->")) abiResult(std.mem.trim(u8, rest[2..], " \t")) else '-';

        const info = @typeInfo(@TypeOf(func)).@"fn";
        var have_params: []const u8 = "";
        for (info.param_types) |t| have_params = have_params ++ .{zigWasmType(t.?)};
        const have_result = zigWasmType(info.return_type.?);
        if (!std.mem.eql(u8, want_params, have_params) or want_result != have_result)
            @compileError("xxplugin: wasm type of the function does not match its declaration `" ++ decl ++
                "`: want params (" ++ want_params ++ ") -> " ++ .{want_result} ++ ", have (" ++ have_params ++
                ") -> " ++ .{have_result} ++ " (i = i32, I = i64, F = f64, - = none)");
    }
}

/// Global assembly that emits `data` as the custom section `name` (LLVM's
/// `.custom_section.NAME` convention; Zig's linker keeps such sections).
fn customSectionAsm(comptime name: []const u8, comptime data: []const u8) []const u8 {
    comptime {
        @setEvalBranchQuota(20 * data.len + 1000);
        var out: []const u8 = ".section .custom_section." ++ name ++ ",\"\",@\n.ascii \"";
        for (data) |c| {
            out = out ++ if (c >= 0x20 and c < 0x7f and c != '"' and c != '\\')
                .{c}
            else
                .{ '\\', '0' + (c >> 6), '0' + ((c >> 3) & 7), '0' + (c & 7) };
        }
        return out ++ "\"\n.text\n";
    }
}

// ----------------------------------------------------------------------------- MessagePack

/// An xxlang value, as `array`, `map` and `any` arguments decode to (ABI.md §5). A decoded
/// Value owns all its memory (strings too): free it with `deinit`.
pub const Value = union(enum) {
    null,
    bool: bool,
    int: i64,
    float: f64,
    string: []const u8,
    bytes: []const u8,
    array: []Value,
    /// Keys are int, string or bool values.
    map: []Entry,

    pub const Entry = struct { key: Value, value: Value };

    /// Frees what `decode` (or `Reader.readValue`) allocated for this value.
    pub fn deinit(self: Value, gpa: std.mem.Allocator) void {
        switch (self) {
            .string, .bytes => |s| gpa.free(s),
            .array => |items| {
                for (items) |item| item.deinit(gpa);
                gpa.free(items);
            },
            .map => |entries| {
                for (entries) |e| {
                    e.key.deinit(gpa);
                    e.value.deinit(gpa);
                }
                gpa.free(entries);
            },
            else => {},
        }
    }
};

/// Values nested deeper than this are refused (the host never sends deeper ones).
pub const max_depth = 64;

/// Decodes one MessagePack value that fills `bytes` exactly (trailing bytes are an error).
pub fn decode(gpa: std.mem.Allocator, bytes: []const u8) Error!Value {
    var r: Reader = .init(bytes);
    const v = try r.readValue(gpa);
    errdefer v.deinit(gpa);
    try r.finish();
    return v;
}

/// Reads MessagePack values one by one, without allocating (except `readValue`): e.g. an
/// `array<float>` argument is `readArrayLen` then that many `readFloat`.
pub const Reader = struct {
    bytes: []const u8,
    pos: usize = 0,

    pub fn init(bytes: []const u8) Reader {
        return .{ .bytes = bytes };
    }

    /// error.InvalidMessagePack unless every byte was read.
    pub fn finish(self: *const Reader) Error!void {
        if (self.pos != self.bytes.len) return error.InvalidMessagePack;
    }

    fn byte(self: *Reader) Error!u8 {
        if (self.pos >= self.bytes.len) return error.InvalidMessagePack;
        self.pos += 1;
        return self.bytes[self.pos - 1];
    }
    fn take(self: *Reader, n: usize) Error![]const u8 {
        if (n > self.bytes.len - self.pos) return error.InvalidMessagePack;
        self.pos += n;
        return self.bytes[self.pos - n .. self.pos];
    }
    fn big(self: *Reader, comptime T: type) Error!T {
        return std.mem.readInt(T, (try self.take(@sizeOf(T)))[0..@sizeOf(T)], .big);
    }
    fn peek(self: *const Reader) Error!u8 {
        if (self.pos >= self.bytes.len) return error.InvalidMessagePack;
        return self.bytes[self.pos];
    }

    pub fn readNil(self: *Reader) Error!void {
        if (try self.byte() != 0xc0) return error.InvalidMessagePack;
    }

    pub fn readBool(self: *Reader) Error!bool {
        return switch (try self.byte()) {
            0xc2 => false,
            0xc3 => true,
            else => error.InvalidMessagePack,
        };
    }

    /// Any MessagePack int format; a uint64 above 2^63-1 is an error.
    pub fn readInt(self: *Reader) Error!i64 {
        const b = try self.byte();
        return switch (b) {
            0x00...0x7f => b,
            0xe0...0xff => @as(i8, @bitCast(b)),
            0xcc => try self.big(u8),
            0xcd => try self.big(u16),
            0xce => try self.big(u32),
            0xcf => std.math.cast(i64, try self.big(u64)) orelse error.InvalidMessagePack,
            0xd0 => try self.big(i8),
            0xd1 => try self.big(i16),
            0xd2 => try self.big(i32),
            0xd3 => try self.big(i64),
            else => error.InvalidMessagePack,
        };
    }

    /// A float64 or float32, or an int (converted).
    pub fn readFloat(self: *Reader) Error!f64 {
        return switch (try self.peek()) {
            0xca => {
                self.pos += 1;
                return @as(f32, @bitCast(try self.big(u32)));
            },
            0xcb => {
                self.pos += 1;
                return @bitCast(try self.big(u64));
            },
            else => @floatFromInt(try self.readInt()),
        };
    }

    /// A string (checked to be UTF-8); the slice points into the input.
    pub fn readString(self: *Reader) Error![]const u8 {
        const b = try self.byte();
        const n: usize = switch (b) {
            0xa0...0xbf => b & 0x1f,
            0xd9 => try self.big(u8),
            0xda => try self.big(u16),
            0xdb => try self.big(u32),
            else => return error.InvalidMessagePack,
        };
        const s = try self.take(n);
        if (!std.unicode.utf8ValidateSlice(s)) return error.InvalidMessagePack;
        return s;
    }

    /// A bin value; the slice points into the input.
    pub fn readBytes(self: *Reader) Error![]const u8 {
        const n: usize = switch (try self.byte()) {
            0xc4 => try self.big(u8),
            0xc5 => try self.big(u16),
            0xc6 => try self.big(u32),
            else => return error.InvalidMessagePack,
        };
        return self.take(n);
    }

    /// The element count of an array; the elements follow.
    pub fn readArrayLen(self: *Reader) Error!usize {
        const b = try self.byte();
        const n: usize = switch (b) {
            0x90...0x9f => b & 0x0f,
            0xdc => try self.big(u16),
            0xdd => try self.big(u32),
            else => return error.InvalidMessagePack,
        };
        // Every element takes at least one byte: refuse counts the input cannot hold.
        if (n > self.bytes.len - self.pos) return error.InvalidMessagePack;
        return n;
    }

    /// The entry count of a map; key, value, key, value, ... follow.
    pub fn readMapLen(self: *Reader) Error!usize {
        const b = try self.byte();
        const n: usize = switch (b) {
            0x80...0x8f => b & 0x0f,
            0xde => try self.big(u16),
            0xdf => try self.big(u32),
            else => return error.InvalidMessagePack,
        };
        if (n > (self.bytes.len - self.pos) / 2) return error.InvalidMessagePack;
        return n;
    }

    /// Reads any value into a Value that owns its memory (free it with `deinit`).
    pub fn readValue(self: *Reader, gpa: std.mem.Allocator) Error!Value {
        return self.readValueDepth(gpa, 1);
    }

    fn readValueDepth(self: *Reader, gpa: std.mem.Allocator, depth: usize) Error!Value {
        if (depth > max_depth) return error.InvalidMessagePack;
        const b = try self.peek();
        switch (b) {
            0xc0 => {
                self.pos += 1;
                return .null;
            },
            0xc2, 0xc3 => return .{ .bool = try self.readBool() },
            0xca, 0xcb => return .{ .float = try self.readFloat() },
            0xa0...0xbf, 0xd9...0xdb => return .{ .string = try gpa.dupe(u8, try self.readString()) },
            0xc4...0xc6 => return .{ .bytes = try gpa.dupe(u8, try self.readBytes()) },
            0x90...0x9f, 0xdc, 0xdd => {
                const items = try gpa.alloc(Value, try self.readArrayLen());
                var done: usize = 0;
                errdefer {
                    for (items[0..done]) |item| item.deinit(gpa);
                    gpa.free(items);
                }
                while (done < items.len) : (done += 1) items[done] = try self.readValueDepth(gpa, depth + 1);
                return .{ .array = items };
            },
            0x80...0x8f, 0xde, 0xdf => {
                const entries = try gpa.alloc(Value.Entry, try self.readMapLen());
                var done: usize = 0;
                errdefer {
                    for (entries[0..done]) |e| {
                        e.key.deinit(gpa);
                        e.value.deinit(gpa);
                    }
                    gpa.free(entries);
                }
                while (done < entries.len) : (done += 1) {
                    const key = try self.readValueDepth(gpa, depth + 1);
                    switch (key) {
                        .int, .string, .bool => {},
                        else => {
                            key.deinit(gpa);
                            return error.InvalidMessagePack;
                        },
                    }
                    const value = self.readValueDepth(gpa, depth + 1) catch |err| {
                        key.deinit(gpa);
                        return err;
                    };
                    entries[done] = .{ .key = key, .value = value };
                }
                return .{ .map = entries };
            },
            else => return .{ .int = try self.readInt() },
        }
    }
};

/// Builds MessagePack in a growing buffer; `bytes()` is the encoding so far. Writes the
/// shortest int formats, float64 for floats, str/bin/array/map with the smallest headers.
pub const Writer = struct {
    gpa: std.mem.Allocator,
    buf: []u8 = &.{},
    len: usize = 0,

    pub fn init(gpa: std.mem.Allocator) Writer {
        return .{ .gpa = gpa };
    }

    pub fn deinit(self: *Writer) void {
        self.gpa.free(self.buf);
        self.* = undefined;
    }

    pub fn bytes(self: *const Writer) []const u8 {
        return self.buf[0..self.len];
    }

    /// Makes room for `n` more bytes (to avoid regrowing when the size is known).
    pub fn reserve(self: *Writer, n: usize) error{OutOfMemory}!void {
        const need = std.math.add(usize, self.len, n) catch return error.OutOfMemory;
        if (need <= self.buf.len) return;
        const cap = @max(need, self.buf.len *| 2, 64);
        self.buf = try self.gpa.realloc(self.buf, cap);
    }

    pub fn writeRaw(self: *Writer, data: []const u8) error{OutOfMemory}!void {
        try self.reserve(data.len);
        @memcpy(self.buf[self.len..][0..data.len], data);
        self.len += data.len;
    }

    fn head(self: *Writer, tag: u8, comptime T: type, n: T) error{OutOfMemory}!void {
        var b: [1 + @sizeOf(T)]u8 = undefined;
        b[0] = tag;
        std.mem.writeInt(T, b[1..], n, .big);
        try self.writeRaw(&b);
    }

    /// A header of one of three sizes (8/16/32-bit length); `tag8` 0 means none (arrays, maps).
    fn lenHead(self: *Writer, n: usize, fix: ?struct { u8, usize }, tag8: u8, tag16: u8, tag32: u8) error{OutOfMemory}!void {
        if (fix) |f| if (n <= f[1]) return self.writeRaw(&.{f[0] | @as(u8, @intCast(n))});
        if (tag8 != 0 and n <= 0xff) return self.head(tag8, u8, @intCast(n));
        if (n <= 0xffff) return self.head(tag16, u16, @intCast(n));
        return self.head(tag32, u32, std.math.cast(u32, n) orelse return error.OutOfMemory);
    }

    pub fn writeNil(self: *Writer) error{OutOfMemory}!void {
        return self.writeRaw(&.{0xc0});
    }

    pub fn writeBool(self: *Writer, b: bool) error{OutOfMemory}!void {
        return self.writeRaw(&.{if (b) 0xc3 else 0xc2});
    }

    pub fn writeInt(self: *Writer, n: i64) error{OutOfMemory}!void {
        if (n >= 0) {
            if (n <= 0x7f) return self.writeRaw(&.{@intCast(n)});
            if (n <= 0xff) return self.head(0xcc, u8, @intCast(n));
            if (n <= 0xffff) return self.head(0xcd, u16, @intCast(n));
            if (n <= 0xffff_ffff) return self.head(0xce, u32, @intCast(n));
            return self.head(0xd3, i64, n);
        }
        if (n >= -32) return self.writeRaw(&.{@bitCast(@as(i8, @intCast(n)))});
        if (n >= -0x80) return self.head(0xd0, i8, @intCast(n));
        if (n >= -0x8000) return self.head(0xd1, i16, @intCast(n));
        if (n >= -0x8000_0000) return self.head(0xd2, i32, @intCast(n));
        return self.head(0xd3, i64, n);
    }

    pub fn writeFloat(self: *Writer, x: f64) error{OutOfMemory}!void {
        return self.head(0xcb, u64, @bitCast(x));
    }

    /// `s` must be UTF-8 (the host refuses a result that is not).
    pub fn writeString(self: *Writer, s: []const u8) error{OutOfMemory}!void {
        try self.lenHead(s.len, .{ 0xa0, 31 }, 0xd9, 0xda, 0xdb);
        return self.writeRaw(s);
    }

    pub fn writeBytes(self: *Writer, b: []const u8) error{OutOfMemory}!void {
        try self.lenHead(b.len, null, 0xc4, 0xc5, 0xc6);
        return self.writeRaw(b);
    }

    /// An array header: write `n` values after it.
    pub fn writeArrayLen(self: *Writer, n: usize) error{OutOfMemory}!void {
        return self.lenHead(n, .{ 0x90, 15 }, 0, 0xdc, 0xdd);
    }

    /// A map header: write `n` key/value pairs after it (keys int, string or bool, each once).
    pub fn writeMapLen(self: *Writer, n: usize) error{OutOfMemory}!void {
        return self.lenHead(n, .{ 0x80, 15 }, 0, 0xde, 0xdf);
    }

    pub fn writeValue(self: *Writer, v: Value) error{OutOfMemory}!void {
        switch (v) {
            .null => try self.writeNil(),
            .bool => |b| try self.writeBool(b),
            .int => |n| try self.writeInt(n),
            .float => |x| try self.writeFloat(x),
            .string => |s| try self.writeString(s),
            .bytes => |b| try self.writeBytes(b),
            .array => |items| {
                try self.writeArrayLen(items.len);
                for (items) |item| try self.writeValue(item);
            },
            .map => |entries| {
                try self.writeMapLen(entries.len);
                for (entries) |e| {
                    try self.writeValue(e.key);
                    try self.writeValue(e.value);
                }
            },
        }
    }
};

// ----------------------------------------------------------------------------- tests

fn hex(comptime s: []const u8) []const u8 {
    comptime {
        @setEvalBranchQuota(10 * s.len + 1000);
        var out: [s.len / 2]u8 = undefined;
        _ = std.fmt.hexToBytes(&out, s) catch unreachable;
        const final = out;
        return &final;
    }
}

fn roundTrip(bytes: []const u8) !void {
    const gpa = std.testing.allocator;
    const v = try decode(gpa, bytes);
    defer v.deinit(gpa);
    var w: Writer = .init(gpa);
    defer w.deinit();
    try w.writeValue(v);
    try std.testing.expectEqualSlices(u8, bytes, w.bytes());
}

test "MessagePack: shortest forms round-trip byte for byte" {
    // nil, bools, every int format at its limits, float64, strings, bytes, arrays, maps.
    const ints = "00 7f cc80 ccff cd0100 cdffff ce00010000 ceffffffff d30000000100000000 " ++
        "d37fffffffffffffff ff e0 d0df d080 d1ff7f d18000 d2ffff7fff d280000000 " ++
        "d3ffffffff7fffffff d38000000000000000";
    const others = "c0 c2 c3 cb3ff8000000000000 a0 a568c3a96c6c 90 80 c400 c403010203 " ++
        // [1, "a", [true, null], {"k": 2.5}]
        "9401a16192c3c081a16bcb4004000000000000";
    // The header size limits: fixstr/str8, fixarray/array16, fixmap/map16, bin8/bin16.
    const limits = comptime .{
        "bf" ++ rep("61", 31),    "d920" ++ rep("61", 32),
        "9f" ++ rep("01", 15),    "dc0010" ++ rep("01", 16),
        "8f" ++ rep("01c0", 15),  "de0010" ++ rep("01c0", 16),
        "c4ff" ++ rep("00", 255), "c50100" ++ rep("00", 256),
    };
    var it = std.mem.tokenizeScalar(u8, ints ++ " " ++ others, ' ');
    while (it.next()) |c| {
        var buf: [32]u8 = undefined;
        try roundTrip(try std.fmt.hexToBytes(&buf, c));
    }
    inline for (limits) |c| try roundTrip(comptime hex(c));
}

fn rep(comptime s: []const u8, comptime n: usize) []const u8 {
    comptime {
        @setEvalBranchQuota(10 * n + 1000);
        var out: []const u8 = "";
        for (0..n) |_| out = out ++ s;
        return out;
    }
}

test "MessagePack: accepted non-shortest inputs and errors" {
    const gpa = std.testing.allocator;
    var r: Reader = .init(comptime hex("cf00000000000000ffd30000000000000001ca3fc00000cd0001"));
    try std.testing.expectEqual(@as(i64, 255), try r.readInt());
    try std.testing.expectEqual(@as(i64, 1), try r.readInt());
    try std.testing.expectEqual(@as(f64, 1.5), try r.readFloat());
    try std.testing.expectEqual(@as(f64, 1.0), try r.readFloat());
    try r.finish();
    // empty, c1, uint64 > 2^63-1, ext, invalid UTF-8, short array, huge count, non-key type
    // (nil, array), trailing bytes, truncated headers
    const bad = "- c1 cfffffffffffffffff c7000000 a2ff 92c0 dd7fffffff 81c0c0 8191c0c0 c0c0 d9 c405";
    var it = std.mem.tokenizeScalar(u8, bad, ' ');
    while (it.next()) |c| {
        var buf: [32]u8 = undefined;
        const b = if (c[0] == '-') "" else try std.fmt.hexToBytes(&buf, c);
        try std.testing.expectError(error.InvalidMessagePack, decode(gpa, b));
    }
    // 65 nested arrays are refused, 64 accepted
    const v = try decode(gpa, comptime hex(rep("91", 63) ++ "90"));
    v.deinit(gpa);
    try std.testing.expectError(error.InvalidMessagePack, decode(gpa, comptime hex(rep("91", 64) ++ "90")));
}

test "MessagePack: no leak when decoding fails halfway" {
    const gpa = std.testing.allocator;
    try std.testing.expectError(error.InvalidMessagePack, decode(gpa, comptime hex("93a161a162c1")));
    try std.testing.expectError(error.InvalidMessagePack, decode(gpa, comptime hex("82a16101a162")));
    try std.testing.expectError(error.InvalidMessagePack, decode(gpa, comptime hex("a0c0")));
}

test "manifest text and signature check" {
    const S = struct {
        fn up(len: u32) callconv(.c) void {
            _ = len;
        }
        fn twice(n: i64) callconv(.c) i64 {
            return n * 2;
        }
        fn pick(flag: i32, a: f64) callconv(.c) i32 {
            _ = a;
            return flag;
        }
    };
    const text = comptime manifestText(.{ .name = "t", .functions = .{
        .{ S.up, "up(s: string) -> string -- doc" },
        .{ S.twice, "twice(n: int) -> int" },
        .{ S.pick, "pick(flag: bool, a: float) -> bool" },
    } });
    try std.testing.expectEqualStrings(
        "abi 1\nname t\nfn up(s: string) -> string -- doc\nfn twice(n: int) -> int\nfn pick(flag: bool, a: float) -> bool\n",
        text,
    );
    try std.testing.expectEqualStrings(
        ".section .custom_section.xxplugin,\"\",@\n.ascii \"a\\042\\134\\012\"\n.text\n",
        comptime customSectionAsm("xxplugin", "a\"\\\n"),
    );
}
