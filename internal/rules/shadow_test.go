package rules

import (
	"testing"

	"github.com/logshipper/logshipper/internal/event"
)

// Netskope records have fields named like expr builtins; rules must reach the fields.
func TestFieldsNamedLikeBuiltins(t *testing.T) {
	rec := &event.Record{Raw: []byte(`{"type":"nspolicy","count":3,"date":"2026-11-23"}`)}
	for _, src := range []string{`type == "nspolicy"`, `count > 2`, `date startsWith "2026"`, `len(type) == 8`} {
		r, err := CompileExpr("r", src)
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		if ok, err := r.Match(rec); !ok || err != nil {
			t.Errorf("%s: match %v, err %v", src, ok, err)
		}
	}
}
