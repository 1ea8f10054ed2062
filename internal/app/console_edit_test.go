package app

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/logshipper/logshipper/internal/config"
	"github.com/logshipper/logshipper/internal/console"
	"github.com/logshipper/logshipper/internal/telemetry"
	"github.com/logshipper/logshipper/plugins/all"
)

// editRig runs a configuration file and the console's backend over it.
type editRig struct {
	t    *testing.T
	dir  string
	path string
	a    *App
	b    *consoleBackend
	next int // the id of the next record written to the source's file
}

// lockedBuffer is the process log, written by the engines' goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

const editConfig = `# The production file: edited from the console too.
data_dir: %[1]s/data
admin: {listen: ""}
console: {listen: "127.0.0.1:0", token_file: %[1]s/console-token}

plugins:
  # Records dropped in in/.
  - {name: in, type: file, paths: ["%[1]s/in/*.ndjson"], poll_interval: 10ms}
  - name: out                         # the archive
    type: file
    kind: destination
    path: %[1]s/out.ndjson
    batch: {max_wait: 10ms}
  - name: ns
    type: netskope
    tenant: https://acme.goskope.com
    api_token: s3cret-token-value     # never shown
    alert_types: [dlp]

business_rules:
  - name: high
    filter: '{"sev": "high"}'         # CE's rule 7

siem_mappings:
  - {name: archive, source: in, destination: out}
`

func startEditRig(t *testing.T) *editRig {
	t.Helper()
	r := &editRig{t: t, dir: t.TempDir()}
	r.path = filepath.Join(r.dir, "logshipper.yaml")
	if err := os.WriteFile(r.path, fmt.Appendf(nil, editConfig, r.dir), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(r.dir, "in"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(r.dir, "console-token"), []byte("a-console-token-for-tests\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	reg := all.Registry()
	cfg, err := config.Load(r.path, reg, config.Resolver{}, append([]config.Option{config.CheckHost()}, LoadOptions()...)...)
	if err != nil {
		t.Fatal(err)
	}
	a, err := New(context.Background(), cfg, reg, slog.New(slog.NewTextHandler(&lockedBuffer{}, nil)), "test")
	if err != nil {
		t.Fatal(err)
	}
	r.a = a
	r.b = &consoleBackend{LogHub: console.NewLogHub(100), a: a, reg: reg, recent: a.recent,
		history: telemetry.NewHistory(a.metrics, time.Minute, time.Hour), started: time.Now()}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("Run did not return")
		}
	})
	return r
}

