package netskope

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/logshipper/logshipper/internal/plugin"
	"github.com/logshipper/logshipper/internal/plugintest"
	"github.com/logshipper/logshipper/internal/telemetry"
)

// The Netskope pages of the repository's bad-input corpus (testdata/badinput, see its README),
// read as the source reads an answer: a page whose structure is broken is an error naming what
// is wrong; a readable page keeps each element, with an error for each one that is not a record.
var badInputDir = filepath.Join("..", "..", "..", "testdata", "badinput")

func TestBadInputPages(t *testing.T) {
	for _, tc := range []struct {
		file     string
		err      string   // the answer is refused with this
		invalid  []string // else: the errors of the elements that are not records, in order
		records  int      // and how many records the page gives
		repaired int      // of which this many were not valid UTF-8
	}{
		{file: "ns-good.json", records: 3},
		{file: "ns-malformed.json", err: "expected ',' or ']' in the result array at byte 312"},
		{file: "ns-truncated.json", err: "unterminated string at byte 350"},
		{file: "ns-invalid-utf8.json", records: 3, repaired: 1},
		{file: "ns-missing-fields.json", records: 5},
		{file: "ns-wrong-types.json", records: 7},
		{file: "ns-result-not-array.json", err: "result is not an array at byte 17"},
		{file: "ns-mixed.json", records: 2, invalid: []string{"invalid character 'h' looking for beginning of value at byte 379", "not a JSON object", "not a JSON object", "not a JSON object"}},
		{file: "ns-proxy-error.html", err: "the answer is not a JSON object at byte 0"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			body, err := os.ReadFile(filepath.Join(badInputDir, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			a, err := parseAnswer(body)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one holding %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			m := telemetry.NewMetrics("test").Plugin("ns")
			b := builder{ep: endpoint{kind: "alerts", typ: "dlp"}, source: "ns", repairs: plugin.NewRepairs(plugintest.Logger(t), m)}
			recs, invalid, _ := b.build(a)
			if len(recs) != tc.records || len(invalid) != len(tc.invalid) {
				t.Fatalf("%d records and %d invalid elements, want %d and %d", len(recs), len(invalid), tc.records, len(tc.invalid))
			}
			for _, r := range recs {
				if !utf8.Valid(r.Raw) {
					t.Errorf("record %s is not valid UTF-8: %q", r.ID, r.Raw)
				}
			}
			if got := testutil.ToFloat64(m.RepairedCounter(plugin.RepairInvalidUTF8)); got != float64(tc.repaired) {
				t.Errorf("%v records repaired, want %d", got, tc.repaired)
			}
			for i, e := range invalid {
				if !strings.Contains(e.err.Error(), tc.invalid[i]) {
					t.Errorf("invalid element %d: %v, want %q", i, e.err, tc.invalid[i])
				}
			}
		})
	}
}

// A result that is not an array is refused, however it is spelt; null (an answer with no page)
// and an empty array are empty pages.
func TestResultNotAnArray(t *testing.T) {
	for body, wantErr := range map[string]bool{
		`{"ok":1,"result":{"_id":"a"},"wait_time":0}`: true,
		`{"ok":1,"result":"a","wait_time":0}`:         true,
		`{"ok":1,"result":42}`:                        true,
		`{"ok":1,"result":null,"wait_time":0}`:        false,
		`{"ok":1,"result":[],"wait_time":0}`:          false,
		`{"ok":0,"error":"busy","result":null}`:       false,
	} {
		a, err := parseAnswer([]byte(body))
		if (err != nil) != wantErr {
			t.Errorf("%s: error %v, want an error: %v", body, err, wantErr)
		}
		if err == nil && len(a.elems) != 0 {
			t.Errorf("%s: %d elements", body, len(a.elems))
		}
	}
}

// FuzzBadInputPages starts from the corpus's pages: whatever the bytes, reading an answer does
// not panic, and every element it gives as a record is one JSON object.
func FuzzBadInputPages(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join(badInputDir, "ns-*"))
	if len(files) == 0 {
		f.Fatal("no corpus pages")
	}
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		a, err := parseAnswer(body)
		if err != nil {
			return
		}
		b := builder{ep: endpoint{kind: "events", typ: "audit"}, source: "ns"}
		recs, invalid, _ := b.build(a)
		if len(recs)+len(invalid) != len(a.elems) {
			t.Fatalf("%d records + %d invalid of %d elements", len(recs), len(invalid), len(a.elems))
		}
		for _, r := range recs {
			if !utf8.Valid(r.Raw) {
				t.Fatalf("a record that is not valid UTF-8: %.200q", r.Raw)
			}
			var m map[string]json.RawMessage
			if err := json.Unmarshal(r.Raw, &m); err != nil && !strings.Contains(err.Error(), "exceeded max depth") {
				t.Fatalf("a record that is not a JSON object: %v: %.200q", err, r.Raw)
			}
		}
	})
}

// A record that is not valid UTF-8 is handed on repaired, each invalid byte as U+FFFD (what
// every JSON reader decodes it to), its id too; an event's event_type is spliced in first, at
// the place the bytes as received give.
func TestInvalidUTF8RecordsAreRepaired(t *testing.T) {
	tests := []struct {
		name     string
		ep       endpoint
		elem     string
		wantRaw  string
		wantID   string
		repaired float64
	}{
		{"an alert", endpoint{"alerts", "dlp"},
			"{\"_id\":\"a1\",\"user\":\"\xff\xfeal\xc3ice\"}",
			"{\"_id\":\"a1\",\"user\":\"\uFFFD\uFFFDal\uFFFDice\"}", "a1", 1},
		{"an event with event_type after the bad bytes", endpoint{"events", "audit"},
			"{\"_id\":\"e\x80\",\"user\":\"\xe9\",\"event_type\":\"x\"}",
			"{\"_id\":\"e\uFFFD\",\"user\":\"\uFFFD\",\"event_type\":\"audit\"}", "e\uFFFD", 1},
		{"an event without event_type", endpoint{"events", "page"},
			"{\"_id\":\"e2\",\"url\":\"/caf\xe9\"}",
			"{\"event_type\":\"page\",\"_id\":\"e2\",\"url\":\"/caf\uFFFD\"}", "e2", 1},
		{"valid non-ASCII is left alone", endpoint{"alerts", "dlp"},
			`{"_id":"a2","user":"zoë 日本"}`, `{"_id":"a2","user":"zoë 日本"}`, "a2", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, err := parseAnswer([]byte(`{"ok":1,"result":[` + tc.elem + `],"wait_time":0}`))
			if err != nil {
				t.Fatal(err)
			}
			m := telemetry.NewMetrics("test").Plugin("ns")
			b := builder{ep: tc.ep, source: "ns", repairs: plugin.NewRepairs(plugintest.Logger(t), m)}
			recs, invalid, _ := b.build(a)
			if len(recs) != 1 || len(invalid) != 0 {
				t.Fatalf("%d records, %d invalid", len(recs), len(invalid))
			}
			if r := recs[0]; string(r.Raw) != tc.wantRaw || r.ID != tc.wantID || !r.ValidJSON {
				t.Errorf("record %q id %q (ValidJSON %v), want %q id %q", r.Raw, r.ID, r.ValidJSON, tc.wantRaw, tc.wantID)
			}
			if got := testutil.ToFloat64(m.RepairedCounter(plugin.RepairInvalidUTF8)); got != tc.repaired {
				t.Errorf("%v repaired, want %v", got, tc.repaired)
			}
		})
	}
}
