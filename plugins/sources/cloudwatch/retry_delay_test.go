package cloudwatch

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/smithy-go"

	"github.com/logshipper/logshipper/internal/plugintest"
	"github.com/logshipper/logshipper/internal/sim/cwlogs"
)

// firstFailsAPI fails the first FilterLogEvents call with err and notes when each call came.
type firstFailsAPI struct {
	countingAPI
	err   error
	mu    sync.Mutex
	times []time.Time
}

func (a *firstFailsAPI) FilterLogEvents(ctx context.Context, in *cloudwatchlogs.FilterLogEventsInput, o ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.FilterLogEventsOutput, error) {
	a.mu.Lock()
	a.times = append(a.times, time.Now())
	first := len(a.times) == 1
	a.mu.Unlock()
	if first {
		return nil, a.err
	}
	return a.countingAPI.FilterLogEvents(ctx, in, o...)
}

// A 5xx or a cut connection is retried after a tenth of the backoff a throttling error waits:
// it says nothing of load on the quota, and the region's slices wait on it.
func TestTransientErrorsRetrySooner(t *testing.T) {
	const base = 2 * time.Second
	tests := []struct {
		name     string
		err      error
		min, max time.Duration // the wait between the failed call and its retry
	}{
		{"5xx", errors.New("simulated 503 Service Unavailable"), 0, base / 2},
		{"throttled", &smithy.GenericAPIError{Code: "ThrottlingException", Message: "Rate exceeded"}, base / 2, time.Hour},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, cwlogs.Options{})
			keys := w.backlog("us-east-1", 1, 3)
			cfg := slicedConfig(w, 2)
			cfg.RequestsInFlight = 1 // the call after the failure is its retry
			s := w.source(t, cfg, nil)
			s.tune.backoffBase = base
			api := &firstFailsAPI{err: tc.err}
			interpose(s, &api.countingAPI, api)
			pub := plugintest.NewPublisher(plugintest.AckAsync)
			run := plugintest.Start(t, s, pub)
			pub.WaitKeys(t, rawKey, keys)
			run.Stop(t)
			api.mu.Lock()
			defer api.mu.Unlock()
			if len(api.times) < 2 {
				t.Fatalf("%d calls", len(api.times))
			}
			if gap := api.times[1].Sub(api.times[0]); gap < tc.min || gap > tc.max {
				t.Errorf("retried after %s, want %s to %s", gap, tc.min, tc.max)
			}
		})
	}
}
