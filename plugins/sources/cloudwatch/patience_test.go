package cloudwatch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"

	"github.com/logshipper/logshipper/internal/plugintest"
	"github.com/logshipper/logshipper/internal/sim/cwlogs"
)

// A server slower than the first wait for an answer is answered all the same: after a request
// got no answer in time, the next ones wait longer. Asking again with the same timeout would
// never be answered (here: every answer takes 300 ms, the first wait is 100 ms).
func TestSlowAnswersAreWaitedFor(t *testing.T) {
	w := newWorld(t, cwlogs.Options{Faults: cwlogs.Faults{SlowRate: 1, SlowDelay: 300 * time.Millisecond, Ops: []string{"FilterLogEvents"}}})
	keys := w.backlog("us-east-1", 2, 3)
	s := w.source(t, slicedConfig(w, 2), nil)
	s.tune.answerHeader, s.tune.answerWhole = 100*time.Millisecond, 200*time.Millisecond
	pub := plugintest.NewPublisher(plugintest.AckAsync)
	run := plugintest.Start(t, s, pub)
	pub.WaitKeys(t, rawKey, keys)
	run.Stop(t)
}

// timeoutErr is a network timeout, as the HTTP client returns when no answer came in time.
type timeoutErr struct{}

func (timeoutErr) Error() string   { return "net/http: timeout awaiting response headers" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

func TestPatienceLevels(t *testing.T) {
	const header = time.Minute
	timedOut := fmt.Errorf("operation error CloudWatch Logs: FilterLogEvents: request send failed: %w", timeoutErr{})
	for _, tc := range []struct {
		name       string
		from, sent int // the level before, and the one the request was sent at
		err        error
		took       time.Duration
		level      int
	}{
		{"a timeout raises", 0, 0, timedOut, header, 1},
		{"up to the most", maxPatienceLevel, maxPatienceLevel, timedOut, 8 * header, maxPatienceLevel},
		{"a timeout of a request sent at the level before keeps", 1, 0, timedOut, header, 1},
		{"another error keeps", 1, 1, errors.New("503 Service Unavailable"), time.Second, 1},
		{"a quick answer lowers", 2, 2, nil, header/2 - time.Millisecond, 1},
		{"a slow answer keeps", 2, 2, nil, header / 2, 2},
		{"a quick answer at level 0", 0, 0, nil, time.Millisecond, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pt := &patience{header: header, whole: 2 * header, level: tc.from}
			pt.note(tc.sent, tc.err, tc.took, slog.New(slog.DiscardHandler))
			if pt.level != tc.level {
				t.Errorf("level %d, want %d", pt.level, tc.level)
			}
		})
	}
}

// At level 0 with the client's own timeouts, requests go out as they are; otherwise with a
// client of their own, made once per level.
func TestPatienceOptions(t *testing.T) {
	pt := &patience{header: 60 * time.Second, whole: 2 * time.Minute}
	if level, o := pt.options(); level != 0 || len(o) != 0 {
		t.Errorf("level %d, %d options at level 0 with the client's timeouts, want none", level, len(o))
	}
	pt.level = 1
	if level, o := pt.options(); level != 1 || len(o) != 1 {
		t.Fatalf("level %d, %d options at level 1, want 1", level, len(o))
	}
}

// concurrencyAPI records the most FilterLogEvents requests in flight at once after the first
// one that timed out, and holds the 6th to 8th calls back by 1.5 s.
type concurrencyAPI struct {
	countingAPI
	mu       sync.Mutex
	inFlight int
	timedOut bool
	most     int // after the first timeout
}

func (c *concurrencyAPI) FilterLogEvents(ctx context.Context, in *cloudwatchlogs.FilterLogEventsInput, o ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.FilterLogEventsOutput, error) {
	c.mu.Lock()
	c.inFlight++
	if c.timedOut {
		c.most = max(c.most, c.inFlight)
	}
	c.mu.Unlock()
	if n := c.calls.Load(); n >= 5 && n < 8 {
		// The server gets slower still: these answers come late by the region's measure.
		select {
		case <-time.After(1500 * time.Millisecond):
		case <-ctx.Done():
		}
	}
	out, err := c.countingAPI.FilterLogEvents(ctx, in, o...)
	var ne net.Error
	c.mu.Lock()
	c.inFlight--
	if errors.As(err, &ne) && ne.Timeout() {
		c.timedOut = true
	}
	c.mu.Unlock()
	return out, err
}

// Once a request went unanswered in time, the region starts no request beside the one in
// flight, even when an answer is late by the region's measure: against a slow server that
// answers one at a time, more requests only queue (every answer here takes 300 ms, three of
// them 1.8 s; the first wait for an answer is 100 ms, so the first requests time out).
func TestSlowServerGetsOneRequestAtATime(t *testing.T) {
	w := newWorld(t, cwlogs.Options{Faults: cwlogs.Faults{SlowRate: 1, SlowDelay: 300 * time.Millisecond, Ops: []string{"FilterLogEvents"}}})
	keys := w.backlog("us-east-1", 4, 10)
	s := w.source(t, slicedConfig(w, 4), nil)
	s.tune.answerHeader, s.tune.answerWhole = 100*time.Millisecond, 200*time.Millisecond
	api := &concurrencyAPI{}
	interpose(s, &api.countingAPI, api)
	pub := plugintest.NewPublisher(plugintest.AckAsync)
	run := plugintest.Start(t, s, pub)
	if !pub.Await(time.Minute, func() bool { return len(pub.MissingKeys(rawKey, keys)) == 0 }) {
		t.Fatalf("%d of %d events not read", len(pub.MissingKeys(rawKey, keys)), len(keys))
	}
	run.Stop(t)
	api.mu.Lock()
	defer api.mu.Unlock()
	if !api.timedOut {
		t.Fatal("no request timed out: the test did not test")
	}
	if api.most > 1 {
		t.Errorf("%d requests in flight at once after a timeout, want 1", api.most)
	}
}
