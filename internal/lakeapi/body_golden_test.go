package lakeapi

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var updateGolden = flag.Bool("update", false, "rewrite the golden files of internal/lakeapi")

// goldenEvents cover what eventData may hold: a Netskope-sized document, every short escape,
// the other control characters, non-ASCII text, invalid UTF-8, U+2028/U+2029, HTML
// characters (left alone), and an event without its checksum.
func goldenEvents() []AuditEvent {
	events := benchEvents(2)
	var ctl strings.Builder
	for c := range 0x20 {
		ctl.WriteByte(byte(c))
	}
	odd := []string{
		`{"k":"quote \" backslash \\ slash / tab` + "\t" + `nl` + "\n" + `cr` + "\r" + `"}`,
		`{"ctl":"` + ctl.String() + "\x7f" + `"}`,
		`{"text":"é 日本語 😀 – naïve","html":"<a href=\"x\">&amp;</a>"}`,
		"{\"bad\":\"\xff\xfe cut \xe2\x82 surrogate \xed\xa0\x80 end\"}",
		"{\"sep\":\"\u2028 and \u2029\"}",
		strings.Repeat(`{"a":"b"},`, 30) + `"x"`,
	}
	for i, d := range odd {
		e := AuditEvent{ID: "odd-" + string(rune('a'+i)), EventData: d}
		if i%2 == 0 {
			e.EventDataChecksum = Checksum([]byte(d))
		}
		events = append(events, e)
	}
	return events
}

// The PutAuditEvents body's bytes are fixed: any change of the encoder must leave them as
// they are (go test -run TestPutBodyGolden -update rewrites the file).
func TestPutBodyGolden(t *testing.T) {
	body := appendPutBody(nil, goldenEvents())
	path := filepath.Join("testdata", "put_body.golden.json")
	if *updateGolden {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, body, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(body, want) {
		i := 0
		for i < len(body) && i < len(want) && body[i] == want[i] {
			i++
		}
		t.Fatalf("body differs from %s at byte %d: got %q, want %q", path, i, body[i:min(len(body), i+40)], want[i:min(len(want), i+40)])
	}
	// Into a used buffer, the same bytes after what it held.
	again := appendPutBody([]byte("prefix"), goldenEvents())
	if !bytes.Equal(again[len("prefix"):], want) {
		t.Fatal("body appended to a buffer differs")
	}
}
