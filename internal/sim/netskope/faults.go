package netskope

import (
	"net/http"
	"sync/atomic"
	"time"
)

// Faults are injected into answers that passed authentication and the rate
// limit. Each rate is a probability in [0, 1] drawn per request from the
// tenant's seeded generator; 1 means every request.
type Faults struct {
	// ThrottleRate answers as the rate limiter does when it refuses a call
	// (429, Retry-After: 1, the RateLimit-* headers with nothing remaining,
	// {"message":"API rate limit exceeded"}) although the call was within
	// the limit; the index does not move. It is drawn first: a throttled
	// call gets no other fault.
	ThrottleRate float64
	// ServerErrorRate answers with ServerErrorStatus (default 500) before
	// the iterator is touched: the index does not move.
	ServerErrorRate   float64
	ServerErrorStatus int
	// CutBodyRate serves the page (the index moves, as on the real service
	// when the connection drops after the answer was produced), promises the
	// whole body in Content-Length, sends half of it and closes the
	// connection. The consumer must use operation=resend.
	CutBodyRate float64
	// SlowRate delays answers by SlowDelay before anything else happens.
	SlowRate  float64
	SlowDelay time.Duration
	// OKZeroRate answers 200 with {"ok":0,"error":...}; the index does not
	// move.
	OKZeroRate float64
}

// SetFaults switches faults at run time.
func (t *Tenant) SetFaults(f Faults) {
	t.faultMu.Lock()
	t.faults = f
	t.faultMu.Unlock()
}

// Faults returns the faults in force.
func (t *Tenant) Faults() Faults {
	t.faultMu.Lock()
	defer t.faultMu.Unlock()
	return t.faults
}

type faultPlan struct {
	throttle    bool
	slow        time.Duration
	serverError int
	okZero      bool
	cut         bool
}

type faultCounters struct {
	throttled, serverErrors, cuts, slow, okZero atomic.Int64
}

func (t *Tenant) drawFaults() faultPlan {
	t.faultMu.Lock()
	defer t.faultMu.Unlock()
	f := t.faults
	var p faultPlan
	hit := func(rate float64) bool { return rate > 0 && (rate >= 1 || t.faultR.float() < rate) }
	if hit(f.ThrottleRate) {
		p.throttle = true
		return p
	}
	if f.SlowDelay > 0 && hit(f.SlowRate) {
		p.slow = f.SlowDelay
	}
	if hit(f.ServerErrorRate) {
		p.serverError = f.ServerErrorStatus
		if p.serverError < 500 || p.serverError > 599 {
			p.serverError = http.StatusInternalServerError
		}
	}
	p.okZero = hit(f.OKZeroRate)
	p.cut = hit(f.CutBodyRate)
	return p
}
