package netskope

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/logshipper/logshipper/internal/event"
	"github.com/logshipper/logshipper/internal/plugin"
	"github.com/logshipper/logshipper/internal/retry"
)

// This file is the partition's side of a page read as it streams (see stream.go): each chunk
// built and published as it is read, and the page's end.

// streams reports whether the answer to op is read as it streams: a next, or a seek that
// skips nothing (the records a seek at the saved hwm answers first may have been delivered,
// and a page partly acknowledged is recognised on its whole answer).
func (p *partition) streams(op string) bool {
	return op != opResend && !p.skip && p.part == "" && len(p.partDone) == 0
}

// isPartial reports whether a, answered again, is the page partly acknowledged (p.part), so
// that its elements delivered (p.partDone) are skipped: its first elements match the part
// fingerprint and the elements delivered their sum, byte for byte, in the same places. A part
// saved by an earlier version is the page's fingerprint (fp).
func (p *partition) isPartial(a *answer, fp string) bool {
	if p.part == "" || len(p.partDone) == 0 {
		return false
	}
	n := partLen(p.part)
	if n < 0 {
		return fp != "" && fp == p.part
	}
	if len(a.elems) < n || partFingerprint(a.elems[:n]) != p.part {
		return false
	}
	sum, ok := setSum(a, p.partDone)
	return ok && sum == p.partSum
}

// pageStream is a page being read as it streams: its chunks handed on, and their progress.
type pageStream struct {
	p     *partition
	lease context.Context
	pub   plugin.Publisher
	out   *outcomes

	acks    *pageAcks // made with the first chunk
	part    string    // the page's part fingerprint
	tail    []uint64  // the tail, extended by each chunk's elements
	records int
	later   int // records at or after the backfill's end, left out
}

// each builds the chunk c's records, keeps its invalid elements in the dead-letter store and
// publishes the records, tracked by the page's acknowledgements. It returns an error when the
// lease ended.
func (ps *pageStream) each(c *streamChunk) error {
	p := ps.p
	if ps.acks == nil {
		if len(c.a.elems) > 0 {
			ps.part = partFingerprint(c.a.elems)
		}
		inPage := position{Index: p.index, HWM: p.hwm, State: statePending, Page: p.lastPage, Tail: p.savedTail(), Part: ps.part}
		ps.acks = newPageAcks(p.store, p.key, inPage, nil, nil, p.committed)
	}
	// Of the bytes as received: building splices events in them.
	ps.tail = extendTail(ps.tail, c.a.elems)
	recs, _, invalid, later := p.b.buildAt(c.a)
	for _, e := range invalid {
		if !p.drop(ps.lease, e.raw, fmt.Errorf("netskope tenant %s, endpoint %s: record %d of the page: %w", p.s.client.host, p.ep, e.pos+1, e.err)) {
			return ps.lease.Err()
		}
	}
	ps.records += len(recs)
	ps.later += later
	if w := p.s.tune.window; w > 0 && !ps.out.below(ps.lease, w) {
		return ps.lease.Err()
	}
	ack := p.rewind.Track(ps.acks.track(ps.acks.add(c.from, c.to, c.sums)))
	ps.out.add()
	err := ps.pub.Publish(ps.lease, recs, func(o event.Outcome) {
		ack(o)
		ps.out.done(o)
	})
	if err != nil {
		if ps.lease.Err() != nil {
			return err
		}
		// Publish fails only when its ctx ends; anything else is taken as a nack.
		p.log.Warn("publishing a part of the page failed", "error", err, "records", len(recs))
	}
	return nil
}

