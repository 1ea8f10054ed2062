package mapping

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/logshipper/logshipper/internal/event"
)

// FuzzApply: every mapping of the default CloudTrail Lake set and of Cloud Exchange's own
// files, applied to any record the pipeline can decode, gives an error wrapping ErrRecord or an
// Output that encodes to valid UTF-8 JSON, whose leaves render as text, and that (for CloudTrail
// Lake mappings) holds every field CloudTrail Lake requires, as a non-empty string, with eventTime
// in UTC.
func FuzzApply(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "records", "*.json"))
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(`{"_id":"a","alert_type":"dlp","timestamp":"yesterday","user":"u","srcip":"10.0.0.1"}`))
	f.Add([]byte(`{"_id":"b","timestamp":1e300,"access_method":{"x":[1,2]},"transaction_id":18446744073709551615}`))
	f.Add([]byte("{\"_id\":\"\\ud800\",\"user\":\"\xff\",\"timestamp\":-62135596801}"))

	sets := []*Set{DefaultCloudTrail()}
	ce, _ := filepath.Glob(filepath.Join("testdata", "ce", "*", "mappings.json"))
	for _, p := range ce {
		s, err := LoadFile(p)
		if err != nil {
			f.Fatalf("%s: %v", p, err)
		}
		sets = append(sets, s)
	}
	var maps []*Mapping
	for _, s := range sets {
		for _, k := range s.Kinds() {
			for _, sub := range s.Subtypes(k) {
				if m, ok := s.For(k, sub); ok {
					maps = append(maps, m)
				}
			}
		}
	}
	if len(maps) < 10 {
		f.Fatalf("only %d mappings loaded", len(maps))
	}

	f.Fuzz(func(t *testing.T, raw []byte) {
		rec := &event.Record{Raw: raw}
		fields, err := rec.Fields()
		if err != nil {
			return
		}
		for _, m := range maps {
			out, err := m.Apply(fields)
			if err != nil {
				if !errors.Is(err, ErrRecord) {
					t.Fatalf("%s/%s: error %v does not wrap ErrRecord", m.Kind, m.Subtype, err)
				}
				continue
			}
			js := out.AppendJSON(nil)
			if !utf8.Valid(js) || !json.Valid(js) {
				t.Fatalf("%s/%s: output is not valid UTF-8 JSON: %q", m.Kind, m.Subtype, js)
			}
			var text []byte
			for l := range out.Leaves() {
				text = l.AppendText(text[:0])
				if _, ok := out.Get(l.Name); !ok {
					t.Fatalf("%s/%s: leaf %q is not found by Get", m.Kind, m.Subtype, l.Name)
				}
			}
			for _, k := range out.Unused(fields) {
				if _, ok := fields[k]; !ok {
					t.Fatalf("%s/%s: Unused lists %q, not a field of the record", m.Kind, m.Subtype, k)
				}
			}
			if m.ctRules {
				checkCloudTrailOutput(t, m, js)
			}
		}
	})
}

// checkCloudTrailOutput checks what cloudTrail promises of a CloudTrail Lake eventData.
func checkCloudTrailOutput(t *testing.T, m *Mapping, js []byte) {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal(js, &doc); err != nil {
		t.Fatalf("%s/%s: %v", m.Kind, m.Subtype, err)
	}
	for _, f := range cloudTrailRequired {
		var v any = doc
		for _, p := range strings.Split(f, ".") {
			obj, _ := v.(map[string]any)
			v = obj[p]
		}
		if s, ok := v.(string); !ok || s == "" {
			t.Fatalf("%s/%s: required %s is %#v in %s", m.Kind, m.Subtype, f, v, js)
		}
	}
	ts := doc["eventTime"].(string)
	if tm, err := time.Parse(TimeLayout, ts); err != nil || tm.Location() != time.UTC || !strings.HasSuffix(ts, "Z") {
		t.Fatalf("%s/%s: eventTime %q is not UTC %s (%v)", m.Kind, m.Subtype, ts, TimeLayout, err)
	}
	ui := doc["userIdentity"].(map[string]any)
	if n := utf8.RuneCountInString(ui["type"].(string)); n > 128 {
		t.Fatalf("%s/%s: userIdentity.type has %d characters", m.Kind, m.Subtype, n)
	}
}
