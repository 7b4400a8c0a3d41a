// xxplugin.ts: the AssemblyScript guest helper for the xxlang plugin ABI v1 (docs/ABI.md).
//
// Copy this one file next to your plugin and `import * as xx from "./xxplugin"`. It declares
// the three host imports (module `xxplugin`), reads typed arguments, sends results and
// errors, and has a small MessagePack reader/writer for `array`, `map` and `any` values.
//
// A declared function gets memory-type parameters as byte lengths (i32) and sends its
// memory-type result itself:
//
//   // fn shout(s: string) -> string -- s upper-cased, with "!"
//   export function shout(s: i32): void {
//     xx.resultString(xx.argString(0, s).toUpperCase() + "!");
//   }
//
// Wire types (ABI section 1): int = i64, float = f64, bool = i32 (AssemblyScript `bool`),
// string/bytes/array/map/any = i32 byte length in, nothing out (sent with a result* call).
//
// Memory: arguments decoded into AssemblyScript values (strings, Uint8Array, Value) are
// managed by the GC; argRaw and every result* function use two unmanaged buffers that this
// file owns and reuses (grown, never freed), so a call allocates nothing it does not free.
// Compile with `--runtime incremental` (the default): the `stub` runtime never frees.
//
// Failures: call `error(message)` and return normally (with any value). Do not throw or
// trap: a trap in the middle of the AssemblyScript runtime can leave it in a bad state.

// ---------------------------------------------------------------------------- host imports

// @ts-ignore: decorator
@external("xxplugin", "arg")
declare function hostArg(index: i32, dst: usize): void;
// @ts-ignore: decorator
@external("xxplugin", "result")
declare function hostResult(ptr: usize, len: usize): void;
// @ts-ignore: decorator
@external("xxplugin", "error")
declare function hostError(ptr: usize, len: usize): void;

// ------------------------------------------------------------------------ scratch buffers

/** An unmanaged byte buffer that only grows (the GC never sees or frees it). */
class Scratch {
  ptr: usize = 0;
  cap: usize = 0;

  /** Room for `n` bytes; returns the buffer's address (moves when it grows). */
  reserve(n: usize): usize {
    if (n > this.cap || this.ptr == 0) {
      let cap = max<usize>(max<usize>(n, this.cap << 1), 64);
      this.ptr = this.ptr == 0 ? heap.alloc(cap) : heap.realloc(this.ptr, cap);
      this.cap = cap;
    }
    return this.ptr;
  }
}

const input = new Scratch();
const output = new Scratch();

/** Writes `s` as UTF-8 at `dst` (room for `String.UTF8.byteLength(s)` bytes); returns the
 * byte count. Unpaired surrogates become U+FFFD, so the host always gets valid UTF-8. */
function encodeUtf8(s: string, dst: usize): usize {
  return String.UTF8.encodeUnsafe(
    changetype<usize>(s), s.length, dst, false, String.UTF8.ErrorMode.REPLACE,
  );
}

// ------------------------------------------------------------------------------ arguments

/** The UTF-8 bytes of memory-type parameter `index` (`len` bytes: the parameter's value),
 * copied into the helper's input buffer. The address is valid until the next `arg*` call;
 * the bytes may be changed in place (e.g. and then sent with `resultRaw`). */
export function argRaw(index: i32, len: i32): usize {
  let p = input.reserve(<usize>len);
  if (len > 0) hostArg(index, p);
  return p;
}

/** A `string` parameter as an AssemblyScript string (UTF-8 on the wire, UTF-16 here). */
export function argString(index: i32, len: i32): string {
  if (len <= 0) return "";
  return String.UTF8.decodeUnsafe(argRaw(index, len), <usize>len);
}

/** A `bytes` parameter as a new Uint8Array. */
export function argBytes(index: i32, len: i32): Uint8Array {
  let out = new Uint8Array(len);
  if (len > 0) hostArg(index, out.dataStart);
  return out;
}

/** An `array`, `map` or `any` parameter decoded into a Value. If the MessagePack cannot be
 * decoded (the host never sends such), reports an error and returns a nil Value. */
