package cloudwatch

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/logshipper/logshipper/internal/plugintest"
	"github.com/logshipper/logshipper/internal/sim/cwlogs"
)

// throttleCounter sits in front of the simulator and counts FilterLogEvents requests and the
// ThrottlingException answers.
type throttleCounter struct {
	next      http.Handler
	filters   atomic.Int64
	throttled atomic.Int64
}

func (c *throttleCounter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("X-Amz-Target") == cwlogs.TargetPrefix+"FilterLogEvents" {
		c.filters.Add(1)
	}
	c.next.ServeHTTP(w, r)
	if w.Header().Get("X-Amzn-ErrorType") == "ThrottlingException" {
		c.throttled.Add(1)
	}
}

// Three members of a cluster read three log groups of one account and region, each with its
// own limiter (they are three processes) at requests_per_second 5, cloudsim's FilterLogEvents
// quota. With each member's share a third, cloudsim throttles nothing (it injects no faults);
// with the whole quota each, it throttles: the check can fail.
func TestMembersSharingTheQuotaAreNotThrottled(t *testing.T) {
	tests := []struct {
		name          string
		share         float64
		wantThrottled bool
	}{
		{"a third each", 1.0 / 3, false},
		{"the whole quota each", 1, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, cwlogs.Options{Rates: map[string]float64{"FilterLogEvents": cwlogs.DefaultRates()["FilterLogEvents"]}})
			counter := &throttleCounter{next: w.srv.Config.Handler}
			front := httptest.NewServer(counter)
			t.Cleanup(front.Close)
			const region = "us-east-1"
			var (
				pubs []*plugintest.Publisher
				want [][]string
			)
			for i := range 3 {
				group := fmt.Sprintf("members-group-%d", i)
				var msgs []string
				for k := range 30 {
					msgs = append(msgs, fmt.Sprintf(`{"eventVersion":"1.08","group":%d,"n":%d}`, i, k))
				}
				evs := make([]cwlogs.InputEvent, len(msgs))
				for k, m := range msgs {
					evs[k] = cwlogs.InputEvent{Timestamp: time.Now().Add(-time.Minute).UnixMilli(), Message: m}
				}
				if err := w.svc.Put(testAccount, region, group, "s", evs); err != nil {
					t.Fatal(err)
				}
				cfg := w.config(region)
				cfg.LogGroup = group
				cfg.AWS.Endpoint = front.URL
				cfg.RequestsPerSecond = DefaultRequestsPerSecond
				set := plugintest.Settings(t, fmt.Sprintf("member-%d", i), nil)
				set.Share = plugintest.NewShare(tc.share)
				s, err := New(cfg, set)
				if err != nil {
					t.Fatal(err)
				}
				s.tune.backoffBase = 5 * time.Millisecond
				pub := plugintest.NewPublisher(plugintest.AckInPublish)
				run := plugintest.Start(t, s, pub)
				t.Cleanup(func() { run.Stop(t) })
				pubs, want = append(pubs, pub), append(want, msgs)
			}
			for i, pub := range pubs {
				pub.WaitUntil(t, 60*time.Second, fmt.Sprintf("member %d's events", i), func() bool { return len(pub.MissingKeys(rawKey, want[i])) == 0 })
			}
			// Caught up, each member keeps polling every 20 ms: its limiter is what paces it.
			// 30 requests are 6 s of the quota when shared, 2 s when each takes it whole.
			for deadline := time.Now().Add(60 * time.Second); counter.filters.Load() < 30; time.Sleep(20 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatalf("timed out waiting for 30 FilterLogEvents requests (%d made)", counter.filters.Load())
				}
			}
			filters, throttled := counter.filters.Load(), counter.throttled.Load()
			t.Logf("share %.3f: %d FilterLogEvents requests, %d throttled", tc.share, filters, throttled)
			if got := throttled > 0; got != tc.wantThrottled {
				t.Errorf("share %.3f: cloudsim throttled %d of %d requests; want throttling: %v", tc.share, throttled, filters, tc.wantThrottled)
			}
		})
	}
}
