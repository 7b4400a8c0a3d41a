package main

import (
	"reflect"
	"strings"
	"testing"

	"xxplugin-go/xxplugin"
)

func decode(t *testing.T, e *xxplugin.Encoder) any {
	t.Helper()
	d := xxplugin.NewDecoder(e.Bytes())
	v, err := d.Value()
	if err == nil {
		err = d.End()
	}
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	return v
}

func TestStrings(t *testing.T) {
	if got := string(upper(nil, []byte("héllo, World 1"))); got != "HéLLO, WORLD 1" {
		t.Errorf("upper: %q", got)
	}
	for in, want := range map[string]string{"": "", "a": "a", "abc": "cba", "a😀b": "b😀a", "héllo": "olléh"} {
		if got := string(reverse(nil, []byte(in))); got != want {
			t.Errorf("reverse(%q) = %q", in, got)
		}
	}
	for in, want := range map[string]bool{"": true, "a": true, "abba": true, "aba": true, "ab": false,
		"a😀a": true, "😀é😀": true, "é😀": false, "Aa": false} {
		if got := isPalindrome([]byte(in)); got != want {
			t.Errorf("isPalindrome(%q) = %v", in, got)
		}
	}
	if got := xor(nil, []byte{0, 1, 0xff}, byte(key(0x1ff))); string(got) != "\xff\xfe\x00" {
		t.Errorf("xor: %x", got)
	}
}

func TestSplitAndWordCounts(t *testing.T) {
	var e xxplugin.Encoder
	cases := map[string][]any{
		"":                     {},
		" \t\n\v\f\r":          {},
		"a":                    {"a"},
		"  one two\tthree\n":   {"one", "two", "three"},
		"héllo\u00a0a😀b  x\vy": {"héllo\u00a0a😀b", "x", "y"}, // U+00A0 is not ASCII whitespace
	}
	for in, want := range cases {
		e.Reset()
		split(&e, []byte(in))
		if got := decode(t, &e); !reflect.DeepEqual(got, want) {
			t.Errorf("split(%q) = %#v", in, got)
		}
	}
	e.Reset()
	wordCounts(&e, []byte("b a b c b a"))
	want := xxplugin.Map{{Key: "b", Value: int64(3)}, {Key: "a", Value: int64(2)}, {Key: "c", Value: int64(1)}}
	if got := decode(t, &e); !reflect.DeepEqual(got, want) {
		t.Errorf("wordCounts = %#v", got)
	}
	e.Reset()
	wordCounts(&e, nil)
	if got := decode(t, &e); !reflect.DeepEqual(got, xxplugin.Map{}) {
		t.Errorf("wordCounts(\"\") = %#v", got)
	}
}

func TestSumAndIota(t *testing.T) {
	var e xxplugin.Encoder
	e.Value([]any{0.1, 0.2, int64(3), -1.5})
	a, b := 0.1, 0.2 // variables: a constant expression would be exact
	if got, err := sum(e.Bytes()); err != nil || got != ((a+b)+3)-1.5 {
		t.Errorf("sum = %v, %v", got, err)
	}
	e.Reset()
	e.ArrayHeader(0)
	if got, err := sum(e.Bytes()); err != nil || got != 0 {
		t.Errorf("sum([]) = %v, %v", got, err)
	}
	if _, err := sum([]byte{0x91, 0xa0}); err == nil {
		t.Errorf("sum([\"\"]) accepted")
	}
	for n, msg := range map[int64]string{-1: "negative length", 1_000_001: "too long", 0: "", 5: ""} {
		e.Reset()
		if got := iotaArray(&e, n); got != msg {
			t.Errorf("iotaArray(%d) = %q", n, got)
		}
	}
	e.Reset()
	iotaArray(&e, 1_000_000)
	v := decode(t, &e).([]any)
	if len(v) != 1_000_000 || v[999_999] != int64(999_999) {
		t.Errorf("iota(1000000): %d elements", len(v))
	}
}

func TestManifestLines(t *testing.T) {
	lines := strings.Split(strings.TrimSpace(manifest), "\n")
	if len(lines) != 3+15 {
		t.Errorf("manifest has %d lines", len(lines))
	}
	for _, l := range lines[3:] {
		if !strings.HasPrefix(l, "fn ") || !strings.Contains(l, " -- ") {
			t.Errorf("manifest line without a doc: %q", l)
		}
	}
}

// key is an int parameter as the host passes it (its low 8 bits are used).
func key(k int64) int64 { return k }
