package cloudwatch

import (
	"math"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
)

// Hedging within a region. One FilterLogEvents request is in flight while the answers come in
// time; a request whose answer is late, or that is retrying after an error, is stalled, and
// the region starts another one beside it (scan). That other request reads another slice, or,
// when every slice is being read, a part of the stalled slice's time split off (split): the
// stalled slice keeps the part its request in flight reads, and the time after it goes to new
// slices, so that a slow answer or a retry holds up one page, not the end of a backlog. When
// less than a page's time is left after that page, the page itself is asked for again by a
// new slice taking the stalled one's place (replace).

const (
	// hedgeFactor times the region's usual answer time is how long a request waits for its
	// answer before it counts as stalled (at least hedgeFloor, at most slow_request).
	hedgeFactor = 4
	// hedgeFloor is the least a request waits for its answer before it counts as stalled.
	hedgeFloor = 100 * time.Millisecond
	// answerSamples is how many of the latest answer times the usual one is the median of:
	// a slow answer now and then does not move it.
	answerSamples = 16
)

// hedger holds what a region's scan learns of its answers: their usual time and how much
// event time a full page covers. It is used by the scan's goroutine only.
type hedger struct {
	slowMax time.Duration   // slow_request
	floor   time.Duration   // hedgeFloor, or a test's
	times   []time.Duration // the latest answer times (at most answerSamples), a ring
	next    int             // where the next answer time goes in times once it is full
	span    int64           // event time (ms) the latest full page covered; 0: none yet
	room    int             // requests_in_flight
	// replaced counts the slices replaced whose cancelled request has not answered yet: they
	// hold a request slot, stalled.
	replaced int
}

func newHedger(cfg *Config, floor time.Duration) *hedger {
	return &hedger{slowMax: cfg.SlowRequest, floor: floor, room: cfg.RequestsInFlight}
}

// slowAfter is how long a request may wait for its answer, once sent, before it counts as
// stalled: hedgeFactor times the usual answer time, within [floor, slow_request].
func (h *hedger) slowAfter() time.Duration {
	if len(h.times) == 0 {
		return h.slowMax
	}
	return min(max(hedgeFactor*h.usual(), h.floor), h.slowMax)
}

// usual is the median of the latest answer times.
func (h *hedger) usual() time.Duration {
	var buf [answerSamples]time.Duration
	t := append(buf[:0], h.times...)
	slices.Sort(t)
	return t[len(t)/2]
}

// answered learns from sl's answer out (took: how long it took once sent; retried: it came
// after a retry, and its time is not counted) and clips it to sl (see slice.clip).
func (h *hedger) answered(sl *slice, out *cloudwatchlogs.FilterLogEventsOutput, took time.Duration, retried bool) {
	if !retried && took > 0 {
		if len(h.times) < answerSamples {
			h.times = append(h.times, took)
		} else {
			h.times[h.next] = took
			h.next = (h.next + 1) % answerSamples
		}
	}
	if n := len(out.Events); out.NextToken != nil && n > 1 {
		// A page with more to come is full: the time it covers is about what the next one
		// will (an estimate: a split point only decides which slice reads what).
		span := aws.ToInt64(out.Events[n-1].Timestamp) - aws.ToInt64(out.Events[0].Timestamp) + 1
		if span > 0 {
			sl.span, h.span = span, span
		}
	}
	sl.fresh = false
	sl.clip(out)
}

// dropped says whether sl, whose request answered, was replaced (its answer is not used).
func (h *hedger) dropped(sl *slice) bool {
	if sl.replaced {
		h.replaced--
	}
	return sl.replaced
}

