package cloudwatch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/logshipper/logshipper/internal/event"
	"github.com/logshipper/logshipper/internal/jsonx"
	"github.com/logshipper/logshipper/internal/plugin"
	"github.com/logshipper/logshipper/internal/retry"
	"github.com/logshipper/logshipper/internal/state"
)

// The near-real-time pass (live_lag) reads, every live_poll_interval, the event time
// [now − depth, now − live_lag] of each partition, and publishes the events no earlier read
// returned. depth (Config.liveDepth) is live_recent at every read and doubles at every second,
// fourth, eighth... read, up to the whole live_window: a time is read again at most
// 2 × a × live_poll_interval / live_recent after its previous read, a its age then, so an
// event waits after its ingestion a share of its delay, and each time is read about 14 times
// at the defaults rather than live_window / live_poll_interval (36), each read one range. The
// windows at lag (the sweep, scan) read the same time again once it is
// complete and publish only what the pass did not. Neither holds the ids of everything read:
// FilterLogEvents returns an event to every read that starts after its ingestionTime (plus
// live_margin, CloudWatch Logs' read consistency), so a read of a time already read at server
// time At publishes an event only when its ingestionTime is later than At − live_margin and its
// id is not among the ids kept — those of the events published with an ingestionTime later
// than the At − live_margin of the last read over their time. The pass saves, under its own
// key, the spans of event time it read, each with the time it was last read, and those ids;
// the sweep filters with what the pass saved (what was delivered), never with reads in flight.

// liveRead is a span [From, To] (ms, inclusive) of event time last read by the near-real-time
// pass at server time At (ms; at or before the server answered the read's first request).
type liveRead struct{ From, To, At int64 }

// liveState is what the near-real-time pass saved: the spans it read (sorted, disjoint) and
// the ids it published that a later read of their time may return without their being
// older than that read (id → [timestamp, ingestionTime]).
type liveState struct {
	Reads []liveRead
	IDs   map[string][2]int64
}

func newLiveState() *liveState { return &liveState{IDs: map[string][2]int64{}} }

// readAt returns when the time ts was last read, and false when no read covered it.
func (s *liveState) readAt(ts int64) (int64, bool) {
	i := sort.Search(len(s.Reads), func(i int) bool { return s.Reads[i].To >= ts })
	if i < len(s.Reads) && s.Reads[i].From <= ts {
		return s.Reads[i].At, true
	}
	return 0, false
}

// skip says whether the event (timestamp ts, ingestionTime ing, id) was published by the pass:
// its id is kept, or a read over its time started more than margin after its ingestion.
func (s *liveState) skip(ts, ing int64, id string, margin int64) bool {
	if id != "" {
		if _, ok := s.IDs[id]; ok {
			return true
		}
	}
	at, ok := s.readAt(ts)
	return ok && ing <= at-margin
}

// mark records a read of [from, to] at server time at. A time keeps its latest read: a read
// that claims an earlier time than one already recorded (the clock it took at from moved back)
// does not unsay what the later one saw. Spans next to each other read at the same time become
// one.
func (s *liveState) mark(from, to, at int64) {
	out := make([]liveRead, 0, len(s.Reads)+3)
	for _, r := range s.Reads {
		if r.To < from || r.From > to {
			out = append(out, r)
			continue
		}
		if r.From < from {
			out = append(out, liveRead{r.From, from - 1, r.At})
		}
		if r.To > to {
			out = append(out, liveRead{to + 1, r.To, r.At})
		}
		if r.At > at {
			// The part of [from, to] this span covers stays read at its later time.
			out = append(out, liveRead{max(r.From, from), min(r.To, to), r.At})
		}
	}
	// The parts of [from, to] no later read covers take at.
	sort.Slice(out, func(i, j int) bool { return out[i].From < out[j].From })
	next := from
	for _, r := range out {
		if r.To < from || r.From > to {
			continue
		}
		if r.From > next {
			out = append(out, liveRead{next, r.From - 1, at})
		}
		next = r.To + 1
	}
	if next <= to {
		out = append(out, liveRead{next, to, at})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].From < out[j].From })
	merged := out[:0]
	for _, r := range out {
		if n := len(merged); n > 0 && merged[n-1].At == r.At && merged[n-1].To+1 == r.From {
			merged[n-1].To = r.To
			continue
		}
		merged = append(merged, r)
	}
	s.Reads = merged
}

