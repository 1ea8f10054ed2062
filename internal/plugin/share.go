package plugin

import (
	"context"
	"log/slog"
	"sync"

	"golang.org/x/time/rate"
)

// Share is this process's part of the API quotas that every process of a cluster draws on
// together. A quota counts per account or tenant, not per process (FilterLogEvents: 5 calls/s
// per account and region; PutAuditEvents: 100 calls/s per account), so in cluster mode the
// live members divide it: each paces its calls at the quota times Fraction, and paces them
// anew when Changed closes.
type Share interface {
	// Fraction is this process's part, in (0, 1]: 1 alone, 1/N with N live members.
	Fraction() float64
	// Changed returns a channel closed when Fraction may have changed (the members changed).
	// Take it before reading Fraction, so that a change in between is not missed. A nil
	// channel never closes.
	Changed() <-chan struct{}
}

// AllShare is the Share of a single process: the whole quota, for good.
type AllShare struct{}

var _ Share = AllShare{}

// Fraction implements Share.
func (AllShare) Fraction() float64 { return 1 }

// Changed implements Share: it never changes.
func (AllShare) Changed() <-chan struct{} { return nil }

// ShareOf returns set.Share, or AllShare when it is nil.
func (set Settings) ShareOf() Share {
	if set.Share == nil {
		return AllShare{}
	}
	return set.Share
}

// QuotaLimiter paces calls against a quota of perSecond calls that every member of a cluster
// draws on: it allows perSecond × the share's Fraction, and follows a change of the share at
// the next Wait. It is safe for concurrent use.
type QuotaLimiter struct {
	perSecond float64
	share     Share
	lim       *rate.Limiter
	log       *slog.Logger // nil: changes are not logged

	mu      sync.Mutex
	changed <-chan struct{}
}

// NewQuotaLimiter returns a limiter of perSecond × share's fraction with the given burst
// (at least 1). A nil share is AllShare. log, when set, says when the rate changes.
func NewQuotaLimiter(perSecond float64, burst int, share Share, log *slog.Logger) *QuotaLimiter {
	if share == nil {
		share = AllShare{}
	}
	q := &QuotaLimiter{perSecond: perSecond, share: share, log: log, changed: share.Changed()}
	q.lim = rate.NewLimiter(q.limit(share.Fraction()), max(burst, 1))
	return q
}

// limit is the rate for fraction f; a fraction outside (0, 1] counts as 1.
func (q *QuotaLimiter) limit(f float64) rate.Limit {
	if !(f > 0 && f <= 1) {
		f = 1
	}
	return rate.Limit(q.perSecond * f)
}

// Wait blocks until a call may be made or ctx ends (a wrapped ctx error).
func (q *QuotaLimiter) Wait(ctx context.Context) error {
	q.follow()
	return q.lim.Wait(ctx)
}

// Limit returns the calls per second allowed now, after following a change of the share.
func (q *QuotaLimiter) Limit() float64 {
	q.follow()
	return float64(q.lim.Limit())
}

// follow sets the rate from the share when it changed since last read.
func (q *QuotaLimiter) follow() {
	q.mu.Lock()
	defer q.mu.Unlock()
	select {
	case <-q.changed:
	default:
		return
	}
	q.changed = q.share.Changed()
	f := q.share.Fraction()
	before := q.lim.Limit()
	after := q.limit(f)
	if after == before {
		return
	}
	q.lim.SetLimit(after)
	if q.log != nil {
		q.log.Info("the cluster's members changed: this process's share of the API quota follows", "quota_per_second", q.perSecond, "share", f, "per_second", float64(after), "was_per_second", float64(before))
	}
}