export function argValue(index: i32, len: i32): Value {
  let r = new MsgReader(argRaw(index, len), <usize>len);
  let v = r.readValue();
  if (!r.done()) {
    reportBadArg(index, r);
    return Value.nil();
  }
  return v;
}

/** An `array`, `map` or `any` parameter as a MessagePack reader, to decode it piece by piece
 * (e.g. the floats of an `array<float>` without building Values). The reader owns a copy of
 * the bytes. Check `reader.done()` at the end (or call `reader.finish(index)`). */
export function argReader(index: i32, len: i32): MsgReader {
  let copy = new ArrayBuffer(len);
  if (len > 0) hostArg(index, changetype<usize>(copy));
  let r = new MsgReader(changetype<usize>(copy), <usize>len);
  r.owner = copy;
  return r;
}

function reportBadArg(index: i32, r: MsgReader): void {
  error("argument " + (index + 1).toString() + ": invalid MessagePack: " + r.problem());
}

// -------------------------------------------------------------------------------- results

/** Sends `len` bytes at `ptr` as the call's result (UTF-8 for a string, MessagePack for an
 * array, map or any). The host copies them at once. Exactly one result per call. */
export function resultRaw(ptr: usize, len: usize): void {
  hostResult(ptr, len);
}

/** Sends a `string` result (encoded to UTF-8; unpaired surrogates become U+FFFD). */
export function resultString(s: string): void {
  let n = <usize>String.UTF8.byteLength(s);
  let p = output.reserve(n);
  hostResult(p, encodeUtf8(s, p));
}

/** Sends a `bytes` result. */
export function resultBytes(b: Uint8Array): void {
  hostResult(b.dataStart, <usize>b.byteLength);
}

/** Sends a Value as an `array`, `map` or `any` result (it must match the declared type). */
export function resultValue(v: Value): void {
  let w = resultWriter();
  w.writeValue(v);
  w.send();
}

/** The shared MessagePack writer, emptied: write one value, then call `send()`. */
export function resultWriter(): MsgWriter {
  writer.len = 0;
  return writer;
}

/** Reports that the running call failed: the script gets `PLUGIN.FUNCTION: message`. Return
 * normally afterwards (with any value); an error wins over a result. */
export function error(message: string): void {
  let n = <usize>String.UTF8.byteLength(message);
  let p = output.reserve(n);
  hostError(p, encodeUtf8(message, p));
}

/** Sends the manifest text (docs/ABI.md section 2). Call it from your exported
 * `xxplugin_manifest(): void`, which the host calls once at load. */
export function manifest(text: string): void {
  resultString(text);
}

// --------------------------------------------------------------------------------- values

/** What a Value holds. */
export const enum Kind {
  Nil = 0,
  Bool = 1,
  Int = 2,
  Float = 3,
  Str = 4,
  Bytes = 5,
  Array = 6,
  Map = 7,
}

/** One xxlang value, as decoded from (or encoded to) MessagePack. A map keeps its entries in
 * order as two parallel arrays, `keys` and `items` (keys are int, string or bool). */
export class Value {
  kind: Kind = Kind.Nil;
  /** Bool (0 or 1) or Int. */
  i: i64 = 0;
  f: f64 = 0;
  s: string | null = null;
  b: Uint8Array | null = null;
  /** Array elements, or map values. */
  items: Array<Value> | null = null;
  /** Map keys. */
  keys: Array<Value> | null = null;

  static nil(): Value { return new Value(); }
  static fromBool(b: bool): Value { let v = new Value(); v.kind = Kind.Bool; v.i = b ? 1 : 0; return v; }
  static fromInt(i: i64): Value { let v = new Value(); v.kind = Kind.Int; v.i = i; return v; }
  static fromFloat(f: f64): Value { let v = new Value(); v.kind = Kind.Float; v.f = f; return v; }
  static fromString(s: string): Value { let v = new Value(); v.kind = Kind.Str; v.s = s; return v; }
  static fromBytes(b: Uint8Array): Value { let v = new Value(); v.kind = Kind.Bytes; v.b = b; return v; }
  static fromArray(items: Array<Value>): Value {
    let v = new Value(); v.kind = Kind.Array; v.items = items; return v;
  }
  /** A map from parallel arrays of keys and values (same length, keys unique). */
  static fromMap(keys: Array<Value>, values: Array<Value>): Value {
    let v = new Value(); v.kind = Kind.Map; v.keys = keys; v.items = values; return v;
  }

