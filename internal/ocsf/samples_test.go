package ocsf

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/logshipper/logshipper/internal/cloudtrailrecord"
	"github.com/logshipper/logshipper/internal/event"
)

var update = flag.Bool("update", false, "rewrite testdata/golden/* from the current output")

// The real samples the tests map. They live with the packages and the repository data that
// already hold them: the public CloudTrail records (awsdocs, Panther's rule tests) and
// Netskope's admin audit records (Panther's rule tests), and the mapping package's Netskope
// records of every event and alert type (written from Netskope's field dictionary).
const (
	awsdocsDir      = "../cloudtrailrecord/testdata/awsdocs"
	pantherCT       = "../cloudtrailrecord/testdata/panther-rule-tests.ndjson"
	pantherNetskope = "../../testdata/netskope/panther-audit-tests.ndjson"
	netskopeRecords = "../mapping/testdata/records"
)

// sample is one record to map, named by where it came from.
type sample struct {
	where  string
	record *event.Record
}

func readFile(tb testing.TB, path string) []byte {
	tb.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		tb.Fatalf("read sample %s: %v", path, err)
	}
	return data
}

func lines(tb testing.TB, path string) [][]byte {
	tb.Helper()
	var out [][]byte
	sc := bufio.NewScanner(bytes.NewReader(readFile(tb, path)))
	sc.Buffer(make([]byte, 0, 1<<20), 1<<20)
	for sc.Scan() {
		if l := bytes.TrimSpace(sc.Bytes()); len(l) > 0 {
			out = append(out, bytes.Clone(l))
		}
	}
	if err := sc.Err(); err != nil {
		tb.Fatalf("scan %s: %v", path, err)
	}
	return out
}

func cloudTrailRecord(raw []byte) *event.Record {
	sum, _ := cloudtrailrecord.Identify(raw)
	return &event.Record{Raw: raw, Kind: event.KindCloudTrail, Subtype: sum.EventType}
}

// awsdocsSamples are the records of every awsdocs file that holds CloudTrail records (digest
// files and other documents excepted: cannotMapSamples has them).
func awsdocsSamples(tb testing.TB) []sample {
	tb.Helper()
	files, err := filepath.Glob(filepath.Join(awsdocsDir, "*.json"))
	if err != nil || len(files) == 0 {
		tb.Fatalf("no awsdocs samples in %s (%v)", awsdocsDir, err)
	}
	sort.Strings(files)
	var out []sample
	for _, f := range files {
		items, err := cloudtrailrecord.Split(readFile(tb, f))
		if err != nil {
			tb.Fatalf("split %s: %v", f, err)
		}
		for i, it := range items {
			if _, err := cloudtrailrecord.Parse(it.Record); err != nil {
				continue
			}
			out = append(out, sample{where: filepath.Base(f) + "#" + itoa(i), record: cloudTrailRecord(it.Record)})
		}
	}
	return out
}

// pantherCloudTrailSamples are Panther's CloudTrail rule-test records that cloudtrailrecord
// reads (a few have redacted times: FromRecord's error for them is tested apart), and the
// others.
func pantherCloudTrailSamples(tb testing.TB) (readable, unreadable []sample) {
	tb.Helper()
	for i, l := range lines(tb, pantherCT) {
		s := sample{where: "panther-rule-tests.ndjson:" + itoa(i+1), record: cloudTrailRecord(l)}
		if _, err := cloudtrailrecord.Parse(l); err != nil {
			unreadable = append(unreadable, s)
			continue
		}
		readable = append(readable, s)
	}
	return readable, unreadable
}

// pantherNetskopeSamples are the distinct audit records of Panther's Netskope rule tests.
func pantherNetskopeSamples(tb testing.TB) []sample {
	tb.Helper()
	seen := map[string]bool{}
	var out []sample
	for i, l := range lines(tb, pantherNetskope) {
		var test struct {
			Log json.RawMessage `json:"log"`
		}
		if err := json.Unmarshal(l, &test); err != nil || len(test.Log) == 0 {
			tb.Fatalf("%s:%d: no log: %v", pantherNetskope, i+1, err)
		}
		if seen[string(test.Log)] {
			continue
		}
		seen[string(test.Log)] = true
		out = append(out, sample{
			where:  "panther-audit-tests.ndjson:" + itoa(i+1),
			record: &event.Record{Raw: test.Log, Kind: event.KindNetskopeEvent, Subtype: "audit"},
		})
	}
	return out
}

// netskopeRecordSamples are the mapping package's records, one a file named
// <event|alert>_<type>.json; alert_missing.json is a DLP alert with most fields missing.
func netskopeRecordSamples(tb testing.TB) []sample {
	tb.Helper()
	files, err := filepath.Glob(filepath.Join(netskopeRecords, "*.json"))
	if err != nil || len(files) == 0 {
		tb.Fatalf("no netskope samples in %s (%v)", netskopeRecords, err)
	}
	sort.Strings(files)
	var out []sample
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".json")
		class, sub, _ := strings.Cut(name, "_")
		kind := event.KindNetskopeEvent
		if class == "alert" {
			kind = event.KindNetskopeAlert
		}
		if sub == "missing" {
			sub = "dlp"
		}
		out = append(out, sample{where: filepath.Base(f), record: &event.Record{Raw: bytes.TrimSpace(readFile(tb, f)), Kind: kind, Subtype: sub}})
	}
	return out
}

func itoa(i int) string {
	b, _ := json.Marshal(i)
	return string(b)
}

// checkGolden compares got with testdata/golden/<name> (rewritten with -update).
func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden %s (run go test -run %s -update to write it): %v", path, t.Name(), err)
	}
	if !bytes.Equal(got, want) {
		gl, wl := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
		for i := 0; i < len(gl) || i < len(wl); i++ {
			var g, w string
			if i < len(gl) {
				g = gl[i]
			}
			if i < len(wl) {
				w = wl[i]
			}
			if g != w {
				t.Fatalf("%s differs from the mapping's output at line %d:\n got: %s\nwant: %s\n(go test -run %s -update rewrites it)", path, i+1, g, w, t.Name())
			}
		}
	}
}
