// Package xxplugin is the Go guest helper for xxlang plugins using the typed plugin ABI v1
// (docs/ABI.md of xxlang-plugin). It is one file with no dependencies besides the standard
// library: copy it into your module (as package xxplugin) and build with
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o NAME.wasm .
//
// A plugin declares its functions in a manifest, exports each with //go:wasmexport using the
// wasm types of ABI.md section 1 (int: int64, float: float64, bool: uint32, every memory type:
// a uint32 byte length) and exports xxplugin_manifest:
//
//	//go:wasmexport upper
//	func upper(n uint32) {
//		defer xxplugin.Catch()
//		s := xxplugin.Arg(0, n) // the string's bytes, in a buffer the package reuses
//		...
//		xxplugin.SendBytes(out)
//	}
//
//	//go:wasmexport xxplugin_manifest
//	func manifest() { xxplugin.SendString("abi 1\nname demo\nfn upper(s: string) -> string\n") }
//
// Failures go through Error, never a panic: a trap out of the Go runtime leaves it unusable.
// Catch turns a panic into an Error.
//
// Memory: calls into one instance never overlap, so the package keeps one argument buffer per
// parameter index, one output Buffer and one result Encoder, and reuses them on every call.
// Slices it returns are valid until the next call of an exported function. Bytes of values
// decoded with Value or String are copies that the caller owns.
package xxplugin

import (
	"errors"
	"math"
	"slices"
	"unicode/utf8"
	"unsafe"
)

// The host imports (module "xxplugin"; ABI.md section 3). A pointer crosses as an i32 address
// of linear memory; the Go GC does not move objects, and the host keeps no pointer after the
// call returns.

//go:wasmimport xxplugin arg
func hostArg(index uint32, dst unsafe.Pointer)

//go:wasmimport xxplugin result
func hostResult(ptr unsafe.Pointer, n uint32)

//go:wasmimport xxplugin error
func hostError(ptr unsafe.Pointer, n uint32)

// ------------------------------------------------------------------------------------ arguments

// argBufs holds one reusable buffer per parameter index (a function has at most 32 parameters).
var argBufs [32][]byte

// Arg copies memory-type parameter index (0-based, counting all parameters), whose byte length
// the function received as n, into a buffer owned by the package and returns it: the UTF-8 of a
// string, the bytes of bytes, the MessagePack of an array, map or any. The slice is reused by
// the next call of Arg with the same index (in this call or a later one): copy what you keep.
func Arg(index int, n uint32) []byte {
	if index < 0 || index >= len(argBufs) {
		panic("xxplugin.Arg: parameter index out of range")
	}
	b := argBufs[index]
	if uint64(cap(b)) < uint64(n) {
		b = make([]byte, n)
		argBufs[index] = b
	}
	b = b[:n]
	if n > 0 {
		hostArg(uint32(index), unsafe.Pointer(unsafe.SliceData(b)))
	}
	return b
}

// ArgString returns string parameter index (byte length n) as a Go string (a copy).
func ArgString(index int, n uint32) string { return string(Arg(index, n)) }

// ArgValue decodes array, map or any parameter index (byte length n) into Go values; see
// Decoder.Value for the types.
func ArgValue(index int, n uint32) (any, error) {
	d := NewDecoder(Arg(index, n))
	v, err := d.Value()
	if err == nil {
		err = d.End()
	}
	return v, err
}

// --------------------------------------------------------------------------------------- results

// SendBytes sends the result of a function whose result is a memory type: the bytes of a string
// (valid UTF-8) or bytes result, or the MessagePack of an array, map or any. Exactly once per
// call. The host copies them at once: the slice may be reused right after.
func SendBytes(b []byte) { hostResult(unsafe.Pointer(unsafe.SliceData(b)), uint32(len(b))) }

// SendString sends a string result (or a manifest, from xxplugin_manifest).
func SendString(s string) { hostResult(unsafe.Pointer(unsafe.StringData(s)), uint32(len(s))) }

// SendValue encodes v as MessagePack (see Encoder.Value) and sends it as the result. A value
// that cannot be encoded is reported with Error instead.
func SendValue(v any) {
	e := ResultEncoder()
	if err := e.Value(v); err != nil {
		Error(err.Error())
		return
	}
	e.Send()
}

