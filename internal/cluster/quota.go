package cluster

import (
	"context"
	"encoding/json"
	"math"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/logshipper/logshipper/internal/plugin"
)

// How the members divide a quota (an API limit per account or tenant that every member calling
// it draws on).
//
// Each member measures its use of each quota over a window (quotaWindow, a second): the calls
// it made and whether it was held back (its limiter made calls wait for more than a fifth of
// the window: it would have called more). It publishes that use in its member key, at once
// when it changed much, else with the heartbeat, and watches the other members' keys, so that
// a change is seen within milliseconds (and within pollInterval by the member listing if the
// watch is down). Every member divides each quota among the live
// members that published a use of it, by max-min fairness: a member held back asks for
// everything, another for 1.25 × its rate (at least a floor, a tenth of an equal part, so
// that it can start calling again); every ask below an equal part is met, the rest is divided
// equally among the larger ones, and what nobody asks for is divided equally among all. All
// members compute the same division from the same published uses, so together they stay within
// the quota; a member that finished its work leaves its part to the others, a member with
// more work than the others gets more.
//
// A member's own ask grows only once the others can have read it (published, then half a
// window), and shrinks at once: a member does not take a larger part before the others made
// room for it.

const (
	// heldBackShare: a member whose calls waited on the limiter for more than this part of the
	// window was held back by its part of the quota.
	heldBackShare = 0.2
	// askHeadroom: a member not held back asks for its rate times this.
	askHeadroom = 1.25
	// floorShare: the least a member asks for, as a part of an equal division.
	floorShare = 0.1
)

// quotaUse is a member's use of one quota over the last window, as published in its member key.
type quotaUse struct {
	Rate     float64 `json:"rate"`               // calls per second
	HeldBack bool    `json:"held_back,omitzero"` // calls waited on this member's part
}

// ask is what a member using u asks for of a quota of total shared by n members.
func (u quotaUse) ask(total float64, n int) float64 {
	if u.HeldBack {
		return math.Inf(1)
	}
	return max(u.Rate*askHeadroom, total*floorShare/float64(max(n, 1)))
}

// divide returns what the member at index self gets of total, divided by max-min fairness among
// the asks: each ask below an equal part of what is left is met, what is left after that is
// divided equally among the larger asks, and what nobody asks for equally among all.
func divide(total float64, asks []float64, self int) float64 {
	if len(asks) == 0 || self < 0 || self >= len(asks) {
		return total
	}
	order := make([]int, len(asks))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		switch {
		case asks[a] < asks[b]:
			return -1
		case asks[a] > asks[b]:
			return 1
		}
		return 0
	})
	got := make([]float64, len(asks))
	left := total
	for i, idx := range order {
		equal := left / float64(len(order)-i)
		if asks[idx] <= equal {
			got[idx] = asks[idx]
			left -= asks[idx]
			continue
		}
		for _, rest := range order[i:] {
			got[rest] = equal
		}
		left = 0
		break
	}
	return got[self] + left/float64(len(asks))
}

// quotaShare is this member's part of one quota.
type quotaShare struct {
	c         *Cluster
	key       string
	perSecond float64

	// Counted by Took, since the last sample.
	calls  atomic.Int64
	waited atomic.Int64 // nanoseconds

	fraction atomic.Uint64 // float64 bits; 1 until divided

	// Under the Cluster's qmu.
	sampled time.Time
	cur     quotaUse  // the latest sample: what the next member key publishes
	pub     quotaUse  // the use the last member key written published
	prev    quotaUse  // the one published before pub
	pubAt   time.Time // when pub was published; zero: nothing published yet
}

var _ plugin.Quota = (*quotaShare)(nil)

// Fraction implements plugin.Quota.
func (q *quotaShare) Fraction() float64 { return math.Float64frombits(q.fraction.Load()) }

