package netskope

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc64"
	"log/slog"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/logshipper/logshipper/internal/event"
	"github.com/logshipper/logshipper/internal/plugin"
	"github.com/logshipper/logshipper/internal/retry"
	"github.com/logshipper/logshipper/internal/state"
)

// The operations a partition uses; an epoch is its decimal seconds.
const (
	opNext   = "next"
	opResend = "resend"
)

func opEpoch(sec int64) string { return strconv.FormatInt(sec, 10) }

func isEpoch(op string) bool { return op != opNext && op != opResend }

// The states of a saved position (see the package documentation).
const (
	stateAcked   = "acked"
	statePending = "pending"
)

// position is what a partition saves.
type position struct {
	Index string `json:"index"`
	HWM   int64  `json:"hwm"`
	State string `json:"state"`
	Page  string `json:"page,omitempty"`
	Tail  string `json:"tail,omitempty"`
	// Part, Done and More are the progress within the page in flight, in a "pending"
	// position: the page's fingerprint, how many of its elements (from the first, in the
	// order served) are delivered, and the ranges [from, to) of elements delivered after
	// those (chunks acknowledged before an earlier one). A resend that answers the same page
	// skips them.
	// Part is the page's part fingerprint (partFingerprint; a whole page's fingerprint in
	// positions saved by earlier versions) and Sum the setSum of the elements delivered: a
	// page answered again is skipped where they were only when both match.
	Part string `json:"part,omitempty"`
	Done int    `json:"done,omitempty"`
	More spans  `json:"more,omitempty"`
	Sum  string `json:"sum,omitempty"`
	// Seek is, in a "pending" position saved before a seek (operation=<epoch>), the epoch
	// second asked for: a restart seeks there again (a seek is idempotent) rather than asking
	// for a page the server may never have served.
	Seek int64 `json:"seek,omitempty"`
}

func (p position) encode() []byte {
	b, _ := json.Marshal(p)
	return b
}

// malformedLimit is how many times running a complete answer that is not a data-export page is
// asked for again before it is dropped (kept in the dead-letter store) and the index moved on.
const malformedLimit = 3

// partition reads one endpoint through one index.
type partition struct {
	holdsPage bool // holds one of the Source's page tokens

	s     *Source
	ep    endpoint
	index string
	log   *slog.Logger
	store state.Store
	key   string
	pacer *pacer
	b     builder

	// rewind says when a nacked page is asked for again (with resend): after a backoff that
	// grows with each nack in a row.
	rewind *retry.Rewinder
	// pendingStored is set once "pending" is saved and cleared when an acknowledged page is
	// saved: a next or an epoch is asked for only while it is set. pendingSeek is the Seek of
	// the "pending" position saved: an epoch is asked for only while it is that epoch, and a
	// next only while it is 0.
	pendingStored atomic.Bool
	pendingSeek   atomic.Int64

	hwm      int64  // timestamp_hwm of the last page acknowledged (or the seek target)
	lastPage string // fingerprint of the last non-empty page acknowledged
	// lastTail identifies the last records delivered on the index (see tail.go);
	// legacyTail is a tail saved by an earlier version, until a page is acknowledged.
	lastTail   []uint64
	legacyTail legacyTail
	// skip is set when the index is seeded again at hwm: the page answered may start with
	// records of the tail, already delivered. Cleared once a page is acknowledged.
	skip   bool
	nextAt time.Time // wait_time: no request before

	// part is the part fingerprint of a page not wholly acknowledged, partDone those of its
	// elements that are, and partSum their setSum: delivered already, they are skipped when
	// the page is answered again and they match. Cleared once a page is acknowledged.
	part     string
	partDone spans
	partSum  uint64

	// reader reads the pages that stream (see stream.go), its buffer kept between them.
	reader pageReader

	// Backfill: stop once the index reaches stopAt (epoch seconds), calling onPage after each
	// acknowledged page. Zero for the live source.
	seedAt time.Time
	stopAt int64
	onPage func(records int, hwm int64, done bool)

	// lease is the partition's lease, told how far the partition has got (the saved
	// position's hwm) when the position is read and after each save; nil for a backfill.
	lease plugin.Lease
}