// Error reports that the running call failed with msg; the script gets the Error value
// "PLUGIN.FUNCTION: msg". It returns normally: return from the function after it (any
// number result is ignored). An error wins over a result sent in the same call.
func Error(msg string) { hostError(unsafe.Pointer(unsafe.StringData(msg)), uint32(len(msg))) }

// Catch, deferred first thing in an exported function (defer xxplugin.Catch()), turns a panic
// in it into an Error ("panic: ...") instead of a trap that would leave the Go runtime
// unusable. (Fatal errors such as running out of memory cannot be caught.)
func Catch() {
	r := recover()
	if r == nil {
		return
	}
	msg := "panic"
	switch v := r.(type) {
	case error:
		msg += ": " + v.Error()
	case string:
		msg += ": " + v
	}
	Error(msg)
}

var outBuf []byte

// Buffer returns a byte slice of length 0 and capacity at least n, owned by the package and
// reused by every call: build a string or bytes result in it (append), then SendBytes.
func Buffer(n int) []byte {
	if cap(outBuf) < n {
		outBuf = make([]byte, 0, n)
	}
	return outBuf[:0]
}

var resultEnc Encoder

// ResultEncoder returns the package's result encoder, emptied: write one value into it, then
// Send. Its buffer is reused by every call.
func ResultEncoder() *Encoder {
	resultEnc.Reset()
	return &resultEnc
}

// ---------------------------------------------------------------------------- MessagePack values

// Map is a decoded MessagePack map, in its encoded order. Keys are int64, string or bool.
type Map []Entry

// Entry is one key and value of a Map.
type Entry struct{ Key, Value any }

// maxDepth bounds the nesting of decoded and encoded values: only a guard against runaway
// recursion, above the host's own limit (64), so that whatever the host sends decodes.
const maxDepth = 128

var (
	errTruncated = errors.New("msgpack: truncated value")
	errType      = errors.New("msgpack: unexpected type")
	errDepth     = errors.New("msgpack: nested too deeply")
)

// ----------------------------------------------------------------------------------- the decoder

// Decoder reads MessagePack (the subset of ABI.md section 5) from a byte slice.
type Decoder struct {
	b   []byte
	off int
}

// NewDecoder returns a decoder reading b.
func NewDecoder(b []byte) Decoder { return Decoder{b: b} }

// End reports an error unless every byte was read (trailing bytes are an error).
func (d *Decoder) End() error {
	if d.off != len(d.b) {
		return errors.New("msgpack: trailing bytes after the value")
	}
	return nil
}

func (d *Decoder) peek() (byte, error) {
	if d.off >= len(d.b) {
		return 0, errTruncated
	}
	return d.b[d.off], nil
}

// take returns the next n bytes (n is checked against what is left before anything happens).
func (d *Decoder) take(n uint64) ([]byte, error) {
	if n > uint64(len(d.b)-d.off) {
		return nil, errTruncated
	}
	s := d.b[d.off : d.off+int(n)]
	d.off += int(n)
	return s, nil
}

// uint reads a big-endian unsigned integer of size bytes.
func (d *Decoder) uint(size int) (uint64, error) {
	s, err := d.take(uint64(size))
	if err != nil {
		return 0, err
	}
	var v uint64
	for _, c := range s {
		v = v<<8 | uint64(c)
	}
	return v, nil
}

// IsNil reads a nil if one comes next and reports whether it did.
func (d *Decoder) IsNil() bool {
	if c, err := d.peek(); err == nil && c == 0xc0 {
		d.off++
		return true
	}
	return false
}

// Bool reads a bool.
func (d *Decoder) Bool() (bool, error) {
	c, err := d.peek()
	if err != nil {
		return false, err
	}
	if c != 0xc2 && c != 0xc3 {
		return false, errType
	}
	d.off++
	return c == 0xc3, nil
}

