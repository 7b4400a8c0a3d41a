// `textkit` — the typed-ABI demo plugin (docs/ABI.md, plugins-src/README.md) in
// AssemblyScript, using the guest helper xxplugin.ts. Built by build.sh into textkit_as.wasm.
//
// Memory-type parameters arrive as byte lengths (i32); memory-type results are sent with
// xx.result*. Failures are reported with xx.error and a normal return, never a trap.
import * as xx from "./xxplugin";

const MANIFEST = `abi 1
name textkit
version 1.0.0-as
fn upper(s: string) -> string -- ASCII letters upper-cased; fails on empty input.
fn reverse(s: string) -> string -- The characters of s in reverse order.
fn concat(a: string, b: string) -> string -- a followed by b.
fn length(s: string) -> int -- The number of characters (Unicode scalar values) in s.
fn echo_str(s: string) -> string -- s unchanged.
fn xor(data: bytes, key: int) -> bytes -- Each byte XOR the low 8 bits of key.
fn scale(x: float, factor: float) -> float -- x times factor.
fn is_palindrome(s: string) -> bool -- Whether the characters of s read the same reversed.
fn choose(flag: bool, a: int, b: int) -> int -- a if flag, else b.
fn split(s: string) -> array<string> -- The words of s (runs of non-whitespace), in order.
fn sum(xs: array<float>) -> float -- The sum of xs, added left to right.
fn iota(n: int) -> array<int> -- [0, 1, ..., n-1]; fails if n < 0 or n > 1000000.
fn word_counts(s: string) -> map -- Each word of s mapped to how often it occurs.
fn echo(v: any) -> any -- v unchanged, after a round trip through AssemblyScript values.
fn noop(x: int) -- Does nothing.
`;

/** Called once by the host at load: sends the manifest. */
export function xxplugin_manifest(): void {
  xx.manifest(MANIFEST);
}

/** ASCII whitespace: space, \t, \n, \v, \f, \r (not Unicode spaces: words are byte runs). */
// @ts-ignore: decorator
@inline function isSpace(c: u32): bool {
  return c == 0x20 || (c >= 0x09 && c <= 0x0d);
}

/** `s` with ASCII a-z upper-cased, in place on the UTF-8 bytes (other bytes are unchanged). */
export function upper(s: i32): void {
  if (s == 0) {
    xx.error("empty input");
    return;
  }
  const p = xx.argRaw(0, s);
  for (let i = 0; i < s; i++) {
    const c = load<u8>(p + i);
    if (c >= 0x61 && c <= 0x7a) store<u8>(p + i, c - 0x20);
  }
  xx.resultRaw(p, s);
}

/** The characters of `s` in reverse order. AssemblyScript strings are UTF-16: a character
 * outside the BMP is a surrogate pair, which must stay in order (naive code-unit reversal
 * would turn "a😀b" into invalid text). */
export function reverse(s: i32): void {
  const str = xx.argString(0, s);
  const n = str.length;
  const out = changetype<string>(__new(<usize>n << 1, idof<string>()));
  let i = 0;
  while (i < n) {
    const c = str.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < n && (str.charCodeAt(i + 1) & 0xfc00) == 0xdc00) {
      // lead + trail surrogate: copy both, in order, to the mirrored position
      store<u16>(changetype<usize>(out) + (<usize>(n - i - 2) << 1), c);
      store<u16>(changetype<usize>(out) + (<usize>(n - i - 1) << 1), str.charCodeAt(i + 1));
      i += 2;
    } else {
      store<u16>(changetype<usize>(out) + (<usize>(n - i - 1) << 1), c);
      i += 1;
    }
  }
  xx.resultString(out);
}

/** `a` followed by `b`. */
export function concat(a: i32, b: i32): void {
  xx.resultString(xx.argString(0, a) + xx.argString(1, b));
}

/** The number of characters of `s`: its UTF-8 bytes that do not continue a character. */
export function length(s: i32): i64 {
  const p = xx.argRaw(0, s);
  let count: i64 = 0;
  for (let i = 0; i < s; i++) {
    if ((load<u8>(p + i) & 0xc0) != 0x80) count++;
  }
  return count;
}

/** `s` unchanged (decoded to UTF-16 and encoded back). */
export function echo_str(s: i32): void {
  xx.resultString(xx.argString(0, s));
}

