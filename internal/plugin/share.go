package plugin

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Share is this process's part of the API quotas that every process of a cluster draws on
// together. A quota counts per account or tenant, not per process (FilterLogEvents: 5 calls/s
// per account and region; PutAuditEvents: 100 calls/s per account), so in cluster mode the
// live members divide each quota among those that use it.
type Share interface {
	// Quota returns this process's part of the quota named key: a limit of perSecond calls a
	// second that every process calling with the same key draws on. The key names the limit,
	// the same in every member for one account's or tenant's quota (for example
	// "PutAuditEvents/<account>/<region>"); it never holds a secret.
	Quota(key string, perSecond float64) Quota
}

// Quota is this process's part of one quota.
type Quota interface {
	// Fraction is this process's part, in (0, 1]: 1 alone.
	Fraction() float64
	// Changed returns a channel closed when Fraction may have changed. Take it before reading
	// Fraction, so that a change in between is not missed. A nil channel never closes.
	Changed() <-chan struct{}
	// Took records one call made against the quota after waiting for it on the limiter: a
	// cluster divides a quota by the members' use of it.
	Took(waited time.Duration)
}

// AllShare is the Share of a single process: the whole of every quota, for good.
type AllShare struct{}

var (
	_ Share = AllShare{}
	_ Quota = AllShare{}
)

// Quota implements Share.
func (AllShare) Quota(string, float64) Quota { return AllShare{} }

// Fraction implements Quota.
func (AllShare) Fraction() float64 { return 1 }

// Changed implements Quota: it never changes.
func (AllShare) Changed() <-chan struct{} { return nil }

// Took implements Quota: a single process keeps no count.
func (AllShare) Took(time.Duration) {}

// ShareOf returns set.Share, or AllShare when it is nil.
func (set Settings) ShareOf() Share {
	if set.Share == nil {
		return AllShare{}
	}
	return set.Share
}

// QuotaKey names a quota for Share.Quota: the API, then the parts that scope it (a region, an
// account, a credential), the parts that may identify a credential only as a short hash, so
// that the key can be shown and stored with the cluster's members.
func QuotaKey(api, region string, scope ...string) string {
	h := sha256.New()
	for _, s := range scope {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	return api + "/" + region + "/" + hex.EncodeToString(h.Sum(nil)[:6])
}

// QuotaLimiter paces calls against a quota of perSecond calls that every member of a cluster
// draws on: it allows perSecond × the quota's Fraction, follows a change of it at the next Wait,
// and tells the quota of every call it lets through. It is safe for concurrent use.
type QuotaLimiter struct {
	perSecond float64
	share     Quota
	lim       *rate.Limiter
	log       *slog.Logger // nil: changes are not logged

	mu      sync.Mutex
	changed <-chan struct{}
}

// NewQuotaLimiter returns a limiter of perSecond × share's fraction with the given burst
// (at least 1). A nil share is the whole quota. log, when set, says when the rate changes.
func NewQuotaLimiter(perSecond float64, burst int, share Quota, log *slog.Logger) *QuotaLimiter {
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
	start := time.Now()
	if err := q.lim.Wait(ctx); err != nil {
		return err
	}
	q.share.Took(time.Since(start))
	return nil
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
		q.log.Debug("this process's share of the API quota changed (the cluster's members or their use of it changed)", "quota_per_second", q.perSecond, "share", f, "per_second", float64(after), "was_per_second", float64(before))
	}
}
