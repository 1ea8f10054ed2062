package rules

import (
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/logshipper/logshipper/internal/event"
)

func rec(raw string) *event.Record { return &event.Record{Raw: []byte(raw)} }

const sample = `{
	"severity": "high",
	"type": "dlp",
	"count": 3,
	"bytes": 2048,
	"ratio": 0.75,
	"transaction_id": 1234567890123456789,
	"negative": -42,
	"ok": true,
	"nothing": null,
	"user": {"name": "alice", "roles": ["admin", "ops"], "address": {"city": "Lyon"}},
	"tags": ["a", "b"],
	"weird-key": "w",
	"dotted.key": 7
}`

func TestCompileExprMatch(t *testing.T) {
	tests := []struct {
		expr string
		want bool
	}{
		// strings
		{`severity == "high"`, true},
		{`severity == "low"`, false},
		{`severity != "low"`, true},
		{`severity in ["high", "critical"]`, true},
		{`severity in ["low", "medium"]`, false},
		{`severity not in ["low", "medium"]`, true},
		{`"a" in tags`, true},
		{`"z" in tags`, false},
		{`severity startsWith "hi"`, true},
		{`severity contains "ig"`, true},
		{`severity matches "^h.+h$"`, true},
		// integers (int64 after decoding) against int literals
		{`bytes > 1000`, true},
		{`bytes >= 2048`, true},
		{`bytes > 2048`, false},
		{`bytes < 2048.5`, true},
		{`bytes == 2048`, true},
		{`bytes in [1024, 2048]`, true},
		{`negative < 0`, true},
		{`negative == -42`, true},
		{`ratio > 0.5 && ratio < 1`, true},
		{`ratio == 0.75`, true},
		// a 19-digit id is compared exactly, not as a float64
		{`transaction_id == 1234567890123456789`, true},
		{`transaction_id == 1234567890123456788`, false},
		{`transaction_id == 1234567890123456790`, false},
		{`transaction_id > 1234567890123456788`, true},
		{`transaction_id < 1234567890123456789`, false},
		{`transaction_id in [1, 1234567890123456789]`, true},
		// booleans and null
		{`ok`, true},
		{`ok == true`, true},
		{`!ok`, false},
		{`nothing == nil`, true},
		// nested fields
		{`user.name == "alice"`, true},
		{`user.name == "bob"`, false},
		{`user["name"] == "alice"`, true},
		{`user.address.city == "Lyon"`, true},
		{`"admin" in user.roles`, true},
		{`user.missing == nil`, true},
		{`len(user.roles) == 2`, true},
		// missing fields are nil: comparisons are false, never errors
		{`missing == "x"`, false},
		{`missing != "x"`, true},
		{`missing == nil`, true},
		{`missing`, false},
		{`missing?.name == "x"`, false},
		{`severity == "high" && missing == "x"`, false},
		{`severity == "high" || missing == "x"`, true},
		// keys that are not identifiers, or that collide with built-in functions
		{`$env["weird-key"] == "w"`, true},
		{`$env["weird-key"] == "v"`, false},
		{`$env["dotted.key"] == 7`, true},
		{`$env["no-such-key"] == nil`, true},
		{`$env["type"] == "dlp"`, true},
		{`$env["count"] == 3`, true},
		// multi-line expressions
		{"severity == \"high\"\n  && bytes > 1000", true},
	}
	r := rec(sample)
	for _, tc := range tests {
		t.Run(tc.expr, func(t *testing.T) {
			rule, err := CompileExpr("r", tc.expr)
			if err != nil {
				t.Fatalf("CompileExpr: %v", err)
			}
			if rule.Name() != "r" || rule.MatchesAll() {
				t.Fatalf("Name = %q, MatchesAll = %v", rule.Name(), rule.MatchesAll())
			}
			got, err := rule.Match(r)
			if err != nil {
				t.Fatalf("Match: %v", err)
			}
			if got != tc.want {
				t.Fatalf("Match = %v; want %v", got, tc.want)
			}
		})
	}
}