  get isNil(): bool { return this.kind == Kind.Nil; }
  /** The bool; false for other kinds. */
  asBool(): bool { return this.kind == Kind.Bool && this.i != 0; }
  /** The int (a float is truncated); 0 for other kinds. */
  asInt(): i64 { return this.kind == Kind.Int ? this.i : this.kind == Kind.Float ? <i64>this.f : 0; }
  /** The float (an int is converted); 0 for other kinds. */
  asFloat(): f64 { return this.kind == Kind.Float ? this.f : this.kind == Kind.Int ? <f64>this.i : 0; }
  /** The string; "" for other kinds. */
  asString(): string { let s = this.s; return s != null ? s : ""; }
  /** The bytes; empty for other kinds. */
  asBytes(): Uint8Array { let b = this.b; return b != null ? b : new Uint8Array(0); }
  /** Array elements or map values; empty for other kinds. */
  asArray(): Array<Value> { let a = this.items; return a != null ? a : new Array<Value>(0); }
  /** Map keys; empty for other kinds. */
  mapKeys(): Array<Value> { let a = this.keys; return a != null ? a : new Array<Value>(0); }
  /** The number of elements of an array or entries of a map; 0 for other kinds. */
  get length(): i32 { let a = this.items; return a != null ? a.length : 0; }
}

// --------------------------------------------------------------------- MessagePack reader

/** Nesting limit of MsgReader.readValue (the host's is the same). */
const MAX_DEPTH = 64;

/** Reads MessagePack (the subset of docs/ABI.md section 5) from `len` bytes at `ptr`. It never
 * traps: on bad input it remembers the first problem, returns zero values from then on, and
 * `done()` is false. */
export class MsgReader {
  pos: usize;
  end: usize;
  /** Keeps the bytes alive when they belong to a managed buffer (argReader). */
  owner: ArrayBuffer | null = null;
  private why: string | null = null;

  constructor(ptr: usize, len: usize) {
    this.pos = ptr;
    this.end = ptr + len;
  }

  /** True if nothing went wrong and every byte was read. */
  done(): bool { return this.why == null && this.pos == this.end; }
  /** True if something went wrong. */
  get failed(): bool { return this.why != null; }
  /** What went wrong ("" if nothing did; "trailing bytes" if done() is false only for that). */
  problem(): string {
    let w = this.why;
    return w != null ? w : this.pos != this.end ? "trailing bytes" : "";
  }
  /** Reports an error for parameter `index` unless `done()`; returns `done()`. */
  finish(index: i32): bool {
    if (this.done()) return true;
    reportBadArg(index, this);
    return false;
  }

  private fail(why: string): void {
    if (this.why == null) this.why = why;
    this.pos = this.end;
  }
  /** Consumes `n` bytes and returns their address, or 0 (and fails) if there are fewer. */
  private take(n: usize): usize {
    let p = this.pos;
    if (this.why != null || n > this.end - p) {
      this.fail("truncated value");
      return 0;
    }
    this.pos = p + n;
    return p;
  }
  private u8(): u32 { let p = this.take(1); return p ? <u32>load<u8>(p) : 0; }
  private u16(): u32 { let p = this.take(2); return p ? <u32>bswap<u16>(load<u16>(p)) : 0; }
  private u32(): u32 { let p = this.take(4); return p ? bswap<u32>(load<u32>(p)) : 0; }
  private u64(): u64 { let p = this.take(8); return p ? bswap<u64>(load<u64>(p)) : 0; }

