// Command textkit is the textkit plugin in Go, using the typed plugin ABI v1 (docs/ABI.md) through
// the xxplugin helper package. Build it as a WASI reactor:
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o textkit_go.wasm ./textkit
//
// Each export has the wasm type ABI.md section 1 gives its declaration: a memory-type
// parameter is its byte length (uint32), int is int64, float is float64, bool is uint32 (0 or
// 1). Memory-type results are sent with xxplugin.SendBytes / Encoder.Send, failures with
// xxplugin.Error; nothing panics out of an export (each defers xxplugin.Catch as a safety net).
//
// The logic lives in plain functions on []byte (tested natively by main_test.go); results are
// built in the helper's reused buffers, so after warm-up most calls allocate nothing.
package main

import (
	"runtime/debug"
	"unicode/utf8"

	"xxplugin-go/xxplugin"
)

func main() {} // required by package main; a c-shared (reactor) module never runs it

// The GC's heap goal is the live heap times (1 + GOGC/100), but never below 4 MB x GOGC/100.
// With the default GOGC=100, a plugin whose calls allocate a little (word_counts, echo) grows
// its memory until some 4 MB have been allocated and the first collection runs, long after
// any warm-up; with 25 it settles at once, at about half the memory, and runs no slower (the
// live heap is small, so a collection is cheap). GOGC cannot come from the environment: the
// host gives WASI plugins none.
func init() { debug.SetGCPercent(25) }

const manifest = `abi 1
name textkit
version 1.0.0-go
fn upper(s: string) -> string -- ASCII letters upper-cased; fails on empty input.
fn reverse(s: string) -> string -- The characters of s in reverse order.
fn concat(a: string, b: string) -> string -- a followed by b.
fn length(s: string) -> int -- The number of characters (Unicode scalar values) in s.
fn echo_str(s: string) -> string -- s unchanged.
fn xor(data: bytes, key: int) -> bytes -- Each byte XOR the low 8 bits of key.
fn scale(x: float, factor: float) -> float -- x times factor.
fn is_palindrome(s: string) -> bool -- Whether the characters of s read the same reversed.
fn choose(flag: bool, a: int, b: int) -> int -- a if flag, else b.
fn split(s: string) -> array<string> -- The words of s (split on ASCII whitespace), in order.
fn sum(xs: array<float>) -> float -- The sum of xs, added left to right.
fn iota(n: int) -> array<int> -- [0, 1, ..., n-1]; fails for n < 0 or n > 1000000.
fn word_counts(s: string) -> map -- Each word of s mapped to how often it occurs.
fn echo(v: any) -> any -- v unchanged, decoded into Go values and encoded again.
fn noop(x: int) -- Does nothing.
`

//go:wasmexport xxplugin_manifest
func sendManifest() { xxplugin.SendString(manifest) }

// ------------------------------------------------------------------------------------- strings

//go:wasmexport upper
func upperExport(n uint32) {
	defer xxplugin.Catch()
	if n == 0 {
		xxplugin.Error("empty input")
		return
	}
	xxplugin.SendBytes(upper(xxplugin.Buffer(int(n)), xxplugin.Arg(0, n)))
}