// split gives an idle request slot work when every request in flight is stalled and no slice
// is left without a request (busy requests in flight): it cuts the stalled slice with the
// most time left after the page its request reads, and makes new slices of that time, as
// many as there is room for and pages to fill them; when no slice can be cut, it replaces
// one (replace). It reports whether it made a slice.
func (h *hedger) split(cp *checkpoint, busy int) bool {
	if busy == 0 || busy >= h.room {
		return false
	}
	var (
		best      *slice
		bestAt    int64
		bestWidth int64
	)
	for _, sl := range cp.Slices {
		if !sl.busy || sl.stalled == nil || !sl.stalled.Load() {
			return false // a slice to request, or a request answering in time
		}
		if sl.edge {
			continue // read at the live edge: its late events are judged by its request times
		}
		at, width := sl.cutPoint(h.span)
		if width > bestWidth {
			best, bestAt, bestWidth = sl, at, width
		}
	}
	room := h.room - len(cp.Slices)
	if best == nil || room <= 0 {
		return h.replace(cp)
	}
	page := max(best.span, h.span)
	parts := int64(1)
	if page > 0 {
		parts = max(1, min(int64(room), bestWidth/page))
	}
	to := best.To
	if best.End <= best.To {
		best.End = best.To // its chain goes on with the request it started with
	}
	best.To = bestAt - 1
	for i := range parts {
		from := bestAt + bestWidth*i/parts
		end := bestAt + bestWidth*(i+1)/parts - 1
		if i == parts-1 {
			end = to
		}
		ns := newSlice(from, end, false, best.after)
		ns.readAt = best.readAt // its time was first asked for with best's
		cp.Slices = append(cp.Slices, ns)
	}
	cp.settle()
	return true
}

// replace gives up the stalled slice with the most time left for a new slice over its time
// not read yet (from its last event published on: more events of that millisecond may
// follow, and those published are in the seen set), whose request starts at once: the page
// in flight is asked for again rather than waited for (a slow answer, a retry's backoff). The
// stalled request is cancelled. A new slice is not replaced again before its first answer,
// so that a region throttled for good does not retry without backoff. A slice resumed from a
// token, whose place in its chain is not known, is not replaced.
func (h *hedger) replace(cp *checkpoint) bool {
	var (
		best     *slice
		bestFrom int64
	)
	for _, sl := range cp.Slices {
		if sl.edge || sl.fresh {
			continue
		}
		from := sl.From
		if sl.last != math.MinInt64 {
			from = max(from, sl.last)
		} else if sl.Token != "" || sl.Skip > 0 {
			continue
		}
		if best == nil || sl.To-from > best.To-bestFrom {
			best, bestFrom = sl, from
		}
	}
	if best == nil {
		return false
	}
	ns := newSlice(bestFrom, best.To, false, best.after)
	ns.readAt, ns.fresh = best.readAt, true
	best.replaced = true
	h.replaced++
	if best.cancel != nil {
		best.cancel()
	}
	for i, o := range cp.Slices {
		if o == best {
			cp.Slices[i] = ns
		}
	}
	cp.settle()
	return true
}

// cutPoint is where sl may be cut while its request is in flight, and how much time lies from
// there to its end (0: none worth a slice). The request reads on from the last event published
// (FilterLogEvents answers a chain in timestamp order) over about a page's time, span (the
// slice's own last full page, else the region's; unknown: half of what is left); sl keeps that
// part, and what lies after it, if at least a page's time, may go to other slices. A slice
// resumed from a token has no last event of this scan: where its chain is is not known (the
// seen set no longer holds the ids before the last event saved), so it is not cut.
func (sl *slice) cutPoint(span int64) (int64, int64) {
	from := sl.From
	if sl.last != math.MinInt64 {
		from = max(from, sl.last+1)
	} else if sl.Token != "" || sl.Skip > 0 {
		return 0, 0
	}
	left := sl.To - from + 1
	if sl.span > 0 {
		span = sl.span
	}
	keep := span
	if keep <= 0 {
		keep = left / 2
		span = 1
	}
	at := from + keep
	if at > sl.To || sl.To-at+1 < span {
		return 0, 0
	}
	return at, sl.To - at + 1
}

// clip drops from the answer of sl the events after its end, which a slice cut short by a
// split meets (its chain reads to the end it started with, End); the chain is in timestamp
// order, so such an event ends the slice: the answer's nextToken is dropped too.
func (sl *slice) clip(out *cloudwatchlogs.FilterLogEventsOutput) {
	if sl.End <= sl.To {
		return
	}
	for i := range out.Events {
		if aws.ToInt64(out.Events[i].Timestamp) > sl.To {
			out.Events, out.NextToken = out.Events[:i], nil
			return
		}
	}
}

// requestEnd is the EndTime of sl's next request: End for a chain under way that was cut
// short by a split, else To (a chain starting afresh, whose requests then end at To).
func (sl *slice) requestEnd() int64 {
	if sl.Token == "" {
		sl.End = 0
	}
	if sl.End > sl.To {
		return sl.End
	}
	return sl.To
}
