package deadletter

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"
)

func openStore(t *testing.T) *Store {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), "deadletter"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// readLines reads a dead-letter file and checks that it is whole NDJSON lines of valid UTF-8.
func readLines(t *testing.T, path string) [][]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) == 0 {
		return nil
	}
	if b[len(b)-1] != '\n' {
		t.Fatalf("%s does not end with a newline", path)
	}
	if !utf8.Valid(b) {
		t.Fatalf("%s is not valid UTF-8", path)
	}
	lines := bytes.Split(b[:len(b)-1], []byte("\n"))
	for i, l := range lines {
		if !json.Valid(l) {
			t.Fatalf("%s line %d is not JSON: %q", path, i+1, l)
		}
	}
	return lines
}

func readEntries(t *testing.T, path string) []Entry {
	t.Helper()
	var out []Entry
	for i, l := range readLines(t, path) {
		var e Entry
		if err := json.Unmarshal(l, &e); err != nil {
			t.Fatalf("%s line %d: %v", path, i+1, err)
		}
		out = append(out, e)
	}
	return out
}

// recordOf returns the record's bytes as kept by an entry read back from a file.
func recordOf(t *testing.T, e Entry) []byte {
	t.Helper()
	n := 0
	var out []byte
	if e.Record != nil {
		n++
		out = e.Record
	}
	if e.RecordText != "" {
		n++
		out = []byte(e.RecordText)
	}
	if e.RecordBase64 != "" {
		n++
		b, err := base64.StdEncoding.DecodeString(e.RecordBase64)
		if err != nil {
			t.Fatalf("record_base64: %v", err)
		}
		out = b
	}
	if n > 1 {
		t.Fatalf("entry holds the record in %d fields", n)
	}
	return out
}

func TestSetRecord(t *testing.T) {
	tests := []struct {
		name  string
		raw   string
		field string // the JSON key that holds the record; "" for none (empty record)
	}{
		{"JSON object", `{"a":1,"b":"x"}`, "record"},
		{"nested JSON", `{"a":{"b":[1,2,{"c":null}]},"id":1234567890123456789}`, "record"},
		{"JSON array", `[1,"two",3.5]`, "record"},
		{"JSON number", `42`, "record"},
		{"JSON string", `"hello"`, "record"},
		{"JSON true", `true`, "record"},
		{"JSON null", `null`, "record"},
		{"JSON with HTML characters", `{"html":"<b>a & b</b>"}`, "record"},
		{"JSON with U+2028 and U+2029", "{\"s\":\"a\u2028b\u2029c\"}", "record"},
		{"JSON with escapes", `{"e":"\u00e9\n\t\"\\\/","u":"\ud83d\ude00"}`, "record"},
		{"JSON with raw non-ASCII", `{"é":"日本語 😀"}`, "record"},
		{"big numbers", `{"n":18446744073709551616,"f":1e400,"z":-0.0}`, "record"},
		{"pretty-printed JSON", "{\n  \"a\": 1,\n  \"b\": [1, 2]\n}", "record_text"},
		{"JSON with spaces", `{"a": 1}`, "record_text"},
		{"JSON with a trailing newline", "{\"a\":1}\n", "record_text"},
		{"JSON with leading space", ` {"a":1}`, "record_text"},
		{"plain text", `hello world`, "record_text"},
		{"truncated JSON", `{"a":1`, "record_text"},
		{"two JSON objects", `{"a":1}{"b":2}`, "record_text"},
		{"text with newlines and quotes", "line1\nline2\t\"q\"\r\n", "record_text"},
		{"text with control bytes", "a\x00b\x1bc\x7f", "record_text"},
		{"non-ASCII text", "héllo wörld 日本", "record_text"},
		{"invalid UTF-8", "\xff\xfe\xfd", "record_base64"},
		{"binary", "\x00\x01\x02\x80\x81", "record_base64"},
		{"invalid UTF-8 inside JSON", "{\"a\":\"\xff\"}", "record_base64"},
		{"truncated UTF-8 sequence", "caf\xc3", "record_base64"},
		{"empty", ``, ""},
	}
	s := openStore(t)
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			raw := []byte(tc.raw)
			var e Entry
			e.SetRecord(raw)
			set := map[string]bool{
				"record":        e.Record != nil,
				"record_text":   e.RecordText != "",
				"record_base64": e.RecordBase64 != "",
			}
			for field, isSet := range set {
				if isSet != (field == tc.field) {
					t.Errorf("%s set = %v; want the record in %q", field, isSet, tc.field)
				}
			}

			// Through the file and back: the line holds only that field, and the bytes are exact.
			plugin := fmt.Sprintf("p%d", i)
			e.Plugin, e.Reason, e.Time = plugin, "invalid", time.Unix(0, 0).UTC()
			if err := s.Put(plugin, []Entry{e}); err != nil {
				t.Fatal(err)
			}
			lines := readLines(t, s.Path(plugin))
			if len(lines) != 1 {
				t.Fatalf("%d lines; want 1", len(lines))
			}
			var keys map[string]json.RawMessage
			if err := json.Unmarshal(lines[0], &keys); err != nil {
				t.Fatal(err)
			}
			for _, field := range []string{"record", "record_text", "record_base64"} {
				if _, ok := keys[field]; ok != (field == tc.field) {
					t.Errorf("line %s: has %s = %v", lines[0], field, ok)
				}
			}
			if tc.field == "record" && !bytes.Equal(keys["record"], raw) {
				t.Errorf("record in the file is %q; want the record's bytes %q", keys["record"], raw)
			}
			got := recordOf(t, readEntries(t, s.Path(plugin))[0])
			if !bytes.Equal(got, raw) {
				t.Errorf("read back %q; want %q", got, raw)
			}
		})
	}
}

