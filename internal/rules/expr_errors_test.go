package rules

import (
	"errors"
	"strings"
	"testing"
)

// An expression that fails on a record's values says which rule, which field and which value
// types, without Go's internals.
func TestMatchErrorExplains(t *testing.T) {
	fields := map[string]any{"user": map[string]any{"name": "a"}, "severity": "high", "bytes": int64(5), "tags": []any{"a"}}
	tests := []struct {
		src  string
		want []string
	}{
		{`user[bytes] == "x"`, []string{`rule r: user is an object, whose keys are strings, and it is indexed with a number (write user["key"])`, `at line 1, column 5 of "user[bytes] == \"x\""`}},
		{`$env[1] == "x"`, []string{"$env is an object, whose keys are strings, and it is indexed with a number"}},
		{`severity > 5`, []string{"invalid operation: a string > a number", "column 10"}},
		{`bytes + "a" == "b"`, []string{"invalid operation: a number + a string"}},
		{`len(bytes) > 1`, []string{"invalid argument for len (type a number)"}},
	}
	for _, tc := range tests {
		r, err := CompileExpr("r", tc.src)
		if err != nil {
			t.Fatalf("%s: %v", tc.src, err)
		}
		_, err = r.MatchFields(fields, false)
		var me *MatchError
		if !errors.As(err, &me) {
			t.Fatalf("%s: %v, want a *MatchError", tc.src, err)
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: %q lacks %q", tc.src, err, w)
			}
		}
		for _, leak := range []string{"reflect.", "int64", "interface {}"} {
			if strings.Contains(err.Error(), leak) {
				t.Errorf("%s: %q shows Go's %q", tc.src, err, leak)
			}
		}
	}
}