// prune forgets the spans ending before below (the sweep reads no earlier time again) and the
// ids a read says were published (ingested more than margin before it), or below.
func (s *liveState) prune(below, margin int64) {
	i := sort.Search(len(s.Reads), func(i int) bool { return s.Reads[i].To >= below })
	s.Reads = append(s.Reads[:0], s.Reads[i:]...)
	for id, v := range s.IDs {
		if v[0] < below {
			delete(s.IDs, id)
			continue
		}
		if at, ok := s.readAt(v[0]); ok && v[1] <= at-margin {
			delete(s.IDs, id)
		}
	}
}

// encode writes the state as JSON: {"v":1,"reads":[[from,to,at],...],"ids":{"<id>":[ts,ing],...}}.
func (s *liveState) encode() []byte {
	b := make([]byte, 0, 32+len(s.Reads)*48+len(s.IDs)*80)
	b = append(b, `{"v":1,"reads":[`...)
	for i, r := range s.Reads {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '[')
		b = strconv.AppendInt(b, r.From, 10)
		b = append(b, ',')
		b = strconv.AppendInt(b, r.To, 10)
		b = append(b, ',')
		b = strconv.AppendInt(b, r.At, 10)
		b = append(b, ']')
	}
	b = append(b, `],"ids":{`...)
	first := true
	for id, v := range s.IDs {
		if !first {
			b = append(b, ',')
		}
		first = false
		b = jsonx.AppendString(b, id)
		b = append(b, ":["...)
		b = strconv.AppendInt(b, v[0], 10)
		b = append(b, ',')
		b = strconv.AppendInt(b, v[1], 10)
		b = append(b, ']')
	}
	return append(b, "}}"...)
}

