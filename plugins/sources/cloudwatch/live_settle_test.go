package cloudwatch

import (
	"context"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/logshipper/logshipper/internal/event"
	"github.com/logshipper/logshipper/internal/plugintest"
	"github.com/logshipper/logshipper/internal/sim/cwlogs"
	"github.com/logshipper/logshipper/internal/state"
)

// A read that claims an earlier time than a read already recorded over the same span (the
// clock it took its time from moved back) leaves that span read at the later time: the later
// read's answer held what it held, and forgetting it would publish again an event whose id the
// pass pruned on the strength of the later read.
func TestLiveMarkKeepsTheLatestRead(t *testing.T) {
	tests := []struct {
		name  string
		marks [][3]int64
		want  []liveRead
	}{
		{"later read replaces", [][3]int64{{100, 200, 10}, {100, 200, 20}}, []liveRead{{100, 200, 20}}},
		{"earlier read inside a later one", [][3]int64{{100, 200, 20}, {120, 150, 10}}, []liveRead{{100, 200, 20}}},
		{"earlier read across a later one", [][3]int64{{100, 200, 20}, {50, 250, 10}},
			[]liveRead{{50, 99, 10}, {100, 200, 20}, {201, 250, 10}}},
		{"earlier read over two spans, one older", [][3]int64{{100, 149, 5}, {150, 200, 20}, {100, 200, 10}},
			[]liveRead{{100, 149, 10}, {150, 200, 20}}},
		{"earlier read next to a later one", [][3]int64{{100, 200, 20}, {201, 300, 10}},
			[]liveRead{{100, 200, 20}, {201, 300, 10}}},
		{"gap between later spans takes the read", [][3]int64{{100, 120, 20}, {180, 200, 30}, {90, 210, 10}},
			[]liveRead{{90, 99, 10}, {100, 120, 20}, {121, 179, 10}, {180, 200, 30}, {201, 210, 10}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newLiveState()
			for _, m := range tc.marks {
				s.mark(m[0], m[1], m[2])
			}
			if !reflect.DeepEqual(s.Reads, tc.want) {
				t.Errorf("reads %v, want %v", s.Reads, tc.want)
			}
		})
	}
}

// The server's clock is taken from the last answer's Date only when the local clock is ahead
// for sure: an answer read late (a busy machine) does not make a right clock look ahead.
func TestNowJudgesSkewFromTheTimeSent(t *testing.T) {
	w := newWorld(t, cwlogs.Options{})
	s := w.source(t, w.config("us-east-1"), nil)
	p := s.newPartition("us-east-1")
	now := time.Now()
	tests := []struct {
		name       string
		dateAt     time.Time // the server's clock when it made the answer (Date truncates it)
		sent, read time.Time
		server     bool // now follows the server's clock
	}{
		{"fast answer, right clock", now, now.Add(-10 * time.Millisecond), now, false},
		{"answer read 3 s late, right clock", now.Add(-3 * time.Second), now.Add(-3100 * time.Millisecond), now, false},
		{"fast answer, clock 3 s ahead", now.Add(-3 * time.Second), now.Add(-10 * time.Millisecond), now, true},
		{"answer read 3 s late, clock 3 s ahead", now.Add(-6 * time.Second), now.Add(-3100 * time.Millisecond), now, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p.mu.Lock()
			p.serverAt, p.serverSent, p.serverRead = tc.dateAt.Truncate(time.Second), tc.sent, tc.read
			p.mu.Unlock()
			got := p.now()
			local := time.Now()
			if followsServer := local.Sub(got) > 500*time.Millisecond; followsServer != tc.server {
				t.Errorf("now() = local %v: follows the server's clock = %v, want %v", local.Sub(got), followsServer, tc.server)
			}
		})
	}
}

// The sweep waits for the reads the pass had begun and their batches, not for the pass to be
// idle: a pass that reads back to back and always has a batch in flight does not hold the
// sweep up until the wait's bound, and the batches the sweep waited for are saved.
func TestSettledLiveWithABusyPass(t *testing.T) {
	w := newWorld(t, cwlogs.Options{})
	s := w.source(t, w.config("us-east-1"), nil)
	p := s.newPartition("us-east-1")
	cur := state.NewCursor(state.NewMemory().Namespace("plugin/cw"), "live")
	p.liveCur.Store(cur)
	p.liveSnap.Store(newLiveState())

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer func() { cancel(); wg.Wait() }()
	// The pass: a read begins as soon as the last ended, tracks a batch, and the batch is
	// acknowledged 20 ms later, while the next read has begun.
	acks := make(chan event.AckFunc, 64)
	wg.Add(2)
	go func() {
		defer wg.Done()
		for ctx.Err() == nil {
			p.liveBegun.Add(1)
			time.Sleep(5 * time.Millisecond) // the read's requests, not a wait for a condition
			select {
			case acks <- cur.Track([]byte(`{"v":1,"reads":[],"ids":{}}`)):
			case <-ctx.Done():
			}
			p.liveEnded.Add(1)
		}
	}()
	go func() {
		defer wg.Done()
		for {
			select {
			case <-ctx.Done():
				return
			case ack := <-acks:
				time.Sleep(20 * time.Millisecond) // the destination's delivery, not a wait for a condition
				ack(event.Acked)
			}
		}
	}()
	for i := range 5 {
		plugintest.Eventually(t, 0, "the pass has a batch in flight", func() bool { return cur.Pending() > 0 })
		begun := p.liveBegun.Load()
		start := time.Now()
		p.settledLive(ctx)
		if took := time.Since(start); took >= liveSettleWait/2 {
			t.Fatalf("wait %d: settledLive took %v with a busy pass (bound %v)", i, took, liveSettleWait)
		}
		if p.liveEnded.Load() < begun {
			t.Fatalf("wait %d: settledLive returned before the reads begun (%d) ended (%d)", i, begun, p.liveEnded.Load())
		}
	}
}
