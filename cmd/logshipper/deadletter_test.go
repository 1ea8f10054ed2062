package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/logshipper/logshipper/internal/deadletter"
	"github.com/logshipper/logshipper/internal/event"
)

var updateDeadletterGolden = flag.Bool("deadletter.update", false, "write the deadletter command's golden files in testdata/deadletter")

// checkGolden compares got, with dir replaced by $DIR, to testdata/deadletter/name.
func checkGolden(t *testing.T, name, dir, got string) {
	t.Helper()
	got = strings.ReplaceAll(got, dir, "$DIR")
	path := filepath.Join("testdata", "deadletter", name)
	if *updateDeadletterGolden {
		writeFile(t, path, got)
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test -run Deadletter -deadletter.update writes it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs:\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

const deadletterConfig = `
data_dir: %[1]s/data
log: {level: warn}
plugins:
  - name: in
    type: file
    paths: ["%[1]s/in/*.ndjson"]
    poll_interval: 20ms
  - name: out
    type: file
    path: %[1]s/out.ndjson
    batch: {max_bytes: %[2]s, max_wait: 10ms}
siem_mappings:
  - {source: in, destination: out}
`

// The CLI over a store with known entries: list (table and JSON), show, a replay that fails
// again and a purge, against golden files.
func TestDeadletterCommandsGolden(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "c.yaml")
	writeFile(t, cfg, fmt.Sprintf(deadletterConfig, dir, "1KiB"))
	s, err := deadletter.Open(filepath.Join(dir, "data", "deadletter"))
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	var es []deadletter.Entry
	for i, raw := range []string{`{"_id":"a","pad":"` + strings.Repeat("x", 1100) + `"}`, `{"_id":"b"}`} {
		e := deadletter.Entry{Time: t0.Add(time.Duration(i) * time.Minute), Plugin: "out", Source: "in", Reason: []string{"too_large", "refused"}[i],
			Code: []string{"", "InvalidData"}[i], Error: []string{"record of 1113 bytes is larger than the 1024 bytes a batch may hold", "refused (InvalidData): no"}[i]}
		e.SetEvent(&event.Record{Raw: []byte(raw), ID: string(rune('a' + i)), Source: "in"})
		es = append(es, e)
	}
	if err := s.Put("out", es); err != nil {
		t.Fatal(err)
	}
	bad := deadletter.Entry{Time: t0, Plugin: "in", Source: "in", Reason: "invalid", Error: "not JSON"}
	bad.SetRecord([]byte("garbage"))
	if err := s.Put("in", []deadletter.Entry{bad}); err != nil {
		t.Fatal(err)
	}
	_ = s.Close()
	// A spool of the destination, as a stopped run left it: list counts its records.
	writeFile(t, filepath.Join(dir, "data", "spool", "out", "segment-0000000000.ndjson"), "{\"raw\":\"{}\"}\n{\"raw\":\"{}\"}\n")
	items, err := s.List(deadletter.Filter{})
	if err != nil || len(items) != 3 {
		t.Fatalf("%v, %v", items, err)
	}
	idIn, idA, idB := items[0].ID, items[1].ID, items[2].ID

	out, errOut, code := runCLI(t, "", "deadletter", "list", "-c", cfg)
	if code != 0 {
		t.Fatalf("list: exit %d: %s", code, errOut)
	}
	checkGolden(t, "list.txt", dir, out)
	out, _, _ = runCLI(t, "", "deadletter", "list", "-c", cfg, "--json", "--destination", "out")
	checkGolden(t, "list.json", dir, out)
	out, _, _ = runCLI(t, "", "deadletter", "show", "-c", cfg, idB)
	checkGolden(t, "show.txt", dir, out)
	if _, errOut, code := runCLI(t, "", "deadletter", "show", "-c", cfg, "out:0000000000000000"); code != 1 || !strings.Contains(errOut, "no such dead letter") {
		t.Errorf("show of an unknown id: exit %d: %s", code, errOut)
	}

	// Dry run: nothing sent, nothing changed; the source's entries cannot be replayed.
	out, _, code = runCLI(t, "", "deadletter", "replay", "-c", cfg, "--dry-run", idA, idIn)
	if code != 1 {
		t.Errorf("dry run with a source's entry: exit %d", code)
	}
	checkGolden(t, "replay-dry-run.txt", dir, out)
	// The large record is still too large, the refused one goes through (the file destination
	// takes it): exit 1, naming the one that failed.
	out, errOut, code = runCLI(t, "", "deadletter", "replay", "-c", cfg, "--destination", "out")
	if code != 1 || !strings.Contains(errOut, idA) {
		t.Errorf("replay: exit %d, stderr %s", code, errOut)
	}
	checkGolden(t, "replay.txt", dir, out)
	if got := delivered(t, filepath.Join(dir, "out.ndjson")); len(got) != 1 || got["b"] != 1 {
		t.Errorf("out.ndjson holds %v, want b once", got)
	}
	out, _, _ = runCLI(t, "", "deadletter", "show", "-c", cfg, idA)
	checkGolden(t, "show-after-replay.txt", dir, strings.Join(keepLines(strings.Split(out, "\n"), func(l string) bool { return !strings.HasPrefix(l, "REPLAYS") }), "\n"))

	// purge asks first; no answer removes nothing.
	out, _, code = runCLI(t, "n\n", "deadletter", "purge", "-c", cfg, "--all")
	if code != 1 || !strings.Contains(out, "remove 2 dead letters for good? [y/N] nothing removed") {
		t.Errorf("purge answered no: exit %d: %s", code, out)
	}
	out, _, code = runCLI(t, "", "deadletter", "purge", "-c", cfg, "--reason", "invalid", "--yes")
	if code != 0 || out != "removed 1 dead letter\n" {
		t.Errorf("purge: exit %d: %s", code, out)
	}
	out, _, code = runCLI(t, "y\n", "deadletter", "purge", "-c", cfg, idA)
	if code != 0 || !strings.HasSuffix(out, "removed 1 dead letter\n") {
		t.Errorf("purge of an id: exit %d: %s", code, out)
	}
	out, _, _ = runCLI(t, "", "deadletter", "list", "-c", cfg)
	checkGolden(t, "list-empty.txt", dir, out)

	if _, errOut, code := runCLI(t, "", "deadletter", "purge", "-c", cfg); code != 1 || !strings.Contains(errOut, "say which dead letters") {
		t.Errorf("purge without a selection: exit %d: %s", code, errOut)
	}
}

// keepLines returns the lines of in that keep accepts.
func keepLines(in []string, keep func(string) bool) []string {
	var out []string
	for _, s := range in {
		if keep(s) {
			out = append(out, s)
		}
	}
	return out
}

// logshipper run dead-letters the records larger than batch.max_bytes; list shows them, replay
// refuses while run holds data_dir, fails again with the configuration unchanged, and delivers
// them once after max_bytes is raised: the destination then holds every record once.
func TestDeadletterReplayAfterFixingTheConfig(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	dir := t.TempDir()
	cfg := filepath.Join(dir, "c.yaml")
	writeFile(t, cfg, fmt.Sprintf(deadletterConfig, dir, "1KiB"))
	var in strings.Builder
	for i := range 6 {
		pad := ""
		if i%3 == 0 {
			pad = strings.Repeat("x", 1500)
		}
		fmt.Fprintf(&in, `{"_id":"r%d","transaction_id":%d,"pad":"%s"}`+"\n", i, i, pad)
	}
	writeFile(t, filepath.Join(dir, "in", "a.ndjson"), in.String())
	outFile := filepath.Join(dir, "out.ndjson")
	dlFile := filepath.Join(dir, "data", "deadletter", "out.ndjson")

	p := startShipper(t, dir, "run", "-c", cfg)
	waitFor(t, 30*time.Second, "4 records delivered and 2 dead-lettered", func() bool {
		b, _ := os.ReadFile(dlFile)
		return len(delivered(t, outFile)) == 4 && strings.Count(string(b), "\n") == 2
	})
	if _, errOut, code := runCLI(t, "", "deadletter", "replay", "-c", cfg, "--destination", "out"); code != 1 || !strings.Contains(errOut, "stop it first") {
		t.Errorf("replay while run holds data_dir: exit %d: %s", code, errOut)
	}
	out, _, code := runCLI(t, "", "deadletter", "list", "-c", cfg)
	if code != 0 || !strings.Contains(out, "out          too_large  2") {
		t.Errorf("list while running: exit %d:\n%s", code, out)
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := p.wait(t, 30*time.Second); code != 0 {
		t.Fatalf("run exited %d:\n%s", code, p.stderr.String())
	}

	out, errOut, code := runCLI(t, "", "deadletter", "replay", "-c", cfg, "--destination", "out", "--reason", "too_large")
	if code != 1 || !strings.Contains(out, "0 records delivered and removed, 2 records failed") {
		t.Errorf("replay with the configuration unchanged: exit %d:\n%s%s", code, out, errOut)
	}
	writeFile(t, cfg, fmt.Sprintf(deadletterConfig, dir, "4KiB"))
	out, errOut, code = runCLI(t, "", "deadletter", "replay", "-c", cfg, "--destination", "out", "--reason", "too_large")
	if code != 0 || !strings.Contains(out, "2 records delivered and removed, 0 records failed") {
		t.Errorf("replay after the fix: exit %d:\n%s%s", code, out, errOut)
	}
	got := delivered(t, outFile)
	if len(got) != 6 {
		t.Errorf("out.ndjson holds %v, want r0..r5", got)
	}
	for id, n := range got {
		if n != 1 {
			t.Errorf("%s delivered %d times", id, n)
		}
	}
	out, _, _ = runCLI(t, "", "deadletter", "list", "-c", cfg)
	if !strings.HasPrefix(out, "dead letters in "+filepath.Join(dir, "data", "deadletter")+": 0 dead letters\n") {
		t.Errorf("list after the replay:\n%s", out)
	}
}
