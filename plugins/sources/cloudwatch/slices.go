package cloudwatch

import (
	"context"
	"math"
	"sync/atomic"
)

// slice is a part [From, To] (ms, inclusive) of the event time a partition reads, with its own
// chain of FilterLogEvents pages: Token is the nextToken after the last page acknowledged (""
// and the slice listed: read from From). A partition catching up reads several slices at once
// (requests_in_flight), so that a slow or failed answer holds up one slice, not the region.
type slice struct {
	From  int64  `json:"from"`
	To    int64  `json:"to"`
	Token string `json:"token,omitempty"`
	// End is the EndTime of the chain's requests when it lies past To: the slice was cut
	// short by a split while its chain was under way (hedge.go); 0 otherwise.
	End int64 `json:"end,omitempty"`
	// Skip is how many events of the page at Token were handled (0: none, or the page is
	// read afresh), SkipSum the fingerprint of their ids (idsSum): a resume skips them when
	// the page read again starts with the same ids (see handle).
	Skip    int    `json:"skip,omitempty"`
	SkipSum string `json:"skip_sum,omitempty"`

	// last is the timestamp of the last event published from the slice (math.MinInt64:
	// none in this scan): a resend from Token can meet again only the ids from there on.
	last int64
	// readAt is the server time (ms) of the slice's first request; 0 before it, -1 when the
	// slice was resumed from a checkpoint (read at a time not known).
	readAt int64
	// edge: the slice ends lag before the time it was started (not a slice of catching up),
	// or, resumed from a checkpoint, less than lag+overlap before the scan started; only
	// there are late events counted (see scan).
	edge bool
	// after: of the events of an edge slice reaching CloudWatch Logs later than lag+overlap
	// after their time, only those ingested after this server time (ms) are counted late:
	// those that arrived after an earlier slice had read over their time, and that only the
	// overlap caught (one arriving a little later would be missed). An event of a time no
	// slice read before was waiting there (a backlog), not nearly missed.
	after int64
	// busy: a request of the slice is in flight.
	busy bool
	// stalled, set by the request in flight (nil when none): its answer is late (see
	// hedger.slowAfter) or it failed once (it is retrying), and the region may start another
	// request meanwhile (see scan).
	stalled *atomic.Bool
	// span is the event time (ms) the slice's latest full page covered; 0: none yet.
	span int64
	// cancel cancels the request in flight (nil when none has started).
	cancel context.CancelFunc
	// replaced: the slice was given up for a new one over its time not read yet, while its
	// request was in flight (hedge.go); fresh: the slice is such a new one, and its page in
	// flight is not replaced again.
	replaced, fresh bool
}

func newSlice(from, to int64, edge bool, after int64) *slice {
	return &slice{From: from, To: to, last: math.MinInt64, edge: edge, after: after}
}

// settle sets From and Done from the slices still to read: From is the start of the earliest
// one; with none left, the checkpoint is done (From stays the start of the last one read).
func (c *checkpoint) settle() {
	c.Token = ""
	c.Done = len(c.Slices) == 0
	if c.Done {
		return
	}
	from := c.Slices[0].From
	for _, sl := range c.Slices[1:] {
		from = min(from, sl.From)
	}
	c.From = from
}

// remove drops sl, read to its end, from the slices still to read.
func (c *checkpoint) remove(sl *slice) {
	for i, o := range c.Slices {
		if o == sl {
			c.Slices = append(c.Slices[:i], c.Slices[i+1:]...)
			break
		}
	}
	c.settle()
}

// prune keeps in the seen set only the ids a later read can meet again: those of the next
// slice's overlap (timestamp at or after to + 1 − overlap, and after clean), and, within a slice still to read,
// those from the last event published from it on.
func (c *checkpoint) prune(overlap int64) {
	keep := max(c.To+1-overlap, c.Clean+1)
	for id, ts := range c.Seen {
		if ts >= keep {
			continue
		}
		needed := false
		for _, sl := range c.Slices {
			if ts >= sl.From && ts <= sl.To && ts >= sl.last {
				needed = true
				break
			}
		}
		if !needed {
			delete(c.Seen, id)
		}
	}
}