// upper appends s with ASCII a-z upper-cased to dst.
func upper(dst, s []byte) []byte {
	for _, c := range s {
		if 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst
}

//go:wasmexport reverse
func reverseExport(n uint32) {
	defer xxplugin.Catch()
	xxplugin.SendBytes(reverse(xxplugin.Buffer(int(n)), xxplugin.Arg(0, n)))
}

// reverse appends the characters of s (valid UTF-8) in reverse order to dst.
func reverse(dst, s []byte) []byte {
	for i := len(s); i > 0; {
		if c := s[i-1]; c < utf8.RuneSelf { // ASCII: one byte, one character
			dst = append(dst, c)
			i--
			continue
		}
		_, size := utf8.DecodeLastRune(s[:i])
		dst = append(dst, s[i-size:i]...)
		i -= size
	}
	return dst
}

//go:wasmexport concat
func concatExport(na, nb uint32) {
	defer xxplugin.Catch()
	out := xxplugin.Buffer(int(na) + int(nb))
	out = append(out, xxplugin.Arg(0, na)...)
	out = append(out, xxplugin.Arg(1, nb)...)
	xxplugin.SendBytes(out)
}

//go:wasmexport length
func lengthExport(n uint32) int64 {
	defer xxplugin.Catch()
	return int64(utf8.RuneCount(xxplugin.Arg(0, n)))
}

//go:wasmexport echo_str
func echoStrExport(n uint32) {
	defer xxplugin.Catch()
	xxplugin.SendBytes(xxplugin.Arg(0, n))
}

//go:wasmexport is_palindrome
func isPalindromeExport(n uint32) uint32 {
	defer xxplugin.Catch()
	if isPalindrome(xxplugin.Arg(0, n)) {
		return 1
	}
	return 0
}

// isPalindrome reports whether the characters of s (valid UTF-8) read the same reversed.
func isPalindrome(s []byte) bool {
	i, j := 0, len(s)
	for i < j {
		a, na := utf8.DecodeRune(s[i:j])
		b, nb := utf8.DecodeLastRune(s[i:j])
		if a != b {
			return false
		}
		i += na
		j -= nb
	}
	return true
}

// --------------------------------------------------------------------------------------- bytes

//go:wasmexport xor
func xorExport(n uint32, key int64) {
	defer xxplugin.Catch()
	xxplugin.SendBytes(xor(xxplugin.Buffer(int(n)), xxplugin.Arg(0, n), byte(key)))
}

// xor appends each byte of data XOR k to dst.
func xor(dst, data []byte, k byte) []byte {
	for _, c := range data {
		dst = append(dst, c^k)
	}
	return dst
}

// ------------------------------------------------------------------------------------- numbers

//go:wasmexport scale
func scale(x, factor float64) float64 { return x * factor }

//go:wasmexport choose
func choose(flag uint32, a, b int64) int64 {
	if flag != 0 {
		return a
	}
	return b
}

//go:wasmexport noop
func noop(x int64) {}

// -------------------------------------------------------------------------------------- arrays

// isSpace reports whether c is ASCII whitespace: space, \t, \n, \v, \f, \r.
func isSpace(c byte) bool { return c == ' ' || ('\t' <= c && c <= '\r') }

// nextWord returns the first word of s at or after i, as [start, end); start == len(s) when
// there is none.
func nextWord(s []byte, i int) (start, end int) {
	for i < len(s) && isSpace(s[i]) {
		i++
	}
	start = i
	for i < len(s) && !isSpace(s[i]) {
		i++
	}
	return start, i
}

//go:wasmexport split
func splitExport(n uint32) {
	defer xxplugin.Catch()
	e := xxplugin.ResultEncoder()
	split(e, xxplugin.Arg(0, n))
	e.Send()
}

// split writes the words of s as an array of strings.
func split(e *xxplugin.Encoder, s []byte) {
	count := 0
	for start, end := nextWord(s, 0); start < len(s); start, end = nextWord(s, end) {
		count++
	}
	e.ArrayHeader(count)
	for start, end := nextWord(s, 0); start < len(s); start, end = nextWord(s, end) {
		e.StringBytes(s[start:end])
	}
}

//go:wasmexport sum
func sumExport(n uint32) float64 {
	defer xxplugin.Catch()
	total, err := sum(xxplugin.Arg(0, n))
	if err != nil {
		xxplugin.Error(err.Error())
	}
	return total
}

// sum adds the elements of a MessagePack array of numbers, left to right.
func sum(msgpack []byte) (float64, error) {
	d := xxplugin.NewDecoder(msgpack)
	n, err := d.ArrayLen()
	total := 0.0
	for i := 0; i < n && err == nil; i++ {
		var x float64
		x, err = d.Float()
		total += x
	}
	if err == nil {
		err = d.End()
	}
	return total, err
}

//go:wasmexport iota
func iotaExport(n int64) {
	defer xxplugin.Catch()
	e := xxplugin.ResultEncoder()
	if msg := iotaArray(e, n); msg != "" {
		xxplugin.Error(msg)
		return
	}
	e.Send()
}

// iotaArray writes [0, 1, ..., n-1], or returns the error message for an n out of range.
func iotaArray(e *xxplugin.Encoder, n int64) string {
	switch {
	case n < 0:
		return "negative length"
	case n > 1_000_000:
		return "too long"
	}
	e.Grow(5 + 5*int(n)) // every element below 2^32 takes at most 5 bytes
	e.ArrayHeader(int(n))
	for i := int64(0); i < n; i++ {
		e.Int(i)
	}
	return ""
}

// ---------------------------------------------------------------------------------------- maps

// counts and order are word_counts' working state, emptied and reused by every call.
var (
	counts = map[string]int64{}
	order  []string
)

//go:wasmexport word_counts
func wordCountsExport(n uint32) {
	defer xxplugin.Catch()
	e := xxplugin.ResultEncoder()
	wordCounts(e, xxplugin.Arg(0, n))
	e.Send()
}

// wordCounts writes a map from each word of s to its number of occurrences, keys in order of
// first occurrence.
func wordCounts(e *xxplugin.Encoder, s []byte) {
	clear(counts)
	clear(order) // drop the old strings, so the GC can have them
	order = order[:0]
	for start, end := nextWord(s, 0); start < len(s); start, end = nextWord(s, end) {
		w := s[start:end]
		if c, ok := counts[string(w)]; ok { // no allocation for the lookup
			counts[string(w)] = c + 1
			continue
		}
		k := string(w)
		counts[k] = 1
		order = append(order, k)
	}
	e.MapHeader(len(order))
	for _, k := range order {
		e.String(k)
		e.Int(counts[k])
	}
}

// ----------------------------------------------------------------------------------------- any

//go:wasmexport echo
func echoExport(n uint32) {
	defer xxplugin.Catch()
	v, err := xxplugin.ArgValue(0, n)
	if err != nil {
		xxplugin.Error(err.Error())
		return
	}
	xxplugin.SendValue(v)
}
