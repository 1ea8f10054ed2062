package app_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/logshipper/logshipper/internal/app"
	"github.com/logshipper/logshipper/internal/cluster/clustertest"
	"github.com/logshipper/logshipper/internal/config"
	"github.com/logshipper/logshipper/internal/event"
	"github.com/logshipper/logshipper/internal/plugin"
	"github.com/logshipper/logshipper/plugins/all"
)

// starts counts the runs of each idle source.
type starts struct {
	mu sync.Mutex
	n  map[string]int
	// release lets the held destinations close.
	release chan struct{}
}

func (s *starts) get(name string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n[name]
}

// countedConfig is the idle source's configuration: tag only tells two configurations apart.
type countedConfig struct {
	Tag string `yaml:"tag"`
}

func (*countedConfig) Validate() error { return nil }

// countedSource publishes nothing and runs until its context ends, counting its runs.
type countedSource struct {
	name string
	s    *starts
}

func (i countedSource) Run(ctx context.Context, _ plugin.Publisher) error {
	i.s.mu.Lock()
	i.s.n[i.name]++
	i.s.mu.Unlock()
	<-ctx.Done()
	return nil
}

// heldConfig is the held destination's configuration.
type heldConfig struct {
	Tag string `yaml:"tag"`
}

func (*heldConfig) Validate() error { return nil }

// heldDest takes every batch; its Close waits until the test closes starts.release.
type heldDest struct{ release <-chan struct{} }

func (heldDest) Write(context.Context, []*event.Record) error { return nil }

