package event

import "sync/atomic"

// Outcome is what became of a batch once every route that took it is done.
type Outcome int

const (
	// Acked means every record was delivered, dead-lettered or dropped on purpose: the source may
	// move its checkpoint past the batch.
	Acked Outcome = iota + 1
	// Nacked means at least one record was not delivered (the engine is stopping, or a destination
	// failed for good): the source must not move its checkpoint past the batch.
	Nacked
)

func (o Outcome) String() string {
	switch o {
	case Acked:
		return "acked"
	case Nacked:
		return "nacked"
	default:
		return "unknown"
	}
}

// AckFunc receives the outcome of a batch. It is called exactly once.
type AckFunc func(Outcome)

// Tracker counts the pieces of work a batch was split into (one per record per route) and calls
// the batch's AckFunc when the last one is done. The worst outcome wins.
type Tracker struct {
	pending atomic.Int64
	failed  atomic.Bool
	ack     AckFunc
}

// NewTracker returns a tracker holding one guard piece, released by Release once every piece
// has been added. ack may be nil.
func NewTracker(ack AckFunc) *Tracker {
	t := &Tracker{ack: ack}
	t.pending.Store(1)
	return t
}

// Add announces n more pieces of work.
func (t *Tracker) Add(n int) { t.pending.Add(int64(n)) }

// Done finishes n pieces with outcome o. Finishing no pieces does nothing.
func (t *Tracker) Done(n int, o Outcome) {
	if n == 0 {
		return
	}
	if o != Acked {
		t.failed.Store(true)
	}
	if left := t.pending.Add(-int64(n)); left == 0 {
		if t.ack != nil {
			if t.failed.Load() {
				t.ack(Nacked)
			} else {
				t.ack(Acked)
			}
		}
	} else if left < 0 {
		panic("event: tracker finished more pieces than it was given")
	}
}

// Release drops the guard piece taken by NewTracker.
func (t *Tracker) Release() { t.Done(1, Acked) }
