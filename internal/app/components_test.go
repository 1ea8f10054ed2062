package app

import (
	"fmt"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/logshipper/logshipper/internal/cluster"
	"github.com/logshipper/logshipper/internal/config"
	"github.com/logshipper/logshipper/plugins/all"
)

func TestComponents(t *testing.T) {
	m := func(src, dst string) config.RouteConfig {
		return config.RouteConfig{Name: src + "->" + dst, Source: src, Destination: dst, Rule: "All"}
	}
	type want struct {
		plugins  []string
		mappings []string
	}
	tests := []struct {
		name     string
		mappings []config.RouteConfig
		want     []want
	}{
		{name: "none", mappings: nil, want: nil},
		{name: "one mapping", mappings: []config.RouteConfig{m("in", "out")},
			want: []want{{[]string{"in", "out"}, []string{"in->out"}}}},
		{name: "two apart", mappings: []config.RouteConfig{m("b", "y"), m("a", "x")},
			want: []want{{[]string{"b", "y"}, []string{"b->y"}}, {[]string{"a", "x"}, []string{"a->x"}}}},
		{name: "fan-out", mappings: []config.RouteConfig{m("a", "x"), m("a", "y")},
			want: []want{{[]string{"a", "x", "y"}, []string{"a->x", "a->y"}}}},
		{name: "fan-in", mappings: []config.RouteConfig{m("a", "x"), m("b", "x")},
			want: []want{{[]string{"a", "b", "x"}, []string{"a->x", "b->x"}}}},
		{name: "linked through a later mapping", mappings: []config.RouteConfig{m("a", "x"), m("b", "y"), m("c", "z"), m("b", "x")},
			want: []want{{[]string{"a", "b", "x", "y"}, []string{"a->x", "b->y", "b->x"}}, {[]string{"c", "z"}, []string{"c->z"}}}},
		{name: "two rules between one pair", mappings: []config.RouteConfig{m("a", "x"), {Name: "a->x [r]", Source: "a", Destination: "x", Rule: "r"}},
			want: []want{{[]string{"a", "x"}, []string{"a->x", "a->x [r]"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []want
			for _, c := range components(tt.mappings) {
				w := want{plugins: c.plugins}
				for _, r := range c.mappings {
					w.mappings = append(w.mappings, r.Name)
				}
				got = append(got, w)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("components = %+v; want %+v", got, tt.want)
			}
		})
	}
}

// The comparison of a reload looks at what the configuration says, not how the file says it.
func TestSameComponent(t *testing.T) {
	base := `data_dir: %s
plugins:
  - {name: in, type: file, paths: [/tmp/in/*.log]}
  - {name: out, type: file, kind: destination, path: /tmp/out.ndjson}
business_rules:
  - {name: r, expr: 'x == 1'}
siem_mappings:
  - {source: in, destination: out, rule: r}
`
	tests := []struct {
		name string
		yaml string
		same bool
	}{
		{name: "identical", yaml: base, same: true},
		{name: "comments, order and spelling", same: true, yaml: `# a comment
data_dir: %s
business_rules:
  - name: r
    expr: 'x == 1'
plugins:
  - name: out
    type: file
    kind: destination
    path: "/tmp/out.ndjson"
    workers: 1
  - {name: in, type: file, paths: ["/tmp/in/*.log"], follow: true}
siem_mappings:
  - {source: in, destination: out, rule: r}
`},
		{name: "a source option", same: false, yaml: `data_dir: %s
plugins:
  - {name: in, type: file, paths: [/tmp/in/*.log], poll_interval: 2s}
  - {name: out, type: file, kind: destination, path: /tmp/out.ndjson}
business_rules:
  - {name: r, expr: 'x == 1'}
siem_mappings:
  - {source: in, destination: out, rule: r}
`},
		{name: "a destination's shared key", same: false, yaml: `data_dir: %s
plugins:
  - {name: in, type: file, paths: [/tmp/in/*.log]}
  - {name: out, type: file, kind: destination, path: /tmp/out.ndjson, batch: {max_records: 10}}
business_rules:
  - {name: r, expr: 'x == 1'}
siem_mappings:
  - {source: in, destination: out, rule: r}
`},
		{name: "the rule", same: false, yaml: `data_dir: %s
plugins:
  - {name: in, type: file, paths: [/tmp/in/*.log]}
  - {name: out, type: file, kind: destination, path: /tmp/out.ndjson}
business_rules:
  - {name: r, expr: 'x == 2'}
siem_mappings:
  - {source: in, destination: out, rule: r}
`},
		{name: "the mapping's name", same: false, yaml: `data_dir: %s
plugins:
  - {name: in, type: file, paths: [/tmp/in/*.log]}
  - {name: out, type: file, kind: destination, path: /tmp/out.ndjson}
business_rules:
  - {name: r, expr: 'x == 1'}
siem_mappings:
  - {name: renamed, source: in, destination: out, rule: r}
`},
	}
	dir := t.TempDir()
	a := parseForTest(t, base, dir)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := parseForTest(t, tt.yaml, dir)
			ca, cb := components(a.SIEMMappings), components(b.SIEMMappings)
			if len(ca) != 1 || len(cb) != 1 {
				t.Fatalf("components: %d and %d; want 1 each", len(ca), len(cb))
			}
			if got := sameComponent(ca[0], a, cb[0], b); got != tt.same {
				t.Errorf("sameComponent = %v; want %v", got, tt.same)
			}
		})
	}
}

