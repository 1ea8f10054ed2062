package syslog

import (
	"context"
	"net"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/logshipper/logshipper/internal/event"
	"github.com/logshipper/logshipper/internal/plugintest"
)

// span is one report of WriteProgress: recs[from:to] delivered.
type span struct{ from, to int }

// WriteProgress reports the records as their messages are written, ack_every at a time, in
// order, each record once; a record that is not sent (refused: too large) is never reported
// and splits the run it falls in.
func TestWriteProgressReportsAsItWrites(t *testing.T) {
	tests := []struct {
		name     string
		ackEvery int
		recs     int
		big      []int // indexes of records too large to send
		want     []span
	}{
		{"every 3 of 7", 3, 7, nil, []span{{0, 3}, {3, 6}, {6, 7}}},
		{"every 10 of 4: once", 10, 4, nil, []span{{0, 4}}},
		{"0: once per batch", 0, 5, nil, []span{{0, 5}}},
		{"a refused record splits a group", 3, 7, []int{1}, []span{{0, 1}, {2, 4}, {4, 7}}},
		{"the first and last refused", 2, 6, []int{0, 5}, []span{{1, 3}, {3, 5}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := newServer(t, false, 0)
			cfg := testConfig(srv.addr())
			cfg.Format = FormatJSON
			cfg.MaxMessageBytes = 1024
			cfg.AckEvery = tc.ackEvery
			d := newDest(t, cfg)
			recs := records(tc.recs, "p")
			for _, i := range tc.big {
				recs[i] = plugintest.NewRecord("big", map[string]any{"pad": strings.Repeat("y", 4000)})
			}
			var got []span
			err := d.WriteProgress(context.Background(), recs, func(from, to int) {
				// Every message of the records reported is written by now: the receiver gets
				// them (the connection is local) whatever happens to the process next.
				got = append(got, span{from, to})
			})
			if (err != nil) != (len(tc.big) > 0) {
				t.Fatalf("WriteProgress: %v", err)
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("reported %v; want %v", got, tc.want)
			}
			waitFor(t, func() bool { return len(srv.messages()) == tc.recs-len(tc.big) })
		})
	}
}

// A connection that breaks in the middle of a batch: the new connection sends only the
// messages not reported yet, and each record is reported once.
func TestWriteProgressResendsOnlyWhatWasNotReported(t *testing.T) {
	srv := newServer(t, false, 0)
	cfg := testConfig(srv.addr())
	cfg.Format = FormatJSON
	cfg.AckEvery = 4
	var dials atomic.Int32
	base := newDialer(cfg, nil)
	recs := records(20, "r")
	var framed atomic.Int64 // the size of one framed message (they are all of one size)
	d := newDest(t, cfg, withDialer(func(ctx context.Context) (net.Conn, error) {
		c, err := base(ctx)
		if err != nil || dials.Add(1) > 1 {
			return c, err
		}
		// Breaks in the middle of the third group of 4 messages.
		return &breakingConn{Conn: c, after: int(framed.Load()*10) + 5}, nil
	}))
	msg, err := d.Preview(recs[0])
	if err != nil {
		t.Fatal(err)
	}
	framed.Store(int64(len(d.frame(nil, []byte(msg)))))
	reported := make([]int, len(recs))
	err = d.WriteProgress(context.Background(), recs, func(from, to int) {
		for i := from; i < to; i++ {
			reported[i]++
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	for i, n := range reported {
		if n != 1 {
			t.Fatalf("record %d reported %d times; want once (all: %v)", i, n, reported)
		}
	}
	if dials.Load() != 2 {
		t.Fatalf("dialled %d times; want one reconnect", dials.Load())
	}
	want := append([]*event.Record(nil), recs...)
	waitFor(t, func() bool { return allArrived(t, srv, want) })
	// The first two groups (8 messages) were reported before the break: they are not sent
	// again. What the broken connection carried of the third group is.
	got := map[string]int{}
	for _, m := range srv.messages() {
		got[msgOf(t, m)]++
	}
	for i, r := range recs[:8] {
		if got[string(r.Raw)] != 1 {
			t.Errorf("record %d of a reported group arrived %d times; want once", i, got[string(r.Raw)])
		}
	}
}
