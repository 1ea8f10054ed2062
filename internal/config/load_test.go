package config_test

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/logshipper/logshipper/internal/config"
	"github.com/logshipper/logshipper/internal/plugin"
	"github.com/logshipper/logshipper/internal/rules"
	"github.com/logshipper/logshipper/internal/telemetry"
	"github.com/logshipper/logshipper/plugins/all"
	filedest "github.com/logshipper/logshipper/plugins/destinations/file"
	"github.com/logshipper/logshipper/plugins/destinations/stdout"
	filesrc "github.com/logshipper/logshipper/plugins/sources/file"
)

var update = flag.Bool("update", false, "rewrite the .golden files under testdata/bad from what Load returns")

// vaultConfig is the options of "vault", a destination that exists only in these tests: it
// carries a secret.
type vaultConfig struct {
	Endpoint string        `yaml:"endpoint"`
	Token    config.Secret `yaml:"token"`
	Retries  int           `yaml:"retries"`
}

func (c *vaultConfig) Validate() error {
	var p config.Problems
	if c.Endpoint == "" {
		p.Addf("endpoint: missing")
	}
	if !c.Token.IsSet() {
		p.Addf("token: missing")
	}
	if c.Retries < 0 {
		p.Addf("retries: must not be negative")
	}
	return p.Err()
}

func vaultFactory() plugin.Factory {
	return plugin.Factory{
		Type:      "vault",
		Kind:      plugin.KindDestination,
		Summary:   "test only: a destination with a secret",
		NewConfig: func() plugin.Config { return &vaultConfig{Retries: 3} },
		NewDestination: func(plugin.Config, plugin.Settings) (plugin.Destination, error) {
			return nil, errors.New("test only")
		},
	}
}

// testRegistry holds the real plugins and vault. It is built here rather than taken from
// plugins/all so that adding a plugin to the binary does not change every golden file.
func testRegistry(t testing.TB) *plugin.Registry {
	t.Helper()
	r, err := plugin.NewRegistry(filesrc.Factory(), filedest.Factory(), stdout.Factory(), vaultFactory())
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// fakeEnv is an environment that does not depend on the machine's.
func fakeEnv(vars map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := vars[k]
		return v, ok
	}
}

// goldenEnv is the environment of the testdata files.
var goldenEnv = map[string]string{
	"LOG_LEVEL":   "debug",
	"EPS":         "5",
	"EMPTY":       "",
	"DATA_DIR":    "/data",
	"EMPTY_LEVEL": "",
	"ADMIN_PORT":  "9000",
	"INJECT":      "a: x\n- y",
	"VAULT_HOST":  "vault.example",
}

func testResolver() config.Resolver { return config.Resolver{Env: fakeEnv(goldenEnv)} }

// wantLines returns the "# want: TEXT" lines at the top of a testdata file: text its error
// must contain, checked besides the golden file so that -update cannot bless a regression.
func wantLines(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "#") {
			break
		}
		if w, ok := strings.CutPrefix(line, "# want: "); ok {
			out = append(out, w)
		}
	}
	return out
}

func TestLoadBadGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/bad/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 40 {
		t.Fatalf("only %d files in testdata/bad", len(files))
	}
	reg := testRegistry(t)
	for _, path := range files {
		name := strings.TrimSuffix(filepath.Base(path), ".yaml")
		t.Run(name, func(t *testing.T) {
			cfg, err := config.Load(path, reg, testResolver())
			if err == nil {
				t.Fatalf("loaded (warnings %q); want an error", cfg.Warnings)
			}
			if cfg != nil {
				t.Errorf("Load returned a configuration with its error")
			}
			var ce *config.Error
			if !errors.As(err, &ce) {
				t.Fatalf("error %T is not a *config.Error: %v", err, err)
			}
			if ce.File != path {
				t.Errorf("File = %q, want %q", ce.File, path)
			}
			if len(ce.Problems) == 0 {
				t.Errorf("no problems in the error")
			}
			got := ce.Error() + "\n"
			for _, line := range strings.Split(strings.TrimSuffix(got, "\n"), "\n") {
				if !strings.HasPrefix(line, path+": ") {
					t.Errorf("line %q does not start with the file name", line)
				}
			}
			for _, w := range wantLines(t, path) {
				if !strings.Contains(got, w) {
					t.Errorf("error lacks %q:\n%s", w, got)
				}
			}
			golden := strings.TrimSuffix(path, ".yaml") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("error text differs from %s (go test -update rewrites it)\n--- got:\n%s--- want:\n%s", golden, got, want)
			}
		})
	}
}

