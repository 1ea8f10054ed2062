package cloudwatch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"

	"github.com/logshipper/logshipper/internal/plugintest"
	"github.com/logshipper/logshipper/internal/sim/cwlogs"
	"github.com/logshipper/logshipper/internal/state"
)

// Both checkpoint versions are read; one slice spanning the window (or none) is saved as
// version 1, which earlier releases read.
func TestCheckpointVersions(t *testing.T) {
	tests := []struct {
		name       string
		saved      string
		wantDone   bool
		wantSlices []slice
		wantV      string // the version encode writes back
	}{
		{"version 1, window done", `{"v":1,"start":1,"from":10,"to":20,"done":true,"seen":{"a":15}}`, true, nil, `"v":1`},
		{"version 1, window being read", `{"v":1,"start":1,"from":10,"to":20,"token":"t1","done":false,"seen":{"a":15}}`,
			false, []slice{{From: 10, To: 20, Token: "t1"}}, `"v":1`},
		{"version 1, window from its start", `{"v":1,"start":1,"from":10,"to":20,"done":false,"seen":{}}`,
			false, []slice{{From: 10, To: 20}}, `"v":1`},
		{"version 2, two slices", `{"v":2,"start":1,"from":10,"to":40,"done":false,"slices":[{"from":10,"to":20,"token":"t\"1"},{"from":31,"to":40}],"seen":{"a":15}}`,
			false, []slice{{From: 10, To: 20, Token: `t"1`}, {From: 31, To: 40}}, `"v":2`},
		{"version 2, one slice spanning the window", `{"v":2,"start":1,"from":10,"to":20,"done":false,"slices":[{"from":10,"to":20,"token":"t2"}],"seen":{}}`,
			false, []slice{{From: 10, To: 20, Token: "t2"}}, `"v":1`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cp, err := decodeCheckpoint([]byte(tt.saved))
			if err != nil {
				t.Fatal(err)
			}
			check := func(cp *checkpoint) {
				t.Helper()
				if cp.Done != tt.wantDone || len(cp.Slices) != len(tt.wantSlices) {
					t.Fatalf("done %v, %d slices; want %v, %d", cp.Done, len(cp.Slices), tt.wantDone, len(tt.wantSlices))
				}
				for i, sl := range cp.Slices {
					w := tt.wantSlices[i]
					if sl.From != w.From || sl.To != w.To || sl.Token != w.Token {
						t.Errorf("slice %d = %+v, want %+v", i, *sl, w)
					}
					if sl.last != math.MinInt64 || sl.readAt != -1 {
						t.Errorf("slice %d resumed with last %d, readAt %d, edge %v", i, sl.last, sl.readAt, sl.edge)
					}
				}
			}
			check(cp)
			cp.settle()
			enc := cp.encode()
			if !strings.Contains(string(enc), tt.wantV) {
				t.Errorf("encoded as %s, want %s", enc, tt.wantV)
			}
			var any map[string]any
			if err := json.Unmarshal(enc, &any); err != nil {
				t.Fatalf("encoded %s: %v", enc, err)
			}
			again, err := decodeCheckpoint(enc)
			if err != nil {
				t.Fatal(err)
			}
			check(again)
			if got := checkpointProgress(enc); !got.Equal(cp.progress()) {
				t.Errorf("progress of the encoded checkpoint %v, want %v", got, cp.progress())
			}
		})
	}
	for _, bad := range []string{
		`{"v":2,"start":1,"from":10,"to":20,"done":false,"slices":[{"from":5,"to":20}],"seen":{}}`,
		`{"v":2,"start":1,"from":10,"to":20,"done":false,"slices":[{"from":15,"to":25}],"seen":{}}`,
		`{"v":2,"start":1,"from":10,"to":20,"done":false,"slices":[null],"seen":{}}`,
	} {
		if _, err := decodeCheckpoint([]byte(bad)); err == nil {
			t.Errorf("%s decoded", bad)
		}
	}
}