// Int reads an integer in any MessagePack int format (uint64 above MaxInt64 is an error).
func (d *Decoder) Int() (int64, error) {
	c, err := d.peek()
	if err != nil {
		return 0, err
	}
	switch {
	case c <= 0x7f:
		d.off++
		return int64(c), nil
	case c >= 0xe0:
		d.off++
		return int64(int8(c)), nil
	case c >= 0xcc && c <= 0xcf: // uint8/16/32/64
		d.off++
		v, err := d.uint(1 << (c - 0xcc))
		if err == nil && v > math.MaxInt64 {
			err = errors.New("msgpack: integer above the int64 range")
		}
		return int64(v), err
	case c >= 0xd0 && c <= 0xd3: // int8/16/32/64
		d.off++
		size := 1 << (c - 0xd0)
		v, err := d.uint(size)
		shift := 64 - 8*size // sign-extend
		return int64(v<<shift) >> shift, err
	}
	return 0, errType
}

// Float reads a float64 or float32, or an integer (converted), as a float64.
func (d *Decoder) Float() (float64, error) {
	c, err := d.peek()
	if err != nil {
		return 0, err
	}
	switch c {
	case 0xcb:
		d.off++
		v, err := d.uint(8)
		return math.Float64frombits(v), err
	case 0xca:
		d.off++
		v, err := d.uint(4)
		return float64(math.Float32frombits(uint32(v))), err
	}
	i, err := d.Int()
	return float64(i), err
}

// StringBytes reads a string and returns its bytes, a view into the decoder's input (valid as
// long as that is); it checks that they are valid UTF-8.
func (d *Decoder) StringBytes() ([]byte, error) {
	c, err := d.peek()
	if err != nil {
		return nil, err
	}
	var n uint64
	switch {
	case c >= 0xa0 && c <= 0xbf:
		d.off++
		n = uint64(c & 0x1f)
	case c >= 0xd9 && c <= 0xdb: // str8/16/32
		d.off++
		n, err = d.uint(1 << (c - 0xd9))
	default:
		return nil, errType
	}
	var s []byte
	if err == nil {
		s, err = d.take(n)
	}
	if err == nil && !utf8.Valid(s) {
		err = errors.New("msgpack: string is not valid UTF-8")
	}
	return s, err
}

// String reads a string (a copy).
func (d *Decoder) String() (string, error) {
	s, err := d.StringBytes()
	return string(s), err
}

// Bin reads bytes (bin8/16/32) and returns a view into the decoder's input.
func (d *Decoder) Bin() ([]byte, error) {
	c, err := d.peek()
	if err != nil {
		return nil, err
	}
	if c < 0xc4 || c > 0xc6 {
		return nil, errType
	}
	d.off++
	n, err := d.uint(1 << (c - 0xc4))
	if err != nil {
		return nil, err
	}
	return d.take(n)
}

// header reads a container header: fix (mask) or 16/32-bit lengths, and checks the count
// against the bytes left (each element takes at least min bytes).
func (d *Decoder) header(fixLo, fixHi, c16 byte, min uint64) (int, error) {
	c, err := d.peek()
	if err != nil {
		return 0, err
	}
	var n uint64
	switch {
	case c >= fixLo && c <= fixHi:
		d.off++
		n = uint64(c - fixLo)
	case c == c16 || c == c16+1:
		d.off++
		n, err = d.uint(2 << (c - c16))
		if err != nil {
			return 0, err
		}
	default:
		return 0, errType
	}
	if n*min > uint64(len(d.b)-d.off) {
		return 0, errTruncated
	}
	return int(n), nil
}

// ArrayLen reads an array header and returns the number of elements that follow.
func (d *Decoder) ArrayLen() (int, error) { return d.header(0x90, 0x9f, 0xdc, 1) }

// MapLen reads a map header and returns the number of key-value pairs that follow.
func (d *Decoder) MapLen() (int, error) { return d.header(0x80, 0x8f, 0xde, 2) }

// Value reads any value into Go values: nil, bool, int64, float64, string, []byte, []any or
// Map. Strings and bytes are copies.
func (d *Decoder) Value() (any, error) { return d.value(0) }