func parseForTest(t *testing.T, yaml, dataDir string) *config.Config {
	t.Helper()
	cfg, err := config.Parse([]byte(fmt.Sprintf(yaml, dataDir)), "t.yaml", all.Registry(), config.Resolver{}, LoadOptions()...)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// Every plugin's sample configuration, loaded twice, compares the same: a reload of an
// unchanged file restarts nothing, whatever its options hold (compiled patterns, secrets).
func TestSameComponentSamples(t *testing.T) {
	files, err := filepath.Glob("../../plugins/*/*/sample.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no sample.yaml found: %v", err)
	}
	for _, f := range files {
		t.Run(f, func(t *testing.T) {
			t.Setenv("NETSKOPE_TOKEN", "t0ken")
			load := func() *config.Config {
				cfg, err := config.Load(f, all.Registry(), config.Resolver{}, LoadOptions()...)
				if err != nil {
					t.Skipf("sample does not load here: %v", err)
				}
				return cfg
			}
			a, b := load(), load()
			ca, cb := components(a.SIEMMappings), components(b.SIEMMappings)
			if len(ca) == 0 || len(ca) != len(cb) {
				t.Fatalf("components: %d and %d", len(ca), len(cb))
			}
			for i := range ca {
				if !sameComponent(ca[i], a, cb[i], b) {
					t.Errorf("component %s differs from itself", ca[i].key())
				}
			}
		})
	}
}

// A section the caller added (cluster:) needs a restart when it is added, removed or changed;
// shutdown_timeout does not.
func TestRestartKeys(t *testing.T) {
	base := config.Default()
	with := func(f func(c *config.Config)) *config.Config {
		c := *base
		f(&c)
		return &c
	}
	tests := []struct {
		name string
		new  *config.Config
		want []string
	}{
		{"same", with(func(*config.Config) {}), nil},
		{"shutdown_timeout", with(func(c *config.Config) { c.ShutdownTimeout = time.Minute }), nil},
		{"cluster added", with(func(c *config.Config) { c.Sections = map[string]any{"cluster": &cluster.Config{Node: "n1"}} }), []string{"cluster"}},
		{"two at once", with(func(c *config.Config) { c.DataDir, c.Admin.PProf = "x", true }), []string{"data_dir", "admin"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := restartKeys(base, tt.new); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("restartKeys = %v; want %v", got, tt.want)
			}
		})
	}
	a := with(func(c *config.Config) { c.Sections = map[string]any{"cluster": &cluster.Config{Node: "n1"}} })
	b := with(func(c *config.Config) { c.Sections = map[string]any{"cluster": &cluster.Config{Node: "n1"}} })
	if got := restartKeys(a, b); got != nil {
		t.Errorf("equal sections: restartKeys = %v; want none", got)
	}
	b.Sections["cluster"].(*cluster.Config).Node = "n2"
	if got := restartKeys(a, b); !reflect.DeepEqual(got, []string{"cluster"}) {
		t.Errorf("changed cluster: restartKeys = %v; want [cluster]", got)
	}
}
