package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/logshipper/logshipper/internal/plugin"
	"github.com/logshipper/logshipper/internal/sim/cloudsim"
	"github.com/logshipper/logshipper/internal/sim/lake"
	"github.com/logshipper/logshipper/internal/sim/netskope"
	"github.com/logshipper/logshipper/plugins/destinations/cloudtraillake"
)

func TestParseWhen(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.FixedZone("CET", 3600))
	tests := []struct {
		in      string
		want    time.Time
		wantErr string
	}{
		{"now", now.UTC(), ""},
		{"-24h", now.Add(-24 * time.Hour).UTC(), ""},
		{"-7d", now.Add(-7 * 24 * time.Hour).UTC(), ""},
		{"-90m", now.Add(-90 * time.Minute).UTC(), ""},
		{"2026-11-01T00:00:00Z", time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), ""},
		{"2026-11-01T02:00:00+02:00", time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), ""},
		{"2026-11-01", time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), ""},
		{"", time.Time{}, "empty"},
		{"-xd", time.Time{}, `"-xd" is not a duration`},
		{"-5x", time.Time{}, `"-5x" is not a duration`},
		{"yesterday", time.Time{}, `"yesterday" is not now, an RFC 3339 time`},
		{"2026-13-01", time.Time{}, `"2026-13-01" is not now`},
	}
	for _, tc := range tests {
		got, err := parseWhen(tc.in, now)
		switch {
		case tc.wantErr != "":
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("parseWhen(%q) = %v, %v; want an error containing %q", tc.in, got, err, tc.wantErr)
			}
		case err != nil || !got.Equal(tc.want):
			t.Errorf("parseWhen(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
	if _, err := parseRange("-1h", "-2h", now); err == nil || !strings.Contains(err.Error(), "--from") {
		t.Errorf("a range that ends before it starts: %v", err)
	}
	if _, err := parseRange("now", "-2h", now); err == nil {
		t.Error("from after to accepted")
	}
	if _, err := parseRange("-1h", "soon", now); err == nil || !strings.HasPrefix(err.Error(), "--to: ") {
		t.Errorf("a bad --to: %v", err)
	}
}

func TestProgressLine(t *testing.T) {
	from := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	to := from.Add(10 * time.Hour)
	start := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	b := newProgressDisplay(nil, progressLines, from, to, start)
	if got := b.line(start, 0); got != "  0% 0 records, 0/s, ETA -, 0/0 parts done, 0s elapsed" {
		t.Errorf("empty: %q", got)
	}
	b.update(plugin.BackfillProgress{Part: "alerts/dlp", Position: from})
	b.update(plugin.BackfillProgress{Part: "events/audit", Position: from})
	b.update(plugin.BackfillProgress{Part: "alerts/dlp", Records: 12000, Position: from.Add(5 * time.Hour)})
	b.update(plugin.BackfillProgress{Part: "events/audit", Records: 3456, Position: to, Done: true})
	// dlp half done, audit done: 75% in 30s, so 10s to go.
	want := "[======================        ]  75% 15,456 records, 515/s, ETA 10s, 1/2 parts done, 30s elapsed"
	if got := b.line(start.Add(30*time.Second), 30); got != want {
		t.Errorf("line:\n got %q\nwant %q", got, want)
	}
	b.update(plugin.BackfillProgress{Part: "alerts/dlp", Records: 20000, Position: to.Add(time.Hour), Done: true})
	if got := b.line(start.Add(time.Minute), 0); !strings.HasPrefix(got, "100% 23,456 records") || !strings.Contains(got, "done, 2/2 parts done") {
		t.Errorf("finished: %q", got)
	}
	for n, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 1234567: "1,234,567", -1234: "-1,234"} {
		if got := groupDigits(n); got != want {
			t.Errorf("groupDigits(%d) = %q, want %q", n, got, want)
		}
	}
}

// runBackfill runs `logshipper backfill` as a process and returns its exit code, stdout and
// stderr.
func runBackfill(t *testing.T, dir string, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], append([]string{"backfill"}, args...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "LOGSHIPPER_TEST_MAIN=1")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(90 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatalf("backfill did not finish:\n%s", errb.String())
	}
	return cmd.ProcessState.ExitCode(), out.String(), errb.String()
}