// Every golden file belongs to a testdata file, so a renamed case leaves nothing behind.
func TestGoldenFilesHaveInputs(t *testing.T) {
	goldens, err := filepath.Glob("testdata/bad/*.golden")
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range goldens {
		if _, err := os.Stat(strings.TrimSuffix(g, ".golden") + ".yaml"); err != nil {
			t.Errorf("%s has no .yaml: %v", g, err)
		}
	}
}

// The sorted order is by line, with the problems that have no line (rules, mappings) last.
func TestErrorProblemsInLineOrder(t *testing.T) {
	_, err := config.Load("testdata/bad/multiple_validation_problems.yaml", testRegistry(t), testResolver())
	var ce *config.Error
	if !errors.As(err, &ce) {
		t.Fatalf("%v", err)
	}
	last, sawNoLine := 0, false
	for _, p := range ce.Problems {
		var le *config.LineError
		if !errors.As(p, &le) || le.Line == 0 {
			sawNoLine = true
			continue
		}
		if sawNoLine {
			t.Errorf("%q has a line but comes after a problem without one", p)
		}
		if le.Line < last {
			t.Errorf("%q comes after line %d", p, last)
		}
		last = le.Line
	}
	if len(ce.Problems) < 5 {
		t.Errorf("only %d problems: %v", len(ce.Problems), err)
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := config.Load("testdata/does-not-exist.yaml", testRegistry(t), testResolver())
	if err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("err = %v, want a not-exist error", err)
	}
	var ce *config.Error
	if errors.As(err, &ce) {
		t.Errorf("a missing file is not a *config.Error: %v", err)
	}
	if !strings.Contains(err.Error(), "read configuration") {
		t.Errorf("err = %v", err)
	}
}

func loadGood(t *testing.T, name string, env map[string]string) *config.Config {
	t.Helper()
	path := filepath.Join("testdata", "good", name)
	cfg, err := config.Load(path, testRegistry(t), config.Resolver{Env: fakeEnv(env)})
	if err != nil {
		t.Fatalf("Load(%s): %v", path, err)
	}
	if cfg.Path != path {
		t.Errorf("Path = %q, want %q", cfg.Path, path)
	}
	return cfg
}

func mustPlugin(t *testing.T, cfg *config.Config, name string) *config.Plugin {
	t.Helper()
	p, ok := cfg.Plugin(name)
	if !ok {
		t.Fatalf("no plugin %q", name)
	}
	return p
}

// Every file of testdata/good loads, with each registry that knows its types.
func TestLoadGoodFiles(t *testing.T) {
	files, err := filepath.Glob("testdata/good/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("%v %v", files, err)
	}
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			cfg, err := config.Load(path, testRegistry(t), testResolver())
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Rules == nil {
				t.Error("Rules is nil")
			}
		})
	}
}

// The binary's own registry loads a file using every built-in plugin.
func TestLoadWithBuiltinRegistry(t *testing.T) {
	cfg, err := config.Load("testdata/good/full.yaml", all.Registry(), testResolver())
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Plugins) != 5 {
		t.Errorf("%d plugins", len(cfg.Plugins))
	}
}

