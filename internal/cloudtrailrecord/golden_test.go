package cloudtrailrecord

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

// pantherRecords returns the lines of testdata/panther-rule-tests.ndjson.
func pantherRecords(tb testing.TB) [][]byte {
	tb.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "panther-rule-tests.ndjson"))
	if err != nil {
		tb.Fatalf("read panther records: %v", err)
	}
	var out [][]byte
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 1<<20), 1<<20)
	for sc.Scan() {
		if line := bytes.TrimSpace(sc.Bytes()); len(line) > 0 {
			out = append(out, append([]byte(nil), line...))
		}
	}
	if err := sc.Err(); err != nil {
		tb.Fatalf("scan panther records: %v", err)
	}
	return out
}

// describe is one golden line.
func describe(ev *Event) string {
	cat := ev.Category
	if ev.Action != ev.Category {
		cat += " (" + ev.Action + ")"
	}
	line := fmt.Sprintf("%s/%s -> %s outcome=%s severity=%d ocsf=%d/%d %s: %s user=%s/%s",
		sourceKey(ev.EventSource), ev.EventName, cat, ev.Outcome, ev.Severity,
		ev.OCSF.ClassUID, ev.OCSF.ActivityID, ev.OCSF.ClassName, ev.OCSF.ActivityName,
		ev.Identity.Type, ev.Identity.UserName)
	if ev.Identity.RoleName != "" {
		line += " role=" + ev.Identity.RoleName
	}
	if ev.AccountID != ev.RecipientAccountID {
		line += " account=" + ev.AccountID + " (userIdentity)"
	}
	if ev.Technique != "" {
		line += " attack=" + ev.Technique
	}
	return line
}

func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatalf("write %s: %v", path, err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read %s (run go test -update to create it): %v", path, err)
	}
	if !bytes.Equal(got, want) {
		gl, wl := bytes.Split(got, []byte("\n")), bytes.Split(want, []byte("\n"))
		for i := 0; i < len(gl) || i < len(wl); i++ {
			var g, w []byte
			if i < len(gl) {
				g = gl[i]
			}
			if i < len(wl) {
				w = wl[i]
			}
			if !bytes.Equal(g, w) {
				t.Fatalf("%s differs at line %d (run go test -update if the change is intended)\n got: %s\nwant: %s", path, i+1, g, w)
			}
		}
	}
}

// TestCategoriesGolden lists, for every panther record, its category, outcome, severity and
// OCSF class and activity.
func TestCategoriesGolden(t *testing.T) {
	var buf bytes.Buffer
	for i, rec := range pantherRecords(t) {
		ev, err := Parse(rec)
		if err != nil {
			fmt.Fprintf(&buf, "%03d parse_status=%s %v\n", i+1, StatusOf(err), err)
			continue
		}
		fmt.Fprintf(&buf, "%03d %s\n", i+1, describe(ev))
	}
	checkGolden(t, "categories.golden", buf.Bytes())
}

// TestSamplesGolden does the same for every file under testdata/awsdocs and
// testdata/cloudwatch-envelopes, through Split.
func TestSamplesGolden(t *testing.T) {
	var files []string
	for _, dir := range []string{"awsdocs", "cloudwatch-envelopes"} {
		m, err := filepath.Glob(filepath.Join("testdata", dir, "*.json"))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	if len(files) < 20 {
		t.Fatalf("found %d sample files, want the 27 copied from shared/testdata", len(files))
	}
	var buf bytes.Buffer
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		items, err := Split(data)
		if err != nil {
			t.Fatalf("%s: Split: %v", f, err)
		}
		fmt.Fprintf(&buf, "%s: %d item(s)\n", filepath.ToSlash(f[len("testdata/"):]), len(items))
		for _, it := range items {
			e := it.Envelope
			fmt.Fprintf(&buf, "  form=%s group=%q stream=%q id=%q ts=%s\n", e.Form, e.LogGroup, e.LogStream, e.EventID, fmtTime(e.Timestamp))
			ev, err := Parse(it.Record)
			if err != nil {
				fmt.Fprintf(&buf, "  parse_status=%s (%v)\n", StatusOf(err), err)
				continue
			}
			fmt.Fprintf(&buf, "  %s mfa=%s console=%q time=%s\n", describe(ev), ev.MFAUsed, ev.ConsoleLogin, fmtTime(ev.EventTime))
		}
	}
	checkGolden(t, "samples.golden", buf.Bytes())
}
