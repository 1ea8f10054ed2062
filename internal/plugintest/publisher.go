package plugintest

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/logshipper/logshipper/internal/event"
	"github.com/logshipper/logshipper/internal/plugin"
)

// AckMode says how a Publisher acknowledges the batches it takes.
type AckMode int

const (
	// Manual leaves every batch to the test: Batch.Ack, Batch.Nack, Publisher.AckAll.
	Manual AckMode = iota
	// AckInPublish acknowledges each batch before Publish returns, as the engine does for a
	// batch no route takes.
	AckInPublish
	// AckAsync acknowledges each batch from another goroutine, soon after Publish returns, as
	// the engine does once the destinations delivered it.
	AckAsync
)

// Publisher is a fake plugin.Publisher: it records every batch a source publishes and lets the
// test choose when and how each is acknowledged (now, later and out of order, or nacked). It can
// also block Publish, as a full route does, to see how a source behaves under backpressure and
// when stopped while blocked. Like the engine, it acknowledges an empty batch at once whatever
// its mode, and when ctx ends before it took a batch it returns ctx.Err() and nacks the batch.
// Safe for concurrent use.
type Publisher struct {
	mu         sync.Mutex
	mode       AckMode
	changed    chan struct{} // closed and replaced on every change, to wake waiters
	batches    []*Batch
	blocked    bool
	unblock    chan struct{}
	waiting    int // Publish calls blocked right now
	abandoned  int // Publish calls that returned ctx.Err() without taking their batch
	closed     bool
	violations []string
}

var _ plugin.Publisher = (*Publisher)(nil)

// NewPublisher returns a publisher acknowledging batches as mode says.
func NewPublisher(mode AckMode) *Publisher {
	return &Publisher{mode: mode, changed: make(chan struct{}), unblock: make(chan struct{})}
}

// Batch is one Publish call the publisher took.
type Batch struct {
	// Seq numbers batches from 0 in the order Publish was called.
	Seq int
	// Records are the records as published (not copies).
	Records []*event.Record

	p       *Publisher
	ack     event.AckFunc
	raws    [][]byte // copies of Raw at Publish time
	mu      sync.Mutex
	outcome event.Outcome // 0 until acknowledged
	settled bool          // the source's acknowledgement callback has returned
}

// Publish implements plugin.Publisher. While the publisher is blocked it waits for Unblock or
// for ctx to end; if ctx ends first (or had ended), it returns ctx.Err() without taking the
// batch, and nacks it, as the engine does.
func (p *Publisher) Publish(ctx context.Context, recs []*event.Record, ack event.AckFunc) error {
	if err := p.take(ctx, recs, ack); err != nil {
		p.mu.Lock()
		p.abandoned++
		p.notifyLocked()
		p.mu.Unlock()
		if ack != nil {
			ack(event.Nacked)
		}
		return err
	}
	return nil
}

func (p *Publisher) take(ctx context.Context, recs []*event.Record, ack event.AckFunc) error {
	p.mu.Lock()
	if p.closed {
		p.violations = append(p.violations, fmt.Sprintf("Publish of %d records after the source's Run returned", len(recs)))
	}
	for p.blocked {
		ch := p.unblock
		p.waiting++
		p.notifyLocked()
		p.mu.Unlock()
		select {
		case <-ctx.Done():
			p.mu.Lock()
			p.waiting--
			p.notifyLocked()
			p.mu.Unlock()
			return ctx.Err()
		case <-ch:
		}
		p.mu.Lock()
		p.waiting--
	}
	if err := ctx.Err(); err != nil {
		p.mu.Unlock()
		return err
	}
	b := &Batch{Seq: len(p.batches), Records: recs, p: p, ack: ack}
	for _, r := range recs {
		if r == nil {
			p.violations = append(p.violations, fmt.Sprintf("batch %d holds a nil record", b.Seq))
			b.raws = append(b.raws, nil)
			continue
		}
		b.raws = append(b.raws, bytes.Clone(r.Raw))
	}
	p.batches = append(p.batches, b)
	p.notifyLocked()
	mode := p.mode
	p.mu.Unlock()
	switch {
	case len(recs) == 0 || mode == AckInPublish:
		b.Ack()
	case mode == AckAsync:
		go b.Ack()
	}
	return nil
}

// SetMode changes how the batches taken from now on are acknowledged (those taken before stay
// as they are): a test can nack a batch by hand, then let the batches that follow be
// acknowledged as a recovered engine would.
func (p *Publisher) SetMode(mode AckMode) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.mode = mode
}

// Abandoned returns how many Publish calls returned ctx.Err() without taking their batch.
func (p *Publisher) Abandoned() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.abandoned
}

func (p *Publisher) notifyLocked() {
	close(p.changed)
	p.changed = make(chan struct{})
}

// Block makes Publish wait (backpressure) until Unblock or until its ctx ends.
func (p *Publisher) Block() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.blocked = true
}

// Unblock lets blocked and later Publish calls through.
func (p *Publisher) Unblock() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.blocked {
		p.blocked = false
		close(p.unblock)
		p.unblock = make(chan struct{})
	}
}

// Blocked returns how many Publish calls are waiting right now.
func (p *Publisher) Blocked() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.waiting
}

// Close marks the end of the source's Run: a Publish after it is a contract violation.
func (p *Publisher) Close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
}

