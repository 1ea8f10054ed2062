package jsonx

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// validitySeeds are inputs at the edges of JSON's grammar.
var validitySeeds = []string{
	`{}`, `[]`, `{"a":1}`, `{"a":-0.5e+10}`, `{"a":01}`, `{"a":1.}`, `{"a":.5}`, `{"a":-}`, `{"a":1e}`,
	`{"a":"\u00e9\n"}`, `{"a":"\x"}`, `{"a":"\u12"}`, "{\"a\":\"\x01\"}", `{"a":tru}`, `{"a":null,"b":[true,false]}`,
	`{"a":1,}`, `{,}`, `{"a" 1}`, `[1,2,]`, `"s"`, `12`, ` {"a" : [ {} , [] ] } `, `{"a":1}{}`, `{"a":"é"}`,
	`{"a":9007199254740993123}`, `[[[[[]]]]]`, `{"a":{"b":{"c":"}"}}}`, `nul`, ``, ` `, `"\`, `"\u`, `{"a`,
	`{"a":"b\\"}`, `{"\u0041":1}`, `[1 2]`, `{"a":1 "b":2}`, `-`, `-0`, `0.0e-0`, `1E+`,
}

func TestValidAgreesWithEncodingJSON(t *testing.T) {
	for _, s := range validitySeeds {
		if got, want := Valid([]byte(s)), json.Valid([]byte(s)); got != want {
			t.Errorf("Valid(%q) = %v, encoding/json says %v", s, got, want)
		}
	}
}

func TestMaxDepth(t *testing.T) {
	for _, tc := range []struct {
		depth int
		valid bool
	}{{MaxDepth, true}, {MaxDepth + 1, false}} {
		in := strings.Repeat("[", tc.depth) + strings.Repeat("]", tc.depth)
		if got := Valid([]byte(in)); got != tc.valid {
			t.Errorf("depth %d: Valid = %v, want %v", tc.depth, got, tc.valid)
		}
	}
}

func TestSyntaxErrorOffset(t *testing.T) {
	s := Scanner{B: []byte(`{"a":[1,2,x]}`)}
	err := s.Skip()
	var se *SyntaxError
	if !errors.As(err, &se) || se.Offset != 10 {
		t.Fatalf("err %v, want a SyntaxError at byte 10", err)
	}
}

func TestObjectMembers(t *testing.T) {
	b := []byte(`{ "a" : 1 , "b\"c":{"x":[1,"]"]},"d":"e" }`)
	s := Scanner{B: b}
	type m struct {
		key   string
		esc   bool
		value string
	}
	var got []m
	if err := s.Object(func(key []byte, escaped bool, vs, ve int) {
		got = append(got, m{string(key), escaped, string(b[vs:ve])})
	}); err != nil {
		t.Fatal(err)
	}
	want := []m{{"a", false, "1"}, {`b\"c`, true, `{"x":[1,"]"]}`}, {"d", false, `"e"`}}
	if len(got) != len(want) {
		t.Fatalf("members %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("member %d: %+v, want %+v", i, got[i], want[i])
		}
	}
	if s.I != len(b) || s.Depth != 0 {
		t.Errorf("stopped at %d (depth %d), want %d (depth 0)", s.I, s.Depth, len(b))
	}
}

func TestSkipUnchecked(t *testing.T) {
	for _, tc := range []struct {
		in   string
		stop int // where it stops: the delimiter after the value
		err  bool
	}{
		{`{"_id": broken, "x":[1,{"y":"}"}]},{}`, 34, false},
		{`12 , 3`, 3, false},
		{`"a\",b",x`, 7, false},
		{`[1,2]]`, 5, false},
		{`{"a":"unterminated`, 0, true},
		{`{"a":[1,2`, 0, true},
		{`"\`, 0, true},
		{`tru`, 3, false},
	} {
		s := Scanner{B: []byte(tc.in)}
		err := s.SkipUnchecked()
		if (err != nil) != tc.err || !tc.err && s.I != tc.stop {
			t.Errorf("%q: stopped at %d (%v), want %d (error %v)", tc.in, s.I, err, tc.stop, tc.err)
		}
	}
}

func FuzzValid(f *testing.F) {
	for _, s := range validitySeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := Valid([]byte(s)), json.Valid([]byte(s)); got != want {
			t.Fatalf("Valid(%q) = %v, encoding/json says %v", s, got, want)
		}
		// Whatever the input, SkipUnchecked stays within it.
		sc := Scanner{B: []byte(s)}
		if sc.SkipUnchecked() == nil && sc.I > len(s) {
			t.Fatalf("SkipUnchecked(%q) stopped at %d, past the input", s, sc.I)
		}
	})
}