// decodeLive reads what encode wrote.
func decodeLive(b []byte) (*liveState, error) {
	var w struct {
		V     int                 `json:"v"`
		Reads [][3]int64          `json:"reads"`
		IDs   map[string][2]int64 `json:"ids"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return nil, err
	}
	if w.V != 1 {
		return nil, fmt.Errorf("unknown version %d", w.V)
	}
	s := newLiveState()
	for i, r := range w.Reads {
		if r[0] > r[1] || i > 0 && r[0] <= w.Reads[i-1][1] {
			return nil, errors.New("the spans read are not in order")
		}
		s.Reads = append(s.Reads, liveRead{r[0], r[1], r[2]})
	}
	if w.IDs != nil {
		s.IDs = w.IDs
	}
	return s, nil
}

// liveCounters count what the near-real-time pass and the sweep behind it publish.
type liveCounters struct {
	published  atomic.Int64 // events the near-real-time pass published
	sweepFound atomic.Int64 // events of a time the pass read that only the sweep found
	polls      atomic.Int64 // reads of the pass
}

// LivePublished returns how many events the near-real-time pass (live_lag) published.
func (s *Source) LivePublished() int64 { return s.live.published.Load() }

// SweepFound returns how many events the windows at lag found in a time the near-real-time
// pass had read (ingested after its last read there): late events found, not missed.
func (s *Source) SweepFound() int64 { return s.live.sweepFound.Load() }

// liveKey is the state key of the partition's near-real-time pass.
func (p *partition) liveKey() string { return p.key + "/live" }

// runLive runs the near-real-time pass until lease ends, from the state it saved, reading it
// again after a nack or a failed save; it closes loaded once it first read that state (the
// sweep filters nothing before), and waits for its pages in flight to settle (until ctx ends)
// before returning.
func (p *partition) runLive(ctx, lease context.Context, pub plugin.Publisher, loaded chan<- struct{}) {
	cfg := p.s.cfg
	rew := retry.NewRewinder(retry.Backoff{Initial: p.s.tune.nackBase, Max: cfg.MaxBackoff})
	defer rew.Settle(ctx)
	for attempt := 1; ; {
		cur := state.NewCursor(p.s.set.State, p.liveKey())
		p.liveCur.Store(cur)
		st, err := p.loadLive(lease, cur)
		if err == nil {
			if loaded != nil {
				close(loaded)
				loaded = nil
			}
			// The pass reads after the sweep's start and the time it started reading.
			for !p.sweepReady.Load() {
				if !retry.Sleep(lease, min(cfg.LivePollInterval, 100*time.Millisecond)) {
					return
				}
			}
			err = p.liveScan(lease, pub, cur, rew, st)
		}
		if lease.Err() != nil || errors.Is(err, plugin.ErrNotOwner) {
			return // the sweep meets a lost partition too, and stops the lease
		}
		if errors.Is(err, errRescan) {
			attempt = 1
			continue
		}
		p.s.set.Metrics.Errors.Inc()
		p.log.Error("the near-real-time pass failed; reading on from its last saved state", "err", err)
		if !retry.Sleep(lease, p.s.backoff(attempt)) {
			return
		}
		attempt++
	}
}

// loadLive reads the pass's saved state and hands it to the sweep; an unreadable one is
// dropped with a warning (the sweep then publishes what the pass delivered again: duplicates,
// never loss).
func (p *partition) loadLive(ctx context.Context, cur *state.Cursor) (*liveState, error) {
	raw, err := cur.Load(ctx)
	if err != nil {
		return nil, err
	}
	st, snap := newLiveState(), newLiveState()
	if raw != nil {
		if st, err = decodeLive(raw); err == nil {
			snap, _ = decodeLive(raw)
		} else {
			p.log.Warn("the near-real-time pass's saved state is unreadable; starting it afresh (the sweep may publish again what it delivered)",
				"key", p.liveKey(), "err", err)
			st = newLiveState()
		}
	}
	p.liveSnap.Store(snap)
	cur.OnCommit(func(saved []byte) {
		if s, err := decodeLive(saved); err == nil {
			p.liveSnap.Store(s)
		}
	})
	return st, nil
}

// liveSettleWait bounds how long the sweep waits for the pass's batches in flight to be saved
// (a destination that holds them longer costs duplicates, never loss).
const liveSettleWait = 30 * time.Second

// settledLive returns what the pass saved, once the reads it had begun have ended and the
// batches they published are saved (or after liveSettleWait, when the pass restarts, or when
// ctx ends): an event of a time the pass read, which the sweep would publish, may be in one
// of them. It waits for fixed marks, not for the pass to be idle, so a pass that reads and
// publishes without pause does not hold the sweep up.
func (p *partition) settledLive(ctx context.Context) *liveState {
	end := time.Now().Add(liveSettleWait)
	wait := func(done func() bool) bool {
		for !done() {
			if !time.Now().Before(end) || !retry.Sleep(ctx, 2*time.Millisecond) {
				return false
			}
		}
		return true
	}
	// The reads begun by now end first; the reads after them see sweepTo and leave the
	// sweep's time alone.
	begun := p.liveBegun.Load()
	if !wait(func() bool { return p.liveEnded.Load() >= begun }) {
		p.settleExpired(ctx)
		return p.liveSnap.Load()
	}
	cur := p.liveCur.Load()
	if cur == nil {
		return p.liveSnap.Load()
	}
	mark := cur.Mark()
	if !wait(func() bool { return cur.Saved(mark) || cur.Err() != nil || p.liveCur.Load() != cur }) {
		p.settleExpired(ctx)
	}
	return p.liveSnap.Load()
}

// settleExpired logs that the sweep stopped waiting for the pass (unless ctx ended).
func (p *partition) settleExpired(ctx context.Context) {
	if ctx.Err() == nil {
		p.log.Warn("the near-real-time pass's batches were not delivered within the wait; the sweep goes on (events of them may be published twice)",
			"wait", liveSettleWait)
	}
}

// liveScan reads every live_poll_interval until lease ends, a nack's rewind is due or a save
// failed (errRescan, once the pages in flight settled), or an error.
func (p *partition) liveScan(lease context.Context, pub plugin.Publisher, cur *state.Cursor, rew *retry.Rewinder, st *liveState) error {
	cfg := p.s.cfg
	var last time.Time
	for n := uint64(0); ; n++ {
		if d := cfg.LivePollInterval - time.Since(last); d > 0 && !retry.Sleep(lease, d) {
			return nil
		}
		if err := cur.Err(); errors.Is(err, plugin.ErrNotOwner) {
			return err
		} else if err != nil {
			p.s.set.Metrics.Errors.Inc()
			p.log.Error("saving the near-real-time pass's state failed; reading on from its last saved state", "err", err)
			if !rew.Settle(lease) {
				return nil
			}
			rew.Rewound()
			return errRescan
		}
		if wait, nacked := rew.Nacked(); nacked && wait == 0 {
			if !rew.Wait(lease) {
				return nil
			}
			rew.Rewound()
			return errRescan
		}
		last = time.Now()
		if err := p.liveRead(lease, pub, cur, rew, st, cfg.liveDepth(n)); err != nil {
			return err
		}
	}
}

// liveRead reads [max(now − depth, the sweep's start and end), now − live_lag] once, page by
// page, and publishes the events no earlier read returned, in batches of
// checkpoint_every events, each tracked with the pass's state (the ids published so far); the
// last batch (empty when nothing was new) holds the state with this read marked.
func (p *partition) liveRead(lease context.Context, pub plugin.Publisher, cur *state.Cursor, rew *retry.Rewinder, st *liveState, depth time.Duration) error {
	cfg := p.s.cfg
	// Begun first, then liveFrom, then sweepTo: a sweep that finds its event before liveFrom
	// moved, or that loaded liveBegun before this read counted itself, stored its sweepTo
	// before this read looks at it (settledLive).
	p.liveBegun.Add(1)
	defer p.liveEnded.Add(1)
	now := p.now().UnixMilli()
	if low := max(p.sweepStart.Load(), now-depth.Milliseconds()); low < p.liveFrom.Load() {
		p.liveFrom.Store(low)
	}
	from := max(p.sweepStart.Load(), p.sweepTo.Load()+1, now-depth.Milliseconds())
	to := now - cfg.LiveLag.Milliseconds()
	if to < from {
		return nil
	}
	// now is at or before the time the server answers the first request (p.now follows the
	// server's clock when the local one is ahead; live_margin covers the second it may be).
	at, margin := now, cfg.LiveMargin.Milliseconds()
	in := p.input()
	in.StartTime, in.EndTime = aws.Int64(from), aws.Int64(to)
	in.Limit = aws.Int32(int32(cfg.PageSize))
	var recs []*event.Record
	inBatch, n := 0, 0
	publish := func() error {
		if err := p.s.waitEPS(lease, len(recs)); err != nil {
			return nil
		}
		if err := pub.Publish(lease, recs, rew.Track(cur.Track(st.encode()))); err != nil {
			return fmt.Errorf("publish: %w", err)
		}
		recs, inBatch = nil, 0
		return nil
	}
	for {
		out, err := p.call(lease, in)
		if errors.Is(err, errTokenExpired) {
			return nil // read again from the start at the next poll; kept ids remove what came
		}
		if err != nil {
			return err
		}
		for i := range out.Events {
			fe := &out.Events[i]
			e := logEvent{
				ID: aws.ToString(fe.EventId), Timestamp: aws.ToInt64(fe.Timestamp), IngestionTime: aws.ToInt64(fe.IngestionTime),
				Stream: aws.ToString(fe.LogStreamName), Message: aws.ToString(fe.Message),
			}
			id := jsonx.RepairUTF8String(e.ID)
			if st.skip(e.Timestamp, e.IngestionTime, id, margin) {
				continue
			}
			if inBatch == cfg.CheckpointEvery {
				if err := publish(); err != nil {
					return err
				}
				if lease.Err() != nil {
					return nil
				}
			}
			if id != "" {
				st.IDs[id] = [2]int64{e.Timestamp, e.IngestionTime}
			}
			inBatch++
			n++
			if recs, err = p.b.appendRecords(lease, recs, &e); err != nil {
				return err
			}
		}
		if out.NextToken == nil {
			break
		}
		in.NextToken = out.NextToken
	}
	st.mark(from, to, at)
	st.prune(p.sweepSaved.Load()-cfg.Overlap.Milliseconds(), margin)
	p.s.live.published.Add(int64(n))
	p.s.live.polls.Add(1)
	return publish()
}
