package plugin

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/logshipper/logshipper/internal/telemetry"
)

func TestRepairsCountsEveryRecordAndWarnsAtMostEveryInterval(t *testing.T) {
	tests := []struct {
		name      string
		every     time.Duration
		notes     int
		wantLines int
	}{
		{"the first at once, the others held", time.Hour, 5, 1},
		{"every one when the interval passed", 0, 3, 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			log := slog.New(slog.NewJSONHandler(&buf, nil)).With("plugin", "in")
			m := telemetry.NewMetrics("test").Plugin("in")
			r := NewRepairs(log, m)
			r.lines.Every = tc.every
			for i := range tc.notes {
				r.Note(RepairInvalidUTF8, "path", "/x.ndjson", "offset", i*10)
			}
			if got := testutil.ToFloat64(m.RepairedCounter(RepairInvalidUTF8)); got != float64(tc.notes) {
				t.Errorf("repaired counter %v, want %d", got, tc.notes)
			}
			lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
			if len(lines) != tc.wantLines {
				t.Fatalf("%d log lines, want %d:\n%s", len(lines), tc.wantLines, buf.String())
			}
			var first struct {
				Level, Msg, Plugin, Reason string
				Records                    int
				Latest                     struct {
					Path   string
					Offset int
				}
			}
			if err := json.Unmarshal([]byte(lines[0]), &first); err != nil {
				t.Fatal(err)
			}
			if first.Level != "WARN" || first.Plugin != "in" || first.Reason != RepairInvalidUTF8 || first.Records != 1 ||
				first.Latest.Path != "/x.ndjson" || first.Latest.Offset != 0 || !strings.Contains(first.Msg, "U+FFFD") {
				t.Errorf("first line %s", lines[0])
			}
		})
	}
}

func TestRepairsHeldCountComesWithTheNextLine(t *testing.T) {
	var buf bytes.Buffer
	r := NewRepairs(slog.New(slog.NewJSONHandler(&buf, nil)), nil)
	r.Note(RepairInvalidUTF8) // logged
	r.Note(RepairInvalidUTF8) // held
	r.Note(RepairInvalidUTF8) // held
	r.lines.Every = 0
	r.Note(RepairInvalidUTF8) // logged with the two held
	if !strings.Contains(buf.String(), `"records":3`) {
		t.Errorf("the second line does not count the held repairs:\n%s", buf.String())
	}
}

func TestNilRepairsDoesNothing(t *testing.T) {
	var r *Repairs
	r.Note(RepairInvalidUTF8, "path", "x") // must not panic
}

// An empty CloudTrail file or delivery is counted each time, and said in the log at most every
// interval (the first at once), each line with the count since the one before.
func TestEmptiesCountsEachAndLogsSpaced(t *testing.T) {
	var buf bytes.Buffer
	m := telemetry.NewMetrics("test").Plugin("in")
	e := NewEmpties(slog.New(slog.NewJSONHandler(&buf, nil)), m)
	e.lines.Every = time.Hour
	for i := range 4 {
		e.Note("path", "/x.json", "offset", i)
	}
	if got := testutil.ToFloat64(m.DroppedCounter(string(ReasonEmpty))); got != 4 {
		t.Errorf("dropped empty = %v; want 4", got)
	}
	if n := strings.Count(buf.String(), "\n"); n != 1 {
		t.Errorf("%d log lines for 4 empty files within the interval; want 1:\n%s", n, buf.String())
	}
	e.lines.Every = 0
	e.Note("path", "/y.json")
	if !strings.Contains(buf.String(), `"count":4`) {
		t.Errorf("the next line does not count the 3 held and itself:\n%s", buf.String())
	}
	var none *Empties
	none.Note() // must not panic
}