// The seen set keeps the ids a later read can meet again: those of the overlap, and those of
// a slice still read from its last event published on.
func TestPruneKeepsWhatCanComeAgain(t *testing.T) {
	cp := &checkpoint{From: 0, To: 100, Seen: map[string]int64{
		"before-slice": 5, "slice-before-last": 12, "slice-at-last": 15, "slice-after-last": 18,
		"done-part": 50, "overlap": 95,
	}}
	cp.Slices = []*slice{{From: 10, To: 20, last: 15}, {From: 60, To: 80, last: math.MinInt64}}
	cp.prune(10)
	want := []string{"slice-at-last", "slice-after-last", "overlap"}
	if len(cp.Seen) != len(want) {
		t.Errorf("kept %v, want %v", cp.Seen, want)
	}
	for _, id := range want {
		if _, ok := cp.Seen[id]; !ok {
			t.Errorf("%s pruned; kept %v", id, cp.Seen)
		}
	}
}

// backlog puts n events into each of the hours before now (at hours+0.5 h ago) and returns them.
func (w *world) backlog(region string, hours, n int) []string {
	var all []string
	for h := hours; h >= 1; h-- {
		all = append(all, w.put(region, ctStream(region), n, time.Duration(h)*time.Hour-30*time.Minute)...)
	}
	return all
}

// slicedConfig reads a backlog of hours in slices of an hour, with small pages and batches.
func slicedConfig(w *world, hours int) *Config {
	cfg := w.config("us-east-1")
	cfg.StartPosition = fmt.Sprintf("-%dh", hours)
	cfg.MaxWindow = time.Hour
	cfg.RequestsInFlight = 4
	cfg.PageSize = 5
	cfg.CheckpointEvery = 2
	return cfg
}

// A restart while several slices are being read resumes each from its own token: nothing is
// lost, and nothing acknowledged before the stop is published again.
func TestSlicesRestartLosesNothing(t *testing.T) {
	w := newWorld(t, cwlogs.Options{})
	want := w.backlog("us-east-1", 5, 20)
	store := state.NewMemory().Namespace("plugin/cw")
	cfg := slicedConfig(w, 6)
	pub := plugintest.NewPublisher(plugintest.Manual)
	run := plugintest.Start(t, w.source(t, cfg, store), pub)
	// Acknowledge batches in order until events were acknowledged and the saved checkpoint
	// lists slices being read (a slice over empty time is saved before any event).
	acked := map[string]bool{}
	plugintest.Eventually(t, 20*time.Second, "events acknowledged and a checkpoint saved with slices being read", func() bool {
		for _, b := range pub.Batches() {
			if b.Outcome() != 0 {
				continue
			}
			b.Ack()
			for _, k := range b.Keys(rawKey) {
				acked[k] = true
			}
			break
		}
		raw, _ := store.Get(context.Background(), "cw/us-east-1/"+testGroup+"/all")
		return len(acked) > 0 && strings.Contains(string(raw), `"slices":[{`) && strings.Count(string(raw), `"from"`) >= 3
	})
	run.Stop(t)
	if len(acked) == 0 || len(acked) == len(want) {
		t.Fatalf("%d of %d events acknowledged before the stop: the test did not test", len(acked), len(want))
	}

	pub2, rest := restartRest(t, w, cfg, store, want, acked)
	checkNoneAgain(t, pub2, acked)
	checkOnce(t, pub2, rest)
}

// stallingAPI holds up (or fails) the requests of the earliest hour of the backlog until
// released; the other requests pass.
type stallingAPI struct {
	countingAPI
	before   int64 // requests of slices ending before this (ms) are held up
	fail     bool  // fail them with an error rather than hold them
	released chan struct{}
	once     sync.Once
	stalled  chan struct{} // closed at the first request held up
}