func cursorKey(ep endpoint) string { return "position/" + ep.String() }

func (s *Source) newPartition(ep endpoint, index string, store state.Store, bf *backfillRange) *partition {
	p := &partition{
		s:     s,
		ep:    ep,
		index: index,
		log:   s.logger(ep).With("index", index),
		store: store,
		key:   cursorKey(ep),
		pacer: s.pacers.get(s.client, ep, s.tune.perSecond, s.set.ShareOf(), s.logger(ep)),
		b: builder{
			ep:     ep,
			source: s.set.Name,
		},
	}
	p.b.repairs = plugin.NewRepairs(p.log, s.set.Metrics)
	if bf != nil {
		p.seedAt = bf.from
		p.stopAt = bf.to
		p.b.until = bf.to
		p.onPage = bf.onPage
	}
	p.rewind = retry.NewRewinder(s.retryBackoff())
	return p
}

// committed is called with every position a page's acknowledgements save.
func (p *partition) committed(pos position) {
	p.s.set.Metrics.Checkpoints.Inc()
	// A position within a page keeps the "pending" state.
	p.pendingStored.Store(pos.State == statePending)
	p.pendingSeek.Store(pos.Seek)
	p.reportProgress(pos.HWM)
}

// reportProgress tells the lease that the partition is delivered and saved up to hwm (epoch
// seconds; 0: not known).
func (p *partition) reportProgress(hwm int64) {
	if p.lease != nil && hwm > 0 {
		plugin.ReportProgress(p.lease, time.Unix(hwm, 0))
	}
}

// restore reads the saved position and returns the first operation (see the package doc).
func (p *partition) restore(ctx context.Context, start func() (time.Time, error)) (string, error) {
	saved, err := p.store.Get(ctx, p.key)
	if errors.Is(err, state.ErrNotFound) {
		saved, err = nil, nil
	}
	if err != nil {
		return "", plugin.Fatal(fmt.Errorf("netskope %s: reading the saved position: %w", p.ep, err))
	}
	seed := func(why string) (string, error) {
		t, err := start()
		if err != nil {
			return "", plugin.Fatal(fmt.Errorf("start: %w", err))
		}
		p.hwm = t.Unix()
		p.log.Info("seeding the index "+why, "start", t.UTC().Format(time.RFC3339))
		return opEpoch(p.hwm), nil
	}
	if saved == nil {
		// A renamed configuration lands here too (positions are kept per configuration name):
		// what was inserted while it was away, before start, is not read.
		return seed("(no saved position: a first start, or a renamed configuration; use 'logshipper backfill' for an earlier range)")
	}
	var pos position
	if err := json.Unmarshal(saved, &pos); err != nil || pos.Index == "" {
		// Starting afresh would skip everything since the position was saved: say so and stop.
		return "", plugin.Fatal(fmt.Errorf("netskope %s: the saved position %q is unreadable (%v): run 'logshipper backfill' for the gap after deleting the plugin's state, or restore data_dir from a backup", p.ep, saved, err))
	}
	p.hwm, p.lastPage = pos.HWM, pos.Page
	p.lastTail, p.legacyTail = decodeTail(pos.Tail)
	p.reportProgress(pos.HWM) // every state saves the hwm of the last page acknowledged
	if pos.Index != p.index {
		p.log.Info("the index name changed; seeding the new index at the saved position", "saved_index", pos.Index, "hwm", pos.HWM)
		p.skip = true
		return opEpoch(pos.HWM), nil
	}
	if pos.State == stateAcked {
		// Not next: the tenant may have forgotten the index while we were away, and next on an
		// unknown index starts at its tail. resend answers the page acknowledged (recognised,
		// then next), or an empty page (seed again at hwm).
		p.log.Debug("resuming after the last page acknowledged", "hwm", pos.HWM)
		return opResend, nil
	}
	p.pendingStored.Store(true)
	p.part, p.partDone = pos.Part, pos.delivered()
	if partLen(pos.Part) > 0 {
		sum, ok := decodeSum(pos.Sum)
		if !ok {
			p.partDone = nil // nothing is skipped on a doubt
		}
		p.partSum = sum
	}
	if pos.Seek > 0 {
		// The request pending was a seek: whether or not the server served it, the same seek
		// answers from the same place (resend would answer an empty page from an index the
		// server never made, and its wait_time would hold the restart back).
		p.pendingSeek.Store(pos.Seek)
		p.skip = true
		p.log.Info("the index was being seeded when the shipper stopped; seeding it again", "operation", opEpoch(pos.Seek), "hwm", pos.HWM)
		return opEpoch(pos.Seek), nil
	}
	p.log.Info("the last page served may not have been delivered; asking for it again", "operation", opResend, "hwm", pos.HWM,
		"acknowledged_of_page", p.partDone.count())
	return opResend, nil
}

