package xxplugin

import (
	"bytes"
	"encoding/hex"
	"math"
	"reflect"
	"strings"
	"testing"
)

func enc(t *testing.T, v any) []byte {
	t.Helper()
	var e Encoder
	if err := e.Value(v); err != nil {
		t.Fatalf("encode %#v: %v", v, err)
	}
	return bytes.Clone(e.Bytes())
}

func dec(t *testing.T, b []byte) any {
	t.Helper()
	d := NewDecoder(b)
	v, err := d.Value()
	if err == nil {
		err = d.End()
	}
	if err != nil {
		t.Fatalf("decode %x: %v", b, err)
	}
	return v
}

// The host writes the shortest formats; so must we (ABI.md section 5).
func TestEncodingFormats(t *testing.T) {
	cases := []struct {
		v    any
		want string
	}{
		{nil, "c0"}, {false, "c2"}, {true, "c3"},
		{int64(0), "00"}, {int64(127), "7f"}, {int64(128), "cc80"}, {int64(255), "ccff"},
		{int64(256), "cd0100"}, {int64(65535), "cdffff"}, {int64(65536), "ce00010000"},
		{int64(math.MaxUint32), "ceffffffff"}, {int64(math.MaxUint32 + 1), "d30000000100000000"},
		{int64(-1), "ff"}, {int64(-32), "e0"}, {int64(-33), "d0df"}, {int64(-128), "d080"},
		{int64(-129), "d1ff7f"}, {int64(math.MinInt16), "d18000"}, {int64(math.MinInt16 - 1), "d2ffff7fff"},
		{int64(math.MinInt32), "d280000000"}, {int64(math.MinInt32 - 1), "d3ffffffff7fffffff"},
		{int64(math.MinInt64), "d38000000000000000"}, {int64(math.MaxInt64), "d37fffffffffffffff"},
		{1.5, "cb3ff8000000000000"}, {float32(1.5), "cb3ff8000000000000"},
		{"", "a0"}, {"abc", "a3616263"}, {strings.Repeat("x", 31), "bf" + strings.Repeat("78", 31)},
		{strings.Repeat("x", 32), "d920" + strings.Repeat("78", 32)},
		{[]byte{}, "c400"}, {[]byte{1, 2}, "c4020102"},
		{[]any{}, "90"}, {[]any{int64(1), "a"}, "9201a161"},
		{Map{}, "80"}, {Map{{"k", 2.5}}, "81a16bcb4004000000000000"},
		{map[string]int64{"b": 2, "a": 1}, "82a16101a16202"},
	}
	for _, c := range cases {
		if got := hex.EncodeToString(enc(t, c.v)); got != c.want {
			t.Errorf("encode %#v = %s, want %s", c.v, got, c.want)
		}
	}
	long := enc(t, strings.Repeat("y", 256))
	if hex.EncodeToString(long[:3]) != "da0100" || len(long) != 259 {
		t.Errorf("str16 header: %x", long[:3])
	}
	arr := make([]int64, 16)
	if got := hex.EncodeToString(enc(t, arr)[:3]); got != "dc0010" {
		t.Errorf("array16 header: %s", got)
	}
	big := make([]int64, 70000)
	if got := hex.EncodeToString(enc(t, big)[:5]); got != "dd00011170" {
		t.Errorf("array32 header: %s", got)
	}
	bin := enc(t, make([]byte, 300))
	if got := hex.EncodeToString(bin[:3]); got != "c5012c" {
		t.Errorf("bin16 header: %s", got)
	}
}

func TestRoundTrip(t *testing.T) {
	values := []any{
		nil, true, false, int64(0), int64(-1), int64(1 << 40), int64(math.MinInt64), int64(math.MaxInt64),
		0.0, -2.25, math.Inf(1), "", "héllo", "a😀b", strings.Repeat("é", 40000), []byte{}, []byte("\x00\xff"),
		[]any{}, []any{int64(1), "a", []any{true, nil}, Map{{"k", 2.5}}},
		Map{{int64(1), "one"}, {"two", int64(2)}, {true, []any{}}},
		make([]any, 20), // array16
	}
	for _, v := range values {
		got := dec(t, enc(t, v))
		if f, ok := v.(float64); ok && f == 0 {
			v = 0.0
		}
		if !reflect.DeepEqual(got, v) {
			t.Errorf("round trip %#v = %#v", v, got)
		}
	}
}