  /** The kind of the next value, without consuming it (Nil also at the end or on error). */
  peek(): Kind {
    if (this.why != null || this.pos >= this.end) return Kind.Nil;
    let t = <u32>load<u8>(this.pos);
    if (t <= 0x7f || t >= 0xe0) return Kind.Int;
    if (t <= 0x8f) return Kind.Map;
    if (t <= 0x9f) return Kind.Array;
    if (t <= 0xbf) return Kind.Str;
    switch (t) {
      case 0xc2: case 0xc3: return Kind.Bool;
      case 0xc4: case 0xc5: case 0xc6: return Kind.Bytes;
      case 0xca: case 0xcb: return Kind.Float;
      case 0xcc: case 0xcd: case 0xce: case 0xcf:
      case 0xd0: case 0xd1: case 0xd2: case 0xd3: return Kind.Int;
      case 0xd9: case 0xda: case 0xdb: return Kind.Str;
      case 0xdc: case 0xdd: return Kind.Array;
      case 0xde: case 0xdf: return Kind.Map;
    }
    return Kind.Nil;
  }

  /** Reads a nil. */
  readNil(): void {
    if (this.u8() != 0xc0) this.fail("expected nil");
  }

  /** Reads a bool. */
  readBool(): bool {
    let t = this.u8();
    if (t == 0xc3) return true;
    if (t != 0xc2) this.fail("expected bool");
    return false;
  }

  /** Reads an int in any MessagePack int format (uint64 above 2^63-1 is an error). */
  readInt(): i64 {
    let t = this.u8();
    if (t <= 0x7f) return <i64>t;
    if (t >= 0xe0) return <i64><i8>t;
    return this.intBody(t);
  }

  private intBody(t: u32): i64 {
    switch (t) {
      case 0xcc: return <i64>this.u8();
      case 0xcd: return <i64>this.u16();
      case 0xce: return <i64>this.u32();
      case 0xcf: {
        let u = this.u64();
        if (u > <u64>i64.MAX_VALUE) { this.fail("uint64 out of range"); return 0; }
        return <i64>u;
      }
      case 0xd0: return <i64><i8>this.u8();
      case 0xd1: return <i64><i16>this.u16();
      case 0xd2: return <i64><i32>this.u32();
      case 0xd3: return <i64>this.u64();
    }
    this.fail("expected int");
    return 0;
  }

  /** Reads a float (float64 or float32); an int is converted. */
  readFloat(): f64 {
    let t = this.pos < this.end && this.why == null ? <u32>load<u8>(this.pos) : 0;
    if (t == 0xcb) { this.pos++; return reinterpret<f64>(this.u64()); }
    if (t == 0xca) { this.pos++; return <f64>reinterpret<f32>(this.u32()); }
    if (this.peek() == Kind.Int) return <f64>this.readInt();
    this.fail("expected float");
    return 0;
  }

  /** The byte length of a str header, or -1 (consumed) if the next value is not a str. */
  private strHeader(): i64 {
    let t = this.u8();
    if ((t & 0xe0) == 0xa0) return <i64>(t & 0x1f);
    if (t == 0xd9) return <i64>this.u8();
    if (t == 0xda) return <i64>this.u16();
    if (t == 0xdb) return <i64>this.u32();
    this.fail("expected string");
    return -1;
  }

  /** Reads a string (its UTF-8 bytes are not checked: the host sends only valid UTF-8). */
  readString(): string {
    let n = this.strHeader();
    if (n <= 0) return "";
    let p = this.take(<usize>n);
    return p ? String.UTF8.decodeUnsafe(p, <usize>n) : "";
  }

  /** Reads a bin (bytes) into a new Uint8Array. */
  readBytes(): Uint8Array {
    let t = this.u8();
    let n: u32 = 0;
    if (t == 0xc4) n = this.u8();
    else if (t == 0xc5) n = this.u16();
    else if (t == 0xc6) n = this.u32();
    else this.fail("expected bytes");
    let p = this.take(<usize>n);
    if (!p) return new Uint8Array(0);
    let out = new Uint8Array(<i32>n);
    memory.copy(out.dataStart, p, <usize>n);
    return out;
  }

