package config

import (
	"errors"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/logshipper/logshipper/internal/suggest"
)

func TestEditDistance(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"", "", 0},
		{"a", "", 1},
		{"", "abc", 3},
		{"same", "same", 0},
		{"kitten", "sitting", 3},
		{"flaw", "lawn", 2},
		{"data_dri", "data_dir", 1}, // a swap is one edit
		{"nmae", "name", 1},
		{"nmae", "map", 2},
		{"ab", "ba", 1},
		{"abc", "ca", 3}, // optimal string alignment: a swapped pair is not edited again
		{"tpye", "type", 1},
		{"pathz", "paths", 1},
		{"path", "paths", 1},
		{"wokers", "workers", 1},
		{"lvl", "level", 2},
		{"max_record", "max_records", 1},
		{"colour", "color", 1},
		{"abc", "xyz", 3},
		{"Data_Dir", "data_dir", 2}, // case counts
		{"héllo", "hello", 2},       // bytes, not runes
	}
	for _, tt := range tests {
		if got := suggest.Distance(tt.a, tt.b); got != tt.want {
			t.Errorf("suggest.Distance(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
		if got := suggest.Distance(tt.b, tt.a); got != tt.want {
			t.Errorf("suggest.Distance(%q, %q) = %d, want %d (not symmetric)", tt.b, tt.a, got, tt.want)
		}
	}
}

func fieldsOf(names ...string) map[string]reflect.Type {
	m := map[string]reflect.Type{}
	for _, n := range names {
		m[n] = reflect.TypeFor[string]()
	}
	return m
}

func TestUnknownKey(t *testing.T) {
	fields := fieldsOf("path", "paths", "format", "follow", "eps", "name", "type")
	tests := []struct {
		key    string
		fields map[string]reflect.Type
		want   string
	}{
		{"pathz", fields, `unknown key (did you mean "path"?)`},  // a tie goes to the first in order
		{"pahts", fields, `unknown key (did you mean "paths"?)`}, // one swap
		{"PATHS", fields, `unknown key (did you mean "paths"?)`}, // case is ignored
		{"fromat", fields, `unknown key (did you mean "format"?)`},
		{"folow", fields, `unknown key (did you mean "follow"?)`},
		{"ep", fields, `unknown key (did you mean "eps"?)`},
		{"x", fields, "unknown key (known keys: eps, follow, format, name, path, paths, type)"},
		{"nmae", fields, `unknown key (did you mean "name"?)`},
		{"typo", fields, `unknown key (did you mean "type"?)`},
		{"colour", fields, "unknown key (known keys: eps, follow, format, name, path, paths, type)"},
		{"lines", fields, "unknown key (known keys: eps, follow, format, name, path, paths, type)"},
		{"anything", fieldsOf(), "unknown key (this section takes no keys)"},
		{"anything", nil, "unknown key (this section takes no keys)"},
	}
	for _, tt := range tests {
		if got := unknownKey(tt.key, tt.fields).Error(); got != tt.want {
			t.Errorf("unknownKey(%q) = %q, want %q", tt.key, got, tt.want)
		}
	}
	// Only a distance of two or less is a suggestion.
	for key, want := range map[string]bool{"abcd": false, "abcde": false, "abcdef": true, "abcdefgh": true, "abcdefghij": true, "abcdefghijk": false, "bacdefhg": true, "badcefhg": false} {
		got := strings.Contains(unknownKey(key, fieldsOf("abcdefgh")).Error(), "did you mean")
		if got != want {
			t.Errorf("unknownKey(%q) suggests: %v, want %v", key, got, want)
		}
	}
}

func TestJoinPath(t *testing.T) {
	for _, tt := range []struct{ base, key, want string }{
		{"", "log", "log"},
		{"log", "level", "log.level"},
		{"plugins[2] (lake)", "batch", "plugins[2] (lake): batch"},
		{"plugins[2] (lake): batch", "max_records", "plugins[2] (lake): batch.max_records"},
		{"plugins[2]", "batch", "plugins[2].batch"},
		{"map", "k", "map.k"},
	} {
		if got := joinPath(tt.base, tt.key); got != tt.want {
			t.Errorf("joinPath(%q, %q) = %q, want %q", tt.base, tt.key, got, tt.want)
		}
	}
}

func TestLineError(t *testing.T) {
	e := errors.New("bad")
	for _, tt := range []struct {
		le   LineError
		want string
	}{
		{LineError{Line: 3, Path: "log.level", Err: e}, "line 3: log.level: bad"},
		{LineError{Line: 3, Err: e}, "line 3: bad"},
		{LineError{Path: "admin", Err: e}, "admin: bad"},
		{LineError{Err: e}, "bad"},
	} {
		if got := tt.le.Error(); got != tt.want {
			t.Errorf("%+v: %q, want %q", tt.le, got, tt.want)
		}
		if !errors.Is(&tt.le, e) {
			t.Errorf("%+v does not unwrap", tt.le)
		}
	}
}

func TestPathHelpers(t *testing.T) {
	for _, tt := range []struct {
		p, q  string
		under bool
	}{
		{"plugins[0] (x)", "plugins[0]", true},
		{"plugins[0] (x): eps", "plugins[0] (x)", true},
		{"plugins[0] (x): batch.max_records", "plugins[0] (x): batch", true},
		{"log.level", "log", true},
		{"list[1]", "list", true},
		{"plugins[10]", "plugins[1]", false},
		{"logs", "log", false},
		{"log", "log", false},
		{"log", "log.level", false},
	} {
		if got := isUnder(tt.p, tt.q); got != tt.under {
			t.Errorf("isUnder(%q, %q) = %v", tt.p, tt.q, got)
		}
	}
	for _, tt := range []struct{ a, b, want string }{
		{"batch.max_records", "batch.max_bytes", "batch"},
		{"plugins[0] (out): name", "plugins[0] (out): type", "plugins[0] (out)"},
		{"plugins[0] (a.b): x", "plugins[0] (a.b): y", "plugins[0] (a.b)"},
		{"plugins[1]", "plugins[10]", "plugins"},
		{"log", "admin", ""},
		{"log.level", "log", "log"},
	} {
		if got := commonPath(tt.a, tt.b); got != tt.want {
			t.Errorf("commonPath(%q, %q) = %q, want %q", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestNotePath(t *testing.T) {
	lines := linePaths{}
	// A mapping that starts on its first key's line: the deeper path wins, in any order.
	notePath(lines, 1, "plugins[0] (x): batch")
	notePath(lines, 1, "plugins[0] (x): batch.max_records")
	notePath(lines, 1, "plugins[0] (x)")
	// A flow mapping: the keys' common parent, which a later key does not replace.
	notePath(lines, 2, "plugins[1] (y)")
	notePath(lines, 2, "plugins[1] (y): name")
	notePath(lines, 2, "plugins[1] (y): type")
	notePath(lines, 2, "plugins[1] (y): workers")
	notePath(lines, 2, "plugins[1] (y): batch.max_wait")
	// Empty paths and nil maps are ignored.
	notePath(lines, 3, "")
	notePath(nil, 3, "x")
	if got := lines[1].path; got != "plugins[0] (x): batch.max_records" {
		t.Errorf("line 1: %q", got)
	}
	if got := lines[2]; got.path != "plugins[1] (y)" || !got.shared {
		t.Errorf("line 2: %+v", got)
	}
	if _, ok := lines[3]; ok {
		t.Errorf("line 3 recorded")
	}
}

type inner struct {
	Max  int           `yaml:"max"`
	Wait time.Duration `yaml:"wait"`
}

type selfDecoding struct{ raw string }

func (s *selfDecoding) UnmarshalYAML(n *yaml.Node) error { s.raw = n.Value; return nil }

type embedded struct {
	Extra string `yaml:"extra"`
}

type checked struct {
	embedded `yaml:",inline"`
	Name     string           `yaml:"name"`
	Inner    inner            `yaml:"inner"`
	List     []inner          `yaml:"list"`
	Map      map[string]inner `yaml:"map"`
	Self     selfDecoding     `yaml:"self"`
	Node     yaml.Node        `yaml:"node"`
	Any      any              `yaml:"any"`
	Ptr      *inner           `yaml:"ptr"`
	Skipped  string           `yaml:"-"`
	NoTag    string
	private  string
}

func TestYAMLFields(t *testing.T) {
	var got []string
	for k := range yamlFields(reflect.TypeFor[checked]()) {
		got = append(got, k)
	}
	sort.Strings(got)
	want := []string{"any", "extra", "inner", "list", "map", "name", "node", "notag", "ptr", "self"}
	if !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestCheckKeys(t *testing.T) {
	doc := `
name: x
nmae: y
extra: e
inner: {max: 1, wiat: 2s}
list:
  - {max: 1}
  - {mx: 2}
map:
  a: {max: 1}
  b: {wait: 1s, min: 0}
self: {anything: goes}
node: {anything: goes}
any: {anything: goes}
ptr:
  <<: {max: 1, bogus: 2}
  wait: 1s
base: &base {max: 1, nope: 1}
notag: t
Skipped: s
private: p
`
	n := parseNode(t, doc)
	var errs []error
	lines := linePaths{}
	checkKeys(n, reflect.TypeFor[checked](), "", &errs, lines)
	var got []string
	for _, e := range errs {
		got = append(got, e.Error())
	}
	want := []string{
		`line 3: nmae: unknown key (did you mean "name"?)`,
		`line 5: inner.wiat: unknown key (did you mean "wait"?)`,
		`line 8: list[1].mx: unknown key (did you mean "max"?)`,
		`line 11: map.b.min: unknown key (did you mean "max"?)`,
		`line 16: ptr.bogus: unknown key (known keys: max, wait)`,
		`line 18: base: unknown key (did you mean "name"?)`,
		`line 20: Skipped: unknown key (known keys: any, extra, inner, list, map, name, node, notag, ptr, self)`,
		`line 21: private: unknown key (known keys: any, extra, inner, list, map, name, node, notag, ptr, self)`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// The deepest known key of each line; unknown keys are not decoded, so never the place of a
	// type error.
	for line, want := range map[int]string{2: "name", 5: "inner.max", 7: "list[0].max", 11: "map.b.wait", 17: "ptr.wait"} {
		if got := lines[line].path; got != want {
			t.Errorf("line %d: path %q, want %q", line, got, want)
		}
	}
}

// A merge of several mappings checks each of them.
func TestCheckKeysMergeList(t *testing.T) {
	n := parseNode(t, "a: &a {max: 1}\nb: &b {wiat: 1s}\nc:\n  <<: [*a, *b]\n")
	var errs []error
	checkKeys(find(t, n, "c"), reflect.TypeFor[inner](), "c", &errs, nil)
	if len(errs) != 1 || errs[0].Error() != `line 2: c.wiat: unknown key (did you mean "wait"?)` {
		t.Errorf("errs = %v", errs)
	}
}

func TestParentPathAndLeadingKey(t *testing.T) {
	for in, want := range map[string]string{
		"plugins[1] (out): batch.max_records": "plugins[1] (out): batch",
		"plugins[1] (out): batch":             "plugins[1] (out)",
		"plugins[1] (out)":                    "plugins[1]",
		"plugins[1]":                          "plugins",
		"siem_mappings[0].rule":               "siem_mappings[0]",
		"log":                                 "",
	} {
		if got := parentPath(in); got != want {
			t.Errorf("parentPath(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]string{
		"batch.max_records: must be at least 1": "batch.max_records",
		"name: missing":                         "name",
		"the same source, rule and destination": "",
		`"x" is not host:port`:                  "",
	} {
		if got := leadingKey(in); got != want {
			t.Errorf("leadingKey(%q) = %q, want %q", in, got, want)
		}
	}
}