func (s *stallingAPI) FilterLogEvents(ctx context.Context, in *cloudwatchlogs.FilterLogEventsInput, o ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.FilterLogEventsOutput, error) {
	if in.StartTime != nil && aws.ToInt64(in.EndTime) < s.before {
		select {
		case <-s.released:
		default:
			s.once.Do(func() { close(s.stalled) })
			if s.fail {
				return nil, errors.New("simulated 503 Service Unavailable")
			}
			select {
			case <-s.released:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
	}
	return s.countingAPI.FilterLogEvents(ctx, in, o...)
}

// A slow or failing answer for one slice does not stall the others: the later hours of a
// backlog arrive while the earliest one is held up, and everything once, after.
func TestSlowSliceDoesNotStallOthers(t *testing.T) {
	for _, fail := range []bool{false, true} {
		name := map[bool]string{false: "slow", true: "failing"}[fail]
		t.Run(name, func(t *testing.T) {
			w := newWorld(t, cwlogs.Options{})
			early := w.put("us-east-1", ctStream("us-east-1"), 10, 5*time.Hour+30*time.Minute)
			later := w.backlog("us-east-1", 4, 10)
			cfg := slicedConfig(w, 6)
			s := w.source(t, cfg, nil)
			api := &stallingAPI{before: time.Now().Add(-5*time.Hour + time.Minute).UnixMilli(), fail: fail,
				released: make(chan struct{}), stalled: make(chan struct{})}
			interpose(s, &api.countingAPI, api)
			pub := plugintest.NewPublisher(plugintest.AckAsync)
			run := plugintest.Start(t, s, pub)
			pub.WaitKeys(t, rawKey, later[:30]) // the hours 4 to 2 before now
			select {
			case <-api.stalled:
			default:
				t.Fatal("no request was held up: the test did not test")
			}
			if missing := pub.MissingKeys(rawKey, early); len(missing) != len(early) {
				t.Fatalf("%d events of the held-up slice published", len(early)-len(missing))
			}
			close(api.released)
			pub.WaitKeys(t, rawKey, append(early, later...))
			run.Stop(t)
			checkOnce(t, pub, append(early, later...))
		})
	}
}

// Events that reached CloudWatch Logs long after their time are counted late (and warned of)
// only in a slice that may miss others like them: one resumed from a checkpoint and ending
// less than lag+overlap before now, not one of a backfill resumed long after its end.
func TestLateCountedOnlyAtTheEdgeAfterAResume(t *testing.T) {
	tests := []struct {
		name     string
		age      time.Duration // of the events, and of the end of the window resumed
		wantLate bool
	}{
		{"backfill resumed", 2 * time.Hour, false},
		{"live edge resumed", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t, cwlogs.Options{})
			cfg := w.config("us-east-1")
			store := state.NewMemory().Namespace("plugin/cw")
			now := time.Now()
			to := now.Add(-tt.age).UnixMilli()
			from := to - time.Hour.Milliseconds()
			old := fmt.Sprintf(`{"v":1,"start":%d,"from":%d,"to":%d,"done":false,"seen":{}}`, from, from, to)
			if err := store.Put(context.Background(), "cw/us-east-1/"+testGroup+"/all", []byte(old)); err != nil {
				t.Fatal(err)
			}
			want := w.put("us-east-1", ctStream("us-east-1"), 10, tt.age+30*time.Minute)
			s := w.source(t, cfg, store)
			pub := plugintest.NewPublisher(plugintest.AckAsync)
			run := plugintest.Start(t, s, pub)
			pub.WaitKeys(t, rawKey, want)
			run.Stop(t)
			if got := s.Late() > 0; got != tt.wantLate {
				t.Errorf("late events counted: %d, want some: %v", s.Late(), tt.wantLate)
			}
		})
	}
}

// A backfill read up to the live edge counts no event late, however long after its time it
// was ingested: no read passed over its time before it arrived, so nothing like it is missed.
func TestNoLateCountInABackfillReachingTheEdge(t *testing.T) {
	w := newWorld(t, cwlogs.Options{})
	cfg := w.config("us-east-1")
	cfg.StartPosition = "-2h"
	var want []string
	for _, age := range []time.Duration{90 * time.Minute, 30 * time.Minute, 10 * time.Second} {
		want = append(want, w.put("us-east-1", ctStream("us-east-1"), 5, age)...)
	}
	s := w.source(t, cfg, nil)
	pub := plugintest.NewPublisher(plugintest.AckAsync)
	run := plugintest.Start(t, s, pub)
	pub.WaitKeys(t, rawKey, want)
	late := w.put("us-east-1", ctStream("us-east-1"), 1, 0) // read at the live edge
	pub.WaitKeys(t, rawKey, late)
	run.Stop(t)
	if got := s.Late(); got != 0 {
		t.Errorf("Late() = %d after a backfill of events ingested before it started; want 0", got)
	}
	checkOnce(t, pub, append(want, late...))
}