func TestLoadMinimalDefaults(t *testing.T) {
	cfg := loadGood(t, "minimal.yaml", nil)
	want := config.Default()
	if cfg.DataDir != "logshipper-data" || cfg.DataDir != want.DataDir {
		t.Errorf("DataDir = %q", cfg.DataDir)
	}
	if cfg.Log != (telemetry.LogConfig{Level: "info", Format: "text"}) {
		t.Errorf("Log = %+v", cfg.Log)
	}
	if cfg.Admin.Listen != "127.0.0.1:9870" {
		t.Errorf("Admin = %+v", cfg.Admin)
	}
	if cfg.ShutdownTimeout != 30*time.Second {
		t.Errorf("ShutdownTimeout = %v", cfg.ShutdownTimeout)
	}
	if len(cfg.Warnings) != 0 {
		t.Errorf("Warnings = %q", cfg.Warnings)
	}

	in := mustPlugin(t, cfg, "in")
	if in.Kind != plugin.KindSource || in.Type != "file" || in.KindName != "" {
		t.Errorf("in: kind %v type %q kind name %q", in.Kind, in.Type, in.KindName)
	}
	if in.Line != 3 {
		t.Errorf("in.Line = %d, want 3", in.Line)
	}
	// A source gets none of the destination defaults.
	if in.Workers != 0 || in.QueueSize != 0 || in.Batch != (config.BatchConfig{}) || in.Retry != (config.RetryConfig{}) {
		t.Errorf("source has destination settings: %+v", in)
	}
	src, ok := in.Options.(*filesrc.Config)
	if !ok {
		t.Fatalf("in.Options is %T", in.Options)
	}
	// The type's defaults, with the file's paths.
	wantSrc := filesrc.NewConfig().(*filesrc.Config)
	wantSrc.Paths = []string{"/var/log/app/*.ndjson"}
	if !reflect.DeepEqual(src, wantSrc) {
		t.Errorf("source options = %+v, want %+v", src, wantSrc)
	}

	out := mustPlugin(t, cfg, "out")
	if out.Kind != plugin.KindDestination {
		t.Errorf("out.Kind = %v", out.Kind)
	}
	wantBatch := config.BatchConfig{MaxRecords: 500, MaxBytes: 4 << 20, MaxWait: time.Second}
	if out.Batch != wantBatch {
		t.Errorf("Batch = %+v, want %+v", out.Batch, wantBatch)
	}
	if out.Retry != (config.RetryConfig{InitialInterval: time.Second, MaxInterval: time.Minute}) {
		t.Errorf("Retry = %+v", out.Retry)
	}
	// stdout's factory sets only workers (1); the rest are the global defaults.
	if out.Workers != 1 || out.QueueSize != 10000 || out.EPS != 0 {
		t.Errorf("workers %d queue %d eps %d", out.Workers, out.QueueSize, out.EPS)
	}
	if o := out.Options.(*stdout.Config); o.Stream != "stdout" {
		t.Errorf("stream = %q", o.Stream)
	}

	if len(cfg.SIEMMappings) != 1 {
		t.Fatalf("mappings: %+v", cfg.SIEMMappings)
	}
	m := cfg.SIEMMappings[0]
	if m.Rule != rules.All || m.Name != "in->out" {
		t.Errorf("mapping = %+v, want rule All and name in->out", m)
	}
	if names := cfg.Rules.Names(); !slices.Equal(names, []string{rules.All}) {
		t.Errorf("rules = %v", names)
	}
	if r, ok := cfg.Rules.Get(rules.All); !ok || !r.MatchesAll() {
		t.Errorf("All: %v %v", r, ok)
	}
}

