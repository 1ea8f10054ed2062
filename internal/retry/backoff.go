// Package retry holds the waiting every part of the shipper shares: exponential backoff with
// jitter between attempts, a sleep that ends with its context, and Rewinder, which tells a
// source when to read a nacked batch again. The engine and the plugins both import it.
package retry

import (
	"context"
	"math/rand/v2"
	"time"
)

// Backoff is exponential backoff with equal jitter (half fixed, half random) between Initial
// and Max. The zero value waits nothing (but a server's retry-after).
type Backoff struct {
	Initial time.Duration
	Max     time.Duration
}

// Delay returns the wait before retry number attempt (0 for the first retry). The result is
// drawn uniformly from [d/2, d], where d doubles from Initial up to Max (Initial when Max is
// below it); a server's retry-after replaces it when longer.
func (b Backoff) Delay(attempt int, retryAfter time.Duration) time.Duration {
	d := b.Initial
	if d <= 0 {
		return max(retryAfter, 0)
	}
	limit := max(b.Max, d)
	for i := 0; i < attempt && d < limit; i++ {
		d *= 2
	}
	d = min(d, limit)
	if d > 1 {
		d = d/2 + rand.N(d/2+1)
	}
	return max(d, retryAfter)
}

// Sleep waits for d or until ctx ends; it reports whether the whole wait passed. With d <= 0
// it returns at once, false only when ctx has ended.
func Sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