// Violations lists what the source did against the Publisher contract (a Publish after Run
// returned, a nil record).
func (p *Publisher) Violations() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.violations...)
}

// Batches returns the batches taken so far, in order.
func (p *Publisher) Batches() []*Batch {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]*Batch(nil), p.batches...)
}

// Records returns every record taken so far, in order.
func (p *Publisher) Records() []*event.Record {
	var out []*event.Record
	for _, b := range p.Batches() {
		out = append(out, b.Records...)
	}
	return out
}

// Keys returns key of every record taken so far, in order.
func (p *Publisher) Keys(key func(*event.Record) string) []string {
	var out []string
	for _, r := range p.Records() {
		out = append(out, key(r))
	}
	return out
}

// Raws returns the bytes of every record taken so far, in order.
func (p *Publisher) Raws() []string {
	return p.Keys(func(r *event.Record) string { return string(r.Raw) })
}

// AckAll acknowledges every batch not acknowledged yet, in order, and returns how many.
func (p *Publisher) AckAll() int {
	n := 0
	for _, b := range p.Batches() {
		if b.Ack() {
			n++
		}
	}
	return n
}

// Pending returns the batches not acknowledged yet, and those whose acknowledgement the source
// is still handling (its callback has not returned): once Pending is empty, the source has
// seen every outcome, so what it saves on them is saved.
func (p *Publisher) Pending() []*Batch {
	var out []*Batch
	for _, b := range p.Batches() {
		b.mu.Lock()
		settled := b.settled
		b.mu.Unlock()
		if !settled {
			out = append(out, b)
		}
	}
	return out
}

// WaitUntil waits until cond holds, re-checking it whenever the publisher changes, and fails the
// test with what after timeout (DefaultTimeout when 0).
func (p *Publisher) WaitUntil(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	if !p.Await(timeout, cond) {
		t.Fatalf("plugintest: timed out after %s waiting for %s", orDefault(timeout), what)
	}
}

// Await waits until cond holds, re-checking it whenever the publisher changes, and reports
// whether it held before timeout (DefaultTimeout when 0).
func (p *Publisher) Await(timeout time.Duration, cond func() bool) bool {
	timer := time.NewTimer(orDefault(timeout))
	defer timer.Stop()
	for {
		p.mu.Lock()
		ch := p.changed
		p.mu.Unlock()
		if cond() {
			return true
		}
		select {
		case <-ch:
		case <-timer.C:
			return cond()
		}
	}
}

// WaitRecords waits until at least n records were published in total.
func (p *Publisher) WaitRecords(t testing.TB, n int) {
	t.Helper()
	p.WaitUntil(t, 0, fmt.Sprintf("%d records to be published", n), func() bool { return len(p.Records()) >= n })
}

// WaitKeys waits until every key of want was published at least once (keys made by key), and
// fails the test with the missing ones after DefaultTimeout.
func (p *Publisher) WaitKeys(t testing.TB, key func(*event.Record) string, want []string) {
	t.Helper()
	if !p.Await(0, func() bool { return len(p.MissingKeys(key, want)) == 0 }) {
		missing := p.MissingKeys(key, want)
		t.Fatalf("plugintest: timed out after %s: %d of %d records were never published: %s",
			DefaultTimeout, len(missing), len(want), abbreviate(missing))
	}
}

// MissingKeys returns the keys of want that were not published.
func (p *Publisher) MissingKeys(key func(*event.Record) string, want []string) []string {
	got := map[string]bool{}
	for _, k := range p.Keys(key) {
		got[k] = true
	}
	var out []string
	for _, k := range want {
		if !got[k] {
			out = append(out, k)
		}
	}
	return out
}

// WaitBlocked waits until a Publish call is blocked.
func (p *Publisher) WaitBlocked(t testing.TB) {
	t.Helper()
	p.WaitUntil(t, 0, "a Publish call to block", func() bool { return p.Blocked() > 0 })
}

// Ack acknowledges the batch. It reports false, and does nothing, if the batch was already
// acknowledged or nacked.
func (b *Batch) Ack() bool { return b.finish(event.Acked) }

// Nack nacks the batch. It reports false, and does nothing, if the batch was already
// acknowledged or nacked.
func (b *Batch) Nack() bool { return b.finish(event.Nacked) }

func (b *Batch) finish(o event.Outcome) bool {
	b.mu.Lock()
	if b.outcome != 0 {
		b.mu.Unlock()
		return false
	}
	b.outcome = o
	b.mu.Unlock()
	if b.ack != nil {
		b.ack(o)
	}
	b.mu.Lock()
	b.settled = true
	b.mu.Unlock()
	b.p.mu.Lock()
	b.p.notifyLocked()
	b.p.mu.Unlock()
	return true
}

// Outcome returns what became of the batch: 0 while it is pending.
func (b *Batch) Outcome() event.Outcome {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.outcome
}

// Keys returns key of each record of the batch.
func (b *Batch) Keys(key func(*event.Record) string) []string {
	out := make([]string, len(b.Records))
	for i, r := range b.Records {
		out[i] = key(r)
	}
	return out
}

// Modified reports the records whose Raw changed since they were published (a source must not
// touch a record once it handed it over).
func (b *Batch) Modified() []int {
	var out []int
	for i, r := range b.Records {
		if r != nil && !bytes.Equal(r.Raw, b.raws[i]) {
			out = append(out, i)
		}
	}
	return out
}