// Changed implements plugin.Quota.
func (q *quotaShare) Changed() <-chan struct{} {
	q.c.qmu.Lock()
	defer q.c.qmu.Unlock()
	return q.c.qchanged
}

// Took implements plugin.Quota.
func (q *quotaShare) Took(waited time.Duration) {
	q.calls.Add(1)
	q.waited.Add(int64(waited))
}

// Share is this member's part of the API quotas the members divide by their use of each (see
// the top of quota.go). A quota asked for twice (two configurations on one account) is one.
func (c *Cluster) Share() plugin.Share { return memberShare{c} }

// memberShare is the Share of a Cluster.
type memberShare struct{ c *Cluster }

var _ plugin.Share = memberShare{}

// Quota implements plugin.Share.
func (s memberShare) Quota(key string, perSecond float64) plugin.Quota {
	c := s.c
	c.qmu.Lock()
	defer c.qmu.Unlock()
	if q := c.quotas[key]; q != nil {
		return q
	}
	q := &quotaShare{c: c, key: key, perSecond: perSecond, sampled: time.Now()}
	if c.quotas == nil {
		c.quotas = map[string]*quotaShare{}
	}
	c.quotas[key] = q
	q.fraction.Store(math.Float64bits(c.divideLocked(q, time.Now())))
	return q
}

// quotaWindow is how long a member measures its use of a quota before publishing it anew: a
// second (less with a lease TTL under 4 s).
func (c *Cluster) quotaWindow() time.Duration {
	return max(min(time.Second, c.cfg.LeaseTTL/4), 50*time.Millisecond)
}

// quotaLoop measures this member's use of its quotas every quarter window, publishes it when it
// changed much, and divides the quotas anew on each measure and each change another member
// publishes, until Close. It watches the member keys: a member that joins is seen at once
// (memberLoop's listing sees the members that die, and is the fallback while the watch is
// down).
func (c *Cluster) quotaLoop() {
	defer c.wg.Done()
	t := time.NewTicker(c.quotaWindow() / 4)
	defer t.Stop()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var (
		w         jetstream.KeyWatcher
		updates   <-chan jetstream.KeyValueEntry
		lastWatch time.Time
	)
	// watch starts the watch of the member keys. It begins with their present values, so a
	// member that joined between Connect's listing and the watch is seen too.
	watch := func() {
		lastWatch = time.Now()
		var err error
		if w, err = c.leasesKV.Watch(ctx, "members.*"); err != nil {
			c.log.Debug("watching the member keys failed; the member listing reads them meanwhile", "error", err)
			w = nil
			return
		}
		updates = w.Updates()
		c.watching.Store(true)
	}
	defer func() {
		if w != nil {
			_ = w.Stop()
		}
	}()
	watch()
	for {
		select {
		case <-c.stop:
			return
		case e, ok := <-updates:
			if !ok {
				w, updates = nil, nil
				c.watching.Store(false)
				continue
			}
			if e == nil || c.frozen.Load() {
				continue // nil: the present values have all been read
			}
			if joined := c.notePeer(e); joined {
				// A member joined: read the members now rather than at the next poll, so
				// that partitions move to it (and quotas are divided) within milliseconds.
				c.refreshMembers()
			}
			c.divideQuotas(time.Now())
			continue
		case <-t.C:
		}
		if c.frozen.Load() {
			continue
		}
		if w == nil && time.Since(lastWatch) >= c.pollInterval() {
			watch()
		}
		now := time.Now()
		if c.sampleQuotas(now) {
			c.heartbeat()
		}
		c.divideQuotas(now)
	}
}

