package app

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/logshipper/logshipper/internal/config"
	"github.com/logshipper/logshipper/internal/console"
	"github.com/logshipper/logshipper/internal/telemetry"
	"github.com/logshipper/logshipper/plugins/all"
)

const consoleRig = `data_dir: %[1]s/data
admin: {listen: ""}
console:
  listen: 127.0.0.1:0
  token_file: %[1]s/token
plugins:
  - {name: in, type: file, paths: [%[1]s/in.ndjson], follow: true}
  - {name: out, type: file, path: %[1]s/out.ndjson, batch: {max_bytes: %[2]s}}
siem_mappings:
  - {source: in, destination: out}
`

func writeConsoleRig(t *testing.T, dir, maxBytes string) string {
	t.Helper()
	path := filepath.Join(dir, "logshipper.yaml")
	y := strings.ReplaceAll(strings.ReplaceAll(consoleRig, "%[1]s", dir), "%[2]s", maxBytes)
	if err := os.WriteFile(path, []byte(y), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func lines(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		out = append(out, sc.Text())
	}
	return out
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// The console's Overview shows each configuration's state and counts from the running App, and
// its Dead letters page lists what a destination refused; after the configuration is fixed and
// reloaded, a replay from the console delivers the record and removes it from the store.
func TestConsoleBackendOverviewAndDeadLetters(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "token"), []byte("0123456789abcdef0123\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	big := `{"n":3,"pad":"` + strings.Repeat("x", 3000) + `"}`
	if err := os.WriteFile(filepath.Join(dir, "in.ndjson"), []byte(`{"n":1}`+"\n"+`{"n":2}`+"\n"+big+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	path := writeConsoleRig(t, dir, "1KiB")
	reg := all.Registry()
	opts := append([]config.Option{config.CheckHost()}, LoadOptions()...)
	cfg, err := config.Load(path, reg, config.Resolver{}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	hub := console.NewLogHub(1000)
	log := slog.New(hub.Handler(slog.NewTextHandler(io.Discard, nil)))
	a, err := New(context.Background(), cfg, reg, log, "test")
	if err != nil {
		t.Fatal(err)
	}
	if a.recent == nil {
		t.Fatal("a console is configured, but the App keeps no recent records for its rule tests")
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	b := &consoleBackend{LogHub: hub, a: a, reg: reg, history: telemetry.NewHistory(a.metrics, time.Second, time.Minute), recent: a.recent, started: time.Now()}

	waitUntil(t, "two records delivered and one dead-lettered", func() bool {
		page, err := b.DeadLetters(ctx, console.DeadLetterFilter{})
		return err == nil && page.Total == 1 && len(lines(t, filepath.Join(dir, "out.ndjson"))) == 2
	})
	// The file holds the records a moment before the destination counts them sent.
	var ov console.Overview
	byName := map[string]console.PluginStatus{}
	waitUntil(t, "the Overview to count them", func() bool {
		var err error
		if ov, err = b.Overview(ctx); err != nil {
			t.Fatal(err)
		}
		for _, p := range ov.Plugins {
			byName[p.Name] = p
		}
		return byName["out"].Sent == 2 && byName["in"].Received == 3
	})
	if in := byName["in"]; in.State != console.StateRunning || in.Received != 3 || in.Kind != "source" {
		t.Errorf("in on the Overview: %+v; want running, 3 received", in)
	}
	if out := byName["out"]; out.Sent != 2 || out.Dropped["too_large"] != 1 {
		t.Errorf("out on the Overview: %+v; want 2 sent, 1 dropped too_large", out)
	}
	if len(ov.Mappings) != 1 || ov.Mappings[0].Source != "in" || ov.Mappings[0].Destinations[0] != "out" {
		t.Errorf("mappings on the Overview: %+v", ov.Mappings)
	}
	if got := a.recent.Last("in", 0); len(got) != 3 {
		t.Errorf("the App kept %d of in's records for the rule tests; want 3", len(got))
	}

	page, _ := b.DeadLetters(ctx, console.DeadLetterFilter{Destination: "out"})
	dl := page.Entries[0]
	if dl.Reason != "too_large" || !strings.Contains(dl.Record, `"n":3`) || len(page.Counts) != 1 || page.Counts[0].Count != 1 {
		t.Fatalf("dead letters: %+v", page)
	}
	one, err := b.DeadLetter(ctx, dl.ID)
	if err != nil || one.ID != dl.ID {
		t.Fatalf("DeadLetter(%s) = %+v, %v", dl.ID, one, err)
	}

	// Replayed with the destination still refusing: the entry stays, with the error.
	n, err := b.ReplayDeadLetters(ctx, []string{dl.ID})
	if err == nil || n != 0 {
		t.Errorf("replay to the unfixed destination: %d delivered, error %v; want 0 and an error", n, err)
	}
	// Fixed and reloaded: the replay delivers it, and it leaves the store.
	writeConsoleRig(t, dir, "1MiB")
	if _, err := a.ReloadFile(ctx); err != nil {
		t.Fatalf("reload: %v", err)
	}
	after, _ := b.DeadLetters(ctx, console.DeadLetterFilter{})
	if after.Total != 1 {
		t.Fatalf("%d dead letters after the failed replay; want the 1 kept", after.Total)
	}
	n, err = b.ReplayDeadLetters(ctx, []string{after.Entries[0].ID})
	if err != nil || n != 1 {
		t.Fatalf("replay after the fix: %d delivered, %v; want 1", n, err)
	}
	waitUntil(t, "the replayed record in the output", func() bool { return len(lines(t, filepath.Join(dir, "out.ndjson"))) == 3 })
	if left, _ := b.DeadLetters(ctx, console.DeadLetterFilter{}); left.Total != 0 {
		t.Errorf("%d dead letters left after a replay that delivered", left.Total)
	}
}
