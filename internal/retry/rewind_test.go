package retry

import (
	"context"
	"testing"
	"time"

	"github.com/logshipper/logshipper/internal/event"
)

// A step acts on a Rewinder: "track" publishes a batch, "ack"/"nack" settle the batch tracked
// at index i, "rewound" is the read loop going back. After each step the test checks what the
// Rewinder says.
type step struct {
	do string
	i  int
	// What the Rewinder says afterwards.
	nacked      bool
	inFlight    int
	consecutive int
	// minWait and maxWait bound Nacked's wait while nacked.
	minWait, maxWait time.Duration
}

func TestRewinder(t *testing.T) {
	h := time.Hour
	tests := []struct {
		name  string
		steps []step
	}{
		{"ack only", []step{
			{do: "track", inFlight: 1},
			{do: "track", inFlight: 2},
			{do: "ack", i: 1, inFlight: 1},
			{do: "ack", i: 0},
		}},
		{"a nack waits the first delay", []step{
			{do: "track", inFlight: 1},
			{do: "track", inFlight: 2},
			{do: "nack", i: 0, nacked: true, inFlight: 1, consecutive: 1, minWait: 30 * time.Minute, maxWait: h},
			// A second nack of the same round does not push the rewind back.
			{do: "nack", i: 1, nacked: true, consecutive: 1, minWait: 29 * time.Minute, maxWait: h},
			{do: "rewound", consecutive: 1},
		}},
		{"nacks in a row grow the delay", []step{
			{do: "track", inFlight: 1},
			{do: "nack", i: 0, nacked: true, consecutive: 1, minWait: 30 * time.Minute, maxWait: h},
			{do: "rewound", consecutive: 1},
			{do: "track", inFlight: 1, consecutive: 1},
			{do: "nack", i: 1, nacked: true, consecutive: 2, minWait: h, maxWait: 2 * h},
			{do: "rewound", consecutive: 2},
			{do: "track", inFlight: 1, consecutive: 2},
			{do: "nack", i: 2, nacked: true, consecutive: 3, minWait: 2 * h, maxWait: 4 * h},
			{do: "rewound", consecutive: 3},
			{do: "track", inFlight: 1, consecutive: 3},
			{do: "nack", i: 3, nacked: true, consecutive: 4, minWait: 2 * h, maxWait: 4 * h}, // capped
		}},
		{"an ack before the nack resets the delay", []step{
			{do: "track", inFlight: 1},
			{do: "nack", i: 0, nacked: true, consecutive: 1, minWait: 30 * time.Minute, maxWait: h},
			{do: "rewound", consecutive: 1},
			{do: "track", inFlight: 1, consecutive: 1},
			{do: "track", inFlight: 2, consecutive: 1},
			{do: "ack", i: 1, inFlight: 1},
			{do: "nack", i: 2, nacked: true, consecutive: 1, minWait: 30 * time.Minute, maxWait: h},
		}},
		{"an ack after the nack does not reset it", []step{
			{do: "track", inFlight: 1},
			{do: "nack", i: 0, nacked: true, consecutive: 1, minWait: 30 * time.Minute, maxWait: h},
			{do: "rewound", consecutive: 1},
			{do: "track", inFlight: 1, consecutive: 1},
			{do: "track", inFlight: 2, consecutive: 1},
			{do: "nack", i: 1, nacked: true, inFlight: 1, consecutive: 2, minWait: h, maxWait: 2 * h},
			{do: "ack", i: 2, nacked: true, consecutive: 2, minWait: 59 * time.Minute, maxWait: 2 * h},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := NewRewinder(Backoff{Initial: h, Max: 4 * h})
			var acks []event.AckFunc
			for n, s := range tc.steps {
				switch s.do {
				case "track":
					acks = append(acks, r.Track(nil))
				case "ack":
					acks[s.i](event.Acked)
				case "nack":
					acks[s.i](event.Nacked)
				case "rewound":
					r.Rewound()
				}
				wait, nacked := r.Nacked()
				if nacked != s.nacked || r.InFlight() != s.inFlight || r.Consecutive() != s.consecutive {
					t.Fatalf("step %d (%s %d): nacked %v, in flight %d, consecutive %d; want %v, %d, %d",
						n, s.do, s.i, nacked, r.InFlight(), r.Consecutive(), s.nacked, s.inFlight, s.consecutive)
				}
				if nacked && (wait < s.minWait || wait > s.maxWait) {
					t.Fatalf("step %d (%s %d): wait %v, want within [%v, %v]", n, s.do, s.i, wait, s.minWait, s.maxWait)
				}
				if r.Ready() {
					t.Fatalf("step %d (%s %d): ready an hour before the rewind is due", n, s.do, s.i)
				}
			}
		})
	}
}

func TestRewinderTrackCallsAckFirst(t *testing.T) {
	r := NewRewinder(Backoff{})
	var inFlightDuringAck int
	ack := r.Track(func(event.Outcome) { inFlightDuringAck = r.InFlight() })
	ack(event.Acked)
	if inFlightDuringAck != 1 || r.InFlight() != 0 {
		t.Fatalf("in flight during the wrapped ack %d, after %d; want 1 then 0 (the position is saved before the batch counts as settled)",
			inFlightDuringAck, r.InFlight())
	}
}

func TestRewinderWaitsForTheBatchesInFlight(t *testing.T) {
	r := NewRewinder(Backoff{Initial: 20 * time.Millisecond, Max: 20 * time.Millisecond})
	first, second := r.Track(nil), r.Track(nil)
	first(event.Nacked)
	ready := make(chan bool, 1)
	go func() { ready <- r.Wait(context.Background()) }()
	// Well past the backoff, the rewind still waits for the second batch.
	select {
	case <-ready:
		t.Fatal("Wait returned while a batch was in flight")
	case <-time.After(100 * time.Millisecond):
	}
	if r.Ready() {
		t.Fatal("Ready while a batch is in flight")
	}
	second(event.Acked)
	select {
	case ok := <-ready:
		if !ok || !r.Ready() {
			t.Fatalf("Wait = %v, Ready = %v once every batch settled; want true, true", ok, r.Ready())
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Wait did not return within 5s of the last batch settling")
	}
	r.Rewound()
	if _, nacked := r.Nacked(); nacked || r.Ready() {
		t.Fatal("still nacked after Rewound")
	}
}

func TestRewinderWaitsForTheBackoff(t *testing.T) {
	r := NewRewinder(Backoff{Initial: 200 * time.Millisecond, Max: 200 * time.Millisecond})
	r.Track(nil)(event.Nacked)
	start := time.Now()
	if !r.Wait(context.Background()) {
		t.Fatal("Wait with a live context returned false")
	}
	if el := time.Since(start); el < 90*time.Millisecond {
		t.Fatalf("Wait returned after %v; the backoff is at least 100ms", el)
	}
}

func TestRewinderWaitAndSettleEndWithTheContext(t *testing.T) {
	r := NewRewinder(Backoff{Initial: time.Hour, Max: time.Hour})
	r.Track(nil) // in flight for good
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan bool, 2)
	go func() { done <- r.Wait(ctx) }()
	go func() { done <- r.Settle(ctx) }()
	cancel()
	for range 2 {
		select {
		case ok := <-done:
			if ok {
				t.Fatal("Wait or Settle cut short by its context returned true")
			}
		case <-time.After(5 * time.Second):
			t.Fatal("Wait or Settle did not return within 5s of its context's end")
		}
	}
}
