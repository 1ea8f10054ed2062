package pipeline

import (
	"context"

	"golang.org/x/time/rate"
)

// epsLimiter is a token bucket of eps records per second, with one second of burst.
// A nil limiter does not limit.
type epsLimiter struct{ l *rate.Limiter }

func newEPSLimiter(eps int) *epsLimiter {
	if eps <= 0 {
		return nil
	}
	return &epsLimiter{l: rate.NewLimiter(rate.Limit(eps), eps)}
}

// wait takes n tokens, in pieces no larger than the burst, so a batch larger than one second's
// worth waits its fair time instead of failing.
func (e *epsLimiter) wait(ctx context.Context, n int) error {
	if e == nil {
		return nil
	}
	for n > 0 {
		k := min(n, e.l.Burst())
		if err := e.l.WaitN(ctx, k); err != nil {
			return err
		}
		n -= k
	}
	return nil
}
