package jsonx

import (
	"bytes"
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

func TestDepthLimit(t *testing.T) {
	nest := func(n int) []byte { return []byte(strings.Repeat("[", n) + strings.Repeat("]", n)) }
	for _, tc := range []struct {
		name         string
		limit, start int // DepthLimit, and the nesting the scanner starts at
		depth        int // of the input
		ok           bool
	}{
		{"at the limit", 5, 0, 5, true},
		{"one beyond", 5, 0, 6, false},
		{"counted from the start depth", 5, 2, 3, true},
		{"beyond from the start depth", 5, 2, 4, false},
		{"zero means MaxDepth", 0, 0, MaxDepth, true},
		{"never above MaxDepth", MaxDepth + 5, 0, MaxDepth + 1, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := Scanner{B: nest(tc.depth), Depth: tc.start, DepthLimit: tc.limit}
			err := s.Skip()
			if (err == nil) != tc.ok {
				t.Fatalf("Skip: %v, want success %v", err, tc.ok)
			}
			if tc.ok && s.Depth != tc.start {
				t.Errorf("depth %d after the value, want %d", s.Depth, tc.start)
			}
			o := Scanner{B: []byte(`{"a":` + string(nest(tc.depth-1)) + `}`), Depth: tc.start, DepthLimit: tc.limit}
			if err := o.Object(func([]byte, bool, int, int) {}); (err == nil) != tc.ok {
				t.Errorf("Object: %v, want success %v", err, tc.ok)
			}
		})
	}
}

