package rules

import (
	"reflect"
	"testing"

	"github.com/logshipper/logshipper/internal/event"
)

func TestNeeds(t *testing.T) {
	for _, tc := range []struct {
		name, expr, mongo string
		want              []string
		all               bool
	}{
		{name: "expr fields", expr: `severity == "high" && user.name startsWith "a" && len(tags) > 0`, want: []string{"severity", "tags", "user"}},
		{name: "expr $env", expr: `$env["odd-key"] == 1`, all: true},
		{name: "mongo", mongo: `{"$and":[{"event_type":{"$ne":"page"}},{"$or":[{"alert_type":"dlp"},{"a.b":{"$gt":1}}]}]}`, want: []string{"a", "a.b", "alert_type", "event_type"}},
		{name: "mongo not", mongo: `{"x":{"$not":{"$eq":1}}}`, want: []string{"x"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var r *Rule
			var err error
			if tc.expr != "" {
				r, err = CompileExpr("r", tc.expr)
			} else {
				r, err = CompileMongo("r", []byte(tc.mongo))
			}
			if err != nil {
				t.Fatal(err)
			}
			got, all := r.Needs()
			if all != tc.all || !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("Needs() = %v, %v; want %v, %v", got, all, tc.want, tc.all)
			}
		})
	}
}

// TestMatchOnNeededFieldsOnly: a rule judges a record the same from the fields it Needs as
// from the whole record.
func TestMatchOnNeededFieldsOnly(t *testing.T) {
	recs := []string{
		`{"severity":"high","user":{"name":"alice"},"tags":["x"],"event_type":"audit","alert_type":"dlp","a":{"b":2},"n":18446744073709551615}`,
		`{"severity":"low","user":{"name":"bob"},"tags":[],"event_type":"page","a.b":5,"x":1}`,
		`{"other":true}`,
	}
	rules := []*Rule{}
	for _, e := range []string{`severity == "high"`, `user.name startsWith "a" || len(tags) == 0`, `n > 1`, `x == 1 or other`} {
		r, err := CompileExpr(e, e)
		if err != nil {
			t.Fatal(err)
		}
		rules = append(rules, r)
	}
	for _, m := range []string{`{"$and":[{"event_type":{"$ne":"page"}},{"$or":[{"alert_type":"dlp"},{"a.b":{"$gt":1}}]}]}`, `{"x":{"$not":{"$eq":1}}}`, `{"n":{"$gt":1}}`} {
		r, err := CompileMongo(m, []byte(m))
		if err != nil {
			t.Fatal(err)
		}
		rules = append(rules, r)
	}
	for _, r := range rules {
		keys, all := r.Needs()
		if all {
			t.Fatalf("%s: needs all", r.Name())
		}
		want := map[string]struct{}{}
		for _, k := range keys {
			want[k] = struct{}{}
		}
		for _, raw := range recs {
			full, errFull := r.Match(&event.Record{Raw: []byte(raw)})
			some, u, err := (&event.Record{Raw: []byte(raw)}).FieldsNamed(want)
			if err != nil {
				t.Fatal(err)
			}
			part, errPart := r.MatchFields(some, u)
			if full != part || (errFull == nil) != (errPart == nil) {
				t.Errorf("%s on %s: whole record %v (%v), needed fields %v (%v)", r.Name(), raw, full, errFull, part, errPart)
			}
		}
	}
}
