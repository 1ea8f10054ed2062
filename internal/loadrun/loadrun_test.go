package loadrun

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// maxResentPerKill bounds the records a kill makes the Netskope source send again: the chunks
// of 100 records of the page in flight from the first one not acknowledged on, which with the
// lake's 8 workers is about 8 of them, not the page of thousands.
const maxResentPerKill = 1000

// TestSmallRuns drives the real shipper binary through a small run of each kind, so the load
// run itself is known to count right: everything wanted arrives, nothing is lost, and the
// shipper's CPU time and peak RSS are measured.
func TestSmallRuns(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the shipper")
	}
	if runtime.GOOS != "linux" {
		t.Skip("peak RSS is read from /proc")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "logshipper")
	if out, err := exec.Command("go", "build", "-o", bin, "../../cmd/logshipper").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	for _, tc := range []struct {
		journey string
		mode    Mode
		records int
		cluster int
		lakeDup string // Options.LakeDuplicates
	}{
		{"netskope", Plain, 3000, 0, ""},
		{"cloudtrail", Fault, 3000, 0, ""},
		{"cloudtrail", Crash, 60000, 0, ""}, // long enough for the kills to land
		{"netskope", Crash, 60000, 3, ""},   // one member killed, its partitions taken over
		{"cloudtrail", Crash, 60000, 3, ""}, // the same, the partitions counted at the syslog receiver
		// The lake stores an id sent again: the run still waits for every distinct id, and
		// counts the copies.
		{"netskope", Crash, 60000, 0, "store-duplicate"},
	} {
		name := fmt.Sprintf("%s/%s/cluster%d", tc.journey, tc.mode, tc.cluster)
		if tc.lakeDup != "" {
			name += "/" + tc.lakeDup
		}
		t.Run(name, func(t *testing.T) {
			o := Options{
				Shipper: bin, Dir: t.TempDir(), Records: tc.records, Seed: 7, FaultRate: 0.2, Kills: 2,
				Stall: time.Minute, TrailSamples: "../cloudtrailrecord/testdata/panther-rule-tests.ndjson",
				Cluster: tc.cluster, LeaseTTL: 3 * time.Second, LakeDuplicates: tc.lakeDup,
			}
			r, err := Run(context.Background(), tc.journey, tc.mode, o)
			if err != nil {
				t.Fatal(err)
			}
			if r.Want == 0 || r.Got != r.Want || r.Lost != 0 {
				t.Fatalf("wanted %d, got %d, lost %d (%s)", r.Want, r.Got, r.Lost, r.Note)
			}
			if r.CPU <= 0 || r.MaxRSS <= 0 || r.Wall <= 0 {
				t.Fatalf("CPU %s, peak RSS %d, wall %s: not measured", r.CPU, r.MaxRSS, r.Wall)
			}
			switch {
			case tc.journey == "netskope" && tc.lakeDup == "" && r.Twice != 0:
				t.Fatalf("%d events stored twice in the lake", r.Twice)
			case tc.lakeDup != "" && (r.Resent != 0 || !strings.Contains(r.Note, "store-duplicate")):
				t.Fatalf("store-duplicate run: %d counted as deduplicated, note %q; want 0 and the copies in the note", r.Resent, r.Note)
			case tc.lakeDup != "" && r.Twice > int64(r.Kills)*maxResentPerKill:
				t.Fatalf("%d of %d records stored twice after %d kills; want at most %d a kill", r.Twice, r.Got, r.Kills, maxResentPerKill)
			}
			if tc.mode == Crash && r.Kills == 0 {
				t.Fatalf("the run ended before the first kill")
			}
			if tc.cluster > 1 && tc.mode == Crash {
				tk := r.Takeover
				if tk == nil || len(tk.Partitions) == 0 || len(tk.Acquired) != len(tk.Partitions) || len(tk.First) == 0 {
					t.Fatalf("takeover not measured: %+v", tk)
				}
				if lo, _, _ := Range(tk.Acquired); lo < o.LeaseTTL/2 {
					t.Fatalf("a partition of the killed member was taken %s after the kill, before its lease (TTL %s) could expire", lo, o.LeaseTTL)
				}
			}
			t.Logf("%+v", r)
		})
	}
}