func TestCompileExprErrors(t *testing.T) {
	pos := regexp.MustCompile(`line (\d+), column (\d+)`)
	tests := []struct {
		name    string
		expr    string
		wantSub string // in the error text
		wantPos string // "line L, column C" when the error has a position
	}{
		{"empty", "", "empty", ""},
		{"stray bracket", `a == 1 ) `, `")"`, "line 1, column 8"},
		{"bad operator", `severity === "high"`, "", "line 1, column 12"},
		{"error on second line", "a == 1 &&\n b ]", `"]"`, "line 2, column 4"},
		{"dangling operator", `severity ==`, "EOF", "line 1, column"},
		{"unclosed paren", `(severity == "high"`, "", "line 1, column"},
		{"unclosed string", `severity == "high`, "", "line 1, column"},
		{"bad regexp literal", `severity matches "("`, "regexp", "line 1, column 10"},
		{"non-bool int", `1 + 2`, "bool", ""},
		{"non-bool string", `"abc"`, "bool", ""},
		{"non-bool concatenation", `"a" + "b"`, "bool", ""},
		{"non-bool builtin", `len("abc")`, "bool", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := CompileExpr("r", tc.expr)
			if err == nil {
				t.Fatalf("CompileExpr(%q) = %v; want an error", tc.expr, r)
			}
			if r != nil {
				t.Errorf("CompileExpr returned a rule with its error")
			}
			msg := err.Error()
			if tc.wantSub != "" && !strings.Contains(msg, tc.wantSub) {
				t.Errorf("error %q does not contain %q", msg, tc.wantSub)
			}
			if tc.wantPos != "" {
				if !strings.Contains(msg, tc.wantPos) {
					t.Errorf("error %q does not contain %q", msg, tc.wantPos)
				}
				if !pos.MatchString(msg) {
					t.Errorf("error %q has no line/column", msg)
				}
			}
		})
	}
}

func TestCompileExprColumnIsOneBased(t *testing.T) {
	// The error is at the third '=' of "x ===", the 17th character.
	_, err := CompileExpr("r", `severity == x === 1`)
	if err == nil || !strings.Contains(err.Error(), "line 1, column 17") {
		t.Fatalf("err = %v; want it at line 1, column 17", err)
	}
}

func TestMatchRuntimeError(t *testing.T) {
	tests := []struct {
		expr string
		raw  string
	}{
		{`severity > 5`, `{"severity":"high"}`},                           // string > int
		{`bytes + "x" == "1x"`, `{"bytes":1}`},                            // int + string
		{`user.name == "alice"`, `{"user":"not-an-object"}`},              // field of a string
		{`missing.name == "alice"`, `{}`},                                 // field of nil: use ?.
		{`len(n) > 0`, `{"n":5}`},                                         // len of a number
		{`severity matches pattern`, `{"severity":"high","pattern":"("}`}, // bad regexp at run time
		{`nosuchfunc(severity)`, `{"severity":"high"}`},                   // an unknown name is a nil variable
		{`tags[5] == "a"`, `{"tags":["a"]}`},                              // index out of range
		{`ok && severity == "high"`, `{"ok":"yes","severity":"high"}`},    // non-bool operand
	}
	for _, tc := range tests {
		t.Run(tc.expr, func(t *testing.T) {
			rule, err := CompileExpr("my-rule", tc.expr)
			if err != nil {
				t.Fatalf("CompileExpr: %v", err)
			}
			got, err := rule.Match(rec(tc.raw))
			if err == nil {
				t.Fatalf("Match = %v, nil; want an error", got)
			}
			if got {
				t.Fatalf("Match = true with error %v; want false", err)
			}
			if !strings.Contains(err.Error(), "my-rule") {
				t.Errorf("error %q does not name the rule", err)
			}
		})
	}
}

func TestMatchUndecodableRecord(t *testing.T) {
	rule, err := CompileExpr("r", `severity == "high"`)
	if err != nil {
		t.Fatal(err)
	}
	for _, raw := range []string{``, `not json`, `[1,2]`, `"s"`, `null`, `{"a":`} {
		got, err := rule.Match(rec(raw))
		if err == nil || got {
			t.Errorf("Match(%q) = %v, %v; want false and an error", raw, got, err)
		}
	}
}

func TestAllMatchesEverything(t *testing.T) {
	s, err := NewSet()
	if err != nil {
		t.Fatal(err)
	}
	all, ok := s.Get(All)
	if !ok {
		t.Fatal("All is not in an empty set")
	}
	if all.Name() != All || !all.MatchesAll() {
		t.Fatalf("Name = %q, MatchesAll = %v", all.Name(), all.MatchesAll())
	}
	for _, raw := range []string{`{}`, sample, ``, `not json`, "\xff\xfe", `[1]`, `null`} {
		got, err := all.Match(rec(raw))
		if err != nil || !got {
			t.Errorf("All.Match(%q) = %v, %v; want true, nil", raw, got, err)
		}
	}
	if got, err := all.Match(&event.Record{}); err != nil || !got {
		t.Errorf("All.Match(empty record) = %v, %v", got, err)
	}
}

