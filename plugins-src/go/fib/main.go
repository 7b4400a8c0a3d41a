// Command fib is the Fibonacci plugin in Go, using the legacy xxlang ABI (numbers only; see the
// README's "Writing a plugin" and plugins-src/README.md). Build it as a WASI reactor:
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o fib_go.wasm ./fib
//
// Exports, besides memory and _initialize (which the host runs once at load):
//   - alloc(size: i32) -> i32: memory that stays valid for the life of the instance.
//   - plugin_name(result_ptr: i32) / plugin_version(result_ptr: i32): write (ptr: u32, len: u32)
//     of "fib" / "1.0.0-go" at result_ptr.
//   - call_fast(n: i64) -> i64, call_matrix(n: i64) -> i64, call_isFib(n: i64) -> i32.
//   - range_(n: i64, result_ptr: i32): writes (ptr: u32, count: u32) of the i64 array
//     fib(0) ..= fib(n) at result_ptr (n < 0: empty; at most 10,000 elements).
//
// fib(n) for n < 0 is 0; past fib(92) values wrap modulo 2^64. Every call runs in bounded time
// and nothing allocates per call: the name, version and range_ buffer are package-level
// variables (static data the GC never moves or frees).
package main

import (
	"encoding/binary"
	"math/bits"
	"unsafe"
)

func main() {} // required by package main; a c-shared (reactor) module never runs it

var (
	name    = "fib"
	version = "1.0.0-go"
)

// rangeMax caps range_: fib(0) ..= fib(9999) for any n >= 9999.
const rangeMax = 10_000

// rangeBuf is the one result buffer of range_, static (in the module's data, 80 KB), reused by
// every call. Calls into one instance never overlap, so there is no race.
var rangeBuf [rangeMax]int64

// iterativeLimit: up to this n call_fast loops; beyond it, it uses fast doubling (same values,
// bounded time for any i64).
const iterativeLimit = 4096

// allocs keeps every block alloc handed out reachable, so the GC never frees one: the host may
// use it for the life of the instance. The host asks for one 8-byte slot per instance.
var allocs [][]uint64

//go:wasmexport alloc
func alloc(size int32) int32 {
	if size < 0 {
		return 0
	}
	block := make([]uint64, (int(size)+7)/8+1) // 8-byte aligned, never empty
	allocs = append(allocs, block)
	return int32(uintptr(unsafe.Pointer(&block[0])))
}

// writePair stores (a, b) as two little-endian u32 at ptr, but only inside a block from alloc:
// a Go module must not trap (a trap leaves the Go runtime unusable) nor scribble on its heap.
// A slot anywhere else is left alone, and the host reads back what it put there.
func writePair(ptr int32, a, b uint32) {
	p := uintptr(uint32(ptr))
	for _, block := range allocs {
		start := uintptr(unsafe.Pointer(&block[0]))
		if p >= start && p+8 <= start+uintptr(len(block))*8 {
			slot := unsafe.Slice((*byte)(unsafe.Pointer(&block[0])), len(block)*8)[p-start:]
			binary.LittleEndian.PutUint32(slot, a)
			binary.LittleEndian.PutUint32(slot[4:], b)
			return
		}
	}
}

func addr(p unsafe.Pointer) uint32 { return uint32(uintptr(p)) }

//go:wasmexport plugin_name
func pluginName(resultPtr int32) {
	writePair(resultPtr, addr(unsafe.Pointer(unsafe.StringData(name))), uint32(len(name)))
}

//go:wasmexport plugin_version
func pluginVersion(resultPtr int32) {
	writePair(resultPtr, addr(unsafe.Pointer(unsafe.StringData(version))), uint32(len(version)))
}

// fibDoubling is fib(n) mod 2^64 by fast doubling: F(2k) = F(k)(2F(k+1) - F(k)),
// F(2k+1) = F(k)^2 + F(k+1)^2 (polynomial identities, so exact mod 2^64).
func fibDoubling(n uint64) uint64 {
	a, b := uint64(0), uint64(1) // F(k), F(k+1) for the bits of n seen so far
	for bit := bits.Len64(n); bit > 0; {
		bit--
		c := a * (2*b - a)
		d := a*a + b*b
		if (n>>bit)&1 == 0 {
			a, b = c, d
		} else {
			a, b = d, c+d
		}
	}
	return a
}

// fast is fib(n), iteratively; n <= 0 gives 0; wraps modulo 2^64 past fib(92).
//
//go:wasmexport call_fast
func fast(n int64) int64 {
	if n <= 0 {
		return 0
	}
	if n > iterativeLimit {
		return int64(fibDoubling(uint64(n)))
	}
	a, b := uint64(0), uint64(1)
	for i := int64(0); i < n; i++ {
		a, b = b, a+b
	}
	return int64(a)
}

type mat [4]uint64 // row-major [[m0, m1], [m2, m3]]

func mul(x, y mat) mat {
	return mat{
		x[0]*y[0] + x[1]*y[2], x[0]*y[1] + x[1]*y[3],
		x[2]*y[0] + x[3]*y[2], x[2]*y[1] + x[3]*y[3],
	}
}

// matrix is fib(n) by 2x2 matrix exponentiation: [[1,1],[1,0]]^n = [[F(n+1),F(n)],[F(n),F(n-1)]].
//
//go:wasmexport call_matrix
func matrix(n int64) int64 {
	if n <= 0 {
		return 0
	}
	result, base := mat{1, 0, 0, 1}, mat{1, 1, 1, 0}
	for e := uint64(n); e > 0; e >>= 1 {
		if e&1 == 1 {
			result = mul(result, base)
		}
		if e > 1 {
			base = mul(base, base)
		}
	}
	return int64(result[1])
}

// isFib is 1 if n is a Fibonacci number, else 0 (0 for n < 0). Walks the at most 93 Fibonacci
// numbers that fit in an i64.
//
//go:wasmexport call_isFib
func isFib(n int64) int32 {
	if n < 0 {
		return 0
	}
	a, b := uint64(0), uint64(1)
	for a < uint64(n) {
		a, b = b, a+b
		if b < a { // saturate instead of wrapping
			b = ^uint64(0)
		}
	}
	if a == uint64(n) {
		return 1
	}
	return 0
}

// fibRange writes (ptr, count) of fib(0) ..= fib(n) at resultPtr, from the reused rangeBuf.
//
//go:wasmexport range_
func fibRange(n int64, resultPtr int32) {
	count := 0
	switch {
	case n < 0:
	case n >= rangeMax:
		count = rangeMax
	default:
		count = int(n) + 1
	}
	a, b := uint64(0), uint64(1)
	for i := 0; i < count; i++ {
		rangeBuf[i] = int64(a)
		a, b = b, a+b
	}
	writePair(resultPtr, addr(unsafe.Pointer(&rangeBuf[0])), uint32(count))
}
