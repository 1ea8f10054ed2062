package loadrun

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// otelFixture is two lines of the collector's file exporter (cut from a load run's file) and
// the start of a third it is still writing. Its log records' eventIDs, in order: three, then
// a fourth, the first again, and a record whose body is not a CloudTrail record.
const otelFixture = "testdata/otelcol-file-exporter.jsonl"

var otelFixtureIDs = []string{
	"e220a839-7b1d-4daf-8821-8226ff3cd4bf",
	"1d0b14e4-db01-4fed-82a2-7ecaa1425336",
	"bd64a5d9-adef-4000-8c7f-32caf857ff61",
	"d9e354eb-22c3-4080-8c2a-1ada438b2802",
}

func TestOTLPCounterCountsEventIDs(t *testing.T) {
	for _, tc := range []struct {
		name             string
		expect           []string
		got, lost, twice int64
		unknown          int64
	}{
		{name: "every id expected", expect: otelFixtureIDs, got: 4, twice: 1, unknown: 1},
		{name: "one expected id missing", expect: append([]string{"00000000-0000-4000-8000-000000000000"}, otelFixtureIDs...), got: 4, lost: 1, twice: 1, unknown: 1},
		{name: "an id read but not expected", expect: otelFixtureIDs[1:], got: 3, unknown: 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ids := map[string]int32{}
			for _, id := range tc.expect {
				ids[id] = 0
			}
			c := newOTLPCounter(ids)
			if err := c.readFile(otelFixture); err != nil {
				t.Fatal(err)
			}
			if c.unique != tc.got {
				t.Errorf("unique = %d, want %d", c.unique, tc.got)
			}
			if c.unknown != tc.unknown || c.bad != 0 {
				t.Errorf("unknown, bad = %d, %d; want %d, 0", c.unknown, c.bad, tc.unknown)
			}
			var r Result
			c.count(&r)
			if r.Got != tc.got || r.Lost != tc.lost || r.Twice != tc.twice {
				t.Errorf("got, lost, twice = %d, %d, %d; want %d, %d, %d", r.Got, r.Lost, r.Twice, tc.got, tc.lost, tc.twice)
			}
			if !strings.Contains(r.Note, "without a known eventID") {
				t.Errorf("note %q does not mention the unknown records", r.Note)
			}
		})
	}
}

// The exporter appends a line at a time: a line without its newline is read once it is
// complete, and nothing is counted twice across reads.
func TestOTLPCounterReadsCompleteLinesOnly(t *testing.T) {
	data, err := os.ReadFile(otelFixture)
	if err != nil {
		t.Fatal(err)
	}
	complete := int64(bytes.LastIndexByte(data, '\n') + 1)
	path := filepath.Join(t.TempDir(), "out.jsonl")

	ids := map[string]int32{}
	for _, id := range otelFixtureIDs {
		ids[id] = 0
	}
	c := newOTLPCounter(ids)
	if err := c.readFile(path); err != nil {
		t.Fatalf("a file not yet written: %v", err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := c.readFile(path); err != nil {
			t.Fatal(err)
		}
		if c.off != complete || c.unique != 4 || ids[otelFixtureIDs[0]] != 2 {
			t.Fatalf("offset %d, unique %d, first id read %d times; want %d, 4, 2", c.off, c.unique, ids[otelFixtureIDs[0]], complete)
		}
	}

	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString("}]}\nnot OTLP JSON\n"); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if err := c.readFile(path); err != nil {
		t.Fatal(err)
	}
	if want := int64(len(data)) + int64(len("}]}\nnot OTLP JSON\n")); c.off != want || c.bad != 1 || c.unique != 4 {
		t.Errorf("offset %d, bad %d, unique %d; want %d, 1, 4", c.off, c.bad, c.unique, want)
	}
}

func TestPeerMissingBinaryNamesPeerScript(t *testing.T) {
	o := Options{Records: 10, Peer: PeerOtel, PeerBin: filepath.Join(t.TempDir(), "otelcol-peer"), Dir: t.TempDir()}
	_, err := Run(context.Background(), "cloudtrail", Plain, o)
	if err == nil || !strings.Contains(err.Error(), "scripts/peer.sh") {
		t.Fatalf("Run with a missing collector: %v; want an error naming scripts/peer.sh", err)
	}
}

// TestPeerRun runs the shipper and the collector that scripts/peer.sh builds on one small
// backlog, in both orders.
func TestPeerRun(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the shipper and the collector")
	}
	if runtime.GOOS != "linux" {
		t.Skip("peak RSS is read from /proc")
	}
	peer, err := filepath.Abs("../../bin/otelcol-peer")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(peer); err != nil {
		t.Fatalf("no collector: run scripts/setup.sh (or scripts/peer.sh), which builds it: %v", err)
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "logshipper")
	if out, err := exec.Command("go", "build", "-o", bin, "../../cmd/logshipper").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	for _, first := range []bool{false, true} {
		o := Options{
			Shipper: bin, Dir: t.TempDir(), Records: 3000, Seed: 7, Stall: time.Minute,
			TrailSamples: "../cloudtrailrecord/testdata/panther-rule-tests.ndjson",
			Peer:         PeerOtel, PeerBin: peer, PeerFirst: first,
		}
		r, err := Run(context.Background(), "cloudtrail", Plain, o)
		if err != nil {
			t.Fatal(err)
		}
		p := r.Peer
		if p == nil {
			t.Fatalf("peer first %v: no peer row", first)
		}
		if p.Got != p.Want || p.Lost != 0 || p.Twice != 0 || p.CPU <= 0 || p.MaxRSS <= 0 || p.Wall <= 0 {
			t.Fatalf("peer first %v: %+v", first, *p)
		}
		if r.Got != r.Want || r.Lost != 0 {
			t.Fatalf("peer first %v: the shipper: %+v", first, r)
		}
		var table bytes.Buffer
		WriteTable(&table, []Result{r})
		if !strings.Contains(table.String(), "| plain, otelcol-peer |") || !strings.Contains(table.String(), "otelcol-peer / logshipper: CPU s per million") {
			t.Fatalf("peer first %v: the table has no peer row or ratios:\n%s", first, table.String())
		}
	}
}