// A backfill reads exactly the records inserted in its range, from every configured endpoint,
// through faults, delivers them through the source's mappings, skips UBA, and exits 0 with a
// summary; the live source's position is not touched.
func TestE2EBackfillNetskopeIntoLake(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	c := cloudsim.Default()
	c.AWS.Listen, c.IMDS.Listen, c.Netskope.Listen, c.Admin.Listen = "127.0.0.1:0", "", "127.0.0.1:0", ""
	c.Netskope.Generate = cloudsim.GenerateConfig{Backlog: 600, BacklogSpan: 10 * time.Hour, Endpoints: []string{"alerts/dlp", "alerts/uba", "events/audit"}}
	c.Netskope.Faults = cloudsim.NetskopeFault{ServerErrorRate: 0.05, CutBodyRate: 0.05}
	c.AWS.Lake.Faults = cloudsim.LakeFaults{EventThrottleRate: 0.05, CallServerErrorRate: 0.05}
	sim, err := cloudsim.Start(c)
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	a := c.AWS.Accounts[0]
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "c.yaml"), fmt.Sprintf(`
data_dir: ./data
admin: {listen: "127.0.0.1:1"}   # never served by a backfill without --admin
plugins:
  - name: acme
    type: netskope
    tenant: %s
    api_token: cloudsim-demo-token
    event_types: [audit]
    alert_types: [dlp, uba]
    max_backoff: 1s
  - name: lake
    type: aws_cloudtrail_lake
    channel_arn: %s
    access_key_id: %s
    secret_access_key: %s
    endpoint: %s
    proxy: none
    retry: {initial_interval: 20ms, max_interval: 200ms}
  - {name: files, type: file, paths: ["./in/*.ndjson"]}
  - {name: out, type: file, path: ./out.ndjson}
siem_mappings:
  - {source: acme, destination: lake}
  - {source: files, destination: out}
`, sim.Endpoints["netskope"], cloudsim.DemoChannelARN, a.AccessKeyID, a.SecretAccessKey, sim.Endpoints["aws"]))

	now := time.Now()
	from, to := now.Add(-8*time.Hour).Truncate(time.Second), now.Add(-3*time.Hour).Truncate(time.Second)
	want := map[string]bool{}
	for _, ep := range []struct {
		kind netskope.Kind
		typ  string
	}{{netskope.Alerts, "dlp"}, {netskope.Events, "audit"}} {
		for _, r := range sim.Netskope.Records(ep.kind, ep.typ) {
			if r.Inserted >= from.Unix() && r.Inserted < to.Unix() {
				want[r.ID] = true
			}
		}
	}
	if len(want) < 200 {
		t.Fatalf("only %d records in the range: the test would prove little", len(want))
	}

	code, out, errs := runBackfill(t, dir, "-c", "c.yaml", "--source", "acme",
		"--from", from.Format(time.RFC3339), "--to", to.Format(time.RFC3339), "--progress", "lines")
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errs)
	}
	got := map[string]int{}
	for _, e := range sim.Lake.Query(lake.Filter{}) {
		got[cloudtraillake.RecordIDOf(e.ID)]++
		if strings.Contains(e.EventSource, "uba") {
			t.Fatalf("a UBA alert reached the lake: %s", e.ID)
		}
	}
	for id := range want {
		if got[id] != 1 {
			t.Errorf("%s (in the range) stored %d times, want once", id, got[id])
		}
	}
	for id := range got {
		if !want[id] {
			t.Errorf("%s is outside the range or not on a backfilled endpoint, yet stored", id)
		}
	}
	for _, s := range []string{
		"backfill of acme done: " + from.UTC().Format(time.RFC3339) + ".." + to.UTC().Format(time.RFC3339) + ", 3/3 parts finished",
		fmt.Sprintf("lake                     sent %s", groupDigits(int64(len(want)))),
		"unsupported_by_destination",
	} {
		if !strings.Contains(out, s) {
			t.Errorf("the summary lacks %q:\n%s", s, out)
		}
	}
	if !strings.Contains(errs, "backfill: 100% ") {
		t.Errorf("no final progress line:\n%s", errs)
	}
	if strings.Contains(errs, "admin") && strings.Contains(errs, "127.0.0.1:1") {
		t.Errorf("the backfill served the configured admin address:\n%s", errs)
	}
	// The live data_dir holds no position: only the backfill's own directory was used.
	if _, err := os.Stat(filepath.Join(dir, "data", "backfill", "acme")); err != nil {
		t.Errorf("the backfill's data directory: %v", err)
	}
	if m, _ := filepath.Glob(filepath.Join(dir, "data", "*.db")); len(m) != 0 {
		t.Errorf("the live data_dir was opened: %v", m)
	}
	t.Logf("backfill %s..%s: %d records in range stored once each; lake stats %+v", from.Format(time.RFC3339), to.Format(time.RFC3339), len(want), sim.Lake.Stats())
}

func TestBackfillRefusesWhatItCannotDo(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "c.yaml"), `
data_dir: ./data
plugins:
  - {name: files, type: file, paths: ["./in/*.ndjson"]}
  - {name: out, type: file, path: ./out.ndjson}
  - {name: idle, type: file, kind: source, paths: ["./idle/*.ndjson"]}
siem_mappings:
  - {source: files, destination: out}
`)
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--source", "nope", "--from", "-1h"}, `no plugin configuration is named \"nope\"`},
		{[]string{"--source", "out", "--from", "-1h"}, "out is a destination, not a source"},
		{[]string{"--source", "files", "--from", "-1h"}, "files is a file source, which cannot read a past range"},
		{[]string{"--source", "idle", "--from", "-1h"}, "no siem_mappings entry starts from idle"},
		{[]string{"--source", "files", "--from", "-1h", "--to", "-2h"}, "--from"},
		{[]string{"--source", "files", "--from", "-1h", "--progress", "fancy"}, `--progress: "fancy"`},
		{[]string{"--from", "-1h"}, `required flag(s) "source" not set`},
	}
	for _, tc := range tests {
		code, out, errs := runBackfill(t, dir, append([]string{"-c", "c.yaml"}, tc.args...)...)
		if code == 0 || !strings.Contains(out+errs, tc.want) {
			t.Errorf("backfill %v: exit %d, want an error containing %q\n%s%s", tc.args, code, tc.want, out, errs)
		}
	}
}

// backfill sets up the process as run does: the configuration's memory_limit applies to it too.
func TestBackfillAppliesMemoryLimit(t *testing.T) {
	t.Setenv("GOMEMLIMIT", "")
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "c.yaml"), `
data_dir: ./data
memory_limit: 64MiB
log: {level: debug}
plugins:
  - {name: files, type: file, paths: ["./in/*.ndjson"]}
  - {name: out, type: file, path: ./out.ndjson}
siem_mappings:
  - {source: files, destination: out}
`)
	_, _, errs := runBackfill(t, dir, "-c", "c.yaml", "--source", "files", "--from", "-1h")
	if !strings.Contains(errs, "memory limit set") || !strings.Contains(errs, "64MiB") {
		t.Fatalf("backfill did not apply memory_limit; stderr:\n%s", errs)
	}
}