func (d *Decoder) value(depth int) (any, error) {
	if depth >= maxDepth {
		return nil, errDepth
	}
	c, err := d.peek()
	if err != nil {
		return nil, err
	}
	switch {
	case c == 0xc0:
		d.off++
		return nil, nil
	case c == 0xc2 || c == 0xc3:
		return d.Bool()
	case c <= 0x7f || c >= 0xe0 || (c >= 0xcc && c <= 0xd3):
		return d.Int()
	case c == 0xca || c == 0xcb:
		return d.Float()
	case (c >= 0xa0 && c <= 0xbf) || (c >= 0xd9 && c <= 0xdb):
		return d.String()
	case c >= 0xc4 && c <= 0xc6:
		b, err := d.Bin()
		return slices.Clone(b), err
	case (c >= 0x90 && c <= 0x9f) || c == 0xdc || c == 0xdd:
		n, err := d.ArrayLen()
		if err != nil {
			return nil, err
		}
		a := make([]any, n)
		for i := range a {
			if a[i], err = d.value(depth + 1); err != nil {
				return nil, err
			}
		}
		return a, nil
	case (c >= 0x80 && c <= 0x8f) || c == 0xde || c == 0xdf:
		n, err := d.MapLen()
		if err != nil {
			return nil, err
		}
		m := make(Map, n)
		for i := range m {
			k, err := d.value(depth + 1)
			if err != nil {
				return nil, err
			}
			switch k.(type) {
			case int64, string, bool:
			default:
				return nil, errors.New("msgpack: map keys must be int, string or bool")
			}
			v, err := d.value(depth + 1)
			if err != nil {
				return nil, err
			}
			m[i] = Entry{k, v}
		}
		return m, nil
	}
	return nil, errType // ext types and 0xc1
}

// ----------------------------------------------------------------------------------- the encoder

// Encoder writes MessagePack the way the host does: the shortest int format, float64, and the
// shortest str, bin, array and map headers.
type Encoder struct{ buf []byte }

// Reset empties the encoder, keeping its buffer.
func (e *Encoder) Reset() { e.buf = e.buf[:0] }

// Bytes returns what was written (a view of the encoder's buffer).
func (e *Encoder) Bytes() []byte { return e.buf }

// Grow makes room for n more bytes, so that writing them allocates nothing more (and leaves
// no garbage of a growing buffer behind).
func (e *Encoder) Grow(n int) { e.buf = slices.Grow(e.buf, n) }

// Send sends what was written as the call's result (see SendBytes).
func (e *Encoder) Send() { SendBytes(e.buf) }

func (e *Encoder) be(v uint64, size int) {
	for i := size - 1; i >= 0; i-- {
		e.buf = append(e.buf, byte(v>>(8*i)))
	}
}

// header writes a fix header (fix|n) or a 8/16/32-bit one (code, code+1, code+2 for
// 1, 2, 4 length bytes; code8 0 means there is no 8-bit form).
func (e *Encoder) header(n int, fix byte, fixMax int, code8, code16 byte) {
	switch {
	case n <= fixMax:
		e.buf = append(e.buf, fix|byte(n))
	case code8 != 0 && n <= math.MaxUint8:
		e.buf = append(e.buf, code8, byte(n))
	case n <= math.MaxUint16:
		e.buf = append(e.buf, code16)
		e.be(uint64(n), 2)
	default:
		e.buf = append(e.buf, code16+1)
		e.be(uint64(n), 4)
	}
}

// Nil writes nil.
func (e *Encoder) Nil() { e.buf = append(e.buf, 0xc0) }

// Bool writes a bool.
func (e *Encoder) Bool(v bool) {
	if v {
		e.buf = append(e.buf, 0xc3)
	} else {
		e.buf = append(e.buf, 0xc2)
	}
}

// Int writes an integer in its shortest format.
func (e *Encoder) Int(v int64) {
	switch {
	case v >= 0 && v <= 0x7f:
		e.buf = append(e.buf, byte(v))
	case v >= -32 && v < 0:
		e.buf = append(e.buf, byte(v))
	case v > 0 && v <= math.MaxUint8:
		e.buf = append(e.buf, 0xcc, byte(v))
	case v > 0 && v <= math.MaxUint16:
		e.buf = append(e.buf, 0xcd)
		e.be(uint64(v), 2)
	case v > 0 && v <= math.MaxUint32:
		e.buf = append(e.buf, 0xce)
		e.be(uint64(v), 4)
	case v >= math.MinInt8 && v < 0:
		e.buf = append(e.buf, 0xd0, byte(v))
	case v >= math.MinInt16 && v < 0:
		e.buf = append(e.buf, 0xd1)
		e.be(uint64(v), 2)
	case v >= math.MinInt32 && v < 0:
		e.buf = append(e.buf, 0xd2)
		e.be(uint64(v), 4)
	default:
		e.buf = append(e.buf, 0xd3)
		e.be(uint64(v), 8)
	}
}