func TestPutWritesOneLinePerEntry(t *testing.T) {
	s := openStore(t)
	ts := time.Date(2024, 6, 1, 12, 30, 45, 123456789, time.UTC)
	in := []Entry{
		{Time: ts, Plugin: "dest", Source: "src", Reason: "refused", Code: "400", Error: "bad request: <field> & more", ID: "id-1"},
		{Time: ts.Add(time.Second), Plugin: "dest", Reason: "too_large"},
		{Time: ts.Add(2 * time.Second), Plugin: "dest", Reason: "invalid", Error: "multi\nline\nerror"},
	}
	in[0].SetRecord([]byte(`{"a":1}`))
	in[1].SetRecord([]byte("plain\ntext"))
	in[2].SetRecord([]byte("\xff\x00"))

	if err := s.Put("dest", in[:2]); err != nil {
		t.Fatal(err)
	}
	if got := readEntries(t, s.Path("dest")); len(got) != 2 {
		t.Fatalf("%d entries after the first Put; want 2", len(got))
	}
	if err := s.Put("dest", in[2:]); err != nil {
		t.Fatal(err)
	}
	got := readEntries(t, s.Path("dest"))
	if len(got) != len(in) {
		t.Fatalf("%d entries; want %d", len(got), len(in))
	}
	for i := range in {
		if !got[i].Time.Equal(in[i].Time) {
			t.Errorf("entry %d: time %v; want %v", i, got[i].Time, in[i].Time)
		}
		got[i].Time = in[i].Time
		if !reflect.DeepEqual(got[i], in[i]) {
			t.Errorf("entry %d:\n got %+v\nwant %+v", i, got[i], in[i])
		}
	}

	// Optional fields are left out when empty.
	lines := readLines(t, s.Path("dest"))
	var keys map[string]any
	if err := json.Unmarshal(lines[1], &keys); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"source", "code", "error", "id", "record", "record_base64"} {
		if _, ok := keys[k]; ok {
			t.Errorf("line %s has empty field %q", lines[1], k)
		}
	}
	for _, k := range []string{"time", "plugin", "reason", "record_text"} {
		if _, ok := keys[k]; !ok {
			t.Errorf("line %s lacks %q", lines[1], k)
		}
	}
}