  /** Reads an array header; returns the element count (the elements follow). */
  readArrayHeader(): i32 {
    let t = this.u8();
    let n: u32 = 0;
    if ((t & 0xf0) == 0x90) n = t & 0x0f;
    else if (t == 0xdc) n = this.u16();
    else if (t == 0xdd) n = this.u32();
    else this.fail("expected array");
    return this.count(n, 1);
  }

  /** Reads a map header; returns the entry count (key, value, key, value, ... follow). */
  readMapHeader(): i32 {
    let t = this.u8();
    let n: u32 = 0;
    if ((t & 0xf0) == 0x80) n = t & 0x0f;
    else if (t == 0xde) n = this.u16();
    else if (t == 0xdf) n = this.u32();
    else this.fail("expected map");
    return this.count(n, 2);
  }

  /** `n` if `n` items of at least `bytesEach` bytes can follow, else 0 (and fails). */
  private count(n: u32, bytesEach: u64): i32 {
    if (<u64>n * bytesEach > <u64>(this.end - this.pos)) {
      this.fail("truncated value");
      return 0;
    }
    return <i32>n;
  }

  /** Reads any value into a Value (nested up to 64 levels). */
  readValue(): Value {
    return this.value(0);
  }

  private value(depth: i32): Value {
    if (depth >= MAX_DEPTH) {
      this.fail("nested too deeply");
      return Value.nil();
    }
    switch (this.peek()) {
      case Kind.Bool: return Value.fromBool(this.readBool());
      case Kind.Int: return Value.fromInt(this.readInt());
      case Kind.Float: return Value.fromFloat(this.readFloat());
      case Kind.Str: return Value.fromString(this.readString());
      case Kind.Bytes: return Value.fromBytes(this.readBytes());
      case Kind.Array: {
        let n = this.readArrayHeader();
        let items = new Array<Value>(n);
        for (let i = 0; i < n; i++) unchecked(items[i] = this.value(depth + 1));
        return Value.fromArray(items);
      }
      case Kind.Map: {
        let n = this.readMapHeader();
        let keys = new Array<Value>(n);
        let values = new Array<Value>(n);
        for (let i = 0; i < n; i++) {
          let k = this.value(depth + 1);
          if (k.kind != Kind.Int && k.kind != Kind.Str && k.kind != Kind.Bool) {
            this.fail("map key must be int, string or bool");
          }
          unchecked(keys[i] = k);
          unchecked(values[i] = this.value(depth + 1));
        }
        return Value.fromMap(keys, values);
      }
    }
    // Kind.Nil: nil, the end, an earlier error, or an unsupported type byte.
    if (this.pos < this.end && load<u8>(this.pos) != 0xc0) this.fail("unsupported MessagePack type");
    else this.readNil();
    return Value.nil();
  }
}

// --------------------------------------------------------------------- MessagePack writer

/** Writes MessagePack into a growing unmanaged buffer. Use the shared one, `resultWriter()`,
 * and `send()` it; each write uses the shortest encoding. */
export class MsgWriter {
  buf: Scratch = new Scratch();
  len: usize = 0;

  /** Room for `n` more bytes; returns where they go. */
  private room(n: usize): usize {
    let p = this.buf.reserve(this.len + n);
    let at = p + this.len;
    this.len += n;
    return at;
  }
  private byte(b: u32): void { store<u8>(this.room(1), b); }
  private tag16(t: u32, v: u32): void { let p = this.room(3); store<u8>(p, t); store<u16>(p + 1, bswap<u16>(<u16>v)); }
  private tag32(t: u32, v: u32): void { let p = this.room(5); store<u8>(p, t); store<u32>(p + 1, bswap<u32>(v)); }
  private tag64(t: u32, v: u64): void { let p = this.room(9); store<u8>(p, t); store<u64>(p + 1, bswap<u64>(v)); }

  writeNil(): void { this.byte(0xc0); }
  writeBool(b: bool): void { this.byte(b ? 0xc3 : 0xc2); }

