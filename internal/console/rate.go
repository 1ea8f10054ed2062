package console

import (
	"sync"
	"time"
)

// RateSeries counts records in buckets of a fixed width over a sliding window (60 buckets of
// a minute: the last hour), for the Overview's chart (PluginStatus.Rate).
type RateSeries struct {
	mu      sync.Mutex
	width   time.Duration
	buckets []uint64
	// last is the index (time / width) of the newest bucket; -1 before the first Add.
	last int64
}

// NewRateSeries keeps n buckets of width each.
func NewRateSeries(n int, width time.Duration) *RateSeries {
	return &RateSeries{width: width, buckets: make([]uint64, max(n, 1)), last: -1}
}

// Add counts n records at time at. Records older than the window are ignored.
func (r *RateSeries) Add(at time.Time, n uint64) {
	i := at.UnixNano() / int64(r.width)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.advance(i)
	if r.last-i >= int64(len(r.buckets)) {
		return
	}
	r.buckets[i%int64(len(r.buckets))] += n
}

// PerSecond returns the rate of each bucket in records per second, oldest first, ending with
// the bucket of now (still filling).
func (r *RateSeries) PerSecond(now time.Time) []float64 {
	i := now.UnixNano() / int64(r.width)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.advance(i)
	n := int64(len(r.buckets))
	out := make([]float64, n)
	for j := range n {
		b := r.last - n + 1 + j
		if b < 0 {
			continue
		}
		out[j] = float64(r.buckets[b%n]) / r.width.Seconds()
	}
	return out
}

// advance moves the window to end at bucket i, emptying the buckets it enters.
func (r *RateSeries) advance(i int64) {
	if i <= r.last {
		return
	}
	n := int64(len(r.buckets))
	from := r.last + 1
	if r.last < 0 || i-r.last >= n {
		from = i - n + 1
	}
	for b := max(from, 0); b <= i; b++ {
		r.buckets[b%n] = 0
	}
	r.last = i
}