func TestLoadFull(t *testing.T) {
	cfg := loadGood(t, "full.yaml", nil)
	if cfg.DataDir != "/var/lib/logshipper" || cfg.Log.Level != "debug" || cfg.Log.Format != "json" {
		t.Errorf("top level: %q %+v", cfg.DataDir, cfg.Log)
	}
	if cfg.Admin.Listen != "" {
		t.Errorf("admin listen %q, want empty (off)", cfg.Admin.Listen)
	}
	if cfg.ShutdownTimeout != 45*time.Second {
		t.Errorf("ShutdownTimeout = %v", cfg.ShutdownTimeout)
	}

	// Names, types and kinds in file order.
	type pk struct {
		name, typ string
		kind      plugin.Kind
	}
	var got []pk
	for _, p := range cfg.Plugins {
		got = append(got, pk{p.Name, p.Type, p.Kind})
	}
	want := []pk{
		{"app-logs", "file", plugin.KindSource},          // inferred: a mapping's source
		{"archive", "file", plugin.KindDestination},      // inferred: a mapping's destination
		{"console", "stdout", plugin.KindDestination},    // stdout is only a destination
		{"spare.source", "file", plugin.KindSource},      // kind: source, in no mapping
		{"spare_dest-1", "file", plugin.KindDestination}, // kind: destination, in no mapping
	}
	if !slices.Equal(got, want) {
		t.Errorf("plugins:\n got %+v\nwant %+v", got, want)
	}

	app := mustPlugin(t, cfg, "app-logs")
	if app.EPS != 2000 {
		t.Errorf("app-logs eps = %d", app.EPS)
	}
	src := app.Options.(*filesrc.Config)
	if !slices.Equal(src.Paths, []string{"/var/log/a/*.log", "/var/log/b/*.json"}) || src.Format != "ndjson" ||
		src.Follow || src.PollInterval != 250*time.Millisecond || src.BatchSize != 200 ||
		src.MaxRecordSize != 64<<10 || src.StartAt != "end" {
		t.Errorf("app-logs options = %+v", src)
	}

	archive := mustPlugin(t, cfg, "archive")
	dst := archive.Options.(*filedest.Config)
	if dst.Path != "/var/archive/out.ndjson" || dst.MaxSize != 10<<20 || dst.MaxFiles != 3 || !dst.Sync {
		t.Errorf("archive options = %+v", dst)
	}
	// Keys the file leaves out keep their defaults, one by one.
	if archive.Batch != (config.BatchConfig{MaxRecords: 100, MaxBytes: 4 << 20, MaxWait: time.Second}) {
		t.Errorf("archive batch = %+v", archive.Batch)
	}
	if archive.Retry != (config.RetryConfig{InitialInterval: time.Second, MaxInterval: 5 * time.Minute}) {
		t.Errorf("archive retry = %+v", archive.Retry)
	}

	console := mustPlugin(t, cfg, "console")
	if console.Batch != (config.BatchConfig{MaxRecords: 1, MaxBytes: 1000000, MaxWait: 0}) {
		t.Errorf("console batch = %+v", console.Batch)
	}
	if console.Retry != (config.RetryConfig{InitialInterval: 500 * time.Millisecond, MaxInterval: 10 * time.Second}) {
		t.Errorf("console retry = %+v", console.Retry)
	}
	if console.Workers != 8 || console.QueueSize != 50 || console.EPS != 100 {
		t.Errorf("console workers %d queue %d eps %d", console.Workers, console.QueueSize, console.EPS)
	}
	if console.Options.(*stdout.Config).Stream != "stderr" {
		t.Errorf("console stream = %+v", console.Options)
	}
	if mustPlugin(t, cfg, "spare.source").KindName != "source" {
		t.Errorf("KindName not kept")
	}

	if names := cfg.Rules.Names(); !slices.Equal(names, []string{"All", "errors", "high_severity"}) {
		t.Errorf("rules = %v", names)
	}
	if cfg.BusinessRules[0].Description != "anything at or above high" {
		t.Errorf("description = %q", cfg.BusinessRules[0].Description)
	}

	wantRoutes := []config.RouteConfig{
		{Name: "app-logs->archive", Source: "app-logs", Destination: "archive", Rule: "All"},
		{Name: "app-logs->console [high_severity]", Source: "app-logs", Destination: "console", Rule: "high_severity"},
		{Name: "errors to console", Source: "app-logs", Destination: "console", Rule: "errors"},
		{Name: "app-logs->console", Source: "app-logs", Destination: "console", Rule: "All"},
	}
	if !slices.Equal(cfg.SIEMMappings, wantRoutes) {
		t.Errorf("routes:\n got %+v\nwant %+v", cfg.SIEMMappings, wantRoutes)
	}

	wantWarnings := []string{
		`siem_mappings[1] and siem_mappings[2] both send "app-logs" to "console": a record matching both rules is delivered twice`,
		`siem_mappings[2] and siem_mappings[3] both send "app-logs" to "console": a record matching both rules is delivered twice`,
		`plugin "spare.source" (file) is in no siem_mapping: it will not run`,
		`plugin "spare_dest-1" (file) is in no siem_mapping: it will not run`,
	}
	if !slices.Equal(cfg.Warnings, wantWarnings) {
		t.Errorf("warnings:\n got %q\nwant %q", cfg.Warnings, wantWarnings)
	}
}

func TestLoadNoMappingsWarns(t *testing.T) {
	cfg := loadGood(t, "no_mappings.yaml", nil)
	want := []string{
		`plugin "in" (file) is in no siem_mapping: it will not run`,
		`plugin "out" (stdout) is in no siem_mapping: it will not run`,
		"no siem_mappings: nothing will flow",
	}
	if !slices.Equal(cfg.Warnings, want) {
		t.Errorf("warnings:\n got %q\nwant %q", cfg.Warnings, want)
	}
}

// An empty mapping loads: everything has a default, and the warning says nothing will flow.
func TestParseEmptyMapping(t *testing.T) {
	cfg, err := config.Parse([]byte("{}\n"), "empty.yaml", testRegistry(t), testResolver())
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Path != "empty.yaml" || len(cfg.Plugins) != 0 || !slices.Equal(cfg.Warnings, []string{"no siem_mappings: nothing will flow"}) {
		t.Errorf("cfg = %+v", cfg)
	}
}

