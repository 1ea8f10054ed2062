package retry

import (
	"context"
	"sync"
	"time"

	"github.com/logshipper/logshipper/internal/event"
)

// Rewinder tells a source when to read a nacked batch again in the same run. A source keeps
// one per partition (one cursor of positions): the ack function of every batch it publishes
// goes through Track, and its read loop asks Nacked or Ready, rewinds to the position last
// saved (a cursor never saves past a nack) and calls Rewound.
//
// A nack makes a rewind due after a backoff: the first nack after a rewind waits
// Backoff.Delay(n, 0), where n counts the rounds in a row (from one rewind to the next) whose
// first outcome was a nack, so a destination that nacks everything is not asked again and
// again at once; a round whose first outcome is an acknowledgement resets n. Acknowledgements
// that come after a round's nack do not: they may be batches published before it.
// A rewind is ready once it is due and no tracked batch is in flight, so that the outcomes of
// the batches published before it are known (and saved by the cursor) when the loop reads
// the saved position. Safe for concurrent use.
type Rewinder struct {
	backoff Backoff

	mu       sync.Mutex
	changed  chan struct{} // closed and replaced when a batch settles
	inFlight int           // tracked batches whose outcome is not known yet
	nacked   bool          // a batch was nacked since the last rewind
	due      time.Time     // when the rewind is due, while nacked
	nacks    int           // rewinds in a row with no acknowledgement before their nack
}

// NewRewinder returns a Rewinder waiting b between a nack and the rewind it calls for.
func NewRewinder(b Backoff) *Rewinder {
	return &Rewinder{backoff: b, changed: make(chan struct{})}
}

// Track counts a batch as in flight and returns the function that acknowledges it: it calls
// ack (when not nil; a cursor's, so the position is saved first) and then records the outcome.
func (r *Rewinder) Track(ack event.AckFunc) event.AckFunc {
	r.mu.Lock()
	r.inFlight++
	r.mu.Unlock()
	return func(o event.Outcome) {
		if ack != nil {
			ack(o)
		}
		r.settle(o)
	}
}

func (r *Rewinder) settle(o event.Outcome) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.inFlight--
	switch {
	case o != event.Acked && !r.nacked:
		r.nacked = true
		r.due = time.Now().Add(r.backoff.Delay(r.nacks, 0))
		r.nacks++
	case o == event.Acked && !r.nacked:
		r.nacks = 0
	}
	close(r.changed)
	r.changed = make(chan struct{})
}

// Nacked reports whether a batch tracked since the last rewind was nacked, and how long until
// the rewind is due (0 once it is).
func (r *Rewinder) Nacked() (wait time.Duration, nacked bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.nacked {
		return 0, false
	}
	return max(time.Until(r.due), 0), true
}

// Consecutive returns how many nacks in a row called for a rewind with no acknowledgement
// before them: 1 after a first nack, more while the batches read again are nacked too.
func (r *Rewinder) Consecutive() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.nacks
}

// InFlight returns how many tracked batches are not acknowledged or nacked yet.
func (r *Rewinder) InFlight() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.inFlight
}

// Ready reports whether the read loop should rewind now: a batch was nacked, its backoff
// passed and no tracked batch is in flight.
func (r *Rewinder) Ready() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.nacked && r.inFlight == 0 && !time.Now().Before(r.due)
}

// Wait waits until Ready holds; it returns false when ctx ended first.
func (r *Rewinder) Wait(ctx context.Context) bool {
	return r.await(ctx, func() (bool, time.Duration) {
		if !r.nacked || r.inFlight > 0 {
			return false, 0
		}
		wait := time.Until(r.due)
		return wait <= 0, wait
	})
}

// Settle waits until no tracked batch is in flight; it returns false when ctx ended first.
func (r *Rewinder) Settle(ctx context.Context) bool {
	return r.await(ctx, func() (bool, time.Duration) { return r.inFlight == 0, 0 })
}

// await waits until cond, evaluated under the lock, holds. cond also returns how long until it
// may hold with nothing else changing (0: only a change can make it hold).
func (r *Rewinder) await(ctx context.Context, cond func() (bool, time.Duration)) bool {
	for {
		r.mu.Lock()
		ok, wait := cond()
		ch := r.changed
		r.mu.Unlock()
		if ok {
			return true
		}
		if !sleepUntilChange(ctx, ch, wait) {
			return false
		}
	}
}

// sleepUntilChange waits for ch to close, for wait (when positive), or for ctx to end; it
// returns false only for ctx.
func sleepUntilChange(ctx context.Context, ch <-chan struct{}, wait time.Duration) bool {
	var timeout <-chan time.Time
	if wait > 0 {
		t := time.NewTimer(wait)
		defer t.Stop()
		timeout = t.C
	}
	select {
	case <-ch:
	case <-timeout:
	case <-ctx.Done():
		return false
	}
	return true
}

// Rewound records that the read loop went back to the saved position: the nack is dealt with,
// and the next one waits a backoff again (a longer one unless an acknowledgement came first).
func (r *Rewinder) Rewound() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.nacked = false
	r.due = time.Time{}
}
