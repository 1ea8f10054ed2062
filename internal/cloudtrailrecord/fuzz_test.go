package cloudtrailrecord

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

func addSeeds(f *testing.F) {
	f.Helper()
	for i, rec := range pantherRecords(f) {
		if i%10 == 0 {
			f.Add(rec)
			f.Add([]byte("{LogStreamName: s, Timestamp: 1700000000000, Message: " + string(rec) + ", IngestionTime: 1, EventId: 2}"))
		}
	}
	files, _ := filepath.Glob(filepath.Join("testdata", "*", "*.json"))
	for _, p := range files {
		if data, err := os.ReadFile(p); err == nil {
			f.Add(data)
		}
	}
	for _, s := range scannerSeeds {
		f.Add([]byte(s))
	}
}

// FuzzSplit: Split never panics, and every item it returns parses or yields a status.
func FuzzSplit(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, in []byte) {
		items, err := Split(in)
		if err != nil {
			return
		}
		for _, it := range items {
			ev, err := Parse(it.Record)
			if (ev == nil) == (err == nil) {
				t.Fatalf("Parse gave event %v and error %v", ev, err)
			}
			if st := StatusOf(err); st != StatusOK && st != StatusNotJSON && st != StatusNotCloudTrail {
				t.Fatalf("status %q", st)
			}
		}
	})
}

// FuzzParse: Parse never panics; what it accepts is valid JSON whose eventName agrees with
// encoding/json; the severity stays on the CEF scale.
func FuzzParse(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, in []byte) {
		checkScanner(t, in)
		ev, err := Parse(in)
		if err != nil {
			if ev != nil || StatusOf(err) == StatusOK {
				t.Fatalf("error %v with event %v", err, ev)
			}
			return
		}
		if !json.Valid(in) {
			t.Fatalf("accepted invalid JSON %q", in)
		}
		var r struct {
			EventName any `json:"eventName"`
		}
		if err := json.Unmarshal(in, &r); err != nil {
			t.Fatalf("encoding/json: %v", err)
		}
		if s, ok := r.EventName.(string); ok && s != ev.EventName {
			t.Fatalf("eventName %q, encoding/json %q", ev.EventName, s)
		}
		if ev.Severity < 0 || ev.Severity > 10 || ev.Category == "" || ev.OCSF.ClassUID == 0 {
			t.Fatalf("derived fields out of range: %s", describe(ev))
		}
	})
}