/** Each byte of `data` XOR the low 8 bits of `key`. */
export function xor(data: i32, key: i64): void {
  const p = xx.argRaw(0, data);
  const k = <u8>key;
  for (let i = 0; i < data; i++) store<u8>(p + i, load<u8>(p + i) ^ k);
  xx.resultRaw(p, data);
}

/** `x * factor`. */
export function scale(x: f64, factor: f64): f64 {
  return x * factor;
}

/** The code point ending at UTF-16 index `j` of `s` (a trail surrogate includes its lead). */
function codePointBefore(s: string, j: i32): i32 {
  const c = s.charCodeAt(j);
  if (c >= 0xdc00 && c <= 0xdfff && j > 0) {
    const lead = s.charCodeAt(j - 1);
    if (lead >= 0xd800 && lead <= 0xdbff) return ((lead - 0xd800) << 10) + (c - 0xdc00) + 0x10000;
  }
  return c;
}

/** Whether the characters (not UTF-16 code units) of `s` read the same reversed. */
export function is_palindrome(s: i32): bool {
  const str = xx.argString(0, s);
  let i = 0;
  let j = str.length - 1;
  while (i < j) {
    const a = str.codePointAt(i);
    const b = codePointBefore(str, j);
    if (a != b) return false;
    i += a >= 0x10000 ? 2 : 1;
    j -= b >= 0x10000 ? 2 : 1;
  }
  return true;
}

/** `a` if `flag`, else `b`. */
export function choose(flag: bool, a: i64, b: i64): i64 {
  return flag ? a : b;
}

/** The words of `s`, in order, straight from its UTF-8 bytes (nothing decoded). */
export function split(s: i32): void {
  const p = xx.argRaw(0, s);
  let words = 0;
  let inWord = false;
  for (let i = 0; i < s; i++) {
    const space = isSpace(load<u8>(p + i));
    if (!space && !inWord) words++;
    inWord = !space;
  }
  const w = xx.resultWriter();
  w.writeArrayHeader(words);
  let start = -1;
  for (let i = 0; i <= s; i++) {
    const space = i == s || isSpace(load<u8>(p + i));
    if (space && start >= 0) {
      w.writeStringUtf8(p + start, <usize>(i - start));
      start = -1;
    } else if (!space && start < 0) {
      start = i;
    }
  }
  w.send();
}

/** The sum of `xs`, added left to right, read float by float from the MessagePack. */
export function sum(xs: i32): f64 {
  const r = xx.argReader(0, xs);
  const n = r.readArrayHeader();
  let total: f64 = 0;
  for (let i = 0; i < n; i++) total += r.readFloat();
  if (!r.finish(0)) return 0;
  return total;
}

/** `[0, 1, ..., n-1]`. */
export function iota(n: i64): void {
  if (n < 0) {
    xx.error("negative length");
    return;
  }
  if (n > 1000000) {
    xx.error("too long");
    return;
  }
  const w = xx.resultWriter();
  w.writeArrayHeader(<i32>n);
  for (let i: i64 = 0; i < n; i++) w.writeInt(i);
  w.send();
}

/** Each word of `s` mapped to how often it occurs (in order of first occurrence). */
export function word_counts(s: i32): void {
  const str = xx.argString(0, s);
  const counts = new Map<string, i64>();
  const n = str.length;
  let start = -1;
  for (let i = 0; i <= n; i++) {
    // ASCII whitespace is one UTF-16 code unit, so words split the same as on the UTF-8 bytes.
    const space = i == n || isSpace(<u32>str.charCodeAt(i));
    if (space && start >= 0) {
      const word = str.substring(start, i);
      counts.set(word, counts.has(word) ? counts.get(word) + 1 : 1);
      start = -1;
    } else if (!space && start < 0) {
      start = i;
    }
  }
  const words = counts.keys(); // in insertion order
  const w = xx.resultWriter();
  w.writeMapHeader(words.length);
  for (let i = 0; i < words.length; i++) {
    const word = unchecked(words[i]);
    w.writeString(word);
    w.writeInt(counts.get(word));
  }
  w.send();
}

/** `v` unchanged, after decoding it into AssemblyScript Values and encoding it again. */
export function echo(v: i32): void {
  xx.resultValue(xx.argValue(0, v));
}

/** Does nothing. */
export function noop(x: i64): void {}
