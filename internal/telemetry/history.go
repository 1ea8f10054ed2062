package telemetry

import (
	"context"
	"strings"
	"sync"
	"time"
)

// History keeps, for the last hour or so, how many records each plugin instance received, sent
// and dropped, sampled from the metrics at a fixed interval: the rates the console charts. It
// is safe for concurrent use.
type History struct {
	m     *Metrics
	every time.Duration

	mu      sync.Mutex
	samples []sample // oldest first, at most keep
	keep    int
}

type sample struct {
	at     time.Time
	counts map[string]Totals // by plugin
}

// Totals are a plugin instance's record counts since the process started.
type Totals struct {
	Received, Sent, Dropped float64
}

// Rate is a plugin instance's records per second between two samples, at the later one.
type Rate struct {
	At                      time.Time
	Received, Sent, Dropped float64
}

// NewHistory samples m every interval and keeps window of samples.
func NewHistory(m *Metrics, every, window time.Duration) *History {
	return &History{m: m, every: every, keep: max(int(window/every), 2)}
}

// Run samples until ctx ends.
func (h *History) Run(ctx context.Context) {
	h.Sample(time.Now())
	t := time.NewTicker(h.every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			h.Sample(now)
		}
	}
}

// Sample records the counts at now.
func (h *History) Sample(now time.Time) {
	counts, err := h.m.Counts()
	if err != nil {
		return
	}
	s := sample{at: now, counts: map[string]Totals{}}
	add := func(metric string, set func(*Totals, float64)) {
		for key, v := range counts[metric] {
			plugin, _, _ := strings.Cut(key, "/")
			t := s.counts[plugin]
			set(&t, v)
			s.counts[plugin] = t
		}
	}
	add("logshipper_records_received_total", func(t *Totals, v float64) { t.Received += v })
	add("logshipper_records_sent_total", func(t *Totals, v float64) { t.Sent += v })
	add("logshipper_records_dropped_total", func(t *Totals, v float64) { t.Dropped += v })
	h.mu.Lock()
	defer h.mu.Unlock()
	h.samples = append(h.samples, s)
	if len(h.samples) > h.keep {
		h.samples = append(h.samples[:0], h.samples[len(h.samples)-h.keep:]...)
	}
}

// Totals returns plugin's counts at the latest sample.
func (h *History) Totals(plugin string) Totals {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.samples) == 0 {
		return Totals{}
	}
	return h.samples[len(h.samples)-1].counts[plugin]
}

// Rates returns plugin's records per second between consecutive samples, oldest first. A
// count that went down (the instance was rebuilt on a reload) counts from zero.
func (h *History) Rates(plugin string) []Rate {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []Rate
	for i := 1; i < len(h.samples); i++ {
		a, b := h.samples[i-1], h.samples[i]
		secs := b.at.Sub(a.at).Seconds()
		if secs <= 0 {
			continue
		}
		ta, tb := a.counts[plugin], b.counts[plugin]
		d := func(x, y float64) float64 {
			if y < x {
				return y / secs
			}
			return (y - x) / secs
		}
		out = append(out, Rate{At: b.at, Received: d(ta.Received, tb.Received), Sent: d(ta.Sent, tb.Sent), Dropped: d(ta.Dropped, tb.Dropped)})
	}
	return out
}
