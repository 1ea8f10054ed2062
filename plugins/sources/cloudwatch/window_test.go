package cloudwatch

import (
	"context"
	"testing"
	"time"

	"github.com/logshipper/logshipper/internal/plugintest"
	"github.com/logshipper/logshipper/internal/sim/cwlogs"
)

// start_position beginning starts max_window before the earliest event the group holds, not at
// the epoch (from 1970, in max_window steps of 1 h, the first event would come after ~490,000
// FilterLogEvents calls, ~27 h at the 5/s quota): events one minute old are read within seconds.
func TestBeginningStartsNearEarliestEvent(t *testing.T) {
	w := newWorld(t, cwlogs.Options{})
	want := w.put("us-east-1", ctStream("us-east-1"), 5, time.Minute)
	cfg := w.config("us-east-1")
	cfg.StartPosition = "beginning"
	cfg.MaxWindow = DefaultMaxWindow
	cfg.Overlap = DefaultOverlap
	cfg.RequestsPerSecond = DefaultRequestsPerSecond
	s := w.source(t, cfg, nil)
	var ca *countingAPI
	orig := s.tune.newAPI
	s.tune.newAPI = func(ctx context.Context, region string) (logsAPI, error) {
		api, err := orig(ctx, region)
		ca = &countingAPI{next: api}
		return ca, err
	}
	pub := plugintest.NewPublisher(plugintest.AckAsync)
	run := plugintest.Start(t, s, pub)
	ok := pub.Await(10*time.Second, func() bool { return len(pub.MissingKeys(rawKey, want)) == 0 })
	run.Stop(t)
	if !ok {
		hours := time.Since(time.Unix(0, 0)).Hours()
		t.Errorf("events one minute old not read after 10 s: %d calls made; about %.0f windows (%.1f h at %v/s) to go",
			ca.calls.Load(), hours/(DefaultMaxWindow-DefaultOverlap).Hours(), hours/(DefaultMaxWindow-DefaultOverlap).Hours()/DefaultRequestsPerSecond/3600, DefaultRequestsPerSecond)
	}
}

// Windows follow the server's clock when the local clock is ahead of it: with the shipper's
// clock 2 s ahead of AWS, more than lag+overlap minus the ingestion delay, every event ingested
// 300 ms after its timestamp is read, as it is with no skew.
func TestClockAheadOfServerLosesNothing(t *testing.T) {
	for _, skew := range []time.Duration{0, 2 * time.Second} {
		t.Run("skew="+skew.String(), func(t *testing.T) {
			w := newWorld(t, cwlogs.Options{IngestDelay: 300 * time.Millisecond})
			cfg := w.config("us-east-1")
			cfg.StartPosition = "-1m"
			cfg.Lag = 100 * time.Millisecond
			cfg.Overlap = 500 * time.Millisecond // lag+overlap = 600 ms > the 300 ms delay
			s := w.source(t, cfg, nil)
			s.tune.now = func() time.Time { return time.Now().Add(skew) }
			pub := plugintest.NewPublisher(plugintest.AckAsync)
			run := plugintest.Start(t, s, pub)
			var want []string
			for range 10 {
				want = append(want, w.put("us-east-1", ctStream("us-east-1"), 3, 0)...)
				time.Sleep(50 * time.Millisecond)
			}
			pub.Await(4*time.Second, func() bool { return len(pub.MissingKeys(rawKey, want)) == 0 })
			run.Stop(t)
			if miss := len(pub.MissingKeys(rawKey, want)); miss > 0 {
				t.Errorf("clock %s ahead: %d of %d events (ingested 300 ms after their time, lag+overlap 600 ms) never read; Late()=%d",
					skew, miss, len(want), s.Late())
			}
		})
	}
}
