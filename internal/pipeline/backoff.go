package pipeline

import (
	"context"
	"math/rand/v2"
	"time"
)

// Backoff is exponential backoff with equal jitter (half fixed, half random) between Initial
// and Max.
type Backoff struct {
	Initial time.Duration
	Max     time.Duration
}

// Delay returns the wait before retry number attempt (0 for the first retry). The result is
// drawn uniformly from [d/2, d], where d doubles from Initial up to Max; a server's
// retry-after replaces it when longer.
func (b Backoff) Delay(attempt int, retryAfter time.Duration) time.Duration {
	d := b.Initial
	for i := 0; i < attempt && d < b.Max; i++ {
		d *= 2
	}
	d = min(d, b.Max)
	if d > 1 {
		d = d/2 + rand.N(d/2+1)
	}
	return max(d, retryAfter)
}

// sleep waits for d or until ctx ends; it reports whether the whole wait passed.
func sleep(ctx context.Context, d time.Duration) bool {
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