// run is the partition's loop: at most one page between the server and its acknowledgement.
// It reads while lease (a context under ctx: the partition's lease) lasts, and waits for the
// outcome of its page in flight until ctx ends, so that once it returned with ctx alive,
// nothing it published is in flight. It returns nil when lease ended, an error wrapping
// plugin.ErrNotOwner when a state write was refused because another process wrote the
// position, or a fatal error.
func (p *partition) run(ctx, lease context.Context, pub plugin.Publisher) error {
	op, err := p.restore(lease, p.start)
	if err != nil {
		if lease.Err() != nil {
			return nil
		}
		return err
	}
	defer p.releasePage()
	for lease.Err() == nil {
		p.releasePage() // the last page is acknowledged (or given up): another may be read
		if isEpoch(op) {
			p.hwm, _ = strconv.ParseInt(op, 10, 64)
		}
		if op != opResend {
			var seek int64
			if isEpoch(op) {
				seek = p.hwm
			}
			if err := p.savePending(lease, seek); err != nil {
				return err // lease ended (nil) or ErrNotOwner
			}
		}
		asked := p.s.tune.now()
		var ps *pageStream
		var sink *pageSink
		if p.streams(op) {
			ps = &pageStream{p: p, lease: lease, pub: pub, tail: p.lastTail, out: newOutcomes()}
			sink = &pageSink{reader: &p.reader, n: p.s.tune.chunk, each: ps.each}
		}
		rep, used, err := p.fetch(lease, op, sink)
		if ps != nil && (ps.acks != nil || err == nil && rep.stream != nil) {
			next, stop, err := p.endStream(ctx, lease, ps, used, rep, err, asked)
			if stop {
				return err
			}
			op = next
			continue
		}
		if err != nil {
			if lease.Err() != nil {
				return nil
			}
			return err
		}
		if rep.poison != nil {
			// The tenant answers this operation with the same broken page every time: it is
			// kept in the dead-letter store, and the index goes on past it.
			// rep.cause names the tenant, the endpoint, the operation and what is broken.
			if !p.drop(lease, rep.poison, fmt.Errorf("given up after %d identical answers: %w", malformedLimit, rep.cause)) {
				return nil
			}
			op = opNext
			continue
		}
		if rep.size < p.s.tune.smallPage {
			p.releasePage()
		}
		a := rep.ans
		fp := fingerprint(a)
		part := ""
		var sums []uint64
		if len(a.elems) > 0 {
			// Of the bytes as received: building splices events in the body.
			part = partFingerprint(a.elems[:min(max(p.s.tune.chunk, 1), len(a.elems))])
			sums = elemSums(a.elems)
		}
		if used == opResend && samePage(a, p.lastPage) {
			// The server had not moved past the page already acknowledged.
			p.log.Debug("resend answered the page already delivered; going on", "records", len(a.elems))
			op = opNext
			continue
		}
		if used == opResend && len(a.elems) == 0 {
			// Either the page served was empty, or the server does not know the index (an
			// unknown index answers resend with an empty page, and its hwm must not be
			// believed): seek the saved mark again, which cannot skip a record.
			p.log.Info("resend answered an empty page; seeding the index again at the saved position", "hwm", p.hwm)
			op = opEpoch(p.hwm)
			p.skip = true
			continue
		}
		hwm := p.hwm
		if a.hasHWM && a.hwm > 0 {
			hwm = a.hwm
		}
		tail := p.lastTail
		skipped := 0 // elements at the start of the page delivered already
		if p.skip && used != opNext {
			n := skipDelivered(a.elems, tail)
			if n == 0 {
				if n = p.legacyTail.skip(a.elems); n > 0 {
					tail = extendTail(nil, a.elems[:n])
				}
			}
			if n > 0 {
				p.log.Debug("the page seeded at the saved position starts with records already delivered; skipping them", "records", n)
				skipped = n
			}
		}
		// The records after the tail skipped are the ones the tail goes on with, whether
		// delivered now or by an earlier attempt at this page.
		fresh := a.elems[skipped:]
		delivered := spans(nil).add(0, skipped)
		keep := fresh
		partial := used != opNext && p.isPartial(a, fp)
		if used != opNext && len(p.partDone) > 0 && !partial {
			p.log.Warn("the page answered is not the one partly acknowledged, or its records acknowledged differ; delivering it whole",
				"records", len(a.elems))
		}
		if partial {
			// The page partly acknowledged before: its elements delivered are left out.
			for _, r := range p.partDone {
				delivered = delivered.add(r[0], r[1])
			}
			keep = make([]elem, 0, len(fresh))
			for _, e := range fresh {
				if !p.partDone.has(e.pos) {
					keep = append(keep, e)
				}
			}
			p.log.Info("the page answered is the one partly acknowledged; skipping the records acknowledged",
				"records", len(fresh)-len(keep), "of", len(a.elems))
		}
		pageElems := len(a.elems)
		if fp != "" {
			// Before building: events are spliced in the body, and the tail is of the bytes
			// received.
			tail = extendTail(tail, fresh)
		}
		if len(keep) != len(a.elems) {
			a = &answer{elems: keep, hwm: a.hwm, hasHWM: a.hasHWM, waitTime: a.waitTime, body: a.body, spans: a.spans}
		}
		recs, at, invalid, later := p.b.buildAt(a)
		for _, e := range invalid {
			if !p.drop(lease, e.raw, fmt.Errorf("netskope tenant %s, endpoint %s: record %d of the page: %w", p.s.client.host, p.ep, e.pos+1, e.err)) {
				return nil
			}
		}
		p.log.Debug("page", "operation", used, "records", len(recs), "invalid", len(invalid),
			"hwm", hwm, "wait_time", a.waitTime, "bytes", rep.size)

		pos := position{Index: p.index, HWM: hwm, State: stateAcked, Page: p.lastPage, Tail: p.savedTail()}
		if fp != "" {
			pos.Page = fp
			pos.Tail = encodeTail(tail)
		}
		emptyPage := len(rep.ans.elems) == 0
		// While the page is in flight, its acknowledgements save the "pending" position with
		// the page's progress.
		inPage := position{Index: p.index, HWM: p.hwm, State: statePending, Page: p.lastPage, Tail: p.savedTail(), Part: part}
		cs := chunks(recs, at, p.s.tune.chunk, pageElems)
		acks := newPageAcks(p.store, p.key, inPage, delivered, sums, p.committed)
		for _, c := range cs {
			acks.add(c.from, c.to, nil)
		}
		acks.close(pos)
		// The page's body is held by its records alone while they are delivered (events are
		// spliced in it, alerts are slices of it): once the last is acknowledged and dropped,
		// the collector may have it.
		rep, a, fresh, keep = nil, nil, nil, nil
		outcome, ok := p.publish(ctx, lease, pub, cs, acks)
		done, sum, err := acks.finish()
		if part != "" {
			// Delivered so far, whatever the other chunks' outcome: the page answered again
			// (after a nack) goes on from there.
			p.part, p.partDone, p.partSum = part, done, sum
		}
		if !ok {
			return nil // the page was not taken, or ctx ended: it is read again after a restart
		}
		if errors.Is(err, plugin.ErrNotOwner) {
			// Another process owns the partition and saved its position: it reads on from there.
			return fmt.Errorf("netskope tenant %s, endpoint %s: saving the position: %w", p.s.client.host, p.ep, err)
		} else if err != nil {
			// The saved position stays where it was ("pending"): a restart resends, nothing is
			// lost.
			p.s.set.Metrics.Errors.Inc()
			p.log.Error("saving the position failed; a restart will ask for this page again", "error", err)
		}
		if outcome != event.Acked {
			// The page is the only one in flight: the rewind is due after its backoff.
			d, _ := p.rewind.Nacked()
			p.s.set.Metrics.Retries.Inc()
			p.log.Warn("the page was not delivered; asking for it again", "operation", opResend, "records", len(recs),
				"acknowledged_of_page", p.partDone.count(), "retry_in", d.Round(time.Millisecond), "consecutive", p.rewind.Consecutive())
			if !p.rewind.Wait(lease) {
				return nil
			}
			p.rewind.Rewound()
			op = opResend
			continue
		}
		p.hwm = hwm
		p.skip = false
		p.part, p.partDone, p.partSum = "", nil, 0
		if fp != "" {
			p.lastPage, p.lastTail, p.legacyTail = fp, tail, legacyTail{}
		}
		op = opNext
		if p.stopAt > 0 {
			done := later > 0 || hwm >= p.stopAt || emptyPage && asked.Unix() >= p.stopAt
			if p.onPage != nil {
				p.onPage(len(recs), hwm, done)
			}
			if done {
				return nil
			}
		}
		p.releasePage()
		if !retry.Sleep(lease, time.Until(p.nextAt)) {
			return nil
		}
	}
	return nil
}