func TestPutNothing(t *testing.T) {
	s := openStore(t)
	for _, entries := range [][]Entry{nil, {}} {
		if err := s.Put("p", entries); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := os.Stat(s.Path("p")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Put of no entries created the file (%v)", err)
	}
}

func TestPerPluginFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "dl")
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	plugins := []string{"splunk", "s3-archive", "stdout"}
	for round := range 3 {
		for i, p := range plugins {
			for range i + 1 {
				if err := s.Put(p, []Entry{{Plugin: p, Reason: fmt.Sprintf("r%d", round)}}); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	for i, p := range plugins {
		path := s.Path(p)
		if want := filepath.Join(dir, p+".ndjson"); path != want {
			t.Errorf("Path(%q) = %q; want %q", p, path, want)
		}
		entries := readEntries(t, path)
		if len(entries) != 3*(i+1) {
			t.Errorf("%s: %d entries; want %d", p, len(entries), 3*(i+1))
		}
		for _, e := range entries {
			if e.Plugin != p {
				t.Errorf("%s holds an entry of %q", path, e.Plugin)
			}
		}
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if perm := fi.Mode().Perm(); perm&0o077 != 0 {
			t.Errorf("%s is mode %v; dead letters may hold sensitive records", path, perm)
		}
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != len(plugins) {
		t.Errorf("%d files in %s; want %d", len(ents), dir, len(plugins))
	}
}

func TestOpen(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b", "deadletter")
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		t.Fatalf("Open did not create %s: %v", dir, err)
	}

	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(file); err == nil {
		t.Fatal("Open on a regular file succeeded")
	}
}

func TestPutFailsWhenFileCannotBeOpened(t *testing.T) {
	s := openStore(t)
	// A directory where the plugin's file should be.
	if err := os.Mkdir(s.Path("p"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := s.Put("p", []Entry{{Plugin: "p", Reason: "x"}}); err == nil {
		t.Fatal("Put succeeded")
	}
}

func TestCloseAndReopen(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close of an unused store: %v", err)
	}
	if err := s.Put("p", []Entry{{Plugin: "p", Reason: "one"}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Put("q", []Entry{{Plugin: "q", Reason: "one"}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	// Put after Close opens the file again and appends.
	if err := s.Put("p", []Entry{{Plugin: "p", Reason: "two"}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// A new store on the same directory appends too; nothing is truncated.
	s2, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if err := s2.Put("p", []Entry{{Plugin: "p", Reason: "three"}}); err != nil {
		t.Fatal(err)
	}
	var reasons []string
	for _, e := range readEntries(t, s2.Path("p")) {
		reasons = append(reasons, e.Reason)
	}
	if got := strings.Join(reasons, ","); got != "one,two,three" {
		t.Fatalf("reasons %s; want one,two,three", got)
	}
	if n := len(readEntries(t, s2.Path("q"))); n != 1 {
		t.Fatalf("q holds %d entries; want 1", n)
	}
}

func TestConcurrentPut(t *testing.T) {
	s := openStore(t)
	const workers, puts, perPut = 16, 20, 3
	// Records larger than a pipe or page buffer, so that interleaved writes would show.
	big := strings.Repeat("x", 9000)
	var wg sync.WaitGroup
	errs := make(chan error, workers*puts)
	for w := range workers {
		plugin := fmt.Sprintf("p%d", w%3)
		wg.Go(func() {
			for i := range puts {
				entries := make([]Entry, perPut)
				for j := range entries {
					entries[j] = Entry{Plugin: plugin, Reason: "refused", ID: fmt.Sprintf("%d/%d/%d", w, i, j)}
					entries[j].SetRecord(fmt.Appendf(nil, `{"w":%d,"i":%d,"j":%d,"pad":"%s"}`, w, i, j, big))
				}
				if err := s.Put(plugin, entries); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}

	total := 0
	for p := range 3 {
		plugin := fmt.Sprintf("p%d", p)
		next := map[int]int{} // per worker, the next ID expected: each worker's entries stay in order
		for _, e := range readEntries(t, s.Path(plugin)) {
			total++
			var w, i, j int
			if _, err := fmt.Sscanf(e.ID, "%d/%d/%d", &w, &i, &j); err != nil {
				t.Fatalf("bad id %q", e.ID)
			}
			if w%3 != p {
				t.Fatalf("%s holds an entry of worker %d", plugin, w)
			}
			if seq := i*perPut + j; seq != next[w] {
				t.Fatalf("%s: worker %d entry %d after %d", plugin, w, seq, next[w]-1)
			}
			next[w]++
			var rec struct{ W, I, J int }
			if err := json.Unmarshal(e.Record, &rec); err != nil || rec.W != w || rec.I != i || rec.J != j {
				t.Fatalf("entry %s holds record %+v (%v)", e.ID, rec, err)
			}
		}
	}
	if total != workers*puts*perPut {
		t.Fatalf("%d entries; want %d", total, workers*puts*perPut)
	}
}