// Float writes a float64.
func (e *Encoder) Float(v float64) {
	e.buf = append(e.buf, 0xcb)
	e.be(math.Float64bits(v), 8)
}

// String writes a string (s must be valid UTF-8).
func (e *Encoder) String(s string) {
	e.header(len(s), 0xa0, 31, 0xd9, 0xda)
	e.buf = append(e.buf, s...)
}

// StringBytes writes a string given as its UTF-8 bytes.
func (e *Encoder) StringBytes(s []byte) {
	e.header(len(s), 0xa0, 31, 0xd9, 0xda)
	e.buf = append(e.buf, s...)
}

// Bin writes bytes.
func (e *Encoder) Bin(b []byte) {
	e.header(len(b), 0, -1, 0xc4, 0xc5)
	e.buf = append(e.buf, b...)
}

// ArrayHeader starts an array of n elements: write them next.
func (e *Encoder) ArrayHeader(n int) { e.header(n, 0x90, 15, 0, 0xdc) }

// MapHeader starts a map of n pairs: write key, value, key, value... next.
func (e *Encoder) MapHeader(n int) { e.header(n, 0x80, 15, 0, 0xde) }

// Value writes v: nil, bool, any Go integer (uint64 up to MaxInt64), float32/float64, string,
// []byte, Map, []any, []string, []int64, []float64, map[string]any or map[string]int64 (Go
// maps in sorted key order), nested up to 128 levels.
func (e *Encoder) Value(v any) error { return e.value(v, 0) }

func (e *Encoder) value(v any, depth int) error {
	if depth >= maxDepth {
		return errDepth
	}
	switch v := v.(type) {
	case nil:
		e.Nil()
	case bool:
		e.Bool(v)
	case int:
		e.Int(int64(v))
	case int8:
		e.Int(int64(v))
	case int16:
		e.Int(int64(v))
	case int32:
		e.Int(int64(v))
	case int64:
		e.Int(v)
	case uint8:
		e.Int(int64(v))
	case uint16:
		e.Int(int64(v))
	case uint32:
		e.Int(int64(v))
	case uint:
		if uint64(v) > math.MaxInt64 {
			return errors.New("msgpack: integer above the int64 range")
		}
		e.Int(int64(v))
	case uint64:
		if v > math.MaxInt64 {
			return errors.New("msgpack: integer above the int64 range")
		}
		e.Int(int64(v))
	case float32:
		e.Float(float64(v))
	case float64:
		e.Float(v)
	case string:
		if !utf8.ValidString(v) {
			return errors.New("msgpack: string is not valid UTF-8")
		}
		e.String(v)
	case []byte:
		e.Bin(v)
	case Map:
		e.MapHeader(len(v))
		for _, kv := range v {
			if err := e.value(kv.Key, depth+1); err != nil {
				return err
			}
			if err := e.value(kv.Value, depth+1); err != nil {
				return err
			}
		}
	case []any:
		e.ArrayHeader(len(v))
		for _, x := range v {
			if err := e.value(x, depth+1); err != nil {
				return err
			}
		}
	case []string:
		e.ArrayHeader(len(v))
		for _, x := range v {
			if err := e.value(x, depth+1); err != nil {
				return err
			}
		}
	case []int64:
		e.ArrayHeader(len(v))
		for _, x := range v {
			e.Int(x)
		}
	case []float64:
		e.ArrayHeader(len(v))
		for _, x := range v {
			e.Float(x)
		}
	case map[string]any:
		e.MapHeader(len(v))
		for _, k := range sortedKeys(v) {
			e.String(k)
			if err := e.value(v[k], depth+1); err != nil {
				return err
			}
		}
	case map[string]int64:
		e.MapHeader(len(v))
		for _, k := range sortedKeys(v) {
			e.String(k)
			e.Int(v[k])
		}
	default:
		return errors.New("msgpack: cannot encode a value of this Go type")
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