// A partition with nothing to read yet (start_position end, now − lag before the start) asks
// again every poll_interval, not in a tight loop.
func TestNothingToReadWaitsPollInterval(t *testing.T) {
	w := newWorld(t, cwlogs.Options{})
	cfg := w.config("us-east-1")
	cfg.StartPosition, cfg.Lag, cfg.PollInterval = "end", time.Hour, 50*time.Millisecond
	w.put("us-east-1", ctStream("us-east-1"), 1, 2*time.Hour)
	s := w.source(t, cfg, nil)
	var (
		mu          sync.Mutex
		calls       int
		first, last time.Time // the 5th and the 25th read of the clock (after the start)
	)
	orig := s.tune.now
	s.tune.now = func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		calls++
		switch calls {
		case 5:
			first = time.Now()
		case 25:
			last = time.Now()
		}
		return orig()
	}
	run := plugintest.Start(t, s, plugintest.NewPublisher(plugintest.AckAsync))
	plugintest.Eventually(t, 0, "25 reads of the clock", func() bool { mu.Lock(); defer mu.Unlock(); return calls >= 25 })
	run.Stop(t)
	mu.Lock()
	elapsed := last.Sub(first)
	mu.Unlock()
	// A poll reads the clock a few times: 20 reads take several polls of 50ms, where a tight
	// loop makes them in a few milliseconds.
	if elapsed < 150*time.Millisecond {
		t.Errorf("the clock was read 20 times in %v, polling every 50ms", elapsed)
	}
}

// peakAPI measures the most FilterLogEvents requests in flight at once; each answer takes
// a little while, so requests started together would overlap.
type peakAPI struct {
	countingAPI
	now, peak atomic.Int64
}

func (a *peakAPI) FilterLogEvents(ctx context.Context, in *cloudwatchlogs.FilterLogEventsInput, o ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.FilterLogEventsOutput, error) {
	n := a.now.Add(1)
	defer a.now.Add(-1)
	for p := a.peak.Load(); n > p && !a.peak.CompareAndSwap(p, n); p = a.peak.Load() {
	}
	select {
	case <-time.After(5 * time.Millisecond):
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return a.countingAPI.FilterLogEvents(ctx, in, o...)
}

// While the answers come in time, a region keeps one request in flight, whatever
// requests_in_flight allows: a second starts only beside a stalled one, so a healthy region
// holds one page in memory. (An answer is late after slow_request at most, and sooner after
// a few times the usual answer time, from hedgeFloor on: both set to a minute here, so that
// a loaded machine's pauses do not count.)
func TestOneRequestInFlightWhileAnswersComeInTime(t *testing.T) {
	w := newWorld(t, cwlogs.Options{})
	keys := w.backlog("us-east-1", 4, 10)
	cfg := slicedConfig(w, 6)
	cfg.SlowRequest = time.Minute
	s := w.source(t, cfg, nil)
	s.tune.hedgeFloor = time.Minute
	api := &peakAPI{}
	interpose(s, &api.countingAPI, api)
	pub := plugintest.NewPublisher(plugintest.AckAsync)
	run := plugintest.Start(t, s, pub)
	pub.WaitKeys(t, rawKey, keys)
	run.Stop(t)
	checkOnce(t, pub, keys)
	if api.calls.Load() < 4 {
		t.Fatalf("%d calls: the test did not test", api.calls.Load())
	}
	if p := api.peak.Load(); p != 1 {
		t.Errorf("%d requests in flight at once, want 1", p)
	}
}