func TestDecodeAcceptsEveryIntFormat(t *testing.T) {
	cases := map[string]int64{
		"cc05": 5, "cd0005": 5, "ce00000005": 5, "cf0000000000000005": 5,
		"d0fb": -5, "d1fffb": -5, "d2fffffffb": -5, "d3fffffffffffffffb": -5,
		"cf7fffffffffffffff": math.MaxInt64,
	}
	for h, want := range cases {
		b, _ := hex.DecodeString(h)
		if got := dec(t, b); got != want {
			t.Errorf("decode %s = %#v, want %d", h, got, want)
		}
	}
	b, _ := hex.DecodeString("ca3fc00000") // float32 1.5
	if got := dec(t, b); got != 1.5 {
		t.Errorf("float32: %#v", got)
	}
	d := NewDecoder([]byte{0x07})
	if f, err := d.Float(); f != 7 || err != nil {
		t.Errorf("Float of an int: %v %v", f, err)
	}
}

func TestDecodeErrors(t *testing.T) {
	bad := []string{
		"",                   // nothing
		"c1",                 // never used
		"d401",               // fixext1
		"c70101",             // ext8
		"cf8000000000000000", // uint64 above MaxInt64
		"a2c3",               // string not valid UTF-8
		"a261",               // truncated string
		"dd7fffffff",         // array32 longer than the bytes present
		"df00000001",         // map32 truncated
		"81c001",             // nil key
		"8190c0",             // array key
		"92c0",               // array of 2 with 1 element
	}
	for _, h := range bad {
		b, _ := hex.DecodeString(h)
		d := NewDecoder(b)
		if v, err := d.Value(); err == nil {
			t.Errorf("decode %s = %#v, want an error", h, v)
		}
	}
	// Trailing bytes.
	b, _ := hex.DecodeString("910102")
	if _, err := ArgValueFrom(b); err == nil {
		t.Errorf("trailing bytes accepted")
	}
	// Depth.
	deep := append(bytes.Repeat([]byte{0x91}, 200), 0xc0)
	if _, err := ArgValueFrom(deep); err == nil {
		t.Errorf("200 levels accepted")
	}
	ok := append(bytes.Repeat([]byte{0x91}, 64), 0xc0)
	if _, err := ArgValueFrom(ok); err != nil {
		t.Errorf("64 levels refused: %v", err)
	}
}

// ArgValueFrom is ArgValue on bytes already in hand.
func ArgValueFrom(b []byte) (any, error) {
	d := NewDecoder(b)
	v, err := d.Value()
	if err == nil {
		err = d.End()
	}
	return v, err
}

func TestEncodeErrors(t *testing.T) {
	var e Encoder
	for _, v := range []any{uint64(math.MaxUint64), "\xff", struct{}{}, []any{make(chan int)}} {
		e.Reset()
		if err := e.Value(v); err == nil {
			t.Errorf("encode %#v: want an error", v)
		}
	}
	var cyclic []any
	cyclic = append(cyclic, nil)
	cyclic[0] = cyclic
	if err := e.Value(cyclic); err == nil {
		t.Errorf("cyclic value encoded")
	}
}

func TestBuffer(t *testing.T) {
	b := Buffer(10)
	if len(b) != 0 || cap(b) < 10 {
		t.Fatalf("Buffer(10): len %d cap %d", len(b), cap(b))
	}
	b = append(b, "hello"...)
	if c := Buffer(5); &c[:1][0] != &b[0] {
		t.Errorf("Buffer not reused")
	}
	if allocs := testing.AllocsPerRun(100, func() { _ = Buffer(10) }); allocs != 0 {
		t.Errorf("Buffer allocates: %v", allocs)
	}
}

func TestEncoderReuseAllocatesNothing(t *testing.T) {
	e := ResultEncoder()
	allocs := testing.AllocsPerRun(100, func() {
		e = ResultEncoder()
		e.ArrayHeader(3)
		e.Int(1)
		e.String("two")
		e.Float(3)
	})
	if allocs != 0 {
		t.Errorf("encoder allocates per use: %v", allocs)
	}
}
