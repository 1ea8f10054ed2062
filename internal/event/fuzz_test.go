package event

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// FuzzFields: Fields accepts exactly the input that is one JSON object (and white space), as
// encoding/json reads it; every integer keeps its value exactly (int64, else uint64, and HasUint64
// says when a uint64 is there); other numbers are the float64 encoding/json gives.
func FuzzFields(f *testing.F) {
	for _, glob := range []string{"../mapping/testdata/records/*.json", "../cloudtrailrecord/testdata/awsdocs/*.json"} {
		files, _ := filepath.Glob(glob)
		for _, p := range files {
			if b, err := os.ReadFile(p); err == nil {
				f.Add(b)
			}
		}
	}
	for _, s := range []string{`{"a":1}`, `{"id":18446744073709551615,"n":-9223372036854775808,"x":1e400}`, `{"a":1}{"b":2}`,
		`{"a":1} `, `[1]`, `null`, `{"a":[1.5,-0,1E2,{"b":9223372036854775808}]}`, `{"a":"\ud800"}`, "{\"a\":\"\xff\"}"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		r := &Record{Raw: raw}
		fields, err := r.Fields()
		trimmed := bytes.TrimLeft(raw, " \t\r\n")
		want := json.Valid(raw) && len(trimmed) > 0 && trimmed[0] == '{'
		if (err == nil) != want {
			t.Fatalf("Fields(%q) error %v; one JSON object: %v", raw, err, want)
		}
		if err != nil {
			if fields != nil || r.HasUint64() {
				t.Fatalf("fields %v with error %v", fields, err)
			}
			return
		}
		var ref map[string]any
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		if err := dec.Decode(&ref); err != nil {
			t.Fatalf("encoding/json: %v", err)
		}
		saw := false
		checkNumbers(t, ref, fields, &saw)
		if saw != r.HasUint64() {
			t.Fatalf("HasUint64 = %v, a uint64 is there: %v", r.HasUint64(), saw)
		}
	})
}

// checkNumbers compares a tree decoded with UseNumber to the one Fields made.
func checkNumbers(t *testing.T, ref, got any, sawUint64 *bool) {
	t.Helper()
	switch w := ref.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok || len(g) != len(w) {
			t.Fatalf("object %v became %#v", w, got)
		}
		for k, v := range w {
			checkNumbers(t, v, g[k], sawUint64)
		}
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			t.Fatalf("array %v became %#v", w, got)
		}
		for i := range w {
			checkNumbers(t, w[i], g[i], sawUint64)
		}
	case json.Number:
		s := string(w)
		switch g := got.(type) {
		case int64:
			if n, err := strconv.ParseInt(s, 10, 64); err != nil || n != g { // -0 is 0
				t.Fatalf("integer %s became %d", s, g)
			}
		case uint64:
			*sawUint64 = true
			if strconv.FormatUint(g, 10) != s {
				t.Fatalf("integer %s became %d", s, g)
			}
		case float64:
			if _, err := strconv.ParseInt(s, 10, 64); err == nil {
				t.Fatalf("integer %s became the float %v", s, g)
			}
			if _, err := strconv.ParseUint(s, 10, 64); err == nil {
				t.Fatalf("integer %s became the float %v", s, g)
			}
			if want, err := w.Float64(); err == nil && want != g {
				t.Fatalf("number %s became %v, want %v", s, g, want)
			}
		case string:
			if _, err := w.Float64(); err == nil || g != s {
				t.Fatalf("number %s became the string %q", s, g)
			}
		default:
			t.Fatalf("number %s became %#v", s, got)
		}
	default:
		if !equalScalar(ref, got) {
			t.Fatalf("%#v became %#v", ref, got)
		}
	}
}

func equalScalar(a, b any) bool {
	switch a.(type) {
	case nil, bool, string:
		return a == b
	}
	return false
}