// notePeer records the quota use another member published in e (a member key); it reports
// whether e is the key of a member not among the live members yet (it joined).
func (c *Cluster) notePeer(e jetstream.KeyValueEntry) (joined bool) {
	name := strings.TrimPrefix(e.Key(), "members.")
	if name == c.cfg.Node {
		return false
	}
	var m memberValue
	if e.Operation() == jetstream.KeyValuePut {
		if err := json.Unmarshal(e.Value(), &m); err != nil {
			return false
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.peerQuotas == nil {
		c.peerQuotas = map[string]map[string]quotaUse{}
	}
	if e.Operation() != jetstream.KeyValuePut {
		delete(c.peerQuotas, name)
		return false
	}
	c.peerQuotas[name] = m.Quotas
	return !slices.Contains(c.members, name)
}

// sampleQuotas measures each quota's use over the window past and reports whether one changed
// enough to publish at once (held back or not any more, or its rate moved by more than a
// quarter and a twentieth of the quota).
func (c *Cluster) sampleQuotas(now time.Time) (publish bool) {
	c.qmu.Lock()
	defer c.qmu.Unlock()
	for _, q := range c.quotas {
		elapsed := now.Sub(q.sampled)
		if elapsed < c.quotaWindow() {
			continue
		}
		calls := q.calls.Swap(0)
		waited := time.Duration(q.waited.Swap(0))
		q.sampled = now
		u := quotaUse{
			Rate:     float64(calls) / elapsed.Seconds(),
			HeldBack: waited > time.Duration(heldBackShare*float64(elapsed)),
		}
		q.cur = u
		if u.HeldBack != q.pub.HeldBack || math.Abs(u.Rate-q.pub.Rate) > max(0.25*q.pub.Rate, 0.05*q.perSecond) {
			publish = true
		}
	}
	return publish
}

// publishedQuotas is what the member key publishes: the latest use of each quota.
func (c *Cluster) publishedQuotas() map[string]quotaUse {
	c.qmu.Lock()
	defer c.qmu.Unlock()
	if len(c.quotas) == 0 {
		return nil
	}
	m := make(map[string]quotaUse, len(c.quotas))
	for k, q := range c.quotas {
		m[k] = q.cur
	}
	return m
}

// published records that the member key written at now published uses.
func (c *Cluster) published(uses map[string]quotaUse, now time.Time) {
	c.qmu.Lock()
	defer c.qmu.Unlock()
	for k, u := range uses {
		q := c.quotas[k]
		if q == nil || (u == q.pub && !q.pubAt.IsZero()) {
			continue
		}
		q.prev, q.pub, q.pubAt = q.pub, u, now
	}
}

// divideQuotas divides every quota anew from the members' published uses, and wakes the
// limiters when a part changed by more than 2%.
func (c *Cluster) divideQuotas(now time.Time) {
	c.qmu.Lock()
	defer c.qmu.Unlock()
	changed := false
	for _, q := range c.quotas {
		f := c.divideLocked(q, now)
		old := q.Fraction()
		if math.Abs(f-old) > 0.02*old {
			q.fraction.Store(math.Float64bits(f))
			changed = true
		}
	}
	if changed {
		close(c.qchanged)
		c.qchanged = make(chan struct{})
	}
}

// divideLocked is this member's fraction of q: its own ask (the one published, the one before
// while a larger one may not have been read yet) beside the asks the other live members
// published.
func (c *Cluster) divideLocked(q *quotaShare, now time.Time) float64 {
	c.mu.Lock()
	var others []quotaUse
	for _, m := range c.members {
		if m == c.cfg.Node {
			continue
		}
		if u, ok := c.peerQuotas[m][q.key]; ok {
			others = append(others, u)
		}
	}
	c.mu.Unlock()
	n := len(others) + 1
	own := q.pub.ask(q.perSecond, n)
	if q.pubAt.IsZero() || now.Sub(q.pubAt) < c.quotaWindow()/2 {
		own = min(own, q.prev.ask(q.perSecond, n))
	}
	asks := []float64{own}
	for _, u := range others {
		asks = append(asks, u.ask(q.perSecond, n))
	}
	if q.perSecond <= 0 {
		return 1
	}
	f := divide(q.perSecond, asks, 0) / q.perSecond
	if !(f > 0) || f > 1 {
		return 1
	}
	return f
}