func TestReadString(t *testing.T) {
	for _, tc := range []struct {
		in      string
		content string // B[start:end]
		decode  bool
		err     bool
	}{
		{`"plain" tail`, `plain`, false, false},
		{`""`, ``, false, false},
		{`"café, naïve"`, `café, naïve`, false, false},
		{"\"\xff\xfe\"", "\xff\xfe", true, false},
		{"\"ok then \xe9\"", "ok then \xe9", true, false},
		{`"caf\u00e9"`, `caf\u00e9`, true, false},
		{`"é\n"`, `é\n`, true, false},
		{`"a\"b"`, `a\"b`, true, false},
		{`"long enough to be read eight bytes at a time, then \n an escape"`, `long enough to be read eight bytes at a time, then \n an escape`, true, false},
		{`"unterminated`, ``, false, true},
		{`"unterminated é`, ``, false, true},
		{"\"ctl \x01\"", ``, false, true},
		{"\"é ctl \x01\"", ``, false, true},
		{`"bad \x"`, ``, false, true},
		{`"\u12"`, ``, false, true},
		{`"\`, ``, false, true},
	} {
		s := Scanner{B: []byte(tc.in)}
		start, end, decode, err := s.ReadString()
		if tc.err {
			if err == nil {
				t.Errorf("%q: no error", tc.in)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tc.in, err)
			continue
		}
		if got := tc.in[start:end]; got != tc.content || decode != tc.decode || s.I != end+1 {
			t.Errorf("%q: content %q decode %v, stopped at %d; want %q %v, %d", tc.in, got, decode, s.I, tc.content, tc.decode, end+1)
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
		// A string ReadString accepts decodes as encoding/json decodes it.
		if len(s) > 0 && s[0] == '"' {
			sc := Scanner{B: []byte(s)}
			start, end, decode, err := sc.ReadString()
			var want string
			if jerr := json.Unmarshal([]byte(s[:max(sc.I, 1)]), &want); (err == nil) != (jerr == nil) {
				t.Fatalf("ReadString(%q): %v, encoding/json %v", s, err, jerr)
			}
			got := s[start:end]
			if decode {
				got = string(AppendUnescaped(nil, []byte(got)))
			}
			if err == nil && got != want {
				t.Fatalf("ReadString(%q) = %q (decode %v), encoding/json %q", s, got, decode, want)
			}
		}
		// Whatever the input, SkipUnchecked stays within it.
		sc := Scanner{B: []byte(s)}
		if sc.SkipUnchecked() == nil && sc.I > len(s) {
			t.Fatalf("SkipUnchecked(%q) stopped at %d, past the input", s, sc.I)
		}
	})
}

func TestAppendCompact(t *testing.T) {
	for _, in := range append(validitySeeds, " {\n \"a\" : [ 1 , \"b c\\\" d\" ,\t{ } ]\r\n} ", `"  \\ "`) {
		var want bytes.Buffer
		wantErr := json.Compact(&want, []byte(in))
		got, err := AppendCompact([]byte("x"), []byte(in))
		if (err != nil) != (wantErr != nil) {
			t.Errorf("%q: error %v, encoding/json says %v", in, err, wantErr)
			continue
		}
		if err != nil {
			if string(got) != "x" {
				t.Errorf("%q: appended %q on error", in, got[1:])
			}
			continue
		}
		if string(got[1:]) != want.String() {
			t.Errorf("%q: %q, want %q", in, got[1:], want.String())
		}
		if IsCompact([]byte(in)) != (want.String() == in) {
			t.Errorf("%q: IsCompact %v", in, IsCompact([]byte(in)))
		}
	}
}

func FuzzAppendCompact(f *testing.F) {
	for _, s := range validitySeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		var want bytes.Buffer
		wantErr := json.Compact(&want, []byte(in))
		got, err := AppendCompact(nil, []byte(in))
		if (err != nil) != (wantErr != nil) || err == nil && string(got) != want.String() {
			t.Fatalf("%q: %q (%v), encoding/json gives %q (%v)", in, got, err, want.String(), wantErr)
		}
		if wantErr == nil && IsCompact([]byte(in)) != (want.String() == in) {
			t.Fatalf("%q: IsCompact %v", in, IsCompact([]byte(in)))
		}
	})
}

// walkSkipping walks the value at I with Members and Elements down to the scalars, which it
// skips; every JSON value Valid accepts walks without error, and every one it refuses fails.
func walkSkipping(s *Scanner) error {
	switch s.B[s.I] {
	case '{':
		return s.Members(func([]byte, bool) error { return walkSkipping(s) })
	case '[':
		return s.Elements(func() error { return walkSkipping(s) })
	}
	return s.Skip()
}

func TestMembersElementsAgreeWithValid(t *testing.T) {
	for _, in := range validitySeeds {
		s := Scanner{B: []byte(in)}
		s.WS()
		err := error(s.Fail("empty"))
		if s.I < len(s.B) {
			err = walkSkipping(&s)
		}
		if err == nil {
			if s.WS(); s.I != len(s.B) {
				err = s.Fail("data after the value")
			}
		}
		if (err == nil) != json.Valid([]byte(in)) {
			t.Errorf("%q: walk error %v, encoding/json valid %v", in, err, json.Valid([]byte(in)))
		}
		if err == nil && s.Depth != 0 {
			t.Errorf("%q: depth %d after the walk", in, s.Depth)
		}
	}
}

func TestMembersElements(t *testing.T) {
	b := []byte(` { "a" : [ 1 , "x" , { "b\"" : null } ] , "c" : {} , "d" : [] } `)
	s := Scanner{B: b}
	s.WS()
	var seen []string
	err := s.Members(func(key []byte, escaped bool) error {
		seen = append(seen, string(key))
		if string(key) != "a" {
			return s.Skip()
		}
		return s.Elements(func() error {
			seen = append(seen, "elem:"+string(b[s.I]))
			if b[s.I] == '{' {
				return s.Members(func(key []byte, escaped bool) error {
					if !escaped {
						t.Errorf("key %s: escaped not set", key)
					}
					seen = append(seen, string(key))
					return s.Skip()
				})
			}
			return s.Skip()
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	want := `a elem:1 elem:" elem:{ b\" c d`
	if got := strings.Join(seen, " "); got != want {
		t.Errorf("walk %s, want %s", got, want)
	}
	if s.Depth != 0 {
		t.Errorf("depth %d", s.Depth)
	}
	// The member function's error ends the walk.
	stop := errors.New("stop")
	s = Scanner{B: []byte(`{"a":1,"b":2}`)}
	n := 0
	if err := s.Members(func([]byte, bool) error { n++; return stop }); !errors.Is(err, stop) || n != 1 {
		t.Errorf("error %v after %d members", err, n)
	}
	s = Scanner{B: []byte(`[[[1]]]`), DepthLimit: 2}
	if err := walkSkipping(&s); err == nil {
		t.Error("a walk deeper than DepthLimit passed")
	}
}
