package cloudwatch

import (
	"errors"
	"fmt"
	"log/slog"
	"testing"
	"time"

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