  writeInt(i: i64): void {
    if (i >= 0) {
      if (i <= 0x7f) this.byte(<u32>i);
      else if (i <= 0xff) { let p = this.room(2); store<u8>(p, 0xcc); store<u8>(p + 1, <u8>i); }
      else if (i <= 0xffff) this.tag16(0xcd, <u32>i);
      else if (i <= 0xffffffff) this.tag32(0xce, <u32>i);
      else this.tag64(0xd3, <u64>i);
    } else {
      if (i >= -32) this.byte(<u32>i & 0xff);
      else if (i >= -128) { let p = this.room(2); store<u8>(p, 0xd0); store<u8>(p + 1, <u8>i); }
      else if (i >= -32768) this.tag16(0xd1, <u32>i & 0xffff);
      else if (i >= -2147483648) this.tag32(0xd2, <u32>i);
      else this.tag64(0xd3, <u64>i);
    }
  }

  writeFloat(f: f64): void { this.tag64(0xcb, reinterpret<u64>(f)); }

  private header(n: usize, fix: u32, fixMax: usize, t8: u32, t16: u32, t32: u32): void {
    if (n <= fixMax) this.byte(fix | <u32>n);
    else if (t8 != 0 && n <= 0xff) { let p = this.room(2); store<u8>(p, t8); store<u8>(p + 1, <u8>n); }
    else if (n <= 0xffff) this.tag16(t16, <u32>n);
    else this.tag32(t32, <u32>n);
  }

  /** Writes a string (encoded to UTF-8; unpaired surrogates become U+FFFD). */
  writeString(s: string): void {
    let n = <usize>String.UTF8.byteLength(s);
    this.header(n, 0xa0, 31, 0xd9, 0xda, 0xdb);
    let p = this.room(n);
    encodeUtf8(s, p);
  }

  /** Writes a string from `len` bytes of valid UTF-8 at `ptr`. */
  writeStringUtf8(ptr: usize, len: usize): void {
    this.header(len, 0xa0, 31, 0xd9, 0xda, 0xdb);
    memory.copy(this.room(len), ptr, len);
  }

  /** Writes bytes (bin). */
  writeBytes(b: Uint8Array): void {
    this.writeBytesRaw(b.dataStart, <usize>b.byteLength);
  }

  /** Writes `len` bytes at `ptr` as bin. */
  writeBytesRaw(ptr: usize, len: usize): void {
    if (len <= 0xff) { let p = this.room(2); store<u8>(p, 0xc4); store<u8>(p + 1, <u8>len); }
    else if (len <= 0xffff) this.tag16(0xc5, <u32>len);
    else this.tag32(0xc6, <u32>len);
    memory.copy(this.room(len), ptr, len);
  }

  /** Starts an array of `n` elements: write them next. */
  writeArrayHeader(n: i32): void { this.header(<usize>n, 0x90, 15, 0, 0xdc, 0xdd); }

  /** Starts a map of `n` entries: write key, value, key, value, ... next. */
  writeMapHeader(n: i32): void { this.header(<usize>n, 0x80, 15, 0, 0xde, 0xdf); }

  /** Writes a Value, recursively. */
  writeValue(v: Value): void {
    switch (v.kind) {
      case Kind.Nil: this.writeNil(); break;
      case Kind.Bool: this.writeBool(v.i != 0); break;
      case Kind.Int: this.writeInt(v.i); break;
      case Kind.Float: this.writeFloat(v.f); break;
      case Kind.Str: this.writeString(v.asString()); break;
      case Kind.Bytes: this.writeBytes(v.asBytes()); break;
      case Kind.Array: {
        let items = v.asArray();
        let n = items.length;
        this.writeArrayHeader(n);
        for (let i = 0; i < n; i++) this.writeValue(unchecked(items[i]));
        break;
      }
      case Kind.Map: {
        let keys = v.mapKeys();
        let items = v.asArray();
        let n = min(keys.length, items.length);
        this.writeMapHeader(n);
        for (let i = 0; i < n; i++) {
          this.writeValue(unchecked(keys[i]));
          this.writeValue(unchecked(items[i]));
        }
        break;
      }
    }
  }

  /** Sends what was written as the call's result. */
  send(): void {
    hostResult(this.buf.ptr, this.len);
  }
}

const writer = new MsgWriter();