func TestLoadAnchorsAndMerges(t *testing.T) {
	cfg := loadGood(t, "anchors.yaml", nil)
	for _, name := range []string{"a", "b"} {
		p := mustPlugin(t, cfg, name)
		if p.Batch.MaxRecords != 50 || p.Batch.MaxBytes != 64<<10 || p.Batch.MaxWait != time.Second {
			t.Errorf("%s batch = %+v", name, p.Batch)
		}
	}
	if mustPlugin(t, cfg, "b").Workers != 4 {
		t.Errorf("b workers")
	}
}

func TestKindInference(t *testing.T) {
	base := `
plugins:
  - {name: f, type: file, %s}
  - {name: other, type: file, %s}
siem_mappings:
  - {source: %s, destination: %s}
`
	tests := []struct {
		name      string
		f, other  string // option text of each
		src, dst  string
		wantF     plugin.Kind
		wantOther plugin.Kind
	}{
		{"f is a source", `paths: [x]`, `path: /y`, "f", "other", plugin.KindSource, plugin.KindDestination},
		{"f is a destination", `path: /y`, `paths: [x]`, "other", "f", plugin.KindDestination, plugin.KindSource},
		{"kind wins over use", `kind: source, paths: [x]`, `kind: destination, path: /y`, "f", "other", plugin.KindSource, plugin.KindDestination},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := fmt.Sprintf(base, tt.f, tt.other, tt.src, tt.dst)
			cfg, err := config.Parse([]byte(doc), "k.yaml", testRegistry(t), testResolver())
			if err != nil {
				t.Fatalf("%v\n%s", err, doc)
			}
			if k := mustPlugin(t, cfg, "f").Kind; k != tt.wantF {
				t.Errorf("f: %v, want %v", k, tt.wantF)
			}
			if k := mustPlugin(t, cfg, "other").Kind; k != tt.wantOther {
				t.Errorf("other: %v, want %v", k, tt.wantOther)
			}
		})
	}
}

// rawConfig takes any mapping: a plugin whose options decode themselves has no unknown keys.
type rawConfig struct{ keys []string }

func (c *rawConfig) UnmarshalYAML(n *yaml.Node) error {
	for i := 0; i+1 < len(n.Content); i += 2 {
		c.keys = append(c.keys, n.Content[i].Value)
	}
	return nil
}

func (c *rawConfig) Validate() error { return nil }

func TestPluginOptionsDecodingThemselves(t *testing.T) {
	reg, err := plugin.NewRegistry(stdout.Factory(), plugin.Factory{
		Type:      "raw",
		Kind:      plugin.KindSource,
		NewConfig: func() plugin.Config { return &rawConfig{} },
		NewSource: func(plugin.Config, plugin.Settings) (plugin.Source, error) { return nil, errors.New("test only") },
	})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse([]byte(`
plugins:
  - {name: r, type: raw, eps: 3, anything: 1, goes: {here: true}}
  - {name: out, type: stdout}
siem_mappings: [{source: r, destination: out}]
`), "raw.yaml", reg, testResolver())
	if err != nil {
		t.Fatal(err)
	}
	r := mustPlugin(t, cfg, "r")
	if keys := r.Options.(*rawConfig).keys; !slices.Equal(keys, []string{"anything", "goes"}) || r.EPS != 3 {
		t.Errorf("keys %q, eps %d", keys, r.EPS)
	}
	if _, ok := cfg.Plugin("nope"); ok {
		t.Error("Plugin(nope) found something")
	}
}

// Plugin entries take name, type, shared keys and options from a merged anchor; keys written
// in the entry win; x- keys at the top level hold anchors and are not configuration.
func TestLoadPluginMergeKeys(t *testing.T) {
	cfg := loadGood(t, "plugin_merge.yaml", nil)
	out, errp := mustPlugin(t, cfg, "out"), mustPlugin(t, cfg, "err")
	if out.Type != "stdout" || out.Workers != 4 || out.Batch.MaxRecords != 50 {
		t.Errorf("out: type %q workers %d batch %d", out.Type, out.Workers, out.Batch.MaxRecords)
	}
	if errp.Workers != 1 || errp.Options.(*stdout.Config).Stream != "stderr" || errp.Batch.MaxRecords != 50 {
		t.Errorf("err: workers %d stream %q batch %d", errp.Workers, errp.Options.(*stdout.Config).Stream, errp.Batch.MaxRecords)
	}
	if in := mustPlugin(t, cfg, "in"); in.Options.(*filesrc.Config).MaxRecordSize != 10_000 {
		t.Errorf("10kb read as %d", in.Options.(*filesrc.Config).MaxRecordSize)
	}
}