// takePage waits for a page token (see Config.PagesInFlight), unless the partition holds one.
func (p *partition) takePage(ctx context.Context) error {
	if p.holdsPage {
		return nil
	}
	select {
	case p.s.pages <- struct{}{}:
		p.holdsPage = true
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// releasePage gives the partition's page token back, if it holds one.
func (p *partition) releasePage() {
	if p.holdsPage {
		p.holdsPage = false
		<-p.s.pages
	}
}

// start is where a new index starts.
func (p *partition) start() (time.Time, error) {
	if !p.seedAt.IsZero() {
		return p.seedAt, nil
	}
	return parseStart(p.s.cfg.Start, p.s.tune.now())
}

// savePending saves the "pending" state before a request that moves the index (a seek to the
// epoch second seek, or next when seek is 0), retrying a failing store with backoff: no such
// request is made while it is not saved. It returns nil once saved or when ctx ended, and the
// error of a write refused because another process wrote the position (plugin.ErrNotOwner),
// which is not retried.
func (p *partition) savePending(ctx context.Context, seek int64) error {
	if p.pendingStored.Load() && p.pendingSeek.Load() == seek {
		return nil
	}
	pos := position{Index: p.index, HWM: p.hwm, State: statePending, Page: p.lastPage, Tail: p.savedTail(), Seek: seek}
	if seek > 0 {
		// The seek may answer the page partly acknowledged (resend answered an empty page):
		// its progress is kept.
		pos.Part = p.part
		pos.Done, pos.More = p.partDone.prefix()
		pos.Sum = encodeSum(p.partSum, len(p.partDone) > 0 && partLen(p.part) > 0)
	}
	for attempt := 1; ; attempt++ {
		err := p.store.Put(ctx, p.key, pos.encode())
		if err == nil {
			p.pendingStored.Store(true)
			p.pendingSeek.Store(seek)
			return nil
		}
		if errors.Is(err, plugin.ErrNotOwner) {
			return fmt.Errorf("netskope tenant %s, endpoint %s: saving the position: %w", p.s.client.host, p.ep, err)
		}
		if ctx.Err() != nil {
			return nil
		}
		d := p.s.backoff(attempt)
		p.s.set.Metrics.Errors.Inc()
		p.log.Error("cannot save the position; not reading until it can be saved", "error", err, "retry_in", d.Round(time.Millisecond))
		if !retry.Sleep(ctx, d) {
			return nil
		}
	}
}

// chunk is a part of a page published as one batch, and the elements of the page it
// delivers, [from, to): its records' and the invalid or delivered ones between them.
type chunk struct {
	recs     []*event.Record
	from, to int
}

// chunks splits a page's records (at: the place of each in the page, of n elements) into
// batches of size records. A page of no records is one empty chunk.
func chunks(recs []*event.Record, at []int, size, n int) []chunk {
	if size <= 0 {
		size = max(len(recs), 1)
	}
	out := make([]chunk, 0, (len(recs)+size-1)/size+1)
	from := 0
	for lo := 0; ; lo += size {
		hi := min(lo+size, len(recs))
		c := chunk{recs: recs[lo:hi:hi], from: from, to: n}
		if hi < len(recs) {
			c.to = at[hi-1] + 1
		}
		out = append(out, c)
		if hi == len(recs) {
			return out
		}
		from = c.to
	}
}

// publish hands the chunks of a page on under lease, in order, each tracked by acks and the
// rewinder, and waits for the outcome of every chunk handed on until ctx ends: a chunk taken
// is waited for also when the lease ended meanwhile. It returns the page's outcome (Acked when
// every chunk was), and ok false when the lease ended before every chunk was taken (they are
// nacked then), or ctx ended first.
func (p *partition) publish(ctx, lease context.Context, pub plugin.Publisher, cs []chunk, acks *pageAcks) (outcome event.Outcome, ok bool) {
	done := make(chan event.Outcome, len(cs))
	taken := 0
	ok = true
	for i, c := range cs {
		ack := p.rewind.Track(acks.track(i))
		err := pub.Publish(lease, c.recs, func(o event.Outcome) {
			ack(o)
			done <- o
		})
		taken++
		if err != nil {
			if lease.Err() != nil {
				ok = false
				break
			}
			// Publish fails only when its ctx ends; anything else is taken as a nack.
			p.log.Warn("publishing a part of the page failed", "error", err, "records", len(c.recs))
		}
	}
	outcome = event.Acked
	for range taken {
		select {
		case o := <-done:
			if o != event.Acked {
				outcome = o
			}
		case <-ctx.Done():
			return 0, false
		}
	}
	return outcome, ok
}

// drop hands input that is not a record to the dead-letter store, retrying (with backoff)
// while the store fails: the page is not acknowledged before its input is kept. It returns
// false when ctx ended.
func (p *partition) drop(ctx context.Context, raw []byte, cause error) bool {
	d := p.s.set.Dropper
	if d == nil {
		p.s.set.Metrics.Dropped(string(plugin.ReasonInvalid), 1)
		p.log.Warn("record dropped", "reason", plugin.ReasonInvalid, "error", cause, "bytes", len(raw))
		return true
	}
	for attempt := 1; ; attempt++ {
		err := d.Drop(ctx, raw, plugin.ReasonInvalid, cause)
		if err == nil {
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		w := p.s.backoff(attempt)
		p.log.Error("cannot keep an invalid record; retrying before the page is acknowledged", "error", err, "retry_in", w.Round(time.Millisecond))
		if !retry.Sleep(ctx, w) {
			return false
		}
	}
}

// fetched is a page, or an answer given up on (poison) and why (cause).
type fetched struct {
	ans    *answer
	size   int
	stream *streamed // the page was read as it streamed (see pageSink)
	poison []byte
	cause  error
}

// fetch makes a request until it gets a page, retrying as the failure calls for (see the
// package documentation). It returns the operation that got the page (a next may have become
// a resend), a fatal error for 401/403, or ctx's error.
//
// With sink, a next or an epoch is read as it streams (the chunks go to the sink as they are
// read); a failure once a chunk went to it is returned as it is (the page is half handed on:
// the caller waits for its outcome and asks for it again), and after a failure before that,
// fetch reads the answers whole.
func (p *partition) fetch(ctx context.Context, op string, sink *pageSink) (*fetched, string, error) {
	attempt, malformed := 0, 0
	var lastBroken uint64 // CRC-64 of the last broken answer: only the same bytes count
	for {
		if !retry.Sleep(ctx, time.Until(p.nextAt)) {
			return nil, op, ctx.Err()
		}
		if err := p.pacer.wait(ctx); err != nil {
			return nil, op, err
		}
		if err := p.takePage(ctx); err != nil {
			return nil, op, err
		}
		var streamTo *pageSink
		if sink != nil && op != opResend {
			streamTo = sink
		}
		rep, li, err := p.s.client.get(ctx, p.ep, p.index, op, &p.b, streamTo)
		if err != nil && sink != nil && sink.chunks > 0 {
			return nil, op, err
		}
		if err != nil {
			p.releasePage() // nothing is held while waiting to retry
		}
		now := time.Now()
		if li.exhausted {
			p.pacer.hold(now.Add(max(li.reset, 250*time.Millisecond)))
		}
		if err == nil {
			wait := p.s.tune.maxWait + 1
			if rep.ans.waitTime < p.s.tune.maxWait.Seconds() { // compared as seconds: no overflow
				wait = time.Duration(rep.ans.waitTime * float64(time.Second))
			}
			if wait > p.s.tune.maxWait {
				if p.s.tune.maxWait == maxWaitTime {
					p.log.Warn("wait_time is unusually long; waiting less", "wait_time", rep.ans.waitTime, "waiting", maxWaitTime)
				}
				wait = p.s.tune.maxWait
			}
			p.nextAt = now.Add(max(wait, 0))
			return &fetched{ans: rep.ans, size: rep.size, stream: rep.stream}, op, nil
		}
		if ctx.Err() != nil {
			return nil, op, ctx.Err()
		}
		var re *reqError
		if !errors.As(err, &re) {
			re = &reqError{class: classUnknown, tenant: p.s.client.host, ep: p.ep, op: op, err: err}
		}
		if re.streamed {
			sink = nil // the answer is read whole from now on
		}
		p.s.set.Metrics.Errors.Inc()
		var wait time.Duration
		switch re.class {
		case classFatal:
			p.log.Error("stopping: the tenant refused the request", "operation", op, "status", re.status, "error", re.err)
			return nil, op, plugin.Fatal(re)
		case classThrottled:
			malformed = 0
			wait = re.retryAfter
			p.pacer.hold(now.Add(wait))
			p.log.Warn("rate-limited; waiting as asked", "operation", op, "retry_after", wait)
		case classMalformed:
			// Only a JSON answer that comes back byte for byte is given up on; an HTML page
			// (a proxy's, during an outage) or a different broken body is asked for again.
			if sum := crc64.Checksum(re.body, crcTable); looksLikeJSON(re.body) && (malformed == 0 || sum == lastBroken) {
				malformed++
				lastBroken = sum
			} else {
				malformed = 0
			}
			if malformed >= malformedLimit {
				p.log.Error("the same broken answer came back; dropping it and going on", "operation", op, "error", re.err, "bytes", len(re.body))
				return &fetched{poison: re.body, cause: re}, op, nil
			}
			fallthrough
		default:
			if re.class != classMalformed {
				malformed = 0
			}
			attempt++
			wait = p.s.backoff(attempt)
			next := op
			if re.class != classNotServed && op == opNext {
				next = opResend // the server may have served the page
			}
			p.log.Warn("request failed; retrying", "operation", op, "retry_operation", next, "status", re.status,
				"attempt", attempt, "retry_in", wait.Round(time.Millisecond), "error", re.err)
			op = next
		}
		p.s.set.Metrics.Retries.Inc()
		if !retry.Sleep(ctx, wait) {
			return nil, op, ctx.Err()
		}
	}
}

// savedTail is the tail as saved in a position.
func (p *partition) savedTail() string {
	if p.lastTail == nil {
		return p.legacyTail.String()
	}
	return encodeTail(p.lastTail)
}

// looksLikeJSON reports whether a body starts as a JSON object would.
func looksLikeJSON(b []byte) bool {
	b = trimSpace(b)
	return len(b) > 0 && b[0] == '{'
}