func mustCompile(t *testing.T, name, src string) *Rule {
	t.Helper()
	r, err := CompileExpr(name, src)
	if err != nil {
		t.Fatalf("CompileExpr(%s): %v", name, err)
	}
	return r
}

func TestSet(t *testing.T) {
	high := mustCompile(t, "high", `severity == "high"`)
	big := mustCompile(t, "big", `bytes > 1000`)
	s, err := NewSet(high, big)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := s.Names(), []string{All, "big", "high"}; !slices.Equal(got, want) {
		t.Fatalf("Names = %q; want %q", got, want)
	}
	for _, name := range []string{"high", "big", All} {
		r, ok := s.Get(name)
		if !ok || r.Name() != name {
			t.Errorf("Get(%q) = %v, %v", name, r, ok)
		}
	}
	if r, _ := s.Get("high"); r != high {
		t.Error("Get(high) is not the rule given")
	}
	if r, ok := s.Get("nope"); ok || r != nil {
		t.Errorf("Get(nope) = %v, %v; want nil, false", r, ok)
	}
	if _, ok := s.Get("all"); ok {
		t.Error("Get is case-insensitive")
	}
}

func TestSetDuplicates(t *testing.T) {
	tests := []struct {
		name  string
		rules []string
		dup   string
	}{
		{"same name twice", []string{"a", "b", "a"}, "a"},
		{"redefines All", []string{"x", All}, All},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var rs []*Rule
			for _, n := range tc.rules {
				rs = append(rs, mustCompile(t, n, `true`))
			}
			s, err := NewSet(rs...)
			if err == nil {
				t.Fatalf("NewSet = %v; want an error", s.Names())
			}
			if !strings.Contains(err.Error(), `"`+tc.dup+`"`) {
				t.Errorf("error %q does not name %q", err, tc.dup)
			}
		})
	}
}

func TestMatchConcurrent(t *testing.T) {
	// Rules are compiled once and shared by every route; a record's fields are shared by every
	// rule that looks at it.
	rules := []*Rule{
		mustCompile(t, "a", `severity == "high" && transaction_id == 1234567890123456789`),
		mustCompile(t, "b", `"admin" in user.roles`),
		mustCompile(t, "c", `bytes < 10`),
	}
	want := []bool{true, true, false}
	records := make([]*event.Record, 50)
	for i := range records {
		records[i] = rec(sample)
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for _, r := range records {
				for i, rule := range rules {
					got, err := rule.Match(r)
					if err != nil || got != want[i] {
						t.Errorf("goroutine %d: %s.Match = %v, %v", g, rule.Name(), got, err)
						return
					}
				}
			}
		})
	}
	wg.Wait()
}

func BenchmarkRuleMatch(b *testing.B) {
	rule, err := CompileExpr("bench", `severity in ["high", "critical"] && bytes > 1000 && user.name == "alice"`)
	if err != nil {
		b.Fatal(err)
	}
	r := rec(sample)
	if ok, err := rule.Match(r); err != nil || !ok {
		b.Fatalf("Match = %v, %v", ok, err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := rule.Match(r); err != nil {
			b.Fatal(err)
		}
	}
}

// Integers above the int64 range (decoded as uint64) compare by their value in expressions.
func TestExprComparesHugeIntegers(t *testing.T) {
	const huge = `{"id":18446744073709551615,"nested":{"n":18446744073709551000},"list":[18446744073709551615],"small":3}`
	for _, c := range []struct {
		expr string
		want bool
	}{
		{`id > 5`, true},
		{`id < 5`, false},
		{`id > 9223372036854775807`, true},
		{`nested.n > 1e19`, true},
		{`list[0] > 0`, true},
		{`small == 3`, true},
	} {
		r, err := CompileExpr("huge", c.expr)
		if err != nil {
			t.Fatalf("%s: %v", c.expr, err)
		}
		rec := &event.Record{Raw: []byte(huge)}
		got, err := r.Match(rec)
		if err != nil || got != c.want {
			t.Errorf("%s = %v, %v; want %v", c.expr, got, err, c.want)
		}
		f, _ := rec.Fields()
		if _, ok := f["id"].(uint64); !ok {
			t.Fatalf("the record's own fields were changed: id is %T", f["id"])
		}
	}
}