// write appends n records {"id": N, "sev": ...} to the source's file.
func (r *editRig) write(n int, sev string) {
	r.t.Helper()
	f, err := os.OpenFile(filepath.Join(r.dir, "in", "1.ndjson"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		r.t.Fatal(err)
	}
	for range n {
		fmt.Fprintf(f, "{\"id\":%d,\"sev\":%q}\n", r.next, sev)
		r.next++
	}
	if err := f.Close(); err != nil {
		r.t.Fatal(err)
	}
}

// lines counts the lines of a destination's file.
func (r *editRig) lines(name string) int {
	data, err := os.ReadFile(filepath.Join(r.dir, name))
	if err != nil {
		return 0
	}
	return bytes.Count(data, []byte("\n"))
}

func (r *editRig) file() string {
	r.t.Helper()
	data, err := os.ReadFile(r.path)
	if err != nil {
		r.t.Fatal(err)
	}
	return string(data)
}

// eventually polls cond until it holds, failing the test after 20s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A plugin configuration and a mapping with two destinations saved in the console are written
// to the file, its comments kept, and run at once.
func TestConsoleSavePluginAndMapping(t *testing.T) {
	r := startEditRig(t)
	ctx := context.Background()
	for _, name := range []string{"copy", "copy2"} {
		err := r.b.SavePlugin(ctx, console.PluginEdit{Name: name, Type: "file", Kind: "destination",
			Values: map[string]string{"path": filepath.Join(r.dir, name+".ndjson"), "batch.max_wait": "10ms", "batch.max_records": "5"}})
		if err != nil {
			t.Fatalf("save %s: %v", name, err)
		}
	}
	if err := r.b.SaveMapping(ctx, "", console.Mapping{Name: "fan", Source: "in", Rule: "high", Destinations: []string{"copy", "copy2"}}); err != nil {
		t.Fatal(err)
	}
	text := r.file()
	for _, want := range []string{"# The production file: edited from the console too.", "# the archive", "# CE's rule 7", "# never shown",
		"name: fan", "name: fan (copy2)", "max_records: 5"} {
		if !strings.Contains(text, want) {
			t.Errorf("the file lacks %q:\n%s", want, text)
		}
	}
	ms, err := r.b.Mappings(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if i := slices.IndexFunc(ms, func(m console.Mapping) bool { return m.Name == "fan" }); i < 0 || !slices.Equal(ms[i].Destinations, []string{"copy", "copy2"}) {
		t.Errorf("mappings %+v; want fan to copy and copy2", ms)
	}
	pc, err := r.b.Plugin(ctx, "copy")
	if err != nil {
		t.Fatal(err)
	}
	if pc.Kind != "destination" || pc.Values["batch.max_records"] != "5" || pc.Values["batch.max_wait"] != "10ms" {
		t.Errorf("copy = %+v; want the values saved", pc)
	}
	r.write(3, "high")
	r.write(2, "low")
	eventually(t, "the records at every destination", func() bool {
		return r.lines("out.ndjson") == 5 && r.lines("copy.ndjson") == 3 && r.lines("copy2.ndjson") == 3
	})

	// One destination less: its entry goes, the other is kept.
	if err := r.b.SaveMapping(ctx, "fan", console.Mapping{Name: "fan", Source: "in", Rule: "high", Destinations: []string{"copy2"}}); err != nil {
		t.Fatal(err)
	}
	ms, _ = r.b.Mappings(ctx)
	if i := slices.IndexFunc(ms, func(m console.Mapping) bool { return m.Name == "fan" }); i < 0 || !slices.Equal(ms[i].Destinations, []string{"copy2"}) {
		t.Errorf("mappings %+v; want fan to copy2 alone", ms)
	}
	if err := r.b.DeleteMapping(ctx, "fan"); err != nil {
		t.Fatal(err)
	}
	if text := r.file(); strings.Contains(text, "fan") {
		t.Errorf("fan still in the file:\n%s", text)
	}
}

// A secret is never given back, and a secret left empty keeps its value.
func TestConsoleSecrets(t *testing.T) {
	r := startEditRig(t)
	ctx := context.Background()
	ps, err := r.b.Plugins(ctx)
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(ps, func(p console.PluginConfig) bool { return p.Name == "ns" })
	if i < 0 {
		t.Fatalf("plugins %+v lack ns", ps)
	}
	if !ps[i].SecretsSet["api_token"] {
		t.Errorf("ns: SecretsSet %v; want api_token set", ps[i].SecretsSet)
	}
	if got := fmt.Sprintf("%+v", ps); strings.Contains(got, "s3cret") {
		t.Errorf("Plugins() shows the secret: %s", got)
	}
	if ps[i].Values["tenant"] != "https://acme.goskope.com" || ps[i].Values["alert_types"] != "dlp" {
		t.Errorf("ns values %v; want the file's", ps[i].Values)
	}
	edit := console.PluginEdit{Original: "ns", Name: "ns", Type: "netskope", Kind: "source",
		Values:      map[string]string{"tenant": "https://acme.goskope.com", "alert_types": "dlp\nmalware"},
		KeepSecrets: []string{"api_token", "proxy.password"}}
	if err := r.b.SavePlugin(ctx, edit); err != nil {
		t.Fatal(err)
	}
	text := r.file()
	if !strings.Contains(text, "api_token: s3cret-token-value # never shown") {
		t.Errorf("the secret left empty was not kept:\n%s", text)
	}
	if p, _ := r.b.Plugin(ctx, "ns"); p.Values["alert_types"] != "dlp\nmalware" {
		t.Errorf("alert_types %q; want the list saved", p.Values["alert_types"])
	}
}

// An edit with problems is refused with every problem, and the file is left as it was.
func TestConsoleInvalidEdits(t *testing.T) {
	r := startEditRig(t)
	ctx := context.Background()
	before := r.file()
	for _, tc := range []struct {
		name string
		do   func() error
		want string
	}{
		{"a secret cleared that the type requires", func() error {
			return r.b.SavePlugin(ctx, console.PluginEdit{Original: "ns", Name: "ns", Type: "netskope", Kind: "source",
				Values: map[string]string{"tenant": "https://acme.goskope.com"}})
		}, "api_token"},
		{"a number that is not one", func() error {
			return r.b.SavePlugin(ctx, console.PluginEdit{Original: "in", Name: "in", Type: "file", Kind: "source",
				Values: map[string]string{"paths": "x/*.ndjson", "eps": "fast"}})
		}, `eps: "fast" is not a whole number`},
		{"an unknown value", func() error {
			return r.b.SavePlugin(ctx, console.PluginEdit{Original: "out", Name: "out", Type: "file", Kind: "destination",
				Values: map[string]string{"path": filepath.Join(r.dir, "o.ndjson"), "workers": "100"}})
		}, "workers: must be 1 to 64"},
		{"a mapping to nothing", func() error {
			return r.b.SaveMapping(ctx, "", console.Mapping{Name: "x", Source: "in", Destinations: []string{"nowhere"}})
		}, `destination: no plugin configuration is named "nowhere"`},
		{"a rule that does not compile", func() error {
			return r.b.SaveRule(ctx, "", console.Rule{Name: "bad", Filter: `{"sev": {"$nope": 1}}`})
		}, "filter:"},
		{"a plugin a mapping uses", func() error { return r.b.DeletePlugin(ctx, "out") }, "SIEM mapping(s) archive"},
		{"a rule a mapping uses", func() error {
			if err := r.b.SaveMapping(ctx, "archive", console.Mapping{Name: "archive", Source: "in", Rule: "high", Destinations: []string{"out"}}); err != nil {
				return err
			}
			before = r.file()
			return r.b.DeleteRule(ctx, "high")
		}, "SIEM mapping(s) archive"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.do()
			var inv *console.InvalidError
			if !errors.As(err, &inv) {
				t.Fatalf("error %v (%T); want an *InvalidError", err, err)
			}
			if !slices.ContainsFunc(inv.Problems, func(p string) bool { return strings.Contains(p, tc.want) }) {
				t.Errorf("problems %q; want one saying %q", inv.Problems, tc.want)
			}
			if after := r.file(); after != before {
				t.Errorf("the file changed:\n%s", after)
			}
		})
	}
	// Validate runs the same checks and writes nothing, valid or not.
	err := r.b.ValidatePlugin(ctx, console.PluginEdit{Original: "out", Name: "out", Type: "file", Kind: "destination",
		Values: map[string]string{"path": filepath.Join(r.dir, "o.ndjson"), "workers": "100"}})
	var inv *console.InvalidError
	if !errors.As(err, &inv) {
		t.Errorf("ValidatePlugin: %v; want an *InvalidError", err)
	}
	if err := r.b.ValidatePlugin(ctx, console.PluginEdit{Original: "out", Name: "out", Type: "file", Kind: "destination",
		Values: map[string]string{"path": filepath.Join(r.dir, "o.ndjson"), "workers": "4"}}); err != nil {
		t.Errorf("ValidatePlugin of a valid edit: %v", err)
	}
	if after := r.file(); after != before {
		t.Errorf("ValidatePlugin changed the file:\n%s", after)
	}
	// Deleting what no mapping uses works.
	if err := r.b.DeletePlugin(ctx, "ns"); err != nil {
		t.Fatal(err)
	}
	if _, err := r.b.Plugin(ctx, "ns"); !errors.Is(err, console.ErrNotFound) {
		t.Errorf("Plugin(ns) after the delete: %v; want ErrNotFound", err)
	}
}

// A disabled plugin configuration stops, with its mappings, and runs again once enabled.
func TestConsoleDisableEnable(t *testing.T) {
	r := startEditRig(t)
	ctx := context.Background()
	r.write(2, "low")
	eventually(t, "the first records", func() bool { return r.lines("out.ndjson") == 2 })
	if err := r.b.SetPluginDisabled(ctx, "in", true); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(r.file(), "disabled: true") {
		t.Errorf("the file lacks disabled: true:\n%s", r.file())
	}
	if st := r.a.LastReload(); !slices.Contains(st.Result.Plugins.Stopped, "in") {
		t.Errorf("reload %+v; want in stopped", st.Result)
	}
	ov, err := r.b.Overview(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ov.Plugins {
		if p.Name == "in" && p.State != console.StateDisabled {
			t.Errorf("in: state %s; want disabled", p.State)
		}
	}
	if pc, _ := r.b.Plugin(ctx, "in"); !pc.Disabled {
		t.Errorf("Plugin(in) not disabled")
	}
	r.write(3, "low")
	if err := r.b.SetPluginDisabled(ctx, "in", false); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(r.file(), "disabled") {
		t.Errorf("the file still has disabled:\n%s", r.file())
	}
	eventually(t, "the records written while disabled", func() bool { return r.lines("out.ndjson") == 5 })
	if err := r.b.SetPluginDisabled(ctx, "nope", true); !errors.Is(err, console.ErrNotFound) {
		t.Errorf("disable an unknown plugin: %v; want ErrNotFound", err)
	}
	if err := r.b.DeleteRule(ctx, "nope"); !errors.Is(err, console.ErrNotFound) {
		t.Errorf("delete an unknown rule: %v; want ErrNotFound", err)
	}
}

// The rule test runs a rule not saved over the records given, or the last records the source
// read, and says why each matches or not.
func TestConsoleTestRule(t *testing.T) {
	r := startEditRig(t)
	ctx := context.Background()
	res, err := r.b.TestRule(ctx, console.RuleTest{Rule: console.Rule{Name: "t", Filter: `{"sev": {"$in": ["high", "critical"]}}`},
		Records: `[{"sev": "high"}, {"sev": "low"}, {"other": 1}]`})
	if err != nil || res.Error != "" {
		t.Fatal(err, res.Error)
	}
	want := []struct {
		match bool
		why   string
	}{{true, `match with sev = "high"`}, {false, `no match with sev = "low"`}, {false, "no match with sev is missing"}}
	if len(res.Records) != len(want) {
		t.Fatalf("records %+v; want %d", res.Records, len(want))
	}
	for i, w := range want {
		if got := res.Records[i]; got.Match != w.match || got.Why != w.why {
			t.Errorf("record %d: %+v; want match %v, why %q", i, got, w.match, w.why)
		}
	}
	if res, _ := r.b.TestRule(ctx, console.RuleTest{Rule: console.Rule{Expr: "sev =="}, Records: `{"sev":"high"}`}); !strings.HasPrefix(res.Error, "expr:") {
		t.Errorf("an expression that does not compile: %q; want the expr: error", res.Error)
	}

	r.write(3, "low")
	r.write(2, "high")
	eventually(t, "the records read", func() bool { return r.lines("out.ndjson") == 5 })
	res, err = r.b.TestRule(ctx, console.RuleTest{Rule: console.Rule{Expr: `sev == "high"`}, Source: "in", Last: 4})
	if err != nil || res.Error != "" {
		t.Fatal(err, res.Error)
	}
	var matches []bool
	for _, rec := range res.Records {
		matches = append(matches, rec.Match)
	}
	if !slices.Equal(matches, []bool{false, false, true, true}) {
		t.Errorf("matches over the last 4 records %v; want [false false true true]: %+v", matches, res.Records)
	}
	srcs, _ := r.b.Sources(ctx)
	if !slices.Equal(srcs, []string{"in", "ns"}) {
		t.Errorf("sources %v; want in, ns", srcs)
	}
}

// Rules are saved, renamed (the mappings follow) and deleted in the file.
func TestConsoleRules(t *testing.T) {
	r := startEditRig(t)
	ctx := context.Background()
	rs, err := r.b.Rules(ctx)
	if err != nil || len(rs) != 1 || rs[0].Filter != `{"sev": "high"}` {
		t.Fatalf("rules %+v, %v; want high with its filter text", rs, err)
	}
	if err := r.b.SaveMapping(ctx, "archive", console.Mapping{Name: "archive", Source: "in", Rule: "high", Destinations: []string{"out"}}); err != nil {
		t.Fatal(err)
	}
	if err := r.b.SaveRule(ctx, "high", console.Rule{Name: "severe", Description: "high only", Filter: `{"sev": "high"}`}); err != nil {
		t.Fatal(err)
	}
	text := r.file()
	for _, want := range []string{"name: severe", "description: high only", `filter: '{"sev": "high"}' # CE's rule 7`, "rule: severe"} {
		if !strings.Contains(text, want) {
			t.Errorf("the file lacks %q:\n%s", want, text)
		}
	}
	if err := r.b.SaveRule(ctx, "", console.Rule{Name: "low", Expr: `sev == "low"`}); err != nil {
		t.Fatal(err)
	}
	if err := r.b.DeleteRule(ctx, "low"); err != nil {
		t.Fatal(err)
	}
	rs, _ = r.b.Rules(ctx)
	if len(rs) != 1 || rs[0].Name != "severe" {
		t.Errorf("rules %+v; want severe alone", rs)
	}
	r.write(1, "high")
	r.write(1, "low")
	eventually(t, "the high record", func() bool { return r.lines("out.ndjson") == 1 })
}

// The preview shows whether the mapping's rule matches the record and what each destination
// would send: a file destination the record as it is, syslog its message.
func TestConsolePreviewMapping(t *testing.T) {
	r := startEditRig(t)
	ctx := context.Background()
	if err := r.b.SavePlugin(ctx, console.PluginEdit{Name: "siem", Type: "syslog", Kind: "destination",
		Values: map[string]string{"address": "127.0.0.1:1", "protocol": "tcp", "format": "json"}}); err != nil {
		t.Fatal(err)
	}
	m := console.Mapping{Source: "in", Rule: "high", Destinations: []string{"out", "siem"}}
	res, err := r.b.PreviewMapping(ctx, console.MappingPreview{Mapping: m, Record: `{"id":7,"sev":"high"}`})
	if err != nil || res.Error != "" {
		t.Fatal(err, res.Error)
	}
	if !res.Matched || !strings.Contains(res.Why, `sev = "high"`) {
		t.Errorf("matched %v, why %q; want a match on sev", res.Matched, res.Why)
	}
	if len(res.Outputs) != 2 || res.Outputs[0].Output != `{"id":7,"sev":"high"}` || res.Outputs[1].Error != "" ||
		!strings.Contains(res.Outputs[1].Output, `"id":7`) {
		t.Errorf("outputs %+v; want the record as it is, and syslog's message", res.Outputs)
	}
	// Without a record: the source's last one.
	res, _ = r.b.PreviewMapping(ctx, console.MappingPreview{Mapping: m})
	if !strings.Contains(res.Error, "has read no record") {
		t.Errorf("preview before any record: %+v; want the error", res)
	}
	r.write(1, "low")
	eventually(t, "the record read", func() bool { return r.lines("out.ndjson") == 1 })
	res, _ = r.b.PreviewMapping(ctx, console.MappingPreview{Mapping: m})
	if res.Error != "" || res.Matched || len(res.Outputs) != 2 || !strings.Contains(res.Outputs[0].Output, `"sev":"low"`) {
		t.Errorf("preview of the last record: %+v; want the low record, not matched", res)
	}
}

// A plugin configuration renamed is renamed in its mappings too.
func TestConsoleRenamePlugin(t *testing.T) {
	r := startEditRig(t)
	ctx := context.Background()
	err := r.b.SavePlugin(ctx, console.PluginEdit{Original: "out", Name: "archive-file", Type: "file", Kind: "destination",
		Values: map[string]string{"path": filepath.Join(r.dir, "out.ndjson"), "batch.max_wait": "10ms"}})
	if err != nil {
		t.Fatal(err)
	}
	ms, _ := r.b.Mappings(ctx)
	if len(ms) != 1 || !slices.Equal(ms[0].Destinations, []string{"archive-file"}) {
		t.Errorf("mappings %+v; want archive to archive-file", ms)
	}
	r.write(1, "low")
	eventually(t, "the record delivered", func() bool { return r.lines("out.ndjson") == 1 })
}

// The types, their forms and the live check come from the registry, as validate has them.
func TestConsolePluginTypesAndCheck(t *testing.T) {
	r := startEditRig(t)
	ctx := context.Background()
	types, err := r.b.PluginTypes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []console.PluginType{{Type: "file", Kind: "source"}, {Type: "file", Kind: "destination"}, {Type: "netskope", Kind: "source"}} {
		if !slices.ContainsFunc(types, func(pt console.PluginType) bool {
			return pt.Type == want.Type && pt.Kind == want.Kind && pt.Summary != ""
		}) {
			t.Errorf("types lack %s %s with its summary", want.Type, want.Kind)
		}
	}
	sc, err := r.b.PluginSchema(ctx, "netskope", "source")
	if err != nil {
		t.Fatal(err)
	}
	if f, ok := sc.Field("api_token"); !ok || !f.Secret {
		t.Errorf("netskope's api_token: %+v, %v; want a secret field", f, ok)
	}
	if _, err := r.b.PluginSchema(ctx, "netskope", "destination"); !errors.Is(err, console.ErrNotFound) {
		t.Errorf("a netskope destination: %v; want ErrNotFound", err)
	}
	res, err := r.b.CheckPlugin(ctx, "out")
	if err != nil || !res.OK || !strings.Contains(res.Detail, "not checked") {
		t.Errorf("check of out: %+v, %v; want not checked", res, err)
	}
	if _, err := r.b.CheckPlugin(ctx, "nope"); !errors.Is(err, console.ErrNotFound) {
		t.Errorf("check of an unknown plugin: %v; want ErrNotFound", err)
	}
}