// endStream ends a page read as it streams once fetch returned (used, rep and err are its
// result):
// it gives the page's acknowledged position when the page was read to its end, waits for the
// outcome of every chunk handed on until ctx ends, and returns the next operation, or stop
// (with the error run returns) as run's own page handling does.
func (p *partition) endStream(ctx, lease context.Context, ps *pageStream, used string, rep *fetched, err error, asked time.Time) (next string, stop bool, _ error) {
	complete := err == nil && rep.stream != nil
	if complete && rep.size < p.s.tune.smallPage {
		p.releasePage() // as for a small page read whole (see tuning.smallPage)
	}
	var hwm int64
	var fp string
	if complete {
		if ps.acks == nil {
			// An empty page: one empty batch saves its position as any page's last chunk.
			if err := ps.each(&streamChunk{a: &answer{}}); err != nil {
				complete = false
			}
		}
		hwm = p.hwm
		if env := rep.stream.env; env.hasHWM && env.hwm > 0 {
			hwm = env.hwm
		}
		fp = rep.stream.fingerprint()
		pos := position{Index: p.index, HWM: hwm, State: stateAcked, Page: p.lastPage, Tail: p.savedTail()}
		if fp != "" {
			pos.Page, pos.Tail = fp, encodeTail(ps.tail)
		}
		if ps.acks != nil {
			ps.acks.close(pos)
		}
	}
	if ps.acks == nil {
		return "", true, nil // the lease ended before the empty page's batch was taken
	}
	outcome, ok := ps.out.wait(ctx)
	done, sum, serr := ps.acks.finish()
	if ps.part != "" {
		// Delivered so far, whatever the other chunks' outcome: the page answered again goes
		// on from there.
		p.part, p.partDone, p.partSum = ps.part, done, sum
	}
	if !ok || !complete && lease.Err() != nil {
		return "", true, nil // read again after a restart, from its progress saved
	}
	if errors.Is(serr, plugin.ErrNotOwner) {
		return "", true, fmt.Errorf("netskope tenant %s, endpoint %s: saving the position: %w", p.s.client.host, p.ep, serr)
	} else if serr != nil {
		p.s.set.Metrics.Errors.Inc()
		p.log.Error("saving the position failed; a restart will ask for this page again", "error", serr)
	}
	if !complete {
		// The server served the page (a next moved the index): resend answers it again.
		d := p.s.backoff(1)
		p.s.set.Metrics.Retries.Inc()
		p.log.Warn("reading the page failed after a part of it was handed on; asking for it again", "operation", opResend,
			"acknowledged_of_page", done.count(), "retry_in", d.Round(time.Millisecond), "error", err)
		if !retry.Sleep(lease, d) {
			return "", true, nil
		}
		return opResend, false, nil
	}
	if outcome != event.Acked {
		d, _ := p.rewind.Nacked()
		p.s.set.Metrics.Retries.Inc()
		p.log.Warn("the page was not delivered; asking for it again", "operation", opResend, "records", ps.records,
			"acknowledged_of_page", p.partDone.count(), "retry_in", d.Round(time.Millisecond), "consecutive", p.rewind.Consecutive())
		if !p.rewind.Wait(lease) {
			return "", true, nil
		}
		p.rewind.Rewound()
		return opResend, false, nil
	}
	p.log.Debug("page", "operation", used, "records", ps.records, "hwm", hwm, "wait_time", rep.stream.env.waitTime, "bytes", rep.size, "streamed", true)
	p.hwm = hwm
	p.skip = false
	p.part, p.partDone, p.partSum = "", nil, 0
	if fp != "" {
		p.lastPage, p.lastTail, p.legacyTail = fp, ps.tail, legacyTail{}
	}
	if p.stopAt > 0 {
		done := ps.later > 0 || hwm >= p.stopAt || rep.stream.elems == 0 && asked.Unix() >= p.stopAt
		if p.onPage != nil {
			p.onPage(ps.records, hwm, done)
		}
		if done {
			return "", true, nil
		}
	}
	p.releasePage()
	if !retry.Sleep(lease, time.Until(p.nextAt)) {
		return "", true, nil
	}
	return opNext, false, nil
}

// outcomes gathers the outcomes of a page's batches as they come.
type outcomes struct {
	mu      sync.Mutex
	left    int
	worst   event.Outcome
	changed chan struct{}
}

func newOutcomes() *outcomes {
	return &outcomes{worst: event.Acked, changed: make(chan struct{}, 1)}
}

// add counts a batch handed on.
func (o *outcomes) add() {
	o.mu.Lock()
	o.left++
	o.mu.Unlock()
}

// done counts a batch's outcome.
func (o *outcomes) done(x event.Outcome) {
	o.mu.Lock()
	o.left--
	if x != event.Acked {
		o.worst = x
	}
	o.mu.Unlock()
	select {
	case o.changed <- struct{}{}:
	default:
	}
}

// below waits until fewer than n batches added wait for their outcome; false when ctx ended
// first.
func (o *outcomes) below(ctx context.Context, n int) bool {
	for {
		o.mu.Lock()
		left := o.left
		o.mu.Unlock()
		if left < n {
			return true
		}
		select {
		case <-o.changed:
		case <-ctx.Done():
			return false
		}
	}
}

// wait waits until every batch added has its outcome, and returns Acked when each was
// acknowledged; ok is false when ctx ended first.
func (o *outcomes) wait(ctx context.Context) (outcome event.Outcome, ok bool) {
	for {
		o.mu.Lock()
		left, worst := o.left, o.worst
		o.mu.Unlock()
		if left == 0 {
			return worst, true
		}
		select {
		case <-o.changed:
		case <-ctx.Done():
			return 0, false
		}
	}
}
