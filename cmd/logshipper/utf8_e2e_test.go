package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"
)

// Issue 13, item 3: bytes that are not UTF-8 in a file source's input reach the file
// destination as valid UTF-8 (each invalid byte as U+FFFD, the value every JSON reader decodes
// them to), so that every output line is a JSON text; each repaired record is counted, and a
// WARN names the file and the record's byte offset.
func TestE2EInvalidUTF8FileSourceToFileDestination(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	dir := t.TempDir()
	admin := freeAddr(t)
	out := filepath.Join(dir, "out", "archive.ndjson")
	in := filepath.Join(dir, "in", "a.ndjson")
	lines := []string{
		`{"id":"u1","user":"alice@example.com"}`,
		"{\"id\":\"u2\",\"user\":\"\xff\xfeal\xc3ice@example.com\",\"file_name\":\"rapport-\xe9t\xe9.pdf\"}",
		`{"id":"u3","user":"zoë@example.com"}`,
		"{\"id\":\"u4\",\"path\":\"/caf\xe9\"}",
	}
	writeFile(t, in, strings.Join(lines, "\n")+"\n")
	writeFile(t, filepath.Join(dir, "c.yaml"), fmt.Sprintf(`
data_dir: ./data
admin: {listen: "%s"}
log: {level: info, format: json}
plugins:
  - {name: in, type: file, paths: ["./in/*.ndjson"], poll_interval: 20ms}
  - {name: out, type: file, path: %s, batch: {max_wait: 10ms}}
siem_mappings:
  - {source: in, destination: out}
`, admin, out))

	p := startShipper(t, dir, "run", "-c", "c.yaml")
	var got [][]byte
	waitFor(t, 20*time.Second, "every line in the archive", func() bool {
		b, _ := os.ReadFile(out)
		got = bytes.Split(bytes.TrimSuffix(b, []byte("\n")), []byte("\n"))
		return len(b) > 0 && len(got) == len(lines)
	})
	metrics := scrapeMetrics(t, admin)
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := p.wait(t, 20*time.Second); code != 0 {
		t.Fatalf("exit %d:\n%s", code, lastChars(p.stderr.String(), 4000))
	}

	for i, line := range got {
		if !utf8.Valid(line) || !json.Valid(line) {
			t.Errorf("archive line %d is not a JSON text in UTF-8: %q", i+1, line)
			continue
		}
		// What a reader of the input decoded, a reader of the archive decodes.
		var want, have any
		if err := json.Unmarshal([]byte(lines[i]), &want); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(line, &have); err != nil || !reflect.DeepEqual(have, want) {
			t.Errorf("archive line %d decodes to %v (%v), the input line to %v", i+1, have, err, want)
		}
	}
	if len(got) > 1 && !bytes.Equal(got[1], []byte("{\"id\":\"u2\",\"user\":\"\uFFFD\uFFFDal\uFFFDice@example.com\",\"file_name\":\"rapport-\uFFFDt\uFFFD.pdf\"}")) {
		t.Errorf("archive line 2 is %q, want each invalid byte as U+FFFD and nothing else changed", got[1])
	}
	if len(got) > 2 && !bytes.Equal(got[2], []byte(lines[2])) {
		t.Errorf("archive line 3 is %q, want it as read (valid UTF-8)", got[2])
	}

	series := `logshipper_records_repaired_total{plugin="in",reason="invalid_utf8"}`
	if metrics[series] != 2 {
		t.Errorf("%s = %v, want 2 (%v)", series, metrics[series], recordSeries(metrics))
	}
	if metrics[`logshipper_records_sent_total{plugin="out"}`] != float64(len(lines)) {
		t.Errorf("records sent %v, want %d", metrics[`logshipper_records_sent_total{plugin="out"}`], len(lines))
	}
	// The first repair is logged at once, naming the file and where the record starts in it.
	warned := false
	for _, l := range logLines(p.stderr.String(), map[string]string{"level": "WARN", "plugin": "in", "reason": "invalid_utf8"}) {
		latest, _ := l["latest"].(map[string]any)
		path, _ := latest["path"].(string)
		offset, _ := latest["offset"].(float64)
		warned = warned || path == filepath.Join("in", "a.ndjson") && int(offset) == len(lines[0])+1
	}
	if !warned {
		t.Errorf("no WARN naming in/a.ndjson (as its glob found it) at byte %d:\n%s", len(lines[0])+1, lastChars(p.stderr.String(), 4000))
	}
}
