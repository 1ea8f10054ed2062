package awss3sqs

import (
	"context"
	"sync"

	"github.com/logshipper/logshipper/internal/event"
	"github.com/logshipper/logshipper/internal/plugin"
)

// tracker follows the batches published for one unit of work (an SQS message, a backfill
// file): once the unit is sealed (everything in it was published or given up) and every batch
// was acknowledged or nacked, it calls done once, with whether something failed.
type tracker struct {
	mu       sync.Mutex
	pending  int
	sealed   bool
	failed   bool // a batch was nacked, or the unit was sealed as failed
	leave    bool // sealed after a failure to read: the message is left to its visibility timeout
	finished bool
	done     func(failed, leave bool)
}

func newTracker(done func(failed, leave bool)) *tracker { return &tracker{done: done} }

// add counts one more batch in flight.
func (t *tracker) add() {
	t.mu.Lock()
	t.pending++
	t.mu.Unlock()
}

// ack is the AckFunc of the unit's batches.
func (t *tracker) ack(o event.Outcome) {
	t.mu.Lock()
	t.pending--
	if o != event.Acked {
		t.failed = true
	}
	t.finishLocked()
}

// seal says nothing more will be published for the unit; failed says some of it was not read
// (leave: because of an error reading it, rather than a stop).
func (t *tracker) seal(failed, leave bool) {
	t.mu.Lock()
	t.sealed = true
	t.failed = t.failed || failed
	t.leave = t.leave || leave
	t.finishLocked()
}

// finishLocked calls done when the unit is complete; it unlocks t.mu.
func (t *tracker) finishLocked() {
	if t.finished || !t.sealed || t.pending > 0 {
		t.mu.Unlock()
		return
	}
	t.finished = true
	failed, leave := t.failed, t.leave
	t.mu.Unlock()
	t.done(failed, leave)
}

// abandon marks the unit finished without calling done (the source is stopping and hands the
// unit back itself); it reports whether the unit was not finished yet. Later acks are ignored.
func (t *tracker) abandon() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.finished {
		return false
	}
	t.finished = true
	return true
}

// batcher gathers the records of one unit into batches of batch_size and publishes them, each
// counted by the unit's tracker.
type batcher struct {
	s    *Source
	pub  plugin.Publisher
	t    *tracker
	recs []*event.Record
}

func (b *batcher) add(ctx context.Context, r *event.Record) error {
	b.recs = append(b.recs, r)
	if len(b.recs) >= b.s.cfg.BatchSize {
		return b.flush(ctx)
	}
	return nil
}

// flush publishes what is gathered. An error is the end of ctx (the batch was nacked).
func (b *batcher) flush(ctx context.Context) error {
	if len(b.recs) == 0 {
		return nil
	}
	recs := b.recs
	b.recs = nil
	if err := b.s.waitEPS(ctx, len(recs)); err != nil {
		return err
	}
	b.t.add()
	return b.pub.Publish(ctx, recs, b.t.ack)
}
