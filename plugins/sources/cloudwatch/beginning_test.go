package cloudwatch

import (
	"os"
	"testing"
	"time"

	"github.com/logshipper/logshipper/internal/plugintest"
	"github.com/logshipper/logshipper/internal/sim/cwlogs"
)

// sampleFile holds the project's sample CloudTrail records (the ones examples/cloudsim.yaml loads).
const sampleFile = "../../../internal/cloudtrailrecord/testdata/panther-rule-tests.ndjson"

// beginningConfig is start_position beginning with the windows of examples/cloudwatch-to-syslog.yaml
// (one window from the beginning), scaled down: lag 50 ms, overlap 2 s.
func beginningConfig(w *world) *Config {
	cfg := w.config("us-east-1")
	cfg.StartPosition = "beginning"
	cfg.MaxWindow = 876000 * time.Hour
	return cfg
}

// Events put a moment before they become visible, with timestamps older than lag+overlap, are
// all read by a source started at once with start_position beginning: the start is not fixed
// (and no window read) before the group shows its data.
func TestBeginningWaitsForEventsNotVisibleYet(t *testing.T) {
	w := newWorld(t, cwlogs.Options{IngestDelay: 700 * time.Millisecond})
	want := w.put("us-east-1", ctStream("us-east-1"), 20, time.Minute)
	s := w.source(t, beginningConfig(w), nil)
	pub := plugintest.NewPublisher(plugintest.AckAsync)
	run := plugintest.Start(t, s, pub)
	ok := pub.Await(5*time.Second, func() bool { return len(pub.MissingKeys(rawKey, want)) == 0 })
	run.Stop(t)
	if !ok {
		t.Errorf("%d of %d events (put one minute old, visible 700 ms later) never read with start_position beginning",
			len(pub.MissingKeys(rawKey, want)), len(want))
	}
}

// The sample CloudTrail records of examples/cloudsim.yaml (eventTimes from 2019 on), loaded into
// a simulator whose events become visible late, are all read by a source started right after
// the load with start_position beginning, as in the example.
func TestBeginningReadsLoadedSample(t *testing.T) {
	w := newWorld(t, cwlogs.Options{IngestDelay: 300 * time.Millisecond, IngestJitter: 300 * time.Millisecond})
	f, err := os.Open(sampleFile)
	if err != nil {
		t.Fatal(err)
	}
	n, err := w.svc.LoadCloudTrail(testAccount, "us-east-1", testGroup, f)
	f.Close()
	if err != nil || n < 300 {
		t.Fatalf("loaded %d: %v", n, err)
	}
	s := w.source(t, beginningConfig(w), nil)
	pub := plugintest.NewPublisher(plugintest.AckAsync)
	run := plugintest.Start(t, s, pub)
	ok := pub.Await(5*time.Second, func() bool { return len(pub.Records()) >= n })
	run.Stop(t)
	if !ok {
		t.Errorf("%d of the %d loaded sample records read with start_position beginning; Late()=%d", len(pub.Records()), n, s.Late())
	}
}