func (d heldDest) Close(ctx context.Context) error {
	select {
	case <-d.release:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// leasedSource holds the lease of partition "p0" until its context ends, then releases it,
// as a source with partitions does; each acquisition counts as a start.
type leasedSource struct {
	name  string
	s     *starts
	parts plugin.Partitions
}

func (l leasedSource) Run(ctx context.Context, _ plugin.Publisher) error {
	lease, err := l.parts.Acquire(ctx, "p0")
	if err != nil {
		return nil // ctx ended
	}
	defer lease.Release()
	l.s.mu.Lock()
	l.s.n[l.name]++
	l.s.mu.Unlock()
	select {
	case <-ctx.Done():
	case <-lease.Context().Done():
	}
	return nil
}

// testRegistry is every built-in plugin, the counted source and the held destination.
func testRegistry(t *testing.T, s *starts) *plugin.Registry {
	t.Helper()
	fs := append(all.Registry().Factories(), plugin.Factory{
		Type: "held", Kind: plugin.KindDestination, Summary: "test: a Close that waits",
		NewConfig: func() plugin.Config { return &heldConfig{} },
		NewDestination: func(plugin.Config, plugin.Settings) (plugin.Destination, error) {
			return heldDest{release: s.release}, nil
		},
	}, plugin.Factory{
		Type: "leased", Kind: plugin.KindSource, Summary: "test: holds the lease of one partition",
		NewConfig: func() plugin.Config { return &countedConfig{} },
		NewSource: func(_ plugin.Config, set plugin.Settings) (plugin.Source, error) {
			return leasedSource{name: set.Name, s: s, parts: set.PartitionsOf()}, nil
		},
	}, plugin.Factory{
		Type: "idle", Kind: plugin.KindSource, Summary: "test: reads nothing",
		NewConfig: func() plugin.Config { return &countedConfig{} },
		NewSource: func(c plugin.Config, set plugin.Settings) (plugin.Source, error) {
			if c.(*countedConfig).Tag == "unbuildable" {
				return nil, errors.New("cannot be built")
			}
			return countedSource{name: set.Name, s: s}, nil
		},
	})
	reg, err := plugin.NewRegistry(fs...)
	if err != nil {
		t.Fatal(err)
	}
	return reg
}

// reloadRig runs an App over a configuration file that the test rewrites.
type reloadRig struct {
	t      *testing.T
	dir    string
	path   string
	reg    *plugin.Registry
	starts *starts
	app    *app.App
	runErr chan error
	log    *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// startRig writes yaml (with %[1]s the test's directory) and runs it.
func startRig(t *testing.T, yaml string) *reloadRig {
	t.Helper()
	r := &reloadRig{t: t, dir: t.TempDir(), starts: &starts{n: map[string]int{}, release: make(chan struct{})}, runErr: make(chan error, 1), log: &syncBuffer{}}
	r.path = filepath.Join(r.dir, "logshipper.yaml")
	r.reg = testRegistry(t, r.starts)
	r.write(yaml)
	opts := append([]config.Option{config.CheckHost()}, app.LoadOptions()...)
	cfg, err := config.Load(r.path, r.reg, config.Resolver{}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	a, err := app.New(context.Background(), cfg, r.reg, slog.New(slog.NewTextHandler(r.log, nil)), "test")
	if err != nil {
		t.Fatal(err)
	}
	r.app = a
	ctx, cancel := context.WithCancel(context.Background())
	go func() { r.runErr <- a.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-r.starts.release:
		default:
			close(r.starts.release)
		}
		select {
		case err := <-r.runErr:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("Run did not return")
		}
	})
	return r
}

func (r *reloadRig) write(yaml string) {
	r.t.Helper()
	if err := os.WriteFile(r.path, []byte(fmt.Sprintf(yaml, r.dir)), 0o600); err != nil {
		r.t.Fatal(err)
	}
}

// waitFor polls cond until it holds, failing the test after 20s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (r *reloadRig) running() {
	select {
	case err := <-r.runErr:
		r.t.Fatalf("Run returned: %v", err)
	default:
	}
}

const twoPipelines = `data_dir: %[1]s/data
admin: {listen: ""}
plugins:
  - {name: a, type: idle}
  - {name: outa, type: file, kind: destination, path: %[1]s/a.ndjson}
  - {name: b, type: idle, tag: one}
  - {name: outb, type: file, kind: destination, path: %[1]s/b.ndjson}
siem_mappings:
  - {source: a, destination: outa}
  - {source: b, destination: outb}
`

// A reload restarts the pipeline whose configuration changed, and the other one never stops.
func TestReloadKeepsUnchangedPipeline(t *testing.T) {
	r := startRig(t, twoPipelines)
	waitFor(t, "both sources to start", func() bool { return r.starts.get("a") == 1 && r.starts.get("b") == 1 })

	// b's option changes; a's entry is moved and reformatted but says the same.
	r.write(`# comments and order do not matter
data_dir: %[1]s/data
admin: {listen: ""}
plugins:
  - {name: b, type: idle, tag: two}
  - {name: outb, type: file, kind: destination, path: %[1]s/b.ndjson}
  - name: outa
    type: file
    kind: destination
    path: "%[1]s/a.ndjson"
  - name: a
    type: idle
siem_mappings:
  - {source: a, destination: outa}
  - {source: b, destination: outb}
`)
	res, err := r.app.ReloadFile(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := app.Changes{Kept: []string{"a", "outa"}, Restarted: []string{"b", "outb"}}
	if !reflect.DeepEqual(res.Plugins, want) {
		t.Errorf("plugins: %+v; want %+v", res.Plugins, want)
	}
	if want := (app.Changes{Kept: []string{"a->outa"}, Restarted: []string{"b->outb"}}); !reflect.DeepEqual(res.Mappings, want) {
		t.Errorf("mappings: %+v; want %+v", res.Mappings, want)
	}
	waitFor(t, "b to start again", func() bool { return r.starts.get("b") == 2 })

	// The same file again: nothing restarts.
	res, err = r.app.ReloadFile(context.Background())
	if err != nil || res.Changed() {
		t.Errorf("reload of an unchanged file: %+v, %v; want nothing changed", res, err)
	}

	// b's pipeline removed, a new one added.
	r.write(`data_dir: %[1]s/data
admin: {listen: ""}
plugins:
  - {name: a, type: idle}
  - {name: outa, type: file, kind: destination, path: %[1]s/a.ndjson}
  - {name: c, type: idle}
  - {name: outc, type: file, kind: destination, path: %[1]s/c.ndjson}
siem_mappings:
  - {source: a, destination: outa}
  - {source: c, destination: outc}
`)
	res, err = r.app.ReloadFile(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want = app.Changes{Kept: []string{"a", "outa"}, Started: []string{"c", "outc"}, Stopped: []string{"b", "outb"}}
	if !reflect.DeepEqual(res.Plugins, want) {
		t.Errorf("plugins: %+v; want %+v", res.Plugins, want)
	}
	waitFor(t, "c to start", func() bool { return r.starts.get("c") == 1 })
	if n := r.starts.get("a"); n != 1 {
		t.Errorf("a started %d times; want once: an unchanged pipeline must never stop", n)
	}
	if n := r.starts.get("b"); n != 2 {
		t.Errorf("b started %d times; want 2", n)
	}
	if st := r.app.LastReload(); st.Err != nil || st.Time.IsZero() || !reflect.DeepEqual(st.Result, res) {
		t.Errorf("LastReload = %+v; want the last reload's result", st)
	}
	r.running()
}

// An invalid file is refused whole: nothing stops, the reason names the line, and LastReload
// keeps it.
func TestReloadRefusesInvalidFile(t *testing.T) {
	r := startRig(t, twoPipelines)
	waitFor(t, "both sources to start", func() bool { return r.starts.get("a") == 1 && r.starts.get("b") == 1 })
	r.write(`data_dir: %[1]s/data
admin: {listen: ""}
plugins:
  - {name: a, type: idle, tag: changed}
  - {name: outa, type: file, kind: destination, path: %[1]s/a.ndjson}
  - {name: b, type: idle, tag: two}
  - {name: outb, type: file, kind: destination, path: %[1]s/b.ndjson, wokers: 2}
siem_mappings:
  - {source: a, destination: outa}
  - {source: b, destination: outb}
`)
	_, err := r.app.ReloadFile(context.Background())
	if err == nil {
		t.Fatal("ReloadFile accepted a file with an unknown key")
	}
	if !strings.Contains(err.Error(), "line 7") || !strings.Contains(err.Error(), `did you mean "workers"`) {
		t.Errorf("error %q does not name the line and the key", err)
	}
	if st := r.app.LastReload(); !errors.Is(st.Err, err) && (st.Err == nil || st.Err.Error() != err.Error()) {
		t.Errorf("LastReload().Err = %v; want %v", st.Err, err)
	}
	if !strings.Contains(r.log.String(), "configuration not reloaded") {
		t.Errorf("the log does not say the reload was refused:\n%s", r.log)
	}
	if a, b := r.starts.get("a"), r.starts.get("b"); a != 1 || b != 1 {
		t.Errorf("sources started a=%d b=%d times; want once each", a, b)
	}
	r.running()
}

// A change that needs a restart is refused whole, naming the key, even beside a change that
// could apply.
func TestReloadNeedsRestart(t *testing.T) {
	tests := []struct {
		key      string
		old, new string
	}{
		{"data_dir", "data_dir: %[1]s/data", "data_dir: %[1]s/elsewhere"},
		{"admin", `admin: {listen: ""}`, `admin: {listen: "127.0.0.1:0"}`},
		{"log", `admin: {listen: ""}`, "admin: {listen: \"\"}\nlog: {level: debug}"},
		{"memory_limit", `admin: {listen: ""}`, "admin: {listen: \"\"}\nmemory_limit: 1GiB"},
		{"state_sync_interval", `admin: {listen: ""}`, "admin: {listen: \"\"}\nstate_sync_interval: 0s"},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			r := startRig(t, twoPipelines)
			waitFor(t, "both sources to start", func() bool { return r.starts.get("a") == 1 && r.starts.get("b") == 1 })
			r.write(strings.Replace(strings.Replace(twoPipelines, tt.old, tt.new, 1), "tag: one", "tag: two", 1))
			_, err := r.app.ReloadFile(context.Background())
			var nr *app.NeedsRestartError
			if !errors.As(err, &nr) || !reflect.DeepEqual(nr.Keys, []string{tt.key}) {
				t.Fatalf("ReloadFile = %v; want a NeedsRestartError naming %s", err, tt.key)
			}
			if !strings.Contains(err.Error(), "needs a restart: "+tt.key) {
				t.Errorf("error %q does not say what needs a restart", err)
			}
			if b := r.starts.get("b"); b != 1 {
				t.Errorf("b started %d times; want once: a refused reload changes nothing", b)
			}
			r.running()
		})
	}
}

// While a reload stops a pipeline, /readyz says its plugin configurations are not ready; the
// others are, and once the pipeline runs again everything is.
func TestReloadReadyz(t *testing.T) {
	const yaml = `data_dir: %[1]s/data
admin: {listen: "127.0.0.1:0"}
plugins:
  - {name: a, type: idle}
  - {name: outa, type: file, kind: destination, path: %[1]s/a.ndjson}
  - {name: b, type: idle}
  - {name: held, type: held, tag: one}
siem_mappings:
  - {source: a, destination: outa}
  - {source: b, destination: held}
`
	r := startRig(t, yaml)
	var addr string
	waitFor(t, "the admin address", func() bool {
		_, rest, ok := strings.Cut(r.log.String(), `msg="admin endpoints serving" address=`)
		addr, _, _ = strings.Cut(rest, " ")
		return ok
	})
	readyz := func() (int, string) {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	waitFor(t, "ready", func() bool { code, _ := readyz(); return code == 200 })
	r.write(strings.Replace(yaml, "tag: one", "tag: two", 1))
	done := make(chan error, 1)
	go func() { _, err := r.app.ReloadFile(context.Background()); done <- err }()
	waitFor(t, "/readyz to show the pipeline stopping", func() bool {
		code, body := readyz()
		return code == 503 && strings.Contains(body, `"held":"stopping for a reload"`) && strings.Contains(body, `"b":"stopping for a reload"`)
	})
	if _, body := readyz(); strings.Contains(body, `"a":`) || strings.Contains(body, `"outa":`) {
		t.Errorf("/readyz lists the pipeline that keeps running as not ready: %s", body)
	}
	close(r.starts.release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	waitFor(t, "ready again", func() bool { code, _ := readyz(); return code == 200 })
	if n := r.starts.get("a"); n != 1 {
		t.Errorf("a started %d times; want once", n)
	}
}

// In cluster mode a restarted source releases its partition leases as it stops and acquires
// them again at once (it does not wait for them to expire); the other pipeline keeps its own.
func TestReloadClusterLeases(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a JetStream cluster")
	}
	srv := clustertest.Start(t, 3)
	yaml := strings.Replace(`data_dir: %[1]s/data
admin: {listen: ""}
cluster: {urls: [URLS], node: ls-1, replicas: 3, lease_ttl: 30s}
plugins:
  - {name: a, type: leased}
  - {name: outa, type: file, kind: destination, path: %[1]s/a.ndjson}
  - {name: b, type: leased, tag: one}
  - {name: outb, type: file, kind: destination, path: %[1]s/b.ndjson}
siem_mappings:
  - {source: a, destination: outa}
  - {source: b, destination: outb}
`, "URLS", strings.Join(srv.URLs(), ", "), 1)
	r := startRig(t, yaml)
	waitFor(t, "both leases", func() bool { return r.starts.get("a") == 1 && r.starts.get("b") == 1 })
	r.write(strings.Replace(yaml, "tag: one", "tag: two", 1))
	start := time.Now()
	if _, err := r.app.ReloadFile(context.Background()); err != nil {
		t.Fatal(err)
	}
	// Well within the lease's TTL: the lease was released, not left to expire.
	waitFor(t, "b's lease again", func() bool { return r.starts.get("b") == 2 })
	if d := time.Since(start); d > 15*time.Second {
		t.Errorf("b took its lease again after %s; want at once (the TTL is 30s)", d)
	}
	if n := r.starts.get("a"); n != 1 {
		t.Errorf("a acquired its lease %d times; want once", n)
	}
	counts, err := r.app.Metrics().Counts()
	if err != nil {
		t.Fatal(err)
	}
	moves := counts["logshipper_partition_moves_total"]
	if moves["b/acquired"] != 2 || moves["b/released"] != 1 || moves["a/acquired"] != 1 || moves["a/released"] != 0 {
		t.Errorf("partition moves %v; want b acquired twice and released once, a acquired once", moves)
	}
	if owned := counts["logshipper_partitions_owned"]; owned["a"] != 1 || owned["b"] != 1 {
		t.Errorf("partitions owned %v; want one each", owned)
	}
}

// A new configuration that cannot be built leaves the pipelines it stopped running again from
// the previous configuration.
func TestReloadBuildFailureRestoresPipeline(t *testing.T) {
	r := startRig(t, twoPipelines)
	waitFor(t, "both sources to start", func() bool { return r.starts.get("a") == 1 && r.starts.get("b") == 1 })
	r.write(strings.Replace(twoPipelines, "tag: one", "tag: unbuildable", 1))
	_, err := r.app.ReloadFile(context.Background())
	if err == nil || !strings.Contains(err.Error(), "cannot be built") || !strings.Contains(err.Error(), "previous configuration") {
		t.Fatalf("ReloadFile = %v; want the build error, saying the previous configuration runs", err)
	}
	waitFor(t, "b to run again", func() bool { return r.starts.get("b") == 2 })
	if a := r.starts.get("a"); a != 1 {
		t.Errorf("a started %d times; want once", a)
	}
	if st := r.app.LastReload(); st.Err == nil {
		t.Error("LastReload().Err = nil; want the build error")
	}
	// The configuration running is still the previous one: reloading it changes nothing.
	r.write(twoPipelines)
	if res, err := r.app.ReloadFile(context.Background()); err != nil || res.Changed() {
		t.Errorf("reload of the previous file: %+v, %v; want nothing changed", res, err)
	}
	r.running()
}

// A changed destination restarts with its source; every record goes through once across the
// reload, and the metrics of the restarted plugins keep counting.
func TestReloadChangedDestinationDeliversOnce(t *testing.T) {
	const yaml = `data_dir: %[1]s/data
admin: {listen: ""}
plugins:
  - {name: in, type: file, paths: ["%[1]s/in/*.ndjson"], poll_interval: 10ms}
  - name: out
    type: file
    kind: destination
    path: %[1]s/out.ndjson
    batch: {max_records: BATCH, max_wait: 10ms}
siem_mappings:
  - {source: in, destination: out}
`
	r := startRig(t, strings.Replace(yaml, "BATCH", "7", 1))
	in := filepath.Join(r.dir, "in", "1.ndjson")
	if err := os.MkdirAll(filepath.Dir(in), 0o700); err != nil {
		t.Fatal(err)
	}
	next := 0
	appendRecords := func(n int) {
		f, err := os.OpenFile(in, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
		if err != nil {
			t.Fatal(err)
		}
		for range n {
			fmt.Fprintf(f, "{\"id\":%d}\n", next)
			next++
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
	}
	out := filepath.Join(r.dir, "out.ndjson")
	appendRecords(200)
	waitFor(t, "the first records", func() bool { return len(readIDs(t, out)) > 0 })
	// More records while the reload drains and restarts the pipeline.
	appendRecords(300)
	r.write(strings.Replace(yaml, "BATCH", "50", 1))
	res, err := r.app.ReloadFile(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"in", "out"}; !reflect.DeepEqual(res.Plugins.Restarted, want) {
		t.Errorf("restarted %v; want %v", res.Plugins.Restarted, want)
	}
	appendRecords(500)
	waitFor(t, "every record", func() bool { return len(readIDs(t, out)) >= next })
	ids := readIDs(t, out)
	seen := map[int]int{}
	for _, id := range ids {
		seen[id]++
	}
	for id := range next {
		if seen[id] != 1 {
			t.Errorf("record %d delivered %d times; want once", id, seen[id])
		}
	}
	counts, err := r.app.Metrics().Counts()
	if err != nil {
		t.Fatal(err)
	}
	if got := counts["logshipper_records_sent_total"]["out"]; got != float64(next) {
		t.Errorf("records sent by out: %v; want %d, counted across the restart", got, next)
	}
	r.running()
}

// readIDs returns the ids of the records in the file destination's output.
func readIDs(t *testing.T, path string) []int {
	t.Helper()
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var ids []int
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var rec struct{ ID int }
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatalf("%s: %q: %v", path, sc.Text(), err)
		}
		ids = append(ids, rec.ID)
	}
	return ids
}

var _ io.Writer = (*syncBuffer)(nil)
